//! Notifications: webhook deliveries (generic JSON or Slack-compatible JSON) for what an
//! on-call engineer must hear about — a sync that failed, a validation that failed, an
//! auto-rollback, drift that lasted, a hold set, a rollout halted. Targets come from the
//! config's `notify:` ([`crate::config::notify`]).
//!
//! Never blocks reconciliation: [`Notifier::emit`] only `try_send`s onto a bounded queue (one per
//! target, [`QUEUE`] deep); each target's own task delivers, retrying with exponential backoff
//! ([`ATTEMPTS`] attempts, 1 s doubling), so a slow or dead endpoint delays only its own queue.
//! A full queue drops the notification; a delivery that fails every attempt is given up. Both
//! are logged (target name, never its URL) and counted in the metrics
//! (`driftdeck_notifications_total{outcome="dropped"|"failed"}`).
//!
//! Where the events come from (decisions where the issue is silent):
//! - `sync_failed`, `validation_failed`, `auto_rollback`: the `OperationFinished` notices of the
//!   operations this process ran ([`Notifier::on_notice`]); a failure whose reason is `Degraded`
//!   or `ValidationTimeout` is a failed validation, any other failed operation a failed sync.
//!   An auto-rollback notifies when it finishes, with its result. So with several controllers,
//!   the one that ran the operation (the Lease holder) notifies, once.
//! - `hold_set`, `drift_detected`: changes between published snapshots ([`watch_snapshots`]),
//!   counted only once the env has had its first observation, so a restart does not re-announce
//!   a standing hold. Drift notifies when an env has had drift continuously for the target's
//!   `drift_debounce` (a drift self-heal fixes in seconds says nothing), then not again until
//!   the env has been free of drift.
//! - `rollout_halted`: [`Notifier::rollout_halted`], for the rollout driver to call.
//!
//! Only `driftdeck controller` notifies; a console does not (several consoles would each send
//! the snapshot-derived events).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jiff::Timestamp;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::config::notify::{NotifyEvent, NotifyTarget, WebhookFormat, WebhookUrl, is_http_url};
use crate::model::{FailureReason, Notice, OperationKind, OperationResult, Snapshot, short_sha};

use super::metrics::Metrics;

/// Notifications waiting per target; more are dropped (and counted).
pub const QUEUE: usize = 64;
/// Delivery attempts per notification.
pub const ATTEMPTS: u32 = 4;
/// First retry delay; doubles each attempt.
const BACKOFF: Duration = Duration::from_secs(1);
/// One attempt's limit.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// One thing to tell people about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: NotifyEvent,
    pub env: String,
    /// One human line, e.g. "validation of 1a2b3c4 failed: degraded: …".
    pub summary: String,
    pub revision: Option<String>,
    pub at: Timestamp,
}

impl Event {
    fn new(kind: NotifyEvent, env: &str, summary: String, revision: Option<&str>) -> Self {
        Self {
            kind,
            env: env.to_owned(),
            summary,
            revision: revision.map(str::to_owned),
            at: Timestamp::now(),
        }
    }
}

/// The body a target receives.
pub fn payload(format: WebhookFormat, event: &Event) -> serde_json::Value {
    match format {
        WebhookFormat::Json => json!({
            "source": "driftdeck",
            "event": event.kind.name(),
            "env": event.env,
            "summary": event.summary,
            "revision": event.revision,
            "at": event.at.to_string(),
        }),
        WebhookFormat::Slack => json!({
            "text": format!("driftdeck · {} · {}: {}", event.env, event.kind.name(), event.summary),
        }),
    }
}

