//! One observation of one env: desired (from Git) against live (from the cluster) → drift,
//! health, pods and cluster-held state, as a [`model::EnvState`]. Used by `status` and `diff`
//! cold, and by the controller's driver on every change.
//!
//! Decisions:
//! - Live objects are listed per (kind, namespace) rather than fetched one by one: a
//!   1,000-resource env costs a handful of requests.
//! - The predicted object for the diff is a server-side dry-run apply of exactly the object a
//!   sync sends (stamped by [`super::stamping::outgoing`], the function the sync uses), plus the
//!   server's defaults when other managers hold fields Git lacks, with a bounded number of
//!   requests in flight; a refused dry-run (403/405/422, or a server
//!   that does not support it) falls back to comparing only the fields Git sets.
//! - Extra objects (prune candidates) are found among the kinds Git has now plus the common
//!   kinds of [`PRUNE_KINDS`], filtered by driftdeck's tracking label and env annotation. The
//!   common kinds are named by group only: their version comes from discovery (the group's
//!   preferred version, `cluster::discovery`), so a 1.20 server is searched for `batch/v1beta1`
//!   CronJobs and a kind the cluster does not serve is skipped, never fatal. A common kind
//!   this user may not list (a view-only user and Secrets) is skipped too and reported in
//!   `EnvState::unreadable` with the API's 403 reason: its prune candidates are unknown, the
//!   rest of the observation stands. A kind Git has that cannot be listed stays an error.
//! - A namespaced object Git names no namespace for lands in the env's namespace (the apply
//!   puts it there, [`super::stamping`]): it is listed there, and a live object in the env's
//!   namespace pairs with the desired object of the same group, kind and name that names no
//!   namespace ([`desired_key`]). Whether the kind is namespaced is what the live object shows,
//!   so pairing costs no discovery request; the drift keeps the key as Git wrote it. Without
//!   this, such an object read as Missing and its live self as Extra forever, and a
//!   `sync --prune` deleted what it had just applied.
//! - The synced revision comes from the cluster-held state; without one, from the revision
//!   annotation the live objects carry when they all agree.
//! - A running env (the controller's driver) reads live from its watch stores instead:
//!   [`live_from_cache`] builds the same [`LiveSet`] [`list_live`] would list, from the
//!   `cluster::LiveCache` the driver points at [`watch_specs`], once every one of those watches
//!   has listed and while each is healthy. Otherwise (cold start, a watch error or restart, a
//!   kind not watched yet, prune kinds not discovered yet) it answers `None` and the caller
//!   lists. The driver also lists on a periodic resync (`live_resync:` in the config, default
//!   5 min; `driver/env/live.rs`). A prune kind the user may not list is reported unreadable
//!   from the watch's 403 as from a list's. A kind whose CRD is in the render but not applied
//!   yet has no healthy watch, so such an env is listed until the CRD exists.
//! - A cold [`observe`] streams: one (kind, namespace) list at a time, each paired, dry-run and
//!   compared as the dry-run results arrive, then dropped, so memory holds one kind's objects
//!   rather than every list and every dry-run result of the env at once. Lists are parsed
//!   without `managedFields` unless an `ignore_differences` managers rule may need them for
//!   that kind (the foreign-field rule reads ownership from the dry-run result, which has it).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::{StreamExt, stream};
use serde_json::Value;

use crate::cluster::{Cluster, KindRead, LiveCache, WatchSpec};
use crate::config::EnvConfig;
use crate::diff::{self, DiffOptions, Predicted};
use crate::health;
use crate::model::{
    Drift, EnvState, Health, HealthCode, IgnoreRule, Manifest, ResourceKey, ResourceRow,
    SyncStatus, worst_health,
};

use super::Desired;
use super::stamping::{Prediction, predict_one};

// Re-exported for `controller`'s public surface (controller/mod.rs); in-crate code imports
// these from `crate::model`.
pub use crate::model::{ENV_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, REVISION_ANNOTATION};

/// Dry-run applies in flight per env.
const DRY_RUN_CONCURRENCY: usize = 16;
/// Kinds listed at once by [`list_live`]: over a slow link a cold observation of the demo's 16
/// kinds one after another cost 16 round trips before the first diff.
const LIST_CONCURRENCY: usize = 8;

