//! Transition tests of the engine: feed events, assert effects and state. No tokio, no clock:
//! time is an offset in seconds from a fixed instant. Each file covers one area of the brief:
//! `sync` (manual sync, validation, retries), `automation` (auto-sync, self-heal, pause),
//! `rollback` (auto-rollback, rollback, hold, revert), `commands` (admission, read-only, busy,
//! audit), `state` (restart, lease, cluster-held writes), `promotion`, `faults` (backoff and
//! record-once of repeated failures, empty renders, the observation after an apply),
//! `state_io` and `live_gate` (the env task's IO gates: the state ConfigMap, the held head,
//! Git polls, waiting commands, live observation).

mod automation;
mod commands;
mod faults;
mod gate;
mod guards;
mod live_gate;
mod promotion;
mod rollback;
mod state;
mod state_io;
mod sync;

use jiff::Timestamp;

use super::*;
use crate::model::{
    Command, DriftCount, EnvTarget, FailureReason, Health, HealthCode, HistoryEntry, Notice,
    OperationKind, OperationResult, SyncStatus,
};

pub(super) const ME: &str = "alice@host/100";

pub(super) fn t(sec: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + sec).unwrap()
}

pub(super) fn auto() -> Policy {
    Policy {
        auto_sync: true,
        self_heal: true,
        prune: true,
        ..Policy::default()
    }
}

pub(super) fn entry(
    id: &str,
    op: OperationKind,
    revision: &str,
    operator: &str,
    started: i64,
    result: OperationResult,
) -> HistoryEntry {
    HistoryEntry {
        id: id.into(),
        op,
        revision: revision.into(),
        render_digest: format!("d-{revision}"),
        operator: operator.into(),
        started: t(started),
        finished: (result != OperationResult::Running).then(|| t(started + 10)),
        result,
        resources_changed: 1,
        failure: None,
    }
}

/// Cluster-held state of an env running `c1`, which synced and validated earlier.
pub(super) fn synced_at_c1() -> HeldState {
    HeldState {
        synced_revision: Some("c1".into()),
        last_good: Some("c1".into()),
        history: vec![entry(
            "old-1",
            OperationKind::Sync,
            "c1",
            "bob@host/7",
            -100,
            OperationResult::Succeeded,
        )],
        ..HeldState::default()
    }
}

/// An engine plus the current test time.
pub(super) struct H {
    pub engine: Engine,
    pub now: i64,
    /// Answer every `WriteState` with success at once, as a ConfigMap nobody else writes does
    /// (the default); tests of conflicts and failed writes answer by hand.
    pub auto_ack: bool,
}

impl H {
    pub fn new(policy: Policy, read_only: bool) -> Self {
        Self {
            engine: Engine::new("dev", ME, policy, read_only),
            now: 0,
            auto_ack: true,
        }
    }

    /// Everything observed: state [`synced_at_c1`], Lease mine, head `c1` (digest `d-c1`, 3
    /// objects), live without drift and Healthy.
    pub fn ready(policy: Policy) -> Self {
        Self::ready_with(policy, false, synced_at_c1())
    }

    /// As [`H::ready`] with `state`; the head is the state's synced revision (else `c1`).
    pub fn ready_with(policy: Policy, read_only: bool, state: HeldState) -> Self {
        let mut h = Self::new(policy, read_only);
        let head = state.synced_revision.clone().unwrap_or_else(|| "c1".into());
        h.load(state);
        h.lease(true, Some(ME));
        h.git(&head);
        h.live(0, 0, 0, HealthCode::Healthy);
        h
    }

    pub fn at(&self) -> Timestamp {
        t(self.now)
    }

    pub fn advance(&mut self, secs: i64) {
        self.now += secs;
    }

    pub fn send(&mut self, event: Event) -> Vec<Effect> {
        let mut fx = self.engine.handle(event);
        if !self.auto_ack {
            return fx;
        }
        let mut acked = 0;
        while let Some(seq) = fx[acked..].iter().rev().find_map(|e| match e {
            Effect::WriteState { seq, .. } => Some(*seq),
            _ => None,
        }) {
            acked = fx.len();
            let at = self.at();
            let more = self.engine.handle(Event::StateWritten {
                seq,
                result: Ok(()),
                at,
            });
            fx.extend(more);
        }
        fx
    }

    /// Head `rev`, rendering to `d-<rev>` with 3 objects.
    pub fn git(&mut self, rev: &str) -> Vec<Effect> {
        self.git_digest(rev, &format!("d-{rev}"), 3)
    }

    pub fn git_digest(&mut self, rev: &str, digest: &str, resources: usize) -> Vec<Effect> {
        let at = self.at();
        self.send(Event::GitObserved {
            revision: rev.into(),
            render: Ok(RenderSummary {
                digest: digest.into(),
                resources,
            }),
            at,
        })
    }

    pub fn git_err(&mut self, rev: &str, error: &str) -> Vec<Effect> {
        let at = self.at();
        self.send(Event::GitObserved {
            revision: rev.into(),
            render: Err(error.into()),
            at,
        })
    }

    pub fn live(
        &mut self,
        missing: usize,
        modified: usize,
        extra: usize,
        code: HealthCode,
    ) -> Vec<Effect> {
        let at = self.at();
        self.send(Event::LiveObserved {
            drift: DriftCount {
                missing,
                modified,
                extra,
            },
            health: Health::new(code, ""),
            at,
        })
    }

    pub fn load(&mut self, state: HeldState) -> Vec<Effect> {
        let at = self.at();
        self.send(Event::ClusterStateLoaded { state, at })
    }

