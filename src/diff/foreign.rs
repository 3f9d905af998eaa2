//! Foreign fields: what other managers hold on a live object that Git does not set, and that
//! a sync therefore changes. driftdeck *takes over* such fields before it applies (the
//! controller's `takeover`, which uses [`taken_over`] from here, so the diff and the sync agree
//! on who is foreign): the managers' `managedFields` entries are merged into driftdeck's own
//! Apply entry, and the apply that follows drops every field Git does not set. The server then
//! defaults what it defaults, so such a field ends at its default value, or is gone when it has
//! none. Pure; imports nothing of the crate; reuses `ignore`'s fieldsV1 parser and matching.
//!
//! Which entries are taken over ([`taken_over`]): every `Apply` or `Update` entry of the object
//! itself (no `subresource`), except driftdeck's own and those of the cluster's own components
//! (managers named `kube-*` or `kubelet`: the Deployment controller's revision annotation, an
//! HPA's `/scale` writes on servers before 1.22, which do not record the subresource). That
//! covers `kubectl-client-side-apply`, `before-first-apply`, `kubectl-create`,
//! `kubectl-replace`, `kubectl` (`apply --server-side`), `kubectl-edit/patch/set/label/annotate`
//! and Helm alike.
//!
//! The rule. A field of the predicted (dry-run) object is *foreign* when ALL of these hold:
//! 1. it is a leaf (or a keyed list element) in the `fieldsV1` of a taken-over entry;
//! 2. no other entry (driftdeck's, a cluster component's, a subresource writer's) owns it or a
//!    field enclosing or inside it: a shared field outlives the takeover;
//! 3. the desired object does not set it (nor an enclosing field);
//! 4. it is not under `status`, nor a field the server allocates and refuses to unset (a
//!    Service's `clusterIP(s)`, `healthCheckNodePort`, port `nodePort`: [`allocated`]), which
//!    the takeover leaves with its holder.
//!
//! A foreign field becomes what the sync leaves: the value the server defaults it to, read from
//! `defaults` (the server's dry-run *create* of the same stamped object, under a generated
//! name), or removed when `defaults` lacks it. So a server default credited to `kubectl create`
//! is no drift (the value comes back), `kubectl set env` is drift (`FOO` is removed), and a
//! default changed by hand (`sessionAffinity: ClientIP`) shows as going back to its default.
//! Without `defaults` (the probe was refused) every foreign field is shown as removed.
//!
//! A keyed list element left holding only its key fields after its owned leaves were removed
//! (the `{name: FOO}` husk of an env var) is removed too, unless the desired object has that
//! element, and so is a list that this leaves empty and Git does not set.
//! `ignore_differences` managers rules are applied after this step to both sides, so they
//! still win.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::ignore::{self, Pattern, Seg};

/// The field manager driftdeck's own applies and dry-runs use.
const DRIFTDECK: &str = "driftdeck";

/// Whether driftdeck takes over the fields of this `managedFields` entry (module doc): an
/// `Apply` or `Update` entry of the object itself by a manager that is neither driftdeck nor
/// a cluster component.
pub fn taken_over(entry: &Value) -> bool {
    let manager = manager_of(entry);
    let operation = entry.get("operation").and_then(Value::as_str);
    matches!(operation, Some("Apply" | "Update"))
        && !subresource(entry)
        && manager != DRIFTDECK
        && !manager.starts_with("kube-")
        && manager != "kubelet"
}

/// Fields the server allocates and will not let a client unset (a Service's cluster IPs and
/// node ports, on 1.20 "primary clusterIP can not be unset") or that its controllers write on
/// the object itself (a ServiceAccount's token `secrets` before 1.24): never taken over, never
/// foreign, whoever holds them (`kubectl replace` must send the clusterIP it read).
pub(crate) fn allocated(kind: &str, pattern: &[Seg]) -> bool {
    let field = |s: &Seg, name: &str| matches!(s, Seg::Field(f) if f == name);
    // Before 1.24 the token controller writes a ServiceAccount's `secrets`; an object that had
    // no managedFields yet credits them to `before-first-apply` on the first apply.
    if kind == "ServiceAccount" {
        return pattern.first().is_some_and(|s| field(s, "secrets"));
    }
    kind == "Service"
        && match pattern {
            [spec, f, ..] if field(spec, "spec") => {
                ["clusterIP", "clusterIPs", "healthCheckNodePort"]
                    .iter()
                    .any(|n| field(f, n))
                    || matches!(pattern, [_, ports, Seg::Keyed(_), node_port]
                        if field(ports, "ports") && field(node_port, "nodePort"))
            }
            _ => false,
        }
}