/// Kinds always searched for prune candidates, besides the ones Git has now, as (group, kind):
/// the version is the one the cluster serves ([`prune_kinds`]).
pub const PRUNE_KINDS: &[(&str, &str)] = &[
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "Ingress"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
];

/// The prune-candidate kinds this cluster serves, as (apiVersion, kind) at the version
/// discovery prefers; kinds it does not serve are left out. Discovery is cached per cluster
/// (`cluster::SERVED_TTL`), so repeated observations cost no requests.
pub async fn prune_kinds(
    cluster: &Cluster,
) -> Result<Vec<(String, String)>, crate::cluster::Error> {
    cluster.served_versions(PRUNE_KINDS).await
}

/// [`prune_kinds`] without a request: the last discovery's answer at any age, or `None` yet
/// (the first observation discovers; the watches that follow it use the answer).
pub fn prune_kinds_cached(cluster: &Cluster) -> Option<Vec<(String, String)>> {
    cluster.served_last(PRUNE_KINDS)
}

/// The env's static facts, before anything is observed.
pub fn base_state(env: &EnvConfig) -> EnvState {
    let mut state = EnvState::unknown(&env.name);
    state.path = super::env_path(env);
    state.context = env.context.clone();
    state.namespace = env.namespace.clone();
    state.protected = env.protected;
    state.promote_from = env.promote_from.clone();
    state
}

/// Live view of an env's objects, keyed by ResourceKey.
#[derive(Debug, Default)]
pub struct LiveSet {
    pub objects: BTreeMap<ResourceKey, Value>,
    /// Managed by driftdeck for this env but not desired.
    pub extra: Vec<Value>,
    pub pods: Vec<Value>,
    /// Prune-candidate kinds this user may not list (`EnvState::unreadable`).
    pub unreadable: Vec<String>,
}

/// The namespace a desired object lands in: its own, else the env's.
fn target_namespace<'a>(m: &'a Manifest, env: &'a EnvConfig) -> &'a str {
    if m.namespace().is_empty() {
        &env.namespace
    } else {
        m.namespace()
    }
}

/// The desired key a live object answers to: its own, or, for an object in the env's
/// namespace, that of a desired object naming no namespace (module doc).
fn desired_key(
    obj: &Value,
    env_namespace: &str,
    desired: &HashSet<&ResourceKey>,
) -> Option<ResourceKey> {
    let mut key = diff::live_key(obj)?;
    if desired.contains(&key) {
        return Some(key);
    }
    if key.namespace != env_namespace {
        return None;
    }
    key.namespace.clear();
    desired.contains(&key).then_some(key)
}

/// The lists an observation makes: per (apiVersion, kind, namespace), the desired objects
/// that live there — the env's desired kinds plus the served prune kinds (for extras), which
/// may have no desired members.
fn batches<'m>(
    env: &EnvConfig,
    desired: &'m [Manifest],
    prune: &[(String, String)],
) -> BTreeMap<(String, String, String), Vec<&'m Manifest>> {
    let mut wanted: BTreeMap<(String, String, String), Vec<&'m Manifest>> = BTreeMap::new();
    for m in desired {
        wanted
            .entry((
                m.api_version().to_owned(),
                m.kind().to_owned(),
                target_namespace(m, env).to_owned(),
            ))
            .or_default()
            .push(m);
    }
    for (av, kind) in prune {
        // A kind Git has at another version is listed once, at Git's version.
        if desired.iter().any(|m| m.kind() == kind) {
            continue;
        }
        wanted
            .entry((av.clone(), kind.clone(), env.namespace.clone()))
            .or_default();
    }
    wanted
}

/// Whether an `ignore_differences` managers rule may apply to `kind`: then its objects keep
/// their `managedFields`, which the rule reads from live when dry-run is refused.
fn needs_owners(ignore: &[IgnoreRule], kind: &str) -> bool {
    ignore
        .iter()
        .any(|r| !r.managers.is_empty() && (r.kind == "*" || r.kind == kind))
}

