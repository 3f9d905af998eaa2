//! `generators:` and `transformers:` entries: kustomize plugin configuration documents, given
//! inline (an entry spanning lines), as a file, or as a kustomization folder whose built
//! output is the list of configurations (kustomize accumulates these entries like resources).
//! Files a configuration names (`envs:`, a patch `path:`) are read relative to the
//! kustomization that lists the entry, as kustomize's loader does.
//!
//! Generators: `ConfigMapGenerator` and `SecretGenerator` (the kustomization's
//! `generatorOptions` do not apply to them, as in kustomize; `behavior` merge/replace works as
//! for `configMapGenerator:`) and `IAMPolicyGenerator` for `cloud: gke`. Transformers that need
//! the builder (files, patches): `PatchTransformer`, `PatchJson6902Transformer`,
//! `PatchStrategicMergeTransformer`, `ReplicaCountTransformer`; the rest go to
//! [`super::plugin`]. Anything else — and any plugin needing an executable — is refused with a
//! message naming its kind.
//!
//! Imports nothing from the crate outside `render`.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Error;
use super::build::{Builder, add_unique};
use super::config::FieldSpec;
use super::kustomization::{GeneratorEntry, GeneratorOptions, PatchEntry, Target};
use super::plugin;
use super::resource::Res;

/// One configuration document and the file it came from (for messages).
pub struct Doc {
    pub origin: String,
    pub value: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Iam {
    #[serde(default)]
    cloud: String,
    #[serde(default)]
    kubernetes_service: IamService,
    #[serde(default)]
    service_account: IamAccount,
}

#[derive(Debug, Default, Deserialize)]
struct IamService {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IamAccount {
    #[serde(default)]
    name: String,
    #[serde(default)]
    project_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchConfig {
    path: Option<String>,
    patch: Option<String>,
    json_op: Option<String>,
    target: Option<Target>,
    options: Option<std::collections::BTreeMap<String, bool>>,
    #[serde(default)]
    paths: Vec<String>,
    patches: Option<String>,
    replica: Option<Replica>,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Debug, Default, Deserialize)]
struct Replica {
    #[serde(default)]
    name: String,
    #[serde(default)]
    count: i64,
}

fn kind_of(doc: &Value) -> (&str, &str) {
    let s = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("");
    (s("apiVersion"), s("kind"))
}

fn meta<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    doc.get("metadata")?
        .get(key)?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// The document without apiVersion, kind and metadata: the plugin's own fields.
fn body(doc: &Value) -> Value {
    let mut m = doc.as_object().cloned().unwrap_or_default();
    for k in ["apiVersion", "kind", "metadata"] {
        m.remove(k);
    }
    Value::Object(m)
}

impl Builder<'_> {
    /// The configuration documents of one `generators:`/`transformers:` entry.
    pub(super) fn plugin_docs(
        &mut self,
        dir: &str,
        file: &str,
        entry: &str,
    ) -> Result<Vec<Doc>, Error> {
        if entry.contains('\n') {
            let docs = super::yaml::parse_documents(entry).map_err(|e| Error::yaml(file, &e))?;
            return Ok(docs
                .into_iter()
                .filter(|d| !d.is_null())
                .map(|value| Doc {
                    origin: file.to_owned(),
                    value,
                })
                .collect());
        }
        let origin = self.local(dir, file, entry)?;
        let (set, _) = self.resource(dir, file, entry)?;
        Ok(set
            .into_iter()
            .map(|r| Doc {
                origin: origin.clone(),
                value: r.obj,
            })
            .collect())
    }

