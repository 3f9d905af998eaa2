//! Checks every write passes before defaults, managed fields or the store touch it, where
//! driftdeck's tests rely on the sandbox behaving like a real API server:
//! - shape: the fields those steps index into must have the type the API gives them
//!   (metadata, labels, annotations, spec, status are objects; label and annotation values
//!   strings);
//! - schema of built-in kinds for the integer fields clients commonly get wrong
//!   (`replicas: "abc"` is a 422 Invalid, as the real server's schema validation answers);
//! - size: a request body over [`MAX_REQUEST_BYTES`] is a 413 (the real server's etcd
//!   refuses such objects), ConfigMap/Secret data over 1 MiB a 422;
//! - a Secret's `stringData` is merged into `data` (base64) and dropped, as the real server
//!   stores it.
//!
//! A violation is an [`ApiError`] naming the field, never a panic deeper down. Imports nothing
//! of the crate.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::error::ApiError;

/// The largest request body (and stored object) accepted: etcd's default request limit.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024 * 3 / 2;
/// ConfigMap and Secret data limit of the real server's validation.
const MAX_DATA_BYTES: usize = 1024 * 1024;

/// A 413 for a request body over [`MAX_REQUEST_BYTES`], before it is decoded.
pub fn request_size(len: usize) -> Result<(), ApiError> {
    if len > MAX_REQUEST_BYTES {
        return Err(too_large());
    }
    Ok(())
}

fn too_large() -> ApiError {
    ApiError::new(
        413,
        "RequestEntityTooLarge",
        format!("Request entity too large: limit is {MAX_REQUEST_BYTES}"),
    )
}

/// Every check of the module doc, on an object about to be created or updated; merges a
/// Secret's `stringData` into `data`.
pub fn admit(obj: &mut Value) -> Result<(), ApiError> {
    shape(obj)?;
    let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
    let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_owned();
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let group = api_version.split_once('/').map_or("", |(g, _)| g);
    if kind == "Secret" && group.is_empty() {
        merge_string_data(obj);
    }
    schema(group, &kind, &name, obj)?;
    if group.is_empty() && (kind == "ConfigMap" || kind == "Secret") {
        let size = data_bytes(&kind, obj);
        if size > MAX_DATA_BYTES {
            let field = if kind == "ConfigMap" { "[]" } else { "data" };
            return Err(ApiError::invalid(
                &kind,
                &name,
                field,
                &format!("Too long: must have at most {MAX_DATA_BYTES} bytes"),
            ));
        }
    }
    if serde_json::to_vec(obj).map_or(0, |v| v.len()) > MAX_REQUEST_BYTES {
        return Err(too_large());
    }
    Ok(())
}

fn merge_string_data(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let Some(Value::Object(strings)) = map.remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Some(data) = data.as_object_mut() {
        for (k, v) in strings {
            let text = v.as_str().unwrap_or_default();
            let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            data.insert(k, Value::String(encoded));
        }
    }
}

fn data_bytes(kind: &str, obj: &Value) -> usize {
    let decoded = |v: &Value| {
        let text = v.as_str().unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_or(text.len(), |b| b.len())
    };
    let entries = |field: &str| obj[field].as_object().cloned().unwrap_or_default();
    if kind == "Secret" {
        return entries("data").values().map(decoded).sum();
    }
    let text: usize = entries("data")
        .iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    let binary: usize = entries("binaryData")
        .iter()
        .map(|(k, v)| k.len() + decoded(v))
        .sum();
    text + binary
}

/// Integer fields of built-in kinds, as paths from the object (`[]` walks a list).
fn integer_fields(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("apps", "Deployment" | "StatefulSet" | "ReplicaSet") | ("", "ReplicationController") => &[
            "spec.replicas",
            "spec.minReadySeconds",
            "spec.revisionHistoryLimit",
            "spec.progressDeadlineSeconds",
            "spec.template.spec.containers[].ports[].containerPort",
        ],
        ("apps", "DaemonSet") => &[
            "spec.minReadySeconds",
            "spec.revisionHistoryLimit",
            "spec.template.spec.containers[].ports[].containerPort",
        ],
        ("batch", "Job") => &[
            "spec.parallelism",
            "spec.completions",
            "spec.backoffLimit",
            "spec.activeDeadlineSeconds",
            "spec.template.spec.containers[].ports[].containerPort",
        ],
        ("", "Pod") => &["spec.containers[].ports[].containerPort"],
        ("", "Service") => &["spec.ports[].port", "spec.ports[].nodePort"],
        _ => &[],
    }
}