/// One list, lean unless field ownership is needed. A prune kind the cluster does not serve
/// or this user may not read is not an error (a desired one is, unless a CRD of the same
/// render defines it: then nothing of it exists yet).
async fn list_kind(
    cluster: &Cluster,
    (av, kind, ns): (&str, &str, &str),
    desired: &[Manifest],
    ignore: &[IgnoreRule],
) -> Result<KindRead, crate::cluster::Error> {
    let listed = if needs_owners(ignore, kind) {
        cluster.list(av, kind, ns, "").await
    } else {
        cluster.list_lean(av, kind, ns, "").await
    };
    let desired_kind = desired.iter().any(|m| m.kind() == kind);
    match listed {
        Ok(items) => Ok(KindRead::Items(items)),
        // A common kind in a version the cluster does not serve (`batch/v1` CronJob on 1.20)
        // is skipped even when Git has the kind in a version it does serve.
        Err(crate::cluster::Error::UnknownKind { .. })
            if !desired
                .iter()
                .any(|m| m.kind() == kind && m.api_version() == av) =>
        {
            Ok(KindRead::Unserved)
        }
        Err(crate::cluster::Error::Api { ref source, .. })
            if !desired_kind && matches!(source, kube::Error::Api(s) if s.code == 403) =>
        {
            let reason = crate::cluster::api_text(source);
            Ok(KindRead::Unreadable(format!("{kind} in {ns}: {reason}")))
        }
        // A custom resource whose CRD is in the same render and not applied yet: Missing.
        Err(crate::cluster::Error::UnknownKind { .. })
            if super::crd_scope(desired, av, kind).is_some() =>
        {
            Ok(KindRead::Items(Vec::new()))
        }
        Err(e) => Err(e),
    }
}

/// Lists what the cluster has for the env's desired kinds (and the common kinds, for extras).
pub async fn list_live(
    cluster: &Cluster,
    env: &EnvConfig,
    desired: &[Manifest],
) -> Result<LiveSet, crate::cluster::Error> {
    let desired_keys: HashSet<&ResourceKey> = desired.iter().map(Manifest::key).collect();
    let mut live = LiveSet::default();
    let prune = prune_kinds(cluster).await?;
    let kinds = batches(env, desired, &prune);
    let ignore = &env.ignore_differences;
    // Named futures collected first, as in `observe`: a closure inside the stream makes the
    // caller's future lose `Send`.
    let lists: Vec<_> = kinds
        .keys()
        .map(|(av, kind, ns)| list_kind(cluster, (av, kind, ns), desired, ignore))
        .collect();
    let reads = stream::iter(lists)
        .buffered(LIST_CONCURRENCY)
        .collect::<Vec<_>>();
    let (reads, pods) = futures::join!(reads, cluster.list_lean("v1", "Pod", &env.namespace, ""));
    for read in reads {
        live.take_kind(read?, env, &desired_keys);
    }
    live.pods = pods?;
    Ok(live)
}

impl LiveSet {
    /// Takes what one list or watch store found for a kind: its objects, or the reason it is
    /// unreadable (an unserved prune kind has nothing to search).
    fn take_kind(&mut self, read: KindRead, env: &EnvConfig, desired_keys: &HashSet<&ResourceKey>) {
        match read {
            KindRead::Items(items) => self.take(items, env, desired_keys),
            KindRead::Unserved => {}
            KindRead::Unreadable(why) => self.unreadable.push(why),
        }
    }

    /// Sorts one kind's listed objects into desired objects and this env's prune candidates.
    fn take(&mut self, items: Vec<Value>, env: &EnvConfig, desired_keys: &HashSet<&ResourceKey>) {
        for obj in items {
            if let Some(key) = desired_key(&obj, &env.namespace, desired_keys) {
                self.objects.insert(key, obj);
            } else if diff::live_key(&obj).is_some() && diff::is_managed(&obj, &env.name) {
                self.extra.push(obj);
            }
        }
    }
}

