//! kustomize's output order. By default (and with `sortOptions: {order: legacy}`) the build is
//! sorted by kind — Namespaces, CRDs, ServiceAccounts, RBAC, ConfigMaps, ... first, webhook
//! configurations last, everything else in between — then by `group_version_kind`, then by
//! `namespace|name` (an empty namespace sorts as `~X`, after every real one). `order: fifo`
//! keeps the order resources were accumulated in. As in kustomize, only the top-level
//! kustomization's `sortOptions` counts; those of bases are ignored.
//!
//! Works on `Res` values; imports nothing from the crate outside `render`.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

use super::resource::Res;

/// kustomize's fixed "legacy" order: kinds listed first, in this order.
const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds listed last, in this order.
const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The order asked for by a kustomization's `sortOptions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    Fifo,
    Legacy {
        first: Vec<String>,
        last: Vec<String>,
    },
}

impl Default for Order {
    fn default() -> Self {
        Order::Legacy {
            first: ORDER_FIRST.iter().map(|s| (*s).to_owned()).collect(),
            last: ORDER_LAST.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl Order {
    /// Reads `sortOptions` (absent or null: the legacy order). Errors are kustomize's.
    pub fn from_options(options: Option<&Value>) -> Result<Self, String> {
        let Some(Value::Object(map)) = options else {
            return match options {
                None | Some(Value::Null) => Ok(Order::default()),
                Some(_) => Err("sortOptions must be a mapping".into()),
            };
        };
        for key in map.keys() {
            if key != "order" && key != "legacySortOptions" {
                return Err(format!("sortOptions: unknown field {key:?}"));
            }
        }
        let legacy = map.get("legacySortOptions").filter(|v| !v.is_null());
        match map.get("order").and_then(Value::as_str).unwrap_or("") {
            "fifo" if legacy.is_some() => Err(
                "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'"
                    .into(),
            ),
            "fifo" => Ok(Order::Fifo),
            "legacy" => match legacy {
                None => Ok(Order::default()),
                Some(opts) => Ok(Order::Legacy {
                    first: kinds(opts, "orderFirst")?,
                    last: kinds(opts, "orderLast")?,
                }),
            },
            _ => Err("the field 'sortOptions.order' must be one of [fifo, legacy]".into()),
        }
    }
}

fn kinds(opts: &Value, key: &str) -> Result<Vec<String>, String> {
    match opts.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("sortOptions.legacySortOptions.{key}: not a string"))
            })
            .collect(),
        Some(_) => Err(format!("sortOptions.legacySortOptions.{key}: not a list")),
    }
}

/// Sorts `set` in place as `order` says.
pub fn sort(set: &mut Vec<Res>, order: &Order) {
    let Order::Legacy { first, last } = order else {
        return;
    };
    let mut ranks: HashMap<&str, i64> = HashMap::new();
    let n_first = i64::try_from(first.len()).unwrap_or(i64::MAX);
    for (i, k) in (0_i64..).zip(first) {
        ranks.insert(k.as_str(), i - n_first);
    }
    for (i, k) in (1_i64..).zip(last) {
        ranks.insert(k.as_str(), i);
    }
    // Keys are computed once per resource; the sort only compares them, and the resources
    // are moved into their places, never cloned (a clone of a 1,000-object render was half of
    // a cold `status`'s peak heap).
    let mut keyed: Vec<(i64, String, String, Res)> = std::mem::take(set)
        .into_iter()
        .map(|r| {
            let rank = ranks.get(r.kind()).copied().unwrap_or(0);
            (rank, gvk_key(&r), id_key(&r), r)
        })
        .collect();
    keyed.sort_by(|a, b| match a.0.cmp(&b.0) {
        Ordering::Equal => a.1.cmp(&b.1).then_with(|| a.2.cmp(&b.2)),
        o => o,
    });
    set.extend(keyed.into_iter().map(|(_, _, _, r)| r));
}

fn or<'a>(s: &'a str, empty: &'a str) -> &'a str {
    if s.is_empty() { empty } else { s }
}

fn gvk_key(r: &Res) -> String {
    format!(
        "{}_{}_{}",
        or(r.group(), "~G"),
        or(r.version(), "~V"),
        or(r.kind(), "~K")
    )
}

fn id_key(r: &Res) -> String {
    format!("{}|{}", or(r.namespace(), "~X"), or(r.name(), "~N"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(api: &str, kind: &str, ns: &str, name: &str) -> Res {
        let mut meta = serde_json::Map::new();
        meta.insert("name".into(), json!(name));
        if !ns.is_empty() {
            meta.insert("namespace".into(), json!(ns));
        }
        Res::new(json!({"apiVersion": api, "kind": kind, "metadata": meta}))
    }

    fn names(set: &[Res]) -> Vec<String> {
        set.iter()
            .map(|r| format!("{}/{}/{}", r.kind(), r.namespace(), r.name()))
            .collect()
    }

    #[test]
    fn legacy_order_puts_namespaces_first_webhooks_last_then_gvk_then_id() {
        let mut set = vec![
            res(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "",
                "v",
            ),
            res("example.com/v1", "Widget", "", "w"),
            res("apps/v1", "Deployment", "b", "d"),
            res("apps/v1", "Deployment", "", "d"),
            res("apps/v1", "Deployment", "a", "d"),
            res("v1", "Namespace", "", "ns"),
            res("batch/v1", "Job", "", "j"),
        ];
        sort(&mut set, &Order::default());
        assert_eq!(
            names(&set),
            [
                "Namespace//ns",
                "Deployment/a/d",
                "Deployment/b/d",
                "Deployment//d",
                "Job//j",
                "Widget//w",
                "ValidatingWebhookConfiguration//v"
            ]
        );
    }

    #[test]
    fn fifo_keeps_input_order_and_options_are_checked() {
        let mut set = vec![
            res("v1", "Service", "", "s"),
            res("v1", "Namespace", "", "n"),
        ];
        let fifo = Order::from_options(Some(&json!({"order": "fifo"}))).unwrap();
        sort(&mut set, &fifo);
        assert_eq!(names(&set), ["Service//s", "Namespace//n"]);
        let custom = Order::from_options(Some(
            &json!({"order": "legacy", "legacySortOptions": {"orderFirst": ["Service"], "orderLast": ["Namespace"]}}),
        ))
        .unwrap();
        sort(&mut set, &custom);
        assert_eq!(names(&set), ["Service//s", "Namespace//n"]);
        assert!(Order::from_options(Some(&json!({"order": "random"}))).is_err());
        assert!(
            Order::from_options(Some(&json!({"order": "fifo", "legacySortOptions": {}}))).is_err()
        );
    }
}