/// The notification (if any) an `OperationFinished` notice is.
pub fn events_of(notice: &Notice) -> Vec<Event> {
    let Notice::OperationFinished { env, entry } = notice else {
        return Vec::new();
    };
    let rev = short_sha(&entry.revision);
    let mut out = Vec::new();
    if entry.result == OperationResult::Failed {
        let why = entry
            .failure
            .as_ref()
            .map_or_else(|| "unknown reason".to_owned(), ToString::to_string);
        let validation = matches!(
            entry.failure,
            Some(FailureReason::Degraded(_) | FailureReason::ValidationTimeout(_))
        );
        let (kind, what) = if validation {
            (NotifyEvent::ValidationFailed, "validation")
        } else {
            (NotifyEvent::SyncFailed, "operation")
        };
        out.push(Event::new(
            kind,
            env,
            format!("{} {what} of {rev} failed: {why}", entry.op),
            Some(&entry.revision),
        ));
    }
    if entry.op == OperationKind::AutoRollback && entry.result != OperationResult::Running {
        out.push(Event::new(
            NotifyEvent::AutoRollback,
            env,
            format!(
                "auto-rollback to {rev} {}",
                entry.result.to_string().to_lowercase()
            ),
            Some(&entry.revision),
        ));
    }
    out
}

struct Route {
    target: NotifyTarget,
    queue: mpsc::Sender<Event>,
}

/// The sending half: cheap to clone, never blocks.
#[derive(Clone)]
pub struct Notifier {
    routes: Arc<Vec<Route>>,
    metrics: Arc<Metrics>,
    /// The delivery tasks, for [`Notifier::drain`].
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

enum HttpClient {
    Https(Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>),
    Http(Client<HttpConnector, Full<Bytes>>),
}

impl HttpClient {
    async fn post(&self, request: http::Request<Full<Bytes>>) -> Result<http::StatusCode, String> {
        let response = match self {
            HttpClient::Https(c) => c.request(request).await,
            HttpClient::Http(c) => c.request(request).await,
        }
        .map_err(|e| e.to_string())?;
        let status = response.status();
        // Read the body so the connection can be reused.
        let _ = response.into_body().collect().await;
        Ok(status)
    }
}

impl Notifier {
    /// Resolves every target's URL (`url_env` read now) and starts one delivery task per target.
    /// Fails, naming the target, when a variable is unset or not an http(s) URL, or when https
    /// is needed and the system's CA certificates cannot be loaded.
    pub fn start(config: &Config, metrics: Arc<Metrics>) -> Result<Self, String> {
        let mut urls = Vec::with_capacity(config.notify.len());
        for target in &config.notify {
            let url = match &target.url {
                WebhookUrl::Literal(url) => url.clone(),
                WebhookUrl::Env(var) => std::env::var(var).map_err(|_| {
                    format!(
                        "{}: {}: webhook url_env {var} is not set",
                        config.file.display(),
                        target.name
                    )
                })?,
            };
            if !is_http_url(&url) {
                return Err(format!(
                    "{}: {}: the URL in {} is not an http:// or https:// URL",
                    config.file.display(),
                    target.name,
                    match &target.url {
                        WebhookUrl::Env(var) => format!("${var}"),
                        WebhookUrl::Literal(_) => "webhook.url".into(),
                    }
                ));
            }
            urls.push(url.trim().to_owned());
        }
        let client = if urls.iter().any(|u| u.starts_with("https://")) {
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_native_roots()
                .map_err(|e| {
                    format!("notify: loading the system's CA certificates for https webhooks: {e}")
                })?
                .https_or_http()
                .enable_http1()
                .build();
            HttpClient::Https(Client::builder(TokioExecutor::new()).build(connector))
        } else {
            HttpClient::Http(Client::builder(TokioExecutor::new()).build_http())
        };
        let client = Arc::new(client);
        let mut tasks = Vec::with_capacity(urls.len());
        let routes = config
            .notify
            .iter()
            .zip(urls)
            .map(|(target, url)| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tasks.push(tokio::spawn(deliver(
                    target.clone(),
                    url,
                    rx,
                    client.clone(),
                    metrics.clone(),
                )));
                Route {
                    target: target.clone(),
                    queue: tx,
                }
            })
            .collect();
        Ok(Self {
            routes: Arc::new(routes),
            metrics,
            tasks: Arc::new(std::sync::Mutex::new(tasks)),
        })
    }

