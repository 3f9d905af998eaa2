//! Applying an env's desired set to its cluster: server-side apply (field manager `driftdeck`,
//! conflicts forced — Git wins) of every rendered manifest, in dependency order, each object
//! stamped with driftdeck's tracking label and annotations so `observe` can tell what is
//! managed and at which revision it was applied.
//!
//! May import model, config, cluster (through the controller's own modules). Must not prune,
//! validate health or write cluster-held state: those belong to the reconcile driver (`driver/`).
//!
//! Decisions: the env's namespace is created first (unstamped, so it never becomes a prune
//! candidate) when missing and not part of the desired set; "changed" counts objects whose
//! `resourceVersion` moved, read with a `get` before each apply; the first failing object stops
//! the apply (later kinds usually depend on earlier ones) and the error names it; each request
//! is retried a few times on a transient answer (503, timeout) first, so one flaky response in
//! a 30-request apply does not cost the whole operation a backoff round.

use serde_json::{Map, Value};

use crate::cluster::{self, ApplyMode, Cluster};
use crate::config::EnvConfig;
use crate::model::Manifest;

use super::Desired;
use super::observe::{ENV_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, REVISION_ANNOTATION};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("env {env}: {source}")]
    Cluster {
        env: String,
        #[source]
        source: cluster::Error,
    },
}

impl ApplyError {
    /// Whether the cluster could not be reached at all (as opposed to refusing an object).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ApplyError::Cluster { source, .. } if source.is_transient())
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

/// The object as driftdeck applies it: tracking label and annotations set, and the env's
/// namespace filled in for a namespaced object that names none.
pub fn stamp(obj: &Value, env: &str, revision: &str, namespace: Option<&str>) -> Value {
    let mut out = obj.clone();
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

/// Attempts per request on a transient error, and the first pause between them (doubling).
const REQUEST_ATTEMPTS: u32 = 5;
const REQUEST_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// `f()` again while it fails transiently, up to [`REQUEST_ATTEMPTS`] times.
pub async fn retry_transient<T, F, Fut>(mut f: F) -> Result<T, cluster::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, cluster::Error>>,
{
    let mut pause = REQUEST_PAUSE;
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if e.is_transient() && attempt < REQUEST_ATTEMPTS => {
                tracing::debug!("retrying after a transient error: {e}");
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
                attempt += 1;
            }
            result => return result,
        }
    }
}

fn resource_version(obj: &Value) -> Option<&str> {
    obj["metadata"]["resourceVersion"].as_str()
}

/// Applies every desired manifest of `env` at `desired.revision`; returns how many objects
/// changed (created or with a new `resourceVersion`). No prune, no validation.
pub async fn apply_env(
    cluster: &Cluster,
    env: &EnvConfig,
    desired: &Desired,
) -> Result<usize, ApplyError> {
    let err = |source| ApplyError::Cluster {
        env: env.name.clone(),
        source,
    };
    let mut changed = 0;
    let manifests = &desired.rendered.manifests;
    let declares_namespace = manifests
        .iter()
        .any(|m| m.kind() == "Namespace" && m.name() == env.namespace);
    if !declares_namespace
        && retry_transient(|| cluster.get("v1", "Namespace", "", &env.namespace))
            .await
            .map_err(err)?
            .is_none()
    {
        let ns = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": env.namespace},
        });
        retry_transient(|| cluster.apply(&ns, ApplyMode::Apply))
            .await
            .map_err(err)?;
        changed += 1;
    }
    for m in apply_order(manifests) {
        let sha = &desired.revision.sha;
        let obj = retry_transient(|| super::stamping::outgoing(cluster, env, sha, m))
            .await
            .map_err(err)?;
        let target_ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        let before =
            retry_transient(|| cluster.get(m.api_version(), m.kind(), target_ns, m.name()))
                .await
                .map_err(err)?;
        if let Some(live) = &before {
            retry_transient(|| super::takeover::take_over(cluster, live))
                .await
                .map_err(err)?;
        }
        let after = retry_transient(|| cluster.apply(&obj, ApplyMode::Apply))
            .await
            .map_err(err)?;
        let before_rv = before.as_ref().and_then(resource_version);
        if before.is_none() || before_rv != resource_version(&after) {
            changed += 1;
        }
        tracing::debug!(env = %env.name, kind = m.kind(), name = m.name(), "applied");
    }
    Ok(changed)
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
