//! The vocabulary of a progressive rollout as the console sees it: its phase and each wave's
//! state (owned here, so the controller's cluster-held record and the console's row speak the
//! same words), and [`RolloutRow`], the flat row the driver publishes in
//! [`Snapshot::rollouts`](super::Snapshot::rollouts).
//!
//! Decision: the row carries the soak's end as a time (`soak_ends_at`), not a count-down; the
//! console computes "time left" from its own clock on every tick, so the line counts down
//! between the driver's reads of the record.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutPhase {
    /// A driver is (or was, until it died) moving the waves along; `rollout resume` or
    /// `rollout start` continues it.
    Running,
    /// A Degraded env (or a failed wave) stopped it; every env of the rollout was paused.
    Halted,
    /// `rollout stop`: the emergency stop; every env of the rollout was paused.
    Stopped,
    /// Every wave soaked.
    Done,
}

impl std::fmt::Display for RolloutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RolloutPhase::Running => "running",
            RolloutPhase::Halted => "halted",
            RolloutPhase::Stopped => "stopped",
            RolloutPhase::Done => "done",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveState {
    /// Not reached yet: nothing was committed or applied for it.
    Pending,
    /// The promotion commits into the wave's envs are being made.
    Promoting,
    /// Committed; its envs are being synced and validated.
    Syncing,
    /// Synced and validated; its envs must stay Synced+Healthy for `soak`.
    Soaking,
    /// Soaked: finished for good (a restart never touches it again).
    Done,
    /// The wave the rollout halted or was stopped at.
    Halted,
}

impl std::fmt::Display for WaveState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WaveState::Pending => "pending",
            WaveState::Promoting => "promoting",
            WaveState::Syncing => "syncing",
            WaveState::Soaking => "soaking",
            WaveState::Done => "done",
            WaveState::Halted => "halted",
        })
    }
}

/// One wave of a rollout row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveRow {
    pub envs: Vec<String>,
    pub state: WaveState,
    /// When a soaking wave's soak ends (its soak start + the rollout's `soak`).
    #[serde(default)]
    pub soak_ends_at: Option<Timestamp>,
}

/// Where and why a rollout halted or was stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutHaltRow {
    /// 1-based wave number.
    pub wave: usize,
    pub env: Option<String>,
    pub reason: String,
    pub by: String,
    pub at: Timestamp,
}

/// One configured rollout, as last read from its cluster-held record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutRow {
    pub name: String,
    /// The env whose versions it promotes.
    pub from: String,
    /// `None`: never started (no record), or the record could not be read (`error`).
    pub phase: Option<RolloutPhase>,
    /// 0-based index of the wave in progress (== `waves.len()` when done).
    pub wave: usize,
    /// From the record when there is one, else the configured waves, all pending.
    pub waves: Vec<WaveRow>,
    #[serde(default)]
    pub halt: Option<RolloutHaltRow>,
    /// Why the record could not be read (the last read's error; the rest is the last good read).
    #[serde(default)]
    pub error: Option<String>,
}
