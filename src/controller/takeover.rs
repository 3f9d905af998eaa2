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
//!
//! Structs Git dropped. Servers before 1.21 cannot remove a struct through apply
//! (kubernetes#99037, fixed by structured-merge-diff #166 and #184): when Git drops a
//! `livenessProbe` driftdeck applied, they remove only the fields driftdeck owns and keep the
//! defaulted ones (`scheme`, `timeoutSeconds`, …), or leave `{}`, and reject the result
//! ("httpGet.port: Invalid value: 0"). Neither an explicit `null` nor owning the defaulted
//! children changes that. So [`dropped_structs`] finds the struct fields driftdeck's Apply entry
//! (with what a takeover folds into it) owns on the live object that the outgoing object no
//! longer sets, under a parent it still sets, and that no other remaining manager owns anything
//! of; a sync removes them with one JSON patch guarded by a `test` of the `resourceVersion`
//! ([`remove_dropped`]) just before its apply, on every server, so the sandbox and the real
//! server take the same path. A server-side dry-run of the outgoing object is then refused as
//! Invalid on such a server; [`dry_run`] (the observation's and the sync's validation) then
//! dry-runs it with those structs kept as live has them and removes them from the answer, which
//! is what the patch and the apply together produce. That costs one `get` and one more dry-run,
//! only when a dry-run is refused as Invalid. List items Git dropped are left to the apply
//! (they are removed whole on every version); an atomic list is one field and never a struct.

use kube::api::{Patch, PatchParams};
use serde_json::{Map, Value, json};

use crate::cluster::{self, ApplyMode, Cluster};
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
    let api = cluster.dynamic_api(&resolved, &namespace);
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

/// One step of a path through an object, as `managedFields` names it: a field, or the item
/// of an associative list with these key fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Field(String),
    Item(Map<String, Value>),
}

/// The struct fields Git dropped that the apply cannot remove on servers before 1.21 (module
/// doc), as paths through `live`.
pub fn dropped_structs(live: &Value, outgoing: &Value) -> Vec<Vec<Step>> {
    let Some(entries) = live["metadata"]["managedFields"].as_array() else {
        return Vec::new();
    };
    let api_version = live["apiVersion"].as_str().unwrap_or_default();
    let entries = folded_entries(live, api_version).unwrap_or_else(|| entries.clone());
    let ours = |e: &Value| {
        e["manager"].as_str() == Some(cluster::FIELD_MANAGER)
            && e["operation"].as_str() == Some("Apply")
            && e["subresource"].as_str().is_none_or(str::is_empty)
    };
    let mut owned = Value::Object(Map::new());
    let mut others = Vec::new();
    for e in &entries {
        if ours(e) {
            merge(&mut owned, &e["fieldsV1"]);
        } else {
            others.push(&e["fieldsV1"]);
        }
    }
    let mut found = Vec::new();
    walk(&owned, &others, live, outgoing, &mut Vec::new(), &mut found);
    found
}

fn walk(
    owned: &Value,
    others: &[&Value],
    live: &Value,
    out: &Value,
    path: &mut Vec<Step>,
    found: &mut Vec<Vec<Step>>,
) {
    let Some(owned) = owned.as_object() else {
        return;
    };
    for (key, sub) in owned {
        let theirs: Vec<&Value> = others.iter().filter_map(|o| o.get(key)).collect();
        if let Some(name) = key.strip_prefix("f:") {
            let Some(lv) = live.get(name) else {
                continue;
            };
            path.push(Step::Field(name.to_owned()));
            match out.get(name) {
                None if out.is_object() && lv.is_object() && theirs.is_empty() => {
                    found.push(path.clone());
                }
                None => {}
                Some(ov) => walk(sub, &theirs, lv, ov, path, found),
            }
            path.pop();
        } else if let Some(item) = key.strip_prefix("k:") {
            let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(item) else {
                continue;
            };
            let (Some(lv), Some(ov)) = (find_item(live, &keys), find_item(out, &keys)) else {
                continue;
            };
            path.push(Step::Item(keys));
            walk(sub, &theirs, lv.1, ov.1, path, found);
            path.pop();
        }
    }
}

/// The index and element of the list `list` whose fields match `keys`.
fn find_item<'a>(list: &'a Value, keys: &Map<String, Value>) -> Option<(usize, &'a Value)> {
    list.as_array()?
        .iter()
        .enumerate()
        .find(|(_, e)| keys.iter().all(|(k, v)| e.get(k) == Some(v)))
}

/// The JSON pointer of `path` in `doc`, when every step is there.
fn pointer(doc: &Value, path: &[Step]) -> Option<String> {
    let mut at = doc;
    let mut ptr = String::new();
    for step in path {
        match step {
            Step::Field(name) => {
                at = at.get(name)?;
                ptr.push('/');
                ptr.push_str(&name.replace('~', "~0").replace('/', "~1"));
            }
            Step::Item(keys) => {
                let (i, e) = find_item(at, keys)?;
                at = e;
                ptr.push_str(&format!("/{i}"));
            }
        }
    }
    Some(ptr)
}

