//! `ignore_differences`: field patterns dropped from both sides before comparing. Patterns come
//! from RFC 6901 pointers in the rule and from the live object's `managedFields` entries of
//! the managers a rule names (server-side apply's `fieldsV1` sets). Pure; imports nothing of
//! the crate.
//!
//! A pointer segment that is a number indexes a list; `key=value` (the form drift paths use)
//! selects the list element whose `key` equals `value`. A pointer that matches nothing is not an
//! error: the field may simply be unset on this object.

use serde_json::{Map, Value};

/// One step of a field pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seg {
    /// A map key, or a list index when it parses as one.
    Field(String),
    /// The list element whose fields equal all of these (`k:{"name":"api"}`, `name=api`).
    Keyed(Map<String, Value>),
    /// The list element equal to this value (`v:"x"` in a set-like list).
    Item(Value),
}

pub(crate) type Pattern = Vec<Seg>;

/// Parses an RFC 6901 pointer (`/spec/template/spec/containers/0/image`). `None` for text that
/// is not a pointer (it must start with `/`).
pub(crate) fn parse_pointer(pointer: &str) -> Option<Pattern> {
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|raw| {
                let seg = raw.replace("~1", "/").replace("~0", "~");
                match seg.split_once('=') {
                    Some((k, v)) if !k.is_empty() && !k.contains('.') => {
                        let mut m = Map::new();
                        m.insert(k.to_owned(), Value::String(v.to_owned()));
                        Seg::Keyed(m)
                    }
                    _ => Seg::Field(seg),
                }
            })
            .collect(),
    )
}

/// The field patterns owned by any of `managers` in `live`'s `metadata.managedFields`.
pub(crate) fn managed_by(live: &Value, managers: &[String]) -> Vec<Pattern> {
    let mut out = Vec::new();
    let Some(entries) = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return out;
    };
    for entry in entries {
        let manager = entry.get("manager").and_then(Value::as_str).unwrap_or("");
        if !managers.iter().any(|m| m == manager) {
            continue;
        }
        if let Some(fields) = entry.get("fieldsV1") {
            collect_fields(fields, &mut Vec::new(), &mut out);
        }
    }
    out
}

/// The leaf patterns of one `fieldsV1` set.
pub(crate) fn field_patterns(fields: &Value) -> Vec<Pattern> {
    let mut out = Vec::new();
    collect_fields(fields, &mut Vec::new(), &mut out);
    out
}

/// Walks a `fieldsV1` set. A node with no children besides `.` is a leaf the manager owns;
/// the key fields of a `k:` element are never dropped, or the element could not be matched.
fn collect_fields(node: &Value, prefix: &mut Pattern, out: &mut Vec<Pattern>) {
    let Some(children) = node.as_object() else {
        return;
    };
    let mut any = false;
    let key_fields: Vec<String> = match prefix.last() {
        Some(Seg::Keyed(k)) => k.keys().map(|f| format!("f:{f}")).collect(),
        _ => Vec::new(),
    };
    for (name, child) in children {
        if name == "." || key_fields.contains(name) {
            continue;
        }
        let seg = if let Some(field) = name.strip_prefix("f:") {
            Seg::Field(field.to_owned())
        } else if let Some(json) = name.strip_prefix("k:") {
            match serde_json::from_str::<Map<String, Value>>(json) {
                Ok(m) => Seg::Keyed(m),
                Err(_) => continue,
            }
        } else if let Some(json) = name.strip_prefix("v:") {
            match serde_json::from_str::<Value>(json) {
                Ok(v) => Seg::Item(v),
                Err(_) => continue,
            }
        } else {
            continue;
        };
        any = true;
        prefix.push(seg);
        collect_fields(child, prefix, out);
        prefix.pop();
    }
    if !any && !prefix.is_empty() {
        out.push(prefix.clone());
    }
}