    /// Whether any target is configured.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Queues `event` for every target that wants it; never waits.
    pub fn emit(&self, event: &Event) {
        for route in self.routes.iter() {
            let t = &route.target;
            if !t.on.contains(&event.kind) || t.env.as_ref().is_some_and(|e| *e != event.env) {
                continue;
            }
            if route.queue.try_send(event.clone()).is_err() {
                tracing::warn!(
                    target_name = %t.name,
                    event = event.kind.name(),
                    env = %event.env,
                    "notification dropped: the target's queue is full"
                );
                self.metrics
                    .notification(&t.name, event.kind.name(), "dropped");
            }
        }
    }

    /// Emits what an `OperationFinished` notice calls for.
    pub fn on_notice(&self, notice: &Notice) {
        for event in events_of(notice) {
            self.emit(&event);
        }
    }

    /// For the rollout driver: the rollout `rollout` halted at `env` because of `reason`.
    pub fn rollout_halted(&self, rollout: &str, env: &str, reason: &str) {
        self.emit(&Event::new(
            NotifyEvent::RolloutHalted,
            env,
            format!("rollout {rollout} halted at {env}: {reason}"),
            None,
        ));
    }

    /// Closes the queues and waits up to `limit` for what is queued to be delivered (or given
    /// up on). For a short-lived process, such as the rollout driver, before it exits; the
    /// queues close only when this is the last clone, else this waits out `limit`.
    pub async fn drain(self, limit: Duration) {
        let Notifier { routes, tasks, .. } = self;
        drop(routes);
        let handles = std::mem::take(&mut *tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = tokio::time::timeout(limit, futures::future::join_all(handles)).await;
    }

    /// The shortest `drift_debounce` of the targets that want drift for `env`; `None` when none do.
    fn drift_debounce(&self, env: &str) -> Option<Duration> {
        self.routes
            .iter()
            .map(|r| &r.target)
            .filter(|t| t.on.contains(&NotifyEvent::DriftDetected))
            .filter(|t| t.env.as_deref().is_none_or(|e| e == env))
            .map(|t| t.drift_debounce)
            .min()
    }
}

/// One target's delivery loop: each event in order, retried with backoff.
async fn deliver(
    target: NotifyTarget,
    url: String,
    mut queue: mpsc::Receiver<Event>,
    client: Arc<HttpClient>,
    metrics: Arc<Metrics>,
) {
    while let Some(event) = queue.recv().await {
        let body = payload(target.format, &event).to_string();
        let mut delay = BACKOFF;
        let mut last_error = String::new();
        let mut delivered = false;
        for attempt in 1..=ATTEMPTS {
            let request = http::Request::post(&url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::USER_AGENT, "driftdeck")
                .body(Full::new(Bytes::from(body.clone())));
            let request = match request {
                Ok(r) => r,
                Err(e) => {
                    last_error = format!("bad request: {e}");
                    break;
                }
            };
            match tokio::time::timeout(ATTEMPT_TIMEOUT, client.post(request)).await {
                Ok(Ok(status)) if status.is_success() => {
                    delivered = true;
                    break;
                }
                Ok(Ok(status)) => last_error = format!("HTTP {status}"),
                Ok(Err(e)) => last_error = e,
                Err(_) => last_error = format!("no answer within {ATTEMPT_TIMEOUT:?}"),
            }
            if attempt < ATTEMPTS {
                tracing::debug!(target_name = %target.name, attempt, "{last_error}; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        if delivered {
            metrics.notification(&target.name, event.kind.name(), "delivered");
        } else {
            tracing::warn!(
                target_name = %target.name,
                event = event.kind.name(),
                env = %event.env,
                "notification not delivered after {ATTEMPTS} attempts: {last_error}"
            );
            metrics.notification(&target.name, event.kind.name(), "failed");
        }
    }
}

/// Per env, what the snapshot watcher remembers.
#[derive(Default)]
struct Seen {
    held: bool,
    /// Since when the env has had drift, and whether that drift was announced.
    drift_since: Option<(tokio::time::Instant, bool)>,
}

/// Emits `hold_set` and debounced `drift_detected` from the published snapshots, until the
/// snapshot channel closes.
pub async fn watch_snapshots(notifier: Notifier, mut snapshots: watch::Receiver<Snapshot>) {
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = snapshots.changed() => if changed.is_err() { return },
            _ = tick.tick() => {}
        }
        let snapshot = snapshots.borrow_and_update().clone();
        let now = tokio::time::Instant::now();
        for env in &snapshot.envs {
            if env.observed_at.is_none() {
                continue;
            }
            let first = !seen.contains_key(&env.name);
            let s = seen.entry(env.name.clone()).or_default();
            let held = env.hold.is_some();
            if !s.held
                && !first
                && let Some(h) = &env.hold
            {
                notifier.emit(&Event::new(
                    NotifyEvent::HoldSet,
                    &env.name,
                    format!(
                        "held at {} (bad {}) by {}: {}",
                        short_sha(&h.revision),
                        short_sha(&h.bad_revision),
                        h.by,
                        h.reason
                    ),
                    Some(&h.revision),
                ));
            }
            s.held = held;
            let drift = env.drift_count();
            if drift.total() == 0 {
                s.drift_since = None;
                continue;
            }
            let (since, announced) = *s.drift_since.get_or_insert((now, false));
            if announced {
                continue;
            }
            if let Some(debounce) = notifier.drift_debounce(&env.name)
                && now.duration_since(since) >= debounce
            {
                notifier.emit(&Event::new(
                    NotifyEvent::DriftDetected,
                    &env.name,
                    format!(
                        "{} resource(s) drifted from Git ({} missing, {} modified, {} extra) for {}s",
                        drift.total(),
                        drift.missing,
                        drift.modified,
                        drift.extra,
                        debounce.as_secs()
                    ),
                    env.revision.as_deref(),
                ));
                s.drift_since = Some((since, true));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HistoryEntry;

    fn finished(
        op: OperationKind,
        result: OperationResult,
        failure: Option<FailureReason>,
    ) -> Notice {
        Notice::OperationFinished {
            env: "production".into(),
            entry: HistoryEntry {
                id: "x".into(),
                op,
                revision: "1234567890abcdef".into(),
                render_digest: String::new(),
                operator: "me".into(),
                started: Timestamp::UNIX_EPOCH,
                finished: Some(Timestamp::UNIX_EPOCH),
                result,
                resources_changed: 0,
                failure,
            },
        }
    }

    #[test]
    fn a_degraded_failure_is_a_failed_validation_and_an_apply_failure_a_failed_sync() {
        let degraded = finished(
            OperationKind::Sync,
            OperationResult::Failed,
            Some(FailureReason::Degraded("CrashLoopBackOff".into())),
        );
        let kinds: Vec<_> = events_of(&degraded).iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![NotifyEvent::ValidationFailed]);
        let apply = finished(
            OperationKind::AutoSync,
            OperationResult::Failed,
            Some(FailureReason::Apply("forbidden".into())),
        );
        let kinds: Vec<_> = events_of(&apply).iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![NotifyEvent::SyncFailed]);
    }

    #[test]
    fn a_finished_auto_rollback_notifies_and_a_good_sync_does_not() {
        let back = finished(
            OperationKind::AutoRollback,
            OperationResult::Succeeded,
            None,
        );
        let events = events_of(&back);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, NotifyEvent::AutoRollback);
        assert!(events[0].summary.contains("1234567"), "{:?}", events[0]);
        let ok = finished(OperationKind::Sync, OperationResult::Succeeded, None);
        assert!(events_of(&ok).is_empty());
    }

    #[test]
    fn slack_payload_carries_the_text_field() {
        let event = Event::new(NotifyEvent::HoldSet, "prod", "held".into(), None);
        let slack = payload(WebhookFormat::Slack, &event);
        assert!(
            slack["text"]
                .as_str()
                .is_some_and(|t| t.contains("hold_set"))
        );
        let generic = payload(WebhookFormat::Json, &event);
        assert_eq!(generic["event"], "hold_set");
        assert_eq!(generic["env"], "prod");
    }
}
