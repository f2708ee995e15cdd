//! Go strings that are not UTF-8.
//!
//! A Go `string` is any byte sequence: `.Files.Get` of a gzip file, `b64dec` of random bytes, or
//! `trunc` cutting a multi-byte character give strings that are not valid UTF-8, and Helm hands
//! their exact bytes to `b64enc`, `sha256sum`, `printf` and the output. Valid text (nearly every
//! string) stays a [`Value::String`]; only strings with invalid bytes become a
//! [`Value::Binary`], so the common path never pays for this.
//!
//! Functions that treat their input as opaque bytes (`trim`, `replace`, `indent`, the regex
//! family…) run unchanged on an *escaped* form: each invalid byte `0xNN` becomes the private-use
//! character U+10FFNN (invalid bytes are always ≥ 0x80, so U+10FF80..=U+10FFFF), which no Rust
//! string function splits or merges, and which matches `.` like Go's `utf8.RuneError` does. The
//! result is unescaped back to bytes. While escaped text is in flight [`escaping`] is set, so
//! quoting prints an escape as Go prints the invalid byte (`\xff`) rather than as a rune. A call
//! whose own text already holds characters of that range is not escaped (the invalid bytes then
//! read as U+FFFD, as rune-wise Go functions read them).

use std::borrow::Cow;
use std::cell::Cell;
use std::rc::Rc;

use crate::value::Value;

/// The first escape character: invalid byte `b` is `ESCAPE_BASE + b`.
const ESCAPE_BASE: u32 = 0x10FF00;

thread_local! {
    static ESCAPING: Cell<bool> = const { Cell::new(false) };
}

/// Whether escaped text is being processed on this thread (see the module doc).
pub(crate) fn escaping() -> bool {
    ESCAPING.with(Cell::get)
}

/// Runs `f` with [`escaping`] set, restoring the previous state after.
pub(crate) fn with_escaping<T>(f: impl FnOnce() -> T) -> T {
    let prev = ESCAPING.with(|e| e.replace(true));
    let r = f();
    ESCAPING.with(|e| e.set(prev));
    r
}

/// The byte an escape character stands for, if `c` is one.
pub fn escaped_byte(c: char) -> Option<u8> {
    let u = c as u32;
    if u >= ESCAPE_BASE + 0x80 {
        Some((u - ESCAPE_BASE) as u8)
    } else {
        None
    }
}

/// Whether `s` holds a character of the escape range.
pub fn has_escape_chars(s: &str) -> bool {
    // Escapes encode as F4 8F BE/BF xx; any string without the lead byte F4 has none.
    s.as_bytes().contains(&0xF4) && s.chars().any(|c| escaped_byte(c).is_some())
}

/// Splits `bytes` the way Go's `utf8.DecodeRune` walks them: valid UTF-8 runs, and single
/// invalid bytes (Go reports every invalid byte as its own `RuneError` of width 1).
fn for_each_part(mut bytes: &[u8], mut part: impl FnMut(Result<&str, u8>)) {
    while !bytes.is_empty() {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                part(Ok(s));
                return;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                // `good` was just validated; from_utf8 cannot fail on it.
                if let Ok(s) = std::str::from_utf8(good) {
                    part(Ok(s));
                }
                part(Err(rest[0]));
                bytes = &rest[1..];
            }
        }
    }
}

/// Go's reading of a byte string as text: each invalid byte is U+FFFD (what `[]rune(s)`,
/// `strings.ToUpper` and `encoding/json` see). Valid UTF-8 is borrowed.
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for_each_part(bytes, |p| match p {
        Ok(s) => out.push_str(s),
        Err(_) => out.push('\u{FFFD}'),
    });
    Cow::Owned(out)
}

/// The escaped form of `bytes` (see the module doc).
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for_each_part(bytes, |p| match p {
        Ok(s) => out.push_str(s),
        Err(b) => out.push(char::from_u32(ESCAPE_BASE + b as u32).unwrap_or('\u{FFFD}')),
    });
    out
}

/// The bytes an escaped string stands for.
pub fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match escaped_byte(c) {
            Some(b) => out.push(b),
            None => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out
}

/// An escaped string back as a Go string value.
pub(crate) fn from_escaped(s: String) -> Value {
    if has_escape_chars(&s) {
        Value::from_go_bytes(unescape(&s))
    } else {
        Value::String(Rc::from(s))
    }
}

