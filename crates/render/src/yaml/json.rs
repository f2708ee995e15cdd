//! Go `encoding/json` encoding of template values (`toJson`): map keys sorted, HTML-sensitive
//! characters escaped as `\u003c`, floats in Go's shortest form (`1e+21`, `1e-7`), NaN refused.

use signet_gotemplate::Value;
use signet_gotemplate::sprig::JsonStyle;

use super::emit::{float_parts, format_float_g};

/// `json.Marshal(v)`; the error is Go's message (`json: unsupported value: NaN`, or a cycle).
pub fn to_json(v: &Value) -> Result<String, String> {
    signet_gotemplate::sprig::to_json(v, JsonStyle::Compact)
}

/// `encoding/json`'s float encoding: `'f'` form, `'e'` form below 1e-6 or from 1e21 on, with a
/// negative two-digit exponent trimmed (`1e-07` → `1e-7`).
pub fn go_json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            format_float_g(f, false)
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = float_parts(f, false).fmt_e();
        // Go trims "e-07" to "e-7" (only negative exponents below ten).
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            let mut t = s[..n - 2].to_string();
            t.push(b[n - 1] as char);
            return Ok(t);
        }
        Ok(s)
    } else {
        Ok(float_parts(f, false).fmt_f())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn floats_like_go() {
        assert_eq!(go_json_float(1e6).unwrap(), "1000000");
        assert_eq!(go_json_float(1e21).unwrap(), "1e+21");
        assert_eq!(go_json_float(1e-7).unwrap(), "1e-7");
        assert_eq!(go_json_float(1.5e-10).unwrap(), "1.5e-10");
        assert_eq!(go_json_float(0.5).unwrap(), "0.5");
        assert!(go_json_float(f64::NAN).is_err());
        assert_eq!(
            go_json_float(f64::NEG_INFINITY).unwrap_err(),
            "json: unsupported value: -Inf"
        );
    }

    #[test]
    fn escapes_html_and_sorts() {
        let mut m = BTreeMap::new();
        m.insert("b".to_string(), Value::str("<a&b>"));
        m.insert("a".to_string(), Value::Float(2.0));
        assert_eq!(
            to_json(&Value::map(m)).unwrap(),
            r#"{"a":2,"b":"\u003ca\u0026b\u003e"}"#
        );
    }

    #[test]
    fn refuses_a_cycle_instead_of_overflowing() {
        let v = Value::map(BTreeMap::new());
        let Value::Map(m) = &v else { unreachable!() };
        m.borrow_mut().insert("self".into(), v.clone());
        let err = to_json(&v).unwrap_err();
        m.borrow_mut().clear();
        assert!(err.contains("encountered a cycle"), "{err}");
    }
}

/// `json.Unmarshal` into `interface{}` with Go's error messages: objects become maps, every
/// number a `float64`.
pub fn parse_json(src: &str) -> Result<Value, String> {
    let mut p = JsonParser::new(src);
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.invalid("after top-level value"));
    }
    // Go checks the syntax of the whole input before converting numbers.
    if let Some(e) = p.range_error {
        return Err(e);
    }
    Ok(v)
}

/// One JSON value at the start of `src` (Go's `json.Decoder.Decode`): the value and the number of
/// bytes it used, leading whitespace included.
pub fn parse_json_prefix(src: &str) -> Result<(Value, usize), String> {
    let mut p = JsonParser::new(src);
    p.ws();
    let v = p.value().map_err(|e| {
        if e == "unexpected end of JSON input" {
            "unexpected EOF".to_string()
        } else {
            e
        }
    })?;
    if let Some(e) = p.range_error {
        return Err(e);
    }
    Ok((v, p.i))
}

struct JsonParser<'a> {
    b: &'a [u8],
    src: &'a str,
    i: usize,
    /// A number out of float64 range: reported only if the syntax is valid.
    range_error: Option<String>,
    depth: usize,
}

/// Nesting limit (Go's decoder stops at 10000 with the same message; lower here to stay well
/// inside a thread's stack).
const MAX_JSON_DEPTH: usize = 1000;

