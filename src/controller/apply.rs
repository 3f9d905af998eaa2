//! Applying an env's desired set to its cluster: server-side apply (field manager `driftdeck`,
//! conflicts forced — Git wins) of every rendered manifest, in dependency order, each object
//! stamped with driftdeck's tracking label and annotations so `observe` can tell what is
//! managed and at which revision it was applied.
//!
//! May import model, config, cluster (through the controller's own modules). Must not prune,
//! validate health or write cluster-held state: those belong to the reconcile driver (`driver/`).
//!
//! Decisions: all or nothing — the render is first checked for size ([`super::limits`], before
//! any request), then validated whole by server-side dry-run ([`super::preflight`]); one
//! rejection fails the operation naming the object and the server's reason before anything is
//! applied. The env's namespace is created first (unstamped, so it never becomes a prune
//! candidate) when missing and not part of the desired set; "changed" counts objects whose
//! `resourceVersion` moved, read with a `get` before each apply, and a failure carries the
//! count of what did change before it, so history never says "0 changed" after changes; the
//! first failing object stops the apply (later kinds usually depend on earlier ones) and the
//! error names it; each request is retried on a transient answer (503, 429, timeout) by the
//! cluster boundary itself (`cluster::retry_transient`), so one flaky response in a
//! 30-request apply does not cost the whole operation a backoff round. Every object is sent with list-key defaults set ([`super::key_defaults`]) so
//! servers before 1.21 accept ports without `protocol`.
//!
//! Unchanged objects are not written. The annotation `driftdeck.io/revision` records the
//! revision that last *changed* an object, not the last revision synced: the validation's
//! dry-run answer for each object (what the server would make of it, new revision stamped) is
//! compared with the object as read just before its apply ([`unchanged`]: everything an apply
//! can change, field ownership included, the revision annotation and what only the server
//! writes left out). When they are equal and no other manager's fields must be taken over nor
//! dropped structs removed (`takeover`), the object is not sent and does not count as changed,
//! so a promotion that changes one image writes one object and history's "resources changed"
//! says 1. An object the apply would change gets the new revision with its change. The
//! all-or-nothing rule is untouched: every object is still dry-run before anything is applied.
//! The env's synced revision is the one cluster-held state records; the per-object
//! annotations of an env no longer agree after such a sync, so `status` without that state
//! shows no synced revision rather than a guess.
//!
//! Parallel within a stage. The plan is applied stage by stage in [`kind_rank`] order
//! (Namespaces, CRDs, RBAC, config, Services, workloads, the rest); a stage's objects are
//! applied concurrently, at most [`APPLY_CONCURRENCY`] in flight (Argo CD's default), and the
//! next stage starts only when every object of the current one is applied. A failure stops
//! the stage from starting further objects (those in flight finish and are counted), no later
//! stage starts, and the error names the first failed object in apply order. The live state
//! each apply compares with is read by one list per (apiVersion, kind, namespace) holding at
//! least [`LIST_AT`] objects of the plan, one `get` each otherwise; an object whose fields must
//! be taken over is read again just before, since those patches carry its resourceVersion.
//! A sync of 1,000 ConfigMaps into an empty namespace thus costs 1,000 dry-runs, one list and
//! 1,000 applies (see `scripts/sync-scale.sh`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, stream};
use serde_json::{Map, Value};

pub use crate::cluster::retry_transient;
use crate::cluster::{self, ApplyMode, Cluster};
use crate::config::EnvConfig;
use crate::model::{FailureReason, Manifest, ResourceKey};

use super::Desired;
use super::engine::ApplyFailure;
use super::preflight::{self, Planned};
use crate::model::{ENV_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, REVISION_ANNOTATION};

