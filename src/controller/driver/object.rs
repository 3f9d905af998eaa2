//! The object views' data (live YAML, desired YAML, describe), fetched for the inspection
//! feeder: the live object by its key (version from discovery), its owner chain by following
//! `ownerReferences` through the API, its events, and the env's render at the env's revision
//! through the same [`desired`](crate::controller::desired::desired) stage `render --env` uses.
//!
//! Decisions: Secret values are masked here ([`crate::diff::mask_secret`]) before anything
//! leaves the controller side, in the live YAML (with and without `managedFields`) and in the
//! desired YAML alike, so no view, search or clipboard can reach a value. The owner chain
//! follows the *controller* reference when there is one (else the first), at most
//! [`MAX_OWNERS`] deep, and stops at an owner it cannot read (named with the reason). One
//! answer per request, no watch: the view asks again on `R` (refresh).

use serde_json::Value;

use crate::cluster::Cluster;
use crate::config::Config;
use crate::controller::desired;
use crate::diff::{mask_secret, to_yaml};
use crate::model::{
    ConditionRow, EventsRequest, Manifest, ObjectDetail, ObjectRequest, ResourceKey,
};

/// How far up the owner chain is followed (Pod → ReplicaSet → Deployment → … ).
pub const MAX_OWNERS: usize = 5;

/// Everything the object views show about `request.key`. Failures are parts of the answer
/// (`live_error`, `desired_error`), never the whole: a render error still shows live YAML.
pub async fn object_detail(
    cluster: &Cluster,
    config: Option<&Config>,
    request: &ObjectRequest,
) -> ObjectDetail {
    let key = &request.key;
    let (live, live_error) = match get_by_key(cluster, key).await {
        Ok(live) => (live, None),
        Err(e) => (None, Some(e)),
    };
    let (desired, desired_error) = match config {
        Some(config) => desired_object(config.clone(), request).await,
        None => (
            None,
            Some("no config: the desired side is unknown".to_owned()),
        ),
    };
    let owners = match &live {
        Some(obj) => owner_chain(cluster, obj, &key.namespace).await,
        None => Vec::new(),
    };
    // Events live in a namespace; a cluster-scoped object's are not looked for.
    let (events, events_error) = if key.namespace.is_empty() {
        (Vec::new(), None)
    } else {
        let request = EventsRequest {
            context: request.context.clone(),
            namespace: key.namespace.clone(),
            object: Some((key.kind.clone(), key.name.clone())),
        };
        match cluster.events(&request).await {
            Ok(rows) => (rows, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        }
    };
    let mut detail = detail_from(live.as_ref(), desired.as_ref(), owners, events);
    detail.live_error = live_error;
    detail.events_error = events_error;
    if detail.desired.is_none() && desired_error.is_some() {
        detail.desired_error = desired_error;
    }
    detail
}

/// The pure part: YAML (Secret-masked, `managedFields` split off) and conditions.
pub fn detail_from(
    live: Option<&Value>,
    desired: Option<&Value>,
    owners: Vec<String>,
    events: Vec<crate::model::EventRow>,
) -> ObjectDetail {
    let live = live.map(mask_secret);
    let lean = live.as_ref().map(|obj| {
        let mut lean = obj.clone();
        if let Some(meta) = lean.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
        }
        to_yaml(&lean)
    });
    ObjectDetail {
        live: lean,
        live_full: live.as_ref().map(to_yaml),
        live_error: None,
        desired: desired.map(|d| to_yaml(&mask_secret(d))),
        desired_error: None,
        conditions: live.as_ref().map(conditions).unwrap_or_default(),
        owners,
        events,
        events_error: None,
    }
}

