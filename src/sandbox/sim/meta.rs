//! Object helpers shared by the controllers: names, labels, selectors, owner references and the
//! name hashes Kubernetes uses.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::txn::Obj;

/// The alphabet Kubernetes uses for generated names and hashes (no vowels, no confusables).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The string at a JSON pointer, or `""`.
pub(crate) fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The integer at a JSON pointer, or `default`.
pub(crate) fn int_at(obj: &Value, pointer: &str, default: i64) -> i64 {
    obj.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

pub(crate) fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name")
}

pub(crate) fn namespace(obj: &Value) -> &str {
    str_at(obj, "/metadata/namespace")
}

pub(crate) fn uid(obj: &Value) -> &str {
    str_at(obj, "/metadata/uid")
}

/// `ns/name`, the key the simulator's bookkeeping uses.
pub(crate) fn key(obj: &Value) -> String {
    format!("{}/{}", namespace(obj), name(obj))
}

/// The object's labels (empty when absent or malformed).
pub(crate) fn labels(obj: &Value) -> Map<String, Value> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The map at `path` inside `obj`, created (as `{}`) where absent or not a map — used only on
/// parts the simulator owns (status, its own objects), so replacing garbage there is fine.
pub(crate) fn map_mut<'a>(obj: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut cur = obj;
    for seg in path {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        cur = cur
            .as_object_mut()?
            .entry((*seg).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    cur.as_object_mut()
}

/// Sets `obj[path..][key] = value`, creating maps on the way (never panics, unlike `IndexMut`).
pub(crate) fn set_at(obj: &mut Value, path: &[&str], key: &str, value: Value) {
    if let Some(m) = map_mut(obj, path) {
        m.insert(key.to_string(), value);
    }
}

/// Whether a `LabelSelector` (`matchLabels` + `matchExpressions`) matches `labels`. An empty
/// selector matches everything, as in Kubernetes; a malformed one matches nothing.
pub(crate) fn selector_matches(selector: &Value, labels: &Map<String, Value>) -> bool {
    let Some(sel) = selector.as_object() else {
        return false;
    };
    if let Some(ml) = sel.get("matchLabels") {
        let Some(ml) = ml.as_object() else {
            return false;
        };
        if !map_selector_matches(ml, labels) {
            return false;
        }
    }
    let exprs = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    exprs.iter().all(|e| {
        let key = str_at(e, "/key");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let have = labels.get(key).and_then(Value::as_str);
        match str_at(e, "/operator") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    })
}

/// Whether a plain `key: value` selector (a Service's) matches `labels`.
pub(crate) fn map_selector_matches(sel: &Map<String, Value>, labels: &Map<String, Value>) -> bool {
    sel.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Whether `obj` is controlled by `owner` (a `controller: true` owner reference to it).
pub(crate) fn controlled_by(obj: &Value, owner: &Value) -> bool {
    let owner_uid = uid(owner);
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter().any(|r| {
                r.get("controller").and_then(Value::as_bool) == Some(true)
                    && if owner_uid.is_empty() || str_at(r, "/uid").is_empty() {
                        str_at(r, "/kind") == str_at(owner, "/kind")
                            && str_at(r, "/name") == name(owner)
                    } else {
                        str_at(r, "/uid") == owner_uid
                    }
            })
        })
}

/// `objs` grouped by the uid of their controller owner reference, so each controller finds what
/// it owns without scanning every pod once per owner.
pub(crate) fn by_controller(objs: &[Obj]) -> HashMap<&str, Vec<&Value>> {
    let mut out: HashMap<&str, Vec<&Value>> = HashMap::new();
    for o in objs {
        let owner = o
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter()
                    .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
            })
            .map(|r| str_at(r, "/uid"))
            .filter(|u| !u.is_empty());
        if let Some(uid) = owner {
            out.entry(uid).or_default().push(o);
        }
    }
    out
}

/// The pods (or other objects) in `index` controlled by `owner`, in its namespace.
pub(crate) fn owned_by<'a>(index: &HashMap<&str, Vec<&'a Value>>, owner: &Value) -> Vec<&'a Value> {
    index
        .get(uid(owner))
        .map(|v| {
            v.iter()
                .copied()
                .filter(|o| namespace(o) == namespace(owner))
                .collect()
        })
        .unwrap_or_default()
}

/// The owner reference a controller puts on what it creates.
pub(crate) fn controller_ref(owner: &Value) -> Value {
    json!([{
        "apiVersion": str_at(owner, "/apiVersion"),
        "kind": str_at(owner, "/kind"),
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    }])
}

/// 32-bit FNV-1a, the hash Kubernetes uses for pod-template-hash.
pub(crate) fn fnv32a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// 64-bit FNV-1a, for deterministic generated names and ids.
pub(crate) fn fnv64a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The pod-template hash as Kubernetes spells it: the decimal FNV-32a of the template, each
/// digit mapped into the safe alphabet (`rand.SafeEncodeString`), e.g. `5d4c8f9b7`.
pub(crate) fn template_hash(template: &Value) -> String {
    let canonical = serde_json::to_vec(template).unwrap_or_default();
    fnv32a(&canonical)
        .to_string()
        .bytes()
        .map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]))
        .collect()
}

