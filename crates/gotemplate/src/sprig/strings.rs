//! Sprig's string functions: trimming, case, abbreviation and wrapping (Go's `strings` package
//! and `Masterminds/goutils`), quoting, splitting and joining.
//! Go slices strings by byte, so the byte-indexed functions here (`trunc`, `substr`) work on bytes
//! too and may return a non-UTF-8 string, as Go does (`abbrev` repairs a cut sequence lossily).
//! The byte-transparent ones (`trim`, `replace`, `indent`…) see non-UTF-8 strings escaped (see
//! [`TRANSPARENT`] and [`crate::gostr`]); the rune-wise ones (`upper`, `nospace`…) see each
//! invalid byte as U+FFFD, as Go's `strings.Map` does.

use super::args::{self, strval};
use super::{alias, fixed, variadic};
use crate::value::{FuncMap, Value};
use std::collections::BTreeMap;

/// Largest string `repeat` will build: Helm bounds output size, and so do we.
const MAX_REPEAT_BYTES: usize = 64 << 20;

/// Functions that treat their string arguments as bytes (Go's `strings.Trim`, `Replace`, `Split`,
/// `Contains`…, the regexp family, `fmt`'s `%v`/`%q`), wrapped by [`crate::gostr::transparent`] so
/// a non-UTF-8 string keeps its bytes. The flag: whether a `[]byte` argument is text too (Sprig's
/// `strval` reads a `[]byte` as a string; `%v` prints it as numbers).
pub(super) const TRANSPARENT: &[(&str, bool)] = &[
    ("trim", false),
    ("trimAll", false),
    ("trimall", false),
    ("trimSuffix", false),
    ("trimPrefix", false),
    ("repeat", false),
    ("contains", false),
    ("hasPrefix", false),
    ("hasSuffix", false),
    ("quote", true),
    ("squote", false),
    ("cat", false),
    ("indent", false),
    ("nindent", false),
    ("replace", false),
    ("plural", false),
    ("toString", true),
    ("split", false),
    ("splitn", false),
    ("splitList", false),
    ("regexMatch", false),
    ("mustRegexMatch", false),
    ("regexFindAll", false),
    ("mustRegexFindAll", false),
    ("regexFind", false),
    ("mustRegexFind", false),
    ("regexReplaceAll", false),
    ("mustRegexReplaceAll", false),
    ("regexReplaceAllLiteral", false),
    ("mustRegexReplaceAllLiteral", false),
    ("regexSplit", false),
    ("mustRegexSplit", false),
];

