//! One object being built: its JSON, the names and namespaces it had before transformers
//! renamed it (kustomize's "previous ids", so outer patches and references can still name it
//! by its base name), and whether a generator made it (and wants a content-hash suffix).
//!
//! Also the field-path walker kustomize's "field specs" describe: `spec/template/metadata/labels`
//! where a list on the way is walked element by element.
//!
//! Imports nothing from the crate.

use serde_json::{Map, Value};

/// How a generated object takes part in the final naming step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Append the content hash to the name at the end of the build.
    pub hash: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Res {
    pub obj: Value,
    /// Earlier `(name, namespace)` pairs, oldest first; the current ones are not in it.
    pub previous: Vec<(String, String)>,
    pub generated: Option<Generated>,
    /// Name prefixes and suffixes applied so far, innermost first: when one base is included
    /// twice under different prefixes, a reference picks the copy renamed the same way.
    pub affixes: Vec<String>,
    /// Keys its file spells as an explicit `null` or `~` (not an empty value): kustomize's
    /// merge keeps those when a patch touches the object and drops empty ones.
    pub explicit_nulls: std::sync::Arc<std::collections::BTreeSet<String>>,
    /// Names of the `vars:` bound to this object (they follow it through renames).
    pub ref_vars: Vec<String>,
}

impl Res {
    pub fn new(obj: Value) -> Self {
        Self {
            obj,
            previous: Vec::new(),
            generated: None,
            affixes: Vec::new(),
            explicit_nulls: Default::default(),
            ref_vars: Vec::new(),
        }
    }

    pub fn str_at<'a>(&'a self, path: &[&str]) -> &'a str {
        let mut v = &self.obj;
        for p in path {
            match v.get(p) {
                Some(next) => v = next,
                None => return "",
            }
        }
        v.as_str().unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.str_at(&["kind"])
    }

    pub fn api_version(&self) -> &str {
        self.str_at(&["apiVersion"])
    }

    pub fn group(&self) -> &str {
        self.api_version().rsplit_once('/').map_or("", |(g, _)| g)
    }

    pub fn version(&self) -> &str {
        let av = self.api_version();
        av.rsplit_once('/').map_or(av, |(_, v)| v)
    }

    pub fn name(&self) -> &str {
        self.str_at(&["metadata", "name"])
    }

    pub fn namespace(&self) -> &str {
        self.str_at(&["metadata", "namespace"])
    }

    pub fn had_name(&self, name: &str) -> bool {
        self.name() == name || self.previous.iter().any(|(n, _)| n == name)
    }

    pub fn had_namespace(&self, ns: &str) -> bool {
        self.namespace() == ns || self.previous.iter().any(|(_, n)| n == ns)
    }

    /// The name and namespace the object had before any transformer renamed it.
    pub fn original_id(&self) -> (&str, &str) {
        match self.previous.first() {
            Some((n, ns)) => (n, ns),
            None => (self.name(), self.namespace()),
        }
    }

    fn remember(&mut self) {
        let id = (self.name().to_owned(), self.namespace().to_owned());
        self.previous.push(id);
    }

    /// Replaces the object; a patch that renamed it leaves the old name and namespace
    /// remembered, so references to the old name follow it.
    pub fn replace(&mut self, obj: Value) {
        let before = (self.name().to_owned(), self.namespace().to_owned());
        self.obj = obj;
        if self.name() != before.0 || self.namespace() != before.1 {
            self.previous.push(before);
        }
    }

    pub fn set_name(&mut self, name: &str) {
        if self.name() == name {
            return;
        }
        self.remember();
        if let Some(meta) = metadata(&mut self.obj) {
            meta.insert("name".into(), Value::String(name.to_owned()));
        }
    }

    pub fn set_namespace(&mut self, ns: &str) {
        if self.namespace() == ns {
            return;
        }
        self.remember();
        if let Some(meta) = metadata(&mut self.obj) {
            meta.insert("namespace".into(), Value::String(ns.to_owned()));
        }
    }

    pub fn labels(&self) -> Option<&Map<String, Value>> {
        self.obj.get("metadata")?.get("labels")?.as_object()
    }

    pub fn annotations(&self) -> Option<&Map<String, Value>> {
        self.obj.get("metadata")?.get("annotations")?.as_object()
    }
}

/// Mapping keys whose value is spelled `null` or `~` somewhere in `text`.
pub fn explicit_null_keys(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for line in text.lines() {
        let body = line.split(" #").next().unwrap_or("").trim();
        let body = body.trim_start_matches("- ").trim_start();
        for spelled in [": null", ": ~", ": Null", ": NULL"] {
            if let Some(key) = body.strip_suffix(spelled) {
                out.insert(key.trim_matches(|c| c == '"' || c == '\'').to_owned());
            }
        }
    }
    out
}

/// `metadata` as a map, created when missing.
pub fn metadata(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let root = obj.as_object_mut()?;
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if meta.is_null() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut()
}

/// Visits every value at `path` (keys separated by '/'), walking into every element of a list
/// met on the way. With `create`, missing maps on the way (and at the end) are created, but
/// never inside lists.
pub fn visit(v: &mut Value, path: &[&str], create: bool, f: &mut dyn FnMut(&mut Value)) {
    if let Value::Array(items) = v {
        for item in items {
            visit(item, path, create, f);
        }
        return;
    }
    let Some((first, rest)) = path.split_first() else {
        f(v);
        return;
    };
    let Value::Object(map) = v else { return };
    if create {
        let slot = map
            .entry(first.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if slot.is_null() {
            *slot = Value::Object(Map::new());
        }
    }
    if let Some(next) = map.get_mut(*first) {
        visit(next, rest, create, f);
    }
}

/// Merges string pairs into a map value (no-op on a non-map).
pub fn merge_pairs<'a>(
    target: &mut Value,
    pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
) {
    if let Value::Object(map) = target {
        for (k, v) in pairs {
            map.insert(k.clone(), Value::String(v.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn visit_walks_lists_and_creates_maps() {
        let mut v = json!({"spec": {"vct": [{"metadata": {}}, {}]}});
        visit(
            &mut v,
            &["spec", "vct", "metadata", "labels"],
            true,
            &mut |m| {
                merge_pairs(m, [(&"a".to_string(), &"b".to_string())]);
            },
        );
        assert_eq!(
            v,
            json!({"spec": {"vct": [{"metadata": {"labels": {"a": "b"}}}, {"metadata": {"labels": {"a": "b"}}}]}})
        );
        let mut w = json!({"spec": {}});
        visit(
            &mut w,
            &["spec", "selector", "matchLabels"],
            false,
            &mut |_| unreachable!(),
        );
        assert_eq!(w, json!({"spec": {}}));
    }

    #[test]
    fn renames_are_remembered() {
        let mut r = Res::new(json!({"kind": "ConfigMap", "metadata": {"name": "a"}}));
        r.set_name("p-a");
        r.set_namespace("ns");
        assert!(r.had_name("a") && r.had_name("p-a"));
        assert_eq!(r.previous[0].0, "a");
        assert_eq!(r.namespace(), "ns");
    }
}