/// Splits a `fieldsV1` set of an object of `kind` into what a takeover moves to driftdeck and
/// what stays with its holder (the [`allocated`] fields; empty map when there are none).
pub fn split_allocated(kind: &str, fields: &Value) -> (Value, Value) {
    let mut rest = fields.clone();
    let held = split_in(kind, &mut rest, &mut Vec::new()).unwrap_or_default();
    (rest, Value::Object(held))
}

fn split_in(kind: &str, node: &mut Value, prefix: &mut Pattern) -> Option<Map<String, Value>> {
    let map = node.as_object_mut()?;
    let mut held = Map::new();
    let names: Vec<String> = map.keys().cloned().collect();
    for name in names {
        let Some(seg) = segment(&name) else { continue };
        prefix.push(seg);
        if allocated(kind, prefix) {
            if let Some(v) = map.remove(&name) {
                held.insert(name, v);
            }
        } else if let Some(inner) = map.get_mut(&name).and_then(|c| split_in(kind, c, prefix)) {
            held.insert(name, Value::Object(inner));
        }
        prefix.pop();
    }
    (!held.is_empty()).then_some(held)
}

/// One `fieldsV1` key as a pattern segment; `None` for `.`.
fn segment(name: &str) -> Option<Seg> {
    if let Some(field) = name.strip_prefix("f:") {
        Some(Seg::Field(field.to_owned()))
    } else if let Some(json) = name.strip_prefix("k:") {
        serde_json::from_str(json).ok().map(Seg::Keyed)
    } else {
        let json = name.strip_prefix("v:")?;
        serde_json::from_str(json).ok().map(Seg::Item)
    }
}

/// The foreign field patterns of `predicted` (rule 1–4 of the module doc).
fn foreign_patterns(predicted: &Value, desired: &Value) -> Vec<Pattern> {
    let Some(entries) = predicted
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    // Without any taken-over entry, nothing can be foreign: skip parsing the fieldsV1 sets.
    if !entries.iter().any(taken_over) {
        return Vec::new();
    }
    let mut foreign: Vec<Pattern> = Vec::new();
    let mut kept: Vec<Pattern> = Vec::new();
    for entry in entries {
        let patterns = entry
            .get("fieldsV1")
            .map(ignore::field_patterns)
            .unwrap_or_default();
        if taken_over(entry) {
            foreign.extend(patterns);
        } else {
            kept.extend(patterns);
        }
    }
    let kind = desired
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    foreign.retain(|p| {
        let under_status = matches!(p.first(), Some(Seg::Field(f)) if f == "status");
        !(under_status
            || allocated(kind, p)
            || set_in(desired, p)
            || kept.iter().any(|k| overlaps(k, p)))
    });
    foreign
}

/// Whether `predicted` has foreign fields at all: then the caller should fetch the server's
/// defaults for the object (a dry-run create) so [`without_foreign`] can tell a default from a
/// hand edit.
pub(crate) fn has_foreign(predicted: &Value, desired: &Value) -> bool {
    !foreign_patterns(predicted, desired).is_empty()
}

/// `predicted` with its foreign fields as the sync leaves them (module doc). Borrowed when
/// nothing changes — the common case once driftdeck has applied the object — so an in-sync
/// pair costs no copy of the dry-run result.
pub(crate) fn without_foreign<'p>(
    predicted: &'p Value,
    desired: &Value,
    defaults: Option<&Value>,
) -> Cow<'p, Value> {
    let foreign = foreign_patterns(predicted, desired);
    let changes: Vec<(&Pattern, Option<&Value>)> = foreign
        .iter()
        .filter_map(|p| {
            let default = defaults.and_then(|d| element_at(d, p));
            let current = element_at(predicted, p);
            (current.is_some() && current != default).then_some((p, default))
        })
        .collect();
    if changes.is_empty() {
        return Cow::Borrowed(predicted);
    }
    let mut out = predicted.clone();
    for (p, default) in changes {
        match default {
            Some(value) => {
                if let Some(slot) = element_at_mut(&mut out, p) {
                    *slot = value.clone();
                }
            }
            None => {
                ignore::remove(&mut out, p);
                remove_husks(&mut out, desired, p);
            }
        }
    }
    Cow::Owned(out)
}

fn manager_of(entry: &Value) -> &str {
    entry.get("manager").and_then(Value::as_str).unwrap_or("")
}

