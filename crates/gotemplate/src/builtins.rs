//! Go's builtin template functions (`text/template/funcs.go`): `not len index slice print printf
//! println html js urlquery eq ne lt le gt ge`, with Go's argument counts, type rules and error
//! wording. `and`, `or` and `call` need the evaluator (short-circuit, function values) and live
//! in [`crate::exec`].

use crate::fmt;
use crate::value::Value;

/// Names of all Go builtins, including the ones the evaluator implements itself.
pub const BUILTIN_NAMES: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "html", "js",
    "urlquery", "eq", "ne", "lt", "le", "gt", "ge", "call",
];

pub fn is_builtin(name: &str) -> bool {
    BUILTIN_NAMES.contains(&name)
}

/// Go's arity of a builtin: (fixed arguments, variadic).
pub fn arity(name: &str) -> (usize, bool) {
    match name {
        "and" | "or" | "index" | "slice" | "printf" | "eq" | "call" => (1, true),
        "print" | "println" | "html" | "js" | "urlquery" => (0, true),
        "not" | "len" => (1, false),
        "ne" | "lt" | "le" | "gt" | "ge" => (2, false),
        _ => (0, true),
    }
}

/// Call a plain builtin (not `and`/`or`/`call`) with evaluated arguments.
pub fn call(name: &str, args: &[Value]) -> Result<Value, String> {
    let (fixed, variadic) = arity(name);
    if args.len() < fixed || (!variadic && args.len() != fixed) {
        let least = if variadic { "at least " } else { "" };
        return Err(format!(
            "wrong number of args for {name}: want {least}{fixed} got {}",
            args.len()
        ));
    }
    match name {
        "not" => Ok(Value::Bool(!args[0].truthy())),
        "len" => length(&args[0]).map(Value::Int),
        "index" => index(&args[0], &args[1..]),
        "slice" => slice(&args[0], &args[1..]),
        "print" => Ok(fmt::sprint_args_value(args)),
        "println" => Ok(fmt::sprintln_value(args)),
        "printf" => match &args[0] {
            Value::String(f) => Ok(fmt::sprintf_value(f, &args[1..])),
            // A non-UTF-8 format: its bytes are written as they are, as Go does.
            Value::Binary(f) => Ok(fmt::sprintf_bytes_format(f, &args[1..])),
            other => Err(format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            )),
        },
        "html" => Ok(Value::from(html_escape(&eval_args(args)))),
        "js" => Ok(Value::from(js_escape(&eval_args(args)))),
        "urlquery" => Ok(Value::from(query_escape(&eval_args(args)))),
        "eq" => eq(&args[0], &args[1..]).map(Value::Bool),
        "ne" => eq(&args[0], &args[1..2]).map(|b| Value::Bool(!b)),
        "lt" => lt(&args[0], &args[1]).map(Value::Bool),
        "le" => le(&args[0], &args[1]).map(Value::Bool),
        "gt" => le(&args[0], &args[1]).map(|b| Value::Bool(!b)),
        "ge" => lt(&args[0], &args[1]).map(|b| Value::Bool(!b)),
        other => Err(format!("{} is not a defined function", fmt::quote(other))),
    }
}

/// Go's `evalArgs` for the escapers: a lone string as is, otherwise `fmt.Sprint` with nils shown
/// as `<no value>`.
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let shown: Vec<Value> = args
        .iter()
        .map(|a| {
            if a.is_nil() {
                Value::from("<no value>")
            } else {
                a.clone()
            }
        })
        .collect();
    fmt::sprint_args(&shown)
}

