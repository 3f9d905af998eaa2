//! The console's view of a rollout ([`RolloutRow`]) made from its config and cluster-held
//! record: one conversion, used by the driver's periodic read and the console's first frame.

use jiff::SignedDuration;

use crate::config::RolloutConfig;
use crate::model::{RolloutRow, WaveRow, WaveState};

use super::state::RolloutState;

/// The row before any record was read: the configured waves, all pending, no phase.
pub fn base_row(rollout: &RolloutConfig) -> RolloutRow {
    RolloutRow {
        name: rollout.name.clone(),
        from: rollout.from.clone(),
        phase: None,
        wave: 0,
        waves: rollout
            .waves
            .iter()
            .map(|envs| WaveRow {
                envs: envs.clone(),
                state: WaveState::Pending,
                soak_ends_at: None,
            })
            .collect(),
        halt: None,
        error: None,
    }
}

/// The row for `state` (`None`: never started). A soaking wave's end is its soak start plus the
/// configured `soak` (the record keeps only the start).
pub fn row_of(rollout: &RolloutConfig, state: Option<&RolloutState>) -> RolloutRow {
    let Some(state) = state else {
        return base_row(rollout);
    };
    let soak = SignedDuration::try_from(rollout.soak).unwrap_or(SignedDuration::MAX);
    RolloutRow {
        name: state.name.clone(),
        from: state.from.clone(),
        phase: Some(state.phase),
        wave: state.wave,
        waves: state
            .waves
            .iter()
            .map(|w| WaveRow {
                envs: w.envs.clone(),
                state: w.state,
                soak_ends_at: match w.state {
                    WaveState::Soaking => w.soak_started_at.and_then(|t| t.checked_add(soak).ok()),
                    _ => None,
                },
            })
            .collect(),
        halt: state.halt.clone(),
        error: None,
    }
}
