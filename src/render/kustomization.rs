//! The `kustomization.yaml` file as serde types: every field kustomize v5 defines is known (so
//! a misspelled field is an error with its line:col, as kustomize rejects it), deprecated
//! fields (`commonLabels`, `bases`, `patchesJson6902`, `patchesStrategicMerge`) included.
//! Fields the native renderer does not implement are accepted by the parser and refused with
//! a clear message by the builder, never silently ignored.
//!
//! Imports nothing from the crate.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// A list or map field whose items are all commented out is null in YAML; kustomize reads it
/// as empty.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Kustomization {
    #[expect(
        dead_code,
        reason = "accepted as kustomize does; any version renders the same"
    )]
    pub api_version: Option<String>,
    pub kind: Option<String>,
    #[expect(
        dead_code,
        reason = "a kustomization's own metadata never reaches the output"
    )]
    pub metadata: Option<Value>,
    #[serde(default, deserialize_with = "null_default")]
    pub resources: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub bases: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub components: Vec<String>,
    pub namespace: Option<String>,
    // kustomize reads its file with Go's JSON field matching, which ignores case.
    #[serde(alias = "nameprefix")]
    pub name_prefix: Option<String>,
    #[serde(alias = "namesuffix")]
    pub name_suffix: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_default")]
    pub labels: Vec<LabelEntry>,
    #[serde(default, deserialize_with = "null_default")]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_default")]
    pub images: Vec<ImageEntry>,
    #[serde(default, deserialize_with = "null_default")]
    pub replicas: Vec<ReplicaEntry>,
    #[serde(default, deserialize_with = "null_default")]
    pub patches: Vec<PatchEntry>,
    #[serde(default, deserialize_with = "null_default")]
    pub patches_strategic_merge: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub patches_json6902: Vec<PatchEntry>,
    #[serde(default, deserialize_with = "null_default")]
    pub config_map_generator: Vec<GeneratorEntry>,
    #[serde(default, deserialize_with = "null_default")]
    pub secret_generator: Vec<GeneratorEntry>,
    pub generator_options: Option<GeneratorOptions>,
    // Known to kustomize, not implemented natively: refused by the builder when non-empty.
    #[serde(rename = "openapi", alias = "openApi")]
    pub open_api: Option<OpenApi>,
    pub image_tags: Option<Value>,
    #[serde(default, deserialize_with = "null_default")]
    pub replacements: Vec<super::replacement::Replacement>,
    #[serde(default, deserialize_with = "null_default")]
    pub vars: Vec<super::var::Var>,
    pub sort_options: Option<Value>,
    #[serde(default, deserialize_with = "null_default")]
    pub crds: Vec<String>,
    pub helm_globals: Option<Value>,
    pub helm_charts: Option<Value>,
    pub helm_chart_inflation_generator: Option<Value>,
    #[serde(default, deserialize_with = "null_default")]
    pub configurations: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub generators: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub transformers: Vec<String>,
    pub validators: Option<Value>,
    pub build_metadata: Option<Value>,
}

impl Kustomization {
    /// Names of set fields this renderer cannot honour; kustomize would change the output, so
    /// silently ignoring them would render something else than what Git means.
    pub fn unsupported(&self) -> Vec<&'static str> {
        let set = |v: &Option<Value>| match v {
            None | Some(Value::Null) => false,
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            Some(_) => true,
        };
        let mut out = Vec::new();
        for (name, v) in [
            ("imageTags", &self.image_tags),
            ("helmGlobals", &self.helm_globals),
            ("helmCharts", &self.helm_charts),
            (
                "helmChartInflationGenerator",
                &self.helm_chart_inflation_generator,
            ),
            ("validators", &self.validators),
            ("buildMetadata", &self.build_metadata),
        ] {
            if set(v) {
                out.push(name);
            }
        }
        if self.labels.iter().any(|l| l.fields.is_some()) {
            out.push("labels[].fields");
        }
        if self.images.iter().any(|i| i.tag_suffix.is_some()) {
            out.push("images[].tagSuffix");
        }
        let options = |p: &PatchEntry| p.options.as_ref().is_some_and(|o| o.values().any(|v| *v));
        if self
            .patches
            .iter()
            .chain(&self.patches_json6902)
            .any(options)
        {
            out.push("patches[].options");
        }
        out
    }
}

/// `openapi:` — a schema file (`path`) or one of kustomize's built-in versions (`version`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenApi {
    pub path: Option<String>,
    #[expect(
        dead_code,
        reason = "a built-in schema version only matters with strategic merge patches, which are refused alongside openapi"
    )]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelEntry {
    #[serde(default, deserialize_with = "null_default")]
    pub pairs: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_default")]
    pub include_selectors: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub include_templates: bool,
    pub fields: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageEntry {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
    pub tag_suffix: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplicaEntry {
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchEntry {
    pub path: Option<String>,
    pub patch: Option<String>,
    pub target: Option<Target>,
    pub options: Option<BTreeMap<String, bool>>,
}

/// A patch target selector; `name`/`namespace` are anchored regexes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Target {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub annotation_selector: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorEntry {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub behavior: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub literals: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub files: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub envs: Vec<String>,
    pub env: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub options: Option<GeneratorOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorOptions {
    #[serde(default, deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_default")]
    pub annotations: BTreeMap<String, String>,
    pub disable_name_suffix_hash: Option<bool>,
    pub immutable: Option<bool>,
}
