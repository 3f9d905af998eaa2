//! Live state from watchers, not polling (kube-runtime `reflector(writer, watcher(..))`).
//!
//! A [`LiveCache`] holds one reflector store per watched kind for one env. Each kind runs in its
//! own task: resolve the kind through discovery (retrying while the cluster is unreachable), then
//! watch with kube's default backoff, stripping `managedFields` before objects reach the store.
//! Every change bumps a counter on a `tokio::sync::watch` so the controller re-diffs promptly.
//! When the cluster is unreachable the cache keeps its last good objects and reports the error
//! and the time data was last good; other envs have their own caches and are unaffected.
//!
//! The stores are read by [`LiveCache::read`], one kind at a time: the controller builds its
//! observation of a running env from them (`controller::live_from_cache`) instead of listing.
//! A kind answers only once it has listed and while its watch is healthy; otherwise the caller
//! lists. An optional kind the user may not list keeps the API's 403 reason so the observation
//! reports it as unreadable, as a list would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event, watcher};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Cluster, ResolvedKind, ops::to_value};

/// One kind to watch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatchSpec {
    pub api_version: String,
    pub kind: String,
    /// Namespace for namespaced kinds; ignored for cluster-scoped kinds.
    pub namespace: String,
    /// Optional label selector (e.g. the driftdeck tracking label for prune candidates).
    pub label_selector: Option<String>,
    /// A kind the cluster may not serve (searched only for prune candidates): when discovery
    /// says it is unknown, the watch ends as ready and empty instead of retrying as an error.
    pub optional: bool,
    /// Keep `managedFields` (stripped otherwise): an `ignore_differences` managers rule reads
    /// field ownership from live objects of this kind when dry-run is refused.
    pub keep_owners: bool,
}

/// What the cache holds for one watched kind ([`LiveCache::read`]).
#[derive(Debug, Clone, PartialEq)]
pub enum KindRead {
    /// The kind's objects as JSON (with apiVersion and kind).
    Items(Vec<Value>),
    /// An optional kind the cluster does not serve.
    Unserved,
    /// An optional kind this user may not list: the API's reason.
    Unreadable(String),
}

/// The health of a cache as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStatus {
    /// Every kind has completed its initial list.
    pub ready: bool,
    /// The first current error, `kind: message`.
    pub error: Option<String>,
    /// When data was last known good: now when all watches are healthy, else when the
    /// failing watch last succeeded (`None`: never).
    pub observed_at: Option<Timestamp>,
}

struct KindState {
    /// When this kind's watch was started ([`LiveCache::starting`]).
    started: std::time::Instant,
    store: Option<(Store<DynamicObject>, ResolvedKind)>,
    ready: bool,
    error: Option<String>,
    last_ok: Option<Timestamp>,
    /// An optional kind refused with 403: the API's reason.
    unreadable: Option<String>,
}

impl KindState {
    fn new() -> Self {
        Self {
            started: std::time::Instant::now(),
            store: None,
            ready: false,
            error: None,
            last_ok: None,
            unreadable: None,
        }
    }
}

/// A watched kind: its shared state and the task feeding it.
type KindWatch = (Arc<Mutex<KindState>>, JoinHandle<()>);

/// Watch caches for one env.
pub struct LiveCache {
    cluster: Arc<Cluster>,
    kinds: Mutex<HashMap<WatchSpec, KindWatch>>,
    changed_tx: Arc<watch::Sender<u64>>,
    changed_rx: watch::Receiver<u64>,
}

impl std::fmt::Debug for LiveCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCache")
            .field("cluster", &self.cluster.context())
            .finish_non_exhaustive()
    }
}

impl Drop for LiveCache {
    fn drop(&mut self) {
        if let Ok(kinds) = self.kinds.lock() {
            for (_, task) in kinds.values() {
                task.abort();
            }
        }
    }
}

impl LiveCache {
    pub fn new(cluster: Arc<Cluster>) -> Self {
        let (tx, rx) = watch::channel(0);
        Self {
            cluster,
            kinds: Mutex::new(HashMap::new()),
            changed_tx: Arc::new(tx),
            changed_rx: rx,
        }
    }

    /// Starts watching every spec not watched yet; specs no longer listed are stopped, so the
    /// cache follows the env's desired set as Git changes.
    pub fn watch(&self, specs: &[WatchSpec]) {
        let Ok(mut kinds) = self.kinds.lock() else {
            return;
        };
        kinds.retain(|spec, (_, task)| {
            let keep = specs.contains(spec);
            if !keep {
                task.abort();
            }
            keep
        });
        for spec in specs {
            if kinds.contains_key(spec) {
                continue;
            }
            let state = Arc::new(Mutex::new(KindState::new()));
            let task = tokio::spawn(run_kind(
                self.cluster.clone(),
                spec.clone(),
                state.clone(),
                self.changed_tx.clone(),
            ));
            kinds.insert(spec.clone(), (state, task));
        }
    }

