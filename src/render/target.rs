//! Patch target selection: group, version, kind (exact), name and namespace (anchored
//! regexes, matched against the current or any earlier name, as kustomize does), and label /
//! annotation selectors in Kubernetes syntax (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
//! `a`, `!a`).
//!
//! Imports nothing from the crate outside `render`.

use regex::Regex;
use serde_json::{Map, Value};

use super::kustomization::Target;
use super::resource::Res;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

/// A compiled target.
#[derive(Debug)]
pub struct Selector {
    group: Option<String>,
    version: Option<String>,
    kind: Option<String>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Vec<Req>,
    annotations: Vec<Req>,
}

fn anchored(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| format!("bad regex {pattern:?}: {e}"))
}

fn split_top(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn set_values(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("expected (values) in {text:?}"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect())
}

fn parse_selector(text: &str) -> Result<Vec<Req>, String> {
    let mut reqs = Vec::new();
    for part in split_top(text) {
        let req = if let Some(k) = part.strip_prefix('!') {
            Req::Absent(k.trim().to_owned())
        } else if let Some((k, v)) = part.split_once("!=") {
            Req::Ne(k.trim().to_owned(), v.trim().to_owned())
        } else if let Some((k, v)) = part.split_once("==") {
            Req::Eq(k.trim().to_owned(), v.trim().to_owned())
        } else if let Some((k, v)) = part.split_once('=') {
            Req::Eq(k.trim().to_owned(), v.trim().to_owned())
        } else if let Some((k, v)) = part.split_once(" notin ") {
            Req::NotIn(k.trim().to_owned(), set_values(v)?)
        } else if let Some((k, v)) = part.split_once(" in ") {
            Req::In(k.trim().to_owned(), set_values(v)?)
        } else if part
            .chars()
            .all(|c| c.is_alphanumeric() || "-_./".contains(c))
        {
            Req::Exists(part)
        } else {
            return Err(format!("cannot parse selector requirement {part:?}"));
        };
        reqs.push(req);
    }
    Ok(reqs)
}

fn matches(reqs: &[Req], map: Option<&Map<String, Value>>) -> bool {
    let get = |k: &str| map.and_then(|m| m.get(k)).and_then(Value::as_str);
    reqs.iter().all(|r| match r {
        Req::Eq(k, v) => get(k) == Some(v.as_str()),
        Req::Ne(k, v) => get(k) != Some(v.as_str()),
        Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
        Req::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
        Req::Exists(k) => get(k).is_some(),
        Req::Absent(k) => get(k).is_none(),
    })
}

impl Selector {
    pub fn new(t: &Target) -> Result<Self, String> {
        Ok(Self {
            group: t.group.clone(),
            version: t.version.clone(),
            kind: t.kind.clone(),
            name: t.name.as_deref().map(anchored).transpose()?,
            namespace: t.namespace.as_deref().map(anchored).transpose()?,
            labels: t
                .label_selector
                .as_deref()
                .map(parse_selector)
                .transpose()?
                .unwrap_or_default(),
            annotations: t
                .annotation_selector
                .as_deref()
                .map(parse_selector)
                .transpose()?
                .unwrap_or_default(),
        })
    }

    pub fn selects(&self, r: &Res) -> bool {
        let opt = |want: &Option<String>, got: &str| want.as_deref().is_none_or(|w| w == got);
        if !opt(&self.group, r.group())
            || !opt(&self.version, r.version())
            || !opt(&self.kind, r.kind())
        {
            return false;
        }
        if let Some(re) = &self.name {
            let any = re.is_match(r.name()) || r.previous.iter().any(|(n, _)| re.is_match(n));
            if !any {
                return false;
            }
        }
        if let Some(re) = &self.namespace {
            let any = re.is_match(r.namespace()) || r.previous.iter().any(|(_, n)| re.is_match(n));
            if !any {
                return false;
            }
        }
        matches(&self.labels, r.labels()) && matches(&self.annotations, r.annotations())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_table() {
        let r = Res::new(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "storefront", "labels": {"tier": "web", "team": "a"},
                "annotations": {"canary": "true"}}}));
        let t = |f: &dyn Fn(&mut Target)| {
            let mut t = Target::default();
            f(&mut t);
            Selector::new(&t).unwrap().selects(&r)
        };
        assert!(t(&|t| t.kind = Some("Deployment".into())));
        assert!(!t(&|t| t.kind = Some("Service".into())));
        assert!(t(&|t| t.group = Some("apps".into())));
        assert!(!t(&|t| t.name = Some("front".into())));
        assert!(t(&|t| t.name = Some(".*front".into())));
        assert!(t(&|t| t.label_selector = Some("tier=web".into())));
        assert!(t(
            &|t| t.label_selector = Some("tier in (web, api),team".into())
        ));
        assert!(!t(&|t| t.label_selector = Some("tier notin (web)".into())));
        assert!(t(&|t| t.label_selector = Some("!missing,team!=b".into())));
        assert!(t(&|t| t.annotation_selector = Some("canary=true".into())));
    }
}
