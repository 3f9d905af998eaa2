//! `configurations:` — transformer configuration files that add field specs to kustomize's
//! built-in ones: `nameReference` (which fields name an object of some kind), `namespace`,
//! `commonLabels`, `commonAnnotations`, `images` and `varReference` (where `$(VAR)` may be
//! substituted). As in kustomize, a kustomization's configuration also holds for every
//! kustomization that includes it (the accumulated configuration travels up with the
//! resources), never for siblings.
//!
//! Field paths are `/`-separated; a list met on the way is walked element by element and a
//! trailing `[]` on a segment is accepted for that. Selecting list items by value (`[name=x]`)
//! is refused with a message rather than ignored.
//!
//! Imports nothing from the crate outside `render`.

use serde::Deserialize;
use serde_json::Value;

use super::resource::Res;

/// One field spec: where, in objects of which group/version/kind (empty matches all).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FieldSpec {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub create: bool,
    #[serde(default, rename = "behavior")]
    pub _behavior: Option<String>,
}

impl FieldSpec {
    pub fn selects(&self, r: &Res) -> bool {
        (self.group.is_empty() || self.group == r.group())
            && (self.version.is_empty() || self.version == r.version())
            && (self.kind.is_empty() || self.kind == r.kind())
    }

    /// The path as segments, `[]` markers removed.
    pub fn segments(&self) -> Vec<&str> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches("[]"))
            .collect()
    }
}

/// Objects of one kind and the fields elsewhere that name them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NameReference {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub field_specs: Vec<FieldSpec>,
}

/// The custom field specs of a build, merged from every configuration file below a level.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub name_reference: Vec<NameReference>,
    #[serde(default)]
    pub namespace: Vec<FieldSpec>,
    #[serde(default)]
    pub common_labels: Vec<FieldSpec>,
    #[serde(default)]
    pub common_annotations: Vec<FieldSpec>,
    #[serde(default)]
    pub images: Vec<FieldSpec>,
    #[serde(default)]
    pub var_reference: Vec<FieldSpec>,
    #[serde(default)]
    pub name_prefix: Vec<FieldSpec>,
    #[serde(default)]
    pub name_suffix: Vec<FieldSpec>,
    #[serde(default)]
    pub replicas: Vec<FieldSpec>,
    /// The `vars:` declared at this level and below (never read from a configuration file).
    #[serde(skip)]
    pub vars: Vec<super::var::Var>,
}

impl Config {
    /// Parses one configuration file; errors name what is not supported.
    pub fn parse(text: &str) -> Result<Config, String> {
        let opts = super::yaml::options();
        let c: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_saphyr::from_str_with_options(text, opts).map_err(|e| {
                let y = super::yaml::from_saphyr(&e);
                match y.at {
                    Some((l, c)) => format!("{l}:{c}: {}", y.message),
                    None => y.message,
                }
            })?
        };
        for f in c.all_specs() {
            let by_value = f.path.split('/').any(|seg| {
                seg.contains('[') && !(seg.ends_with("[]") && seg.matches('[').count() == 1)
            });
            if by_value {
                return Err(format!(
                    "field spec path {:?}: selecting list items by value is not supported by the native renderer",
                    f.path
                ));
            }
        }
        if !c.name_prefix.is_empty() || !c.name_suffix.is_empty() || !c.replicas.is_empty() {
            return Err(
                "namePrefix, nameSuffix and replicas field specs are not supported by the native renderer"
                    .into(),
            );
        }
        Ok(c)
    }

    /// The field specs kustomize derives from `crds:` files: OpenAPI definitions (JSON or
    /// YAML, keyed by type name) of kinds with apiVersion, kind and metadata properties. A
    /// property marked `x-kubernetes-object-ref-kind` (with `-api-version`) names an object
    /// of that kind; `x-kubernetes-annotation` and `x-kubernetes-label-selector` take common
    /// annotations and labels. `$ref`s are followed (at most 32 deep, so a self-referencing
    /// schema ends). `x-kubernetes-identity` (a prefix field) is refused.
    pub fn from_crds(text: &str) -> Result<Config, String> {
        let docs = super::yaml::parse_documents(text).map_err(|e| e.message)?;
        let Some(Value::Object(defs)) = docs.into_iter().next() else {
            return Err("expected a map of OpenAPI definitions".into());
        };
        let mut out = Config::default();
        for (name, def) in &defs {
            let props = &def["Schema"]["properties"];
            if ["kind", "apiVersion", "metadata"]
                .iter()
                .any(|k| props.get(k).is_none())
            {
                continue;
            }
            let kind = name.rsplit('.').next().unwrap_or(name);
            crd_specs(&mut out, kind, &defs, name, &mut Vec::new())?;
        }
        Ok(out)
    }

    fn all_specs(&self) -> impl Iterator<Item = &FieldSpec> {
        self.name_reference
            .iter()
            .flat_map(|n| n.field_specs.iter())
            .chain(&self.namespace)
            .chain(&self.common_labels)
            .chain(&self.common_annotations)
            .chain(&self.images)
            .chain(&self.var_reference)
    }

    /// Adds what `other` has that this does not.
    pub fn merge(&mut self, other: &Config) {
        fn add<T: PartialEq + Clone>(to: &mut Vec<T>, from: &[T]) {
            for x in from {
                if !to.contains(x) {
                    to.push(x.clone());
                }
            }
        }
        add(&mut self.name_reference, &other.name_reference);
        add(&mut self.namespace, &other.namespace);
        add(&mut self.common_labels, &other.common_labels);
        add(&mut self.common_annotations, &other.common_annotations);
        add(&mut self.images, &other.images);
        add(&mut self.var_reference, &other.var_reference);
    }
}

