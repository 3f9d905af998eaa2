//! Label and field selectors as list and watch requests carry them
//! (`app=web,tier!=db,env in (a,b),!legacy`, `metadata.name=x,involvedObject.kind=Pod`).
//! Pure parsing and matching over `serde_json::Value`; imports nothing of the crate.

use serde_json::Value;

use super::error::ApiError;
use super::stored::Stored;

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Req>);

/// Splits on commas that are not inside parentheses.
fn split_top(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
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
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn set_values(rest: &str) -> Option<Vec<String>> {
    let rest = rest.trim();
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        let bad = |p: &str| {
            ApiError::bad_request(format!(
                "unable to parse requirement: invalid label selector \"{p}\""
            ))
        };
        for part in split_top(s) {
            if let Some(key) = part.strip_prefix('!') {
                reqs.push(Req::NotExists(key.trim().to_string()));
            } else if let Some((k, v)) = part.split_once("!=") {
                reqs.push(Req::NotEq(k.trim().to_string(), v.trim().to_string()));
            } else if let Some((k, v)) = part.split_once("==") {
                reqs.push(Req::Eq(k.trim().to_string(), v.trim().to_string()));
            } else if let Some((k, v)) = part.split_once('=') {
                reqs.push(Req::Eq(k.trim().to_string(), v.trim().to_string()));
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                reqs.push(Req::NotIn(
                    k.trim().to_string(),
                    set_values(rest).ok_or_else(|| bad(&part))?,
                ));
            } else if let Some((k, rest)) = part.split_once(" in ") {
                reqs.push(Req::In(
                    k.trim().to_string(),
                    set_values(rest).ok_or_else(|| bad(&part))?,
                ));
            } else if part.contains(' ') || part.contains('(') {
                return Err(bad(&part));
            } else {
                reqs.push(Req::Exists(part.clone()));
            }
        }
        Ok(LabelSelector(reqs))
    }

    /// The selector of a `metav1.LabelSelector` object (`matchLabels` + `matchExpressions`).
    pub fn from_object(sel: &Value) -> Self {
        let mut reqs = Vec::new();
        if let Some(m) = sel["matchLabels"].as_object() {
            for (k, v) in m {
                reqs.push(Req::Eq(
                    k.clone(),
                    v.as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        for e in sel["matchExpressions"].as_array().into_iter().flatten() {
            let key = e["key"].as_str().unwrap_or_default().to_string();
            let values: Vec<String> = e["values"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            match e["operator"].as_str() {
                Some("In") => reqs.push(Req::In(key, values)),
                Some("NotIn") => reqs.push(Req::NotIn(key, values)),
                Some("Exists") => reqs.push(Req::Exists(key)),
                Some("DoesNotExist") => reqs.push(Req::NotExists(key)),
                _ => {}
            }
        }
        LabelSelector(reqs)
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        self.matches_with(|k| labels.get(k).and_then(Value::as_str))
    }

    /// Matches against any label lookup (the stored index's, without building a Value).
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::NotEq(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Req::NotIn(k, vs) => get(k).is_none_or(|l| !vs.iter().any(|v| v == l)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }
}

/// A parsed field selector: `=`, `==` and `!=` on dotted paths (`metadata.name`,
/// `involvedObject.uid`, `spec.nodeName`, `status.phase`, `type`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, String, bool)>);

impl FieldSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let (k, v, eq) = if let Some((k, v)) = part.split_once("!=") {
                (k, v, false)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, v, true)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, v, true)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid field selector: \"{part}\""
                )));
            };
            reqs.push((k.trim().to_string(), v.trim().to_string(), eq));
        }
        Ok(FieldSelector(reqs))
    }

    /// The `metadata.name=` value, which lets `get` with a name selector be cheap.
    pub fn name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _, eq)| k == "metadata.name" && *eq)
            .map(|(_, v, _)| v.as_str())
    }

    /// Whether matching needs more of the object than the stored index (name, namespace).
    pub fn needs_object(&self) -> bool {
        self.0
            .iter()
            .any(|(k, _, _)| k != "metadata.name" && k != "metadata.namespace")
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(path, want, eq)| {
            let mut cur = obj;
            for seg in path.split('.') {
                cur = &cur[seg];
            }
            let have = match cur {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (have == *want) == *eq
        })
    }
}

/// Whether a stored object passes both selectors, parsing it only when a field selector
/// looks past the index.
pub fn selects(labels: &LabelSelector, fields: &FieldSelector, s: &Stored) -> bool {
    let index = s.index();
    if !labels.matches_with(|k| index.label(k)) {
        return false;
    }
    if fields.needs_object() {
        return fields.matches(&s.value());
    }
    fields.0.iter().all(|(path, want, eq)| {
        let have = if path == "metadata.name" {
            &*index.name
        } else {
            &*index.namespace
        };
        (have == want) == *eq
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_based_label_selector() {
        let obj = json!({"metadata": {"labels": {"app": "web", "env": "prod"}}});
        let yes = [
            "app=web",
            "app in (web,api),env",
            "env notin (dev)",
            "!legacy",
            "app!=db",
        ];
        for s in yes {
            assert!(LabelSelector::parse(s).unwrap().matches(&obj), "{s}");
        }
        let no = ["app=api", "env in (dev, staging)", "!app", "tier"];
        for s in no {
            assert!(!LabelSelector::parse(s).unwrap().matches(&obj), "{s}");
        }
    }

    #[test]
    fn field_selector_on_nested_paths() {
        let ev = json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"}});
        assert!(
            FieldSelector::parse("involvedObject.kind=Pod,involvedObject.name=p")
                .unwrap()
                .matches(&ev)
        );
        assert!(
            !FieldSelector::parse("metadata.name!=e")
                .unwrap()
                .matches(&ev)
        );
    }
}