    /// A receiver whose value changes whenever any watched object changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed_rx.clone()
    }

    /// What the store of `spec` holds, when it can stand for a list: `spec` is watched, has
    /// listed, and its watch is healthy. `None` otherwise (the caller lists instead).
    pub fn read(&self, spec: &WatchSpec) -> Option<KindRead> {
        let kinds = self.kinds.lock().ok()?;
        let (state, _) = kinds.get(spec)?;
        let state = state.lock().ok()?;
        if !state.ready || state.error.is_some() {
            return None;
        }
        if let Some(reason) = &state.unreadable {
            return Some(KindRead::Unreadable(reason.clone()));
        }
        let Some((store, kind)) = &state.store else {
            return Some(KindRead::Unserved);
        };
        let mut items = Vec::new();
        for obj in store.state() {
            items.push(to_value((*obj).clone(), kind).ok()?);
        }
        Some(KindRead::Items(items))
    }

    pub fn status(&self) -> LiveStatus {
        let Ok(kinds) = self.kinds.lock() else {
            return LiveStatus {
                ready: false,
                error: Some("live cache poisoned".into()),
                observed_at: None,
            };
        };
        let mut status = LiveStatus {
            ready: true,
            error: None,
            observed_at: Some(Timestamp::now()),
        };
        let mut specs: Vec<_> = kinds.iter().collect();
        specs.sort_by(|a, b| (&a.0.api_version, &a.0.kind).cmp(&(&b.0.api_version, &b.0.kind)));
        for (spec, (state, _)) in specs {
            let Ok(state) = state.lock() else { continue };
            status.ready &= state.ready;
            if let Some(e) = &state.error {
                if status.error.is_none() {
                    status.error = Some(format!("{}: {e}", spec.kind));
                }
                status.observed_at = match (status.observed_at, state.last_ok) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    _ => None,
                };
            }
        }
        status
    }

    /// Whether a watch started less than `grace` ago is still in its first list, with no watch
    /// failing: its store is on the way, so a list beside it would ask the API server for the
    /// same objects twice. A watch whose first list takes longer than `grace` no longer counts.
    pub fn starting(&self, grace: Duration) -> bool {
        let Ok(kinds) = self.kinds.lock() else {
            return false;
        };
        let mut starting = false;
        for (state, _) in kinds.values() {
            let Ok(state) = state.lock() else {
                return false;
            };
            if state.error.is_some() {
                return false;
            }
            starting |= !state.ready && state.started.elapsed() < grace;
        }
        starting
    }

    /// Waits until every kind has listed once, or the deadline passes. Returns whether ready.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.subscribe();
        loop {
            if self.status().ready {
                return true;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            // Readiness is signalled through the change counter too.
            let tick = left.min(Duration::from_millis(200));
            if let Ok(Err(_)) = tokio::time::timeout(tick, rx.changed()).await {
                return false;
            }
        }
    }
}

fn set(state: &Mutex<KindState>, f: impl FnOnce(&mut KindState)) {
    if let Ok(mut s) = state.lock() {
        f(&mut s);
    }
}

async fn run_kind(
    cluster: Arc<Cluster>,
    spec: WatchSpec,
    state: Arc<Mutex<KindState>>,
    changed: Arc<watch::Sender<u64>>,
) {
    // Discovery first: while the cluster is unreachable, retry with a capped backoff.
    let mut delay = Duration::from_millis(500);
    let kind = loop {
        match cluster.resolve(&spec.api_version, &spec.kind).await {
            Ok(kind) => break kind,
            Err(super::Error::UnknownKind { .. }) if spec.optional => {
                set(&state, |s| {
                    s.error = None;
                    s.ready = true;
                    s.last_ok = Some(Timestamp::now());
                });
                changed.send_modify(|n| *n += 1);
                return;
            }
            Err(e) => {
                set(&state, |s| s.error = Some(e.to_string()));
                changed.send_modify(|n| *n += 1);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    };
    let api: Api<DynamicObject> = if kind.namespaced {
        Api::namespaced_with(cluster.client().clone(), &spec.namespace, &kind.resource)
    } else {
        Api::all_with(cluster.client().clone(), &kind.resource)
    };
    let writer = reflector::store::Writer::new(kind.resource.clone());
    set(&state, |s| {
        s.store = Some((writer.as_reader(), kind.clone()))
    });
    let mut config = watcher::Config::default();
    if let Some(selector) = &spec.label_selector {
        config = config.labels(selector);
    }
    let keep_owners = spec.keep_owners;
    let stream = watcher(api, config)
        .default_backoff()
        .modify(move |obj: &mut DynamicObject| {
            if !keep_owners {
                obj.metadata.managed_fields = None;
            }
        })
        .reflect(writer);
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => {
                let init_done = matches!(event, Event::InitDone);
                set(&state, |s| {
                    s.error = None;
                    s.last_ok = Some(Timestamp::now());
                    s.ready |= init_done;
                });
                changed.send_modify(|n| *n += 1);
            }
            // A prune-candidate kind this user may not list (a view-only user and Secrets):
            // nothing to watch, not a broken watch; the observation reports it as unreadable.
            Err(watcher::Error::InitialListFailed(kube::Error::Api(status)))
                if spec.optional && status.code == 403 =>
            {
                let reason = super::api_text(&kube::Error::Api(status));
                set(&state, |s| {
                    s.error = None;
                    s.store = None;
                    s.unreadable = Some(format!("{} in {}: {reason}", spec.kind, spec.namespace));
                    s.ready = true;
                    s.last_ok = Some(Timestamp::now());
                });
                changed.send_modify(|n| *n += 1);
                return;
            }
            Err(e) => {
                set(&state, |s| s.error = Some(e.to_string()));
                changed.send_modify(|n| *n += 1);
            }
        }
    }
}