/// Entries for a subresource (`status`, `scale`) are controllers' writes, never foreign.
fn subresource(entry: &Value) -> bool {
    entry
        .get("subresource")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// Whether one pattern is a prefix of the other: ownership of a field covers what is inside it.
fn overlaps(a: &[Seg], b: &[Seg]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// Whether `obj` has a value at `pattern` (or a non-container value on the way, which sets the
/// whole field atomically).
fn set_in(obj: &Value, pattern: &[Seg]) -> bool {
    let Some((first, rest)) = pattern.split_first() else {
        return true;
    };
    let child = match (obj, first) {
        (Value::Object(map), Seg::Field(name)) => map.get(name),
        (Value::Array(list), Seg::Field(index)) => {
            index.parse::<usize>().ok().and_then(|i| list.get(i))
        }
        (Value::Array(list), seg) => list.iter().find(|e| ignore::matches_element(e, seg)),
        (Value::Object(_), _) => None,
        _ => return true,
    };
    child.is_some_and(|c| set_in(c, rest))
}

/// After `removed` was taken out, drops keyed list elements along its path that now hold only
/// their key fields and that the desired object does not have.
fn remove_husks(obj: &mut Value, desired: &Value, removed: &[Seg]) {
    for end in (1..removed.len()).rev() {
        let prefix = &removed[..end];
        let Some(Seg::Keyed(keys)) = prefix.last() else {
            continue;
        };
        let husk = element_at(obj, prefix)
            .and_then(Value::as_object)
            .is_some_and(|m| m.keys().all(|k| keys.contains_key(k)));
        if husk && !set_in(desired, prefix) {
            ignore::remove(obj, prefix);
            // An emptied list Git does not have goes too, so the diff reads `- env: ...`
            // rather than `+ env: []`.
            let list = &prefix[..end - 1];
            let emptied = element_at(obj, list)
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty);
            if emptied && !list.is_empty() && !set_in(desired, list) {
                ignore::remove(obj, list);
            }
        }
    }
}

fn element_at<'a>(obj: &'a Value, pattern: &[Seg]) -> Option<&'a Value> {
    let Some((first, rest)) = pattern.split_first() else {
        return Some(obj);
    };
    let child = match (obj, first) {
        (Value::Object(map), Seg::Field(name)) => map.get(name),
        (Value::Array(list), seg) => list.iter().find(|e| ignore::matches_element(e, seg)),
        _ => None,
    }?;
    element_at(child, rest)
}