fn crd_specs(
    out: &mut Config,
    kind: &str,
    defs: &serde_json::Map<String, Value>,
    type_name: &str,
    path: &mut Vec<String>,
) -> Result<(), String> {
    let Some(Value::Object(props)) = defs.get(type_name).map(|d| &d["Schema"]["properties"]) else {
        return Ok(());
    };
    if path.len() >= 32 {
        return Ok(());
    }
    let spec = |path: &[String]| FieldSpec {
        kind: kind.to_owned(),
        path: path.join("/"),
        ..FieldSpec::default()
    };
    for (prop, p) in props {
        path.push(prop.clone());
        let ext = |k: &str| p.get(k).and_then(Value::as_str);
        if ext("x-kubernetes-annotation").is_some() {
            out.common_annotations.push(spec(path));
        }
        if ext("x-kubernetes-label-selector").is_some() {
            out.common_labels.push(spec(path));
        }
        if ext("x-kubernetes-identity").is_some() {
            return Err(format!(
                "x-kubernetes-identity on {kind} {} is not supported by the native renderer",
                path.join("/")
            ));
        }
        if let (Some(version), Some(ref_kind)) = (
            ext("x-kubernetes-object-ref-api-version"),
            ext("x-kubernetes-object-ref-kind"),
        ) {
            let key = ext("x-kubernetes-object-ref-name-key").unwrap_or("name");
            let mut full = path.clone();
            full.push(key.to_owned());
            let nr = NameReference {
                version: version.to_owned(),
                kind: ref_kind.to_owned(),
                field_specs: vec![spec(&full)],
                ..NameReference::default()
            };
            if !out.name_reference.contains(&nr) {
                out.name_reference.push(nr);
            }
        }
        if let Some(r) = ext("$ref") {
            crd_specs(out, kind, defs, r, path)?;
        }
        path.pop();
    }
    Ok(())
}

/// Sets every string at the spec's path (created when the spec says so) with `f`.
pub fn visit_spec(r: &mut Res, spec: &FieldSpec, f: &mut dyn FnMut(&mut Value)) {
    if !spec.selects(r) {
        return;
    }
    let segs = spec.segments();
    let Some((last, parents)) = segs.split_last() else {
        return;
    };
    super::resource::visit(&mut r.obj, parents, spec.create, &mut |parent| {
        if let Value::Object(map) = parent {
            if spec.create && !map.contains_key(*last) {
                map.insert((*last).to_owned(), Value::Null);
            }
            if let Some(v) = map.get_mut(*last) {
                f(v);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configuration_files_parse_merge_and_refuse_item_selectors() {
        let mut a = Config::parse(
            "nameReference:\n- kind: Issuer\n  group: cert-manager.io\n  fieldSpecs:\n  - kind: Certificate\n    path: spec/issuerRef/name\n",
        )
        .unwrap();
        let b = Config::parse("images:\n- kind: Custom\n  path: spec/c[]/image\n").unwrap();
        a.merge(&b);
        a.merge(&b);
        assert_eq!(a.images.len(), 1);
        assert_eq!(a.images[0].segments(), ["spec", "c", "image"]);
        assert_eq!(a.name_reference[0].field_specs[0].kind, "Certificate");
        assert!(Config::parse("images:\n- path: spec/c[name=x]/image\n").is_err());
        assert!(Config::parse("bogus: []\n").is_err());
    }

    #[test]
    fn specs_create_only_when_asked() {
        let spec = FieldSpec {
            kind: "Thing".into(),
            path: "spec/target/namespace".into(),
            create: true,
            ..FieldSpec::default()
        };
        let mut r = Res::new(json!({"kind": "Thing", "spec": {}}));
        visit_spec(&mut r, &spec, &mut |v| *v = json!("ns"));
        assert_eq!(r.obj["spec"]["target"]["namespace"], "ns");
        let mut other = Res::new(json!({"kind": "Other", "spec": {}}));
        visit_spec(&mut other, &spec, &mut |v| *v = json!("ns"));
        assert_eq!(other.obj, json!({"kind": "Other", "spec": {}}));
    }
}
