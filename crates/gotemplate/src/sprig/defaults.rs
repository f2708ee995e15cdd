//! Sprig's defaults and flow functions: `default`, `empty`, `coalesce`, `all`, `any`, `ternary`,
//! `fail`. "Empty" is Go's zero value: nil, false, 0, "", and empty lists and maps.

use super::args::{self, is_empty};
use super::{fixed, variadic};
use crate::value::{FuncMap, Value};

pub(super) fn register(m: &mut FuncMap) {
    variadic(m, "default", 1, |a| {
        Ok(match a.get(1) {
            Some(given) if !is_empty(given) => given.clone(),
            _ => a[0].clone(),
        })
    });
    fixed(m, "empty", 1, |a| Ok(Value::Bool(is_empty(&a[0]))));
    variadic(m, "coalesce", 0, |a| {
        Ok(a.iter()
            .find(|v| !is_empty(v))
            .cloned()
            .unwrap_or(Value::Nil))
    });
    variadic(m, "all", 0, |a| {
        Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
    });
    variadic(m, "any", 0, |a| {
        Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
    });
    fixed(m, "ternary", 3, |a| {
        Ok(if args::boolean(&a[2])? {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    fixed(m, "fail", 1, |a| Err(args::string(&a[0])?.to_string()));
}
