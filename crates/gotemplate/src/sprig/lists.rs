//! Sprig's list functions (`list`, `append`, `first`, `uniq`, `slice`, `chunk`, `concat`, …).
//! Sprig reaches lists through reflection, so each takes any value and fails with Sprig's
//! "Cannot … on type KIND" text when it is not a list; the `must*` variants return that error and
//! the others panic with it, which Go's template engine reports the same way.

use super::args::{self, FnResult, as_list, deep_equal, is_empty, kind_name};
use super::{fixed, variadic};
use crate::value::{FuncMap, Value};

pub(super) fn register(m: &mut FuncMap) {
    variadic(m, "list", 0, |a| Ok(Value::list(a.to_vec())));
    variadic(m, "tuple", 0, |a| Ok(Value::list(a.to_vec())));
    for name in ["append", "push", "mustAppend", "mustPush"] {
        fixed(m, name, 2, |a| {
            let mut items = items(&a[0], "push")?;
            items.push(a[1].clone());
            Ok(Value::list(items))
        });
    }
    for name in ["prepend", "mustPrepend"] {
        fixed(m, name, 2, |a| {
            let mut items = items(&a[0], "prepend")?;
            items.insert(0, a[1].clone());
            Ok(Value::list(items))
        });
    }
    for name in ["chunk", "mustChunk"] {
        fixed(m, name, 2, |a| {
            let size = args::int(&a[0])?;
            let items = as_list(&a[1])
                .map(|l| l.borrow().clone())
                .ok_or_else(|| format!("Cannot chunk type {}", kind_name(&a[1])))?;
            if size <= 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(Value::list(
                items
                    .chunks(size as usize)
                    .map(|c| Value::list(c.to_vec()))
                    .collect(),
            ))
        });
    }
    for name in ["first", "mustFirst"] {
        fixed(m, name, 1, |a| {
            Ok(items(&a[0], "find first")?
                .first()
                .cloned()
                .unwrap_or(Value::Nil))
        });
    }
    for name in ["last", "mustLast"] {
        fixed(m, name, 1, |a| {
            Ok(items(&a[0], "find last")?
                .last()
                .cloned()
                .unwrap_or(Value::Nil))
        });
    }
    for name in ["rest", "mustRest"] {
        fixed(m, name, 1, |a| {
            let items = items(&a[0], "find rest")?;
            Ok(Value::list(items.into_iter().skip(1).collect()))
        });
    }
    for name in ["initial", "mustInitial"] {
        fixed(m, name, 1, |a| {
            let mut items = items(&a[0], "find initial")?;
            items.pop();
            Ok(Value::list(items))
        });
    }
    for name in ["reverse", "mustReverse"] {
        fixed(m, name, 1, |a| {
            let mut items = items(&a[0], "find reverse")?;
            items.reverse();
            Ok(Value::list(items))
        });
    }
    for name in ["compact", "mustCompact"] {
        fixed(m, name, 1, |a| {
            let items = items(&a[0], "compact")?;
            Ok(Value::list(
                items.into_iter().filter(|v| !is_empty(v)).collect(),
            ))
        });
    }
    for name in ["uniq", "mustUniq"] {
        fixed(m, name, 1, |a| {
            let mut out: Vec<Value> = Vec::new();
            for item in items(&a[0], "find uniq")? {
                if !out.iter().any(|o| deep_equal(o, &item)) {
                    out.push(item);
                }
            }
            Ok(Value::list(out))
        });
    }
    for name in ["without", "mustWithout"] {
        variadic(m, name, 1, |a| {
            let omit = &a[1..];
            let items = items(&a[0], "find without")?;
            Ok(Value::list(
                items
                    .into_iter()
                    .filter(|v| !omit.iter().any(|o| deep_equal(o, v)))
                    .collect(),
            ))
        });
    }
    for name in ["has", "mustHas"] {
        fixed(m, name, 2, |a| {
            if a[1].is_nil() {
                return Ok(Value::Bool(false));
            }
            let items = items(&a[1], "find has")?;
            Ok(Value::Bool(items.iter().any(|v| deep_equal(v, &a[0]))))
        });
    }
    for name in ["slice", "mustSlice"] {
        variadic(m, name, 1, slice);
    }
    variadic(m, "concat", 0, |a| {
        let mut out = Vec::new();
        for list in a {
            match as_list(list) {
                Some(l) => out.extend(l.borrow().iter().cloned()),
                None => return Err(format!("Cannot concat type {} as list", kind_name(list))),
            }
        }
        Ok(Value::list(out))
    });
    fixed(m, "until", 1, |a| {
        let count = args::int(&a[0])?;
        let step = if count < 0 { -1 } else { 1 };
        Ok(int_list(until_step(0, count, step)?))
    });
    fixed(m, "untilStep", 3, |a| {
        let start = args::int(&a[0])?;
        let stop = args::int(&a[1])?;
        let step = args::int(&a[2])?;
        Ok(int_list(until_step(start, stop, step)?))
    });
}

/// Most elements one list function may build, so a typo'd `until` cannot exhaust memory.
const MAX_LIST_LEN: i64 = 10_000_000;

/// Sprig's `untilStep`: start up to (not including) stop, by step; empty when step points away.
pub(super) fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    if (stop < start && step >= 0) || (stop >= start && step <= 0) {
        return Ok(Vec::new());
    }
    let len = (stop as i128 - start as i128) / step as i128;
    if len > MAX_LIST_LEN as i128 {
        return Err(format!(
            "untilStep: {len} elements is more than the {MAX_LIST_LEN} allowed"
        ));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i);
        i = match i.checked_add(step) {
            Some(n) => n,
            None => break,
        };
    }
    Ok(out)
}

fn int_list(items: Vec<i64>) -> Value {
    Value::list(items.into_iter().map(Value::Int).collect())
}

/// The elements of a list argument, or Sprig's "Cannot VERB on type KIND" error.
fn items(v: &Value, verb: &str) -> Result<Vec<Value>, String> {
    match as_list(v) {
        Some(l) => Ok(l.borrow().clone()),
        None => Err(format!("Cannot {verb} on type {}", kind_name(v))),
    }
}

/// Sprig's `slice LIST [START [END]]`: Go slicing with `cast.ToInt` indexes.
fn slice(a: &[Value]) -> FnResult {
    let items = as_list(&a[0]).map(|l| l.borrow().clone()).ok_or_else(|| {
        format!(
            "list should be type of slice or array but {}",
            kind_name(&a[0])
        )
    })?;
    let len = items.len() as i64;
    if len == 0 {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map(args::to_int64).unwrap_or(0);
    let end = if a.len() < 3 {
        len
    } else {
        args::to_int64(&a[2])
    };
    if start < 0 || end < start || end > len {
        return Err("reflect.Value.Slice: slice index out of bounds".into());
    }
    Ok(Value::list(items[start as usize..end as usize].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_step_matches_sprig() {
        assert_eq!(until_step(0, -10, -2).unwrap(), vec![0, -2, -4, -6, -8]);
        assert!(until_step(3, 0, 0).unwrap().is_empty());
        assert!(until_step(3, 99, -1).unwrap().is_empty());
        assert_eq!(until_step(3, 6, 1).unwrap(), vec![3, 4, 5]);
    }
}
