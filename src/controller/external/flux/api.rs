//! The Flux CRs' API calls: which resources, reading a Kustomization and its GitRepository, and
//! the merge patches written as Flux's own CLI writes them (module doc of [`super`]).

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};

use crate::cluster::{self, Cluster};
use crate::config::{EngineSpec, EnvConfig};

use super::status::REQUESTED_AT;

/// The field manager of Flux's own CLI for annotations and suspend/resume.
pub const FIELD_MANAGER: &str = "flux-client-side-apply";

pub(crate) fn kustomizations() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
        "kustomizations",
    )
}

pub(super) fn gitrepositories() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "GitRepository"),
        "gitrepositories",
    )
}

/// The Kustomization an env is driven by.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub name: String,
    pub namespace: String,
}

impl Target {
    pub fn of(env: &EnvConfig) -> Option<Target> {
        match &env.engine {
            EngineSpec::Flux {
                kustomization,
                namespace,
            } => Some(Target {
                name: kustomization.clone(),
                namespace: namespace.clone(),
            }),
            _ => None,
        }
    }

    pub(super) fn describe(&self) -> String {
        format!("Kustomization {}/{}", self.namespace, self.name)
    }
}

/// Reads the Kustomization and, when its source is a GitRepository, that too (a source that
/// cannot be read is left out: the Kustomization's own status still stands).
pub(crate) async fn read_crs(
    cluster: &Cluster,
    target: &Target,
) -> Result<(Value, Option<Value>), String> {
    let ks = read_kustomization(cluster, target).await?;
    let source = match source_of(&ks, target) {
        Some(name_ns) => {
            let api: Api<DynamicObject> =
                Api::namespaced_with(cluster.client().clone(), &name_ns.1, &gitrepositories());
            api.get_opt(&name_ns.0)
                .await
                .ok()
                .flatten()
                .and_then(|o| serde_json::to_value(&o).ok())
        }
        None => None,
    };
    Ok((ks, source))
}

/// Reads the Kustomization alone.
pub(super) async fn read_kustomization(
    cluster: &Cluster,
    target: &Target,
) -> Result<Value, String> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        cluster.client().clone(),
        &target.namespace,
        &kustomizations(),
    );
    let ks = api.get(&target.name).await.map_err(|e| {
        let what = format!("reading {}", target.describe());
        match &e {
            kube::Error::Api(s) if s.code == 404 => format!(
                "context {}: {what}: not found (is Flux installed and the name right?)",
                cluster.context()
            ),
            _ => cluster::Error::Api {
                context: cluster.context().to_owned(),
                what,
                source: e,
            }
            .to_string(),
        }
    })?;
    serde_json::to_value(&ks).map_err(|e| format!("{}: {e}", target.describe()))
}

/// The GitRepository (name, namespace) a Kustomization takes its source from, if it is one.
pub(super) fn source_of(ks: &Value, target: &Target) -> Option<(String, String)> {
    let kind = ks
        .pointer("/spec/sourceRef/kind")
        .and_then(Value::as_str)
        .unwrap_or("GitRepository");
    if kind != "GitRepository" {
        return None;
    }
    let name = ks.pointer("/spec/sourceRef/name").and_then(Value::as_str)?;
    let ns = ks
        .pointer("/spec/sourceRef/namespace")
        .and_then(Value::as_str)
        .unwrap_or(&target.namespace);
    Some((name.to_owned(), ns.to_owned()))
}

/// One merge patch written as Flux's CLI writes it.
pub(super) async fn patch(
    cluster: &Cluster,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    body: Value,
) -> Result<(), String> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().clone(), namespace, resource);
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    api.patch(name, &params, &Patch::Merge(&body))
        .await
        .map(|_| ())
        .map_err(|e| {
            cluster::Error::Api {
                context: cluster.context().to_owned(),
                what: format!("writing {} {namespace}/{name}", resource.kind),
                source: e,
            }
            .to_string()
        })
}

pub(super) fn request(token: &str) -> Value {
    json!({"metadata": {"annotations": {REQUESTED_AT: token}}})
}