/// Where `path` ends in `doc`: the parent object and the field name, when the parent is there.
fn parent_mut<'a>(
    doc: &'a mut Value,
    path: &[Step],
) -> Option<(&'a mut Map<String, Value>, String)> {
    let (Step::Field(last), parents) = path.split_last()? else {
        return None;
    };
    let ptr = pointer(doc, parents)?;
    let parent = doc.pointer_mut(&ptr)?.as_object_mut()?;
    Some((parent, last.clone()))
}

/// Removes the structs of [`dropped_structs`] from the live object with one JSON patch
/// guarded by its `resourceVersion` (module doc); returns the object as it is now (`live`
/// itself when nothing was dropped).
pub async fn remove_dropped(
    cluster: &Cluster,
    live: &Value,
    outgoing: &Value,
) -> Result<Value, cluster::Error> {
    let paths: Vec<String> = dropped_structs(live, outgoing)
        .iter()
        .filter_map(|p| pointer(live, p))
        .collect();
    if paths.is_empty() {
        return Ok(live.clone());
    }
    let text = |p: &str| live.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let (api_version, kind, namespace, name) = (
        text("/apiVersion"),
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name"),
    );
    let what = format!("remove {} from {kind}/{name}", paths.join(", "));
    let mut ops = vec![json!({"op": "test", "path": "/metadata/resourceVersion",
        "value": live["metadata"]["resourceVersion"]})];
    ops.extend(paths.iter().map(|p| json!({"op": "remove", "path": p})));
    let patch: json_patch::Patch =
        serde_json::from_value(Value::Array(ops)).map_err(|e| cluster::Error::BadObject {
            what: what.clone(),
            message: e.to_string(),
        })?;
    let resolved = cluster.resolve(api_version, kind).await?;
    let api = cluster.dynamic_api(&resolved, namespace);
    let params = PatchParams {
        field_manager: Some(cluster::FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    let patched = api
        .patch(name, &params, &Patch::<()>::Json(patch))
        .await
        .map_err(|source| cluster.api_error(what.clone(), source))?;
    tracing::info!(object = %format!("{kind}/{name}"), removed = %paths.join(", "), "removed structs Git dropped");
    let mut now = serde_json::to_value(&patched).map_err(|e| cluster::Error::BadObject {
        what,
        message: e.to_string(),
    })?;
    now["apiVersion"] = Value::String(api_version.to_owned());
    now["kind"] = Value::String(kind.to_owned());
    Ok(now)
}

/// The server-side dry-run apply of `obj`; when the server refuses it as Invalid because it
/// cannot remove a struct Git dropped (module doc), the dry-run with those structs kept as
/// live has them, minus those structs.
pub async fn dry_run(cluster: &Cluster, obj: &Value) -> Result<Value, cluster::Error> {
    let first = cluster.apply(obj, ApplyMode::DryRun).await;
    let invalid = matches!(&first, Err(cluster::Error::Api {
        source: kube::Error::Api(status), ..
    }) if status.code == 422);
    if !invalid {
        return first;
    }
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let Some(live) = cluster
        .get(
            text("/apiVersion"),
            text("/kind"),
            text("/metadata/namespace"),
            text("/metadata/name"),
        )
        .await?
    else {
        return first;
    };
    let dropped = dropped_structs(&live, obj);
    if dropped.is_empty() {
        return first;
    }
    let mut kept = obj.clone();
    for path in &dropped {
        let value = pointer(&live, path).and_then(|p| live.pointer(&p)).cloned();
        if let (Some(value), Some((parent, field))) = (value, parent_mut(&mut kept, path)) {
            parent.insert(field, value);
        }
    }
    let mut predicted = cluster.apply(&kept, ApplyMode::DryRun).await?;
    for path in &dropped {
        if let Some((parent, field)) = parent_mut(&mut predicted, path) {
            parent.remove(&field);
        }
    }
    Ok(predicted)
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
    fn a_probe_git_dropped_is_a_dropped_struct_and_a_shared_one_is_not() {
        let container = |probe: bool| {
            let mut c = json!({"name": "api", "image": "nginx"});
            if probe {
                c["livenessProbe"] = json!({"httpGet": {"path": "/", "port": 80, "scheme": "HTTP"}, "timeoutSeconds": 1});
            }
            c
        };
        let owned = json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"api\"}": {".": {}, "f:image": {}, "f:name": {},
                "f:livenessProbe": {"f:httpGet": {"f:path": {}, "f:port": {}}}}}}}}});
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "managedFields": [entry("driftdeck", "Apply", owned.clone())]},
            "spec": {"template": {"spec": {"containers": [{"name": "side"}, container(true)]}}}});
        let outgoing = json!({"spec": {"template": {"spec": {"containers": [container(false)]}}}});
        let dropped = dropped_structs(&live, &outgoing);
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert_eq!(
            pointer(&live, &dropped[0]).as_deref(),
            Some("/spec/template/spec/containers/1/livenessProbe")
        );
        assert!(
            dropped_structs(&live, &live).is_empty(),
            "nothing dropped while Git sets it"
        );
        let mut shared = live.clone();
        shared["metadata"]["managedFields"]
            .as_array_mut()
            .unwrap()
            .push(entry("kube-controller-manager", "Update", owned));
        assert!(
            dropped_structs(&shared, &outgoing).is_empty(),
            "another manager holds part of it"
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