pub(super) fn register(m: &mut FuncMap) {
    fixed(m, "hello", 0, |_| Ok(Value::str("Hello!")));
    fixed(m, "abbrev", 2, |a| {
        let width = args::int(&a[0])?;
        let s = args::string(&a[1])?;
        if width < 4 {
            return Ok(Value::String(s));
        }
        Ok(abbreviate_full(&s, 0, width as usize).into())
    });
    fixed(m, "abbrevboth", 3, |a| {
        let left = args::int(&a[0])?;
        let right = args::int(&a[1])?;
        let s = args::string(&a[2])?;
        if right < 4 || (left > 0 && right < 7) {
            return Ok(Value::String(s));
        }
        Ok(abbreviate_full(&s, left.max(0) as usize, right as usize).into())
    });
    fixed(m, "trunc", 2, |a| {
        let c = args::int(&a[0])?;
        let b = args::bytes(&a[1])?;
        let len = b.len() as i64;
        // Go slices bytes: a cut through a character leaves a non-UTF-8 string.
        Ok(if c < 0 && len + c > 0 {
            Value::from_go_slice(&b[(len + c) as usize..])
        } else if c >= 0 && len > c {
            Value::from_go_slice(&b[..c as usize])
        } else {
            a[1].clone()
        })
    });
    string1(m, "trim", |s| s.trim().to_string());
    string1(m, "upper", |s| s.chars().map(simple_upper).collect());
    string1(m, "lower", |s| s.chars().map(simple_lower).collect());
    string1(m, "title", go_title);
    string1(m, "untitle", uncapitalize);
    fixed(m, "substr", 3, |a| {
        let start = args::int(&a[0])?;
        let end = args::int(&a[1])?;
        let s = args::bytes(&a[2])?;
        substring(start, end, s).map(Value::from_go_slice)
    });
    fixed(m, "repeat", 2, |a| {
        let count = args::int(&a[0])?;
        let s = args::string(&a[1])?;
        if count < 0 {
            return Err("strings: negative Repeat count".into());
        }
        if (count as u128) * (s.len() as u128) > MAX_REPEAT_BYTES as u128 {
            return Err(format!(
                "repeat: result would exceed {MAX_REPEAT_BYTES} bytes"
            ));
        }
        Ok(s.repeat(count as usize).into())
    });
    string2(m, "trimAll", |cut, s| {
        s.trim_matches(|c: char| cut.contains(c)).to_string()
    });
    alias(m, "trimall", "trimAll");
    string2(m, "trimSuffix", |suf, s| {
        s.strip_suffix(suf).unwrap_or(s).to_string()
    });
    string2(m, "trimPrefix", |pre, s| {
        s.strip_prefix(pre).unwrap_or(s).to_string()
    });
    // goutils.DeleteWhiteSpace reads the string byte by byte, each byte as the rune of that
    // value (so "é" comes out as "Ã©"), and drops Latin-1 white space.
    fixed(m, "nospace", 1, |a| {
        let b = args::bytes(&a[0])?;
        Ok(b.iter()
            .map(|&b| char::from(b))
            .filter(|c| {
                !matches!(
                    c,
                    '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ' | '\u{85}' | '\u{a0}'
                )
            })
            .collect::<String>()
            .into())
    });
    string1(m, "initials", initials);
    string1(m, "swapcase", swapcase);
    string1(m, "snakecase", |s| {
        super::strings_case::to_lower_words(s, '_')
    });
    string1(m, "kebabcase", |s| {
        super::strings_case::to_lower_words(s, '-')
    });
    string1(m, "camelcase", super::strings_case::to_camel);
    fixed(m, "wrap", 2, |a| {
        let width = args::int(&a[0])?;
        let s = args::string(&a[1])?;
        Ok(wrap_custom(&s, width, "", false).into())
    });
    fixed(m, "wrapWith", 3, |a| {
        let width = args::int(&a[0])?;
        let sep = args::string(&a[1])?;
        let s = args::string(&a[2])?;
        Ok(wrap_custom(&s, width, &sep, true).into())
    });
    string2_bool(m, "contains", |sub, s| s.contains(sub));
    string2_bool(m, "hasPrefix", |pre, s| s.starts_with(pre));
    string2_bool(m, "hasSuffix", |suf, s| s.ends_with(suf));
    variadic(m, "quote", 0, |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| crate::fmt::quote(&strval(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    variadic(m, "squote", 0, |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            // Sprig formats with `'%v'` (a []byte prints as its byte values), not strval.
            .map(|v| format!("'{}'", crate::fmt::sprint(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    variadic(m, "cat", 0, |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(crate::fmt::sprint)
            .collect();
        Ok(parts.join(" ").into())
    });
    fixed(m, "indent", 2, |a| {
        let n = args::int(&a[0])?;
        let s = args::string(&a[1])?;
        Ok(indent(n, &s)?.into())
    });
    fixed(m, "nindent", 2, |a| {
        let n = args::int(&a[0])?;
        let s = args::string(&a[1])?;
        Ok(format!("\n{}", indent(n, &s)?).into())
    });
    fixed(m, "replace", 3, |a| {
        let old = args::string(&a[0])?;
        let new = args::string(&a[1])?;
        let src = args::string(&a[2])?;
        Ok(go_replace_all(&src, &old, &new).into())
    });
    fixed(m, "plural", 3, |a| {
        let one = args::string(&a[0])?;
        let many = args::string(&a[1])?;
        let count = args::int(&a[2])?;
        Ok(Value::String(if count == 1 { one } else { many }))
    });
    fixed(m, "toString", 1, |a| Ok(strval(&a[0]).into()));
    fixed(m, "toStrings", 1, |a| {
        Ok(args::string_list(strslice(&a[0])))
    });
    fixed(m, "split", 2, |a| {
        let sep = args::string(&a[0])?;
        let s = args::string(&a[1])?;
        Ok(indexed_parts(go_split(&s, &sep, -1)))
    });
    fixed(m, "splitn", 3, |a| {
        let sep = args::string(&a[0])?;
        let n = args::int(&a[1])?;
        let s = args::string(&a[2])?;
        Ok(indexed_parts(go_split(&s, &sep, n)))
    });
    fixed(m, "splitList", 2, |a| {
        let sep = args::string(&a[0])?;
        let s = args::string(&a[1])?;
        Ok(args::string_list(go_split(&s, &sep, -1)))
    });
    fixed(m, "join", 2, |a| {
        let sep = args::string(&a[0])?;
        Ok(strslice(&a[1]).join(&sep).into())
    });
    fixed(m, "sortAlpha", 1, |a| {
        if args::as_list(&a[0]).is_some() {
            let mut items = strslice(&a[0]);
            items.sort();
            Ok(args::string_list(items))
        } else {
            Ok(args::string_list([strval(&a[0])]))
        }
    });
}

/// Go's `unicode.ToUpper`: the simple (one-rune) case mapping, so "ß" stays "ß".
pub(super) fn simple_upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower`: the simple (one-rune) case mapping.
pub(super) fn simple_lower(c: char) -> char {
    let mut low = c.to_lowercase();
    match (low.next(), low.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// A function of one Go `string` returning a string.
fn string1(m: &mut FuncMap, name: &'static str, f: fn(&str) -> String) {
    fixed(m, name, 1, move |a| Ok(f(&args::string(&a[0])?).into()));
}

/// A function of two Go `string`s returning a string.
fn string2(m: &mut FuncMap, name: &'static str, f: fn(&str, &str) -> String) {
    fixed(m, name, 2, move |a| {
        Ok(f(&args::string(&a[0])?, &args::string(&a[1])?).into())
    });
}

/// A predicate of two Go `string`s.
fn string2_bool(m: &mut FuncMap, name: &'static str, f: fn(&str, &str) -> bool) {
    fixed(m, name, 2, move |a| {
        Ok(Value::Bool(f(&args::string(&a[0])?, &args::string(&a[1])?)))
    });
}

pub(super) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Sprig's `strslice`: a list's non-nil elements as strings; a scalar as a one-element list.
pub(super) fn strslice(v: &Value) -> Vec<String> {
    if let Some(list) = args::as_list(v) {
        return list
            .borrow()
            .iter()
            .filter(|x| !x.is_nil())
            .map(strval)
            .collect();
    }
    if v.is_nil() {
        return Vec::new();
    }
    vec![strval(v)]
}

/// Go's `strings.SplitN` (n < 0: all parts; n == 0: none).
pub(super) fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = s.chars().map(String::from).collect();
        if n > 0 && (n as usize) < chars.len() {
            let head = n as usize - 1;
            let mut out: Vec<String> = chars[..head].to_vec();
            out.push(chars[head..].concat());
            return out;
        }
        return chars;
    }
    if n < 0 {
        s.split(sep).map(String::from).collect()
    } else {
        s.splitn(n as usize, sep).map(String::from).collect()
    }
}

/// Go's `strings.Replace(s, old, new, -1)`, including the empty-`old` case that inserts `new`
/// around every rune.
fn go_replace_all(s: &str, old: &str, new: &str) -> String {
    if !old.is_empty() {
        return s.replace(old, new);
    }
    let mut out = String::with_capacity(s.len() + new.len() * (s.len() + 1));
    out.push_str(new);
    for c in s.chars() {
        out.push(c);
        out.push_str(new);
    }
    out
}

/// Sprig's `split`/`splitn` result: a map with keys `_0`, `_1`, ….
fn indexed_parts(parts: Vec<String>) -> Value {
    let map: BTreeMap<String, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::from(p)))
        .collect();
    Value::map(map)
}

fn indent(n: i64, s: &str) -> Result<String, String> {
    if n < 0 {
        return Err("strings: negative Repeat count".into());
    }
    let lines = s.bytes().filter(|b| *b == b'\n').count() + 1;
    if (n as u128) * (lines as u128) + s.len() as u128 > MAX_REPEAT_BYTES as u128 {
        return Err(format!(
            "indent: result would exceed {MAX_REPEAT_BYTES} bytes"
        ));
    }
    let pad = " ".repeat(n as usize);
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

/// Sprig's `substr`: Go slicing by byte, with Go's panic text when out of range.
fn substring(start: i64, end: i64, b: &[u8]) -> Result<&[u8], String> {
    let len = b.len() as i64;
    let (from, to) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if to < 0 || to > len {
        return Err(format!(
            "runtime error: slice bounds out of range [:{to}] with length {len}"
        ));
    }
    if from > to {
        return Err(format!(
            "runtime error: slice bounds out of range [{from}:{to}]"
        ));
    }
    Ok(&b[from as usize..to as usize])
}

/// goutils.AbbreviateFull (commons-lang's abbreviate), by byte like Go.
fn abbreviate_full(s: &str, offset: usize, max_width: usize) -> String {
    let b = s.as_bytes();
    if b.is_empty() {
        return String::new();
    }
    if max_width < 4 {
        return String::new();
    }
    if b.len() <= max_width {
        return s.to_string();
    }
    let mut offset = offset.min(b.len());
    if b.len() - offset < max_width - 3 {
        offset = b.len() - (max_width - 3);
    }
    if offset <= 4 {
        return format!("{}...", lossy(&b[..max_width - 3]));
    }
    if max_width < 7 {
        return String::new();
    }
    if offset + max_width - 3 < b.len() {
        return format!(
            "...{}",
            abbreviate_full(&lossy(&b[offset..]), 0, max_width - 3)
        );
    }
    format!("...{}", lossy(&b[b.len() - (max_width - 3)..]))
}

/// Go's deprecated `strings.Title`: upper-cases the first letter of each word.
fn go_title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_title_separator(prev) {
                simple_upper(c)
            } else {
                c
            };
            prev = c;
            out
        })
        .collect()
}

fn is_title_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

/// goutils.Uncapitalize: lower-cases the first letter of each whitespace-separated word.
fn uncapitalize(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if c.is_whitespace() {
                next = true;
                c
            } else if next {
                next = false;
                simple_lower(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils.Initials: the first rune of each whitespace-separated word.
fn initials(s: &str) -> String {
    let mut gap = true;
    let mut out = String::new();
    for c in s.chars() {
        if c.is_whitespace() {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

/// goutils.SwapCase.
fn swapcase(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_uppercase() {
                simple_lower(c)
            } else if c.is_lowercase() {
                simple_upper(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils.WrapCustom (commons-lang's WordUtils.wrap), by byte like Go.
fn wrap_custom(s: &str, width: i64, newline: &str, wrap_long_words: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let width = width.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0usize;
    let mut out: Vec<u8> = Vec::with_capacity(len + len / width.max(1));
    while len - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (width + offset + 1).min(len);
        let space = b[offset..end].iter().rposition(|c| *c == b' ');
        if let Some(rel) = space {
            out.extend_from_slice(&b[offset..offset + rel]);
            out.extend_from_slice(newline.as_bytes());
            offset += rel + 1;
        } else if wrap_long_words {
            out.extend_from_slice(&b[offset..offset + width]);
            out.extend_from_slice(newline.as_bytes());
            offset += width;
        } else {
            let end = width + offset;
            match b[end..].iter().position(|c| *c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(idx) => {
                    let at = idx + end;
                    out.extend_from_slice(&b[offset..at]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = at + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset.min(len)..]);
    lossy(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_follow_commons_lang() {
        assert_eq!(abbreviate_full("hello world", 0, 5), "he...");
        assert_eq!(abbreviate_full("1234 5678 9123", 5, 10), "...5678...");
    }

    #[test]
    fn wrapping_breaks_at_spaces() {
        assert_eq!(wrap_custom("Hello World", 5, "", false), "Hello\nWorld");
        assert_eq!(wrap_custom("Hello World", 5, "\t", true), "Hello\tWorld");
    }

    #[test]
    fn go_split_matches_strings_split() {
        assert_eq!(go_split("a$b$c", "$", 2), vec!["a", "b$c"]);
        assert_eq!(go_split("abc", "", -1), vec!["a", "b", "c"]);
        assert!(go_split("abc", "b", 0).is_empty());
    }
}