fn schema(group: &str, kind: &str, name: &str, obj: &Value) -> Result<(), ApiError> {
    for path in integer_fields(group, kind) {
        let mut found = Vec::new();
        collect(obj, path, String::new(), &mut found);
        if let Some((field, v)) = found
            .into_iter()
            .find(|(_, v)| !v.is_null() && !v.is_i64() && !v.is_u64())
        {
            let type_name = match v {
                Value::String(_) => "string",
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                Value::Array(_) => "array",
                _ => "object",
            };
            return Err(ApiError::invalid(
                kind,
                name,
                &field,
                &format!(
                    "Invalid value: \"{type_name}\": {field} in body must be of type integer: \"{type_name}\""
                ),
            ));
        }
    }
    Ok(())
}

/// The values at `path` (dotted, `[]` for every item of a list), with their concrete paths.
fn collect<'a>(v: &'a Value, path: &str, at: String, out: &mut Vec<(String, &'a Value)>) {
    if path.is_empty() {
        out.push((at, v));
        return;
    }
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    let join = |at: &str, seg: &str| {
        if at.is_empty() {
            seg.to_owned()
        } else {
            format!("{at}.{seg}")
        }
    };
    if let Some(list) = head.strip_suffix("[]") {
        if let Some(items) = v.get(list).and_then(Value::as_array) {
            for (i, item) in items.iter().enumerate() {
                collect(item, rest, join(&at, &format!("{list}[{i}]")), out);
            }
        }
    } else if let Some(next) = v.get(head) {
        collect(next, rest, join(&at, head), out);
    }
}

pub fn shape(obj: &Value) -> Result<(), ApiError> {
    let kind = obj["kind"].as_str().unwrap_or("object");
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let invalid = |field: &str, why: &str| Err(ApiError::invalid(kind, name, field, why));
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the request body is not a JSON object",
        ));
    }
    if !obj["metadata"].is_object() && !obj["metadata"].is_null() {
        return invalid("metadata", "must be an object");
    }
    for field in ["labels", "annotations"] {
        match &obj["metadata"][field] {
            Value::Null => {}
            Value::Object(m) => {
                if let Some((k, _)) = m.iter().find(|(_, v)| !v.is_string()) {
                    return invalid(&format!("metadata.{field}.{k}"), "must be a string");
                }
            }
            _ => return invalid(&format!("metadata.{field}"), "must be an object"),
        }
    }
    for field in ["spec", "status"] {
        if let Some(v) = obj.get(field)
            && !v.is_object()
            && !v.is_null()
        {
            return invalid(field, "must be an object");
        }
    }
    if let Some(refs) = obj["metadata"].get("ownerReferences")
        && !refs.is_array()
        && !refs.is_null()
    {
        return invalid("metadata.ownerReferences", "must be a list");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_are_invalid_not_panics() {
        for bad in [
            json!({"kind": "Pod", "metadata": {"name": "p", "labels": "x"}}),
            json!({"kind": "Pod", "metadata": {"name": "p", "labels": {"a": 1}}}),
            json!({"kind": "Deployment", "metadata": {"name": "d"}, "spec": "x"}),
            json!({"kind": "Pod", "metadata": "x"}),
        ] {
            assert_eq!(shape(&bad).unwrap_err().code, 422, "{bad}");
        }
        assert!(shape(&json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {}})).is_ok());
    }

    #[test]
    fn a_string_where_the_schema_wants_an_integer_is_invalid() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d"}, "spec": {"replicas": "abc"}});
        let e = admit(&mut d).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(e.message.contains("spec.replicas"), "{}", e.message);
        let mut port = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80}, {"port": "http"}]}});
        let e = admit(&mut port).unwrap_err();
        assert!(e.message.contains("spec.ports[1].port"), "{}", e.message);
        let mut ok = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d"}, "spec": {"replicas": 3}});
        assert!(admit(&mut ok).is_ok());
    }

    #[test]
    fn string_data_is_merged_into_data_and_dropped() {
        let mut s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "eA=="}, "stringData": {"b": "yz", "a": "w"}});
        admit(&mut s).unwrap();
        assert_eq!(s["data"], json!({"a": "dw==", "b": "eXo="}));
        assert!(s.get("stringData").is_none());
    }

    #[test]
    fn oversize_requests_and_data_are_refused() {
        assert_eq!(request_size(MAX_REQUEST_BYTES + 1).unwrap_err().code, 413);
        assert!(request_size(MAX_REQUEST_BYTES).is_ok());
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"k": "x".repeat(MAX_DATA_BYTES)}});
        let e = admit(&mut cm).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(e.message.contains("Too long"), "{}", e.message);
        let mut blob = json!({"apiVersion": "example.com/v1", "kind": "Blob",
            "metadata": {"name": "b"}, "spec": {"x": "y".repeat(MAX_REQUEST_BYTES)}});
        assert_eq!(admit(&mut blob).unwrap_err().code, 413);
    }
}