/// Applies in flight within one ordering stage (Argo CD's default of 20).
pub const APPLY_CONCURRENCY: usize = 20;
/// Objects of one (apiVersion, kind, namespace) from which their live state is read with one
/// list instead of one `get` each.
const LIST_AT: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A request failed; `changed` objects were changed before it.
    #[error("env {env}: {source}")]
    Cluster {
        env: String,
        #[source]
        source: cluster::Error,
        changed: usize,
    },
    /// The server's dry-run (or discovery) refused an object of the render.
    #[error("env {env}: {object} rejected by the API server before anything was applied: {reason}")]
    Rejected {
        env: String,
        object: String,
        reason: String,
        changed: usize,
    },
    /// Objects over the API server's size limits; nothing was sent.
    #[error("env {env}: {}", problems.join("; "))]
    TooLarge { env: String, problems: Vec<String> },
}

impl ApplyError {
    pub(super) fn cluster(env: &EnvConfig, source: cluster::Error, changed: usize) -> Self {
        ApplyError::Cluster {
            env: env.name.clone(),
            source,
            changed,
        }
    }

    /// Whether the cluster could not be reached at all (as opposed to refusing an object).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ApplyError::Cluster { source, .. } if source.is_transient())
    }

    /// Objects changed before the failure (what history must record).
    pub fn changed(&self) -> usize {
        match self {
            ApplyError::Cluster { changed, .. } | ApplyError::Rejected { changed, .. } => *changed,
            ApplyError::TooLarge { .. } => 0,
        }
    }

    /// The operation's failure: transient only when the cluster could not be reached.
    pub fn failure(&self) -> ApplyFailure {
        let reason = match self {
            ApplyError::Cluster { source, .. } if source.is_transient() => {
                FailureReason::ClusterUnreachable(source.to_string())
            }
            ApplyError::Cluster { source, .. } => {
                FailureReason::Apply(super::preflight::server_reason(source))
            }
            ApplyError::Rejected { object, reason, .. } => {
                FailureReason::Apply(format!("{object} rejected by the API server: {reason}"))
            }
            ApplyError::TooLarge { problems, .. } => FailureReason::Render(problems.join("; ")),
        };
        ApplyFailure {
            reason,
            transient: self.is_unreachable(),
            changed: self.changed(),
        }
    }
}

/// Rank of a kind in apply order: what others depend on goes first.
pub fn kind_rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        "ServiceAccount" | "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => 2,
        "ConfigMap" | "Secret" => 3,
        "Service" => 4,
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "CronJob" | "Pod" => 5,
        _ => 6,
    }
}

/// `manifests` sorted by [`kind_rank`], keeping the render's order within a rank.
pub fn apply_order(manifests: &[Manifest]) -> Vec<&Manifest> {
    let mut ordered: Vec<&Manifest> = manifests.iter().collect();
    ordered.sort_by_key(|m| kind_rank(m.kind()));
    ordered
}

/// The object as driftdeck applies it: tracking label and annotations set, the env's
/// namespace filled in for a namespaced object that names none, list-key defaults set.
pub fn stamp(obj: &Value, env: &str, revision: &str, namespace: Option<&str>) -> Value {
    let mut out = super::key_defaults::defaulted(obj);
    let Some(root) = out.as_object_mut() else {
        return out;
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Some(meta) = meta.as_object_mut() {
        if let Some(ns) = namespace {
            let empty = meta
                .get("namespace")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty);
            if empty {
                meta.insert("namespace".into(), Value::String(ns.to_owned()));
            }
        }
        set_entry(meta, "labels", MANAGED_BY_LABEL, MANAGED_BY_VALUE);
        set_entry(meta, "annotations", ENV_ANNOTATION, env);
        set_entry(meta, "annotations", REVISION_ANNOTATION, revision);
    }
    out
}

fn set_entry(meta: &mut Map<String, Value>, map: &str, key: &str, value: &str) {
    let slot = meta.entry(map).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Some(m) = slot.as_object_mut() {
        m.insert(key.to_owned(), Value::String(value.to_owned()));
    }
}

