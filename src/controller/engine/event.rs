//! What flows into and out of the engine: [`Event`]s (observations, commands, effect results)
//! and [`Effect`]s (work for the driver). Plain data, no behaviour.
//!
//! Imports only `crate::model` and the engine's own [`HeldState`]. Must not do IO: an effect is
//! a request, the driver decides how to run it and reports back with an event.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::held::HeldState;
use crate::model::{Command, DriftCount, FailureReason, Health, Notice};

/// One operation of one engine. Results carrying an id that is not the running operation's
/// (a late answer after a restart or a superseded operation) are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OpId(pub u64);

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op-{}", self.0)
    }
}

/// A successful render of the branch head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderSummary {
    /// sha256 of the canonical render (what `HistoryEntry::render_digest` records).
    pub digest: String,
    /// Number of objects rendered; 0 fails the operation unless the env sets `allow_empty`.
    pub resources: usize,
}

/// What an `Apply` did. The driver renders the whole revision *before* touching the cluster, so
/// the digest is always the digest of what was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// Objects created, changed or pruned.
    pub changed: usize,
    pub render_digest: String,
}

/// Why an `Apply` failed. A render failure must be reported with `FailureReason::Render` and
/// `transient: false`; 5xx, timeouts and connection resets are transient, 4xx are not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyFailure {
    pub reason: FailureReason,
    pub transient: bool,
    /// Objects changed before the failure (history records them; 0 when nothing was applied).
    #[serde(default)]
    pub changed: usize,
}

/// A commit the driver made for a `Revert` effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitReport {
    pub sha: String,
    pub summary: String,
    pub pushed: bool,
}

/// Everything the engine reacts to. Each carries the driver's clock reading: the engine never
/// reads a clock, so replaying events replays decisions.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The branch head was (re)rendered: the render summary or the render error.
    GitObserved {
        revision: String,
        render: Result<RenderSummary, String>,
        at: Timestamp,
    },
    /// A fresh diff and health of live against the head's render.
    LiveObserved {
        drift: DriftCount,
        health: Health,
        at: Timestamp,
    },
    /// Drift of live from the render of `revision`, the synced revision, observed beside
    /// `LiveObserved` only while the head is rejected (`Engine::heal_target`): what self-heal
    /// keeps live then. Sent before the `LiveObserved` of the same observation.
    HealDriftObserved {
        revision: String,
        drift: DriftCount,
        at: Timestamp,
    },
    /// Live cannot be observed (cluster unreachable): the env is Unknown and automation waits.
    LiveUnavailable { error: String, at: Timestamp },
    /// Cluster-held state read from ConfigMap `driftdeck-<env>` (also after a write conflict).
    ClusterStateLoaded { state: HeldState, at: Timestamp },
    /// Lease `driftdeck-<env>`: whether this console holds it (runs automation) and who does.
    LeaseObserved {
        mine: bool,
        holder: Option<String>,
        at: Timestamp,
    },
    /// An operator command (UI or CLI) routed to this env. `EnvTarget::All` is fanned out by
    /// the driver: every engine gets its own copy.
    Command { command: Command, at: Timestamp },
    /// Result of `Effect::Apply`.
    Applied {
        op: OpId,
        result: Result<ApplyReport, ApplyFailure>,
        at: Timestamp,
    },
    /// One health reading while `Effect::Validate` polls.
    Validated {
        op: OpId,
        health: Health,
        at: Timestamp,
    },
    /// The driver's answer to `Effect::WakeAt` (extra ticks are harmless).
    Tick { at: Timestamp },
    /// Result of `Effect::Revert`.
    Committed {
        op: OpId,
        result: Result<CommitReport, String>,
        at: Timestamp,
    },
    /// Result of `Effect::WriteState` with the same `seq` (Err e.g. a 409 conflict; the driver
    /// then re-reads the ConfigMap and sends `ClusterStateLoaded`).
    StateWritten {
        seq: u64,
        result: Result<(), String>,
        at: Timestamp,
    },
}

impl Event {
    pub fn at(&self) -> Timestamp {
        match self {
            Event::GitObserved { at, .. }
            | Event::LiveObserved { at, .. }
            | Event::HealDriftObserved { at, .. }
            | Event::LiveUnavailable { at, .. }
            | Event::ClusterStateLoaded { at, .. }
            | Event::LeaseObserved { at, .. }
            | Event::Command { at, .. }
            | Event::Applied { at, .. }
            | Event::Validated { at, .. }
            | Event::Tick { at }
            | Event::Committed { at, .. }
            | Event::StateWritten { at, .. } => *at,
        }
    }
}

/// Work for the driver, in the order returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Render the env at `revision` (fully, before touching the cluster) and server-side apply
    /// it (kind order, field manager `driftdeck`, tracking label/annotations), then prune if
    /// `prune`; an empty render fails unless the env sets `allow_empty`. Answer with `Applied`.
    Apply {
        op: OpId,
        revision: String,
        prune: bool,
    },
    /// Start polling health; send `Validated` readings until `StopValidation`.
    Validate {
        op: OpId,
    },
    StopValidation {
        op: OpId,
    },
    /// Persist the whole cluster-held state with an optimistic-concurrency write; answer with
    /// `StateWritten { seq, .. }`.
    WriteState {
        seq: u64,
        state: HeldState,
    },
    /// Git: revert the commits after `good_revision` up to and including `bad_revision` on top
    /// of the branch head, one commit, pushed when there is a remote. Answer with `Committed`.
    Revert {
        op: OpId,
        bad_revision: String,
        good_revision: String,
    },
    /// Re-read Git, live state and cluster-held state now (the `Refresh` verb).
    Refresh,
    /// Publish to the UI / CLI progress lines.
    Notify(Notice),
    /// Send `Tick` at (or after) this time: retry backoff, validation deadline, self-heal limit.
    WakeAt(Timestamp),
    /// Append to this console's local audit log.
    Audit {
        action: String,
        detail: String,
    },
}
