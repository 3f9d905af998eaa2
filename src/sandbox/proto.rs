//! Just enough of the Kubernetes protobuf encoding to accept the writes kubectl's typed
//! clients send as `application/vnd.kubernetes.protobuf` (`kubectl create namespace`,
//! `create configmap`, `create secret generic`, `create deployment`, …): the `k8s\0` +
//! `runtime.Unknown` envelope, ObjectMeta (name, generateName, namespace, labels, annotations,
//! finalizers), the Namespace, ConfigMap and Secret bodies here and the other generators' kinds
//! through `proto_schema`'s field tables. Other kinds answer 415 with a message that says so.
//! Answers are always JSON, which those clients accept. Pure; imports nothing of the crate.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::proto_schema;

pub(super) enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(out);
        }
    }
    None
}

pub(super) fn fields(buf: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let tag = varint(buf, &mut pos)?;
        let (num, wire) = (tag >> 3, tag & 7);
        let f = match wire {
            0 => Field::Varint(varint(buf, &mut pos)?),
            1 => {
                pos = pos.checked_add(8)?;
                Field::Fixed
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(len)?;
                let b = buf.get(pos..end)?;
                pos = end;
                Field::Bytes(b)
            }
            5 => {
                pos = pos.checked_add(4)?;
                Field::Fixed
            }
            _ => return None,
        };
        out.push((num, f));
    }
    (pos == buf.len()).then_some(out)
}