impl<'a> JsonParser<'a> {
    fn new(src: &'a str) -> Self {
        JsonParser {
            b: src.as_bytes(),
            src,
            i: 0,
            range_error: None,
            depth: 0,
        }
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn invalid(&self, context: &str) -> String {
        if self.i >= self.b.len() {
            return "unexpected end of JSON input".into();
        }
        let c = self.src[self.i..].chars().next().unwrap_or('\u{fffd}');
        let quoted = match c {
            '\'' => "'\\''".to_string(),
            '"' => "'\"'".to_string(),
            c if c.is_control() => format!("'{}'", c.escape_default()),
            c => format!("'{c}'"),
        };
        format!("invalid character {quoted} {context}")
    }

    fn value(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > MAX_JSON_DEPTH {
            return Err("exceeded max depth".into());
        }
        let v = self.value_inner();
        self.depth -= 1;
        v
    }

    fn value_inner(&mut self) -> Result<Value, String> {
        match self.b.get(self.i) {
            None => Err("unexpected end of JSON input".into()),
            Some(b'{') => {
                self.i += 1;
                let mut map = std::collections::BTreeMap::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Value::map(map));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err(self.invalid("looking for beginning of object key string"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return Err(self.invalid("after object key"));
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value()?;
                    map.insert(k, v);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Value::map(map));
                        }
                        _ => return Err(self.invalid("after object key:value pair")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Value::list(items));
                }
                loop {
                    self.ws();
                    items.push(self.value()?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::list(items));
                        }
                        _ => return Err(self.invalid("after array element")),
                    }
                }
            }
            Some(b'"') => Ok(Value::str(self.string()?)),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.invalid("looking for beginning of value")),
        }
    }

    fn word(&mut self, w: &str, v: Value) -> Result<Value, String> {
        for (k, expected) in w.bytes().enumerate() {
            if self.b.get(self.i) != Some(&expected) {
                let ctx = format!("in literal {w} (expecting '{}')", w.as_bytes()[k] as char);
                return Err(self.invalid(&ctx));
            }
            self.i += 1;
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.b[self.i] == b'-' {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.i < p.b.len() && p.b[p.i].is_ascii_digit() {
                p.i += 1;
            }
            p.i - s
        };
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.invalid("in numeric literal")),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.invalid("after decimal point in numeric literal"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.invalid("in exponent of numeric literal"));
            }
        }
        let text = &self.src[start..self.i];
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => {
                self.range_error.get_or_insert_with(|| {
                    format!("json: cannot unmarshal number {text} into Go value of type float64")
                });
                Ok(Value::Nil)
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(rest) = self.src.get(self.i..) else {
                return Err("unexpected end of JSON input".into());
            };
            let Some(c) = rest.chars().next() else {
                return Err("unexpected end of JSON input".into());
            };
            match c {
                '"' => {
                    self.i += 1;
                    return Ok(out);
                }
                '\\' => {
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return Err("unexpected end of JSON input".into());
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi)
                                && self.src.get(self.i..self.i + 2) == Some("\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                    out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                                    continue;
                                }
                                self.i = save;
                            }
                            out.push(char::from_u32(hi).unwrap_or('\u{fffd}'));
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.invalid("in string escape code"));
                        }
                    }
                }
                c if (c as u32) < 0x20 => return Err(self.invalid("in string literal")),
                c => {
                    out.push(c);
                    self.i += c.len_utf8();
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let Some(h) = self.src.get(self.i..self.i + 4) else {
            return Err("unexpected end of JSON input".into());
        };
        let v = u32::from_str_radix(h, 16)
            .map_err(|_| self.invalid("in \\u hexadecimal character escape"))?;
        self.i += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn go_messages() {
        assert_eq!(
            parse_json("{\"a\" 1}").unwrap_err(),
            "invalid character '1' after object key"
        );
        assert_eq!(parse_json("").unwrap_err(), "unexpected end of JSON input");
        assert_eq!(
            parse_json("x").unwrap_err(),
            "invalid character 'x' looking for beginning of value"
        );
        assert!(matches!(parse_json("[1, 2.5]").unwrap(), Value::List(_)));
    }
}

#[cfg(test)]
mod depth_tests {
    use super::*;

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert_eq!(parse_json(&deep).unwrap_err(), "exceeded max depth");
        let toml = format!("a = {}", "[".repeat(100_000));
        assert!(crate::yaml::parse_toml(&toml).is_err());
    }
}
