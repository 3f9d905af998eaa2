//! The field-by-field comparison: which paths differ between two normalized objects, and (for
//! the fallback strategy) the live object restricted to the fields the desired object sets.
//! Pure; imports nothing of the crate.
//!
//! Equality is Kubernetes' semantic equality, not JSON's, so that server-side spellings never
//! show as drift: null, `{}` and `[]` equal an absent field; quantities compare by value
//! (`1000m` = `1`, `512Mi` = `536870912`) under resource maps; int-or-string fields (ports,
//! `maxSurge`...) compare by their text (`8080` = `"8080"`); numbers compare by value. Lists of
//! objects with a merge key (see [`merge_key`]) are matched by key, and their paths use
//! `name=<value>` segments instead of indexes.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::normalize::{self, is_empty};
use super::quantity;
use crate::model::{ListKey, MANAGED_BY_LABEL, MANAGED_BY_VALUE, list_merge_key};

/// Fields whose values are `IntOrString` in the Kubernetes API.
const INT_OR_STRING: &[&str] = &[
    "port",
    "targetPort",
    "containerPort",
    "nodePort",
    "hostPort",
    "maxSurge",
    "maxUnavailable",
    "minAvailable",
];

/// Maps whose values are resource quantities (`resources.limits`, `ResourceQuota.spec.hard`,
/// PVC `requests`, `emptyDir.sizeLimit`...).
const QUANTITY_MAPS: &[&str] = &[
    "limits",
    "requests",
    "hard",
    "capacity",
    "allocatable",
    "overhead",
];

/// The merge key of the list held in `field`, when every element of both sides has a distinct
/// value for it. `None` means the list is compared as a whole (tolerations, args...) or by index.
pub(crate) fn merge_key(field: &str, a: &[Value], b: &[Value]) -> Option<&'static str> {
    let (key, alternative) = match list_merge_key(field) {
        Some(ListKey::Field(key)) => (key, None),
        Some(ListKey::Port) => ("containerPort", Some("port")),
        None if whole_list(field) => return None,
        // Lists the API types give no key (CRDs' lists among them): by `name` when every
        // element has a distinct one, else by index.
        None => ("name", None),
    };
    std::iter::once(key)
        .chain(alternative)
        .find(|key| keyed(a, key) && keyed(b, key))
}

/// Lists that strategic merge replaces whole: one path for the list, never per element.
fn whole_list(field: &str) -> bool {
    matches!(field, "tolerations" | "args" | "command" | "finalizers")
}

/// Every element has the key, and no two share a value. Lists are short: a quadratic scan
/// beats hashing here.
fn keyed(list: &[Value], key: &str) -> bool {
    if list.len() > 32 {
        let keys: Option<HashSet<Cow<'_, str>>> = list.iter().map(|e| key_text(e, key)).collect();
        return keys.is_some_and(|k| k.len() == list.len());
    }
    list.iter()
        .enumerate()
        .all(|(i, e)| match key_text(e, key) {
            Some(k) => list[i + 1..]
                .iter()
                .all(|other| key_text(other, key).is_some_and(|o| o != k)),
            None => false,
        })
}

fn key_text<'v>(element: &'v Value, key: &str) -> Option<Cow<'v, str>> {
    match element.get(key)? {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// Appends one RFC 6901-escaped path segment (`~` → `~0`, `/` → `~1`).
fn push_escaped(path: &mut String, segment: &str) {
    if !segment.contains(['~', '/']) {
        path.push_str(segment);
        return;
    }
    for c in segment.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

/// Which map a value is, for the noise that [`normalize`](super::normalize) strips: the
/// walker skips the same fields by reference, so an in-sync pair is compared without a clone.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    Root,
    Metadata,
    Annotations,
    Labels,
    Other,
}

/// Where a value sits, for the semantic rules that depend on it.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    field: &'a str,
    /// The field of the map holding this value: quantities are the values of quantity maps.
    parent: &'a str,
    at: At,
    /// Fallback strategy: only the fields the target (desired) sets are compared.
    restricted: bool,
}

