//! RFC 6902 JSON patches (add, remove, replace, move, copy, test) over `serde_json::Value`,
//! with RFC 6901 pointers (`~1` is '/', `~0` is '~', `-` appends to a list). Operations come
//! from YAML or JSON text, as kustomize accepts both.
//!
//! Pure; imports nothing from the crate.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("operation {index} ({op} {path}): {message}")]
pub struct PatchError {
    pub index: usize,
    pub op: String,
    pub path: String,
    pub message: String,
}

/// One operation, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub op: String,
    pub path: String,
    pub from: Option<String>,
    pub value: Option<Value>,
}

/// Reads a list of operations; `None` when the document is not a list of operations (then the
/// text is a strategic merge patch).
pub fn parse_ops(doc: &Value) -> Option<Result<Vec<Op>, String>> {
    let Value::Array(items) = doc else {
        return None;
    };
    let mut ops = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(map) = item.as_object() else {
            return Some(Err(format!("operation {i} is not a mapping")));
        };
        let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(op), Some(path)) = (text("op"), text("path")) else {
            return Some(Err(format!("operation {i} needs `op` and `path`")));
        };
        ops.push(Op {
            op,
            path,
            from: text("from"),
            value: map.get("value").cloned(),
        });
    }
    Some(Ok(ops))
}

fn tokens(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!("pointer {pointer:?} does not start with '/'"));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn index(tok: &str, len: usize, allow_end: bool) -> Result<usize, String> {
    if allow_end && tok == "-" {
        return Ok(len);
    }
    let i: usize = tok
        .parse()
        .map_err(|_| format!("{tok:?} is not a list index"))?;
    let max = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if i > max || (!allow_end && len == 0) {
        return Err(format!("index {i} is out of range (list has {len} items)"));
    }
    Ok(i)
}

fn parent<'a>(doc: &'a mut Value, toks: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get_mut(t).ok_or_else(|| format!("no field {t:?}"))?,
            Value::Array(a) => {
                let i = index(t, a.len(), false)?;
                &mut a[i]
            }
            _ => return Err(format!("cannot descend into a scalar at {t:?}")),
        };
    }
    Ok(cur)
}

fn get(doc: &Value, pointer: &str) -> Result<Value, String> {
    let toks = tokens(pointer)?;
    let mut cur = doc;
    for t in &toks {
        cur = match cur {
            Value::Object(m) => m.get(t).ok_or_else(|| format!("no field {t:?}"))?,
            Value::Array(a) => {
                let i = index(t, a.len(), false)?;
                &a[i]
            }
            _ => return Err(format!("cannot descend into a scalar at {t:?}")),
        };
    }
    Ok(cur.clone())
}

fn add(doc: &mut Value, pointer: &str, value: Value) -> Result<(), String> {
    let toks = tokens(pointer)?;
    let Some((last, init)) = toks.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, init)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i = index(last, a.len(), true)?;
            a.insert(i, value);
            Ok(())
        }
        _ => Err("the parent is a scalar".into()),
    }
}