/// Removes every field `pattern` matches from `obj`.
pub(crate) fn remove(obj: &mut Value, pattern: &[Seg]) {
    let Some((first, rest)) = pattern.split_first() else {
        return;
    };
    match obj {
        Value::Object(map) => {
            let Seg::Field(name) = first else { return };
            if rest.is_empty() {
                map.remove(name);
            } else if let Some(child) = map.get_mut(name) {
                remove(child, rest);
            }
        }
        Value::Array(list) => {
            let hit = |e: &Value| matches_element(e, first);
            if rest.is_empty() {
                match first {
                    Seg::Field(index) => {
                        if let Ok(i) = index.parse::<usize>()
                            && i < list.len()
                        {
                            list.remove(i);
                        }
                    }
                    _ => list.retain(|e| !hit(e)),
                }
                return;
            }
            match first {
                Seg::Field(index) => {
                    if let Some(child) = index.parse::<usize>().ok().and_then(|i| list.get_mut(i)) {
                        remove(child, rest);
                    }
                }
                _ => {
                    for e in list.iter_mut().filter(|e| hit(e)) {
                        remove(e, rest);
                    }
                }
            }
        }
        _ => {}
    }
}

pub(crate) fn matches_element(element: &Value, seg: &Seg) -> bool {
    match seg {
        Seg::Field(_) => false,
        Seg::Item(v) => element == v,
        Seg::Keyed(keys) => keys.iter().all(|(k, want)| match (element.get(k), want) {
            (Some(Value::Number(n)), Value::String(s)) => n.to_string() == *s,
            (Some(got), want) => got == want,
            (None, _) => false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointer_with_index_and_key_segments() {
        let mut obj = json!({"spec": {"containers": [
            {"name": "api", "image": "a", "ports": [{"containerPort": 80, "name": "http"}]},
            {"name": "side", "image": "s"}]}});
        remove(
            &mut obj,
            &parse_pointer("/spec/containers/1/image").unwrap(),
        );
        remove(
            &mut obj,
            &parse_pointer("/spec/containers/name=api/ports/containerPort=80/name").unwrap(),
        );
        assert_eq!(
            obj,
            json!({"spec": {"containers": [
                {"name": "api", "image": "a", "ports": [{"containerPort": 80}]},
                {"name": "side"}]}})
        );
    }

    #[test]
    fn escaped_pointer_segments() {
        let mut obj = json!({"metadata": {"annotations": {"a/b": "1", "c": "2"}}});
        remove(
            &mut obj,
            &parse_pointer("/metadata/annotations/a~1b").unwrap(),
        );
        assert_eq!(obj, json!({"metadata": {"annotations": {"c": "2"}}}));
        assert_eq!(parse_pointer("spec"), None);
    }

    #[test]
    fn managed_fields_of_a_manager_become_patterns() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "kube-controller-manager", "operation": "Update", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "istio", "operation": "Apply", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                 "k:{\"name\":\"api\"}": {".": {}, "f:name": {}, "f:env": {
                     "k:{\"name\":\"PROXY\"}": {".": {}, "f:name": {}, "f:value": {}}}}}}}}}},
            {"manager": "driftdeck", "fieldsV1": {"f:spec": {"f:paused": {}}}}
        ]}});
        let pats = managed_by(&live, &["kube-controller-manager".into(), "istio".into()]);
        assert_eq!(pats.len(), 2);
        let mut obj = json!({"spec": {"replicas": 5, "paused": false, "template": {"spec": {"containers": [
            {"name": "api", "env": [{"name": "PROXY", "value": "1"}, {"name": "A", "value": "2"}]}]}}}});
        for p in &pats {
            remove(&mut obj, p);
        }
        assert_eq!(
            obj,
            json!({"spec": {"paused": false, "template": {"spec": {"containers": [
                {"name": "api", "env": [{"name": "PROXY"}, {"name": "A", "value": "2"}]}]}}}})
        );
    }
}
