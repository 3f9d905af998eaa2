//! One observation of one env: desired (from Git) against live (from the cluster) → drift,
//! health, pods and cluster-held state, as a [`model::EnvState`]. Used by `status` and `diff`
//! cold, and by the controller's driver on every change.
//!
//! Decisions:
//! - Live objects are listed per (kind, namespace) rather than fetched one by one: a
//!   1,000-resource env costs a handful of requests.
//! - The predicted object for the diff is a server-side dry-run apply (as a sync would send it),
//!   with a bounded number of requests in flight; a refused dry-run (403/405/422, or a server
//!   that does not support it) falls back to comparing only the fields Git sets.
//! - Extra objects (prune candidates) are found among the kinds Git has now plus a fixed list
//!   of common kinds, filtered by driftdeck's tracking label and env annotation.
//! - The synced revision comes from the cluster-held state; without one, from the revision
//!   annotation the live objects carry when they all agree.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::{StreamExt, stream};
use serde_json::Value;

use crate::cluster::{ApplyMode, Cluster};
use crate::config::EnvConfig;
use crate::diff::{self, DiffOptions, IgnoreRule};
use crate::health;
use crate::model::{
    EnvState, Health, HealthCode, Manifest, ResourceKey, ResourceRow, SyncStatus, worst_health,
};

use super::Desired;

pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "driftdeck";
pub const ENV_ANNOTATION: &str = "driftdeck.io/env";
pub const REVISION_ANNOTATION: &str = "driftdeck.io/revision";

/// Dry-run applies in flight per env.
const DRY_RUN_CONCURRENCY: usize = 16;

/// Kinds always searched for prune candidates, besides the ones Git has now.
const COMMON_KINDS: &[(&str, &str)] = &[
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("networking.k8s.io/v1", "Ingress"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
];

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
}

/// The namespace a desired object lands in: its own, else the env's.
fn target_namespace<'a>(m: &'a Manifest, env: &'a EnvConfig) -> &'a str {
    if m.namespace().is_empty() {
        &env.namespace
    } else {
        m.namespace()
    }
}

/// Lists what the cluster has for the env's desired kinds (and the common kinds, for extras).
pub async fn list_live(
    cluster: &Cluster,
    env: &EnvConfig,
    desired: &[Manifest],
) -> Result<LiveSet, crate::cluster::Error> {
    let mut wanted: BTreeSet<(String, String, String)> = BTreeSet::new();
    for m in desired {
        wanted.insert((
            m.api_version().to_owned(),
            m.kind().to_owned(),
            target_namespace(m, env).to_owned(),
        ));
    }
    for (av, kind) in COMMON_KINDS {
        wanted.insert(((*av).to_owned(), (*kind).to_owned(), env.namespace.clone()));
    }
    let desired_keys: BTreeSet<ResourceKey> = desired.iter().map(|m| m.key().clone()).collect();
    let mut live = LiveSet::default();
    for (av, kind, ns) in &wanted {
        let items = match cluster.list(av, kind, ns, "").await {
            Ok(items) => items,
            // A common kind the cluster does not serve is not an error; a desired one is.
            Err(crate::cluster::Error::UnknownKind { .. })
                if !desired.iter().any(|m| m.kind() == kind) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        for obj in items {
            let Some(key) = diff::live_key(&obj) else {
                continue;
            };
            if desired_keys.contains(&key) {
                live.objects.insert(key, obj);
            } else if diff::is_managed(&obj, &env.name) {
                live.extra.push(obj);
            }
        }
    }
    live.pods = cluster.list("v1", "Pod", &env.namespace, "").await?;
    Ok(live)
}

/// One dry-run job of [`predict`]: a boxed `Send` future, so the stream of them is `Send` for
/// every lifetime (closure-made futures under `buffer_unordered` are not, a rustc limitation
/// that kept the old monitor from being spawned).
type DryRun<'a> =
    Pin<Box<dyn Future<Output = (ResourceKey, Result<Value, crate::cluster::Error>)> + Send + 'a>>;

async fn dry_run(
    cluster: &Cluster,
    m: &Manifest,
) -> (ResourceKey, Result<Value, crate::cluster::Error>) {
    let result = cluster.apply(m.object(), ApplyMode::DryRun).await;
    (m.key().clone(), result)
}

/// Server-side dry-run results for the desired objects that exist live.
pub async fn predict(
    cluster: &Cluster,
    desired: &[Manifest],
    live: &LiveSet,
) -> HashMap<ResourceKey, Value> {
    let jobs: Vec<DryRun<'_>> = desired
        .iter()
        .filter(|m| live.objects.contains_key(m.key()))
        .map(|m| -> DryRun<'_> { Box::pin(dry_run(cluster, m)) })
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
        ignore: env
            .ignore_differences
            .iter()
            .map(|r| IgnoreRule {
                group: r.group.clone(),
                kind: r.kind.clone(),
                name: r.name.clone(),
                namespace: r.namespace.clone(),
                json_pointers: r.json_pointers.clone(),
                managers: r.managers.clone(),
            })
            .collect(),
    }
}

/// Fills drift, resources, health and pods of `state` from one observation.
pub fn assess(
    state: &mut EnvState,
    env: &EnvConfig,
    desired: &Desired,
    live: &LiveSet,
    predicted: &HashMap<ResourceKey, Value>,
) {
    let live_objects: Vec<Value> = live.objects.values().cloned().collect();
    let lookup = |key: &ResourceKey| predicted.get(key).cloned();
    state.drift = diff::diff_sets(
        &desired.rendered.manifests,
        &live_objects,
        &live.extra,
        &lookup,
        &diff_options(env),
    );
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
            let health = match live.objects.get(m.key()) {
                Some(obj) => health::assess(obj),
                None => Health::new(HealthCode::Missing, "not in the cluster"),
            };
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
    state.pods = live.pods.iter().map(health::pod_row).collect();
    state.revision = Some(desired.revision.sha.clone());
    if state.synced_revision.is_none() {
        state.synced_revision = agreed_revision(live);
    }
}

/// The `driftdeck.io/revision` all live desired objects carry, when they agree.
fn agreed_revision(live: &LiveSet) -> Option<String> {
    let mut revisions = live
        .objects
        .values()
        .map(|o| o["metadata"]["annotations"][REVISION_ANNOTATION].as_str());
    let first = revisions.next()??;
    revisions
        .all(|r| r == Some(first))
        .then(|| first.to_owned())
}

/// A full cold observation: list, predict, assess. Errors land in `state.error`.
pub async fn observe(
    state: &mut EnvState,
    env: &EnvConfig,
    desired: &Desired,
    cluster: &Arc<Cluster>,
) -> Result<(), crate::cluster::Error> {
    let live = list_live(cluster, env, &desired.rendered.manifests).await?;
    let predicted = predict(cluster, &desired.rendered.manifests, &live).await;
    assess(state, env, desired, &live, &predicted);
    state.observed_at = Some(jiff::Timestamp::now());
    Ok(())
}