/// The [`LiveSet`] [`list_live`] would list, read from the env's watch stores without a
/// request; `None` when any kind it needs is not watched, not listed yet or failing, or the
/// prune kinds are not discovered yet (module doc): the caller lists then.
pub fn live_from_cache(
    cache: &LiveCache,
    cluster: &Cluster,
    env: &EnvConfig,
    desired: &[Manifest],
) -> Option<LiveSet> {
    let prune = prune_kinds_cached(cluster)?;
    let desired_keys: HashSet<&ResourceKey> = desired.iter().map(Manifest::key).collect();
    let mut live = LiveSet::default();
    for spec in &kind_specs(env, desired, &prune) {
        live.take_kind(cache.read(spec)?, env, &desired_keys);
    }
    match cache.read(&pod_spec(env))? {
        KindRead::Items(items) => live.pods = items,
        KindRead::Unserved | KindRead::Unreadable(_) => return None,
    }
    Some(live)
}

/// Where a [`LiveSet`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveSource {
    /// The env's watch stores: no request.
    Watch,
    /// Listed from the API server.
    Listed,
}

/// The env's [`LiveSet`]: from the watch stores when they can stand for a list, else listed
/// (module doc). The one read the driver's observation, validation and prune share.
pub async fn read_live(
    cache: Option<&LiveCache>,
    cluster: &Cluster,
    env: &EnvConfig,
    desired: &[Manifest],
) -> Result<(LiveSet, LiveSource), crate::cluster::Error> {
    if let Some(live) = cache.and_then(|c| live_from_cache(c, cluster, env, desired)) {
        return Ok((live, LiveSource::Watch));
    }
    Ok((list_live(cluster, env, desired).await?, LiveSource::Listed))
}

/// What the driver watches so it re-observes on change instead of polling: the same
/// (kind, namespace) pairs [`list_live`] lists, plus the env's Pods. Common kinds Git does not
/// have are watched only through driftdeck's tracking label (they matter only as prune
/// candidates) and may be absent from the cluster. The prune kinds are those the last
/// discovery of `cluster` found (none before the first observation, which discovers).
pub fn watch_specs(cluster: &Cluster, env: &EnvConfig, desired: &[Manifest]) -> Vec<WatchSpec> {
    let prune = prune_kinds_cached(cluster).unwrap_or_default();
    let mut specs = kind_specs(env, desired, &prune);
    specs.push(pod_spec(env));
    specs
}

/// The kinds of [`watch_specs`] for known prune kinds, without the env's Pods.
fn kind_specs(env: &EnvConfig, desired: &[Manifest], prune: &[(String, String)]) -> Vec<WatchSpec> {
    let tracked = format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}");
    batches(env, desired, prune)
        .into_iter()
        .map(|((api_version, kind, namespace), members)| WatchSpec {
            keep_owners: needs_owners(&env.ignore_differences, &kind),
            api_version,
            kind,
            namespace,
            label_selector: members.is_empty().then(|| tracked.clone()),
            optional: members.is_empty(),
        })
        .collect()
}

/// The watch of the env's Pods.
fn pod_spec(env: &EnvConfig) -> WatchSpec {
    WatchSpec {
        api_version: "v1".into(),
        kind: "Pod".into(),
        namespace: env.namespace.clone(),
        label_selector: None,
        optional: false,
        keep_owners: false,
    }
}

/// One dry-run job of [`predict`]: a boxed `Send` future, so the stream of them is `Send` for
/// every lifetime (closure-made futures under `buffer_unordered` are not, a rustc limitation
/// that kept the old monitor from being spawned).
type DryRun<'a> = Pin<
    Box<dyn Future<Output = (ResourceKey, Result<Prediction, crate::cluster::Error>)> + Send + 'a>,
>;

async fn dry_run_keyed(
    cluster: &Cluster,
    env: &EnvConfig,
    revision: &str,
    m: &Manifest,
) -> (ResourceKey, Result<Prediction, crate::cluster::Error>) {
    let result = predict_one(cluster, env, revision, m).await;
    (m.key().clone(), result)
}

/// Server-side dry-run results for the desired objects that exist live, each sent exactly as a
/// sync would send it ([`super::stamping`]).
pub async fn predict(
    cluster: &Cluster,
    env: &EnvConfig,
    desired: &Desired,
    live: &LiveSet,
) -> HashMap<ResourceKey, Prediction> {
    predict_where(cluster, env, desired, |key| live.objects.contains_key(key)).await
}