/// `n` characters of the safe alphabet derived from `seed`, like a `generateName` suffix.
pub(crate) fn suffix(seed: &str, n: usize) -> String {
    let h = fnv64a(seed.as_bytes());
    (0..n)
        .map(|i| {
            let x = (h ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).rotate_left(29);
            let x = fnv64a(&x.to_le_bytes());
            char::from(ALPHANUMS[(x % ALPHANUMS.len() as u64) as usize])
        })
        .collect()
}

/// 64 hex characters derived from `seed` (container ids, image digests).
pub(crate) fn hex64(seed: &str) -> String {
    (0..4u8)
        .map(|i| format!("{:016x}", fnv64a(format!("{seed}#{i}").as_bytes())))
        .collect()
}

/// Resolves an int-or-percent (`maxSurge: 25%`) against `total`, rounding up or down as the
/// deployment controller does. Garbage resolves to `default`.
pub(crate) fn int_or_percent(v: Option<&Value>, total: i64, round_up: bool, default: i64) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(default).max(0),
        Some(Value::String(s)) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) => {
                let x = p.max(0).saturating_mul(total);
                if round_up { (x + 99) / 100 } else { x / 100 }
            }
            None => s.parse::<i64>().map(|n| n.max(0)).unwrap_or(default),
        },
        _ => default,
    }
}

/// Sets or replaces a condition (`type` keyed) in `conds`, keeping `lastTransitionTime` while the
/// status stays the same and (with `update_time`) `lastUpdateTime` while nothing changes — unless
/// the caller already put a `lastUpdateTime` in `cond`. Returns the new list.
pub(crate) fn upsert_condition(
    conds: &[Value],
    mut cond: Value,
    now: &str,
    update_time: bool,
) -> Vec<Value> {
    let ty = str_at(&cond, "/type").to_string();
    let old = conds.iter().find(|c| str_at(c, "/type") == ty);
    let same_status = old.is_some_and(|o| str_at(o, "/status") == str_at(&cond, "/status"));
    let same_all = old.is_some_and(|o| {
        same_status
            && str_at(o, "/reason") == str_at(&cond, "/reason")
            && str_at(o, "/message") == str_at(&cond, "/message")
    });
    let transition = match (same_status, old) {
        (true, Some(o)) => o.get("lastTransitionTime").cloned().unwrap_or(json!(now)),
        _ => json!(now),
    };
    if let Some(m) = cond.as_object_mut() {
        m.insert("lastTransitionTime".into(), transition);
        if update_time && !m.contains_key("lastUpdateTime") {
            let upd = match (same_all, old) {
                (true, Some(o)) => o.get("lastUpdateTime").cloned().unwrap_or(json!(now)),
                _ => json!(now),
            };
            m.insert("lastUpdateTime".into(), upd);
        }
    }
    let mut out: Vec<Value> = conds.to_vec();
    match out.iter_mut().find(|c| str_at(c, "/type") == ty) {
        Some(slot) => *slot = cond,
        None => out.push(cond),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hash_is_stable_and_k8s_shaped() {
        let t = json!({"spec": {"containers": [{"name": "a", "image": "x:v1"}]}});
        let h = template_hash(&t);
        assert_eq!(h, template_hash(&t.clone()));
        assert!(h.len() <= 10 && !h.is_empty());
        assert!(h.bytes().all(|b| b"456789bcdf".contains(&b)), "{h}");
        let t2 = json!({"spec": {"containers": [{"name": "a", "image": "x:v2"}]}});
        assert_ne!(h, template_hash(&t2));
    }

    #[test]
    fn surge_rounds_up_and_unavailable_rounds_down() {
        let pct = json!("25%");
        assert_eq!(int_or_percent(Some(&pct), 3, true, 0), 1);
        assert_eq!(int_or_percent(Some(&pct), 3, false, 0), 0);
        assert_eq!(int_or_percent(Some(&pct), 10, true, 0), 3);
        assert_eq!(int_or_percent(Some(&pct), 10, false, 0), 2);
        assert_eq!(int_or_percent(Some(&json!(2)), 10, false, 0), 2);
        assert_eq!(int_or_percent(Some(&json!("x%")), 10, false, 7), 7);
    }

    #[test]
    fn selectors() {
        let labels = json!({"app": "api", "tier": "web"});
        let labels = labels.as_object().unwrap();
        assert!(selector_matches(
            &json!({"matchLabels": {"app": "api"}}),
            labels
        ));
        assert!(!selector_matches(
            &json!({"matchLabels": {"app": "db"}}),
            labels
        ));
        assert!(selector_matches(
            &json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]},
                                         {"key": "x", "operator": "DoesNotExist"}]}),
            labels
        ));
        assert!(!selector_matches(&json!(null), labels));
    }

    #[test]
    fn suffixes_are_deterministic_and_distinct() {
        let a = suffix("rs-1/0", 5);
        assert_eq!(a, suffix("rs-1/0", 5));
        assert_eq!(a.len(), 5);
        assert_ne!(a, suffix("rs-1/1", 5));
    }
}
