//! How one object version is held: its compact JSON text (what lists and watches send, spliced
//! without re-encoding) plus a small parsed index — name, namespace, labels, uid and owner uids
//! — for selectors and the ownerReference cascade. A `serde_json::Value` costs several times
//! its text in memory (a B-tree node per map); text keeps 10,000 pods well under 200 MB.
//! Imports nothing of the crate.

use std::sync::Arc;

use serde_json::{Value, json};

/// One stored object version. Cheap to clone (shared text).
#[derive(Debug, Clone)]
pub struct Stored {
    json: Arc<str>,
    index: Arc<Value>,
}

impl Stored {
    pub fn new(obj: &Value) -> Self {
        let m = &obj["metadata"];
        let owners: Vec<Value> = m["ownerReferences"]
            .as_array()
            .map(|refs| refs.iter().map(|r| json!({"uid": r["uid"]})).collect())
            .unwrap_or_default();
        let index = json!({"metadata": {"name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
            "labels": m["labels"], "ownerReferences": owners}});
        Stored {
            json: Arc::from(serde_json::to_string(obj).unwrap_or_default()),
            index: Arc::new(index),
        }
    }

    /// The object, parsed (a fresh copy the caller may change).
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }

    pub fn json(&self) -> &str {
        &self.json
    }

    /// `{"metadata": {name, namespace, uid, labels, ownerReferences: [{uid}]}}`: enough for
    /// label selectors and `metadata.name`/`metadata.namespace` field selectors.
    pub fn index(&self) -> &Value {
        &self.index
    }

    pub fn has_owner(&self, uid: &str) -> bool {
        self.index["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(uid)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_indexes_owners() {
        let obj = json!({"metadata": {"name": "p", "labels": {"a": "b"},
            "ownerReferences": [{"uid": "u1", "kind": "ReplicaSet"}]}, "spec": {"x": [1, 2]}});
        let s = Stored::new(&obj);
        assert_eq!(s.value(), obj);
        assert!(s.has_owner("u1") && !s.has_owner("u2"));
        assert_eq!(s.index()["metadata"]["labels"]["a"], "b");
    }
}