fn remove(doc: &mut Value, pointer: &str) -> Result<Value, String> {
    let toks = tokens(pointer)?;
    let Some((last, init)) = toks.split_last() else {
        return Err("cannot remove the whole document".into());
    };
    match parent(doc, init)? {
        Value::Object(m) => m.remove(last).ok_or_else(|| format!("no field {last:?}")),
        Value::Array(a) => {
            let i = index(last, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err("the parent is a scalar".into()),
    }
}

/// kustomize's JSON patch library replaces a missing key of an existing object by adding it;
/// a missing parent or list index is still an error.
fn replace(doc: &mut Value, pointer: &str, value: Value) -> Result<(), String> {
    let toks = tokens(pointer)?;
    if let Some((last, up)) = toks.split_last()
        && let Ok(Value::Object(map)) = parent(doc, up)
        && !map.contains_key(last)
    {
        map.insert(last.clone(), value);
        return Ok(());
    }
    let target = parent(doc, &toks)?;
    *target = value;
    Ok(())
}

fn apply_one(doc: &mut Value, op: &Op) -> Result<(), String> {
    let value = || op.value.clone().ok_or_else(|| "missing `value`".to_owned());
    let from = || op.from.clone().ok_or_else(|| "missing `from`".to_owned());
    match op.op.as_str() {
        "add" => add(doc, &op.path, value()?),
        "remove" => remove(doc, &op.path).map(|_| ()),
        "replace" => replace(doc, &op.path, value()?),
        "move" => {
            let v = remove(doc, &from()?)?;
            add(doc, &op.path, v)
        }
        "copy" => {
            let v = get(doc, &from()?)?;
            add(doc, &op.path, v)
        }
        "test" => {
            if get(doc, &op.path)? == value()? {
                Ok(())
            } else {
                Err("test failed: the value differs".into())
            }
        }
        other => Err(format!("unknown operation {other:?}")),
    }
}

/// Applies every operation in order; the document is left unchanged on error.
pub fn apply(doc: &Value, ops: &[Op]) -> Result<Value, PatchError> {
    let mut out = doc.clone();
    for (index, op) in ops.iter().enumerate() {
        apply_one(&mut out, op).map_err(|message| PatchError {
            index,
            op: op.op.clone(),
            path: op.path.clone(),
            message,
        })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, ops: Value) -> Result<Value, PatchError> {
        let ops = parse_ops(&ops).unwrap().unwrap();
        apply(&doc, &ops)
    }

    #[test]
    fn table() {
        let doc = json!({"a": {"b/c": 1, "l": [1, 2]}, "x": "y"});
        let cases: Vec<(&str, Value, Option<Value>)> = vec![
            (
                "add append",
                json!([{"op": "add", "path": "/a/l/-", "value": 3}]),
                Some(json!({"a": {"b/c": 1, "l": [1, 2, 3]}, "x": "y"})),
            ),
            (
                "add escaped key",
                json!([{"op": "add", "path": "/a/b~1d", "value": 2}]),
                Some(json!({"a": {"b/c": 1, "b/d": 2, "l": [1, 2]}, "x": "y"})),
            ),
            (
                "insert at index",
                json!([{"op": "add", "path": "/a/l/0", "value": 0}]),
                Some(json!({"a": {"b/c": 1, "l": [0, 1, 2]}, "x": "y"})),
            ),
            (
                "replace",
                json!([{"op": "replace", "path": "/x", "value": "z"}]),
                Some(json!({"a": {"b/c": 1, "l": [1, 2]}, "x": "z"})),
            ),
            (
                "replace a missing key adds it",
                json!([{"op": "replace", "path": "/a/new", "value": 3}]),
                Some(json!({"a": {"b/c": 1, "l": [1, 2], "new": 3}, "x": "y"})),
            ),
            (
                "replace under a missing parent",
                json!([{"op": "replace", "path": "/m/n", "value": 3}]),
                None,
            ),
            (
                "remove",
                json!([{"op": "remove", "path": "/a/b~1c"}]),
                Some(json!({"a": {"l": [1, 2]}, "x": "y"})),
            ),
            (
                "move",
                json!([{"op": "move", "from": "/x", "path": "/a/x"}]),
                Some(json!({"a": {"b/c": 1, "l": [1, 2], "x": "y"}})),
            ),
            (
                "copy",
                json!([{"op": "copy", "from": "/a/l", "path": "/m"}]),
                Some(json!({"a": {"b/c": 1, "l": [1, 2]}, "x": "y", "m": [1, 2]})),
            ),
            (
                "test ok",
                json!([{"op": "test", "path": "/x", "value": "y"}]),
                Some(doc.clone()),
            ),
            (
                "test fails",
                json!([{"op": "test", "path": "/x", "value": "n"}]),
                None,
            ),
            (
                "remove missing fails",
                json!([{"op": "remove", "path": "/nope"}]),
                None,
            ),
            (
                "replace missing fails",
                json!([{"op": "replace", "path": "/a/l/5", "value": 1}]),
                None,
            ),
        ];
        for (name, ops, want) in cases {
            assert_eq!(run(doc.clone(), ops).ok(), want, "{name}");
        }
    }

    #[test]
    fn a_mapping_is_not_a_json_patch() {
        assert!(parse_ops(&json!({"kind": "Deployment"})).is_none());
    }
}