/// What [`apply_env`] did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Objects created or with a new `resourceVersion`.
    pub changed: usize,
    /// Per desired object applied or left unchanged (not the Namespaces and CRDs validation
    /// applied first): the `resourceVersion` it is live at and what a dry-run apply of it would
    /// answer there — for `PredictionCache::seed`, so the observation after a sync does not
    /// dry-run the whole render again.
    pub answers: Vec<(ResourceKey, String, Value)>,
}

/// Applies every desired manifest of `env` at `desired.revision`, all or nothing (module
/// doc); returns how many objects changed (created or with a new `resourceVersion`) and what
/// each is live as now. No prune, no validation of health.
pub async fn apply_env(
    cluster: &Cluster,
    env: &EnvConfig,
    desired: &Desired,
) -> Result<Applied, ApplyError> {
    let manifests = &desired.rendered.manifests;
    let problems = super::limits::oversize(manifests);
    if !problems.is_empty() {
        return Err(ApplyError::TooLarge {
            env: env.name.clone(),
            problems,
        });
    }
    let mut changed = 0;
    let declares_namespace = manifests
        .iter()
        .any(|m| m.kind() == "Namespace" && m.name() == env.namespace);
    if !declares_namespace
        && cluster
            .get("v1", "Namespace", "", &env.namespace)
            .await
            .map_err(|e| ApplyError::cluster(env, e, 0))?
            .is_none()
    {
        let ns = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": env.namespace},
        });
        cluster
            .apply(&ns, ApplyMode::Apply)
            .await
            .map_err(|e| ApplyError::cluster(env, e, 0))?;
        changed += 1;
    }
    let plan = preflight::plan(cluster, env, manifests, &desired.revision.sha)
        .await
        .map_err(|e| e.plus(changed))?;
    let early = preflight::validate(cluster, env, &plan)
        .await
        .map_err(|e| e.plus(changed))?;
    changed += early.changed;
    let pending: Vec<usize> = (0..plan.len())
        .filter(|i| !early.applied.contains(i))
        .collect();
    let listed = prefetch(cluster, &plan, &pending)
        .await
        .map_err(|e| ApplyError::cluster(env, e, changed))?;
    let mut answers = Vec::with_capacity(pending.len());
    for stage in stages(&plan, &pending) {
        let (done, failure) = apply_stage(
            cluster,
            env,
            &plan,
            &early.predicted,
            &listed,
            stage,
            &mut answers,
        )
        .await;
        changed += done;
        if let Some(e) = failure {
            return Err(ApplyError::cluster(env, e, changed));
        }
    }
    Ok(Applied { changed, answers })
}

/// Whether the server's dry-run answer `predicted` for an object equals `live` in everything
/// an apply can change (module doc): what only the server writes (`status`, `resourceVersion`,
/// `generation`, `creationTimestamp`, the `time` of field-ownership entries) is left out, and
/// the revision annotation is taken as live has it — so a new revision alone is no change.
/// Field ownership itself is compared: an object whose owned field set would change is sent.
pub fn unchanged(predicted: &Value, live: &Value) -> bool {
    let live_revision = live["metadata"]["annotations"][REVISION_ANNOTATION].as_str();
    comparable(predicted, live_revision) == comparable(live, live_revision)
}

fn comparable(obj: &Value, revision: Option<&str>) -> Value {
    let mut out = obj.clone();
    let Some(root) = out.as_object_mut() else {
        return out;
    };
    root.remove("status");
    if let Some(meta) = root.get_mut("metadata").and_then(Value::as_object_mut) {
        for server_only in ["resourceVersion", "generation", "creationTimestamp"] {
            meta.remove(server_only);
        }
        if let Some(entries) = meta.get_mut("managedFields").and_then(Value::as_array_mut) {
            for entry in entries.iter_mut().filter_map(Value::as_object_mut) {
                entry.remove("time");
            }
        }
        let annotations = meta.get_mut("annotations").and_then(Value::as_object_mut);
        if let (Some(annotations), Some(revision)) = (annotations, revision)
            && annotations.contains_key(REVISION_ANNOTATION)
        {
            annotations.insert(REVISION_ANNOTATION.into(), Value::String(revision.into()));
        }
    }
    out
}

