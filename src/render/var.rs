//! `vars:` — kustomize's deprecated `$(VAR)` substitution, as v5.5 does it.
//!
//! Each level binds its vars, after its own transformers ran, to the one object whose
//! *original* id (kind, group/version and name before any prefix, suffix or hash; plus the
//! namespace when the var names one or the kind is cluster-scoped) matches the var's `objref`;
//! two matches are an error, none leaves the var unbound. A var name may be declared only once
//! in a whole build. At the very end of the build — after hashes and name references, so a
//! var on `metadata.name` sees the final name — every bound var takes the value at its
//! `fieldref.fieldpath` (default `metadata.name`) in the object it follows, and `$(NAME)` is
//! replaced in the var-reference fields (kustomize's built-in list plus `varReference` field
//! specs from `configurations:`). A var bound to nothing, or whose field is missing, is an
//! error (kustomize's too).
//!
//! Value types follow kustomize: a field that is exactly `$(NAME)` takes the value with its
//! type when it is a string, a number or a bool (so a label can become the number 80); a map
//! or list leaves `$(NAME)` unchanged. Inside a longer string the value is formatted. `$$` is an escaped `$`; unknown names stay as they
//! are. Only string scalars are rewritten: a list item that is not a string is an error, as in
//! kustomize.
//!
//! Imports nothing from the crate outside `render`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::config::{FieldSpec, visit_spec};
use super::resource::Res;

/// One entry of `vars:`. kustomize reads these with Go's case-insensitive JSON field matching.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Var {
    #[serde(default)]
    pub name: String,
    #[serde(default, alias = "objRef", alias = "ObjRef")]
    pub objref: ObjRef,
    #[serde(default, alias = "fieldRef", alias = "FieldRef")]
    pub fieldref: Option<FieldRef>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ObjRef {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default, alias = "apiversion")]
    pub api_version: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct FieldRef {
    #[serde(default, alias = "fieldPath", alias = "FieldPath")]
    pub fieldpath: String,
}

impl Var {
    fn path(&self) -> &str {
        match self.fieldref.as_ref().map(|f| f.fieldpath.as_str()) {
            Some(p) if !p.is_empty() => p,
            _ => "metadata.name",
        }
    }

    /// (group, version) of the objref; `apiVersion` wins over `group`/`version` when set.
    fn group_version(&self) -> (&str, &str) {
        let o = &self.objref;
        if o.api_version.is_empty() {
            return (&o.group, &o.version);
        }
        match o.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", &o.api_version),
        }
    }
}

/// Kinds that have no namespace (an objref to one of them compares namespaces too).
fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "Node"
            | "PersistentVolume"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "StorageClass"
            | "PriorityClass"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "APIService"
            | "CSIDriver"
            | "CSINode"
            | "IngressClass"
            | "RuntimeClass"
            | "PodSecurityPolicy"
            | "VolumeAttachment"
            | "ComponentStatus"
            | "CertificateSigningRequest"
            | "TokenReview"
            | "SelfSubjectAccessReview"
            | "SelfSubjectRulesReview"
            | "SubjectAccessReview"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "FlowSchema"
            | "PriorityLevelConfiguration"
    )
}

/// Adds one level's vars to the build: checks names are new and binds each to its object.
pub fn bind(set: &mut [Res], all: &mut Vec<Var>, incoming: &[Var]) -> Result<(), String> {
    for v in incoming {
        if v.name.is_empty() {
            return Err("vars: an entry has no name".into());
        }
        let (group, version) = v.group_version();
        let with_ns = !v.objref.namespace.is_empty() || cluster_scoped(&v.objref.kind);
        let matches: Vec<usize> = set
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                let (name, ns) = r.original_id();
                r.kind() == v.objref.kind
                    && r.group() == group
                    && r.version() == version
                    && name == v.objref.name
                    && (!with_ns || same_namespace(ns, &v.objref.namespace))
            })
            .map(|(i, _)| i)
            .collect();
        if matches.len() > 1 {
            return Err(format!(
                "found {} objects matching var {:?} (unable to disambiguate)",
                matches.len(),
                v.name
            ));
        }
        if let Some(&i) = matches.first() {
            set[i].ref_vars.push(v.name.clone());
        }
        if all.iter().any(|o| o.name == v.name) {
            return Err(format!("var {:?} already encountered", v.name));
        }
        all.push(v.clone());
    }
    Ok(())
}

