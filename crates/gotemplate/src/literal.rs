//! Go literal syntax the parser needs: `strconv.Unquote` for string, raw-string and character
//! literals, and Go's numeric literal rules (`ParseInt`/`ParseUint`/`ParseFloat` with base prefixes,
//! underscores, hex floats) as `text/template/parse` classifies number tokens.

/// A parsed number token: which Go kinds it can be used as, and its value in each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Number {
    pub text: String,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub is_complex: bool,
    pub int64: i64,
    pub uint64: u64,
    pub float64: f64,
    pub complex128: (f64, f64),
}

/// Which lexer item produced the number text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberKind {
    Number,
    Char,
    Complex,
}

/// Go's `parse.newNumber`: classify a number, character or complex token. Errors are worded like Go's.
pub fn parse_number(text: &str, kind: NumberKind) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        ..Number::default()
    };
    match kind {
        NumberKind::Char => {
            let quote = text.chars().next().unwrap_or('\'');
            let body = &text[quote.len_utf8().min(text.len())..];
            let (c, tail) = unquote_char(body, quote)?;
            if tail != "'" {
                return Err(format!("malformed character constant: {text}"));
            }
            n.int64 = c as i64;
            n.is_int = true;
            n.uint64 = c as u64;
            n.is_uint = true;
            n.float64 = c as u32 as f64;
            n.is_float = true;
            return Ok(n);
        }
        NumberKind::Complex => {
            let (re, im) = parse_complex(text)?;
            n.is_complex = true;
            n.complex128 = (re, im);
            simplify_complex(&mut n);
            return Ok(n);
        }
        NumberKind::Number => {}
    }
    if let Some(body) = text.strip_suffix('i')
        && let Some(f) = parse_float(body)
    {
        n.is_complex = true;
        n.complex128 = (0.0, f);
        simplify_complex(&mut n);
        return Ok(n);
    }
    let u = parse_uint(text);
    if let Some(u) = u {
        n.is_uint = true;
        n.uint64 = u;
    }
    if let Some(i) = parse_int(text) {
        n.is_int = true;
        n.int64 = i;
        if i == 0 {
            n.is_uint = true;
            n.uint64 = u.unwrap_or(0);
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float64 = n.int64 as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float64 = n.uint64 as f64;
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", crate::fmt::quote(text)));
        }
        n.is_float = true;
        n.float64 = f;
        if !n.is_int
            && f.fract() == 0.0
            && (-9.223372036854776e18..9.223372036854776e18).contains(&f)
        {
            n.is_int = true;
            n.int64 = f as i64;
        }
        if !n.is_uint && f.fract() == 0.0 && (0.0..1.8446744073709552e19).contains(&f) {
            n.is_uint = true;
            n.uint64 = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!(
            "illegal number syntax: {}",
            crate::fmt::quote(text)
        ));
    }
    Ok(n)
}

fn simplify_complex(n: &mut Number) {
    let (re, im) = n.complex128;
    if im == 0.0 {
        n.is_float = true;
        n.float64 = re;
        if re.fract() == 0.0 && re.abs() < 9.2e18 {
            n.is_int = true;
            n.int64 = re as i64;
        }
        if re.fract() == 0.0 && (0.0..1.8e19).contains(&re) {
            n.is_uint = true;
            n.uint64 = re as u64;
        }
    }
}

