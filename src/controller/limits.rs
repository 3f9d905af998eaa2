//! Size limits checked on the render before anything is sent: an object whose JSON is over
//! the API server's request limit, or a ConfigMap/Secret whose data is over 1 MiB, fails the
//! operation with a message naming the object, its size and the limit.
//!
//! Why client-side: a real API server refuses such objects only after receiving the whole
//! request (etcd's default 1.5 MiB request limit; the 1 MiB data limit of ConfigMap and Secret
//! validation), and holding and sending a 10 MB object cost the controller hundreds of MB.
//! Sizes are counted the way the API server's validation counts them: ConfigMap keys plus
//! values (binaryData decoded), Secret decoded values (stringData included).
//!
//! Pure: imports model only.

use base64::Engine as _;
use serde_json::Value;

use crate::model::Manifest;

/// etcd's default request size limit (`--max-request-bytes`), which caps one stored object.
pub const MAX_OBJECT_BYTES: usize = 1024 * 1024 * 3 / 2;
/// ConfigMap and Secret data limit enforced by the API server's validation.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;

/// Every rendered object over a limit, one message each (empty when all fit).
pub fn oversize(manifests: &[Manifest]) -> Vec<String> {
    manifests.iter().filter_map(check).collect()
}

fn label(m: &Manifest) -> String {
    if m.namespace().is_empty() {
        format!("{}/{}", m.kind(), m.name())
    } else {
        format!("{}/{}/{}", m.kind(), m.namespace(), m.name())
    }
}

fn check(m: &Manifest) -> Option<String> {
    let obj = m.object();
    let core = m.api_version() == "v1";
    let data = match m.kind() {
        "ConfigMap" if core => Some(configmap_data_bytes(obj)),
        "Secret" if core => Some(secret_data_bytes(obj)),
        _ => None,
    };
    if let Some(n) = data.filter(|n| *n > MAX_DATA_BYTES) {
        return Some(format!(
            "{} is too large: its data is {n} bytes, over the API server's limit of \
             {MAX_DATA_BYTES} bytes (1 MiB) for a {}",
            label(m),
            m.kind()
        ));
    }
    let total = serde_json::to_vec(obj).map_or(0, |v| v.len());
    (total > MAX_OBJECT_BYTES).then(|| {
        format!(
            "{} is too large: {total} bytes of JSON, over the API server's request limit of \
             {MAX_OBJECT_BYTES} bytes (1.5 MiB)",
            label(m)
        )
    })
}

fn entries(obj: &Value, field: &str) -> impl Iterator<Item = (String, Value)> {
    obj.get(field)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
        .into_iter()
}

fn text_len(v: &Value) -> usize {
    v.as_str().map_or(0, str::len)
}

/// Length of base64 text once decoded (the text's own length when it is not valid base64:
/// the server will refuse it anyway, and this check must not hide that reason).
fn decoded_len(v: &Value) -> usize {
    let text = v.as_str().unwrap_or_default();
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_or(text.len(), |b| b.len())
}

fn configmap_data_bytes(obj: &Value) -> usize {
    let data: usize = entries(obj, "data")
        .map(|(k, v)| k.len() + text_len(&v))
        .sum();
    let binary: usize = entries(obj, "binaryData")
        .map(|(k, v)| k.len() + decoded_len(&v))
        .sum();
    data + binary
}

fn secret_data_bytes(obj: &Value) -> usize {
    // stringData overrides data key by key, as the server merges them.
    let strings: std::collections::BTreeMap<String, Value> = entries(obj, "stringData").collect();
    let data: usize = entries(obj, "data")
        .filter(|(k, _)| !strings.contains_key(k))
        .map(|(_, v)| decoded_len(&v))
        .sum();
    data + strings.values().map(text_len).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(obj: Value) -> Manifest {
        Manifest::new(obj).unwrap()
    }

    #[test]
    fn a_configmap_over_one_mebibyte_of_data_is_named_with_its_size() {
        let big = "x".repeat(MAX_DATA_BYTES);
        let cm = manifest(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "big", "namespace": "ns"}, "data": {"k": big}
        }));
        let found = oversize(&[cm]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("ConfigMap/ns/big is too large"),
            "{}",
            found[0]
        );
        assert!(
            found[0].contains(&(MAX_DATA_BYTES + 1).to_string()),
            "{}",
            found[0]
        );
    }

    #[test]
    fn secret_data_counts_decoded_bytes_and_string_data() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 800 * 1024]);
        let under = manifest(json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": b64.clone()}
        }));
        // 800 KiB decoded, although its base64 text is over 1 MiB.
        assert!(oversize(std::slice::from_ref(&under)).is_empty());
        let over = manifest(json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": b64}, "stringData": {"b": "y".repeat(300 * 1024)}
        }));
        assert_eq!(oversize(&[over]).len(), 1);
    }

    #[test]
    fn any_object_over_the_request_limit_is_refused_and_small_ones_pass() {
        let huge = manifest(json!({
            "apiVersion": "example.com/v1", "kind": "Blob", "metadata": {"name": "b"},
            "spec": {"payload": "z".repeat(MAX_OBJECT_BYTES)}
        }));
        let small = manifest(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"k": "v"}
        }));
        let found = oversize(&[huge, small]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("Blob/b") && found[0].contains("1.5 MiB"),
            "{}",
            found[0]
        );
    }
}