fn same_namespace(a: &str, b: &str) -> bool {
    let norm = |s: &str| if s.is_empty() { "default" } else { s }.to_owned();
    norm(a) == norm(b)
}

/// Default var-reference fields of kustomize v5.5 (its `varReference` configuration).
fn builtin_specs() -> Vec<FieldSpec> {
    let spec = |kind: &str, path: String| FieldSpec {
        kind: kind.to_owned(),
        path,
        ..FieldSpec::default()
    };
    let mut out = Vec::new();
    let pod_fields = |prefix: &str| -> Vec<String> {
        let mut v = Vec::new();
        for c in ["containers", "initContainers"] {
            for f in ["args", "command", "env/value", "volumeMounts/mountPath"] {
                v.push(format!("{prefix}spec/{c}/{f}"));
            }
        }
        v
    };
    // The list as kustomize v5.5 ships it, quirks included (CronJob's nfs path lacks a
    // `spec/`, only Deployment's template annotations are listed).
    let workload = |kind: &str, prefix: &str, nfs: &str, out: &mut Vec<FieldSpec>| {
        for p in pod_fields(prefix) {
            out.push(spec(kind, p));
        }
        out.push(spec(kind, nfs.to_owned()));
    };
    workload(
        "CronJob",
        "spec/jobTemplate/spec/template/",
        "spec/jobTemplate/spec/template/volumes/nfs/server",
        &mut out,
    );
    let template_nfs = "spec/template/spec/volumes/nfs/server";
    workload("DaemonSet", "spec/template/", template_nfs, &mut out);
    workload("Deployment", "spec/template/", template_nfs, &mut out);
    out.push(spec(
        "Deployment",
        "spec/template/metadata/annotations".into(),
    ));
    for p in ["spec/rules/host", "spec/tls/hosts", "spec/tls/secretName"] {
        out.push(spec("Ingress", p.to_owned()));
    }
    workload("Job", "spec/template/", template_nfs, &mut out);
    workload("Pod", "", "spec/volumes/nfs/server", &mut out);
    workload("ReplicaSet", "spec/template/", template_nfs, &mut out);
    for p in ["spec/ports/port", "spec/ports/targetPort"] {
        out.push(spec("Service", p.to_owned()));
    }
    workload(
        "StatefulSet",
        "spec/template/",
        "spec/volumeClaimTemplates/spec/nfs/server",
        &mut out,
    );
    out.push(spec("PersistentVolume", "spec/nfs/server".into()));
    out.push(spec("", "metadata/labels".to_owned()));
    out.push(spec("", "metadata/annotations".to_owned()));
    out
}

/// Resolves every var and substitutes `$(NAME)` in the var-reference fields of every object.
pub fn resolve(set: &mut [Res], vars: &[Var], custom: &[FieldSpec]) -> Result<(), String> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    for v in vars {
        let Some(r) = set.iter().find(|r| r.ref_vars.contains(&v.name)) else {
            return Err(format!(
                "var {:?} cannot be mapped to a field in the set of known resources (objref {} {:?})",
                v.name, v.objref.kind, v.objref.name
            ));
        };
        let Some(value) = lookup(&r.obj, v.path()) else {
            return Err(format!(
                "field {:?} specified in var {:?} not found in {} {:?}",
                v.path(),
                v.name,
                r.kind(),
                r.name()
            ));
        };
        values.insert(v.name.clone(), value.clone());
    }
    let mut specs = builtin_specs();
    for c in custom {
        if !specs.contains(c) {
            specs.push(c.clone());
        }
    }
    let mut failure = None;
    for r in set.iter_mut() {
        for spec in &specs {
            visit_spec(r, spec, &mut |v| substitute_node(v, &values, &mut failure));
        }
    }
    match failure {
        Some(message) => Err(message),
        None => Ok(()),
    }
}