/// The live objects of `pending` read with one list per (apiVersion, kind, namespace) that has
/// at least [`LIST_AT`] of them, by plan index (`None`: not there); the others are read one by
/// one just before their apply (module doc).
async fn prefetch(
    cluster: &Cluster,
    plan: &[Planned],
    pending: &[usize],
) -> Result<HashMap<usize, Option<Value>>, cluster::Error> {
    let mut groups: BTreeMap<(&str, &str, &str), Vec<usize>> = BTreeMap::new();
    for &i in pending {
        let p = &plan[i];
        groups
            .entry((p.api_version(), p.kind(), p.namespace()))
            .or_default()
            .push(i);
    }
    let mut listed = HashMap::new();
    for ((av, kind, ns), members) in groups {
        if members.len() < LIST_AT {
            continue;
        }
        let mut by_name: HashMap<String, Value> = cluster
            .list(av, kind, ns, "")
            .await?
            .into_iter()
            .filter_map(|o| Some((o["metadata"]["name"].as_str()?.to_owned(), o)))
            .collect();
        for i in members {
            listed.insert(i, by_name.remove(plan[i].name()));
        }
    }
    Ok(listed)
}

/// `pending` (indices into the plan, in apply order) cut where the [`kind_rank`] changes: the
/// ordering stages.
fn stages<'a>(plan: &[Planned], pending: &'a [usize]) -> Vec<&'a [usize]> {
    pending
        .chunk_by(|&a, &b| kind_rank(plan[a].kind()) == kind_rank(plan[b].kind()))
        .collect()
}

/// Applies one stage with up to [`APPLY_CONCURRENCY`] requests in flight (module doc): how
/// many objects changed, and the failure of the first object in apply order that failed; each
/// object's answer ([`Applied::answers`]) is added to `answers`. After a failure no further
/// object of the stage starts; those in flight finish and count.
async fn apply_stage(
    cluster: &Cluster,
    env: &EnvConfig,
    plan: &[Planned],
    predicted: &[Option<Value>],
    listed: &HashMap<usize, Option<Value>>,
    stage: &[usize],
    answers: &mut Vec<(ResourceKey, String, Value)>,
) -> (usize, Option<cluster::Error>) {
    let failed = AtomicBool::new(false);
    // Named futures collected first, as in `preflight` (closure-made futures inside the
    // stream lose `Send`).
    let jobs: Vec<_> = stage
        .iter()
        .map(|&i| {
            let before = listed.get(&i).map(Option::as_ref);
            apply_job(
                cluster,
                env,
                &plan[i],
                predicted[i].as_ref(),
                before,
                &failed,
                i,
            )
        })
        .collect();
    let results: Vec<(usize, Option<Result<preflight::Outcome, cluster::Error>>)> =
        stream::iter(jobs)
            .buffer_unordered(APPLY_CONCURRENCY)
            .collect()
            .await;
    let mut changed = 0;
    let mut first: Option<(usize, cluster::Error)> = None;
    for (i, result) in results {
        match result {
            Some(Ok(outcome)) => {
                changed += usize::from(outcome.changed);
                if let Some((rv, answer)) = outcome.answer {
                    answers.push((plan[i].key.clone(), rv, answer));
                }
            }
            Some(Err(e)) if first.as_ref().is_none_or(|(j, _)| i < *j) => first = Some((i, e)),
            Some(Err(_)) | None => {}
        }
    }
    (changed, first.map(|(_, e)| e))
}

async fn apply_job(
    cluster: &Cluster,
    env: &EnvConfig,
    p: &Planned,
    predicted: Option<&Value>,
    before: Option<Option<&Value>>,
    failed: &AtomicBool,
    i: usize,
) -> (usize, Option<Result<preflight::Outcome, cluster::Error>>) {
    if failed.load(Ordering::Relaxed) {
        return (i, None);
    }
    let result = preflight::apply_one(cluster, &p.obj, predicted, before).await;
    match &result {
        Ok(outcome) => {
            tracing::debug!(env = %env.name, object = %p.label, changed = outcome.changed, "applied")
        }
        Err(_) => failed.store(true, Ordering::Relaxed),
    }
    (i, Some(result))
}

