//! Non-apply patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic merge
//! patch approximated as a merge patch that merges lists with known merge keys by key.

use serde_json::{Map, Value};

use super::errors::ApiError;
use super::ssa::{ListType, Schema};

type Object = Map<String, Value>;

/// The start of both merges: a patch that is not an object replaces the target (`None`: done);
/// otherwise the target becomes an object if it is not one, and both objects are returned.
fn objects_to_merge<'a>(
    target: &'a mut Value,
    patch: &'a Value,
) -> Option<(&'a mut Object, &'a Object)> {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return None;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("made an object above");
    Some((t, p))
}

/// RFC 7386.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Some((t, p)) = objects_to_merge(target, patch) else {
        return;
    };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Strategic merge: like a merge patch, but lists the schema knows as keyed (containers by
/// name, ...) or as sets (finalizers) are merged instead of replaced.
pub fn strategic_merge_patch(
    target: &mut Value,
    patch: &Value,
    schema: &Schema<'_>,
    path: &mut Vec<String>,
) {
    let Some((t, p)) = objects_to_merge(target, patch) else {
        return;
    };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
            continue;
        }
        path.push(k.clone());
        let slot = t.entry(k.clone()).or_insert(Value::Null);
        match (v, schema.list_type(path)) {
            (Value::Array(items), ListType::Map(keys)) if slot.is_array() => {
                let live = slot.as_array_mut().expect("checked");
                for item in items {
                    let key = super::ssa::item_key(item, &keys);
                    match live
                        .iter_mut()
                        .find(|l| super::ssa::item_key(l, &keys) == key)
                    {
                        Some(existing) => strategic_merge_patch(existing, item, schema, path),
                        None => live.push(item.clone()),
                    }
                }
            }
            (Value::Array(items), ListType::Set) if slot.is_array() => {
                let live = slot.as_array_mut().expect("checked");
                for item in items {
                    if !live.contains(item) {
                        live.push(item.clone());
                    }
                }
            }
            (Value::Object(_), _) => strategic_merge_patch(slot, v, schema, path),
            _ => *slot = v.clone(),
        }
        path.pop();
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn pointer_parts(ptr: &str) -> Result<Vec<String>, ApiError> {
    if ptr.is_empty() {
        return Ok(vec![]);
    }
    let rest = ptr
        .strip_prefix('/')
        .ok_or_else(|| ApiError::bad_request(format!("invalid JSON pointer {ptr:?}")))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn parent_mut<'a>(
    doc: &'a mut Value,
    parts: &[String],
    ptr: &str,
) -> Result<&'a mut Value, ApiError> {
    let mut cur = doc;
    for p in parts {
        cur = match cur {
            Value::Object(m) => m.get_mut(p),
            Value::Array(a) => p.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| missing(ptr))?;
    }
    Ok(cur)
}

fn missing(ptr: &str) -> ApiError {
    ApiError::new(
        422,
        format!(
            "the server rejected our request due to an error in our request: path {ptr} does not exist"
        ),
    )
}

fn add(doc: &mut Value, ptr: &str, value: Value) -> Result<(), ApiError> {
    let parts = pointer_parts(ptr)?;
    let Some((last, parents)) = parts.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, parents, ptr)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
            } else {
                let i: usize = last.parse().map_err(|_| missing(ptr))?;
                if i > a.len() {
                    return Err(missing(ptr));
                }
                a.insert(i, value);
            }
        }
        _ => return Err(missing(ptr)),
    }
    Ok(())
}

fn remove(doc: &mut Value, ptr: &str) -> Result<Value, ApiError> {
    let parts = pointer_parts(ptr)?;
    let Some((last, parents)) = parts.split_last() else {
        return Err(missing(ptr));
    };
    match parent_mut(doc, parents, ptr)? {
        Value::Object(m) => m.remove(last).ok_or_else(|| missing(ptr)),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing(ptr))?;
            if i >= a.len() {
                return Err(missing(ptr));
            }
            Ok(a.remove(i))
        }
        _ => Err(missing(ptr)),
    }
}

/// RFC 6902 (add, remove, replace, move, copy, test).
pub fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let ops = patch
        .as_array()
        .ok_or_else(|| ApiError::bad_request("json patch must be an array of operations"))?;
    for op in ops {
        let path = op["path"].as_str().unwrap_or_default();
        match op["op"].as_str().unwrap_or_default() {
            "add" => add(doc, path, op["value"].clone())?,
            "remove" => {
                remove(doc, path)?;
            }
            "replace" => {
                remove(doc, path)?;
                add(doc, path, op["value"].clone())?;
            }
            "move" => {
                let v = remove(doc, op["from"].as_str().unwrap_or_default())?;
                add(doc, path, v)?;
            }
            "copy" => {
                let from = op["from"].as_str().unwrap_or_default();
                let v = doc.pointer(from).cloned().ok_or_else(|| missing(from))?;
                add(doc, path, v)?;
            }
            "test" => {
                // Like the API server's JSON patch library: a missing path tests equal to null
                // (kube-runtime's finalizer helper relies on it).
                let found = doc.pointer(path).unwrap_or(&Value::Null);
                if *found != op["value"] {
                    return Err(ApiError::new(
                        422,
                        format!(
                            "the server rejected our request due to an error in our request: testing value {path} failed"
                        ),
                    ));
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unexpected json patch operation {other:?}"
                )));
            }
        }
    }
    Ok(())
}
