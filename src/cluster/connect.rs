//! Clients per kubeconfig context and the per-context discovery cache (kind → resource, scope).
//!
//! Kubeconfig lookup follows kubectl: an explicit file (the config's `kubeconfig:`), else
//! `KUBECONFIG`, else `~/.kube/config`; with none of those, the in-cluster service account.
//! The connect timeout is short so an unreachable cluster is reported in seconds, not minutes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Scope, oneshot};

use super::Error;

/// How long to wait for a TCP/TLS connection before calling a cluster unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A kind resolved through discovery.
#[derive(Debug, Clone)]
pub struct ResolvedKind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// One cluster, addressed through one kubeconfig context.
pub struct Cluster {
    client: Client,
    context: String,
    pub(super) kinds: Mutex<HashMap<(String, String), ResolvedKind>>,
    /// Preferred versions of the searched kinds (see `discovery`), with when they were found.
    pub(super) served: Mutex<Option<super::discovery::Served>>,
    /// When the API server last answered; `None` for [`Cluster::from_client`] clients, which
    /// do not pass through [`Cluster::connect`]'s layers.
    answered: Option<Arc<super::requests::Answered>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

/// The API server URL of `context` in `kubeconfig`; `None` when either is missing.
pub fn context_server(kubeconfig: Option<&Kubeconfig>, context: &str) -> Option<String> {
    let kc = kubeconfig?;
    let cluster = kc
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?
        .cluster
        .clone();
    kc.clusters
        .iter()
        .find(|c| c.name == cluster)?
        .cluster
        .as_ref()?
        .server
        .clone()
}

/// Reads the kubeconfig the way kubectl does; `None` when there is none (in-cluster then).
pub fn load_kubeconfig(explicit: Option<&Path>) -> Result<Option<Kubeconfig>, Error> {
    if let Some(path) = explicit {
        return Kubeconfig::read_from(path)
            .map(Some)
            .map_err(|e| Error::Kubeconfig {
                path: path.display().to_string(),
                message: e.to_string(),
            });
    }
    match Kubeconfig::from_env() {
        Ok(Some(config)) => return Ok(Some(config)),
        Ok(None) => {}
        Err(e) => {
            return Err(Error::Kubeconfig {
                path: "$KUBECONFIG".into(),
                message: e.to_string(),
            });
        }
    }
    let Some(home) = std::env::var_os("HOME") else {
        return Ok(None);
    };
    let default = Path::new(&home).join(".kube").join("config");
    if !default.exists() {
        return Ok(None);
    }
    Kubeconfig::read_from(&default)
        .map(Some)
        .map_err(|e| Error::Kubeconfig {
            path: default.display().to_string(),
            message: e.to_string(),
        })
}

impl Cluster {
    /// Builds a client for `context` of `kubeconfig` (or the in-cluster config when `None`).
    /// Does not contact the cluster: an unreachable cluster is found by the first request.
    pub async fn connect(kubeconfig: Option<&Kubeconfig>, context: &str) -> Result<Self, Error> {
        let connect_err = |message: String| Error::Connect {
            context: context.to_owned(),
            message,
        };
        let mut config = match kubeconfig {
            Some(kc) => {
                let options = KubeConfigOptions {
                    context: Some(context.to_owned()),
                    ..KubeConfigOptions::default()
                };
                kube::Config::from_custom_kubeconfig(kc.clone(), &options)
                    .await
                    .map_err(|e| connect_err(e.to_string()))?
            }
            None => kube::Config::incluster().map_err(|e| {
                connect_err(format!(
                    "no kubeconfig found (flag, KUBECONFIG, ~/.kube/config) and not in a cluster: {e}"
                ))
            })?,
        };
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        // The controller retries with its own backoff and reports each failure; kube's silent
        // default retry would hide a flapping cluster.
        config.default_retry = false;
        let counter = super::requests::counter(context);
        let answered = Arc::new(super::requests::Answered::default());
        let stamp = answered.clone();
        let client = kube::client::ClientBuilder::try_from(config)
            .map_err(|e| connect_err(e.to_string()))?
            .with_layer(&tower::util::MapRequestLayer::new(
                move |request: http::Request<kube::client::Body>| {
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    request
                },
            ))
            .with_layer(&tower::util::MapResponseLayer::new(
                move |response: http::Response<Box<kube::client::DynBody>>| {
                    stamp.now();
                    response
                },
            ))
            .build();
        Ok(Self {
            answered: Some(answered),
            ..Self::from_client(client, context)
        })
    }

    /// Whether the API server answered any request within `window`; `true` for clients that
    /// do not track answers ([`Cluster::from_client`]). See [`super::requests::Answered`].
    pub fn answered_within(&self, window: Duration) -> bool {
        self.answered.as_ref().is_none_or(|a| a.within(window))
    }

    /// Wraps an existing client (tests use one over the sandbox's tower service).
    pub fn from_client(client: Client, context: impl Into<String>) -> Self {
        Self {
            client,
            context: context.into(),
            kinds: Mutex::new(HashMap::new()),
            served: Mutex::new(None),
            answered: None,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    /// Resolves `apiVersion` + `kind` to its resource (plural) and scope, once per context.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<ResolvedKind, Error> {
        let cache_key = (api_version.to_owned(), kind.to_owned());
        if let Some(hit) = self.cached(&cache_key) {
            return Ok(hit);
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) =
            oneshot::pinned_kind(&self.client, &gvk)
                .await
                .map_err(|e| match e {
                    // A cluster that cannot be reached is not a cluster without the kind: say so,
                    // and keep it retryable.
                    kube::Error::HyperError(_) | kube::Error::Service(_) => Error::Connect {
                        context: self.context.clone(),
                        message: super::api_text(&e),
                    },
                    kube::Error::Api(ref status) if super::is_transient_kube(&e) => {
                        let what =
                            format!("discovery of {api_version} {kind} (HTTP {})", status.code);
                        self.api_error(what, e)
                    }
                    other => Error::UnknownKind {
                        context: self.context.clone(),
                        api_version: api_version.to_owned(),
                        kind: kind.to_owned(),
                        message: super::api_text(&other),
                    },
                })?;
        let resolved = ResolvedKind {
            resource,
            namespaced: matches!(caps.scope, Scope::Namespaced),
        };
        if let Ok(mut kinds) = self.kinds.lock() {
            kinds.insert(cache_key, resolved.clone());
        }
        Ok(resolved)
    }

    fn cached(&self, key: &(String, String)) -> Option<ResolvedKind> {
        self.kinds.lock().ok().and_then(|k| k.get(key).cloned())
    }

    /// A failed API call as this module reports it: the context, what was being done, the cause.
    pub fn api_error(&self, what: impl Into<String>, source: kube::Error) -> Error {
        Error::Api {
            context: self.context.clone(),
            what: what.into(),
            source,
        }
    }
}