/// An escaped string read as Go reads text: escapes become U+FFFD.
pub(crate) fn escaped_to_lossy(s: String) -> String {
    if !has_escape_chars(&s) {
        return s;
    }
    s.chars()
        .map(|c| {
            if escaped_byte(c).is_some() {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Whether any string argument already holds escape-range characters (escaping would be
/// ambiguous).
fn clashes(args: &[Value]) -> bool {
    args.iter()
        .any(|a| matches!(a, Value::String(s) if has_escape_chars(s)))
}

/// Wraps a byte-transparent string function (see the module doc): its non-UTF-8 string arguments
/// arrive escaped and its results (a string, or strings in a list or map) are unescaped. A `[]byte`
/// argument is escaped too only when `bytes_as_text` (functions taking `interface{}` that Sprig
/// converts with `strval`, which reads a `[]byte` as text).
pub(crate) fn transparent(f: crate::value::Func, bytes_as_text: bool) -> crate::value::Func {
    std::sync::Arc::new(move |args: &[Value]| {
        // A list or map may hold non-UTF-8 strings that the function prints (`toString`, `cat`).
        let escape_needed = args.iter().any(|a| match a {
            Value::Binary(_) | Value::List(_) | Value::Map(_) => true,
            Value::Object(o) => bytes_as_text && o.as_bytes().is_some(),
            _ => false,
        });
        if !escape_needed || clashes(args) {
            return f(args);
        }
        let escaped: Vec<Value> = args
            .iter()
            .map(|a| match a {
                Value::Binary(b) => Value::from(escape(b)),
                Value::Object(o) if bytes_as_text => match o.as_bytes() {
                    Some(b) => Value::from(escape(b)),
                    None => a.clone(),
                },
                other => other.clone(),
            })
            .collect();
        let r = with_escaping(|| f(&escaped))?;
        Ok(unescape_result(r))
    })
}

/// Unescapes a function result: a string, or the strings of a list or map it made.
fn unescape_result(v: Value) -> Value {
    match v {
        Value::String(s) if has_escape_chars(&s) => Value::from_go_bytes(unescape(&s)),
        Value::List(l) => {
            for item in l.borrow_mut().iter_mut() {
                if let Value::String(s) = item
                    && has_escape_chars(s)
                {
                    *item = Value::from_go_bytes(unescape(s));
                }
            }
            Value::List(l)
        }
        Value::Map(m) => {
            for item in m.borrow_mut().values_mut() {
                if let Value::String(s) = item
                    && has_escape_chars(s)
                {
                    *item = Value::from_go_bytes(unescape(s));
                }
            }
            Value::Map(m)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_are_one_rune_each_as_in_go() {
        // E2 82 is an incomplete 3-byte sequence: Go reads two RuneErrors, Rust's lossy one.
        let b = b"a\xe2\x82b\xff";
        assert_eq!(lossy(b), "a\u{FFFD}\u{FFFD}b\u{FFFD}");
        let e = escape(b);
        assert_eq!(e.chars().count(), 5);
        assert_eq!(unescape(&e), b);
        assert!(matches!(from_escaped(e), Value::Binary(_)));
        assert!(matches!(from_escaped("ok".into()), Value::String(_)));
    }

    /// Bytes made in a template (a `"\xff"` literal, a cut character) reach the functions and
    /// the output unchanged, as in Go.
    #[test]
    fn templates_keep_the_bytes_of_go_strings() {
        let run = |text: &str| {
            let mut t = crate::Template::with_funcs("t", crate::sprig::functions());
            t.parse(text).unwrap();
            t.execute_template_bytes("t", &Value::Nil).unwrap()
        };
        assert_eq!(run(r#"{{ "a\xffb" }}"#), b"a\xffb");
        assert_eq!(
            run(r#"{{ len "a\xffb" }} {{ "a\xffb" | b64enc }}"#),
            b"3 Yf9i"
        );
        assert_eq!(
            run(r#"{{ printf "%q %x" "\xff\xfe" "\xff" }}"#),
            br#""\xff\xfe" ff"#
        );
        assert_eq!(run(r#"{{ trunc 1 "é" | printf "%q" }}"#), br#""\xc3""#);
        assert_eq!(
            run(r#"{{ "x\xff" | quote }} {{ "\xff" | toJson }}"#),
            br#""x\xff" "\ufffd""#
        );
        assert_eq!(run(r#"{{ "\xff " | trim | upper | b64enc }}"#), b"77+9");
        assert_eq!(run(r#"{{ "a\xff" | replace "a" "b" }}"#), b"b\xff");
        assert_eq!(run(r#"{{ list "\xff" }}"#), b"[\xff]");
    }
}
