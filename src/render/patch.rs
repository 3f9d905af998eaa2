//! Applying one `patches:` / `patchesStrategicMerge:` / `patchesJson6902:` entry to the
//! objects of a build: JSON 6902 operations on every object the target selects (none selected
//! is fine), strategic merge patches on every selected object or, without a target, on the
//! object the patch names — by its current or any earlier name — which must exist.
//!
//! Imports nothing from the crate outside `render`.

use serde_json::Value;

use super::Error;
use super::json6902;
use super::resource::Res;
use super::smp;
use super::target::Selector;

pub fn describe(r: &Res) -> String {
    format!("{}/{}", r.kind(), r.name())
}

/// Applies the documents of one patch entry read from `origin`.
pub fn apply(
    set: &mut Vec<Res>,
    origin: &str,
    docs: &[Value],
    selector: Option<&Selector>,
    json_only: bool,
) -> Result<(), Error> {
    let patch_err = |message: String| Error::Patch {
        file: origin.to_owned(),
        message,
    };
    let first = docs.first().cloned().unwrap_or(Value::Array(Vec::new()));
    if let Some(ops) = json6902::parse_ops(&first) {
        let ops = ops.map_err(patch_err)?;
        let Some(sel) = selector else {
            return Err(patch_err("a JSON 6902 patch needs a `target`".into()));
        };
        for r in set.iter_mut().filter(|r| sel.selects(r)) {
            let new = json6902::apply(&r.obj, &ops)
                .map_err(|e| patch_err(format!("{}: {e}", describe(r))))?;
            r.replace(new);
        }
        return Ok(());
    }
    if json_only {
        return Err(patch_err("not a list of JSON 6902 operations".into()));
    }
    for doc in docs {
        if !doc.is_object() {
            return Err(patch_err(
                "a strategic merge patch must be a mapping (or a list of JSON 6902 operations)"
                    .into(),
            ));
        }
        match selector {
            Some(sel) => {
                let picked: Vec<usize> = (0..set.len()).filter(|&i| sel.selects(&set[i])).collect();
                apply_smp(set, doc, &picked);
            }
            None => apply_smp_by_id(set, doc, origin)?,
        }
    }
    Ok(())
}

/// Identity fields of a patch are where it applies, not what it changes.
fn strip_identity(patch: &Value) -> Value {
    let mut p = patch.clone();
    if let Value::Object(m) = &mut p {
        m.remove("apiVersion");
        m.remove("kind");
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            meta.remove("name");
            meta.remove("namespace");
        }
    }
    p
}

fn apply_smp(set: &mut Vec<Res>, patch: &Value, picked: &[usize]) {
    let body = strip_identity(patch);
    let mut deleted = Vec::new();
    for &i in picked {
        let schema = smp::has_schema(set[i].group());
        match smp::merge(&set[i].obj, &body, schema) {
            Some(mut obj) => {
                // kustomize's merge walks the whole object and drops every empty-valued field
                // (`key:` with nothing after it) of a patched object, not only those the patch
                // names; a value spelled `null` stays.
                drop_nulls(&mut obj, &set[i].explicit_nulls);
                set[i].obj = obj;
            }
            None => deleted.push(i),
        }
    }
    for i in deleted.into_iter().rev() {
        set.remove(i);
    }
}

/// Removes null-valued mapping entries at any depth (list items stay), except under keys in
/// `keep`.
pub fn drop_nulls(v: &mut Value, keep: &std::collections::BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            map.retain(|k, child| !child.is_null() || keep.contains(k));
            map.values_mut().for_each(|c| drop_nulls(c, keep));
        }
        Value::Array(items) => items.iter_mut().for_each(|c| drop_nulls(c, keep)),
        _ => {}
    }
}

pub fn apply_smp_by_id(set: &mut Vec<Res>, patch: &Value, origin: &str) -> Result<(), Error> {
    let text = |path: &[&str]| {
        let mut v = patch;
        for p in path {
            match v.get(p) {
                Some(n) => v = n,
                None => return String::new(),
            }
        }
        v.as_str().unwrap_or("").to_owned()
    };
    let kind = text(&["kind"]);
    let name = text(&["metadata", "name"]);
    let ns = text(&["metadata", "namespace"]);
    let group = text(&["apiVersion"])
        .rsplit_once('/')
        .map_or(String::new(), |(g, _)| g.to_owned());
    if kind.is_empty() || name.is_empty() {
        return Err(Error::Patch {
            file: origin.to_owned(),
            message: "a strategic merge patch without `target` needs kind and metadata.name".into(),
        });
    }
    let fits = |r: &Res| {
        r.kind() == kind
            && (text(&["apiVersion"]).is_empty() || r.group() == group)
            && (ns.is_empty() || r.had_namespace(&ns))
    };
    let mut picked: Vec<usize> = (0..set.len())
        .filter(|&i| fits(&set[i]) && set[i].name() == name)
        .collect();
    if picked.is_empty() {
        picked = (0..set.len())
            .filter(|&i| fits(&set[i]) && set[i].had_name(&name))
            .collect();
    }
    if picked.is_empty() {
        return Err(Error::Patch {
            file: origin.to_owned(),
            message: format!("no {kind} named {name:?} in the build to patch"),
        });
    }
    apply_smp(set, patch, &picked);
    Ok(())
}