    pub fn lease(&mut self, mine: bool, holder: Option<&str>) -> Vec<Effect> {
        let at = self.at();
        self.send(Event::LeaseObserved {
            mine,
            holder: holder.map(str::to_owned),
            at,
        })
    }

    pub fn cmd(&mut self, command: Command) -> Vec<Effect> {
        let at = self.at();
        self.send(Event::Command { command, at })
    }

    pub fn applied(&mut self, op: OpId, digest: &str) -> Vec<Effect> {
        let at = self.at();
        self.send(Event::Applied {
            op,
            result: Ok(ApplyReport {
                changed: 2,
                render_digest: digest.into(),
            }),
            at,
        })
    }

    pub fn apply_failed(&mut self, op: OpId, transient: bool) -> Vec<Effect> {
        let at = self.at();
        self.send(Event::Applied {
            op,
            result: Err(ApplyFailure {
                reason: FailureReason::Apply("503 Service Unavailable".into()),
                transient,
                changed: 0,
            }),
            at,
        })
    }

    pub fn validated(&mut self, op: OpId, code: HealthCode, message: &str) -> Vec<Effect> {
        let at = self.at();
        self.send(Event::Validated {
            op,
            health: Health::new(code, message),
            at,
        })
    }

    pub fn tick(&mut self) -> Vec<Effect> {
        let at = self.at();
        self.send(Event::Tick { at })
    }

    /// Applies and validates `op` (digest `d-<rev>`); returns the validation's effects.
    pub fn succeed(&mut self, op: OpId, rev: &str) -> Vec<Effect> {
        self.applied(op, &format!("d-{rev}"));
        self.validated(op, HealthCode::Healthy, "")
    }
}

pub(super) fn sync_cmd(revision: Option<&str>) -> Command {
    Command::Sync {
        env: "dev".into(),
        revision: revision.map(str::to_owned),
        prune: None,
        dry_run: false,
        confirm: None,
        force: false,
    }
}

/// `command` (a Sync) with `--force`.
pub(super) fn forced(command: Command) -> Command {
    match command {
        Command::Sync {
            env,
            revision,
            prune,
            dry_run,
            confirm,
            ..
        } => Command::Sync {
            env,
            revision,
            prune,
            dry_run,
            confirm,
            force: true,
        },
        other => other,
    }
}

/// `command` (Sync, Rollback or Resume) with the env's name typed.
pub(super) fn confirmed(command: Command) -> Command {
    match command {
        Command::Sync {
            env,
            revision,
            prune,
            dry_run,
            force,
            ..
        } => Command::Sync {
            confirm: Some(env.clone()),
            env,
            revision,
            prune,
            dry_run,
            force,
        },
        Command::Resume { target, .. } => Command::Resume {
            target,
            confirm: vec!["dev".into()],
        },
        other => other,
    }
}

pub(super) fn rollback_cmd(to: Option<&str>, revert: bool, confirm: Option<&str>) -> Command {
    Command::Rollback {
        env: "dev".into(),
        to: to.map(str::to_owned),
        revert,
        confirm: confirm.map(str::to_owned),
    }
}

pub(super) fn pause_cmd() -> Command {
    Command::Pause {
        target: EnvTarget::One("dev".into()),
        reason: "incident 42".into(),
    }
}

pub(super) fn resume_cmd() -> Command {
    Command::Resume {
        target: EnvTarget::One("dev".into()),
        confirm: Vec::new(),
    }
}

/// Every `Apply` as (op, revision, prune).
pub(super) fn applies(fx: &[Effect]) -> Vec<(OpId, String, bool)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Apply {
                op,
                revision,
                prune,
            } => Some((*op, revision.clone(), *prune)),
            _ => None,
        })
        .collect()
}

/// The one `Apply` in `fx`, which must be of `revision`.
pub(super) fn the_apply(fx: &[Effect], revision: &str) -> OpId {
    let all = applies(fx);
    assert_eq!(all.len(), 1, "expected one Apply in {fx:#?}");
    assert_eq!(all[0].1, revision);
    all[0].0
}

pub(super) fn refusal(fx: &[Effect]) -> Option<&FailureReason> {
    fx.iter().find_map(|e| match e {
        Effect::Notify(Notice::Refused { reason, .. }) => Some(reason),
        _ => None,
    })
}

pub(super) fn started(fx: &[Effect]) -> Vec<(OperationKind, String)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify(Notice::OperationStarted { op, revision, .. }) => {
                Some((*op, revision.clone()))
            }
            _ => None,
        })
        .collect()
}

pub(super) fn finished(fx: &[Effect]) -> Vec<&HistoryEntry> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify(Notice::OperationFinished { entry, .. }) => Some(entry),
            _ => None,
        })
        .collect()
}

pub(super) fn last_write(fx: &[Effect]) -> Option<&HeldState> {
    fx.iter().rev().find_map(|e| match e {
        Effect::WriteState { state, .. } => Some(state),
        _ => None,
    })
}

pub(super) fn writes(fx: &[Effect]) -> usize {
    fx.iter()
        .filter(|e| matches!(e, Effect::WriteState { .. }))
        .count()
}

pub(super) fn wakes(fx: &[Effect]) -> Vec<Timestamp> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::WakeAt(at) => Some(*at),
            _ => None,
        })
        .collect()
}

pub(super) fn warnings(fx: &[Effect]) -> Vec<&str> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify(Notice::Warned { message, .. }) => Some(message.as_str()),
            _ => None,
        })
        .collect()
}

pub(super) fn audits(fx: &[Effect]) -> Vec<(&str, &str)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Audit { action, detail } => Some((action.as_str(), detail.as_str())),
            _ => None,
        })
        .collect()
}
