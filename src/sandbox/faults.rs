//! Injectable faults for testing clients against a misbehaving API server: added latency, a rate
//! of 500/503/429 answers (with Retry-After), dropping every watch after a while, expiring
//! watches (410 Gone) and refusing connections for a number of seconds.
//!
//! Pure: the server core owns a [`Faults`] per cluster (switchable at runtime with
//! [`Faults::set`]) and asks [`Faults::decide`] once per request, passing the current time. The
//! random draws come from a seeded generator so a test run is reproducible. Imports nothing of
//! the crate and does no IO.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What to inject. The default injects nothing. Deserializes from partial JSON (missing fields
/// take their defaults), which is how the admin endpoint and the CLI switch faults on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Added to every request before it is answered.
    pub latency_ms: u64,
    /// Fraction (0..=1) of requests answered with `error_status` instead of being served.
    pub error_rate: f64,
    /// 500, 503 or 429; 0 (unset) means 500.
    pub error_status: u16,
    /// Sent as `Retry-After` with injected errors.
    pub retry_after_secs: Option<u64>,
    /// Every watch stream is cut after this many seconds.
    pub drop_watches_every_secs: Option<u64>,
    /// Every watch is answered `410 Gone` (its resourceVersion is "too old").
    pub expire_watches: bool,
    /// Connections are refused for this many seconds after the config is set.
    pub refuse_connections_secs: Option<u64>,
}

/// The verdict for one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultDecision {
    /// Wait this long before answering.
    pub delay: Duration,
    /// Answer with this status (and Retry-After seconds) instead of serving the request.
    pub error: Option<(u16, Option<u64>)>,
    /// Close the connection without answering.
    pub refuse_connection: bool,
    /// For a watch that is served: end the stream after this long.
    pub drop_watch_after: Option<Duration>,
}

/// A [`FaultConfig`] plus the state needed to apply it: a seeded generator and when the current
/// connection refusal window started.
#[derive(Clone, Debug)]
pub struct Faults {
    cfg: FaultConfig,
    rng: SplitMix64,
    /// Set by [`Faults::set`], or on the first decision after [`Faults::new`].
    refusing_since: Option<Instant>,
}

impl Faults {
    pub fn new(cfg: FaultConfig, seed: u64) -> Self {
        Self {
            cfg,
            rng: SplitMix64(seed),
            refusing_since: None,
        }
    }

    pub fn config(&self) -> &FaultConfig {
        &self.cfg
    }

    /// Switches to `cfg`; a refusal window (if any) starts at `now`.
    pub fn set(&mut self, cfg: FaultConfig, now: Instant) {
        self.refusing_since = cfg.refuse_connections_secs.map(|_| now);
        self.cfg = cfg;
    }

    /// Decides what happens to one request (`is_watch` for `?watch=1` requests).
    pub fn decide(&mut self, is_watch: bool, now: Instant) -> FaultDecision {
        let mut d = FaultDecision {
            delay: Duration::from_millis(self.cfg.latency_ms),
            ..FaultDecision::default()
        };
        if let Some(secs) = self.cfg.refuse_connections_secs {
            let since = *self.refusing_since.get_or_insert(now);
            if now.saturating_duration_since(since) < Duration::from_secs(secs) {
                d.refuse_connection = true;
                d.delay = Duration::ZERO;
                return d;
            }
        }
        let rate = if self.cfg.error_rate.is_finite() {
            self.cfg.error_rate.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // Draw even at rate 0 so a config switch does not shift later draws unpredictably.
        let draw = self.rng.next_f64();
        if draw < rate {
            let status = match self.cfg.error_status {
                0 => 500,
                s => s,
            };
            d.error = Some((status, self.cfg.retry_after_secs));
            return d;
        }
        if is_watch {
            if self.cfg.expire_watches {
                d.error = Some((410, None));
                return d;
            }
            d.drop_watch_after = self.cfg.drop_watches_every_secs.map(Duration::from_secs);
        }
        d
    }
}

/// SplitMix64: tiny, fast, good enough for fault sampling, and fully determined by its seed.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the top 53 bits as a fraction.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_faults_by_default() {
        let mut f = Faults::new(FaultConfig::default(), 1);
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(f.decide(true, now), FaultDecision::default());
        }
    }

    #[test]
    fn error_rate_is_honoured_within_three_percent() {
        let cfg = FaultConfig {
            error_rate: 0.2,
            error_status: 503,
            retry_after_secs: Some(2),
            ..FaultConfig::default()
        };
        let mut f = Faults::new(cfg, 42);
        let now = Instant::now();
        let errors = (0..10_000)
            .filter(|_| match f.decide(false, now).error {
                Some(e) => {
                    assert_eq!(e, (503, Some(2)));
                    true
                }
                None => false,
            })
            .count();
        assert!((1700..=2300).contains(&errors), "{errors} errors of 10000");
    }

    #[test]
    fn same_seed_same_decisions() {
        let cfg = FaultConfig {
            error_rate: 0.5,
            ..FaultConfig::default()
        };
        let now = Instant::now();
        let mut a = Faults::new(cfg.clone(), 7);
        let mut b = Faults::new(cfg, 7);
        let da: Vec<_> = (0..100).map(|_| a.decide(false, now)).collect();
        let db: Vec<_> = (0..100).map(|_| b.decide(false, now)).collect();
        assert_eq!(da, db);
        assert!(da.iter().any(|d| d.error == Some((500, None))));
    }

    #[test]
    fn latency_and_watch_modes() {
        let now = Instant::now();
        let mut f = Faults::new(FaultConfig::default(), 3);
        f.set(
            FaultConfig {
                latency_ms: 250,
                drop_watches_every_secs: Some(5),
                ..FaultConfig::default()
            },
            now,
        );
        let w = f.decide(true, now);
        assert_eq!(w.delay, Duration::from_millis(250));
        assert_eq!(w.drop_watch_after, Some(Duration::from_secs(5)));
        assert_eq!(f.decide(false, now).drop_watch_after, None);
        f.set(
            FaultConfig {
                expire_watches: true,
                ..FaultConfig::default()
            },
            now,
        );
        assert_eq!(f.decide(true, now).error, Some((410, None)));
        assert_eq!(f.decide(false, now).error, None);
    }

    #[test]
    fn refusal_lasts_the_configured_seconds() {
        let t0 = Instant::now();
        let mut f = Faults::new(FaultConfig::default(), 3);
        f.set(
            FaultConfig {
                refuse_connections_secs: Some(3),
                ..FaultConfig::default()
            },
            t0,
        );
        assert!(f.decide(false, t0).refuse_connection);
        assert!(
            f.decide(false, t0 + Duration::from_millis(2999))
                .refuse_connection
        );
        assert!(
            !f.decide(false, t0 + Duration::from_secs(3))
                .refuse_connection
        );
    }

    #[test]
    fn config_round_trips_from_partial_json() {
        let cfg: FaultConfig = serde_json::from_str(r#"{"error_rate": 0.1}"#).unwrap();
        assert_eq!(cfg.error_rate, 0.1);
        assert_eq!(cfg.latency_ms, 0);
        let back: FaultConfig =
            serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
    }
}
