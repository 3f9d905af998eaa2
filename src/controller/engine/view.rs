//! [`EnvView`]: what the engine knows about its env, for the Snapshot, `status` and the
//! promotion check. A copy, never a handle into the engine.
//!
//! Imports only `crate::model`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::{
    DriftCount, EnvState, Health, HistoryEntry, Hold, Pause, RunningOperation, SyncStatus,
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
        state.lease_holder.clone_from(&self.lease_holder);
        state.operation.clone_from(&self.operation);
        state.history.clone_from(&self.history);
        state.error.clone_from(&self.error);
        state.observed_at = self.observed_at;
    }
}