/// `fmt.Sscan` of a complex literal, as Go's parser does it: the parts split at the last sign
/// outside an exponent, each parsed by `strconv.ParseFloat`, whose error Go reports.
fn parse_complex(text: &str) -> Result<(f64, f64), String> {
    let body = text.strip_suffix('i').unwrap_or(text);
    let bytes = body.as_bytes();
    let split = (1..bytes.len()).rev().find(|&i| {
        (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E' | b'p' | b'P')
    });
    let Some(i) = split else {
        return Err("expected integer".into());
    };
    let part = |p: &str| {
        parse_float(p).ok_or_else(|| {
            let why = match p.replace('_', "").parse::<f64>() {
                Ok(f) if f.is_infinite() => "value out of range",
                _ => "invalid syntax",
            };
            format!(
                "strconv.ParseFloat: parsing {}: {why}",
                crate::fmt::quote(p)
            )
        })
    };
    Ok((part(&body[..i])?, part(&body[i..])?))
}

/// Go's `underscoreOK`: underscores only between digits (a base prefix counts as a digit).
fn underscore_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Magnitude digits and base of an integer literal with Go's base-0 prefix rules.
fn split_int(s: &str) -> Option<(&str, u32)> {
    if s.is_empty() {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("0x") {
        Some((&s[2..], 16))
    } else if lower.starts_with("0o") {
        Some((&s[2..], 8))
    } else if lower.starts_with("0b") {
        Some((&s[2..], 2))
    } else if s.len() > 1 && s.starts_with('0') {
        Some((&s[1..], 8))
    } else {
        Some((s, 10))
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
pub fn parse_uint(s: &str) -> Option<u64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let (digits, base) = split_int(s)?;
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    u64::from_str_radix(&digits, base).ok()
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
pub fn parse_int(s: &str) -> Option<i64> {
    let (neg, mag) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let u = parse_uint_unchecked(mag)?;
    if neg {
        if u <= 1u64 << 63 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

fn parse_uint_unchecked(s: &str) -> Option<u64> {
    let (digits, base) = split_int(s)?;
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    u64::from_str_radix(&digits, base).ok()
}

/// Go's `strconv.ParseFloat(s, 64)` for literal syntax (decimal and hex floats, underscores).
/// Out-of-range values are errors, as in Go.
pub fn parse_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    let (neg, mag) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let v = if mag.len() > 2 && mag[..2].eq_ignore_ascii_case("0x") {
        parse_hex_float(&mag[2..])?
    } else {
        if mag.is_empty()
            || !mag
                .chars()
                .all(|c| c.is_ascii_digit() || ".eE+-".contains(c))
        {
            return None;
        }
        mag.parse::<f64>().ok()?
    };
    if v.is_infinite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let (mant, exp) = match lower.split_once('p') {
        Some((m, e)) => (m.to_string(), Some(e.to_string())),
        None => (lower.clone(), None),
    };
    let (int_part, frac_part) = match mant.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (mant.clone(), None),
    };
    // A hex mantissa needs a 'p' exponent (Go's readFloat: "must have exponent").
    exp.as_ref()?;
    let frac = frac_part.unwrap_or_default();
    if int_part.is_empty() && frac.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars().chain(frac.chars()) {
        value = value * 16.0 + c.to_digit(16)? as f64;
    }
    let mut e: i32 = match exp {
        Some(e) => e.parse().ok()?,
        None => 0,
    };
    e -= 4 * frac.len() as i32;
    Some(value * 2f64.powi(e))
}

/// Go's `strconv.Unquote` for `"…"`, `` `…` `` and `'…'` literals, as text: a literal whose
/// escapes (`"\xff"`) make bytes that are not UTF-8 reads with U+FFFD (see [`unquote_go`]).
pub fn unquote(s: &str) -> Result<String, String> {
    unquote_go(s).map(|r| match r {
        Ok(s) => s,
        Err(b) => crate::gostr::lossy(&b).into_owned(),
    })
}

/// Go's `strconv.Unquote`: `Ok(text)`, or `Err(bytes)` when the literal's bytes are not UTF-8
/// (a Go string may hold any bytes).
pub fn unquote_go(s: &str) -> Result<Result<String, Vec<u8>>, String> {
    let bad = || "invalid syntax".to_string();
    if s.len() < 2 {
        return Err(bad());
    }
    let q = s.as_bytes()[0];
    if q != s.as_bytes()[s.len() - 1] {
        return Err(bad());
    }
    let body = &s[1..s.len() - 1];
    match q {
        b'`' => {
            if body.contains('`') {
                return Err(bad());
            }
            Ok(Ok(body.replace('\r', "")))
        }
        // Most template strings have no escapes: their text is the body as is.
        b'"' if !body.contains(['\\', '"']) => Ok(Ok(body.to_string())),
        b'"' | b'\'' => {
            let quote = q as char;
            let mut out: Vec<u8> = Vec::new();
            let mut rest = body;
            while !rest.is_empty() {
                if rest.starts_with(quote) && quote == '"' {
                    return Err(bad());
                }
                let (c, tail) = unquote_char_bytes(rest, quote, &mut out)?;
                let _ = c;
                rest = tail;
                if quote == '\'' && !rest.is_empty() {
                    return Err(bad());
                }
            }
            Ok(String::from_utf8(out).map_err(|e| e.into_bytes()))
        }
        _ => Err(bad()),
    }
}

/// Go's `strconv.UnquoteChar` returning a char (byte escapes become the char of that value).
pub fn unquote_char(s: &str, quote: char) -> Result<(char, &str), String> {
    let mut sink = Vec::new();
    unquote_char_bytes(s, quote, &mut sink)
}

/// Decode one (possibly escaped) character of a quoted literal, appending its bytes to `out`.
fn unquote_char_bytes<'s>(
    s: &'s str,
    quote: char,
    out: &mut Vec<u8>,
) -> Result<(char, &'s str), String> {
    let bad = || "invalid syntax".to_string();
    let mut chars = s.chars();
    let c = chars.next().ok_or_else(bad)?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(bad());
    }
    if c != '\\' {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        return Ok((c, chars.as_str()));
    }
    let e = chars.next().ok_or_else(bad)?;
    let simple = match e {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if e != quote {
                return Err(bad());
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(c) = simple {
        out.push(c as u8);
        return Ok((c, chars.as_str()));
    }
    let rest = chars.as_str();
    match e {
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            if rest.len() < n || !rest.is_char_boundary(n) {
                return Err(bad());
            }
            let v = u32::from_str_radix(&rest[..n], 16).map_err(|_| bad())?;
            if e == 'x' {
                out.push(v as u8);
                return Ok((char::from_u32(v).ok_or_else(bad)?, &rest[n..]));
            }
            let c = char::from_u32(v).ok_or_else(bad)?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            Ok((c, &rest[n..]))
        }
        '0'..='7' => {
            let digits = format!("{e}{}", rest.get(..2).ok_or_else(bad)?);
            let v = u32::from_str_radix(&digits, 8).map_err(|_| bad())?;
            if v > 255 {
                return Err(bad());
            }
            out.push(v as u8);
            Ok((char::from_u32(v).ok_or_else(bad)?, &rest[2..]))
        }
        _ => Err(bad()),
    }
}

/// A Go `complex128` constant from a template literal (`1+2i`). Templates can only compare,
/// test and print these, so it is an [`crate::Object`] rather than a value-model variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Complex(pub f64, pub f64);

impl crate::value::Object for Complex {
    fn type_name(&self) -> &str {
        "complex128"
    }
    fn go_string(&self) -> String {
        let re = crate::fmt::format_float(self.0, 'g', -1);
        let mut im = crate::fmt::format_float(self.1, 'g', -1);
        if !im.starts_with(['-', '+']) {
            im.insert(0, '+');
        }
        format!("({re}{im}i)")
    }
    fn truthy(&self) -> bool {
        self.0 != 0.0 || self.1 != 0.0
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected texts are Go's text/template parser's (go-oracle found the first two).
    #[test]
    fn number_errors_like_go() {
        let err = |t: &str, k| parse_number(t, k).err().unwrap();
        assert_eq!(
            err("0x1F9999999999999999999999", NumberKind::Number),
            "illegal number syntax: \"0x1F9999999999999999999999\""
        );
        assert_eq!(
            err("0x1F1+2i", NumberKind::Complex),
            "strconv.ParseFloat: parsing \"0x1F1\": invalid syntax"
        );
        assert_eq!(
            err("9999999999999999999999", NumberKind::Number),
            "integer overflow: \"9999999999999999999999\""
        );
        assert!(parse_number("0x1p-2", NumberKind::Number).unwrap().is_float);
        assert_eq!(parse_float("0x1F"), None);
        assert_eq!(parse_float("0x1Fp1"), Some(62.0));
    }
}
