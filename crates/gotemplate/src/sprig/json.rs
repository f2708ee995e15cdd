//! Sprig's JSON functions with Go `encoding/json` output: sorted map keys, `<`, `>` and `&`
//! escaped as `\u003c`… (except `toRawJson`), floats formatted like Go, and `fromJson` decoding
//! every number as float64 as `json.Unmarshal` into `interface{}` does.

use super::args::{self, FnResult};
use super::fixed;
use crate::value::{FuncMap, Value};

pub(super) fn register(m: &mut FuncMap) {
    fixed(m, "fromJson", 1, |a| {
        let s = args::string(&a[0])?;
        Ok(from_json(&s).unwrap_or(Value::Nil))
    });
    fixed(m, "mustFromJson", 1, |a| {
        let s = args::string(&a[0])?;
        from_json(&s)
    });
    for (name, must, style) in [
        ("toJson", false, Style::Compact),
        ("mustToJson", true, Style::Compact),
        ("toPrettyJson", false, Style::Pretty),
        ("mustToPrettyJson", true, Style::Pretty),
        ("toRawJson", false, Style::Raw),
        ("mustToRawJson", true, Style::Raw),
    ] {
        fixed(m, name, 1, move |a| match to_json(&a[0], style) {
            Ok(s) => Ok(s.into()),
            Err(e) if must => Err(e),
            Err(_) => Ok(Value::str("")),
        });
    }
}

/// How `toJson` and friends lay out their output.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Style {
    /// `json.Marshal`.
    Compact,
    /// `json.MarshalIndent(v, "", "  ")`.
    Pretty,
    /// An encoder with `SetEscapeHTML(false)`.
    Raw,
}

/// `json.Unmarshal` into `interface{}`.
pub(crate) fn from_json(s: &str) -> FnResult {
    let parsed: serde_json::Value = serde_json::from_str(s).map_err(|e| {
        if e.is_eof() {
            "unexpected end of JSON input".to_string()
        } else {
            e.to_string()
        }
    })?;
    Ok(convert(&parsed))
}

fn convert(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::Array(a) => Value::list(a.iter().map(convert).collect()),
        serde_json::Value::Object(o) => {
            Value::map(o.iter().map(|(k, v)| (k.clone(), convert(v))).collect())
        }
        other => Value::from_json(other),
    }
}

/// Go's `encoding/json` rendering of a template value.
pub fn to_json(v: &Value, style: Style) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, v, style, 0, 0)?;
    Ok(out)
}

/// Nesting bound: Go reports cycles as an error, and so do we.
const MAX_DEPTH: usize = 1000;

fn write_value(
    out: &mut String,
    v: &Value,
    style: Style,
    level: usize,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "json: unsupported value: encountered a cycle via {}",
            v.type_name()
        ));
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Uint(u) => out.push_str(&u.to_string()),
        Value::Float(f) => out.push_str(&format_json_float(*f)?),
        Value::String(s) => write_string(out, s, style != Style::Raw),
        Value::Binary(b) => write_binary_string(out, b, style != Style::Raw),
        Value::List(l) => {
            let items = l.borrow();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, level + 1);
                write_value(out, item, style, level + 1, depth + 1)?;
            }
            newline(out, style, level);
            out.push(']');
        }
        Value::Map(m) => {
            let entries = m.borrow();
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, level + 1);
                write_string(out, k, style != Style::Raw);
                out.push(':');
                if style == Style::Pretty {
                    out.push(' ');
                }
                write_value(out, item, style, level + 1, depth + 1)?;
            }
            newline(out, style, level);
            out.push('}');
        }
        Value::Object(o) => match o.to_data() {
            Some(data) => write_value(out, &data, style, level, depth + 1)?,
            None => write_string(out, &o.go_string(), style != Style::Raw),
        },
    }
    Ok(())
}

fn newline(out: &mut String, style: Style, level: usize) {
    if style == Style::Pretty {
        out.push('\n');
        for _ in 0..level {
            out.push_str("  ");
        }
    }
}

/// encoding/json's float encoder: `%f` style, exponent form outside [1e-6, 1e21).
fn format_json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            crate::fmt::format_float(f, 'g', -1)
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = crate::fmt::format_float(f, 'e', -1);
        // Go writes e-7, not e-07.
        if let Some(pos) = s.find("e-0") {
            return Ok(format!("{}e-{}", &s[..pos], &s[pos + 3..]));
        }
        return Ok(s);
    }
    Ok(crate::fmt::format_float(f, 'f', -1))
}

/// A JSON string literal as encoding/json writes it.
/// A non-UTF-8 Go string as Go's `encoding/json` writes it: each invalid byte is `\ufffd`.
pub fn write_binary_string(out: &mut String, b: &[u8], escape_html: bool) {
    let start = out.len();
    write_string(out, &crate::gostr::escape(b), escape_html);
    let tail = out.split_off(start);
    for c in tail.chars() {
        if crate::gostr::escaped_byte(c).is_some() {
            out.push_str("\\ufffd");
        } else {
            out.push(c);
        }
    }
}

pub(crate) fn write_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn encodes_like_go() {
        let mut m = BTreeMap::new();
        m.insert("html".to_string(), Value::str("<HEAD>"));
        m.insert("n".to_string(), Value::Float(1e21));
        m.insert(
            "a".to_string(),
            Value::list(vec![Value::Int(1), Value::Nil]),
        );
        let v = Value::map(m);
        assert_eq!(
            to_json(&v, Style::Compact).unwrap(),
            r#"{"a":[1,null],"html":"\u003cHEAD\u003e","n":1e+21}"#
        );
        assert_eq!(
            to_json(&v, Style::Raw).unwrap(),
            r#"{"a":[1,null],"html":"<HEAD>","n":1e+21}"#
        );
        assert_eq!(
            to_json(&v, Style::Pretty).unwrap(),
            "{\n  \"a\": [\n    1,\n    null\n  ],\n  \"html\": \"\\u003cHEAD\\u003e\",\n  \"n\": 1e+21\n}"
        );
        assert_eq!(format_json_float(0.0000001).unwrap(), "1e-7");
    }
}
