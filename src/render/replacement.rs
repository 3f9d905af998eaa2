//! `replacements:` — copy one value (a source object's field, default `metadata.name`) into
//! fields of other objects, as kustomize v5's ReplacementTransformer does. Runs after the
//! other built-in transformers of the same kustomization.
//!
//! Field paths are kustomize's: `.`-separated, `[key.with.dots]` for a key, `[name=x]` for
//! the list item whose field `name` is `x`, a number for a list index and `*` for every item.
//! Objects are selected by group, version, kind, name and namespace (exact; current or any
//! earlier name, so a base's name still selects after a prefix) and label / annotation
//! selectors; `reject` removes matches. The source must select exactly one object. A target
//! path that does not exist is skipped unless `create: true`. With `delimiter`, the source
//! value is that part of the source string and the target's part at `index` is replaced.
//!
//! Imports nothing from the crate outside `render`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::kustomization::Target;
use super::resource::Res;
use super::target::Selector;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Replacement {
    pub source: Option<Source>,
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
    /// A file of replacements, in place of `source` and `targets`.
    pub path: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Source {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub field_path: Option<String>,
    pub options: Option<Options>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Options {
    pub delimiter: Option<String>,
    #[serde(default)]
    pub index: i64,
    #[serde(default)]
    pub create: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetSpec {
    pub select: Option<Target>,
    #[serde(default)]
    pub reject: Vec<Target>,
    #[serde(default)]
    pub field_paths: Vec<String>,
    pub options: Option<Options>,
}

/// Exact selection (kustomize's `IsSelectedBy`), by any id the object had.
fn selects(t: &Target, r: &Res) -> Result<bool, String> {
    let eq =
        |want: &Option<String>, got: &str| want.as_deref().is_none_or(|w| w.is_empty() || w == got);
    let mut ok = eq(&t.group, r.group()) && eq(&t.version, r.version()) && eq(&t.kind, r.kind());
    if let Some(n) = t.name.as_deref().filter(|n| !n.is_empty()) {
        ok &= r.had_name(n);
    }
    if let Some(ns) = t.namespace.as_deref().filter(|n| !n.is_empty()) {
        ok &= r.had_namespace(ns);
    }
    if ok && (t.label_selector.is_some() || t.annotation_selector.is_some()) {
        let only = Target {
            label_selector: t.label_selector.clone(),
            annotation_selector: t.annotation_selector.clone(),
            ..Target::default()
        };
        ok &= Selector::new(&only)?.selects(r);
    }
    Ok(ok)
}

fn describe(t: &Target) -> String {
    let parts: Vec<String> = [
        ("group", &t.group),
        ("version", &t.version),
        ("kind", &t.kind),
        ("name", &t.name),
        ("namespace", &t.namespace),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    parts.join(" ")
}

/// Applies the replacements in order.
pub fn apply(set: &mut [Res], replacements: &[Replacement]) -> Result<(), String> {
    for (n, r) in replacements.iter().enumerate() {
        apply_one(set, r).map_err(|e| format!("replacements[{n}]: {e}"))?;
    }
    Ok(())
}

fn apply_one(set: &mut [Res], r: &Replacement) -> Result<(), String> {
    let Some(src) = &r.source else {
        return Err("no `source`".into());
    };
    let sel = Target {
        group: src.group.clone(),
        version: src.version.clone(),
        kind: src.kind.clone(),
        name: src.name.clone(),
        namespace: src.namespace.clone(),
        ..Target::default()
    };
    let mut found = Vec::new();
    for (i, res) in set.iter().enumerate() {
        if selects(&sel, res)? {
            found.push(i);
        }
    }
    let i = match found.as_slice() {
        [i] => *i,
        [] => return Err(format!("nothing selected by {}", describe(&sel))),
        _ => return Err(format!("multiple matches for selector {}", describe(&sel))),
    };
    let field_path = src.field_path.as_deref().unwrap_or("metadata.name");
    let segs = split_path(field_path)?;
    let mut value = get(&set[i].obj, &segs)
        .ok_or_else(|| format!("fieldPath `{field_path}` is missing for replacement source"))?;
    if let Some(o) = &src.options
        && let Some(d) = o.delimiter.as_deref().filter(|d| !d.is_empty())
    {
        let text = scalar_text(&value)?;
        let parts: Vec<&str> = text.split(d).collect();
        let part = usize::try_from(o.index)
            .ok()
            .and_then(|k| parts.get(k))
            .ok_or_else(|| {
                format!(
                    "options.index {} is out of bounds for value {text}",
                    o.index
                )
            })?;
        value = Value::String((*part).to_owned());
    }
    for t in &r.targets {
        let Some(select) = &t.select else {
            return Err("a target needs `select`".into());
        };
        let paths: Vec<Vec<Seg>> = t
            .field_paths
            .iter()
            .map(|p| split_path(p))
            .collect::<Result<_, _>>()?;
        let opts = t.options.clone().unwrap_or_default();
        for res in set.iter_mut() {
            if !selects(select, res)? {
                continue;
            }
            let mut rejected = false;
            for rej in &t.reject {
                rejected |= selects(rej, res)?;
            }
            if rejected {
                continue;
            }
            for p in &paths {
                let mut err = None;
                set_at(&mut res.obj, p, opts.create, &mut |slot| {
                    if let Err(e) = put(slot, &value, &opts) {
                        err = Some(e);
                    }
                });
                if let Some(e) = err {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

fn scalar_text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err("a delimiter needs a scalar value".into()),
    }
}

fn put(slot: &mut Value, value: &Value, opts: &Options) -> Result<(), String> {
    match opts.delimiter.as_deref().filter(|d| !d.is_empty()) {
        None => *slot = value.clone(),
        Some(d) => {
            let new = scalar_text(value)?;
            let old = if slot.is_null() {
                String::new()
            } else {
                scalar_text(slot)?
            };
            let mut parts: Vec<String> = old.split(d).map(str::to_owned).collect();
            // kustomize: a negative index prepends, one past the end appends.
            match usize::try_from(opts.index) {
                Err(_) => parts.insert(0, new),
                Ok(k) if k >= parts.len() => parts.push(new),
                Ok(k) => parts[k] = new,
            }
            *slot = Value::String(parts.join(d));
        }
    }
    Ok(())
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    /// A list index, or a key that looks like a number in a map.
    Index(usize, String),
    Match(String, String),
    All,
}

/// Splits kustomize's field path syntax into steps.
pub fn split_path(path: &str) -> Result<Vec<Seg>, String> {
    let path = path.trim().strip_prefix('.').unwrap_or(path.trim());
    let mut raw = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '.' if depth == 0 => raw.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    raw.push(cur);
    let mut out = Vec::new();
    for s in raw {
        if s.is_empty() {
            return Err(format!("field path {path:?} has an empty step"));
        }
        if let Some(inner) = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            match inner.split_once('=') {
                Some((k, v)) => out.push(Seg::Match(k.to_owned(), v.to_owned())),
                None => out.push(Seg::Key(inner.to_owned())),
            }
        } else if s == "*" {
            out.push(Seg::All);
        } else if let Ok(i) = s.parse::<usize>() {
            out.push(Seg::Index(i, s));
        } else {
            out.push(Seg::Key(s));
        }
    }
    Ok(out)
}

/// The value at a path (the first one, for `*`).
pub fn get(v: &Value, path: &[Seg]) -> Option<Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v.clone());
    };
    match (first, v) {
        (Seg::Key(k), Value::Object(m)) | (Seg::Index(_, k), Value::Object(m)) => {
            get(m.get(k)?, rest)
        }
        (Seg::Index(i, _), Value::Array(items)) => get(items.get(*i)?, rest),
        (Seg::Match(k, want), Value::Array(items)) => items
            .iter()
            .find(|it| item_matches(it, k, want))
            .and_then(|it| get(it, rest)),
        (Seg::All, Value::Array(items)) => items.iter().find_map(|it| get(it, rest)),
        _ => None,
    }
}

fn item_matches(item: &Value, key: &str, want: &str) -> bool {
    match item.get(key) {
        Some(Value::String(s)) => s == want,
        Some(Value::Number(n)) => n.to_string() == want,
        Some(Value::Bool(b)) => b.to_string() == want,
        _ => false,
    }
}

/// Calls `f` on every slot the path names; with `create`, missing maps and the last field are
/// made (a `[k=v]` step appends an item with that field).
pub fn set_at(v: &mut Value, path: &[Seg], create: bool, f: &mut dyn FnMut(&mut Value)) {
    let Some((first, rest)) = path.split_first() else {
        f(v);
        return;
    };
    if create && v.is_null() {
        *v = match first {
            Seg::Match(..) | Seg::All => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        };
    }
    match (first, v) {
        (Seg::Key(k), Value::Object(m)) | (Seg::Index(_, k), Value::Object(m)) => {
            if create && !m.contains_key(k) {
                m.insert(k.clone(), Value::Null);
            }
            if let Some(next) = m.get_mut(k) {
                set_at(next, rest, create, f);
            }
        }
        (Seg::Index(i, _), Value::Array(items)) => {
            if let Some(next) = items.get_mut(*i) {
                set_at(next, rest, create, f);
            }
        }
        (Seg::Match(k, want), Value::Array(items)) => {
            let mut any = false;
            for it in items.iter_mut().filter(|it| item_matches(it, k, want)) {
                any = true;
                set_at(it, rest, create, f);
            }
            if !any && create {
                let mut m = Map::new();
                m.insert(k.clone(), Value::String(want.clone()));
                items.push(Value::Object(m));
                if let Some(last) = items.last_mut() {
                    set_at(last, rest, create, f);
                }
            }
        }
        (Seg::All, Value::Array(items)) => {
            for it in items.iter_mut() {
                set_at(it, rest, create, f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(v: Value) -> Res {
        Res::new(v)
    }

    #[test]
    fn paths_split_on_dots_outside_brackets() {
        assert_eq!(
            split_path(".spec.hard.[limits.memory]").unwrap(),
            vec![
                Seg::Key("spec".into()),
                Seg::Key("hard".into()),
                Seg::Key("limits.memory".into())
            ]
        );
        assert_eq!(
            split_path("a.[name=x].0.*").unwrap(),
            vec![
                Seg::Key("a".into()),
                Seg::Match("name".into(), "x".into()),
                Seg::Index(0, "0".into()),
                Seg::All
            ]
        );
        assert!(split_path("a..b").is_err());
    }

    #[test]
    fn a_value_is_copied_with_delimiters_and_create() {
        let mut set = vec![
            res(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "ns"}}),
            ),
            res(
                json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "c"},
                "spec": {"dnsNames": ["SERVICE.NAMESPACE.svc", "x"]}}),
            ),
        ];
        let r: Vec<Replacement> = serde_json::from_value(json!([
            {"source": {"kind": "Service", "fieldPath": "metadata.namespace"},
             "targets": [{"select": {"kind": "Certificate"}, "fieldPaths": ["spec.dnsNames.0", "spec.missing"],
                          "options": {"delimiter": ".", "index": 1}}]},
            {"source": {"kind": "Service"},
             "targets": [{"select": {"kind": "Certificate"}, "fieldPaths": ["spec.dnsNames.0", "spec.made.here"],
                          "options": {"delimiter": ".", "create": true}}]}
        ]))
        .unwrap();
        apply(&mut set, &r).unwrap();
        assert_eq!(set[1].obj["spec"]["dnsNames"], json!(["svc.ns.svc", "x"]));
        assert_eq!(set[1].obj["spec"]["made"]["here"], "svc");
        assert!(set[1].obj["spec"].get("missing").is_none());
        let none: Vec<Replacement> =
            serde_json::from_value(json!([{"source": {"kind": "Nope"}, "targets": []}])).unwrap();
        assert!(apply(&mut set, &none).is_err());
    }
}