pub(super) fn text(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

/// A map entry message `{1: key, 2: value}`; `bytes` values become base64 (as JSON has them).
fn entry(b: &[u8], binary: bool) -> Option<(String, Value)> {
    let mut k = String::new();
    let mut v = Value::String(String::new());
    for (n, f) in fields(b)? {
        if let Field::Bytes(x) = f {
            match n {
                1 => k = String::from_utf8_lossy(x).into_owned(),
                2 if binary => v = json!(base64::engine::general_purpose::STANDARD.encode(x)),
                2 => v = text(x),
                _ => {}
            }
        }
    }
    Some((k, v))
}

pub(super) fn insert_entry(obj: &mut Value, field: &str, b: &[u8], binary: bool) -> Option<()> {
    let (k, v) = entry(b, binary)?;
    if !obj[field].is_object() {
        obj[field] = Value::Object(Map::new());
    }
    obj[field][k] = v;
    Some(())
}

pub(super) fn object_meta(b: &[u8]) -> Option<Value> {
    let mut m = json!({});
    for (n, f) in fields(b)? {
        let Field::Bytes(x) = f else { continue };
        // Go writes every string field, set or not: an empty one is unset.
        if x.is_empty() && matches!(n, 1..=3) {
            continue;
        }
        match n {
            1 => m["name"] = text(x),
            2 => m["generateName"] = text(x),
            3 => m["namespace"] = text(x),
            11 => insert_entry(&mut m, "labels", x, false)?,
            12 => insert_entry(&mut m, "annotations", x, false)?,
            14 => {
                if !m["finalizers"].is_array() {
                    m["finalizers"] = json!([]);
                }
                if let Some(a) = m["finalizers"].as_array_mut() {
                    a.push(text(x));
                }
            }
            _ => {}
        }
    }
    Some(m)
}

fn body(kind: &str, raw: &[u8]) -> Option<Value> {
    let mut obj = json!({});
    for (n, f) in fields(raw)? {
        match (kind, n, f) {
            (_, 1, Field::Bytes(x)) => obj["metadata"] = object_meta(x)?,
            ("ConfigMap", 2, Field::Bytes(x)) => insert_entry(&mut obj, "data", x, false)?,
            ("ConfigMap", 3, Field::Bytes(x)) => insert_entry(&mut obj, "binaryData", x, true)?,
            ("ConfigMap", 4, Field::Varint(v)) | ("Secret", 5, Field::Varint(v)) => {
                obj["immutable"] = json!(v != 0)
            }
            ("Secret", 2, Field::Bytes(x)) => insert_entry(&mut obj, "data", x, true)?,
            ("Secret", 3, Field::Bytes(x)) => obj["type"] = text(x),
            ("Secret", 4, Field::Bytes(x)) => insert_entry(&mut obj, "stringData", x, false)?,
            ("Namespace", 2, Field::Bytes(x)) => {
                let fins: Vec<Value> = fields(x)?
                    .into_iter()
                    .filter_map(|(n, f)| match (n, f) {
                        (1, Field::Bytes(s)) => Some(text(s)),
                        _ => None,
                    })
                    .collect();
                obj["spec"] = json!({"finalizers": fins});
            }
            _ => {}
        }
    }
    Some(obj)
}

/// Decodes a protobuf request body into the JSON object it stands for.
pub fn decode(buf: &[u8]) -> Result<Value, ApiError> {
    let bad = || ApiError::bad_request("the protobuf request body is malformed");
    let inner = buf.strip_prefix(b"k8s\0").ok_or_else(bad)?;
    let mut api_version = Value::Null;
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, f) in fields(inner).ok_or_else(bad)? {
        match (n, f) {
            (1, Field::Bytes(tm)) => {
                for (tn, tf) in fields(tm).ok_or_else(bad)? {
                    match (tn, tf) {
                        (1, Field::Bytes(x)) => api_version = text(x),
                        (2, Field::Bytes(x)) => kind = String::from_utf8_lossy(x).into_owned(),
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    let mut obj = if let Some(schema) = proto_schema::schema_of(&kind) {
        Value::Object(proto_schema::message(raw, schema).ok_or_else(bad)?)
    } else if matches!(kind.as_str(), "Namespace" | "ConfigMap" | "Secret") {
        body(&kind, raw).ok_or_else(bad)?
    } else {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the sandbox decodes protobuf only for the kinds `kubectl create` generators send, not {kind:?}; send JSON"
            ),
        ));
    };
    obj["apiVersion"] = api_version;
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(mut n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let low = u8::try_from(n & 0x7f).unwrap();
            n >>= 7;
            if n == 0 {
                out.push(low);
                return out;
            }
            out.push(low | 0x80);
        }
    }

    fn ld(field: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = encode((u64::from(field) << 3) | 2);
        v.extend(encode(payload.len() as u64));
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn decodes_a_namespace_envelope() {
        let meta = [
            ld(1, b"apps"),
            ld(
                11,
                &[ld(1, b"team").as_slice(), ld(2, b"a").as_slice()].concat(),
            ),
        ]
        .concat();
        let ns = ld(1, &meta);
        let type_meta = [ld(1, b"v1"), ld(2, b"Namespace")].concat();
        let unknown = [ld(1, &type_meta), ld(2, &ns)].concat();
        let buf = [b"k8s\0".as_slice(), unknown.as_slice()].concat();
        let obj = decode(&buf).unwrap();
        assert_eq!(obj["kind"], "Namespace");
        assert_eq!(obj["metadata"]["name"], "apps");
        assert_eq!(obj["metadata"]["labels"]["team"], "a");
    }

    fn varint_field(field: u8, v: u8) -> Vec<u8> {
        [encode(u64::from(field) << 3), encode(u64::from(v))].concat()
    }

    fn envelope(api_version: &[u8], kind: &[u8], body: &[u8]) -> Vec<u8> {
        let type_meta = [ld(1, api_version), ld(2, kind)].concat();
        let unknown = [ld(1, &type_meta), ld(2, body)].concat();
        [b"k8s\0".as_slice(), unknown.as_slice()].concat()
    }

    #[test]
    fn decodes_a_kubectl_create_deployment_without_empty_fields() {
        // As Go marshals it: empty strings and zero plain numbers written, pointers when set.
        let labels = ld(11, &[ld(1, b"app"), ld(2, b"web")].concat());
        let meta = [ld(1, b"web"), ld(2, b""), ld(3, b""), labels.clone()].concat();
        let container = [
            ld(1, b"nginx"),
            ld(2, b"nginx:1.25"),
            ld(5, b""),
            ld(8, b""),
            ld(13, b""),
        ]
        .concat();
        let pod_spec = [ld(2, &container), ld(3, b""), ld(19, b"")].concat();
        let template = [
            ld(1, &[ld(2, b""), labels.clone()].concat()),
            ld(2, &pod_spec),
        ]
        .concat();
        let selector = ld(1, &[ld(1, b"app"), ld(2, b"web")].concat());
        let spec = [
            varint_field(1, 1),
            ld(2, &selector),
            ld(3, &template),
            ld(4, b""),
            varint_field(5, 0),
        ]
        .concat();
        let body = [ld(1, &meta), ld(2, &spec), ld(3, b"")].concat();
        let obj = decode(&envelope(b"apps/v1", b"Deployment", &body)).unwrap();
        assert_eq!(
            obj["metadata"],
            json!({"name": "web", "labels": {"app": "web"}})
        );
        assert_eq!(obj["spec"]["replicas"], 1);
        assert_eq!(obj["spec"]["selector"]["matchLabels"]["app"], "web");
        assert_eq!(obj["spec"]["strategy"], json!({}));
        assert!(obj["spec"].get("minReadySeconds").is_none());
        assert_eq!(
            obj["spec"]["template"]["spec"]["containers"],
            json!([{"name": "nginx", "image": "nginx:1.25", "resources": {}}])
        );
        assert!(obj.get("status").is_none());
    }

    #[test]
    fn decodes_a_service_port_with_an_int_target() {
        let target = [varint_field(1, 0), varint_field(2, 0x50)].concat();
        let port = [
            ld(1, b"80-80"),
            ld(2, b"TCP"),
            varint_field(3, 0x50),
            ld(4, &target),
            varint_field(5, 0),
        ]
        .concat();
        let spec = [ld(1, &port), ld(4, b"ClusterIP"), ld(3, b"")].concat();
        let body = [ld(1, &ld(1, b"s")), ld(2, &spec)].concat();
        let obj = decode(&envelope(b"v1", b"Service", &body)).unwrap();
        assert_eq!(
            obj["spec"],
            json!({"ports": [{"name": "80-80", "protocol": "TCP", "port": 80, "targetPort": 80}],
                   "type": "ClusterIP"})
        );
    }

    #[test]
    fn garbage_is_a_bad_request_not_a_panic() {
        assert_eq!(decode(b"k8s\0\xff\xff\xff").unwrap_err().code, 400);
        assert_eq!(decode(b"nope").unwrap_err().code, 400);
    }
}
