//! Argument handling shared by the Sprig functions: Go's reflection checks on typed parameters
//! (the messages `text/template` prints when a `string` parameter gets an `int`), arity checks,
//! and the `spf13/cast` coercions Sprig applies to `interface{}` parameters (`toInt64`,
//! `toFloat64`, `strval`).

use std::rc::Rc;

use crate::value::{ListRef, MapRef, Value};

/// What every Sprig function returns: a value or Go's error text.
pub(crate) type FnResult = Result<Value, String>;

/// Go's "wrong number of args for NAME: want N got M" for a function with fixed parameters.
pub(crate) fn arity(name: &str, args: &[Value], want: usize) -> Result<(), String> {
    if args.len() == want {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        ))
    }
}

/// Go's arity message for a variadic function with `min` fixed parameters.
pub(crate) fn arity_at_least(name: &str, args: &[Value], min: usize) -> Result<(), String> {
    if args.len() >= min {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want at least {min} got {}",
            args.len()
        ))
    }
}

/// Go's message when a value cannot be assigned to a typed parameter.
pub(crate) fn wrong_type(expected: &str, got: &Value) -> String {
    if got.is_nil() {
        return format!("invalid value; expected {expected}");
    }
    format!(
        "wrong type for value; expected {expected}; got {}",
        got.type_name()
    )
}

/// A Go `string` parameter, as text: a non-UTF-8 string reads as Go's rune-wise functions read
/// it (each invalid byte U+FFFD). Byte-exact functions use [`bytes`], byte-transparent ones are
/// registered through [`crate::gostr::transparent`].
pub(crate) fn string(v: &Value) -> Result<Rc<str>, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Binary(b) => Ok(Rc::from(crate::gostr::lossy(b))),
        other => Err(wrong_type("string", other)),
    }
}

/// A Go `string` parameter as its bytes.
pub(crate) fn bytes(v: &Value) -> Result<&[u8], String> {
    v.go_bytes().ok_or_else(|| wrong_type("string", v))
}

/// A Go `int` parameter. Integer constants in templates are `int`; values of other integer types
/// (Sprig's `int64` results) are rejected exactly like Go's reflection does.
pub(crate) fn int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(wrong_type("int", other)),
    }
}

/// A Go `uint32` parameter (`derivePassword`'s counter).
pub(crate) fn uint32(v: &Value) -> Result<u32, String> {
    match v {
        Value::Int(i) if (0..=u32::MAX as i64).contains(i) => Ok(*i as u32),
        Value::Uint(u) if *u <= u32::MAX as u64 => Ok(*u as u32),
        other => Err(wrong_type("uint32", other)),
    }
}

/// A Go `bool` parameter.
pub(crate) fn boolean(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(wrong_type("bool", other)),
    }
}

/// A Go `map[string]interface{}` parameter. A missing value arrives as Go's nil map, which reads
/// as empty.
pub(crate) fn map(v: &Value) -> Result<MapRef, String> {
    match v {
        Value::Map(m) => Ok(m.clone()),
        Value::Nil => Ok(MapRef::default()),
        other => Err(wrong_type("map[string]interface {}", other)),
    }
}

/// A list-like value as Sprig's reflection sees it (`reflect.Slice`/`reflect.Array`).
pub(crate) fn as_list(v: &Value) -> Option<ListRef> {
    match v {
        Value::List(l) => Some(l.clone()),
        Value::Object(o) => match o.to_data() {
            Some(Value::List(l)) => Some(l),
            _ => None,
        },
        _ => None,
    }
}

/// Go's `reflect.Kind` name of a value (Sprig's `kindOf`, and its "Cannot … on type KIND" errors).
pub(crate) fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Uint(_) => "uint64",
        Value::Float(_) => "float64",
        Value::String(_) | Value::Binary(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(o) => {
            if o.type_name().starts_with('*') {
                "ptr"
            } else {
                "struct"
            }
        }
    }
}

