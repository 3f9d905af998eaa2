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

use serde_json::{Map, Value};

pub use crate::cluster::retry_transient;
use crate::cluster::{self, ApplyMode, Cluster};
use crate::config::EnvConfig;
use crate::model::{FailureReason, Manifest};

use super::Desired;
use super::engine::ApplyFailure;
use super::observe::{ENV_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, REVISION_ANNOTATION};
use super::preflight;

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

/// Applies every desired manifest of `env` at `desired.revision`, all or nothing (module
/// doc); returns how many objects changed (created or with a new `resourceVersion`). No
/// prune, no validation of health.
pub async fn apply_env(
    cluster: &Cluster,
    env: &EnvConfig,
    desired: &Desired,
) -> Result<usize, ApplyError> {
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
    for (i, p) in plan.iter().enumerate() {
        if early.applied.contains(&i) {
            continue;
        }
        if preflight::apply_one(cluster, &p.obj)
            .await
            .map_err(|e| ApplyError::cluster(env, e, changed))?
        {
            changed += 1;
        }
        tracing::debug!(env = %env.name, object = %p.label, "applied");
    }
    Ok(changed)
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
