//! Display forms: stable YAML (sorted keys) and the unified diff of two objects. Pure; imports
//! only `crate::model` for the resource key shown in the header.
//!
//! Callers pass objects that are already normalized and Secret-masked: this file prints what it
//! is given and is therefore the last place a Secret value could leak, never the first guard.

use serde_json::{Map, Value};
use similar::TextDiff;

use crate::model::ResourceKey;

/// YAML with keys sorted at every level, so equal objects print identically whatever order
/// the API server or the renderer produced. Falls back to pretty JSON (also valid YAML) if the
/// YAML serializer refuses the value.
pub fn to_yaml(v: &Value) -> String {
    // serde_json's map is ordered unless some crate turns on `preserve_order`; copy only then.
    let sorted;
    let v = if is_sorted(v) {
        v
    } else {
        sorted = sort_keys(v);
        &sorted
    };
    match serde_saphyr::to_string(v) {
        Ok(text) => text,
        Err(_) => serde_json::to_string_pretty(v).unwrap_or_default(),
    }
}

fn is_sorted(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            m.keys().zip(m.keys().skip(1)).all(|(a, b)| a <= b) && m.values().all(is_sorted)
        }
        Value::Array(a) => a.iter().all(is_sorted),
        _ => true,
    }
}

fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sort_keys(v)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// Unified diff (3 lines of context) from `live` to `desired`, headed `--- live <key>` and
/// `+++ desired <key>`. Either side may be `None` (Missing, Extra).
pub(crate) fn unified(key: &ResourceKey, live: Option<&Value>, desired: Option<&Value>) -> String {
    let a = live.map(to_yaml).unwrap_or_default();
    let b = desired.map(to_yaml).unwrap_or_default();
    TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live {key}"), &format!("desired {key}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_is_sorted_and_stable() {
        let a = to_yaml(&json!({"b": 1, "a": {"d": "x", "c": [1, 2]}}));
        let a_pos = a.find("a:").unwrap();
        let b_pos = a.find("b:").unwrap();
        assert!(a_pos < b_pos, "{a}");
        assert!(a.find("c:").unwrap() < a.find("d:").unwrap(), "{a}");
    }

    #[test]
    fn multi_line_strings_print_as_blocks_so_diffs_are_per_line() {
        let text = to_yaml(&json!({"conf": "a: 1\nb: 2\n", "port": "8080"}));
        assert_eq!(text, "conf: |\n  a: 1\n  b: 2\nport: \"8080\"\n");
    }

    #[test]
    fn unified_diff_has_headers_and_changes() {
        let key = ResourceKey::new("", "ConfigMap", "ns", "cfg");
        let text = unified(
            &key,
            Some(&json!({"data": {"level": "info"}})),
            Some(&json!({"data": {"level": "debug"}})),
        );
        assert!(
            text.starts_with("--- live ConfigMap/ns/cfg\n+++ desired ConfigMap/ns/cfg\n"),
            "{text}"
        );
        assert!(text.contains("-  level: info"), "{text}");
        assert!(text.contains("+  level: debug"), "{text}");
    }
}
