//! `transformers:` entries that configure kustomize's built-in transformers (`apiVersion:
//! builtin`): PrefixSuffixTransformer, LabelTransformer, AnnotationsTransformer,
//! NamespaceTransformer, ImageTagTransformer and ReplacementTransformer, each driven only by
//! its own `fieldSpecs` (as kustomize does: without field specs they change nothing). They run
//! after the kustomization's own transformers, in the order listed. Any other kind — and every
//! plugin that needs an executable — is refused with a message naming it.
//!
//! Imports nothing from the crate outside `render`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::config::{FieldSpec, visit_spec};
use super::kustomization::ImageEntry;
use super::replacement::{self, Replacement};
use super::resource::{Res, merge_pairs};
use super::transform;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Plugin {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    suffix: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    namespace: String,
    image_tag: Option<ImageEntry>,
    #[serde(default)]
    replacements: Vec<Replacement>,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

/// Applies one transformer configuration document.
pub fn apply(set: &mut [Res], doc: &Value) -> Result<(), String> {
    let p: Plugin =
        serde_json::from_value(doc.clone()).map_err(|e| format!("transformer config: {e}"))?;
    if p.api_version != "builtin" {
        return Err(format!(
            "transformer {} {:?} is a plugin that needs an executable; not supported by the native renderer",
            p.api_version, p.kind
        ));
    }
    match p.kind.as_str() {
        "PrefixSuffixTransformer" => {
            for r in set.iter_mut() {
                for spec in &p.field_specs {
                    if !spec.selects(r) {
                        continue;
                    }
                    if spec.path == "metadata/name" {
                        let skip = matches!(r.kind(), "Namespace" | "CustomResourceDefinition");
                        if !skip {
                            let name = format!("{}{}{}", p.prefix, r.name(), p.suffix);
                            r.set_name(&name);
                            r.affixes.push(format!("{}/{}", p.prefix, p.suffix));
                        }
                    } else {
                        visit_spec(r, spec, &mut |v| {
                            if let Value::String(s) = v {
                                *s = format!("{}{s}{}", p.prefix, p.suffix);
                            }
                        });
                    }
                }
            }
            Ok(())
        }
        "LabelTransformer" | "AnnotationsTransformer" => {
            let pairs = if p.kind == "LabelTransformer" {
                &p.labels
            } else {
                &p.annotations
            };
            for r in set.iter_mut() {
                for spec in &p.field_specs {
                    visit_spec(r, spec, &mut |v| {
                        if v.is_null() {
                            *v = Value::Object(Default::default());
                        }
                        merge_pairs(v, pairs);
                    });
                }
            }
            Ok(())
        }
        "NamespaceTransformer" => {
            let plain = p.field_specs.iter().all(|f| f.path == "metadata/namespace");
            if !plain {
                return Err(
                    "NamespaceTransformer with field specs other than metadata/namespace is not supported by the native renderer"
                        .into(),
                );
            }
            if !p.field_specs.is_empty() && !p.namespace.is_empty() {
                transform::namespace(set, &p.namespace, &[]);
            }
            Ok(())
        }
        "ImageTagTransformer" => {
            let Some(entry) = p.image_tag else {
                return Err("ImageTagTransformer needs imageTag".into());
            };
            transform::images(set, std::slice::from_ref(&entry), &p.field_specs);
            Ok(())
        }
        "ReplacementTransformer" => replacement::apply(set, &p.replacements),
        other => Err(format!(
            "built-in transformer {other:?} in `transformers:` is not supported by the native renderer"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_configs_follow_their_field_specs_and_others_are_refused() {
        let mut set = vec![Res::new(
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "c"}, "spec": {"commonName": "svc"}}),
        )];
        apply(
            &mut set,
            &json!({"apiVersion": "builtin", "kind": "PrefixSuffixTransformer", "prefix": "p-",
                "fieldSpecs": [{"kind": "Certificate", "path": "spec/commonName"}]}),
        )
        .unwrap();
        assert_eq!(set[0].obj["spec"]["commonName"], "p-svc");
        assert_eq!(set[0].name(), "c");
        apply(
            &mut set,
            &json!({"apiVersion": "builtin", "kind": "LabelTransformer", "labels": {"a": "b"},
                "fieldSpecs": [{"path": "metadata/labels", "create": true}]}),
        )
        .unwrap();
        assert_eq!(set[0].obj["metadata"]["labels"]["a"], "b");
        assert!(
            apply(
                &mut set,
                &json!({"apiVersion": "example.com/v1", "kind": "Mine"})
            )
            .is_err()
        );
        assert!(
            apply(
                &mut set,
                &json!({"apiVersion": "builtin", "kind": "HelmChartInflationGenerator"})
            )
            .is_err()
        );
    }
}