    /// Runs one generator configuration at the level of `dir`.
    pub(super) fn run_generator(
        &mut self,
        dir: &str,
        file: &str,
        doc: &Doc,
        set: &mut Vec<Res>,
    ) -> Result<(), Error> {
        let bad = |message: String| Error::Kustomization {
            file: doc.origin.clone(),
            message,
        };
        let (api, kind) = kind_of(&doc.value);
        if api != "builtin" {
            return Err(bad(format!(
                "generator {api} {kind:?} is a plugin that needs an executable; not supported by the native renderer"
            )));
        }
        match kind {
            "ConfigMapGenerator" | "SecretGenerator" => {
                let mut g: GeneratorEntry = serde_json::from_value(body(&doc.value))
                    .map_err(|e| bad(format!("{kind}: {e}")))?;
                if g.name.as_deref().unwrap_or("").is_empty() {
                    g.name = meta(&doc.value, "name").map(str::to_owned);
                }
                if g.namespace.as_deref().unwrap_or("").is_empty() {
                    g.namespace = meta(&doc.value, "namespace").map(str::to_owned);
                }
                let secret = kind == "SecretGenerator";
                self.generator(dir, file, &GeneratorOptions::default(), secret, &g, set)
            }
            "IAMPolicyGenerator" => {
                let p: Iam = serde_json::from_value(body(&doc.value))
                    .map_err(|e| bad(format!("{kind}: {e}")))?;
                if p.cloud != "gke" {
                    return Err(bad(format!(
                        "IAMPolicyGenerator for cloud {:?} is not supported (kustomize knows only gke)",
                        p.cloud
                    )));
                }
                let svc = &p.kubernetes_service;
                if svc.name.is_empty() {
                    return Err(bad("IAMPolicyGenerator needs kubernetesService.name".into()));
                }
                let mut metadata = Map::new();
                let account = format!(
                    "{}@{}.iam.gserviceaccount.com",
                    p.service_account.name, p.service_account.project_id
                );
                metadata.insert(
                    "annotations".into(),
                    json!({ "iam.gke.io/gcp-service-account": account }),
                );
                metadata.insert("name".into(), Value::String(svc.name.clone()));
                if !svc.namespace.is_empty() {
                    metadata.insert("namespace".into(), Value::String(svc.namespace.clone()));
                }
                let sa =
                    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata});
                add_unique(set, Res::new(sa), file)
            }
            other => Err(bad(format!(
                "built-in generator {other:?} in `generators:` is not supported by the native renderer"
            ))),
        }
    }

    /// Runs one transformer configuration at the level of `dir`.
    pub(super) fn run_transformer(
        &mut self,
        dir: &str,
        file: &str,
        doc: &Doc,
        set: &mut Vec<Res>,
    ) -> Result<(), Error> {
        let bad = |message: String| Error::Kustomization {
            file: doc.origin.clone(),
            message,
        };
        let (api, kind) = kind_of(&doc.value);
        let builder_kinds = [
            "PatchTransformer",
            "PatchJson6902Transformer",
            "PatchStrategicMergeTransformer",
            "ReplicaCountTransformer",
        ];
        if api != "builtin" || !builder_kinds.contains(&kind) {
            let mut value = doc.value.clone();
            // kustomize's NamespaceTransformer takes its namespace from its own metadata.
            if kind == "NamespaceTransformer"
                && let (Some(ns), Value::Object(m)) = (meta(&doc.value, "namespace"), &mut value)
            {
                m.entry("namespace")
                    .or_insert_with(|| Value::String(ns.to_owned()));
            }
            return plugin::apply(set, &value).map_err(bad);
        }
        let p: PatchConfig =
            serde_json::from_value(body(&doc.value)).map_err(|e| bad(format!("{kind}: {e}")))?;
        if p.options.as_ref().is_some_and(|o| o.values().any(|v| *v)) {
            return Err(bad(format!(
                "{kind} options are not supported by the native renderer"
            )));
        }
        match kind {
            "PatchTransformer" | "PatchJson6902Transformer" => {
                let entry = PatchEntry {
                    path: p.path,
                    patch: p.patch.or(p.json_op),
                    target: p.target,
                    options: None,
                };
                self.patch(dir, file, &entry, set, kind == "PatchJson6902Transformer")
            }
            "PatchStrategicMergeTransformer" => {
                let mut entries = p.paths;
                entries.extend(p.patches);
                self.strategic_merge(dir, file, &entries, set)
            }
            _ => {
                let Some(r) = p.replica else {
                    return Err(bad("ReplicaCountTransformer needs replica".into()));
                };
                let standard = p.field_specs.iter().all(|f| {
                    f.path == "spec/replicas"
                        && matches!(
                            f.kind.as_str(),
                            "Deployment" | "ReplicaSet" | "StatefulSet" | "ReplicationController"
                        )
                });
                if !standard {
                    return Err(bad(
                        "ReplicaCountTransformer with field specs other than spec/replicas of the workload kinds is not supported by the native renderer".into(),
                    ));
                }
                for res in set.iter_mut() {
                    if p.field_specs.iter().any(|f| f.kind == res.kind()) {
                        super::transform::replicas(std::slice::from_mut(res), &r.name, r.count);
                    }
                }
                Ok(())
            }
        }
    }
}