/// [`predict`] for the desired objects whose key `wanted` accepts.
pub async fn predict_where(
    cluster: &Cluster,
    env: &EnvConfig,
    desired: &Desired,
    wanted: impl Fn(&ResourceKey) -> bool,
) -> HashMap<ResourceKey, Prediction> {
    let revision = desired.revision.sha.as_str();
    let jobs: Vec<DryRun<'_>> = desired
        .rendered
        .manifests
        .iter()
        .filter(|m| wanted(m.key()))
        .map(|m| -> DryRun<'_> { Box::pin(dry_run_keyed(cluster, env, revision, m)) })
        .collect();
    let results: Vec<_> = stream::iter(jobs)
        .buffer_unordered(DRY_RUN_CONCURRENCY)
        .collect()
        .await;
    let mut out = HashMap::new();
    for (key, result) in results {
        match result {
            Ok(obj) => {
                out.insert(key, obj);
            }
            Err(e) => tracing::debug!("dry-run refused for {key}, comparing fields Git sets: {e}"),
        }
    }
    out
}

pub fn diff_options(env: &EnvConfig) -> DiffOptions {
    DiffOptions {
        ignore: env.ignore_differences.clone(),
    }
}

/// Fills drift, resources, health and pods of `state` from one observation.
pub fn assess(
    state: &mut EnvState,
    env: &EnvConfig,
    desired: &Desired,
    live: &LiveSet,
    predicted: &HashMap<ResourceKey, Prediction>,
) {
    let opts = diff_options(env);
    let manifests = &desired.rendered.manifests;
    // Compared in place, borrowing live objects and dry-run results: no copy of either.
    let mut drift = Vec::new();
    for m in manifests {
        match live.objects.get(m.key()) {
            None => drift.push(diff::missing(m)),
            Some(obj) => {
                let p = predicted
                    .get(m.key())
                    .map_or(Predicted::Unavailable, Prediction::as_predicted);
                drift.extend(diff::compare(m, obj, p, &opts));
            }
        }
    }
    let desired_keys: HashSet<&ResourceKey> = manifests.iter().map(Manifest::key).collect();
    for obj in &live.extra {
        if diff::live_key(obj).is_some()
            && desired_key(obj, &env.namespace, &desired_keys).is_none()
        {
            drift.extend(diff::extra(obj));
        }
    }
    diff::sort_drift(&mut drift);
    summarize(state, desired, drift, |key| {
        live.objects.get(key).map(health::assess)
    });
    state.pods = live.pods.iter().map(health::pod_row).collect();
    state.images = live
        .objects
        .values()
        .filter_map(crate::model::workload_images)
        .collect();
    degrade_for_pods(state);
    state.unreadable.clone_from(&live.unreadable);
    if state.synced_revision.is_none() {
        state.synced_revision = agreed_revision(live);
    }
}

/// A crash-looping pod makes the env Degraded at once: a Deployment rolling out to a bad
/// image reads Progressing until its progress deadline (10 min by default), but the operator
/// must see the failure now. The message names the first such pod.
fn degrade_for_pods(state: &mut EnvState) {
    if state.health.code >= HealthCode::Degraded {
        return;
    }
    if let Some(pod) = state.pods.iter().find(|p| p.health == HealthCode::Degraded) {
        let reason = if pod.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", pod.reason)
        };
        state.health = Health::new(
            HealthCode::Degraded,
            format!("pod {} {}{reason}", pod.name, pod.status),
        );
    }
}

/// Sync, resource rows, env health and revision from the env's drift (sorted) and each
/// desired object's health (`None`: not live).
fn summarize(
    state: &mut EnvState,
    desired: &Desired,
    drift: Vec<Drift>,
    health_of: impl Fn(&ResourceKey) -> Option<Health>,
) {
    state.drift = drift;
    state.sync = if state.drift.is_empty() {
        SyncStatus::Synced
    } else {
        SyncStatus::OutOfSync
    };
    let drifted: BTreeSet<&ResourceKey> = state.drift.iter().map(|d| &d.key).collect();
    state.resources = desired
        .rendered
        .manifests
        .iter()
        .map(|m| {
            let health = health_of(m.key())
                .unwrap_or_else(|| Health::new(HealthCode::Missing, "not in the cluster"));
            let sync = if drifted.contains(m.key()) {
                SyncStatus::OutOfSync
            } else {
                SyncStatus::Synced
            };
            ResourceRow {
                key: m.key().clone(),
                sync,
                health,
            }
        })
        .collect();
    let worst = worst_health(state.resources.iter().map(|r| r.health.code));
    let message = state
        .resources
        .iter()
        .filter(|r| r.health.code == worst && worst != HealthCode::Healthy)
        .map(|r| format!("{}: {}", r.key, r.health.message))
        .next()
        .unwrap_or_default();
    state.health = Health::new(worst, message);
    state.revision = Some(desired.revision.sha.clone());
}

