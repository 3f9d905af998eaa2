//! Prometheus metrics of a running controller (`driftdeck controller --metrics ADDR`): the
//! registry ([`Metrics`]) and the loopback HTTP endpoint ([`serve`]) with `/metrics`, `/healthz`
//! and `/readyz`.
//!
//! One pipeline per fact: the per-env gauges (sync status, health, drift, held, paused,
//! observation age) are refreshed from the [`Snapshot`] the driver already publishes, at each
//! scrape, so `/metrics`, `status` and the console cannot disagree. Counters are fed at the
//! points where things happen: [`Metrics::operation_finished`] from each `OperationFinished`
//! notice (operations this process ran), [`Metrics::notification`] from the notifier, and the
//! API request counts from the cluster clients' counting layer ([`crate::cluster::api_requests`]).
//!
//! Decisions where the issue is silent:
//! - Sync status and health are state sets (`driftdeck_env_sync_status{env,status}` and
//!   `driftdeck_env_health{env,health}`, 1 for the current state, 0 for the others), the
//!   kube-state-metrics convention, so an alert is `driftdeck_env_health{health="Degraded"} == 1`.
//! - An env with no observation yet has no `driftdeck_env_observation_age_seconds` series
//!   (absent, not a made-up number) and `driftdeck_env_observed 0`; `/readyz` answers 503 naming
//!   those envs until every env has had one.
//! - API requests are per kubeconfig context (several envs may share a cluster), counted since
//!   this process started.
//! - Only loopback addresses are served unless the operator passes `--metrics-allow-remote`:
//!   the endpoint has no authentication ([`bind_address`]).
//! - `/metrics` is the classic Prometheus text format (what `promtool check metrics` lints
//!   clean) unless the scraper asks for OpenMetrics in `Accept`, which `prometheus-client`
//!   writes natively ([`prometheus_text`] converts).
//! - `/healthz` answers 200 while the controller's driver runs (its snapshot channel is open),
//!   503 once it has stopped.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use jiff::Timestamp;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::model::{DriftKind, HealthCode, HistoryEntry, Snapshot, SyncStatus};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EnvLabel {
    env: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyncLabels {
    env: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HealthLabels {
    env: String,
    health: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DriftLabels {
    env: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    env: String,
    op: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ContextLabel {
    context: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotificationLabels {
    target: String,
    event: String,
    outcome: String,
}

const SYNC_STATES: [SyncStatus; 3] = [
    SyncStatus::Synced,
    SyncStatus::OutOfSync,
    SyncStatus::Unknown,
];
const HEALTH_STATES: [HealthCode; 6] = [
    HealthCode::Healthy,
    HealthCode::Suspended,
    HealthCode::Progressing,
    HealthCode::Missing,
    HealthCode::Degraded,
    HealthCode::Unknown,
];
const DRIFT_KINDS: [DriftKind; 3] = [DriftKind::Missing, DriftKind::Modified, DriftKind::Extra];

/// Operation durations: 1 s to about 17 min in doublings (a validation waits up to 300 s).
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 11))
}

/// The controller's metrics. Cheap to share (`Arc`); every method takes `&self`.
pub struct Metrics {
    registry: Registry,
    sync: Family<SyncLabels, Gauge>,
    health: Family<HealthLabels, Gauge>,
    drift: Family<DriftLabels, Gauge>,
    held: Family<EnvLabel, Gauge>,
    paused: Family<EnvLabel, Gauge>,
    observed: Family<EnvLabel, Gauge>,
    observation_age: Family<EnvLabel, Gauge<f64, AtomicU64>>,
    operations: Family<OperationLabels, Counter>,
    durations: Family<OperationLabels, Histogram>,
    api_requests: Family<ContextLabel, Counter>,
    notifications: Family<NotificationLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("driftdeck");
        let sync = Family::<SyncLabels, Gauge>::default();
        let health = Family::<HealthLabels, Gauge>::default();
        let drift = Family::<DriftLabels, Gauge>::default();
        let held = Family::<EnvLabel, Gauge>::default();
        let paused = Family::<EnvLabel, Gauge>::default();
        let observed = Family::<EnvLabel, Gauge>::default();
        let observation_age = Family::<EnvLabel, Gauge<f64, AtomicU64>>::default();
        let operations = Family::<OperationLabels, Counter>::default();
        let durations = Family::<OperationLabels, Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        let api_requests = Family::<ContextLabel, Counter>::default();
        let notifications = Family::<NotificationLabels, Counter>::default();
        registry.register(
            "env_sync_status",
            "Sync status of the env (1 for the current status)",
            sync.clone(),
        );
        registry.register(
            "env_health",
            "Health of the env, the worst of its resources (1 for the current health)",
            health.clone(),
        );
        registry.register(
            "env_drift_resources",
            "Resources that differ between Git and the cluster, by drift kind",
            drift.clone(),
        );
        registry.register(
            "env_held",
            "1 when a rollback hold stops auto-sync from redeploying the bad revision",
            held.clone(),
        );
        registry.register(
            "env_paused",
            "1 when the env is paused (no auto-sync, no self-heal)",
            paused.clone(),
        );
        registry.register(
            "env_observed",
            "1 once the env has had a first observation of its live state",
            observed.clone(),
        );
        registry.register(
            "env_observation_age_seconds",
            "Seconds since live data for the env was last received",
            observation_age.clone(),
        );
        registry.register(
            "operations",
            "Operations this controller finished, by env, kind and result",
            operations.clone(),
        );
        registry.register(
            "operation_duration_seconds",
            "Duration of the operations this controller finished, by env, kind and result",
            durations.clone(),
        );
        registry.register(
            "api_requests",
            "Requests this process sent to each cluster's API server, by kubeconfig context",
            api_requests.clone(),
        );
        registry.register(
            "notifications",
            "Notifications by target, event and outcome (delivered, failed, dropped)",
            notifications.clone(),
        );
        Self {
            registry,
            sync,
            health,
            drift,
            held,
            paused,
            observed,
            observation_age,
            operations,
            durations,
            api_requests,
            notifications,
        }
    }

    /// Counts one finished operation and observes its duration.
    pub fn operation_finished(&self, env: &str, entry: &HistoryEntry) {
        let labels = OperationLabels {
            env: env.to_owned(),
            op: entry.op.to_string(),
            result: entry.result.to_string(),
        };
        self.operations.get_or_create(&labels).inc();
        if let Some(finished) = entry.finished {
            let seconds = finished
                .duration_since(entry.started)
                .as_secs_f64()
                .max(0.0);
            self.durations.get_or_create(&labels).observe(seconds);
        }
    }

    /// Counts one notification outcome: `delivered`, `failed` (after its retries) or `dropped`
    /// (the queue was full).
    pub fn notification(&self, target: &str, event: &str, outcome: &str) {
        self.notifications
            .get_or_create(&NotificationLabels {
                target: target.to_owned(),
                event: event.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Sets the per-env gauges from `snapshot` as of `now`.
    pub fn refresh(&self, snapshot: &Snapshot, now: Timestamp) {
        for env in &snapshot.envs {
            let name = || env.name.clone();
            for state in SYNC_STATES {
                let labels = SyncLabels {
                    env: name(),
                    status: state.to_string(),
                };
                self.sync
                    .get_or_create(&labels)
                    .set(i64::from(env.sync == state));
            }
            for code in HEALTH_STATES {
                let labels = HealthLabels {
                    env: name(),
                    health: code.to_string(),
                };
                self.health
                    .get_or_create(&labels)
                    .set(i64::from(env.health.code == code));
            }
            let count = env.drift_count();
            for kind in DRIFT_KINDS {
                let n = match kind {
                    DriftKind::Missing => count.missing,
                    DriftKind::Modified => count.modified,
                    DriftKind::Extra => count.extra,
                };
                let labels = DriftLabels {
                    env: name(),
                    kind: kind.to_string(),
                };
                self.drift
                    .get_or_create(&labels)
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
            let label = EnvLabel { env: name() };
            self.held
                .get_or_create(&label)
                .set(i64::from(env.hold.is_some()));
            self.paused
                .get_or_create(&label)
                .set(i64::from(env.paused.is_some()));
            self.observed
                .get_or_create(&label)
                .set(i64::from(env.observed_at.is_some()));
            match env.observed_at {
                Some(at) => {
                    let age = now.duration_since(at).as_secs_f64().max(0.0);
                    self.observation_age.get_or_create(&label).set(age);
                }
                None => {
                    self.observation_age.remove(&label);
                }
            }
        }
        for (context, total) in crate::cluster::api_requests() {
            let counter = self.api_requests.get_or_create(&ContextLabel { context });
            counter.inc_by(total.saturating_sub(counter.get()));
        }
    }

    /// The registry in the text exposition format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Envs without a first observation yet; empty when the controller is ready.
pub fn awaiting_observation(snapshot: &Snapshot) -> Vec<&str> {
    snapshot
        .envs
        .iter()
        .filter(|e| e.observed_at.is_none())
        .map(|e| e.name.as_str())
        .collect()
}

/// Parses `--metrics ADDR` (`127.0.0.1:9100`, `[::1]:9100`, `localhost:9100`) and refuses a
/// non-loopback address unless `allow_remote`.
pub fn bind_address(text: &str, allow_remote: bool) -> Result<SocketAddr, String> {
    let addr = match text.strip_prefix("localhost:") {
        Some(port) => port
            .parse::<u16>()
            .map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
            .map_err(|e| format!("--metrics {text}: bad port: {e}"))?,
        None => text.parse::<SocketAddr>().map_err(|e| {
            format!("--metrics {text}: expected IP:PORT such as 127.0.0.1:9100 ({e})")
        })?,
    };
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(format!(
            "--metrics {text}: not a loopback address; /metrics has no authentication, so it is \
             served on loopback only unless --metrics-allow-remote is given"
        ));
    }
    Ok(addr)
}

type Body = Full<Bytes>;

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    response
}

const PLAIN: &str = "text/plain; charset=utf-8";
/// What `prometheus-client` writes: OpenMetrics text (it ends with `# EOF`).
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The classic Prometheus text format (0.0.4), for scrapers and tools that do not ask for
/// OpenMetrics (`promtool check metrics`, `curl`).
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// OpenMetrics text as `prometheus-client` writes it → the classic text format: a counter
/// family's `# HELP`/`# TYPE` lines name its `_total` samples, and there is no `# EOF`.
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn respond(
    request: &Request<hyper::body::Incoming>,
    metrics: &Metrics,
    snapshots: &watch::Receiver<Snapshot>,
) -> Response<Body> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            PLAIN,
            "only GET is served\n".into(),
        );
    }
    match request.uri().path() {
        "/metrics" => {
            metrics.refresh(&snapshots.borrow(), Timestamp::now());
            let openmetrics = request
                .headers()
                .get_all(http::header::ACCEPT)
                .iter()
                .any(|v| {
                    v.to_str()
                        .is_ok_and(|v| v.contains("application/openmetrics-text"))
                });
            match metrics.encode() {
                Ok(body) if openmetrics => text(StatusCode::OK, OPENMETRICS, body),
                Ok(body) => text(StatusCode::OK, PROMETHEUS_TEXT, prometheus_text(&body)),
                Err(e) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    PLAIN,
                    format!("encoding metrics: {e}\n"),
                ),
            }
        }
        "/healthz" if snapshots.has_changed().is_err() => text(
            StatusCode::SERVICE_UNAVAILABLE,
            PLAIN,
            "controller stopped\n".into(),
        ),
        "/healthz" => text(StatusCode::OK, PLAIN, "ok\n".into()),
        "/readyz" => {
            let snapshot = snapshots.borrow();
            let waiting = awaiting_observation(&snapshot);
            if snapshot.envs.is_empty() {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    PLAIN,
                    "no environment observed yet\n".into(),
                )
            } else if waiting.is_empty() {
                text(StatusCode::OK, PLAIN, "ready\n".into())
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    PLAIN,
                    format!(
                        "waiting for a first observation of: {}\n",
                        waiting.join(", ")
                    ),
                )
            }
        }
        other => text(
            StatusCode::NOT_FOUND,
            PLAIN,
            format!("{other}: not found; try /metrics, /healthz or /readyz\n"),
        ),
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    snapshots: watch::Receiver<Snapshot>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("metrics endpoint: accepting a connection: {e}");
                continue;
            }
        };
        let metrics = metrics.clone();
        let snapshots = snapshots.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = respond(&request, &metrics, &snapshots);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!("metrics endpoint: connection ended: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EnvState, Health};

    #[test]
    fn loopback_addresses_are_accepted_and_others_refused_without_the_flag() {
        assert!(bind_address("127.0.0.1:9100", false).is_ok());
        assert!(bind_address("[::1]:9100", false).is_ok());
        assert_eq!(
            bind_address("localhost:9100", false),
            Ok(SocketAddr::from(([127, 0, 0, 1], 9100)))
        );
        let refused = bind_address("0.0.0.0:9100", false).unwrap_err();
        assert!(refused.contains("--metrics-allow-remote"), "{refused}");
        assert!(bind_address("0.0.0.0:9100", true).is_ok());
        assert!(bind_address("nonsense", false).is_err());
    }

    #[test]
    fn state_sets_mark_only_the_current_state() {
        let metrics = Metrics::new();
        let mut env = EnvState::unknown("dev");
        env.sync = SyncStatus::OutOfSync;
        env.health = Health::new(HealthCode::Degraded, "");
        let snapshot = Snapshot {
            envs: vec![env],
            ..Snapshot::default()
        };
        metrics.refresh(&snapshot, Timestamp::now());
        let text = metrics.encode().unwrap();
        assert!(
            text.contains("driftdeck_env_sync_status{env=\"dev\",status=\"OutOfSync\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("driftdeck_env_sync_status{env=\"dev\",status=\"Synced\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("driftdeck_env_health{env=\"dev\",health=\"Degraded\"} 1"),
            "{text}"
        );
        assert!(
            !text.contains("driftdeck_env_observation_age_seconds{"),
            "{text}"
        );
        assert_eq!(awaiting_observation(&snapshot), vec!["dev"]);
    }
}
