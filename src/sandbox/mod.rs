//! The sandbox: an embedded Kubernetes API server (and, beside it, a workload simulator) for
//! `driftdeck demo` and the tests. One [`Sandbox`] serves several independent clusters; each
//! has its own [`store::Store`], catalog and faults. It speaks the real wire protocol over
//! plain HTTP on loopback — [`serve`] routes `/clusters/<name>/…` to a cluster, so a
//! kubeconfig server URL is `http://127.0.0.1:PORT/clusters/dev` — and in-process as a tower
//! service ([`Sandbox::service`]) that `kube::Client::new(service, ns)` accepts.
//!
//! It imports NOTHING of the rest of driftdeck (not even `model`): only the wire protocol is
//! shared. It must never panic on input; every bad request gets a `Status` answer.
//!
//! Admin endpoint: `GET /sandbox/faults` reads, `POST /sandbox/faults` (JSON body) switches
//! the faults of every cluster; `/clusters/<name>/sandbox/faults` does it for one cluster.
//! The body is a [`FaultConfig`]; missing fields take their defaults (no fault), so
//! `{}` clears everything:
//!
//! ```text
//! curl -X POST http://127.0.0.1:PORT/clusters/dev/sandbox/faults -d '{
//!   "latency_ms": 200,                 added to every answer
//!   "error_rate": 0.1, "error_status": 503, "retry_after_secs": 2,
//!   "drop_watches_every_secs": 5,      every watch stream is cut after 5 s
//!   "expire_watches": true,            every watch gets a 410 Expired ERROR event
//!   "refuse_connections_secs": 10      connections are dropped unanswered for 10 s
//! }'
//! ```
//!
//! Decisions where the design was silent: every request carrying the bearer token (when
//! one is configured) may use the admin endpoint; `events.k8s.io/v1` Events are stored apart
//! from core `v1` Events (the simulator writes core Events); `/openapi/v2` answers 404 and
//! `/openapi/v3` publishes paths but no schemas (see [`openapi`]); protobuf request bodies
//! are decoded for Namespace, ConfigMap and Secret only (see [`proto`]); deletes are
//! immediate (no graceful termination, finalizers are not waited for) and cascade at once.
//!
//! Layout: [`router`] resolves paths, [`crud`] / [`watch`] / [`subresources`] serve verbs,
//! [`store`] holds objects, [`apply`] and [`patch`] compute writes, [`select`] parses
//! selectors, [`table`] prints for kubectl, [`resources`] is the catalog, [`kubeconfig`]
//! writes the client config. The pure-semantics half (written beside this core): API-server
//! [`defaults`], the workload [`sim`]ulator, deterministic pod [`logs`] and injectable
//! [`faults`]; none of these do IO, spawn tasks or read a clock — time is passed in.

pub mod apply;
pub mod body;
pub mod change;
pub mod crud;
pub mod defaults;
pub mod error;
pub mod faults;
pub mod kubeconfig;
pub mod logs;
pub mod openapi;
pub mod patch;
pub mod proto;
mod proto_schema;
pub mod resources;
pub mod router;
pub mod select;
pub mod server;
pub mod sim;
pub mod simloop;
pub mod store;
pub mod stored;
pub mod subresources;
pub mod table;
pub mod validate;
pub mod watch;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use http::{Response, header};

pub use body::Body;
pub use error::{ApiError, Error};
pub use faults::{FaultConfig, Faults};
use router::Req;
pub use server::{Refused, SandboxService, serve};
pub use store::Store;

/// Knobs of a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Bearer token every request must carry (None: no authentication).
    pub token: Option<String>,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// How many changes each cluster keeps for watches to resume from (older: 410 Expired).
    pub watch_history: usize,
    /// Run the workload simulator (Deployments become ReplicaSets and Pods, ...).
    pub simulate: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            token: None,
            time_scale: 1.0,
            watch_history: 5_000,
            simulate: true,
        }
    }
}

/// One simulated cluster.
pub struct Cluster {
    pub name: String,
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    /// Requests served other than watches: what a client's polling costs the API server.
    requests: std::sync::atomic::AtomicU64,
    /// Of those, lists (GET of a collection) and dry-run writes (`dryRun=All`).
    lists: std::sync::atomic::AtomicU64,
    dry_runs: std::sync::atomic::AtomicU64,
    /// The last [`RECENT_REQUESTS`] of them as `METHOD path?query`, oldest first.
    recent: Mutex<std::collections::VecDeque<String>>,
}

/// Requests kept in [`Cluster::recent_requests`].
const RECENT_REQUESTS: usize = 200;

/// What a cluster has answered so far, other than watches ([`Cluster::tally`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestTally {
    pub requests: u64,
    pub lists: u64,
    pub dry_runs: u64,
}