impl ApplyError {
    /// The same error counting `more` objects changed before the step that failed.
    fn plus(mut self, more: usize) -> Self {
        match &mut self {
            ApplyError::Cluster { changed, .. } | ApplyError::Rejected { changed, .. } => {
                *changed += more;
            }
            ApplyError::TooLarge { .. } => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(kind: &str, name: &str) -> Manifest {
        Manifest::new(serde_json::json!({
            "apiVersion": "v1", "kind": kind, "metadata": {"name": name}
        }))
        .unwrap()
    }

    #[test]
    fn apply_order_puts_dependencies_first_and_keeps_render_order() {
        let ms = vec![
            manifest("Deployment", "api"),
            manifest("Service", "api"),
            manifest("ConfigMap", "b"),
            manifest("Ingress", "web"),
            manifest("Namespace", "ns"),
            manifest("ConfigMap", "a"),
            manifest("ServiceAccount", "sa"),
        ];
        let order: Vec<String> = apply_order(&ms)
            .iter()
            .map(|m| format!("{}/{}", m.kind(), m.name()))
            .collect();
        assert_eq!(
            order,
            [
                "Namespace/ns",
                "ServiceAccount/sa",
                "ConfigMap/b",
                "ConfigMap/a",
                "Service/api",
                "Deployment/api",
                "Ingress/web"
            ]
        );
    }

    #[test]
    fn a_new_revision_alone_is_no_change_but_content_or_ownership_is() {
        let live = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "resourceVersion": "7",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "annotations": {REVISION_ANNOTATION: "old", ENV_ANNOTATION: "dev"},
                "managedFields": [{"manager": "driftdeck", "operation": "Apply",
                    "time": "2026-01-01T00:00:00Z", "fieldsV1": {"f:data": {"f:v": {}}}}]},
            "data": {"v": "1"}
        });
        let mut predicted = live.clone();
        predicted["metadata"]["annotations"][REVISION_ANNOTATION] = "new".into();
        predicted["metadata"]["managedFields"][0]["time"] = "2026-02-02T00:00:00Z".into();
        assert!(unchanged(&predicted, &live));

        let mut content = predicted.clone();
        content["data"]["v"] = "2".into();
        assert!(!unchanged(&content, &live));

        let mut owned = predicted.clone();
        owned["metadata"]["managedFields"][0]["fieldsV1"] =
            serde_json::json!({"f:data": {"f:v": {}, "f:w": {}}});
        assert!(!unchanged(&owned, &live), "ownership moves are writes");

        let mut untracked = live.clone();
        untracked["metadata"]["annotations"] = serde_json::json!({});
        assert!(
            !unchanged(&predicted, &untracked),
            "an object without driftdeck's stamps gets them"
        );
    }

    #[test]
    fn stamp_sets_tracking_fields_and_fills_namespace_only_when_absent() {
        let obj = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": {"app": "x"}}
        });
        let s = stamp(&obj, "dev", "abc", Some("log-platform"));
        assert_eq!(s["metadata"]["namespace"], "log-platform");
        assert_eq!(s["metadata"]["labels"]["app"], "x");
        assert_eq!(s["metadata"]["labels"][MANAGED_BY_LABEL], MANAGED_BY_VALUE);
        assert_eq!(s["metadata"]["annotations"][ENV_ANNOTATION], "dev");
        assert_eq!(s["metadata"]["annotations"][REVISION_ANNOTATION], "abc");

        let own = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "other"}
        });
        assert_eq!(
            stamp(&own, "dev", "abc", Some("log-platform"))["metadata"]["namespace"],
            "other"
        );
        let cluster_scoped = stamp(&own, "dev", "abc", None);
        assert_eq!(cluster_scoped["metadata"]["namespace"], "other");
    }
}