/// The `driftdeck.io/revision` all live desired objects carry, when they agree.
fn agreed_revision(live: &LiveSet) -> Option<String> {
    let mut agreement = Agreement::default();
    for obj in live.objects.values() {
        agreement.see(obj);
    }
    agreement.revision()
}

/// Whether the live desired objects seen so far agree on their revision annotation.
#[derive(Debug, Default)]
enum Agreement {
    #[default]
    Nothing,
    All(String),
    Disagree,
}

impl Agreement {
    fn see(&mut self, obj: &Value) {
        let seen = obj["metadata"]["annotations"][REVISION_ANNOTATION].as_str();
        *self = match (std::mem::take(self), seen) {
            (Agreement::Nothing, Some(r)) => Agreement::All(r.to_owned()),
            (Agreement::All(r), Some(s)) if r == s => Agreement::All(r),
            _ => Agreement::Disagree,
        };
    }

    fn revision(self) -> Option<String> {
        match self {
            Agreement::All(r) => Some(r),
            Agreement::Nothing | Agreement::Disagree => None,
        }
    }
}

/// One prediction (stamped dry-run apply, defaults when needed), carrying its pair along.
async fn dry_run<'a>(
    cluster: &Cluster,
    env: &EnvConfig,
    revision: &str,
    m: &'a Manifest,
    obj: &'a Value,
) -> (
    &'a Manifest,
    &'a Value,
    Result<Prediction, crate::cluster::Error>,
) {
    (m, obj, predict_one(cluster, env, revision, m).await)
}