fn length(v: &Value) -> Result<i64, String> {
    match v {
        Value::Nil => Err("len of nil pointer".into()),
        Value::String(s) => Ok(s.len() as i64),
        Value::Binary(b) => Ok(b.len() as i64),
        Value::List(l) => Ok(l.borrow().len() as i64),
        Value::Map(m) => Ok(m.borrow().len() as i64),
        Value::Object(o) if o.as_bytes().is_some() => {
            Ok(o.as_bytes().map_or(0, <[u8]>::len) as i64)
        }
        Value::Object(o) => match o.to_data() {
            Some(d @ (Value::List(_) | Value::Map(_) | Value::String(_))) => length(&d),
            _ => Err(format!("len of type {}", v.type_name())),
        },
        other => Err(format!("len of type {}", other.type_name())),
    }
}

/// Go's `indexArg`: an integer index within `0..=cap`.
fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x: i128 = match index {
        Value::Int(i) | Value::Int64(i) => *i as i128,
        Value::Uint(u) => *u as i128,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x > cap as i128 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for idx in indexes {
        let next = match &item {
            Value::Nil => return Err("index of nil pointer".into()),
            Value::List(l) => {
                let l = l.borrow();
                let x = index_arg(idx, l.len())?;
                match l.get(x) {
                    Some(v) => v.clone(),
                    // Go's indexArg admits x == len; reflect then panics.
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::String(_) | Value::Binary(_) => {
                let s = item.go_bytes().unwrap_or_default();
                let x = index_arg(idx, s.len())?;
                match s.get(x) {
                    Some(b) => Value::Int(*b as i64),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::Map(m) => match idx {
                Value::String(k) => m.borrow().get(k.as_ref()).cloned().unwrap_or(Value::Nil),
                // Map keys are text: a non-UTF-8 key is looked up as Go's runes read it.
                Value::Binary(k) => m
                    .borrow()
                    .get(crate::gostr::lossy(k).as_ref())
                    .cloned()
                    .unwrap_or(Value::Nil),
                Value::Nil => return Err("value is nil; should be of type string".into()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            Value::Object(o) => match o.to_data() {
                Some(d) => index(&d, std::slice::from_ref(idx))?,
                None => return Err(format!("can't index item of type {}", item.type_name())),
            },
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
        item = next;
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    slice_checked(item, indexes, &[])
}

/// Go's `slice`; `iface[i]` tells that index `i` arrived as an `interface {}` value (a map or list
/// element), which Go's `slice` refuses as an index.
pub fn slice_checked(item: &Value, indexes: &[Value], iface: &[bool]) -> Result<Value, String> {
    if item.is_nil() {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::String(_) | Value::Binary(_) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            item.go_bytes().map_or(0, <[u8]>::len)
        }
        Value::List(l) => l.borrow().len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0usize, len, len];
    for (i, index) in indexes.iter().enumerate() {
        if iface.get(i).copied().unwrap_or(false) {
            return Err("cannot index slice/array with type interface {}".into());
        }
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    match item {
        Value::String(_) | Value::Binary(_) => {
            // Go slices bytes: a cut through a character gives a non-UTF-8 string.
            let bytes = item.go_bytes().unwrap_or_default();
            Ok(Value::from_go_slice(&bytes[idx[0]..idx[1]]))
        }
        Value::List(l) => Ok(Value::list(l.borrow()[idx[0]..idx[1]].to_vec())),
        _ => Err(format!("can't slice item of type {}", item.type_name())),
    }
}

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
    Complex,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Uint(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::String(_) | Value::Binary(_) => Kind::String,
        Value::Object(o) if o.type_name() == "complex128" => Kind::Complex,
        _ => Kind::Other,
    }
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

fn uint_of(v: &Value) -> u64 {
    match v {
        Value::Uint(u) => *u,
        _ => 0,
    }
}

fn bad_comparison(a: &Value, b: &Value) -> String {
    format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    )
}

/// Go's `eq`: true when `arg1` equals any of `others`, with Go's basic-kind rules.
pub fn eq(arg1: &Value, others: &[Value]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".into());
    }
    // Go's basicKind: nil, maps, lists and objects are all "invalid" kinds here.
    let basic = |v: &Value| match kind(v) {
        Kind::Other => Kind::Invalid,
        k => k,
    };
    let k1 = basic(arg1);
    for arg in others {
        let k2 = basic(arg);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (Kind::Int, Kind::Uint) => int_of(arg1) >= 0 && int_of(arg1) as u64 == uint_of(arg),
                (Kind::Uint, Kind::Int) => int_of(arg) >= 0 && uint_of(arg1) == int_of(arg) as u64,
                _ => {
                    if !arg1.is_nil() && !arg.is_nil() {
                        return Err(bad_comparison(arg1, arg));
                    }
                    false
                }
            }
        } else {
            match (arg1, arg) {
                (Value::Bool(a), Value::Bool(b)) => a == b,
                (Value::Float(a), Value::Float(b)) => a == b,
                (Value::String(a), Value::String(b)) => a == b,
                // Go compares bytes; a UTF-8 and a non-UTF-8 string always differ.
                (Value::Binary(a), Value::Binary(b)) => a == b,
                (Value::String(_), Value::Binary(_)) | (Value::Binary(_), Value::String(_)) => {
                    false
                }
                (Value::Uint(a), Value::Uint(b)) => a == b,
                _ if k1 == Kind::Int => int_of(arg1) == int_of(arg),
                (Value::Object(a), Value::Object(b)) if k1 == Kind::Complex => {
                    a.go_string() == b.go_string()
                }
                _ => other_equal(arg1, arg)?,
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Equality of non-basic values (Go's default branch of `eq`): nil compares by nil-ness, maps and
/// lists are not comparable, objects compare by identity of their Go value.
fn other_equal(a: &Value, b: &Value) -> Result<bool, String> {
    let reflect_kind = |v: &Value| match v {
        Value::Nil => 0,
        Value::List(_) => 1,
        Value::Map(_) => 2,
        _ => 3,
    };
    let (ka, kb) = (reflect_kind(a), reflect_kind(b));
    if ka != kb && ka != 0 && kb != 0 {
        return Err(format!(
            "non-comparable types {}: {}, {}: {}",
            fmt::sprintf("%s", std::slice::from_ref(a)),
            a.type_name(),
            b.type_name(),
            fmt::sprint(b)
        ));
    }
    if a.is_nil() || b.is_nil() {
        return Ok(a.is_nil() == b.is_nil());
    }
    match (a, b) {
        (_, Value::List(_) | Value::Map(_)) => Err(format!(
            "non-comparable type {}: {}",
            fmt::sprintf("%s", std::slice::from_ref(b)),
            b.type_name()
        )),
        (Value::Object(x), Value::Object(y)) => {
            Ok(x.type_name() == y.type_name() && x.go_string() == y.go_string())
        }
        _ => Ok(false),
    }
}

/// Go's `lt`.
pub fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let k1 = kind(a);
    let k2 = kind(b);
    for k in [k1, k2] {
        if matches!(k, Kind::Invalid | Kind::Other) {
            return Err("invalid type for comparison".into());
        }
    }
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int, Kind::Uint) => Ok(int_of(a) < 0 || (int_of(a) as u64) < uint_of(b)),
            (Kind::Uint, Kind::Int) => Ok(int_of(b) >= 0 && uint_of(a) < int_of(b) as u64),
            _ => Err(bad_comparison(a, b)),
        };
    }
    Ok(match (a, b) {
        (Value::Bool(_) | Value::Object(_), _) => {
            return Err("invalid type for comparison".into());
        }
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        (Value::String(_) | Value::Binary(_), Value::String(_) | Value::Binary(_)) => {
            a.go_bytes() < b.go_bytes()
        }
        (Value::Uint(x), Value::Uint(y)) => x < y,
        _ => int_of(a) < int_of(b),
    })
}

/// Go's `le`: `lt || eq`.
pub fn le(a: &Value, b: &Value) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x80 => out.push(c),
            c if !c.is_control() => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
