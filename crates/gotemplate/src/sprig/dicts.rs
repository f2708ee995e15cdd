//! Sprig's dictionary functions (`dict`, `get`, `set`, `unset`, `hasKey`, `pluck`, `keys`, `pick`,
//! `omit`, `values`, `merge`, `mergeOverwrite`, `deepCopy`, `dig`). Maps are shared references as
//! in Go, so `set`, `unset` and the merges change the map every holder sees; merges follow
//! `dario.cat/mergo` (nested maps merge recursively, a source map stored into the destination is
//! the same map, not a copy).

use std::collections::BTreeMap;
use std::rc::Rc;

use super::args::{self, FnResult, is_empty, strval};
use super::{fixed, variadic};
use crate::value::{FuncMap, MapRef, Value};

pub(super) fn register(m: &mut FuncMap) {
    variadic(m, "dict", 0, |a| {
        let mut map = BTreeMap::new();
        for pair in a.chunks(2) {
            let value = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
            map.insert(strval(&pair[0]), value);
        }
        Ok(Value::map(map))
    });
    fixed(m, "get", 2, |a| {
        let d = args::map(&a[0])?;
        let key = args::string(&a[1])?;
        let found = d.borrow().get(&*key).cloned();
        Ok(found.unwrap_or_else(|| Value::str("")))
    });
    fixed(m, "set", 3, |a| {
        if a[0].is_nil() {
            return Err("assignment to entry in nil map".into());
        }
        let d = args::map(&a[0])?;
        let key = args::string(&a[1])?;
        d.borrow_mut().insert(key.to_string(), a[2].clone());
        Ok(Value::Map(d))
    });
    fixed(m, "unset", 2, |a| {
        let d = args::map(&a[0])?;
        let key = args::string(&a[1])?;
        d.borrow_mut().remove(&*key);
        Ok(Value::Map(d))
    });
    fixed(m, "hasKey", 2, |a| {
        let d = args::map(&a[0])?;
        let key = args::string(&a[1])?;
        let has = d.borrow().contains_key(&*key);
        Ok(Value::Bool(has))
    });
    variadic(m, "pluck", 1, |a| {
        let key = args::string(&a[0])?;
        let mut out = Vec::new();
        for d in &a[1..] {
            if let Some(v) = args::map(d)?.borrow().get(&*key) {
                out.push(v.clone());
            }
        }
        Ok(Value::list(out))
    });
    variadic(m, "keys", 0, |a| {
        let mut out = Vec::new();
        for d in a {
            out.extend(args::map(d)?.borrow().keys().cloned());
        }
        Ok(args::string_list(out))
    });
    variadic(m, "pick", 1, |a| {
        let d = args::map(&a[0])?;
        let keys = string_args(&a[1..])?;
        let d = d.borrow();
        Ok(Value::map(
            d.iter()
                .filter(|(k, _)| keys.iter().any(|x| **x == ***k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
    });
    variadic(m, "omit", 1, |a| {
        let d = args::map(&a[0])?;
        let keys = string_args(&a[1..])?;
        let d = d.borrow();
        Ok(Value::map(
            d.iter()
                .filter(|(k, _)| !keys.iter().any(|x| **x == ***k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
    });
    fixed(m, "values", 1, |a| {
        let d = args::map(&a[0])?;
        let values: Vec<Value> = d.borrow().values().cloned().collect();
        Ok(Value::list(values))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        variadic(m, name, 1, move |a| {
            let dst = args::map(&a[0])?;
            for src in &a[1..] {
                let src = args::map(src)?;
                merge_into(&dst, &src, overwrite, 0);
            }
            Ok(Value::Map(dst))
        });
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        fixed(m, name, 1, |a| Ok(a[0].deep_copy()));
    }
    variadic(m, "dig", 0, dig);
}

fn string_args(a: &[Value]) -> Result<Vec<Rc<str>>, String> {
    a.iter().map(args::string).collect()
}

/// mergo's depth limit guards against cyclic maps.
const MAX_MERGE_DEPTH: usize = 100;

/// mergo.Merge(&dst, src[, WithOverride]) for `map[string]interface{}`.
fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool, depth: usize) {
    if Rc::ptr_eq(dst, src) || depth > MAX_MERGE_DEPTH {
        return;
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, src_value) in entries {
        let dst_value = dst.borrow().get(&key).cloned();
        if src_value.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(key, Value::Nil);
            }
            continue;
        }
        if let (Value::Map(s), Some(Value::Map(d))) = (&src_value, &dst_value) {
            merge_into(d, s, overwrite, depth + 1);
        }
        let keep_dst = dst_value.as_ref().is_some_and(|d| {
            !is_empty(d)
                && (matches!(src_value, Value::List(_))
                    || matches!((&src_value, d), (Value::Map(_), Value::Map(_))))
        });
        if keep_dst {
            continue;
        }
        let replace = overwrite || dst_value.as_ref().is_none_or(is_empty);
        if replace {
            dst.borrow_mut().insert(key, src_value);
        }
    }
}

/// Sprig's `dig KEY… DEFAULT DICT`: walks nested maps, the default when a key is missing.
fn dig(a: &[Value]) -> FnResult {
    if a.len() < 3 {
        return Err("dig needs at least three arguments".into());
    }
    let mut current = match &a[a.len() - 1] {
        Value::Map(m) => m.clone(),
        other => {
            return Err(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                other.type_name()
            ));
        }
    };
    let default = &a[a.len() - 2];
    let keys = &a[..a.len() - 2];
    for (i, key) in keys.iter().enumerate() {
        let key = match key {
            Value::String(s) => s.clone(),
            other => {
                return Err(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    other.type_name()
                ));
            }
        };
        let step = current.borrow().get(&*key).cloned();
        let Some(step) = step else {
            return Ok(default.clone());
        };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        current = match step {
            Value::Map(m) => m,
            other => {
                return Err(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    other.type_name()
                ));
            }
        };
    }
    Ok(default.clone())
}