/// What was answered since `before`; zero, not an overflow, when `before` is not an earlier
/// tally of the same cluster.
impl std::ops::Sub for RequestTally {
    type Output = RequestTally;
    fn sub(self, before: RequestTally) -> RequestTally {
        RequestTally {
            requests: self.requests.saturating_sub(before.requests),
            lists: self.lists.saturating_sub(before.lists),
            dry_runs: self.dry_runs.saturating_sub(before.dry_runs),
        }
    }
}

impl Cluster {
    /// The store, locked. Critical sections are short and never await.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        // A handler that panicked cannot leave the map half-written in a way later readers
        // would misread, so a poisoned lock is still usable.
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many requests other than watches this cluster has answered (or refused).
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Requests, lists and dry-runs answered (or refused) so far, watches not counted.
    pub fn tally(&self) -> RequestTally {
        let load = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
        RequestTally {
            requests: load(&self.requests),
            lists: load(&self.lists),
            dry_runs: load(&self.dry_runs),
        }
    }

    /// The most recent requests other than watches, `METHOD path?query`, oldest first: what
    /// a test names when a client costs more than it should.
    pub fn recent_requests(&self) -> Vec<String> {
        self.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// Counts one request other than a watch (`list`: a GET of a collection).
    fn count(&self, method: &http::Method, path: &str, query: Option<&str>, dry_run: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        self.requests.fetch_add(1, Relaxed);
        if dry_run && method != http::Method::GET {
            self.dry_runs.fetch_add(1, Relaxed);
        }
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if recent.len() == RECENT_REQUESTS {
            recent.pop_front();
        }
        recent.push_back(match query {
            Some(q) => format!("{method} {path}?{q}"),
            None => format!("{method} {path}"),
        });
    }

    /// Counts a list (called by the router, which alone knows a collection from an object).
    pub(crate) fn count_list(&self) {
        self.lists
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The cluster's injectable faults, locked.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Inner {
    clusters: BTreeMap<String, Arc<Cluster>>,
    opts: SandboxOptions,
}

/// Several simulated clusters behind one API server. Cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl Sandbox {
    /// Creates the clusters. With `opts.simulate`, each cluster's simulator starts ticking on
    /// its own thread; it stops when the last clone is dropped.
    pub fn new(clusters: &[&str], opts: SandboxOptions) -> Self {
        let clusters = clusters
            .iter()
            .map(|name| {
                let c = Cluster {
                    name: (*name).to_string(),
                    store: Mutex::new(Store::new(opts.watch_history)),
                    faults: Mutex::new(Faults::new(FaultConfig::default(), 0x5eed)),
                    requests: std::sync::atomic::AtomicU64::new(0),
                    lists: std::sync::atomic::AtomicU64::new(0),
                    dry_runs: std::sync::atomic::AtomicU64::new(0),
                    recent: Mutex::new(std::collections::VecDeque::new()),
                };
                ((*name).to_string(), Arc::new(c))
            })
            .collect();
        let sandbox = Sandbox {
            inner: Arc::new(Inner { clusters, opts }),
        };
        if sandbox.inner.opts.simulate {
            for c in sandbox.inner.clusters.values() {
                simloop::spawn(Arc::downgrade(c), sandbox.inner.opts.time_scale);
            }
        }
        sandbox
    }

    pub fn cluster_names(&self) -> Vec<String> {
        self.inner.clusters.keys().cloned().collect()
    }

    pub fn cluster(&self, name: &str) -> Result<Arc<Cluster>, Error> {
        self.inner
            .clusters
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownCluster(name.to_string()))
    }

    pub fn options(&self) -> &SandboxOptions {
        &self.inner.opts
    }

    /// A tower service serving one cluster at the root path, for
    /// `kube::Client::new(sandbox.service("dev")?, "default")`.
    pub fn service(&self, cluster: &str) -> Result<SandboxService, Error> {
        Ok(SandboxService::new(self.clone(), self.cluster(cluster)?))
    }

    /// Switches the faults of one cluster, or of all when `cluster` is None.
    pub fn set_faults(&self, cluster: Option<&str>, cfg: FaultConfig) -> Result<(), Error> {
        let now = Instant::now();
        match cluster {
            Some(name) => self.cluster(name)?.faults().set(cfg, now),
            None => self
                .inner
                .clusters
                .values()
                .for_each(|c| c.faults().set(cfg.clone(), now)),
        }
        Ok(())
    }