/// A full cold observation: per (kind, namespace), list, dry-run and compare, keeping only
/// the drift and each object's health (module doc). Errors land in `state.error`.
pub async fn observe(
    state: &mut EnvState,
    env: &EnvConfig,
    desired: &Desired,
    cluster: &Arc<Cluster>,
) -> Result<(), crate::cluster::Error> {
    let manifests = &desired.rendered.manifests;
    let opts = diff_options(env);
    let desired_keys: HashSet<&ResourceKey> = manifests.iter().map(Manifest::key).collect();
    let mut drift = Vec::new();
    let mut health: HashMap<&ResourceKey, Health> = HashMap::with_capacity(manifests.len());
    let mut agreement = Agreement::default();
    let prune = prune_kinds(cluster).await?;
    let mut unreadable = Vec::new();
    let mut images = BTreeMap::new();
    for ((av, kind, ns), members) in batches(env, manifests, &prune) {
        let read = list_kind(cluster, (&av, &kind, &ns), manifests, &opts.ignore).await?;
        let items = match read {
            KindRead::Items(items) => items,
            KindRead::Unserved => continue,
            KindRead::Unreadable(why) => {
                unreadable.push(why);
                continue;
            }
        };
        let mut live: HashMap<ResourceKey, Value> = HashMap::with_capacity(members.len());
        for obj in items {
            if let Some(key) = desired_key(&obj, &env.namespace, &desired_keys) {
                live.insert(key, obj);
            } else if diff::live_key(&obj).is_some() && diff::is_managed(&obj, &env.name) {
                drift.extend(diff::extra(&obj));
            }
        }
        let mut present = Vec::with_capacity(members.len());
        for m in members {
            match live.get(m.key()) {
                Some(obj) => {
                    health.insert(m.key(), health::assess(obj));
                    agreement.see(obj);
                    images.extend(crate::model::workload_images(obj));
                    present.push((m, obj));
                }
                None => drift.push(diff::missing(m)),
            }
        }
        // Named futures collected first: a closure returning an async block inside the stream
        // makes the observation's future lose `Send` (higher-ranked lifetime inference).
        let dry_runs: Vec<_> = present
            .iter()
            .map(|&(m, obj)| dry_run(cluster, env, &desired.revision.sha, m, obj))
            .collect();
        let mut dry_runs = stream::iter(dry_runs).buffer_unordered(DRY_RUN_CONCURRENCY);
        // Each result is compared as it arrives and dropped: never all of them at once.
        while let Some((m, obj, result)) = dry_runs.next().await {
            let predicted = match &result {
                Ok(p) => p.as_predicted(),
                Err(e) => {
                    let key = m.key();
                    tracing::debug!("dry-run refused for {key}, comparing fields Git sets: {e}");
                    Predicted::Unavailable
                }
            };
            drift.extend(diff::compare(m, obj, predicted, &opts));
        }
    }
    let pods = cluster.list_lean("v1", "Pod", &env.namespace, "").await?;
    diff::sort_drift(&mut drift);
    summarize(state, desired, drift, |key| health.get(key).cloned());
    state.pods = pods.iter().map(health::pod_row).collect();
    state.images = images;
    degrade_for_pods(state);
    state.unreadable = unreadable;
    if state.synced_revision.is_none() {
        state.synced_revision = agreement.revision();
    }
    state.observed_at = Some(jiff::Timestamp::now());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(revision: Option<&str>) -> Value {
        match revision {
            Some(r) => json!({"metadata": {"annotations": {REVISION_ANNOTATION: r}}}),
            None => json!({"metadata": {}}),
        }
    }

    fn agreed(objects: &[Value]) -> Option<String> {
        let mut agreement = Agreement::default();
        for o in objects {
            agreement.see(o);
        }
        agreement.revision()
    }

    /// Compile-time: the driver may spawn an observation on the multi-threaded runtime.
    #[allow(dead_code)]
    fn observe_is_send(
        state: &mut EnvState,
        env: &EnvConfig,
        desired: &Desired,
        cluster: &Arc<Cluster>,
    ) {
        fn send<T: Send>(_: &T) {}
        send(&observe(state, env, desired, cluster));
    }

    #[test]
    fn the_synced_revision_is_the_one_every_live_object_carries() {
        assert_eq!(
            agreed(&[at(Some("abc")), at(Some("abc"))]),
            Some("abc".to_owned())
        );
        assert_eq!(agreed(&[at(Some("abc")), at(Some("def"))]), None);
        assert_eq!(agreed(&[at(Some("abc")), at(None)]), None);
        assert_eq!(agreed(&[at(None), at(Some("abc"))]), None);
        assert_eq!(agreed(&[]), None);
    }

    #[test]
    fn a_live_object_in_the_envs_namespace_pairs_with_git_naming_no_namespace() {
        let cm = |ns: &str| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "settings", "namespace": ns}})
        };
        let bare = ResourceKey::new("", "ConfigMap", "", "settings");
        let own = ResourceKey::new("", "ConfigMap", "other", "settings");
        let desired: HashSet<&ResourceKey> = [&bare, &own].into_iter().collect();
        assert_eq!(
            desired_key(&cm("shop"), "shop", &desired),
            Some(bare.clone())
        );
        assert_eq!(
            desired_key(&cm("other"), "shop", &desired),
            Some(own.clone())
        );
        assert_eq!(desired_key(&cm("third"), "shop", &desired), None);
        let only_own: HashSet<&ResourceKey> = [&own].into_iter().collect();
        assert_eq!(desired_key(&cm("shop"), "shop", &only_own), None);
    }

    #[test]
    fn owners_are_kept_only_for_kinds_a_managers_rule_may_cover() {
        let rule = |kind: &str, managers: &[&str]| IgnoreRule {
            kind: kind.to_owned(),
            managers: managers.iter().map(|m| (*m).to_owned()).collect(),
            ..IgnoreRule::default()
        };
        let rules = [rule("Deployment", &["hpa"]), rule("*", &[])];
        assert!(needs_owners(&rules, "Deployment"));
        assert!(!needs_owners(&rules, "ConfigMap"));
        let any = [rule("*", &["istio"])];
        assert!(needs_owners(&any, "Service"));
    }
}
