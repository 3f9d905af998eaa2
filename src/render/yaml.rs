//! YAML in and out for `render`: multi-document parsing into `serde_json::Value` (empty
//! documents and comments skipped, `List` kinds expanded) with `file:line:col` errors, and the
//! multi-document writer used by `to_yaml`.
//!
//! Uses serde-saphyr (the stack's only YAML crate). Imports nothing from the crate.

use serde_json::Value;

/// A YAML document that could not be parsed, located as precisely as the parser allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// `line:col` (1-based) when the parser reports one.
    pub at: Option<(u64, u64)>,
    pub message: String,
}

impl YamlError {
    /// `path:line:col: message`, or `path: message` without a location.
    pub fn describe(&self, path: &str) -> String {
        match self.at {
            Some((l, c)) => format!("{path}:{l}:{c}: {}", self.message),
            None => format!("{path}: {}", self.message),
        }
    }
}

pub(crate) fn from_saphyr(e: &serde_saphyr::Error) -> YamlError {
    let inner = e.without_snippet();
    let at = inner
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| (l.line(), l.column()));
    // The parser's own text repeats the location; keep its first line only.
    let text = inner.to_string();
    let mut message = text.lines().next().unwrap_or("invalid YAML").to_owned();
    // The location is reported separately; an unknown field's list of every valid field
    // drowns the one that matters.
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    if let Some(i) = message.find(", expected one of") {
        message.truncate(i);
    }
    YamlError { at, message }
}

/// The parser settings that resolve plain scalars as kustomize's parser (go-yaml v3) does:
/// `0755` is the octal number 493, `yes`/`no`/`on`/`off` stay strings (only `true`/`false`
/// are booleans). Comments are not kept (nothing reads them, and a file with many of them
/// would otherwise hit the parser's comment buffer limit).
pub(crate) fn options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.legacy_octal_numbers = true;
    o.strict_booleans = true;
    o.emit_comments = false;
    o
}

/// Every non-empty document of a YAML stream, in order.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| from_saphyr(&e))?;
    let mut docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    if let Some(last) = docs.last_mut() {
        unterminated_block_scalar(text, last);
    }
    Ok(docs)
}

/// A block scalar (`|`, `>`) that ends the file without a final line break has no trailing
/// newline in kustomize's parser; serde-saphyr adds one. The scalar is found by its text: the
/// string that ends with the file's unterminated last line plus that added newline.
fn unterminated_block_scalar(text: &str, doc: &mut Value) {
    if text.ends_with('\n') {
        return;
    }
    let last_line = text.rsplit('\n').next().unwrap_or("").trim();
    if last_line.is_empty() || last_line.starts_with('#') {
        return;
    }
    let tail = format!("{last_line}\n");
    strip_first(doc, &tail);
}

fn strip_first(v: &mut Value, tail: &str) -> bool {
    match v {
        Value::String(s) if s.ends_with(tail) => {
            s.pop();
            true
        }
        Value::Object(map) => map.values_mut().any(|c| strip_first(c, tail)),
        Value::Array(items) => items.iter_mut().any(|c| strip_first(c, tail)),
        _ => false,
    }
}

/// Parses manifests: documents that are not mappings are errors, `kind: *List` objects are
/// replaced by their `items`.
pub fn parse_objects(text: &str) -> Result<Vec<Value>, YamlError> {
    let mut out = Vec::new();
    for (n, doc) in parse_documents(text)?.into_iter().enumerate() {
        push_object(doc, n + 1, &mut out)?;
    }
    Ok(out)
}

fn push_object(doc: Value, n: usize, out: &mut Vec<Value>) -> Result<(), YamlError> {
    let Value::Object(map) = doc else {
        return Err(YamlError {
            at: None,
            message: format!("document {n} is not a mapping"),
        });
    };
    let is_list = map
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && map.get("items").is_some_and(Value::is_array);
    if is_list {
        if let Some(Value::Array(items)) = map.get("items") {
            for item in items {
                if !item.is_null() {
                    push_object(item.clone(), n, out)?;
                }
            }
        }
        return Ok(());
    }
    out.push(Value::Object(map));
    Ok(())
}

/// Multi-document YAML, `---` separated.
pub fn write_documents<'a>(docs: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, doc) in docs.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        match serde_saphyr::to_string(doc) {
            Ok(text) => {
                out.push_str(&text);
                if !text.ends_with('\n') {
                    out.push('\n');
                }
            }
            // A serde_json::Value always serializes; JSON is valid YAML as a last resort.
            Err(_) => {
                out.push_str(&doc.to_string());
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_skip_empty_and_comments_and_keep_types() {
        let docs = parse_objects(
            "# c\n---\n---\na: \"8080\"\nb: 8080\nc: 'true'\nd: true\ne: ~\n---\n# only\n",
        )
        .unwrap();
        assert_eq!(
            docs,
            vec![json!({"a": "8080", "b": 8080, "c": "true", "d": true, "e": null})]
        );
    }

    #[test]
    fn a_block_scalar_ending_the_file_keeps_no_added_newline() {
        let docs = parse_documents("a: |\n  x\n  y").unwrap();
        assert_eq!(docs, vec![json!({"a": "x\ny"})]);
        let docs = parse_documents("a: |\n  x\n  y\n").unwrap();
        assert_eq!(docs, vec![json!({"a": "x\ny\n"})]);
    }

    #[test]
    fn lists_are_expanded() {
        let docs =
            parse_objects("kind: ConfigMapList\nitems:\n- {kind: A}\n- {kind: B}\n").unwrap();
        assert_eq!(docs, vec![json!({"kind": "A"}), json!({"kind": "B"})]);
    }

    #[test]
    fn round_trip_keeps_scalar_types() {
        let v = json!({"a": "8080", "b": "true", "c": "", "d": "multi\nline\n", "e": 1.5, "f": null,
            "g": "null", "h": "0x10", "i": "1e3", "j": "- x", "k": ": y", "l": "#c", "m": "yes"});
        let text = write_documents([&v, &v]);
        let back = parse_documents(&text).unwrap();
        assert_eq!(back, vec![v.clone(), v]);
    }

    #[test]
    fn errors_have_a_location() {
        let e = parse_documents("a: b\n  c: d\n").unwrap_err();
        assert!(e.at.is_some(), "{e:?}");
    }
}
