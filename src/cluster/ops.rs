//! Writes and point reads: server-side apply (for real or as a dry run, which is also the
//! diff's primary strategy), get, delete and labelled lists. Objects in and out are plain JSON.
//! Each public method is one request retried on transient failures by
//! [`super::retry::retry_transient`] (discovery of the kind included), so callers never wrap
//! them in retries of their own.

use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PropagationPolicy,
};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::retry::retry_transient;
use super::{Cluster, Error, ResolvedKind};

/// The field manager every driftdeck apply uses; prune and ownership checks key on it.
pub const FIELD_MANAGER: &str = "driftdeck";

/// How a server-side apply is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// Persist, taking ownership of conflicting fields (Argo CD/Flux do the same: Git wins).
    Apply,
    /// `dryRun=All`: what the object would become, nothing stored.
    DryRun,
}

/// The identifying fields of a JSON object, with a readable label for errors.
struct Target<'a> {
    api_version: &'a str,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
}

impl<'a> Target<'a> {
    fn of(obj: &'a Value) -> Result<Self, Error> {
        let text = |v: &'a Value| v.as_str().unwrap_or_default();
        let t = Target {
            api_version: text(&obj["apiVersion"]),
            kind: text(&obj["kind"]),
            namespace: text(&obj["metadata"]["namespace"]),
            name: text(&obj["metadata"]["name"]),
        };
        if t.api_version.is_empty() || t.kind.is_empty() || t.name.is_empty() {
            return Err(Error::BadObject {
                what: t.label(),
                message: "apiVersion, kind and metadata.name are required".into(),
            });
        }
        Ok(t)
    }

    fn label(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

impl Cluster {
    /// The dynamic API of a resolved kind, in `namespace` when the kind is namespaced.
    pub fn dynamic_api(&self, kind: &ResolvedKind, namespace: &str) -> Api<DynamicObject> {
        if kind.namespaced {
            let ns = if namespace.is_empty() {
                "default"
            } else {
                namespace
            };
            Api::namespaced_with(self.client().clone(), ns, &kind.resource)
        } else {
            Api::all_with(self.client().clone(), &kind.resource)
        }
    }

    /// Server-side apply of `obj` with field manager [`FIELD_MANAGER`], forcing conflicts.
    /// Returns the object as the server stored it (or would have, for a dry run).
    pub async fn apply(&self, obj: &Value, mode: ApplyMode) -> Result<Value, Error> {
        retry_transient(|| self.apply_once(obj, mode)).await
    }

    async fn apply_once(&self, obj: &Value, mode: ApplyMode) -> Result<Value, Error> {
        let target = Target::of(obj)?;
        let kind = self.resolve(target.api_version, target.kind).await?;
        let api = self.dynamic_api(&kind, target.namespace);
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        if mode == ApplyMode::DryRun {
            params = params.dry_run();
        }
        let what = match mode {
            ApplyMode::Apply => format!("apply {}", target.label()),
            ApplyMode::DryRun => format!("dry-run apply {}", target.label()),
        };
        // Parsed straight into JSON: the `DynamicObject` detour (serde's flattening buffers
        // the whole object, then `to_value` copies it again) was most of a dry-run's client
        // cost when a cold `status` sends thousands of them.
        let request = kube::core::Request::new(api.resource_url())
            .patch(target.name, &params, &Patch::Apply(obj))
            .map_err(|e| Error::BadObject {
                what: what.clone(),
                message: e.to_string(),
            })?;
        let stored: Value = self
            .client()
            .request(request)
            .await
            .map_err(|e| self.api_error(what.clone(), e))?;
        match stored {
            Value::Object(mut map) => {
                set_type(&mut map, &kind);
                Ok(Value::Object(map))
            }
            _ => Err(Error::BadObject {
                what,
                message: "the server returned something other than an object".into(),
            }),
        }
    }

    /// The live object, or `None` when it does not exist.
    pub async fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, Error> {
        retry_transient(|| self.get_once(api_version, kind, namespace, name)).await
    }

    async fn get_once(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, Error> {
        let resolved = self.resolve(api_version, kind).await?;
        let api = self.dynamic_api(&resolved, namespace);
        let what = format!("get {kind}/{name}");
        match api.get_opt(name).await {
            Ok(Some(obj)) => to_value(obj, &resolved)
                .map(Some)
                .map_err(|message| Error::BadObject { what, message }),
            Ok(None) => Ok(None),
            Err(e) => Err(self.api_error(what, e)),
        }
    }

    /// Deletes an object (background cascade). Deleting what is already gone succeeds.
    pub async fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<(), Error> {
        retry_transient(|| self.delete_once(api_version, kind, namespace, name)).await
    }

    async fn delete_once(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<(), Error> {
        let resolved = self.resolve(api_version, kind).await?;
        let api = self.dynamic_api(&resolved, namespace);
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(self.api_error(format!("delete {kind}/{name}"), e)),
        }
    }

    /// Every object of a kind in `namespace` (all namespaces for cluster-scoped kinds) matching
    /// a label selector, `managedFields` included (for the ignore-by-manager rule).
    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        label_selector: &str,
    ) -> Result<Vec<Value>, Error> {
        self.list_json(api_version, kind, namespace, label_selector, true)
            .await
    }

    /// [`Cluster::list`] without `managedFields` (skipped while parsing, never built): for cold
    /// observations of thousands of objects, where the field sets were most of the memory.
    pub async fn list_lean(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        label_selector: &str,
    ) -> Result<Vec<Value>, Error> {
        self.list_json(api_version, kind, namespace, label_selector, false)
            .await
    }

    /// One list (retried), parsed straight from the response into JSON (no `DynamicObject`
    /// detour), with `apiVersion`/`kind` filled in on every item.
    async fn list_json(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        label_selector: &str,
        managed_fields: bool,
    ) -> Result<Vec<Value>, Error> {
        retry_transient(|| {
            self.list_once(api_version, kind, namespace, label_selector, managed_fields)
        })
        .await
    }

    async fn list_once(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        label_selector: &str,
        managed_fields: bool,
    ) -> Result<Vec<Value>, Error> {
        let resolved = self.resolve(api_version, kind).await?;
        let api = self.dynamic_api(&resolved, namespace);
        let params = ListParams::default().labels(label_selector);
        let what = format!("list {kind}");
        let request = kube::core::Request::new(api.resource_url())
            .list(&params)
            .map_err(|e| Error::BadObject {
                what: what.clone(),
                message: e.to_string(),
            })?;
        let items = if managed_fields {
            let list: ItemList<Map<String, Value>> = self
                .client()
                .request(request)
                .await
                .map_err(|e| self.api_error(what, e))?;
            list.items.unwrap_or_default()
        } else {
            let list: ItemList<LeanObject> = self
                .client()
                .request(request)
                .await
                .map_err(|e| self.api_error(what, e))?;
            list.items
                .unwrap_or_default()
                .into_iter()
                .map(|LeanObject(map)| map)
                .collect()
        };
        Ok(items
            .into_iter()
            .map(|mut map| {
                set_type(&mut map, &resolved);
                Value::Object(map)
            })
            .collect())
    }
}

/// A list response's items.
#[derive(serde::Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
struct ItemList<T> {
    /// `null` from some servers for an empty list.
    #[serde(default = "Option::default")]
    items: Option<Vec<T>>,
}

/// An object parsed into JSON except `metadata.managedFields`, which is skipped unbuilt.
struct LeanObject(Map<String, Value>);

impl<'de> Deserialize<'de> for LeanObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LeanVisitor { top: true }).map(LeanObject)
    }
}

