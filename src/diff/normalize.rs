//! Normalization and Secret masking: what is stripped from an object before it is compared or
//! shown. Pure functions over `serde_json::Value`; imports nothing of the crate.
//!
//! Normalization removes what the API server or driftdeck itself writes and Git never holds
//! (status, identity and bookkeeping metadata, the tracking label and annotations), and folds a
//! Secret's `stringData` into `data` the way the API server does, so a desired Secret written
//! with `stringData` equals its live form. Masking replaces every Secret value by a short keyed hash
//! (HMAC under a per-process random key) of the decoded bytes: equal values stay equal, changed values are visible, and the value
//! itself never reaches a diff, a log line or a `Debug` print.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Metadata fields the API server owns.
pub(crate) const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
];

/// Annotations written by tools, controllers or driftdeck itself; none of them is desired state.
pub(crate) const NOISE_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    ENV_ANNOTATION,
    REVISION_ANNOTATION,
];

use crate::model::{ENV_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, REVISION_ANNOTATION};

/// A copy of `obj` without status, server-owned metadata, the last-applied annotation,
/// `deployment.kubernetes.io/revision`, driftdeck's tracking label and annotations, and empty
/// label/annotation maps. Secrets get `stringData` folded into `data` (base64, canonical).
pub fn normalize(obj: &Value) -> Value {
    let mut out = obj.clone();
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    map.remove("status");
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        for field in SERVER_METADATA {
            meta.remove(*field);
        }
        if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
            for a in NOISE_ANNOTATIONS {
                annotations.remove(*a);
            }
        }
        if let Some(Value::Object(labels)) = meta.get_mut("labels")
            && labels.get(MANAGED_BY_LABEL).and_then(Value::as_str) == Some(MANAGED_BY_VALUE)
        {
            labels.remove(MANAGED_BY_LABEL);
        }
        for field in ["annotations", "labels"] {
            if meta.get(field).is_some_and(is_empty) {
                meta.remove(field);
            }
        }
    }
    if is_secret(map) {
        fold_string_data(map);
    }
    out
}

/// Whether a value carries no information: null, `{}` or `[]`.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

pub(crate) fn is_secret(map: &Map<String, Value>) -> bool {
    map.get("kind").and_then(Value::as_str) == Some("Secret")
        && map.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// The API server merges `stringData` into `data` (stringData wins) and never returns it.
fn fold_string_data(map: &mut Map<String, Value>) {
    let string_data = match map.remove("stringData") {
        Some(Value::Object(sd)) => sd,
        _ => Map::new(),
    };
    let mut data = match map.remove("data") {
        Some(Value::Object(d)) => d,
        _ => Map::new(),
    };
    for v in data.values_mut() {
        // Re-encode so that two spellings of the same bytes compare equal.
        if let Some(bytes) = v.as_str().and_then(|s| STANDARD.decode(s.trim()).ok()) {
            *v = Value::String(STANDARD.encode(bytes));
        }
    }
    for (k, v) in string_data {
        let text = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        data.insert(k, Value::String(STANDARD.encode(text)));
    }
    if !data.is_empty() {
        map.insert("data".to_owned(), Value::Object(data));
    }
}

/// For a v1 Secret, a copy with every `data` and `stringData` value replaced by
/// `<masked:xxxxxxxx>`: the first 8 hex digits of an HMAC-SHA256 of the decoded value
/// (`stringData` values are taken as they are) under [`mask_key`], a random key made once per
/// process. Within one process — one view, one diff — equal values get equal masks, so a
/// changed value still shows as changed; across runs nothing links, and a weak value cannot be
/// guessed offline from its mask (a bare hash of `hunter2` can). The last-applied annotation,
/// which would hold the values in clear, is dropped too. Any other object is returned unchanged.
pub fn mask_secret(obj: &Value) -> Value {
    let mut out = obj.clone();
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    if !is_secret(map) {
        return out;
    }
    if let Some(Value::Object(data)) = map.get_mut("data") {
        for v in data.values_mut() {
            let bytes = match &*v {
                Value::String(s) => STANDARD
                    .decode(s.trim())
                    .unwrap_or_else(|_| s.as_bytes().to_vec()),
                other => other.to_string().into_bytes(),
            };
            *v = Value::String(short_hash(&bytes));
        }
    }
    if let Some(Value::Object(data)) = map.get_mut("stringData") {
        for v in data.values_mut() {
            let bytes = match &*v {
                Value::String(s) => s.as_bytes().to_vec(),
                other => other.to_string().into_bytes(),
            };
            *v = Value::String(short_hash(&bytes));
        }
    }
    if let Some(Value::Object(annotations)) = map
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    out
}

/// The per-process key of the Secret masks: 32 random bytes, made on first use, never stored.
fn mask_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(rand::random)
}

