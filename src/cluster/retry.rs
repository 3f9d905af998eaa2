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
//! that the env tasks' retries after a shared outage spread out. Nothing here sleeps when the
//! first attempt succeeds.
//!
//! Throttling: a 429 (or a 503) that says how long to wait is obeyed. kube's `Error::Api` does
//! not carry the response headers, but the API server sends the same number in the Status body
//! (`details.retryAfterSeconds`, set together with the `Retry-After` header by API Priority and
//! Fairness and by apiserver's `TooManyRequests`), and that is what is read. The pause is then
//! the larger of our backoff and the server's ask, never shorter than it. The ask is bounded by
//! [`WAIT_BUDGET`], the most one request may spend waiting in all: an ask that does not fit in
//! what is left of it ends the retries at once with the server's error, and the operation's own
//! backoff (5 s doubling up to 3 min, `engine::policy`) takes over — a request does not block
//! its operation for longer than the operation would wait between attempts anyway. A 429
//! without an ask waits at least [`THROTTLED_PAUSE`].

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
/// The most one request waits in all, server-asked pauses included (the operation's first
/// retry comes after 5 s, its budget grows from there; a request may use a few of those).
pub const WAIT_BUDGET: Duration = Duration::from_secs(30);

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

/// How long the server asked us to wait before trying again (`details.retryAfterSeconds` of
/// its Status answer), if it did.
fn server_asked(e: &Error) -> Option<Duration> {
    match e {
        Error::Api {
            source: kube::Error::Api(status),
            ..
        } => status
            .details
            .as_ref()
            .map(|d| d.retry_after_seconds)
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(u64::from(s))),
        _ => None,
    }
}

/// The pause before attempt `attempt + 1`, given our jittered `backoff`, the server's `asked`
/// wait, whether it was a 429, and the time already spent waiting. `None`: the server asks for
/// more than the rest of [`WAIT_BUDGET`], so this request stops retrying now.
fn pause_after(
    backoff: Duration,
    asked: Option<Duration>,
    throttled: Option<Duration>,
    waited: Duration,
) -> Option<Duration> {
    let mut pause = backoff;
    if let Some(least) = throttled {
        pause = pause.max(least);
    }
    if let Some(asked) = asked {
        pause = pause.max(asked);
    }
    let left = WAIT_BUDGET.saturating_sub(waited);
    match asked {
        Some(asked) if asked > left => None,
        _ => Some(pause.min(left.max(backoff))),
    }
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
    let mut waited = Duration::ZERO;
    loop {
        match f().await {
            Err(e) if e.is_transient() && attempt < REQUEST_ATTEMPTS => {
                let least = (e.status_code() == Some(429)).then_some(throttled);
                let backoff = jittered(paced(first, attempt));
                let Some(pause) = pause_after(backoff, server_asked(&e), least, waited) else {
                    tracing::debug!(
                        attempt,
                        "the server asks for a longer wait than is left: {e}"
                    );
                    return Err(e);
                };
                tracing::debug!(attempt, ?pause, "retrying after a transient error: {e}");
                tokio::time::sleep(pause).await;
                waited = waited.saturating_add(pause);
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

    fn throttled(retry_after_seconds: u32) -> Error {
        let mut status =
            kube::core::Status::failure("too many requests", "TooManyRequests").with_code(429);
        status.details = Some(kube::core::response::StatusDetails {
            name: String::new(),
            group: String::new(),
            kind: String::new(),
            uid: String::new(),
            causes: Vec::new(),
            retry_after_seconds,
        });
        Error::Api {
            context: "dev".into(),
            what: "list ConfigMap".into(),
            source: kube::Error::Api(status.boxed()),
        }
    }

    #[test]
    fn a_throttled_request_waits_what_the_server_asked_within_the_budget() {
        let ms = Duration::from_millis;
        let asked = server_asked(&throttled(7));
        assert_eq!(asked, Some(Duration::from_secs(7)));
        assert_eq!(server_asked(&throttled(0)), None);
        assert_eq!(server_asked(&unavailable()), None);
        // The server's ask wins over a shorter backoff and the 429 floor.
        assert_eq!(
            pause_after(ms(200), asked, Some(THROTTLED_PAUSE), Duration::ZERO),
            Some(Duration::from_secs(7))
        );
        // Our backoff wins when it is the longer.
        assert_eq!(
            pause_after(ms(1500), Some(ms(1000)), None, Duration::ZERO),
            Some(ms(1500))
        );
        // A 429 without an ask waits at least the floor.
        assert_eq!(
            pause_after(ms(100), None, Some(THROTTLED_PAUSE), Duration::ZERO),
            Some(THROTTLED_PAUSE)
        );
        // An ask that no longer fits in the request's wait budget stops the retries.
        assert_eq!(
            pause_after(ms(100), asked, None, WAIT_BUDGET - Duration::from_secs(5)),
            None
        );
        assert_eq!(
            pause_after(ms(100), Some(WAIT_BUDGET * 2), None, Duration::ZERO),
            None
        );
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