impl<'a> Ctx<'a> {
    fn root(restricted: bool) -> Self {
        Ctx {
            field: "",
            parent: "",
            at: At::Root,
            restricted,
        }
    }

    fn child(self, field: &'a str) -> Ctx<'a> {
        Ctx {
            field,
            parent: self.field,
            at: match (self.at, field) {
                (At::Root, "metadata") => At::Metadata,
                (At::Metadata, "annotations") => At::Annotations,
                (At::Metadata, "labels") => At::Labels,
                _ => At::Other,
            },
            restricted: self.restricted,
        }
    }

    /// Whether `key` of this map is noise that normalization strips.
    fn noise(self, key: &str, value: &Value) -> bool {
        match self.at {
            At::Root => key == "status",
            At::Metadata => normalize::SERVER_METADATA.contains(&key),
            At::Annotations => normalize::NOISE_ANNOTATIONS.contains(&key),
            At::Labels => key == MANAGED_BY_LABEL && value.as_str() == Some(MANAGED_BY_VALUE),
            At::Other => false,
        }
    }
}

/// The sorted RFC 6901 paths where `live` and `target` differ semantically, skipping the noise
/// normalization strips. `restricted` (the fallback strategy) compares only the fields
/// `target` sets; keyed list elements only live has still count.
pub(crate) fn differences(live: &Value, target: &Value, restricted: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = String::new();
    walk(
        Some(live),
        Some(target),
        &mut path,
        Ctx::root(restricted),
        &mut out,
    );
    out.sort();
    out.dedup();
    out
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !is_empty(v))
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

fn walk(
    a: Option<&Value>,
    b: Option<&Value>,
    path: &mut String,
    ctx: Ctx<'_>,
    out: &mut Vec<String>,
) {
    let (a, b) = (present(a), present(b));
    if ctx.restricted && b.is_none() {
        return;
    }
    let (a, b) = match (a, b) {
        (None, None) => return,
        (Some(a), Some(b)) => (a, b),
        (a, b) => {
            // A metadata map holding only noise equals an absent one: look inside.
            if ctx.at != At::Other {
                match (a, b) {
                    (Some(Value::Object(am)), None) => walk_maps(am, &EMPTY, path, ctx, out),
                    (None, Some(Value::Object(bm))) => walk_maps(&EMPTY, bm, path, ctx, out),
                    _ => out.push(path.clone()),
                }
            } else {
                out.push(path.clone());
            }
            return;
        }
    };
    // Identical subtrees (most of an in-sync object) are settled by one structural equality,
    // far cheaper than the keyed walk; it fails fast on a length mismatch. Not at the metadata
    // levels, where noise fields make the two sides differ almost always.
    if ctx.at == At::Other && (a.is_object() || a.is_array()) && a == b {
        return;
    }
    match (a, b) {
        (Value::Object(am), Value::Object(bm)) => walk_maps(am, bm, path, ctx, out),
        (Value::Array(al), Value::Array(bl)) => walk_lists(al, bl, path, ctx, out),
        _ => {
            if !scalar_eq(a, b, ctx) {
                out.push(path.clone());
            }
        }
    }
}

/// Whether `serde_json::Map` iterates in key order (a `BTreeMap`, unless some crate in the
/// build turns on serde_json's `preserve_order`): then two maps are walked as one merge of
/// sorted keys, with no lookups.
static SORTED_MAPS: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    let mut m = Map::new();
    m.insert("b".to_owned(), Value::Null);
    m.insert("a".to_owned(), Value::Null);
    m.keys().next().map(String::as_str) == Some("a")
});

