//! Shape checks every write passes before defaults, managed fields or the store touch it:
//! the fields those steps index into must have the type the API gives them (metadata,
//! labels, annotations, spec, status are objects; label and annotation values strings).
//! A violation is a 422 Invalid naming the field, never a panic deeper down. Imports nothing
//! of the crate.

use serde_json::Value;

use super::error::ApiError;

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
}
