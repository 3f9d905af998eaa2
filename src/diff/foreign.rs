//! Foreign fields: what another manager added to a live object that Git does not have (an env
//! var from `kubectl set env`, a label from `kubectl patch`). A server-side dry-run apply keeps
//! fields other managers own, so without this step they would be invisible to the dry-run
//! strategy; an SRE expects them as drift, and a sync removes them. Pure; imports nothing of the
//! crate; reuses `ignore`'s fieldsV1 parser and pattern matching.
//!
//! The rule. A field of the predicted (dry-run) object is removed from it — so the diff shows it
//! as removed — when ALL of these hold:
//! 1. it is a leaf (or a keyed list element) in the `fieldsV1` of at least one managedFields
//!    entry, so server defaults (which nobody owns) are never touched;
//! 2. every owner is a *foreign* manager: not `driftdeck`, not a *Git applier* — a manager with
//!    an `Apply` entry that owns some field the desired object sets (`kubectl apply
//!    --server-side -k overlays/dev` before driftdeck took over, or another GitOps tool). A Git
//!    applier's other fields were applied from Git's content too (or injected by admission on
//!    that apply), so they are not hand edits. Imperative edits (`kubectl set/edit/patch/
//!    label`, operation `Update`) are never Git appliers, whatever else they own;
//! 3. the entry is not for a subresource (`status`, `scale`): those are written by controllers
//!    (an HPA scaling through `/scale`, status writers) and are not Git's business;
//! 4. the desired object does not set it (nor an enclosing field);
//! 5. it is not under `status` (normalization drops status anyway).
//!
//! A keyed list element left holding only its key fields after its owned leaves were removed
//! (the `{name: FOO}` husk of an env var) is removed too, unless the desired object has that
//! element, and so is a list that this leaves empty and Git does not set.
//!
//! Known edge: a client-side `kubectl apply` is an `Update` (manager
//! `kubectl-client-side-apply`), so a field a mutating webhook injected on such an apply, and
//! that nobody else owns, shows as drift until driftdeck has applied the object once (its own
//! apply then owns the injected field). `ignore_differences` managers rules are applied after this step to both sides, so
//! they still win.

use std::borrow::Cow;

use serde_json::Value;

use super::ignore::{self, Pattern, Seg};

/// The field manager driftdeck's own applies and dry-runs use.
const DRIFTDECK: &str = "driftdeck";

/// `predicted` without the foreign fields described in the module doc. Borrowed when nothing
/// is foreign — the common case (only driftdeck, a Git applier and subresource writers manage
/// the object) — so an in-sync pair costs no copy of the dry-run result.
pub(crate) fn without_foreign<'p>(predicted: &'p Value, desired: &Value) -> Cow<'p, Value> {
    let Some(entries) = predicted
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
    else {
        return Cow::Borrowed(predicted);
    };
    // Without any manager but driftdeck on the object itself, nothing can be foreign: skip
    // parsing the fieldsV1 sets at all.
    if entries
        .iter()
        .all(|e| subresource(e) || manager_of(e) == DRIFTDECK)
    {
        return Cow::Borrowed(predicted);
    }
    let mut foreign: Vec<Pattern> = Vec::new();
    let mut kept: Vec<Pattern> = Vec::new();
    for entry in entries {
        if subresource(entry) {
            continue;
        }
        let manager = manager_of(entry);
        let patterns = entry
            .get("fieldsV1")
            .map(ignore::field_patterns)
            .unwrap_or_default();
        let applies = entry.get("operation").and_then(Value::as_str) == Some("Apply");
        let git_applier = applies && patterns.iter().any(|p| set_in(desired, p));
        if manager == DRIFTDECK || git_applier {
            kept.extend(patterns);
        } else {
            foreign.extend(patterns);
        }
    }
    foreign.retain(|p| {
        let under_status = matches!(p.first(), Some(Seg::Field(f)) if f == "status");
        !(under_status || set_in(desired, p) || kept.iter().any(|k| overlaps(k, p)))
    });
    if foreign.is_empty() {
        return Cow::Borrowed(predicted);
    }
    let mut out = predicted.clone();
    for p in &foreign {
        ignore::remove(&mut out, p);
        remove_husks(&mut out, desired, p);
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
        let out = without_foreign(&p, &desired());
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
        let out = without_foreign(&p, &d);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
            "bar"
        );
    }

    #[test]
    fn a_git_applier_and_subresource_writers_are_not_foreign() {
        // kubectl applied Git's content and also owns an injected field: not a hand edit.
        let mut fields = git_fields();
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"api\"}"]["f:imagePullPolicy"] =
            json!({});
        let mut hpa = entry(
            "kube-controller-manager",
            "Update",
            json!({"f:spec": {"f:revisionHistoryLimit": {}}}),
        );
        hpa["subresource"] = json!("scale");
        let p = predicted(vec![entry("kubectl", "Apply", fields), hpa]);
        let out = without_foreign(&p, &desired());
        let api = &out["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(api["imagePullPolicy"], "IfNotPresent");
        assert_eq!(out["spec"]["revisionHistoryLimit"], 10);
    }

    #[test]
    fn an_update_manager_is_foreign_even_when_it_also_changed_git_fields() {
        // `kubectl set image` then `kubectl set env`: one kubectl-set entry owns both.
        let mut both = set_env();
        both["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"api\"}"]
            ["f:image"] = json!({});
        let p = predicted(vec![entry(DRIFTDECK, "Apply", git_fields()), both]);
        let out = without_foreign(&p, &desired());
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
    fn without_managed_fields_nothing_changes() {
        let mut p = predicted(Vec::new());
        if let Some(m) = p["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
        assert_eq!(*without_foreign(&p, &desired()), p);
    }
}
