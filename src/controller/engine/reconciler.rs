//! [`Engine`]: one environment's reconcile state machine. `handle(event) -> Vec<Effect>` folds
//! one event into the engine's facts, then runs the same three checks after every event —
//! reap orphaned operations, release a hold Git has caught up with, converge (auto-sync /
//! self-heal) — and finally persists cluster-held state once if anything in it changed.
//!
//! Imports only `crate::model` and its siblings. No IO, no clock: time comes in events, so
//! feeding the same events again (a restart, a re-read after a 409) gives the same decisions.
//! Operations live in `operation.rs`, commands in `command.rs`, `view()` in `view.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;

use super::event::{Effect, Event, OpId, RenderSummary};
use super::held::{self, HeldState, Pending};
use super::policy::{ORPHAN_GRACE, Policy, SELF_HEAL_INTERVAL};
use crate::model::{
    DriftCount, FailureReason, Health, HistoryEntry, Hold, Notice, OperationKind, OperationResult,
    Pause,
};

/// Cluster-held state writes that failed are retried after this.
const WRITE_RETRY: Duration = Duration::from_secs(5);

/// `at + d`, saturating: no input can make the engine panic on time arithmetic.
pub(super) fn later(at: Timestamp, d: Duration) -> Timestamp {
    at.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// The branch head as last rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Head {
    pub revision: String,
    pub render: Result<RenderSummary, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Live {
    NotObserved,
    Observed {
        drift: DriftCount,
        health: Health,
        at: Timestamp,
    },
    Unavailable {
        error: String,
        at: Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Lease {
    pub mine: bool,
    pub holder: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Started, not applied: its `Running` history entry (with whatever else this console
    /// changed) is being written to the env's ConfigMap, and nothing is applied before that
    /// write succeeds. The write carries the resourceVersion of this console's last read, so it
    /// loses (409) to a pause, hold or operation another process recorded since; the fresh read
    /// then decides again (see `gate.rs`). Fails at `deadline` if the write never succeeds.
    Recording { deadline: Timestamp },
    /// A rollback waiting for another console's operation to end: its hold is written first, so
    /// no automation of the bad revision starts meanwhile and the other operation gives way as
    /// soon as it only waits (validation, retry backoff). Fails at `deadline`.
    WaitingForOther { deadline: Timestamp },
    /// `Apply` sent, waiting for `Applied`.
    Applying,
    /// A transient failure; `Apply` is sent again at `until`.
    RetryWait { until: Timestamp },
    /// Applied; waiting for Healthy until `deadline`.
    Validating { deadline: Timestamp },
    /// Validated; waiting for the `Revert` commit.
    Committing,
}

/// The one operation in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Operation {
    pub id: OpId,
    pub kind: OperationKind,
    pub revision: String,
    pub prune: bool,
    pub started: Timestamp,
    /// Its `HistoryEntry::id`.
    pub entry_id: String,
    pub phase: Phase,
    /// Retries done so far (not counting the first attempt).
    pub retries: u32,
    pub render_digest: String,
    pub changed: usize,
    /// Rollback with `--revert`: the bad revision whose commits are reverted after validation.
    pub revert_from: Option<String>,
    pub last_health: Option<Health>,
}

/// Identical failures in a row: one history entry (its failure text carries the count) and
/// the automation backoff before the next attempt at the same revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FailureStreak {
    pub kind: OperationKind,
    pub revision: String,
    /// The reason as the operation failed with it, before the count was added.
    pub reason: FailureReason,
    pub count: u32,
    /// Failures of this revision in a row, whatever their reasons: the backoff grows with
    /// these, so a failure whose text changes each time still backs off.
    pub attempts: u32,
    /// The history entry that records the whole streak.
    pub entry_id: String,
    /// Automation does not start this revision again before this.
    pub retry_at: Timestamp,
}

/// One environment's reconcile engine. See the module docs of `controller::engine`.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(super) env: String,
    pub(super) operator: String,
    pub(super) policy: Policy,
    pub(super) read_only: bool,
    pub(super) head: Option<Head>,
    pub(super) live: Live,
    pub(super) lease: Option<Lease>,
    pub(super) held: HeldState,
    /// Cluster-held state has been read at least once; nothing mutating happens before.
    pub(super) loaded: bool,
    pub(super) pending: Pending,
    /// `held` changed during this `handle` call; one `WriteState` goes out at its end.
    pub(super) unsaved: bool,
    pub(super) write_seq: u64,
    pub(super) write_retry: Option<Timestamp>,
    pub(super) write_error: Option<String>,
    pub(super) op: Option<Operation>,
    pub(super) next_op: u64,
    pub(super) last_heal: Option<Timestamp>,
    pub(super) heal_wake: Option<Timestamp>,
    /// An apply finished since the last live observation: the live facts describe the
    /// pre-apply state, so automation waits for the next observation instead of "healing"
    /// drift that the apply already removed.
    pub(super) live_stale: bool,
    pub(super) streak: Option<FailureStreak>,
    pub(super) streak_wake: Option<Timestamp>,
    /// The last `HealDriftObserved`: drift from the synced revision under a rejected head.
    pub(super) heal_drift: Option<(String, DriftCount)>,
    /// Every console seen holding the Lease: one that held it and no longer does has died or
    /// lost it, so its `Running` operation is over.
    pub(super) seen_holders: BTreeSet<String>,
}

impl Engine {
    /// `operator` is `user@host/pid`: recorded in history, holds and pauses.
    pub fn new(
        env: impl Into<String>,
        operator: impl Into<String>,
        policy: Policy,
        read_only: bool,
    ) -> Self {
        Self {
            env: env.into(),
            operator: operator.into(),
            policy,
            read_only,
            head: None,
            live: Live::NotObserved,
            lease: None,
            held: HeldState::default(),
            loaded: false,
            pending: Pending::default(),
            unsaved: false,
            write_seq: 0,
            write_retry: None,
            write_error: None,
            op: None,
            next_op: 1,
            last_heal: None,
            heal_wake: None,
            live_stale: false,
            streak: None,
            streak_wake: None,
            heal_drift: None,
            seen_holders: BTreeSet::new(),
        }
    }

    pub fn env(&self) -> &str {
        &self.env
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The cluster-held state as this console currently believes it.
    pub fn held(&self) -> &HeldState {
        &self.held
    }

    /// Folds one event in and returns the effects to run, in order.
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        let at = event.at();
        let mut fx = Vec::new();
        match event {
            Event::GitObserved {
                revision, render, ..
            } => self.head = Some(Head { revision, render }),
            Event::LiveObserved { drift, health, .. } => {
                self.live_stale = false;
                self.live = Live::Observed { drift, health, at }
            }
            Event::HealDriftObserved {
                revision, drift, ..
            } => self.heal_drift = Some((revision, drift)),
            Event::LiveUnavailable { error, .. } => self.live = Live::Unavailable { error, at },
            Event::ClusterStateLoaded { state, .. } => self.on_state_loaded(state),
            Event::LeaseObserved { mine, holder, .. } => {
                if let Some(holder) = &holder {
                    self.seen_holders.insert(holder.clone());
                }
                self.lease = Some(Lease { mine, holder });
            }
            Event::Command { command, .. } => self.on_command(command, at, &mut fx),
            Event::Applied { op, result, .. } => self.on_applied(op, result, at, &mut fx),
            Event::Validated { op, health, .. } => self.on_validated(op, health, at, &mut fx),
            Event::Tick { .. } => self.on_tick(at, &mut fx),
            Event::Committed { op, result, .. } => self.on_committed(op, result, at, &mut fx),
            Event::StateWritten { seq, result, .. } => {
                self.on_state_written(seq, result, at, &mut fx)
            }
        }
        self.reap_orphans(at, &mut fx);
        self.gate_operation(at, &mut fx);
        self.release_hold_if_git_matches(&mut fx);
        self.converge(at, &mut fx);
        // Read-only never writes cluster-held state, whatever changed in memory.
        if self.unsaved && !self.read_only {
            self.unsaved = false;
            self.write_seq += 1;
            fx.push(Effect::WriteState {
                seq: self.write_seq,
                state: self.held.clone(),
            });
        }
        fx
    }

    fn on_state_loaded(&mut self, state: HeldState) {
        self.held = held::merge(state, &self.held, &self.pending);
        self.loaded = true;
        self.write_retry = None;
        if self.pending.any() {
            self.unsaved = true;
        }
    }

    fn on_state_written(
        &mut self,
        seq: u64,
        result: Result<(), String>,
        at: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        if seq != self.write_seq {
            return; // a later write carries everything this one did
        }
        match result {
            Ok(()) => {
                self.pending = Pending::default();
                self.write_retry = None;
                self.write_error = None;
                self.recorded(fx);
            }
            Err(error) => {
                let message = format!(
                    "could not write ConfigMap driftdeck-{}: {error}; retrying",
                    self.env
                );
                self.write_error = Some(message.clone());
                fx.push(self.warn(message));
                let when = later(at, WRITE_RETRY);
                self.write_retry = Some(when);
                fx.push(Effect::WakeAt(when));
            }
        }
    }

    pub(super) fn on_tick(&mut self, at: Timestamp, fx: &mut Vec<Effect>) {
        if self.write_retry.is_some_and(|t| t <= at) {
            self.write_retry = None;
            self.unsaved |= self.pending.any();
        }
        if self.heal_wake.is_some_and(|t| t <= at) {
            self.heal_wake = None;
        }
        if self.streak_wake.is_some_and(|t| t <= at) {
            self.streak_wake = None;
        }
        self.tick_operation(at, fx);
    }

    pub(super) fn warn(&self, message: impl Into<String>) -> Effect {
        Effect::Notify(Notice::Warned {
            env: Some(self.env.clone()),
            message: message.into(),
        })
    }

    /// A `Running` entry in history that is not this engine's operation: another console is
    /// operating (reaping has already turned dead ones into `Interrupted`).
    pub(super) fn foreign_running(&self) -> Option<&HistoryEntry> {
        let mine = self.op.as_ref().map(|o| o.entry_id.as_str());
        self.held
            .history
            .iter()
            .find(|e| e.result == OperationResult::Running && Some(e.id.as_str()) != mine)
    }

    /// Marks `Running` entries whose console is gone as `Interrupted`, like gitops-engine
    /// re-entering `Sync()` after a crash. Gone means: no console holds the Lease; or the entry
    /// is under our own name but this engine is not running it (a previous life); or its
    /// console was seen holding the Lease and no longer does (died, lease expired, taken
    /// over); or it is older than any operation can run and its console does not hold the
    /// Lease (a CLI that died while a console held the Lease). Waits until both the state and
    /// the Lease have been observed. The driver reports the Lease as read before acquiring
    /// it, so an expired holder shows as `None` or as a holder that then changes.
    /// A read-only process (`watch`, `status`, a `--read-only` console) never reaps: that is a
    /// write, and a wall monitor started beside a console must not mark the console's first
    /// operation interrupted from a Lease read that predates the console's acquire.
    fn reap_orphans(&mut self, at: Timestamp, fx: &mut Vec<Effect>) {
        let Some(lease) = &self.lease else { return };
        if !self.loaded || self.read_only {
            return;
        }
        let mine = self.op.as_ref().map(|o| o.entry_id.clone());
        let stale_after = self.policy.validation_timeout.saturating_add(ORPHAN_GRACE);
        let orphans: Vec<HistoryEntry> = self
            .held
            .history
            .iter()
            .filter(|e| e.result == OperationResult::Running && Some(&e.id) != mine.as_ref())
            .filter(|e| {
                let holder = lease.holder.as_deref();
                let holds = holder == Some(e.operator.as_str());
                holder.is_none()
                    || e.operator == self.operator
                    || (!holds && self.seen_holders.contains(&e.operator))
                    || (!holds && later(e.started, stale_after) <= at)
            })
            .cloned()
            .collect();
        for mut entry in orphans {
            entry.result = OperationResult::Interrupted;
            entry.finished = Some(at);
            entry.failure = Some(FailureReason::Interrupted(format!(
                "{} stopped before the operation finished",
                entry.operator
            )));
            fx.push(Effect::Audit {
                action: "interrupted".into(),
                detail: format!(
                    "{}: marked {} {} at {} by {} as interrupted",
                    self.env, entry.op, entry.id, entry.revision, entry.operator
                ),
            });
            fx.push(Effect::Notify(Notice::OperationFinished {
                env: self.env.clone(),
                entry: entry.clone(),
            }));
            self.upsert(entry);
        }
    }

    /// The hold ends when Git's head renders to exactly what the hold keeps live (a revert
    /// landed), so auto-sync resumes without ever picking up the bad render.
    fn release_hold_if_git_matches(&mut self, fx: &mut Vec<Effect>) {
        let (Some(hold), Some(digest)) = (&self.held.hold, &self.held.hold_render_digest) else {
            return;
        };
        let Some(Head {
            revision,
            render: Ok(render),
        }) = &self.head
        else {
            return;
        };
        let rolling_back = self.op.as_ref().is_some_and(|o| {
            matches!(
                o.kind,
                OperationKind::Rollback | OperationKind::AutoRollback
            )
        });
        // A head that is the hold's own target is Git before the bad commit as a console with
        // a stale view of Git sees it, not a revert: the hold stays.
        if rolling_back
            || render.digest != *digest
            || *revision == hold.bad_revision
            || *revision == hold.revision
        {
            return;
        }
        let message = format!(
            "hold on {} released: Git's head {} renders what the hold kept live ({})",
            self.env,
            crate::model::short_sha(revision),
            crate::model::short_sha(&hold.revision)
        );
        self.set_hold(None, None);
        fx.push(Effect::Audit {
            action: "hold-released".into(),
            detail: message.clone(),
        });
        fx.push(self.warn(message));
    }

    /// Automation: auto-sync a new head, or self-heal drift from the synced head. Only in the
    /// console holding the Lease, never paused, held, read-only, busy, or before the facts it
    /// needs (state, Git, live) have been observed.
    fn converge(&mut self, at: Timestamp, fx: &mut Vec<Effect>) {
        if self.read_only || !self.loaded {
            return;
        }
        if !self.lease.as_ref().is_some_and(|l| l.mine) {
            return;
        }
        if self.held.paused.is_some() || self.held.hold.is_some() {
            return;
        }
        if self.op.is_some() && !self.supersede_for_new_head(at, fx) {
            return;
        }
        if self.foreign_running().is_some() {
            return;
        }
        let Some(Head { revision, render }) = &self.head else {
            return;
        };
        let Live::Observed { drift, .. } = &self.live else {
            return;
        };
        let render = match render {
            Ok(render) => render,
            // A new head that does not render is recorded once as a failed auto-sync (it is
            // then rejected), so history and a toast say why nothing was applied.
            Err(_) => {
                let fresh = self.held.synced_revision.as_deref() != Some(revision.as_str())
                    && !self.held.is_rejected(revision, None);
                if self.policy.auto_sync && fresh {
                    let revision = revision.clone();
                    self.start(OperationKind::AutoSync, revision, None, at, fx);
                }
                return;
            }
        };
        if self.held.is_rejected(revision, Some(&render.digest)) {
            self.heal_under_rejected_head(at, fx);
            return;
        }
        // The same revision failed just now (transiently: otherwise it is rejected): retry it
        // only after the streak's backoff, 5 s doubling up to 3 min (Argo CD's default).
        if let Some(streak) = self.streak.as_ref().filter(|s| s.revision == *revision)
            && streak.retry_at > at
        {
            let when = streak.retry_at;
            if self.streak_wake != Some(when) {
                self.streak_wake = Some(when);
                fx.push(Effect::WakeAt(when));
            }
            return;
        }
        let revision = revision.clone();
        let synced = self.held.synced_revision.as_deref() == Some(revision.as_str());
        if self.policy.auto_sync && !synced {
            self.start(OperationKind::AutoSync, revision, None, at, fx);
            return;
        }
        let fixable = self.fixable(drift);
        // Drift read before the last apply finished is not drift from it: wait for the
        // observation of the post-apply state.
        if self.policy.self_heal
            && synced
            && fixable > 0
            && !self.live_stale
            && self.heal_interval_passed(at, fx)
        {
            self.last_heal = Some(at);
            self.start(OperationKind::SelfHeal, revision, None, at, fx);
        }
    }

    /// A newer head supersedes an automatic operation that only waits (validation, retry
    /// backoff) for an older revision: it is finished as `Interrupted` ("superseded by
    /// <head>"), neither validated nor rejected, so auto-sync can start the head at once
    /// instead of queueing every commit behind the previous one's validation. Only automation's
    /// own operations give way (a manual `sync`/`rollback` is what an operator waits on), and
    /// only when automation would start the head right now (the caller has checked the lease
    /// is ours and the env is neither paused nor held). Whether it did.
    fn supersede_for_new_head(&mut self, at: Timestamp, fx: &mut Vec<Effect>) -> bool {
        let Some(op) = &self.op else { return false };
        let automatic = matches!(op.kind, OperationKind::AutoSync | OperationKind::SelfHeal);
        let waiting = matches!(op.phase, Phase::Validating { .. } | Phase::RetryWait { .. });
        if !(automatic && waiting && self.policy.auto_sync) {
            return false;
        }
        let Some(Head {
            revision,
            render: Ok(render),
        }) = &self.head
        else {
            return false;
        };
        // A head that renders this env exactly as the running operation applied it changes
        // nothing here (a commit to another env's overlay): let the operation finish.
        if *revision == op.revision
            || (!op.render_digest.is_empty() && render.digest == op.render_digest)
            || self.held.synced_revision.as_deref() == Some(revision.as_str())
            || self.held.is_rejected(revision, Some(&render.digest))
        {
            return false;
        }
        let reason = FailureReason::superseded_by(revision);
        self.finish(OperationResult::Interrupted, Some(reason), at, fx);
        true
    }

    /// What a sync would fix of `drift` (extras only when the env prunes).
    fn fixable(&self, drift: &DriftCount) -> usize {
        drift.missing + drift.modified + if self.policy.prune { drift.extra } else { 0 }
    }

    /// Whether self-heal may start now: at most once per [`SELF_HEAL_INTERVAL`]; otherwise
    /// asks to be woken when it may.
    fn heal_interval_passed(&mut self, at: Timestamp, fx: &mut Vec<Effect>) -> bool {
        let Some(next) = self.last_heal.map(|t| later(t, SELF_HEAL_INTERVAL)) else {
            return true;
        };
        if next <= at {
            return true;
        }
        if self.heal_wake != Some(next) {
            self.heal_wake = Some(next);
            fx.push(Effect::WakeAt(next));
        }
        false
    }

    /// An `Apply` of this env is out and its result not taken yet. Live is not observed
    /// meanwhile (the driver holds observations until `Applied`): a half-applied env's drift
    /// is no news, and an observation racing the apply would dry-run every object it creates
    /// before the apply's own answers are kept (`controller::predictions`) — a second full
    /// round of dry-runs for a sync of 1,000 objects.
    pub fn applying(&self) -> bool {
        self.op.as_ref().is_some_and(|o| o.phase == Phase::Applying)
    }

    /// The revision self-heal keeps live while the head is rejected: the synced one, so a
    /// commit the server refused never turns self-heal off (Argo CD would stop healing until a
    /// fix lands; an SRE wants the last good state defended meanwhile). `None` when the head
    /// is not rejected (drift from the head is what counts), does not render (a render error
    /// has no objects to tell apart), self-heal is off, the process is read-only (it never
    /// heals, so it need not observe the extra drift), or nothing else was synced. The driver
    /// observes drift from this revision's render beside the head's (`HealDriftObserved`).
    pub fn heal_target(&self) -> Option<&str> {
        let Some(Head {
            revision,
            render: Ok(render),
        }) = &self.head
        else {
            return None;
        };
        let synced = self.held.synced_revision.as_deref()?;
        let rejected = self.held.is_rejected(revision, Some(&render.digest));
        (self.policy.self_heal
            && !self.read_only
            && rejected
            && synced != revision
            && !self.held.is_rejected(synced, None))
        .then_some(synced)
    }

    /// Self-heal under a rejected head: re-applies the synced revision when live drifted from
    /// its render, with the same interval as any self-heal. The rejected head stays failed;
    /// a new head is not rejected and auto-sync tries it as usual.
    fn heal_under_rejected_head(&mut self, at: Timestamp, fx: &mut Vec<Effect>) {
        let Some(target) = self.heal_target().map(str::to_owned) else {
            return;
        };
        let Some((_, drift)) = self.heal_drift.as_ref().filter(|(r, _)| *r == target) else {
            return;
        };
        if self.fixable(drift) == 0 || self.live_stale || !self.heal_interval_passed(at, fx) {
            return;
        }
        // Consumed: only an observation made after this heal can start another.
        self.heal_drift = None;
        self.last_heal = Some(at);
        self.start(OperationKind::SelfHeal, target, None, at, fx);
    }

    // Every change to cluster-held state goes through these, so the pending set (what a
    // re-read after a conflict must keep) can never miss a field.

    pub(super) fn set_paused(&mut self, paused: Option<Pause>) {
        self.held.paused = paused;
        self.pending.paused = true;
        self.unsaved = true;
    }

    pub(super) fn set_hold(&mut self, hold: Option<Hold>, digest: Option<String>) {
        self.held.hold = hold;
        self.held.hold_render_digest = digest;
        self.pending.hold = true;
        self.unsaved = true;
    }

    pub(super) fn set_last_good(&mut self, revision: &str) {
        self.held.last_good = Some(revision.to_owned());
        self.pending.last_good = true;
        self.unsaved = true;
    }

    pub(super) fn set_synced(&mut self, revision: &str) {
        self.held.synced_revision = Some(revision.to_owned());
        self.pending.synced = true;
        self.unsaved = true;
    }

    pub(super) fn reject(&mut self, revision: &str, digest: Option<String>) {
        self.held.reject(revision, digest);
        self.pending.rejected = true;
        self.unsaved = true;
    }

    pub(super) fn unreject(&mut self, revision: &str) {
        if self.held.unreject(revision) {
            self.pending.rejected = true;
            self.unsaved = true;
        }
    }

    pub(super) fn upsert(&mut self, entry: HistoryEntry) {
        self.pending.history.insert(entry.id.clone());
        self.held.upsert(entry);
        self.unsaved = true;
    }
}