fn walk_maps(
    am: &Map<String, Value>,
    bm: &Map<String, Value>,
    path: &mut String,
    ctx: Ctx<'_>,
    out: &mut Vec<String>,
) {
    let len = path.len();
    let mut visit = |key: &str, av: Option<&Value>, bv: Option<&Value>, out: &mut Vec<String>| {
        let av = av.filter(|v| !ctx.noise(key, v));
        let bv = bv.filter(|v| !ctx.noise(key, v));
        if av.is_none() && bv.is_none() {
            return;
        }
        path.push('/');
        push_escaped(path, key);
        walk(av, bv, path, ctx.child(key), out);
        path.truncate(len);
    };
    // Keys only live has are skipped under the fallback (it compares what Git sets).
    if !*SORTED_MAPS {
        if !ctx.restricted {
            for (key, av) in am {
                visit(key, Some(av), bm.get(key), out);
            }
        }
        for (key, bv) in bm
            .iter()
            .filter(|(k, _)| ctx.restricted || !am.contains_key(*k))
        {
            visit(key, am.get(key), Some(bv), out);
        }
        return;
    }
    let mut ai = am.iter().peekable();
    let mut bi = bm.iter().peekable();
    loop {
        let order = match (ai.peek(), bi.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((ak, _)), Some((bk, _))) => ak.as_str().cmp(bk.as_str()),
        };
        match order {
            std::cmp::Ordering::Less => {
                if let Some((key, av)) = ai.next()
                    && !ctx.restricted
                {
                    visit(key, Some(av), None, out);
                }
            }
            std::cmp::Ordering::Greater => {
                if let Some((key, bv)) = bi.next() {
                    visit(key, None, Some(bv), out);
                }
            }
            std::cmp::Ordering::Equal => {
                if let (Some((key, av)), Some((_, bv))) = (ai.next(), bi.next()) {
                    visit(key, Some(av), Some(bv), out);
                }
            }
        }
    }
}

fn walk_lists(al: &[Value], bl: &[Value], path: &mut String, ctx: Ctx<'_>, out: &mut Vec<String>) {
    let len = path.len();
    if let Some(key) = merge_key(ctx.field, al, bl) {
        for b in bl {
            let Some(k) = key_text(b, key) else { continue };
            let a = al.iter().find(|a| key_text(a, key).as_deref() == Some(&*k));
            path.push('/');
            push_escaped(path, key);
            path.push('=');
            push_escaped(path, &k);
            walk(a, Some(b), path, ctx, out);
            path.truncate(len);
        }
        for a in al {
            let Some(k) = key_text(a, key) else { continue };
            if bl.iter().any(|b| key_text(b, key).as_deref() == Some(&*k)) {
                continue;
            }
            let mut p = format!("{path}/");
            push_escaped(&mut p, key);
            p.push('=');
            push_escaped(&mut p, &k);
            out.push(p);
        }
        return;
    }
    let objects = al.iter().chain(bl).all(Value::is_object);
    if al.len() != bl.len() || !objects || whole_list(ctx.field) {
        let equal = al.len() == bl.len()
            && al.iter().zip(bl).all(|(a, b)| {
                let mut sub = Vec::new();
                walk(Some(a), Some(b), &mut String::new(), ctx, &mut sub);
                sub.is_empty()
            });
        if !equal {
            out.push(path.clone());
        }
        return;
    }
    for (i, (a, b)) in al.iter().zip(bl).enumerate() {
        path.push('/');
        path.push_str(&i.to_string());
        walk(Some(a), Some(b), path, ctx, out);
        path.truncate(len);
    }
}