/// Sprig's `strval`: strings as they are, everything else through Go's `%v`. Functions using it
/// are registered through [`crate::gostr::transparent`], which hands them non-UTF-8 strings and
/// `[]byte`s escaped; outside that, invalid bytes read as U+FFFD.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Binary(b) => crate::gostr::lossy(b).into_owned(),
        Value::Object(o) if o.as_bytes().is_some() => {
            crate::gostr::lossy(o.as_bytes().unwrap_or_default()).into_owned()
        }
        other => crate::fmt::sprint(other),
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: sign, `0x`/`0o`/`0b`/leading-`0` prefixes, underscores only
/// with a prefix.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    if digits.contains('_') && !prefixed {
        return None;
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || digits.starts_with('+') || digits.starts_with('-') {
        return None;
    }
    let magnitude = u64::from_str_radix(&digits, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((-(magnitude as i128)) as i64)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// `cast`'s trimZeroDecimal: "12.000" parses as an integer, "12.5" does not.
fn trim_zero_decimal(s: &str) -> &str {
    if let Some(dot) = s.find('.') {
        let frac = &s[dot + 1..];
        if !frac.is_empty() && frac.bytes().all(|b| b == b'0') {
            return &s[..dot];
        }
    }
    s
}

/// Go's `strconv.ParseFloat(s, 64)` (decimal, hex floats aside), including "Inf"/"NaN" spellings.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    // Go allows underscores only in prefixed (hex) literals, which Rust cannot parse anyway.
    let t = s;
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if t.is_empty() || t.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') {
        return None;
    }
    t.parse::<f64>().ok()
}

/// `cast.ToInt64`: numbers truncate, numeric strings parse (base prefixes allowed), bools are 0/1,
/// anything else is 0.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Float(f) => float_to_int64(*f),
        Value::Bool(b) => *b as i64,
        Value::String(s) => parse_go_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// Go's `int64(f)` on amd64: truncation, and the "integer indefinite" value for NaN and
/// out-of-range floats (Rust's `as` would saturate instead).
fn float_to_int64(f: f64) -> i64 {
    if f.is_nan() || !(-(i64::MAX as f64)..i64::MAX as f64).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// `cast.ToFloat64`.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => *b as i64 as f64,
        Value::String(s) => parse_go_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`: Go's zero values and empty collections (structs are never empty).
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.type_name().starts_with('*') && !o.truthy(),
        other => !other.truthy(),
    }
}

/// Go's `reflect.DeepEqual` over template values: types must match exactly.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    deep_equal_at(a, b, 0)
}

/// Nesting bound for [`deep_equal`], so a map that contains itself cannot overflow the stack.
const MAX_EQUAL_DEPTH: usize = 1000;

fn deep_equal_at(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > MAX_EQUAL_DEPTH {
        return false;
    }
    let deep_equal = |x: &Value, y: &Value| deep_equal_at(x, y, depth + 1);
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Uint(x), Value::Uint(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Binary(x), Value::Binary(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| deep_equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.type_name() == y.type_name() && x.go_string() == y.go_string()
        }
        _ => false,
    }
}

/// A list of Go strings as a template value (`[]string`).
pub(crate) fn string_list<I: IntoIterator<Item = S>, S: Into<Rc<str>>>(items: I) -> Value {
    Value::list(items.into_iter().map(|s| Value::String(s.into())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_int_parsing_follows_strconv_base_zero() {
        assert_eq!(parse_go_int("0x10"), Some(16));
        assert_eq!(parse_go_int("010"), Some(8));
        assert_eq!(parse_go_int("-12"), Some(-12));
        assert_eq!(parse_go_int("1_000"), None);
        assert_eq!(parse_go_int("abc"), None);
        assert_eq!(to_int64(&Value::str("12.00")), 12);
        assert_eq!(to_int64(&Value::str("12.5")), 0);
        assert_eq!(to_int64(&Value::Float(-3.9)), -3);
        assert_eq!(to_int64(&Value::Float(1e20)), i64::MIN);
    }

    #[test]
    fn typed_parameters_report_go_messages() {
        assert_eq!(
            string(&Value::Int(1)).unwrap_err(),
            "wrong type for value; expected string; got int"
        );
        assert_eq!(int(&Value::Nil).unwrap_err(), "invalid value; expected int");
    }
}