fn short_hash(bytes: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail on 32 bytes; the
    // fallback keeps masking total rather than panicking.
    let digest = match Hmac::<Sha256>::new_from_slice(mask_key()) {
        Ok(mut mac) => {
            mac.update(bytes);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => hex::encode(Sha256::digest([mask_key().as_slice(), bytes].concat())),
    };
    format!("<masked:{}>", &digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_server_fields_and_tracking_metadata() {
        let live = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {
                "name": "a", "namespace": "ns", "uid": "u", "resourceVersion": "7",
                "generation": 2, "creationTimestamp": "2024-01-01T00:00:00Z",
                "managedFields": [{"manager": "driftdeck"}],
                "labels": {"app.kubernetes.io/managed-by": "driftdeck"},
                "annotations": {"driftdeck.io/env": "dev", "driftdeck.io/revision": "abc",
                                "kubectl.kubernetes.io/last-applied-configuration": "{}"}
            },
            "data": {"k": "v"},
            "status": {"x": 1}
        });
        assert_eq!(
            normalize(&live),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "a", "namespace": "ns"}, "data": {"k": "v"}})
        );
    }

    #[test]
    fn keeps_a_foreign_managed_by_label() {
        let obj = json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": "helm"}}});
        assert_eq!(normalize(&obj), obj);
    }

    #[test]
    fn string_data_folds_into_data() {
        let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                             "stringData": {"password": "hunter2"}});
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                          "data": {"password": "aHVudGVyMg=="}});
        assert_eq!(normalize(&desired), normalize(&live));
    }

    #[test]
    fn masking_hashes_decoded_values() {
        let a = json!({"apiVersion": "v1", "kind": "Secret", "data": {"p": "aHVudGVyMg=="},
                       "stringData": {"q": "hunter2"}});
        let masked = mask_secret(&a);
        let p = masked["data"]["p"].as_str().unwrap();
        assert!(p.starts_with("<masked:") && p.len() == "<masked:>".len() + 8);
        assert_eq!(masked["data"]["p"], masked["stringData"]["q"]);
        assert!(!masked.to_string().contains("hunter2"));
        assert!(!masked.to_string().contains("aHVudGVyMg"));
    }

    #[test]
    fn masks_are_keyed_not_a_bare_hash_of_the_value() {
        let secret =
            |v: &str| json!({"apiVersion": "v1", "kind": "Secret", "stringData": {"p": v}});
        let mask = |v: &str| mask_secret(&secret(v))["stringData"]["p"].clone();
        // A bare sha256 of a weak value is guessable offline; the keyed mask is not it.
        let bare = format!("{:x}", Sha256::digest(b"hunter2"));
        let masked = mask("hunter2");
        assert!(!bare.starts_with(&masked.as_str().unwrap()["<masked:".len()..][..8]));
        assert_ne!(masked, mask("hunter3"));
        assert_eq!(masked, mask("hunter2"));
    }

    #[test]
    fn masking_leaves_other_kinds_alone() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"p": "x"}});
        assert_eq!(mask_secret(&cm), cm);
    }
}
