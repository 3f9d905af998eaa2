//! Object helpers shared by the controllers: names, labels, selectors, owner references and the
//! name hashes Kubernetes uses.

use serde_json::Value;

/// The string at a JSON pointer, or `""`.
pub(crate) fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub(crate) fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name")
}

pub(crate) fn namespace(obj: &Value) -> &str {
    str_at(obj, "/metadata/namespace")
}
