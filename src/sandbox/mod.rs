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
//!
//! Layout: [`router`] resolves paths, [`crud`] / [`watch`] / [`subresources`] serve verbs,
//! [`store`] holds objects, [`apply`] and [`patch`] compute writes, [`select`] parses
//! selectors, [`table`] prints for kubectl, [`resources`] is the catalog, [`kubeconfig`]
//! writes the client config. The pure-semantics half (written beside this core): API-server
//! [`defaults`], the workload [`sim`]ulator, deterministic pod [`logs`] and injectable
//! [`faults`]; none of these do IO, spawn tasks or read a clock — time is passed in.

pub mod apply;
pub mod body;
pub mod crud;
pub mod defaults;
pub mod error;
pub mod faults;
pub mod kubeconfig;
pub mod logs;
pub mod patch;
pub mod resources;
pub mod router;
pub mod select;
pub mod sim;
pub mod store;
pub mod subresources;
pub mod table;
pub mod watch;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::BodyExt;
use serde_json::json;
use tokio::net::TcpListener;

pub use body::Body;
pub use error::{ApiError, Error};
use router::Req;
pub use store::Store;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Knobs of a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Bearer token every request must carry (None: no authentication).
    pub token: Option<String>,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// How many changes each cluster keeps for watches to resume from (older: 410 Expired).
    pub watch_history: usize,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            token: None,
            time_scale: 1.0,
            watch_history: 10_000,
        }
    }
}

/// One simulated cluster.
pub struct Cluster {
    pub name: String,
    store: Mutex<Store>,
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

    /// The faults' "cut every watch after" setting, if any.
    pub fn watch_drop_after(&self) -> Option<Duration> {
        None
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
    pub fn new(clusters: &[&str], opts: SandboxOptions) -> Self {
        let clusters = clusters
            .iter()
            .map(|name| {
                let c = Cluster {
                    name: (*name).to_string(),
                    store: Mutex::new(Store::new(opts.watch_history)),
                };
                ((*name).to_string(), Arc::new(c))
            })
            .collect();
        Sandbox {
            inner: Arc::new(Inner { clusters, opts }),
        }
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
        Ok(SandboxService {
            sandbox: self.clone(),
            cluster: self.cluster(cluster)?,
        })
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

    /// Answers one request for `cluster` (path relative to the cluster root).
    async fn answer(
        &self,
        cluster: &Arc<Cluster>,
        path: &str,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Response<Body> {
        if !self.authorized(&parts.headers) {
            return body::error(&ApiError::new(401, "Unauthorized", "Unauthorized"));
        }
        let req = Req {
            method: parts.method,
            query: body::Query::parse(parts.uri.query()),
            headers: parts.headers,
            body,
        };
        router::route(cluster, path, req).await
    }

    /// Answers one HTTP request of the multi-cluster server (`/clusters/<name>/…`).
    pub async fn handle_http(&self, parts: http::request::Parts, body: Bytes) -> Response<Body> {
        let path = parts.uri.path().to_string();
        let Some(rest) = path.strip_prefix("/clusters/") else {
            if path == "/sandbox/faults" {
                return body::json(200, &json!({"clusters": self.cluster_names()}));
            }
            return body::error(&ApiError::new(
                404,
                "NotFound",
                format!(
                    "{path}: not a sandbox path; use /clusters/<name>/… (clusters: {})",
                    self.cluster_names().join(", ")
                ),
            ));
        };
        let (name, sub) = rest.split_once('/').map_or((rest, ""), |(n, s)| (n, s));
        let Ok(cluster) = self.cluster(name) else {
            return body::error(&ApiError::new(
                404,
                "NotFound",
                format!("no cluster named \"{name}\""),
            ));
        };
        let sub = format!("/{sub}");
        self.answer(&cluster, &sub, parts, body).await
    }
}

/// The in-process tower service of one cluster.
#[derive(Clone)]
pub struct SandboxService {
    sandbox: Sandbox,
    cluster: Arc<Cluster>,
}

impl<B> tower::Service<Request<B>> for SandboxService
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let sandbox = self.sandbox.clone();
        let cluster = self.cluster.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = body.collect().await.map_err(Into::into)?.to_bytes();
            let path = parts.uri.path().to_string();
            Ok(sandbox.answer(&cluster, &path, parts, bytes).await)
        })
    }
}

/// Serves the sandbox on `listener` until `shutdown` completes; then every open connection
/// (including watches) is closed.
pub async fn serve(listener: TcpListener, sandbox: Sandbox, shutdown: impl Future) {
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        // Reap finished connections so the set does not grow without bound.
        while conns.try_join_next().is_some() {}
        let Ok((stream, _)) = accepted else { continue };
        let sandbox = sandbox.clone();
        conns.spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let sandbox = sandbox.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let bytes = match body.collect().await {
                        Ok(b) => b.to_bytes(),
                        Err(_) => Bytes::new(),
                    };
                    Ok::<_, Infallible>(sandbox.handle_http(parts, bytes).await)
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let _ = builder.serve_connection(io, svc).await;
        });
    }
    conns.abort_all();
}