fn scalar_eq(a: &Value, b: &Value, ctx: Ctx<'_>) -> bool {
    if a == b {
        return true;
    }
    if let (Value::Number(x), Value::Number(y)) = (a, b) {
        return x.as_f64() == y.as_f64();
    }
    if INT_OR_STRING.contains(&ctx.field) {
        return scalar_text(a) == scalar_text(b);
    }
    if QUANTITY_MAPS.contains(&ctx.parent) || ctx.field == "sizeLimit" || ctx.field == "storage" {
        return match (quantity::parse(a), quantity::parse(b)) {
            (Some(x), Some(y)) => quantity::same(x, y),
            _ => false,
        };
    }
    false
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Makes two objects print alike where they are semantically equal, so the unified diff shows
/// only real changes: `target` takes live's spelling of equal scalars (`1000m` for `"1"`), and
/// empty or null fields that the other side lacks are dropped from both.
pub(crate) fn align(live: &mut Value, target: &mut Value) {
    align_in(live, target, Ctx::root(false));
}

fn align_in(a: &mut Value, b: &mut Value, ctx: Ctx<'_>) {
    match (a, b) {
        (Value::Object(am), Value::Object(bm)) => {
            am.retain(|k, v| !is_empty(v) || bm.contains_key(k));
            bm.retain(|k, v| !is_empty(v) || am.contains_key(k));
            for (k, bv) in bm.iter_mut() {
                if let Some(av) = am.get_mut(k) {
                    align_in(av, bv, ctx.child(k));
                }
            }
        }
        (Value::Array(al), Value::Array(bl)) => {
            if let Some(key) = merge_key(ctx.field, al, bl) {
                for be in bl.iter_mut() {
                    let k = key_text(be, key);
                    if let Some(ae) = al.iter_mut().find(|ae| key_text(ae, key) == k) {
                        align_in(ae, be, ctx);
                    }
                }
            } else if al.len() == bl.len() {
                for (ae, be) in al.iter_mut().zip(bl.iter_mut()) {
                    align_in(ae, be, ctx);
                }
            }
        }
        (a, b) => {
            if !a.is_object() && !a.is_array() && *a != *b && scalar_eq(a, b, ctx) {
                *b = a.clone();
            }
        }
    }
}

/// `live` cut down to the fields `desired` sets, for the fallback strategy. Keyed list elements
/// that live has and desired lacks are kept: a sync from Git would not have put them there, so
/// an operator wants to see them (a sidecar someone patched in, an env var set by hand).
pub(crate) fn restrict(live: &Value, desired: &Value) -> Value {
    restrict_in(live, desired, "")
}

fn restrict_in(live: &Value, desired: &Value, field: &str) -> Value {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => {
            let mut out = Map::new();
            for (k, dv) in d {
                if let Some(lv) = l.get(k) {
                    out.insert(k.clone(), restrict_in(lv, dv, k));
                }
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(d)) => {
            if let Some(key) = merge_key(field, l, d) {
                let mut rest: Vec<Option<&Value>> = l.iter().map(Some).collect();
                let mut out = Vec::with_capacity(l.len());
                for de in d {
                    let k = key_text(de, key);
                    let found = rest
                        .iter_mut()
                        .find(|slot| slot.is_some_and(|le| key_text(le, key) == k));
                    if let Some(slot) = found
                        && let Some(le) = slot.take()
                    {
                        out.push(restrict_in(le, de, field));
                    }
                }
                out.extend(rest.into_iter().flatten().cloned());
                Value::Array(out)
            } else if l.len() == d.len() {
                Value::Array(
                    l.iter()
                        .zip(d)
                        .map(|(le, de)| restrict_in(le, de, field))
                        .collect(),
                )
            } else {
                live.clone()
            }
        }
        _ => live.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_null_and_empty_are_equal() {
        let a = json!({"a": null, "b": {}, "c": [], "d": 1});
        let b = json!({"d": 1});
        assert!(differences(&a, &b, false).is_empty());
    }

    #[test]
    fn quantities_compare_by_value_under_resources() {
        let a = json!({"resources": {"limits": {"cpu": "1", "memory": "536870912"}}});
        let b = json!({"resources": {"limits": {"cpu": "1000m", "memory": "512Mi"}}});
        assert!(differences(&a, &b, false).is_empty());
        let c = json!({"resources": {"limits": {"cpu": "2", "memory": "512Mi"}}});
        assert_eq!(differences(&a, &c, false), vec!["/resources/limits/cpu"]);
    }

    #[test]
    fn quantities_do_not_leak_into_config_data() {
        let a = json!({"data": {"cpu": "1"}});
        let b = json!({"data": {"cpu": "1000m"}});
        assert_eq!(differences(&a, &b, false), vec!["/data/cpu"]);
    }

    #[test]
    fn int_or_string_ports_compare_by_text() {
        let a = json!({"ports": [{"port": 80, "targetPort": 8080}]});
        let b = json!({"ports": [{"port": 80, "targetPort": "8080"}]});
        assert!(differences(&a, &b, false).is_empty());
    }

    #[test]
    fn keyed_lists_use_key_segments() {
        let a = json!({"containers": [{"name": "api", "image": "a:1"}, {"name": "side", "image": "s"}]});
        let b = json!({"containers": [{"name": "side", "image": "s"}, {"name": "api", "image": "a:2"}]});
        assert_eq!(
            differences(&a, &b, false),
            vec!["/containers/name=api/image"]
        );
        let c = json!({"containers": [{"name": "api", "image": "a:1"}]});
        assert_eq!(differences(&a, &c, false), vec!["/containers/name=side"]);
    }

    #[test]
    fn escapes_slashes_in_keys() {
        let a = json!({"labels": {"app.kubernetes.io/name": "x"}});
        let b = json!({"labels": {"app.kubernetes.io/name": "y"}});
        assert_eq!(
            differences(&a, &b, false),
            vec!["/labels/app.kubernetes.io~1name"]
        );
    }

    #[test]
    fn unkeyed_lists_compare_whole() {
        let a = json!({"tolerations": [{"key": "a"}]});
        let b = json!({"tolerations": [{"key": "a"}, {"key": "b"}]});
        assert_eq!(differences(&a, &b, false), vec!["/tolerations"]);
        let e = json!({"tolerations": [{"key": "a", "value": "1"}]});
        let f = json!({"tolerations": [{"key": "a", "value": "2"}]});
        assert_eq!(differences(&e, &f, false), vec!["/tolerations"]);
        let c = json!({"args": ["--a", "--b"]});
        let d = json!({"args": ["--b", "--a"]});
        assert_eq!(differences(&c, &d, false), vec!["/args"]);
    }

    #[test]
    fn noise_is_skipped_without_normalizing() {
        let live = json!({"metadata": {"name": "a", "uid": "u", "resourceVersion": "1",
            "labels": {"app.kubernetes.io/managed-by": "driftdeck"},
            "annotations": {"driftdeck.io/env": "dev"}}, "status": {"x": 1}, "spec": {"a": 1}});
        let desired = json!({"metadata": {"name": "a"}, "spec": {"a": 1}});
        assert!(differences(&live, &desired, false).is_empty());
        let foreign = json!({"metadata": {"name": "a", "labels": {"app.kubernetes.io/managed-by": "helm"}}, "spec": {"a": 1}});
        assert_eq!(
            differences(&foreign, &desired, false),
            vec!["/metadata/labels/app.kubernetes.io~1managed-by"]
        );
    }

    #[test]
    fn restricted_compares_only_desired_fields() {
        let live =
            json!({"spec": {"a": 1, "b": 2, "c": [{"name": "x", "d": 1, "e": 2}, {"name": "y"}]}});
        let desired = json!({"spec": {"a": 1, "c": [{"name": "x", "d": 1}], "z": {}}});
        assert_eq!(differences(&live, &desired, true), vec!["/spec/c/name=y"]);
        let desired2 = json!({"spec": {"a": 2, "c": [{"name": "x", "d": 1}, {"name": "y"}]}});
        assert_eq!(differences(&live, &desired2, true), vec!["/spec/a"]);
    }

    #[test]
    fn restrict_keeps_only_desired_fields_and_extra_keyed_elements() {
        let live = json!({"spec": {"replicas": 3, "revisionHistoryLimit": 10,
            "containers": [{"name": "api", "image": "a", "imagePullPolicy": "Always"},
                           {"name": "injected", "image": "x"}]}});
        let desired =
            json!({"spec": {"replicas": 3, "containers": [{"name": "api", "image": "a"}]}});
        assert_eq!(
            restrict(&live, &desired),
            json!({"spec": {"replicas": 3, "containers": [{"name": "api", "image": "a"},
                                                           {"name": "injected", "image": "x"}]}})
        );
    }
}