    fn faults_endpoint(
        &self,
        cluster: Option<&str>,
        method: &http::Method,
        body: &Bytes,
    ) -> Response<Body> {
        if method == http::Method::POST || method == http::Method::PUT {
            let cfg: FaultConfig = match serde_json::from_slice(body) {
                Ok(c) => c,
                Err(e) => return body::error(&ApiError::bad_request(format!("fault config: {e}"))),
            };
            if let Err(e) = self.set_faults(cluster, cfg) {
                return body::error(&ApiError::new(404, "NotFound", e.to_string()));
            }
        }
        let view: serde_json::Map<String, serde_json::Value> = self
            .inner
            .clusters
            .iter()
            .filter(|(n, _)| cluster.is_none_or(|c| c == n.as_str()))
            .map(|(n, c)| {
                (
                    n.clone(),
                    serde_json::to_value(c.faults().config()).unwrap_or_default(),
                )
            })
            .collect();
        body::json(200, &serde_json::Value::Object(view))
    }

    fn authorized(&self, headers: &http::HeaderMap) -> bool {
        match &self.inner.opts.token {
            None => true,
            Some(t) => headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|given| given == t),
        }
    }

    /// Answers one request for `cluster` (path relative to the cluster root), after the
    /// cluster's faults had their say; `Err` means "drop the connection without answering".
    async fn answer(
        &self,
        cluster: &Arc<Cluster>,
        path: &str,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Result<Response<Body>, Refused> {
        if !self.authorized(&parts.headers) {
            return Ok(body::error(&ApiError::new(
                401,
                "Unauthorized",
                "Unauthorized",
            )));
        }
        if path == "/sandbox/faults" {
            return Ok(self.faults_endpoint(Some(&cluster.name), &parts.method, &body));
        }
        let query = body::Query::parse(parts.uri.query());
        let is_watch = query.flag("watch");
        if !is_watch {
            cluster.count(&parts.method, path, parts.uri.query(), query.dry_run());
        }
        let decision = cluster.faults().decide(is_watch, Instant::now());
        if decision.refuse_connection {
            return Err(Refused);
        }
        if !decision.delay.is_zero() {
            tokio::time::sleep(decision.delay).await;
        }
        let mut expire_watch = false;
        if let Some((code, retry_after)) = decision.error {
            if code == 410 && is_watch {
                expire_watch = true;
            } else {
                return Ok(injected_error(code, retry_after));
            }
        }
        let req = Req {
            method: parts.method,
            query,
            headers: parts.headers,
            body,
            drop_watch_after: decision.drop_watch_after,
            expire_watch,
        };
        // A bug must cost one answer, not the connection or the server: a panic becomes a 500.
        let routed = std::panic::AssertUnwindSafe(router::route(cluster, path, req));
        match futures::FutureExt::catch_unwind(routed).await {
            Ok(r) => Ok(r),
            Err(_) => Ok(body::error(&ApiError::new(
                500,
                "InternalError",
                format!("the sandbox failed while serving {path}; this is a bug in the sandbox"),
            ))),
        }
    }

    /// Answers one HTTP request of the multi-cluster server (`/clusters/<name>/…`, and the
    /// admin endpoint `/sandbox/faults`).
    pub async fn handle_http(
        &self,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Result<Response<Body>, Refused> {
        let path = parts.uri.path().to_string();
        let Some(rest) = path.strip_prefix("/clusters/") else {
            if path == "/sandbox/faults" {
                if !self.authorized(&parts.headers) {
                    return Ok(body::error(&ApiError::new(
                        401,
                        "Unauthorized",
                        "Unauthorized",
                    )));
                }
                return Ok(self.faults_endpoint(None, &parts.method, &body));
            }
            let names = self.cluster_names().join(", ");
            let msg =
                format!("{path}: not a sandbox path; use /clusters/<name>/… (clusters: {names})");
            return Ok(body::error(&ApiError::new(404, "NotFound", msg)));
        };
        let (name, sub) = rest.split_once('/').unwrap_or((rest, ""));
        let Ok(cluster) = self.cluster(name) else {
            let msg = format!("no cluster named \"{name}\"");
            return Ok(body::error(&ApiError::new(404, "NotFound", msg)));
        };
        let sub = format!("/{sub}");
        self.answer(&cluster, &sub, parts, body).await
    }
}

fn injected_error(code: u16, retry_after: Option<u64>) -> Response<Body> {
    let reason = match code {
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        _ => "InternalError",
    };
    let mut e = ApiError::new(code, reason, format!("injected fault: {reason} ({code})"));
    if let Some(secs) = retry_after {
        // A real API server puts the wait in the Status body too (clients read it there).
        e.details = serde_json::json!({ "retryAfterSeconds": secs });
    }
    let mut r = body::error(&e);
    if let Some(secs) = retry_after
        && let Ok(v) = http::HeaderValue::from_str(&secs.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}
