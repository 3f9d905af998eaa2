//! configMapGenerator / secretGenerator: building the object from literals, files and env
//! files, and the content-hash name suffix exactly as kustomize computes it (sha256 over Go's
//! `json.Marshal` of `{kind, name: "", data[, type]}`, first 10 hex digits with 0→g 1→h 3→k a→m
//! e→t).
//!
//! Pure over already-read file contents; imports nothing from the crate.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// One `key=value` source of a generator, already read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `literals:` entry text.
    Literal(String),
    /// `files:` entry: key and file contents.
    File { key: String, bytes: Vec<u8> },
    /// `envs:` file contents.
    Env(String),
}

/// Key and raw value of a literal: split at the first '=', surrounding quotes stripped.
pub fn parse_literal(text: &str) -> Result<(String, String), String> {
    let Some((k, v)) = text.split_once('=') else {
        return Err(format!("literal {text:?} is not key=value"));
    };
    if k.is_empty() {
        return Err(format!("literal {text:?} has an empty key"));
    }
    let v = strip_quotes(v);
    Ok((k.to_owned(), v.to_owned()))
}

fn strip_quotes(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// Pairs of an env file: blank lines and `#` comments skipped, values kept verbatim (quotes
/// included), as kustomize does.
pub fn parse_env(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = if n == 0 {
            raw.trim_start_matches('\u{feff}')
        } else {
            raw
        };
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.push((k.trim_end().to_owned(), v.to_owned()))
            }
            // kustomize takes a bare KEY's value from its own environment (empty when unset).
            None if !line.trim_end().contains(char::is_whitespace) => {
                let key = line.trim_end().to_owned();
                let value = std::env::var(&key).unwrap_or_default();
                out.push((key, value));
            }
            _ => return Err(format!("line {}: {line:?} is not KEY=VALUE", n + 1)),
        }
    }
    Ok(out)
}

/// The `data` pairs of a generator's sources, in source order (later keys win).
pub fn collect(sources: &[Source]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut data = BTreeMap::new();
    for s in sources {
        match s {
            Source::Literal(t) => {
                let (k, v) = parse_literal(t)?;
                data.insert(k, v.into_bytes());
            }
            Source::File { key, bytes } => {
                data.insert(key.clone(), bytes.clone());
            }
            Source::Env(text) => {
                for (k, v) in parse_env(text)? {
                    data.insert(k, v.into_bytes());
                }
            }
        }
    }
    Ok(data)
}

/// Writes the pairs into a ConfigMap (`data`, or `binaryData` for non-UTF-8 values) or a
/// Secret (`data`, base64).
pub fn fill(obj: &mut Map<String, Value>, secret: bool, data: &BTreeMap<String, Vec<u8>>) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut text = Map::new();
    let mut binary = Map::new();
    for (k, v) in data {
        if secret {
            text.insert(k.clone(), Value::String(wrap_base64(&b64.encode(v))));
        } else {
            match std::str::from_utf8(v) {
                Ok(s) => {
                    text.insert(k.clone(), Value::String(s.to_owned()));
                }
                Err(_) => {
                    binary.insert(k.clone(), Value::String(b64.encode(v)));
                }
            }
        }
    }
    // kustomize writes a generated Secret's `data` even when no source gave it a key.
    if !text.is_empty() || (secret && binary.is_empty()) {
        obj.insert("data".into(), Value::Object(text));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
}

/// kustomize's Secret value encoding: base64 cut into 70-character lines, each ending in a
/// newline, once the encoding reaches 70 characters. The hash is taken over this text, so the
/// wrapping is part of the name.
pub fn wrap_base64(encoded: &str) -> String {
    const LINE: usize = 70;
    if encoded.len() < LINE {
        return encoded.to_owned();
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for chunk in encoded.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// Go's `json.Marshal` of a value: sorted keys, HTML-safe escaping of `<`, `>`, `&`, and
/// U+2028/U+2029 escaped.
pub fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_sorted(v, &mut out, go_string);
    out
}

/// Compact JSON with sorted keys, strings written by `string` (Go's escaping for kustomize's
/// hash, serde's for the render digest): one walk for both canonical forms.
pub(super) fn write_sorted(v: &Value, out: &mut String, string: fn(&str, &mut String)) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(k, out);
                out.push(':');
                if let Some(val) = m.get(k) {
                    write_sorted(val, out, string);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(x, out, string);
            }
            out.push(']');
        }
        Value::String(s) => string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// kustomize's hash suffix for a generated ConfigMap or Secret object.
pub fn hash_suffix(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut m = Map::new();
    m.insert("kind".into(), Value::String(kind.to_owned()));
    // kubectl kustomize v5.5 hashes with an empty name (pinned by the conformance
    // corpus), so a prefix does not change the suffix.
    m.insert("name".into(), Value::String(String::new()));
    m.insert(
        "data".into(),
        obj.get("data")
            .cloned()
            .unwrap_or(Value::Object(Map::new())),
    );
    if kind == "Secret" {
        let t = obj.get("type").and_then(Value::as_str).unwrap_or("");
        m.insert("type".into(), Value::String(t.to_owned()));
    } else if let Some(b) = obj.get("binaryData") {
        m.insert("binaryData".into(), b.clone());
    }
    let digest = Sha256::digest(go_json(&Value::Object(m)).as_bytes());
    encode(&hex::encode(digest))
}

fn encode(hex: &str) -> String {
    hex.chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// A string map as a JSON object.
pub fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The data (text and binary) of an existing ConfigMap or Secret, decoded.
pub fn existing_data(obj: &Value, secret: bool) -> BTreeMap<String, Vec<u8>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = BTreeMap::new();
    if let Some(Value::Object(d)) = obj.get("data") {
        for (k, v) in d {
            let s = v.as_str().unwrap_or("");
            let bytes = if secret {
                let clean: String = s.split_whitespace().collect();
                b64.decode(clean).unwrap_or_else(|_| s.as_bytes().to_vec())
            } else {
                s.as_bytes().to_vec()
            };
            out.insert(k.clone(), bytes);
        }
    }
    if let Some(Value::Object(d)) = obj.get("binaryData") {
        for (k, v) in d {
            if let Ok(bytes) = b64.decode(v.as_str().unwrap_or("")) {
                out.insert(k.clone(), bytes);
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
    fn literals_strip_quotes_and_split_once() {
        assert_eq!(parse_literal("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(
            parse_literal("a=\"x y\"").unwrap(),
            ("a".into(), "x y".into())
        );
        assert_eq!(parse_literal("a=").unwrap(), ("a".into(), "".into()));
        assert!(parse_literal("novalue").is_err());
    }

    #[test]
    fn env_files_keep_quotes_and_skip_comments() {
        let pairs = parse_env("# c\n\nA=1\nB=\"q\"\n").unwrap();
        assert_eq!(
            pairs,
            vec![("A".into(), "1".into()), ("B".into(), "\"q\"".into())]
        );
    }

    #[test]
    fn go_json_escapes_html() {
        assert_eq!(
            go_json(&json!({"b": "<&>", "a": 1})),
            r#"{"a":1,"b":"\u003c\u0026\u003e"}"#
        );
    }

    #[test]
    fn hash_matches_kustomize() {
        // From the conformance corpus (configmapgen-literals): `api-ui` with theme=dark is
        // named api-ui-79ch2k2549 by kubectl kustomize.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "api-ui"},
            "data": {"theme": "dark"}});
        assert_eq!(hash_suffix(&cm), "79ch2k2549");
    }
}
