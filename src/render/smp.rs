//! Strategic merge patches as kustomize applies them: maps merge key by key, `null` deletes,
//! `$patch: delete` / `$patch: replace` directives, and lists of built-in kinds merged by their
//! merge key (containers by `name`, volumeMounts by `mountPath`, container ports by
//! `containerPort`, ...). The merged list holds the patch's items first, in patch order, then
//! the base items the patch did not mention — kustomize's order. Lists without a merge key, and
//! every list of a kind kustomize has no schema for (CRDs), are replaced by the patch's list.
//!
//! Pure functions over `serde_json::Value`; imports nothing from the crate.

use serde_json::{Map, Value};

use crate::model::{ListKey, list_merge_key};

/// API groups whose kinds carry the Kubernetes OpenAPI merge keys.
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "extensions",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "certificates.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "events.k8s.io",
];

/// Whether lists of this API group merge by key (true) or are replaced (a CRD's kinds).
pub fn has_schema(group: &str) -> bool {
    BUILTIN_GROUPS.contains(&group)
}

/// The merge key of a list field of a built-in kind, judged from the field name and, for
/// `ports` (containerPort in pods, port in Services), from the items.
pub fn merge_key(field: &str, patch_items: &[Value], base_items: &[Value]) -> Option<&'static str> {
    Some(match list_merge_key(field)? {
        ListKey::Field(key) => key,
        ListKey::Port => {
            let has = |items: &[Value], k: &str| items.iter().any(|i| i.get(k).is_some());
            if has(patch_items, "containerPort") || has(base_items, "containerPort") {
                "containerPort"
            } else {
                "port"
            }
        }
    })
}

fn directive(v: &Value) -> Option<&str> {
    v.get("$patch").and_then(Value::as_str)
}

fn is_directive_key(k: &str) -> bool {
    k.starts_with('$')
}