fn element_at_mut<'a>(obj: &'a mut Value, pattern: &[Seg]) -> Option<&'a mut Value> {
    let Some((first, rest)) = pattern.split_first() else {
        return Some(obj);
    };
    let child = match (obj, first) {
        (Value::Object(map), Seg::Field(name)) => map.get_mut(name),
        (Value::Array(list), seg) => list.iter_mut().find(|e| ignore::matches_element(e, seg)),
        _ => None,
    }?;
    element_at_mut(child, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(manager: &str, operation: &str, fields: Value) -> Value {
        json!({"manager": manager, "operation": operation, "apiVersion": "apps/v1",
               "fieldsType": "FieldsV1", "fieldsV1": fields})
    }

    fn git_fields() -> Value {
        json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"api\"}": {".": {}, "f:name": {}, "f:image": {}}}}}}})
    }

    fn desired() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "log-api", "namespace": "log-platform"},
               "spec": {"replicas": 1, "template": {"spec": {"containers": [
                   {"name": "api", "image": "api:1"}]}}}})
    }

    fn predicted(managed: Vec<Value>) -> Value {
        let mut p = desired();
        p["metadata"]["managedFields"] = Value::Array(managed);
        p["spec"]["revisionHistoryLimit"] = json!(10);
        p["spec"]["template"]["spec"]["containers"][0]["env"] =
            json!([{"name": "FOO", "value": "bar"}]);
        p["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
        p
    }

    fn set_env() -> Value {
        entry(
            "kubectl-set",
            "Update",
            json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"api\"}": {"f:env": {".": {}, "k:{\"name\":\"FOO\"}": {
                ".": {}, "f:name": {}, "f:value": {}}}}}}}}}),
        )
    }

    #[test]
    fn an_env_var_added_by_hand_is_removed_with_its_element() {
        let p = predicted(vec![
            entry("kubectl", "Apply", git_fields()),
            entry(DRIFTDECK, "Apply", git_fields()),
            set_env(),
        ]);
        let out = without_foreign(&p, &desired(), None);
        let api = &out["spec"]["template"]["spec"]["containers"][0];
        assert!(api.get("env").is_none(), "{out}");
        // Defaults nobody owns stay.
        assert_eq!(api["imagePullPolicy"], "IfNotPresent");
        assert_eq!(out["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(api["image"], "api:1");
    }

    #[test]
    fn fields_git_sets_or_driftdeck_owns_stay() {
        let mut d = desired();
        d["spec"]["template"]["spec"]["containers"][0]["env"] =
            json!([{"name": "FOO", "value": "git"}]);
        let p = predicted(vec![entry(DRIFTDECK, "Apply", git_fields()), set_env()]);
        let out = without_foreign(&p, &d, None);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
            "bar"
        );
    }

    #[test]
    fn an_earlier_apply_is_taken_over_but_controllers_and_subresource_writers_are_not() {
        // `kubectl apply --server-side` once applied a livenessProbe Git has since dropped.
        let mut fields = git_fields();
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"api\"}"]["f:livenessProbe"] =
            json!({});
        let mut hpa = entry(
            "horizontal-pod-autoscaler",
            "Update",
            json!({"f:spec": {"f:revisionHistoryLimit": {}}}),
        );
        hpa["subresource"] = json!("scale");
        let controller = entry(
            "kube-controller-manager",
            "Update",
            json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"api\"}": {"f:imagePullPolicy": {}}}}}}}),
        );
        let mut p = predicted(vec![entry("kubectl", "Apply", fields), hpa, controller]);
        p["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] = json!({"exec": {}});
        let out = without_foreign(&p, &desired(), None);
        let api = &out["spec"]["template"]["spec"]["containers"][0];
        assert!(api.get("livenessProbe").is_none(), "{out}");
        assert_eq!(api["imagePullPolicy"], "IfNotPresent");
        assert_eq!(out["spec"]["revisionHistoryLimit"], 10);
    }

    #[test]
    fn a_default_credited_to_the_creator_stays_and_a_changed_default_goes_back() {
        let create = entry(
            "kubectl-create",
            "Update",
            json!({"f:spec": {"f:revisionHistoryLimit": {}, "f:template": {"f:spec": {
                "f:containers": {"k:{\"name\":\"api\"}": {"f:imagePullPolicy": {}}}}}}}),
        );
        let p = predicted(vec![
            entry(DRIFTDECK, "Apply", git_fields()),
            create.clone(),
        ]);
        let mut defaults = desired();
        defaults["spec"]["revisionHistoryLimit"] = json!(10);
        defaults["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] =
            json!("IfNotPresent");
        assert!(matches!(
            without_foreign(&p, &desired(), Some(&defaults)),
            Cow::Borrowed(_)
        ));
        let mut patched = predicted(vec![entry(DRIFTDECK, "Apply", git_fields()), create]);
        patched["spec"]["revisionHistoryLimit"] = json!(3);
        let out = without_foreign(&patched, &desired(), Some(&defaults));
        assert_eq!(out["spec"]["revisionHistoryLimit"], 10);
        // Without the probe's answer a foreign field can only be shown as removed.
        let blind = without_foreign(&patched, &desired(), None);
        assert!(blind["spec"].get("revisionHistoryLimit").is_none());
    }

    #[test]
    fn an_update_manager_is_foreign_even_when_it_also_changed_git_fields() {
        // `kubectl set image` then `kubectl set env`: one kubectl-set entry owns both.
        let mut both = set_env();
        both["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"api\"}"]
            ["f:image"] = json!({});
        let p = predicted(vec![entry(DRIFTDECK, "Apply", git_fields()), both]);
        let out = without_foreign(&p, &desired(), None);
        assert!(
            out["spec"]["template"]["spec"]["containers"][0]
                .get("env")
                .is_none()
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["image"],
            "api:1"
        );
    }

    #[test]
    fn a_service_cluster_ip_sent_by_kubectl_replace_is_not_foreign() {
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
            "spec": {"ports": [{"port": 80, "protocol": "TCP"}]}});
        let mut p = svc.clone();
        p["spec"]["clusterIP"] = json!("10.0.0.7");
        p["spec"]["ports"][0]["nodePort"] = json!(30080);
        p["metadata"]["managedFields"] = json!([entry(
            "kubectl-replace",
            "Update",
            json!({
            "f:spec": {"f:clusterIP": {}, "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {
                "f:nodePort": {}, "f:port": {}}}}})
        )]);
        assert!(matches!(without_foreign(&p, &svc, None), Cow::Borrowed(_)));
    }

    #[test]
    fn without_managed_fields_nothing_changes() {
        let mut p = predicted(Vec::new());
        if let Some(m) = p["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
        assert_eq!(*without_foreign(&p, &desired(), None), p);
    }
}