/// Visits an object map; at the top level, `metadata` is visited again (not top) and there
/// `managedFields` is skipped.
struct LeanVisitor {
    top: bool,
}

struct LeanMetadata(Map<String, Value>);

impl<'de> Deserialize<'de> for LeanMetadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LeanVisitor { top: false })
            .map(LeanMetadata)
    }
}

impl<'de> Visitor<'de> for LeanVisitor {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if self.top && key == "metadata" {
                let LeanMetadata(meta) = access.next_value()?;
                map.insert(key, Value::Object(meta));
            } else if !self.top && key == "managedFields" {
                access.next_value::<IgnoredAny>()?;
            } else {
                let value: Value = access.next_value()?;
                map.insert(key, value);
            }
        }
        Ok(map)
    }
}

/// A dynamic object as JSON with its `apiVersion`/`kind` filled in (list items omit them).
/// The body moves into the result; only the metadata is serialized.
pub(super) fn to_value(obj: DynamicObject, kind: &ResolvedKind) -> Result<Value, String> {
    let DynamicObject { metadata, data, .. } = obj;
    let mut map = match data {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => return Err(format!("object body is not a map: {other}")),
    };
    let metadata = serde_json::to_value(metadata).map_err(|e| e.to_string())?;
    map.insert("metadata".into(), metadata);
    set_type(&mut map, kind);
    Ok(Value::Object(map))
}

fn set_type(map: &mut Map<String, Value>, kind: &ResolvedKind) {
    map.insert(
        "apiVersion".into(),
        Value::String(kind.resource.api_version.clone()),
    );
    map.insert("kind".into(), Value::String(kind.resource.kind.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lean_lists_skip_managed_fields_and_keep_everything_else() {
        let body = json!({"kind": "DeploymentList", "metadata": {"resourceVersion": "9"},
            "items": [{"metadata": {"name": "a", "namespace": "ns", "labels": {"x": "1"},
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]},
                "spec": {"replicas": 2, "managedFields": "a spec field of that name stays"},
                "status": {"readyReplicas": 2}}]});
        let list: ItemList<LeanObject> = serde_json::from_value(body).unwrap();
        let items: Vec<Value> = list
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|o| Value::Object(o.0))
            .collect();
        assert_eq!(
            items,
            vec![
                json!({"metadata": {"name": "a", "namespace": "ns", "labels": {"x": "1"}},
                "spec": {"replicas": 2, "managedFields": "a spec field of that name stays"},
                "status": {"readyReplicas": 2}})
            ]
        );
        let empty: ItemList<LeanObject> = serde_json::from_value(json!({"items": null})).unwrap();
        assert!(empty.items.is_none());
    }
}
