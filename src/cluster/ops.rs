//! Writes and point reads: server-side apply (for real or as a dry run, which is also the
//! diff's primary strategy), get, delete and labelled lists. Objects in and out are plain JSON.

use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PropagationPolicy,
};
use serde_json::Value;

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
    fn dynamic_api(&self, kind: &ResolvedKind, namespace: &str) -> Api<DynamicObject> {
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
        let stored = api
            .patch(target.name, &params, &Patch::Apply(obj))
            .await
            .map_err(|e| self.api_error(what.clone(), e))?;
        to_value(stored, &kind).map_err(|message| Error::BadObject { what, message })
    }

    /// The live object, or `None` when it does not exist.
    pub async fn get(
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
    /// a label selector.
    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        label_selector: &str,
    ) -> Result<Vec<Value>, Error> {
        let resolved = self.resolve(api_version, kind).await?;
        let api = self.dynamic_api(&resolved, namespace);
        let params = ListParams::default().labels(label_selector);
        let list = api
            .list(&params)
            .await
            .map_err(|e| self.api_error(format!("list {kind}"), e))?;
        list.items
            .into_iter()
            .map(|o| to_value(o, &resolved))
            .collect::<Result<_, _>>()
            .map_err(|message| Error::BadObject {
                what: format!("list {kind}"),
                message,
            })
    }
}

/// A dynamic object as JSON with its `apiVersion`/`kind` filled in (list items omit them).
pub(super) fn to_value(obj: DynamicObject, kind: &ResolvedKind) -> Result<Value, String> {
    let mut value = serde_json::to_value(obj).map_err(|e| e.to_string())?;
    if let Some(map) = value.as_object_mut() {
        map.insert(
            "apiVersion".into(),
            Value::String(kind.resource.api_version.clone()),
        );
        map.insert("kind".into(), Value::String(kind.resource.kind.clone()));
    }
    Ok(value)
}
