//! Taking over fields from other managers before a sync applies an object, so that a sync
//! removes every drift the diff reports.
//!
//! A forced server-side apply takes the fields it sets from whoever held them, but leaves
//! alone the fields it does not set: an env var added with `kubectl set env`, a probe an
//! earlier `kubectl apply --server-side` owns and Git has since dropped, the server defaults a
//! `kubectl create` or a client-side `kubectl apply` is credited with. So, like Flux does for
//! `kubectl-client-side-apply` and `before-first-apply`, driftdeck first rewrites the object's
//! `managedFields`: every entry [`diff::taken_over`] names (any `Apply` or `Update` manager of
//! the object itself except driftdeck and the cluster's own components `kube-*`/`kubelet`; never
//! a subresource writer) is folded into driftdeck's own `Apply` entry. The apply that follows
//! owns those fields alone and, not setting them, removes them; the server then re-defaults what
//! it defaults. The diff uses the same predicate, so what it shows is what this sync does, and
//! self-heal converges in one operation instead of re-applying a change that never lands.
//!
//! May import model, diff, cluster. Decisions: the rewrite is one JSON merge patch of
//! `metadata.managedFields` carrying the object's `resourceVersion`, so a concurrent write makes
//! it fail with 409 instead of losing that writer's ownership; it is then re-read and retried a
//! few times. Status fields are never folded in (a main-resource apply cannot change them), nor
//! fields the server allocated and refuses to unset (`diff::split_allocated`: a Service's
//! cluster IPs and node ports), which stay with the manager that holds them.
//! Nothing is sent when no entry is taken over, so the steady state costs no request.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Map, Value, json};

use crate::cluster::{self, Cluster};
use crate::diff;

/// Attempts when a concurrent write moves the object between the read and the rewrite.
const ATTEMPTS: u32 = 3;

/// The managedFields list with the taken-over entries folded into driftdeck's Apply entry, or
/// `None` when no entry is taken over. `api_version` labels a new driftdeck entry.
pub fn folded_entries(live: &Value, api_version: &str) -> Option<Vec<Value>> {
    let entries = live["metadata"]["managedFields"].as_array()?;
    if !entries.iter().any(diff::taken_over) {
        return None;
    }
    let ours = |e: &Value| {
        e["manager"].as_str() == Some(cluster::FIELD_MANAGER)
            && e["operation"].as_str() == Some("Apply")
            && e["subresource"].as_str().is_none_or(str::is_empty)
    };
    let kind = live["kind"].as_str().unwrap_or_default();
    let mut fields = Value::Object(Map::new());
    let mut own_version = None;
    let mut kept = Vec::new();
    for e in entries {
        if ours(e) {
            own_version = e["apiVersion"].as_str().map(str::to_owned);
            merge(&mut fields, &e["fieldsV1"]);
        } else if diff::taken_over(e) {
            // What the server allocated and will not let driftdeck unset stays with its holder.
            let (moved, held) = diff::split_allocated(kind, &e["fieldsV1"]);
            merge(&mut fields, &moved);
            if held.as_object().is_some_and(|h| !h.is_empty()) {
                let mut rest = e.clone();
                rest["fieldsV1"] = held;
                kept.push(rest);
            }
        } else {
            kept.push(e.clone());
        }
    }
    if let Some(map) = fields.as_object_mut() {
        map.remove("f:status");
    }
    kept.push(json!({
        "manager": cluster::FIELD_MANAGER,
        "operation": "Apply",
        "apiVersion": own_version.as_deref().unwrap_or(api_version),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        "time": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }));
    Some(kept)
}

