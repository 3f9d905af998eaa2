//! [`EnvView`]: what the engine knows about its env, for the Snapshot, `status` and the
//! promotion check, and `Engine::view()` that derives it. A copy, never a handle into the
//! engine: the driver calls `view()` after each `handle` and publishes it.
//!
//! Imports only `crate::model`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::reconciler::{Engine, Head, Live, Operation, Phase};
use crate::model::{
    DriftCount, EnvState, Health, HealthCode, HistoryEntry, Hold, Pause, RunningOperation,
    SyncStatus, short_sha,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvView {
    pub name: String,
    /// The branch head last observed.
    pub revision: Option<String>,
    /// Digest of the head's render, when it rendered.
    pub render_digest: Option<String>,
    /// What live runs: the revision last applied successfully.
    pub synced_revision: Option<String>,
    pub last_good: Option<String>,
    /// Unknown until both Git and live have been observed (or while live is unreachable or the
    /// head does not render); then OutOfSync iff live differs from the head's render.
    pub sync: SyncStatus,
    pub health: Health,
    pub drift: DriftCount,
    pub paused: Option<Pause>,
    pub hold: Option<Hold>,
    /// Why automation does not deploy the head, and how that ends (`HeldState::automation_note`).
    #[serde(default)]
    pub automation: Option<String>,
    pub lease_holder: Option<String>,
    /// This console's operation, or another console's `Running` one from history.
    pub operation: Option<RunningOperation>,
    /// Newest first.
    pub history: Vec<HistoryEntry>,
    /// One line: unreachable cluster, render failure or state write failure.
    pub error: Option<String>,
    pub observed_at: Option<Timestamp>,
}

impl EnvView {
    /// Copies the engine's facts into the env's Snapshot row. Drift rows, resources, pods and
    /// commits come from the driver's caches and are left alone.
    pub fn fill(&self, state: &mut EnvState) {
        state.revision.clone_from(&self.revision);
        state.synced_revision.clone_from(&self.synced_revision);
        state.sync = self.sync;
        state.health.clone_from(&self.health);
        state.paused.clone_from(&self.paused);
        state.hold.clone_from(&self.hold);
        state.automation.clone_from(&self.automation);
        state.lease_holder.clone_from(&self.lease_holder);
        state.operation.clone_from(&self.operation);
        state.history.clone_from(&self.history);
        state.error.clone_from(&self.error);
        state.observed_at = self.observed_at;
    }
}

impl Engine {
    /// The env as the UI and `status` show it.
    pub fn view(&self) -> EnvView {
        let (head_revision, render_digest, render_error) = match &self.head {
            None => (None, None, None),
            Some(Head {
                revision,
                render: Ok(r),
            }) => (Some(revision.clone()), Some(r.digest.clone()), None),
            Some(Head {
                revision,
                render: Err(e),
            }) => (
                Some(revision.clone()),
                None,
                Some(format!("render of {} failed: {e}", short_sha(revision))),
            ),
        };
        let (sync, health, drift, observed_at, live_error) = match &self.live {
            Live::NotObserved => (
                SyncStatus::Unknown,
                Health::new(HealthCode::Unknown, "live state not observed yet"),
                DriftCount::default(),
                None,
                None,
            ),
            Live::Unavailable { error, at } => (
                SyncStatus::Unknown,
                Health::new(HealthCode::Unknown, error.clone()),
                DriftCount::default(),
                Some(*at),
                // A 403 (its API reason, `cluster::api_text`) is a permission, not a network
                // problem: say which, so a view-only user is not sent chasing connectivity.
                Some(if error.contains(": Forbidden: ") {
                    format!("not readable by this user: {error}")
                } else {
                    format!("cluster unreachable: {error}")
                }),
            ),
            Live::Observed { drift, health, at } => {
                let sync = if head_revision.is_none() || render_error.is_some() {
                    SyncStatus::Unknown
                } else if drift.total() > 0 {
                    SyncStatus::OutOfSync
                } else {
                    SyncStatus::Synced
                };
                (sync, health.clone(), *drift, Some(*at), None)
            }
        };
        let operation = match &self.op {
            Some(op) => Some(RunningOperation {
                op: op.kind,
                revision: op.revision.clone(),
                by: self.operator.clone(),
                started: op.started,
                phase: self.phase_text(op),
            }),
            None => self.foreign_running().map(|e| RunningOperation {
                op: e.op,
                revision: e.revision.clone(),
                by: e.operator.clone(),
                started: e.started,
                phase: "running in another console".into(),
            }),
        };
        let automation = self.held.automation_note(
            &self.env,
            head_revision.as_deref(),
            render_digest.as_deref(),
        );
        EnvView {
            name: self.env.clone(),
            revision: head_revision,
            render_digest,
            synced_revision: self.held.synced_revision.clone(),
            last_good: self.held.last_good.clone(),
            sync,
            health,
            drift,
            paused: self.held.paused.clone(),
            hold: self.held.hold.clone(),
            automation,
            lease_holder: self.lease.as_ref().and_then(|l| l.holder.clone()),
            operation,
            history: self.held.history.clone(),
            error: live_error.or(render_error).or(self.write_error.clone()),
            observed_at,
        }
    }

    fn phase_text(&self, op: &Operation) -> String {
        match op.phase {
            Phase::Recording { .. } => "recording the operation".into(),
            Phase::WaitingForOther { deadline } => {
                format!("waiting for another console's operation until {deadline}")
            }
            Phase::Applying if op.retries == 0 => "applying".into(),
            Phase::Applying => format!("applying (retry {})", op.retries),
            Phase::RetryWait { until } => format!("retry {} at {until}", op.retries),
            Phase::Validating { deadline } => match &op.last_health {
                Some(h) if !h.message.is_empty() => {
                    format!("validating until {deadline}: {}", h.message)
                }
                _ => format!("validating until {deadline}"),
            },
            Phase::Committing => "committing the revert".into(),
        }
    }
}
