//! Wall-clock timestamps for the simulator: maps the real `Instant`s the core passes in to Unix
//! time through one anchor, and formats them as Kubernetes writes them (RFC 3339, seconds).
//! Never reads a clock itself.

use std::time::Instant;

/// Where timestamps start when the core never anchored the clock: 2026-01-01T00:00:00Z.
pub const DEFAULT_EPOCH_MILLIS: i64 = 1_767_225_600_000;

/// An anchor pairing a real `Instant` with Unix milliseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    anchor: Option<(Instant, i64)>,
}

impl Clock {
    pub fn anchored(at: Instant, unix_millis: i64) -> Self {
        Self {
            anchor: Some((at, unix_millis)),
        }
    }

    pub(crate) fn anchor_if_unset(&mut self, now: Instant) {
        if self.anchor.is_none() {
            self.anchor = Some((now, DEFAULT_EPOCH_MILLIS));
        }
    }

    /// Unix milliseconds at `at`.
    pub fn unix_millis(&self, at: Instant) -> i64 {
        let (base, millis) = self.anchor.unwrap_or((at, DEFAULT_EPOCH_MILLIS));
        match at.checked_duration_since(base) {
            Some(d) => millis.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            None => {
                let back = base.saturating_duration_since(at).as_millis();
                millis.saturating_sub(i64::try_from(back).unwrap_or(i64::MAX))
            }
        }
    }

    /// `at` as Kubernetes formats a `metav1.Time`: `2026-01-01T00:00:00Z`.
    pub fn rfc3339(&self, at: Instant) -> String {
        let secs = self.unix_millis(at).div_euclid(1000);
        jiff::Timestamp::from_second(secs)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_relative_to_the_anchor() {
        let t0 = Instant::now();
        let c = Clock::anchored(t0, DEFAULT_EPOCH_MILLIS);
        assert_eq!(c.rfc3339(t0), "2026-01-01T00:00:00Z");
        assert_eq!(
            c.rfc3339(t0 + Duration::from_millis(61_500)),
            "2026-01-01T00:01:01Z"
        );
        let later = t0 + Duration::from_secs(5);
        let c = Clock::anchored(later, DEFAULT_EPOCH_MILLIS);
        assert_eq!(c.rfc3339(t0), "2025-12-31T23:59:55Z");
    }
}