/// The union of two `fieldsV1` sets.
fn merge(into: &mut Value, from: &Value) {
    let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) else {
        return;
    };
    for (k, v) in from {
        match into.get_mut(k) {
            Some(existing) => merge(existing, v),
            None => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Folds other managers' entries of the live object into driftdeck's (module doc). `live` is
/// the object as read just before the apply, `managedFields` included. Returns whether the
/// object was rewritten.
pub async fn take_over(cluster: &Cluster, live: &Value) -> Result<bool, cluster::Error> {
    let api_version = live["apiVersion"].as_str().unwrap_or_default().to_owned();
    let kind = live["kind"].as_str().unwrap_or_default().to_owned();
    let name = live["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let namespace = live["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let what = format!("take over fields of {kind}/{name}");
    let resolved = cluster.resolve(&api_version, &kind).await?;
    let api: Api<DynamicObject> = if resolved.namespaced {
        Api::namespaced_with(cluster.client().clone(), &namespace, &resolved.resource)
    } else {
        Api::all_with(cluster.client().clone(), &resolved.resource)
    };
    let mut current = live.clone();
    let mut attempt = 1;
    loop {
        let Some(entries) = folded_entries(&current, &api_version) else {
            return Ok(attempt > 1);
        };
        let patch = json!({"metadata": {
            "resourceVersion": current["metadata"]["resourceVersion"],
            "managedFields": entries,
        }});
        let params = PatchParams {
            field_manager: Some(cluster::FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        match api.patch(&name, &params, &Patch::Merge(&patch)).await {
            Ok(_) => return Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 && attempt < ATTEMPTS => {
                attempt += 1;
                current = match cluster.get(&api_version, &kind, &namespace, &name).await? {
                    Some(fresh) => fresh,
                    None => return Ok(false),
                };
            }
            Err(source) => {
                return Err(cluster::Error::Api {
                    context: cluster.context().to_owned(),
                    what,
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(manager: &str, operation: &str, fields: Value) -> Value {
        json!({"manager": manager, "operation": operation, "apiVersion": "apps/v1",
               "fieldsType": "FieldsV1", "fieldsV1": fields})
    }

    #[test]
    fn other_managers_fold_into_driftdecks_apply_entry_and_controllers_stay() {
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "api", "managedFields": [
            entry("driftdeck", "Apply", json!({"f:spec": {"f:replicas": {}}})),
            entry("kubectl-set", "Update", json!({"f:spec": {"f:template": {"f:spec": {
                "f:containers": {"k:{\"name\":\"api\"}": {"f:env": {}}}}}}})),
            entry("kubectl-client-side-apply", "Update", json!({
                "f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/last-applied-configuration": {}}},
                "f:status": {"f:x": {}}})),
            entry("kube-controller-manager", "Update", json!({"f:status": {"f:replicas": {}}})),
        ]}});
        let folded = folded_entries(&live, "apps/v1").unwrap_or_default();
        let managers: Vec<&str> = folded
            .iter()
            .filter_map(|e| e["manager"].as_str())
            .collect();
        assert_eq!(managers, ["kube-controller-manager", "driftdeck"]);
        let ours = &folded[1]["fieldsV1"];
        assert!(ours["f:spec"].get("f:replicas").is_some());
        assert!(
            ours["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"api\"}"]
                .get("f:env")
                .is_some()
        );
        assert!(
            ours["f:metadata"]["f:annotations"]
                .get("f:kubectl.kubernetes.io/last-applied-configuration")
                .is_some()
        );
        assert!(ours.get("f:status").is_none());
        assert_eq!(folded[1]["operation"], "Apply");
    }

    #[test]
    fn a_service_cluster_ip_stays_with_the_manager_that_sent_it() {
        let live = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api",
            "managedFields": [entry("kubectl-replace", "Update", json!({"f:spec": {
                "f:clusterIP": {}, "f:sessionAffinity": {}}}))]}});
        let folded = folded_entries(&live, "v1").unwrap_or_default();
        assert_eq!(folded.len(), 2, "{folded:?}");
        assert_eq!(folded[0]["manager"], "kubectl-replace");
        assert_eq!(
            folded[0]["fieldsV1"],
            json!({"f:spec": {"f:clusterIP": {}}})
        );
        assert_eq!(
            folded[1]["fieldsV1"],
            json!({"f:spec": {"f:sessionAffinity": {}}})
        );
    }

    #[test]
    fn nothing_to_fold_without_other_managers() {
        let live = json!({"metadata": {"managedFields": [
            entry("driftdeck", "Apply", json!({"f:spec": {}})),
            entry("kube-controller-manager", "Update", json!({"f:status": {}})),
        ]}});
        assert!(folded_entries(&live, "apps/v1").is_none());
    }
}
