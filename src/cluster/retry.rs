//! The one retry helper of the cluster boundary: [`retry_transient`] runs a request again while
//! it fails transiently (5xx, 429, a reset or refused connection, an unreachable cluster), with
//! exponential backoff and jitter, within a fixed per-request budget. Every request method of
//! [`super::Cluster`] — list, get, apply and dry-run, delete, discovery, state and Lease reads
//! and writes — goes through it, so no path of the controller is left without retries; watches
//! retry through kube's watcher backoff (see `live.rs`).
//!
//! Decisions: the budget is per request, not per operation: a 40-request apply at a 20% error
//! rate needs every single request to get through, and one flaky answer must cost
//! milliseconds, not an operation-level backoff round. Six attempts with delays 100 ms, 200 ms,
//! … capped at 2 s (≈ 4 s in all) make a 20%-flaky request fail for good with probability
//! 0.2⁶ ≈ 6·10⁻⁵, while a cluster that is really down is reported within seconds and left to
//! the engine's own operation backoff. Jitter is "equal jitter" (half fixed, half random) so
//! that the env tasks' retries after a shared outage spread out. kube's `Error::Api` does not
//! carry the response headers, so a `Retry-After` cannot be read: a 429 waits at least
//! [`THROTTLED_PAUSE`] instead. Nothing here sleeps when the first attempt succeeds.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::Error;

/// Attempts per request, the first pause, and the cap on any one pause.
pub const REQUEST_ATTEMPTS: u32 = 6;
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// The least pause after a 429 (the server asked to slow down).
pub const THROTTLED_PAUSE: Duration = Duration::from_secs(1);

/// The pause before attempt `attempt + 1` (attempt counts from 1) from a `first` pause,
/// before jitter.
fn paced(first: Duration, attempt: u32) -> Duration {
    let doubled = first.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    doubled.min(MAX_PAUSE)
}

/// `pause` with equal jitter: a uniformly random value in `[pause/2, pause]`.
fn jittered(pause: Duration) -> Duration {
    let half = pause / 2;
    let spread = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::rng().random_range(0..=spread))
}

/// `f()` again while it fails transiently, up to [`REQUEST_ATTEMPTS`] times; the last error is
/// returned as is (it names the request and the context).
pub async fn retry_transient<T, F, Fut>(f: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    retry_paced(FIRST_PAUSE, THROTTLED_PAUSE, f).await
}

/// [`retry_transient`] with its pauses scaled from `first` (and `throttled` after a 429).
async fn retry_paced<T, F, Fut>(first: Duration, throttled: Duration, mut f: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if e.is_transient() && attempt < REQUEST_ATTEMPTS => {
                let mut pause = jittered(paced(first, attempt));
                if e.status_code() == Some(429) {
                    pause = pause.max(throttled);
                }
                tracing::debug!(attempt, ?pause, "retrying after a transient error: {e}");
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn unavailable() -> Error {
        Error::Connect {
            context: "dev".into(),
            message: "connection reset".into(),
        }
    }

    #[test]
    fn backoff_doubles_from_the_first_pause_up_to_the_cap() {
        assert_eq!(paced(FIRST_PAUSE, 1), Duration::from_millis(100));
        assert_eq!(paced(FIRST_PAUSE, 2), Duration::from_millis(200));
        assert_eq!(paced(FIRST_PAUSE, 4), Duration::from_millis(800));
        assert_eq!(paced(FIRST_PAUSE, 6), MAX_PAUSE);
        assert_eq!(paced(FIRST_PAUSE, 60), MAX_PAUSE);
        for _ in 0..100 {
            let j = jittered(Duration::from_millis(800));
            assert!(j >= Duration::from_millis(400) && j <= Duration::from_millis(800));
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let result = retry_paced(Duration::ZERO, Duration::ZERO, || async {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            if n < 4 { Err(unavailable()) } else { Ok(n) }
        })
        .await;
        assert_eq!(result.ok(), Some(4));
    }

    #[tokio::test]
    async fn a_persistent_failure_ends_after_the_budget_and_a_refusal_at_once() {
        let calls = AtomicU32::new(0);
        let result: Result<(), Error> = retry_paced(Duration::ZERO, Duration::ZERO, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(unavailable())
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), REQUEST_ATTEMPTS);

        let calls = AtomicU32::new(0);
        let result: Result<(), Error> = retry_paced(Duration::ZERO, Duration::ZERO, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::BadObject {
                what: "apply ConfigMap/x".into(),
                message: "invalid".into(),
            })
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a refusal is not retried");
    }
}
