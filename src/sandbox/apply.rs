//! Field ownership: `metadata.managedFields` (FieldsV1) for every write, and server-side apply
//! on top of it — conflicts with other managers (409 naming the fields and the manager unless
//! `force`), associative lists merged by key, and fields an applier dropped from its config
//! removed when no other manager owns them. Updates (PUT, non-apply PATCH, create) take the
//! fields they changed from other managers, as the real API server does. Pure functions over
//! `serde_json::Value`; imports nothing of the crate.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::patch::{merge_key, strategic_merge};
use super::store::now_rfc3339;

/// A field path in FieldsV1 tokens: `f:spec`, `k:{"name":"app"}`, `.`.
pub type Path = Vec<String>;
pub type FieldSet = BTreeSet<Path>;

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub fields: FieldSet,
}

const UNTRACKED_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "deletionTimestamp",
    "selfLink",
];

fn key_token(item: &Value, key: &str, field: &str) -> Option<String> {
    let id = item.get(key)?;
    let mut m = Map::new();
    m.insert(key.to_string(), id.clone());
    if field == "ports" {
        m.insert(
            "protocol".into(),
            item.get("protocol").cloned().unwrap_or(json!("TCP")),
        );
    }
    Some(format!("k:{}", Value::Object(m)))
}

/// The leaf fields an object sets (status excluded; identity metadata excluded).
pub fn field_set(obj: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    if let Some(m) = obj.as_object() {
        for (k, v) in m {
            match k.as_str() {
                "apiVersion" | "kind" | "status" => {}
                "metadata" => {
                    if let Some(meta) = v.as_object() {
                        for (mk, mv) in meta {
                            if !UNTRACKED_META.contains(&mk.as_str()) {
                                walk(
                                    mv,
                                    vec!["f:metadata".into(), format!("f:{mk}")],
                                    mk,
                                    &mut set,
                                );
                            }
                        }
                    }
                }
                _ => walk(v, vec![format!("f:{k}")], k, &mut set),
            }
        }
    }
    set
}

fn walk(v: &Value, prefix: Path, field: &str, set: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                let mut p = prefix.clone();
                p.push(format!("f:{k}"));
                walk(child, p, k, set);
            }
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            let refs: Vec<&Value> = items.iter().collect();
            match merge_key(field, &refs) {
                Some(key) => {
                    for item in items {
                        let Some(tok) = key_token(item, key, field) else {
                            continue;
                        };
                        let mut p = prefix.clone();
                        p.push(tok);
                        let mut dot = p.clone();
                        dot.push(".".into());
                        set.insert(dot);
                        walk(item, p, "", set);
                    }
                }
                None => {
                    set.insert(prefix);
                }
            }
        }
        _ => {
            set.insert(prefix);
        }
    }
}

/// The element of `obj` a path points at (`.` resolves to its parent).
pub fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for tok in path {
        if tok == "." {
            return Some(cur);
        }
        cur = step(cur, tok)?;
    }
    Some(cur)
}

fn item_matches(item: &Value, key: &Map<String, Value>) -> bool {
    key.iter().all(|(k, v)| match item.get(k) {
        Some(x) => x == v,
        None => k == "protocol" && v == "TCP",
    })
}

fn step<'a>(cur: &'a Value, tok: &str) -> Option<&'a Value> {
    if let Some(f) = tok.strip_prefix("f:") {
        return cur.get(f);
    }
    if let Some(k) = tok.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(k).ok()?;
        return cur.as_array()?.iter().find(|i| item_matches(i, &key));
    }
    None
}

/// Removes what a path points at; a `k:…/.` path removes the whole list item.
pub fn remove_at(obj: &mut Value, path: &[String]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    if last == "." {
        let Some((item_tok, list_path)) = parent_path.split_last() else {
            return;
        };
        let Some(k) = item_tok.strip_prefix("k:") else {
            return;
        };
        let Ok(key) = serde_json::from_str::<Map<String, Value>>(k) else {
            return;
        };
        if let Some(Value::Array(list)) = value_at_mut(obj, list_path) {
            list.retain(|i| !item_matches(i, &key));
        }
        return;
    }
    let Some(f) = last.strip_prefix("f:") else {
        return;
    };
    if let Some(Value::Object(m)) = value_at_mut(obj, parent_path) {
        m.remove(f);
    }
}

fn value_at_mut<'a>(obj: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = obj;
    for tok in path {
        if let Some(f) = tok.strip_prefix("f:") {
            cur = cur.get_mut(f)?;
        } else if let Some(k) = tok.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(k).ok()?;
            cur = cur
                .as_array_mut()?
                .iter_mut()
                .find(|i| item_matches(i, &key))?;
        } else {
            return None;
        }
    }
    Some(cur)
}

pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Value::Object(Map::new());
    for path in set {
        let mut cur = &mut root;
        for tok in path {
            if !cur.is_object() {
                *cur = Value::Object(Map::new());
            }
            let Some(m) = cur.as_object_mut() else { break };
            cur = m
                .entry(tok.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    root
}

pub fn from_fields_v1(v: &Value) -> FieldSet {
    fn go(v: &Value, prefix: &mut Path, out: &mut FieldSet) {
        match v.as_object() {
            Some(m) if !m.is_empty() => {
                for (k, child) in m {
                    prefix.push(k.clone());
                    go(child, prefix, out);
                    prefix.pop();
                }
            }
            _ => {
                out.insert(prefix.clone());
            }
        }
    }
    let mut out = FieldSet::new();
    go(v, &mut Vec::new(), &mut out);
    out
}

pub fn read_entries(obj: &Value) -> Vec<Entry> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| Entry {
                    manager: e["manager"].as_str().unwrap_or_default().to_string(),
                    operation: e["operation"].as_str().unwrap_or("Update").to_string(),
                    api_version: e["apiVersion"].as_str().unwrap_or_default().to_string(),
                    time: e["time"].as_str().unwrap_or_default().to_string(),
                    subresource: e["subresource"].as_str().unwrap_or_default().to_string(),
                    fields: from_fields_v1(&e["fieldsV1"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn write_entries(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&e.fields)});
            if !e.subresource.is_empty() {
                v["subresource"] = json!(e.subresource);
            }
            v
        })
        .collect();
    if obj["metadata"].is_object() {
        obj["metadata"]["managedFields"] = Value::Array(list);
    }
}

fn is_leaf(p: &Path) -> bool {
    p.last().is_some_and(|t| t != ".")
}

/// Records an Update by `manager`: it now owns every field whose value it changed. A request
/// that sets `metadata.managedFields` to something else than the stored list replaces the list
/// (as a real API server does; tools take fields over this way), and one that leaves it out
/// keeps the stored list.
pub fn record_update(old: Option<&Value>, new: &mut Value, manager: &str, subresource: &str) {
    let sent = &new["metadata"]["managedFields"];
    let reset = sent.is_array() && old.is_none_or(|o| o["metadata"]["managedFields"] != *sent);
    let mut entries = if reset {
        let mut sent = read_entries(new);
        for e in sent.iter_mut().filter(|e| e.time.is_empty()) {
            e.time = now_rfc3339();
        }
        sent
    } else {
        old.map(read_entries).unwrap_or_default()
    };
    let new_set = field_set(new);
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| !is_leaf(p) || old.is_none_or(|o| value_at(o, p) != value_at(new, p)))
        .filter(|p| is_leaf(p) || old.is_none_or(|o| value_at(o, p).is_none()))
        .cloned()
        .collect();
    for e in &mut entries {
        e.fields.retain(|p| new_set.contains(p));
        if e.manager != manager || e.operation != "Update" {
            e.fields.retain(|p| !changed.contains(p));
        }
    }
    let api_version = new["apiVersion"].as_str().unwrap_or_default().to_string();
    match entries
        .iter_mut()
        .find(|e| e.manager == manager && e.operation == "Update")
    {
        Some(e) => {
            e.fields.extend(changed);
            e.time = now_rfc3339();
        }
        None => entries.push(Entry {
            manager: manager.to_string(),
            operation: "Update".into(),
            api_version,
            time: now_rfc3339(),
            subresource: subresource.to_string(),
            fields: changed,
        }),
    }
    entries.retain(|e| !e.fields.is_empty());
    write_entries(new, &entries);
}

fn dotted(path: &Path) -> String {
    let mut s = String::new();
    for tok in path {
        if let Some(f) = tok.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = tok.strip_prefix("k:") {
            s.push('[');
            s.push_str(&k.replace(['{', '}'], "").replace(':', "="));
            s.push(']');
        }
    }
    s
}