/// The patch value with directives and nulls removed: what lands where the base had nothing.
pub fn clean(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(map) => {
            if directive(v) == Some("delete") {
                return None;
            }
            let mut out = Map::new();
            for (k, val) in map {
                if is_directive_key(k) {
                    continue;
                }
                if let Some(c) = clean(val) {
                    out.insert(k.clone(), c);
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter(|i| !matches!(directive(i), Some("replace") | Some("delete")))
                .filter_map(clean)
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

/// Merges `patch` into `base`. `None` means the patch deleted the whole value.
pub fn merge(base: &Value, patch: &Value, schema: bool) -> Option<Value> {
    match (base, patch) {
        (_, Value::Null) => None,
        (Value::Object(b), Value::Object(p)) => merge_maps(b, p, schema),
        _ => clean(patch),
    }
}

fn merge_maps(
    base: &Map<String, Value>,
    patch: &Map<String, Value>,
    schema: bool,
) -> Option<Value> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("delete") => return None,
        Some("replace") => return clean(&Value::Object(patch.clone())),
        _ => {}
    }
    let mut out = base.clone();
    for (k, pv) in patch {
        if is_directive_key(k) {
            continue;
        }
        match (out.get(k), pv) {
            (_, Value::Null) => {
                out.remove(k);
            }
            (Some(Value::Object(bm)), Value::Object(pm)) => match merge_maps(bm, pm, schema) {
                Some(v) => {
                    out.insert(k.clone(), v);
                }
                None => {
                    out.remove(k);
                }
            },
            (Some(Value::Array(bl)), Value::Array(pl)) => {
                let merged = merge_lists(k, bl, pl, schema);
                out.insert(k.clone(), Value::Array(merged));
            }
            _ => match clean(pv) {
                Some(v) => {
                    out.insert(k.clone(), v);
                }
                None => {
                    out.remove(k);
                }
            },
        }
    }
    Some(Value::Object(out))
}

fn merge_lists(field: &str, base: &[Value], patch: &[Value], schema: bool) -> Vec<Value> {
    if patch.iter().any(|i| directive(i) == Some("replace")) {
        return patch
            .iter()
            .filter(|i| directive(i) != Some("replace"))
            .filter_map(clean)
            .collect();
    }
    let key = if schema {
        merge_key(field, patch, base)
    } else {
        None
    };
    let Some(key) = key else {
        return patch.iter().filter_map(clean).collect();
    };
    let mut used = vec![false; base.len()];
    let mut out = Vec::new();
    for item in patch {
        let id = item.get(key).filter(|v| !v.is_null());
        let found = id.and_then(|id| {
            base.iter()
                .enumerate()
                .find(|(i, b)| !used[*i] && b.get(key) == Some(id))
                .map(|(i, _)| i)
        });
        match found {
            Some(i) => {
                used[i] = true;
                if directive(item) == Some("delete") {
                    continue;
                }
                if let Some(m) = merge(&base[i], item, schema) {
                    out.push(m);
                }
            }
            None => {
                if directive(item) == Some("delete") {
                    continue;
                }
                if let Some(c) = clean(item) {
                    out.push(c);
                }
            }
        }
    }
    out.extend(
        base.iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(b, _)| b.clone()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table() {
        struct Case {
            name: &'static str,
            base: Value,
            patch: Value,
            schema: bool,
            want: Option<Value>,
        }
        let cases = [
            Case {
                name: "maps merge and null deletes",
                base: json!({"a": 1, "b": {"c": 2, "d": 3}}),
                patch: json!({"b": {"c": null, "e": 4}, "f": 5}),
                schema: true,
                want: Some(json!({"a": 1, "b": {"d": 3, "e": 4}, "f": 5})),
            },
            Case {
                name: "containers by name, patch items first",
                base: json!({"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}),
                patch: json!({"containers": [{"name": "b", "image": "z"}, {"name": "c", "image": "w"}]}),
                schema: true,
                want: Some(
                    json!({"containers": [{"name": "b", "image": "z"}, {"name": "c", "image": "w"}, {"name": "a", "image": "x"}]}),
                ),
            },
            Case {
                name: "no schema replaces lists",
                base: json!({"containers": [{"name": "a", "image": "x"}, {"name": "b"}]}),
                patch: json!({"containers": [{"name": "b", "image": "z"}]}),
                schema: false,
                want: Some(json!({"containers": [{"name": "b", "image": "z"}]})),
            },
            Case {
                name: "list without merge key is replaced",
                base: json!({"args": ["a", "b"], "tolerations": [{"key": "k"}]}),
                patch: json!({"args": ["c"], "tolerations": [{"key": "j"}]}),
                schema: true,
                want: Some(json!({"args": ["c"], "tolerations": [{"key": "j"}]})),
            },
            Case {
                name: "$patch delete in a list item",
                base: json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}),
                patch: json!({"env": [{"name": "A", "$patch": "delete"}]}),
                schema: true,
                want: Some(json!({"env": [{"name": "B", "value": "2"}]})),
            },
            Case {
                name: "$patch replace on a map",
                base: json!({"resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}}),
                patch: json!({"resources": {"$patch": "replace", "limits": {"memory": "1Gi"}}}),
                schema: true,
                want: Some(json!({"resources": {"limits": {"memory": "1Gi"}}})),
            },
            Case {
                name: "$patch delete of the whole object",
                base: json!({"a": 1}),
                patch: json!({"$patch": "delete"}),
                schema: true,
                want: None,
            },
            Case {
                name: "ports by containerPort, service ports by port",
                base: json!({"ports": [{"containerPort": 80, "name": "http"}], "svc": {"ports": [{"port": 80, "name": "http"}]}}),
                patch: json!({"ports": [{"containerPort": 80, "protocol": "TCP"}], "svc": {"ports": [{"port": 80, "targetPort": 8080}]}}),
                schema: true,
                want: Some(
                    json!({"ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}], "svc": {"ports": [{"port": 80, "name": "http", "targetPort": 8080}]}}),
                ),
            },
        ];
        for c in cases {
            assert_eq!(merge(&c.base, &c.patch, c.schema), c.want, "{}", c.name);
        }
    }
}