/// The field at a dotted path (`spec.ports[0].port`, `metadata.labels.app`).
fn lookup<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut v = obj;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let (key, index) = match seg.split_once('[') {
            Some((k, rest)) => (k, Some(rest.trim_end_matches(']'))),
            None => (seg, None),
        };
        if !key.is_empty() {
            v = v.get(key)?;
        }
        if let Some(index) = index {
            v = match index.split_once('=') {
                Some((k, want)) => v
                    .as_array()?
                    .iter()
                    .find(|item| item.get(k).and_then(Value::as_str) == Some(want))?,
                None => v.get(index.parse::<usize>().ok()?)?,
            };
        }
    }
    (!v.is_null()).then_some(v)
}

fn substitute_node(v: &mut Value, values: &BTreeMap<String, Value>, failure: &mut Option<String>) {
    match v {
        Value::String(s) => *v = expand(s, values),
        Value::Object(map) => {
            for item in map.values_mut() {
                if let Value::String(s) = item {
                    *item = expand(s, values);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::String(s) => *item = expand(s, values),
                    other => {
                        if failure.is_none() {
                            *failure = Some(format!(
                                "vars: invalid list item {other} in a var-reference field, expected a string"
                            ));
                        }
                    }
                }
            }
        }
        // A number or bool is not a string node: kustomize leaves it alone.
        _ => {}
    }
}

/// The value a whole-field `$(NAME)` takes; `None` leaves the reference as written.
fn typed(value: &Value) -> Option<Value> {
    match value {
        Value::String(_) | Value::Bool(_) | Value::Number(_) => Some(value.clone()),
        _ => None,
    }
}

fn formatted(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Expands `$(NAME)` references in one string, kustomize's way.
pub fn expand(input: &str, values: &BTreeMap<String, Value>) -> Value {
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        let wrapped = format!("$({name})");
                        let known = values.get(name);
                        if input == wrapped {
                            return known.and_then(typed).unwrap_or(Value::String(wrapped));
                        }
                        match known.and_then(formatted) {
                            Some(s) => out.push_str(&s),
                            None => out.push_str(&wrapped),
                        }
                        close + 1
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    // kustomize copies the operator and the next byte as they are.
                    let ch = rest.chars().next().map_or(1, char::len_utf8);
                    out.push('$');
                    out.push_str(&rest[..ch]);
                    ch
                }
            };
            cursor += advance + 1;
            checkpoint = cursor;
        } else {
            cursor += 1;
        }
    }
    out.push_str(&input[checkpoint.min(input.len())..]);
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vals() -> BTreeMap<String, Value> {
        [
            ("A".to_owned(), json!("svc")),
            ("B".to_owned(), json!(true)),
            ("N".to_owned(), json!(8080)),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn expansion_keeps_types_escapes_and_unknown_names() {
        let v = vals();
        assert_eq!(expand("$(A)", &v), json!("svc"));
        assert_eq!(
            expand("http://$(A):80/$(X)", &v),
            json!("http://svc:80/$(X)")
        );
        assert_eq!(expand("$(B)", &v), json!(true));
        assert_eq!(expand("$(N)", &v), json!(8080));
        assert_eq!(expand("x$(N)", &v), json!("x8080"));
        assert_eq!(expand("$$(A)", &v), json!("$(A)"));
        assert_eq!(expand("a$(A", &v), json!("a$(A"));
        assert_eq!(expand("$é$", &v), json!("$é$"));
    }

    #[test]
    fn lookup_follows_dots_and_indexes() {
        let o = json!({"spec": {"ports": [{"name": "http", "port": 80}]}});
        assert_eq!(lookup(&o, "spec.ports[0].port"), Some(&json!(80)));
        assert_eq!(
            lookup(&o, "spec.ports[name=http].name"),
            Some(&json!("http"))
        );
        assert_eq!(lookup(&o, "spec.missing"), None);
    }
}