/// Server-side apply of `config` by `manager` over `live` (None: the object is created).
pub fn server_side_apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
) -> Result<Value, ApiError> {
    let applied = field_set(config);
    let mut entries = live.map(read_entries).unwrap_or_default();
    let mut conflicts: Vec<(String, String, Path)> = Vec::new();
    if let Some(live) = live {
        for p in applied.iter().filter(|p| is_leaf(p)) {
            for e in entries
                .iter()
                .filter(|e| !(e.manager == manager && e.operation == "Apply"))
            {
                if e.fields.contains(p) && value_at(live, p) != value_at(config, p) {
                    conflicts.push((e.manager.clone(), e.api_version.clone(), p.clone()));
                }
            }
        }
    }
    if !conflicts.is_empty() && !force {
        let n = conflicts.len();
        let lines: Vec<String> = conflicts
            .iter()
            .map(|(m, av, p)| format!("conflict with \"{m}\" using {av}: {}", dotted(p)))
            .collect();
        let message = if n == 1 {
            format!("Apply failed with 1 conflict: {}", lines.join(""))
        } else {
            format!("Apply failed with {n} conflicts: {}", lines.join("\n"))
        };
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(m, av, p)| {
                json!({"reason": "FieldManagerConflict",
                "message": format!("conflict with \"{m}\" using {av}"), "field": dotted(p)})
            })
            .collect();
        let mut e = ApiError::new(409, "Conflict", message);
        e.details =
            json!({"name": config["metadata"]["name"], "kind": config["kind"], "causes": causes});
        return Err(e);
    }
    let mut merged = match live {
        Some(l) => l.clone(),
        None => config.clone(),
    };
    if live.is_some() {
        let mut body = config.clone();
        if let Some(m) = body.as_object_mut() {
            m.remove("status");
        }
        strategic_merge(&mut merged, &body)?;
    }
    let previous: FieldSet = entries
        .iter()
        .filter(|e| e.manager == manager && e.operation == "Apply")
        .flat_map(|e| e.fields.iter().cloned())
        .collect();
    for p in previous.difference(&applied) {
        let owned_by_other = entries
            .iter()
            .any(|e| !(e.manager == manager && e.operation == "Apply") && e.fields.contains(p));
        if !owned_by_other {
            remove_at(&mut merged, p);
        }
    }
    // A no-op apply keeps its entry's time, so the store sees no change and the
    // resourceVersion does not move (as on a real server).
    let same_content = live.is_some_and(|l| *l == merged);
    if force {
        for (m, _, p) in &conflicts {
            for e in entries.iter_mut().filter(|e| &e.manager == m) {
                e.fields.remove(p);
            }
        }
    }
    let api_version = config["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kept_time = entries
        .iter()
        .find(|e| {
            same_content
                && e.manager == manager
                && e.operation == "Apply"
                && e.api_version == api_version
                && e.fields == applied
        })
        .map(|e| e.time.clone());
    entries.retain(|e| !(e.manager == manager && e.operation == "Apply"));
    entries.push(Entry {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version,
        time: kept_time.unwrap_or_else(now_rfc3339),
        subresource: String::new(),
        fields: applied,
    });
    entries.retain(|e| !e.fields.is_empty());
    write_entries(&mut merged, &entries);
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}}})
    }

    #[test]
    fn fields_v1_round_trips_with_keyed_items() {
        let set = field_set(&deploy(1, "a:1"));
        let v1 = to_fields_v1(&set);
        assert!(
            v1["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]["f:image"]
                .is_object()
        );
        assert_eq!(from_fields_v1(&v1), set);
    }

    #[test]
    fn second_manager_conflicts_unless_forced() {
        let live = server_side_apply(None, &deploy(1, "a:1"), "alice", false).unwrap();
        let err = server_side_apply(Some(&live), &deploy(2, "a:1"), "bob", false).unwrap_err();
        assert_eq!(err.code, 409);
        assert!(
            err.message.contains("conflict with \"alice\""),
            "{}",
            err.message
        );
        assert!(err.message.contains(".spec.replicas"), "{}", err.message);
        let forced = server_side_apply(Some(&live), &deploy(2, "a:1"), "bob", true).unwrap();
        assert_eq!(forced["spec"]["replicas"], 2);
        let alice = read_entries(&forced)
            .into_iter()
            .find(|e| e.manager == "alice")
            .unwrap();
        assert!(
            !alice
                .fields
                .contains(&vec!["f:spec".to_string(), "f:replicas".to_string()])
        );
    }

    #[test]
    fn dropped_fields_are_removed_when_nobody_else_owns_them() {
        let mut with_label = deploy(1, "a:1");
        with_label["metadata"]["labels"] = json!({"x": "1"});
        let live = server_side_apply(None, &with_label, "alice", false).unwrap();
        let next = server_side_apply(Some(&live), &deploy(1, "a:1"), "alice", false).unwrap();
        assert!(next["metadata"]["labels"].get("x").is_none());
    }
}
