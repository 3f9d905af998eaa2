//! An env's automation policy (from the config file) and the engine's fixed timings.
//!
//! Imports nothing of the crate. Durations are `std::time::Duration`; the engine adds them to
//! event timestamps, it never reads a clock.

use std::time::Duration;

/// Transient apply failures: first retry after this, doubling.
pub const RETRY_BASE: Duration = Duration::from_secs(5);
/// Ceiling of one retry delay.
pub const RETRY_MAX: Duration = Duration::from_secs(180);
/// Retries after the first attempt; the sixth failure fails the operation.
pub const RETRY_LIMIT: u32 = 5;
/// Self-heal starts at most once per this interval, so a fight with another writer (an HPA, a
/// `kubectl scale` loop) costs one apply per interval, not a hot loop.
pub const SELF_HEAL_INTERVAL: Duration = Duration::from_secs(5);
/// A `Running` history entry of another console that does not hold the Lease is considered
/// dead this long after `validation_timeout` has passed (no operation outlives validation plus
/// the whole retry budget, about 3 min).
pub const ORPHAN_GRACE: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Apply a new head revision without asking.
    pub auto_sync: bool,
    /// Re-apply the synced head when live drifts from it.
    pub self_heal: bool,
    /// Delete managed objects Git no longer has.
    pub prune: bool,
    /// Roll back to `last_good` (and hold) when validation fails.
    pub auto_rollback: bool,
    /// Rollback (and promotion into it) needs the env name typed as confirmation.
    pub protected: bool,
    /// How long a synced env has to become Healthy.
    pub validation_timeout: Duration,
    /// A render with no objects may be applied (and pruned to); off, it fails its operation.
    pub allow_empty: bool,
}

impl Default for Policy {
    /// Everything manual, as an env without policy keys in the config file.
    fn default() -> Self {
        Self {
            auto_sync: false,
            self_heal: false,
            prune: false,
            auto_rollback: false,
            protected: false,
            validation_timeout: Duration::from_secs(300),
            allow_empty: false,
        }
    }
}

/// The delay before retry number `retry` (1-based): 5 s, 10 s, 20 s, … capped at 3 min.
pub fn retry_delay(retry: u32) -> Duration {
    let factor = 1u32
        .checked_shl(retry.saturating_sub(1))
        .unwrap_or(u32::MAX);
    RETRY_BASE.saturating_mul(factor).min(RETRY_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_and_cap() {
        let secs: Vec<u64> = (1..=8).map(|r| retry_delay(r).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 180, 180]);
        assert_eq!(retry_delay(40), RETRY_MAX);
    }
}