fn conditions(obj: &Value) -> Vec<ConditionRow> {
    let text = |c: &Value, f: &str| c.get(f).and_then(Value::as_str).unwrap_or("").to_owned();
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| ConditionRow {
                    kind: text(c, "type"),
                    status: text(c, "status"),
                    reason: text(c, "reason"),
                    message: text(c, "message"),
                    last_transition: text(c, "lastTransitionTime"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The live object of `key`, at the version the cluster prefers for its group.
async fn get_by_key(cluster: &Cluster, key: &ResourceKey) -> Result<Option<Value>, String> {
    let served = cluster
        .served_versions(&[(key.group.as_str(), key.kind.as_str())])
        .await
        .map_err(|e| e.to_string())?;
    let Some((api_version, _)) = served.into_iter().next() else {
        return Err(format!(
            "{}: kind {} is not served by the cluster",
            cluster.context(),
            key.kind
        ));
    };
    cluster
        .get(&api_version, &key.kind, &key.namespace, &key.name)
        .await
        .map_err(|e| e.to_string())
}

/// `Kind/name` of each owner up the chain, nearest first.
async fn owner_chain(cluster: &Cluster, obj: &Value, namespace: &str) -> Vec<String> {
    let mut chain = Vec::new();
    let mut current = obj.clone();
    while chain.len() < MAX_OWNERS {
        let Some(owner) = controller_owner(&current) else {
            break;
        };
        let field = |f: &str| {
            owner
                .get(f)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (api_version, kind, name) = (field("apiVersion"), field("kind"), field("name"));
        match cluster.get(&api_version, &kind, namespace, &name).await {
            Ok(Some(next)) => {
                chain.push(format!("{kind}/{name}"));
                current = next;
            }
            Ok(None) => {
                chain.push(format!("{kind}/{name} (not found)"));
                break;
            }
            Err(e) => {
                chain.push(format!("{kind}/{name} (cannot read: {e})"));
                break;
            }
        }
    }
    chain
}

/// The reference with `controller: true`, else the first.
fn controller_owner(obj: &Value) -> Option<&Value> {
    let refs = obj.pointer("/metadata/ownerReferences")?.as_array()?;
    refs.iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .or_else(|| refs.first())
}

/// The env's render at the request's revision, and the manifest of `key` in it. Git and the
/// renderer are blocking: run on the blocking pool.
async fn desired_object(
    config: Config,
    request: &ObjectRequest,
) -> (Option<Value>, Option<String>) {
    let request = request.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let Some(env) = config.environments.iter().find(|e| e.name == request.env) else {
            return Err(format!(
                "{}: no such environment in the config",
                request.env
            ));
        };
        let source = desired::open_source(&config).map_err(|e| e.to_string())?;
        let rendered = desired::desired(&source, env, request.revision.as_deref())
            .map_err(|e| e.to_string())?;
        Ok(find(
            &rendered.rendered.manifests,
            &request.key,
            &env.namespace,
        ))
    })
    .await;
    match joined {
        Ok(Ok(Some(obj))) => (Some(obj), None),
        Ok(Ok(None)) => (None, Some("not in Git (no manifest renders it)".to_owned())),
        Ok(Err(e)) => (None, Some(e)),
        Err(e) => (None, Some(format!("render task failed: {e}"))),
    }
}

/// The manifest of `key`; a manifest without a namespace lands in the env's.
fn find(manifests: &[Manifest], key: &ResourceKey, env_namespace: &str) -> Option<Value> {
    manifests
        .iter()
        .find(|m| {
            let k = m.key();
            k.group == key.group
                && k.kind == key.kind
                && k.name == key.name
                && (k.namespace == key.namespace
                    || (k.namespace.is_empty() && key.namespace == env_namespace))
        })
        .map(|m| m.object().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_are_masked_in_live_and_desired_yaml() {
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "shop",
                "managedFields": [{"manager": "kubectl"}]},
            "data": {"password": "aHVudGVyMg=="},
            "stringData": {"token": "s3cr3t-token"}
        });
        let detail = detail_from(Some(&secret), Some(&secret), Vec::new(), Vec::new());
        for text in [&detail.live, &detail.live_full, &detail.desired] {
            let text = text.as_deref().unwrap_or_default();
            assert!(text.contains("password"), "{text}");
            assert!(!text.contains("aHVudGVyMg=="), "{text}");
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains("s3cr3t-token"), "{text}");
        }
    }

    #[test]
    fn managed_fields_are_only_in_the_full_live_yaml() {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "shop",
                "managedFields": [{"manager": "driftdeck", "operation": "Apply"}]},
            "data": {"level": "info"},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Fine"}]}
        });
        let detail = detail_from(Some(&cm), None, Vec::new(), Vec::new());
        assert!(
            !detail
                .live
                .as_deref()
                .unwrap_or("")
                .contains("managedFields")
        );
        assert!(
            detail
                .live_full
                .as_deref()
                .unwrap_or("")
                .contains("managedFields")
        );
        assert_eq!(detail.conditions.len(), 1);
        assert_eq!(detail.conditions[0].kind, "Ready");
        assert_eq!(detail.desired, None);
    }

    #[test]
    fn the_controller_reference_is_followed_before_others() {
        let pod = json!({"metadata": {"ownerReferences": [
            {"apiVersion": "v1", "kind": "Node", "name": "n1"},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-7f9", "controller": true}
        ]}});
        let owner = controller_owner(&pod).and_then(|o| o.get("name"));
        assert_eq!(owner, Some(&json!("api-7f9")));
    }
}
