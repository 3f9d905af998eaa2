//! The three patch formats of PATCH requests: JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902) and Kubernetes strategic merge patch, where lists of the built-in kinds merge by
//! key (containers by `name`, ports by `containerPort`/`port`, env by `name`, volumeMounts by
//! `mountPath`, ...) and `$patch`, `$retainKeys`, `$setElementOrder/…`,
//! `$deleteFromPrimitiveList/…` directives apply. The merge keys are shared with server-side
//! apply. Pure functions; imports nothing of the crate.

use serde_json::{Map, Value};

use super::error::ApiError;

/// The merge key of a list field of a built-in kind, judged by the field name and, for
/// `ports`, by what the items carry (container ports vs service ports).
pub fn merge_key(field: &str, items: &[&Value]) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "hostAliases" => Some("ip"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        "topologySpreadConstraints" => Some("topologyKey"),
        "ports" => {
            if items.iter().any(|i| i.get("containerPort").is_some()) {
                Some("containerPort")
            } else if items.iter().any(|i| i.get("port").is_some()) {
                Some("port")
            } else {
                None
            }
        }
        _ => None,
    }
}

pub fn json_merge(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    json_patch::patch(target, &ops)
        .map_err(|e| ApiError::new(422, "Invalid", format!("the JSON patch failed: {e}")))
}

/// Removes every `$…` directive from a patch fragment that is stored as a value.
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        other => other.clone(),
    }
}

pub fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "a strategic merge patch must be a JSON object",
        ));
    }
    merge_object(target, patch);
    Ok(())
}

fn merge_object(target: &mut Value, patch: &Value) {
    let Some(pm) = patch.as_object() else {
        *target = strip(patch);
        return;
    };
    if pm.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = strip(patch);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(tm) = target.as_object_mut() else {
        return;
    };
    if let Some(keep) = pm.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        tm.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in pm {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(list), Some(gone)) = (
                tm.get_mut(field).and_then(Value::as_array_mut),
                v.as_array(),
            ) {
                list.retain(|x| !gone.contains(x));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        match v {
            Value::Null => {
                tm.remove(k);
            }
            Value::Object(_) => merge_object(tm.entry(k.clone()).or_insert(Value::Null), v),
            Value::Array(items) => {
                let cur = tm.get(k).and_then(Value::as_array);
                let all: Vec<&Value> = items.iter().chain(cur.into_iter().flatten()).collect();
                match (merge_key(k, &all), tm.get_mut(k)) {
                    (Some(key), Some(Value::Array(list))) => merge_list(list, items, key),
                    _ => {
                        let items: Vec<Value> = items
                            .iter()
                            .filter(|i| i.get("$patch").is_none())
                            .map(strip)
                            .collect();
                        tm.insert(k.clone(), Value::Array(items));
                    }
                }
            }
            scalar => {
                tm.insert(k.clone(), scalar.clone());
            }
        }
    }
}

fn merge_list(list: &mut Vec<Value>, items: &[Value], key: &str) {
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *list = items
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .map(strip)
            .collect();
        return;
    }
    for item in items {
        let id = item.get(key);
        let pos = id.and_then(|id| list.iter().position(|x| x.get(key) == Some(id)));
        if item.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(p) = pos {
                list.remove(p);
            }
            continue;
        }
        match pos {
            Some(p) => merge_object(&mut list[p], item),
            None => list.push(strip(item)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "a:1", "ports": [{"containerPort": 80}]},
            {"name": "side", "image": "s:1"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
            "containers": [{"name": "app", "image": "a:2"}, {"name": "side", "$patch": "delete"}]}}}});
        strategic_merge(&mut d, &patch).unwrap();
        let cs = d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap();
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0]["image"], "a:2");
        assert_eq!(cs[0]["ports"][0]["containerPort"], 80);
    }

    #[test]
    fn atomic_lists_are_replaced_and_null_deletes() {
        let mut d = json!({"spec": {"args": ["a", "b"], "x": 1}});
        strategic_merge(&mut d, &json!({"spec": {"args": ["c"], "x": null}})).unwrap();
        assert_eq!(d, json!({"spec": {"args": ["c"]}}));
    }

    #[test]
    fn json_patch_replaces_a_path() {
        let mut d = json!({"spec": {"replicas": 1}});
        json_patch(
            &mut d,
            &json!([{"op": "replace", "path": "/spec/replicas", "value": 3}]),
        )
        .unwrap();
        assert_eq!(d["spec"]["replicas"], 3);
        let bad = json_patch(&mut d, &json!([{"op": "remove", "path": "/nope"}]));
        assert_eq!(bad.unwrap_err().code, 422);
    }
}
