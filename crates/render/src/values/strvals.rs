//! Helm's `--set` family parsers (`helm/pkg/strvals`): `a.b=c`, lists `a[0]=x`, `{a,b}` list
//! values, backslash escapes, and the typing rules of each flag (`--set` makes `true`/`false`/`null`
//! and decimal integers typed, `--set-string` keeps strings, `--set-json` decodes JSON, `--set-file`
//! reads a file, `--set-literal` takes the rest of the argument verbatim).

use std::collections::BTreeMap;

use signet_gotemplate::Value;
use signet_gotemplate::value::MapRef;

/// Deepest `a.b.c…` nesting accepted, as in Helm.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;
/// Largest list index accepted, as in Helm.
pub const MAX_INDEX: i64 = 65536;

/// A `--set`-style argument that cannot be applied; the message is Helm's.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("{0}")]
pub struct StrvalsError(pub String);

/// Reads the value text of one `key=value` (a file path for `--set-file`).
pub type ValueReader<'a> = dyn Fn(&str) -> Result<Value, String> + 'a;

/// What the value part of `key=value` becomes.
enum Mode<'a> {
    /// `--set` (typed) or `--set-string` (always strings).
    Typed {
        strings: bool,
    },
    Json,
    File(&'a ValueReader<'a>),
}

/// `--set`: `strvals.ParseInto`.
pub fn parse_into(s: &str, dest: &MapRef) -> Result<(), StrvalsError> {
    Parser::new(s, Mode::Typed { strings: false }).parse(dest)
}

/// `--set-string`: `strvals.ParseIntoString`.
pub fn parse_into_string(s: &str, dest: &MapRef) -> Result<(), StrvalsError> {
    Parser::new(s, Mode::Typed { strings: true }).parse(dest)
}

/// `--set-json` in `key=json` form: `strvals.ParseJSON`.
pub fn parse_json(s: &str, dest: &MapRef) -> Result<(), StrvalsError> {
    Parser::new(s, Mode::Json).parse(dest)
}

/// `--set-file`: `strvals.ParseIntoFile`; `reader` turns the path into the value.
pub fn parse_into_file(
    s: &str,
    dest: &MapRef,
    reader: &ValueReader<'_>,
) -> Result<(), StrvalsError> {
    Parser::new(s, Mode::File(reader)).parse(dest)
}

/// `--set-literal`: `strvals.ParseLiteralInto`.
pub fn parse_literal_into(s: &str, dest: &MapRef) -> Result<(), StrvalsError> {
    let mut p = Parser::new(s, Mode::Typed { strings: true });
    p.literal = true;
    p.parse(dest)
}

/// `--set`: a fresh map from one argument (`strvals.Parse`).
pub fn parse(s: &str) -> Result<Value, StrvalsError> {
    let m = new_map();
    parse_into(s, &m)?;
    Ok(Value::Map(m))
}

fn new_map() -> MapRef {
    std::rc::Rc::new(std::cell::RefCell::new(BTreeMap::new()))
}

/// Helm's `typedVal`.
fn typed_val(v: &str, strings: bool) -> Value {
    if strings {
        return Value::str(v);
    }
    if v.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if v == "0" {
        return Value::Int64(0);
    }
    if !v.is_empty()
        && !v.starts_with('0')
        && let Some(i) = go_parse_int10(v)
    {
        return Value::Int64(i);
    }
    Value::str(v)
}

/// `strconv.ParseInt(v, 10, 64)`: optional sign, decimal digits only.
fn go_parse_int10(v: &str) -> Option<i64> {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Outcome of reading up to a stop rune: `None` as the stop means end of input.
struct Until {
    text: String,
    stop: Option<char>,
}

/// Internal flow: `Eof` is Go's `io.EOF` (a clean end), `NotList` is `ErrNotList`.
enum Flow {
    Eof,
    NotList,
    Err(String),
}

impl From<String> for Flow {
    fn from(s: String) -> Self {
        Flow::Err(s)
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    mode: Mode<'a>,
    literal: bool,
}

fn go_type(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        other => other.type_name(),
    }
}

impl<'a> Parser<'a> {
    fn new(s: &str, mode: Mode<'a>) -> Self {
        Parser {
            chars: s.chars().collect(),
            pos: 0,
            mode,
            literal: false,
        }
    }

    fn parse(&mut self, dest: &MapRef) -> Result<(), StrvalsError> {
        loop {
            match self.key(dest, 0) {
                Ok(()) => continue,
                Err(Flow::Eof) => return Ok(()),
                Err(Flow::NotList) => return Err(StrvalsError("not a list".into())),
                Err(Flow::Err(e)) => return Err(StrvalsError(e)),
            }
        }
    }

    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// `runesUntil` (backslash escapes the next rune) or `runesUntilLiteral` (no escapes).
    fn until(&mut self, stop: &[char]) -> Until {
        let mut text = String::new();
        loop {
            let Some(c) = self.read() else {
                return Until { text, stop: None };
            };
            if stop.contains(&c) {
                return Until {
                    text,
                    stop: Some(c),
                };
            }
            if c == '\\' && !self.literal {
                match self.read() {
                    Some(n) => text.push(n),
                    None => return Until { text, stop: None },
                }
            } else {
                text.push(c);
            }
        }
    }

    fn reader(&self, text: &str) -> Result<Value, String> {
        match &self.mode {
            Mode::Typed { strings } => Ok(typed_val(text, *strings)),
            Mode::File(r) => r(text),
            Mode::Json => Ok(Value::str(text)),
        }
    }

    fn key(&mut self, data: &MapRef, mut level: usize) -> Result<(), Flow> {
        let stop: &[char] = if self.literal {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let Until {
            text: k,
            stop: last,
        } = self.until(stop);
        match last {
            None => {
                if k.is_empty() {
                    Err(Flow::Eof)
                } else {
                    Err(Flow::Err(format!("key {k:?} has no value")))
                }
            }
            Some('[') => {
                let i = self.key_index()?;
                let list = match data.borrow().get(&k) {
                    None => Vec::new(),
                    Some(Value::List(l)) => l.borrow().clone(),
                    Some(other) => {
                        return Err(Flow::Err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type(other)
                        )));
                    }
                };
                let (list, result) = self.list_item(list, i, level);
                set(data, &k, Value::list(list));
                result
            }
            Some('=') => {
                if self.literal {
                    let rest: String = self.chars[self.pos..].iter().collect();
                    self.pos = self.chars.len();
                    set(data, &k, Value::str(rest));
                    return Ok(());
                }
                if matches!(self.mode, Mode::Json) {
                    if self.empty_val() {
                        set(data, &k, Value::Nil);
                        return Ok(());
                    }
                    let v = self.json_value()?;
                    set(data, &k, v);
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    Ok(vl) => {
                        set(data, &k, Value::list(vl));
                        Ok(())
                    }
                    Err(Flow::Eof) => {
                        set(data, &k, Value::str(""));
                        Err(Flow::Eof)
                    }
                    Err(Flow::NotList) => {
                        // A value ends the key cleanly even at the end of the input (Go returns
                        // the reader's nil error there, not EOF), so `a..b=1` leaves `a` with
                        // no value and the caller says so.
                        let Until { text, .. } = self.until(&[',']);
                        let v = self.reader(&text)?;
                        set(data, &k, v);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Some(',') => {
                set(data, &k, Value::str(""));
                Err(Flow::Err(format!(
                    "key {k:?} has no value (cannot end with ,)"
                )))
            }
            Some('.') => {
                level += 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(Flow::Err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let inner = match data.borrow().get(&k) {
                    None => new_map(),
                    Some(Value::Map(m)) => m.clone(),
                    Some(other) => {
                        return Err(Flow::Err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            go_type(other)
                        )));
                    }
                };
                let result = self.key(&inner, level);
                let empty = inner.borrow().is_empty();
                if result.is_ok() && empty {
                    return Err(Flow::Err(format!("key map {k:?} has no value")));
                }
                if !empty {
                    set(data, &k, Value::Map(inner));
                }
                result
            }
            Some(other) => Err(Flow::Err(format!("parse error: unexpected token {other}"))),
        }
    }

    fn key_index(&mut self) -> Result<i64, Flow> {
        let Until { text, stop } = self.until(&[']']);
        if stop.is_none() {
            return Err(Flow::Eof);
        }
        text.parse::<i64>().map_err(|_| {
            Flow::Err(format!(
                "error parsing index: strconv.Atoi: parsing {text:?}: invalid syntax"
            ))
        })
    }

    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: i64,
        level: usize,
    ) -> (Vec<Value>, Result<(), Flow>) {
        if i < 0 {
            return (
                list,
                Err(Flow::Err(format!("negative {i} index not allowed"))),
            );
        }
        let Until {
            text: k,
            stop: last,
        } = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                Err(Flow::Err(format!(
                    "unexpected data at end of array index: {}",
                    go_quote_runes(&k)
                ))),
            );
        }
        match last {
            None => (list, Err(Flow::Eof)),
            Some('=') => {
                if self.literal {
                    let rest: String = self.chars[self.pos..].iter().collect();
                    self.pos = self.chars.len();
                    return set_index(list, i, Value::str(rest));
                }
                if matches!(self.mode, Mode::Json) {
                    if self.empty_val() {
                        return set_index(list, i, Value::Nil);
                    }
                    let v = match self.json_value() {
                        Ok(v) => v,
                        Err(e) => return (list, Err(e)),
                    };
                    let (list, r) = set_index(list, i, v);
                    if r.is_err() {
                        return (list, r);
                    }
                    self.empty_val();
                    return (list, Ok(()));
                }
                match self.val_list() {
                    Ok(vl) => set_index(list, i, Value::list(vl)),
                    Err(Flow::Eof) => set_index(list, i, Value::str("")),
                    Err(Flow::NotList) => {
                        let Until { text, .. } = self.until(&[',']);
                        match self.reader(&text) {
                            Ok(v) => set_index(list, i, v),
                            Err(e) => (list, Err(Flow::Err(e))),
                        }
                    }
                    Err(e) => (list, Err(e)),
                }
            }
            Some('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Err(e)),
                };
                let current = match list.get(i as usize) {
                    None | Some(Value::Nil) => Vec::new(),
                    Some(Value::List(l)) => l.borrow().clone(),
                    Some(other) => {
                        let msg = format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type(other)
                        );
                        return (list, Err(Flow::Err(msg)));
                    }
                };
                let (inner, r) = self.list_item(current, next, level);
                if r.is_err() {
                    return (list, r);
                }
                set_index(list, i, Value::list(inner))
            }
            Some('.') => {
                let inner = match list.get(i as usize) {
                    Some(Value::Map(m)) => m.clone(),
                    Some(_) => {
                        // Indices out of order: start the element afresh.
                        let m = new_map();
                        list[i as usize] = Value::Map(m.clone());
                        m
                    }
                    None => new_map(),
                };
                if let Err(e) = self.key(&inner, level) {
                    return (list, Err(e));
                }
                set_index(list, i, Value::Map(inner))
            }
            Some(other) => (
                Vec::new(),
                Err(Flow::Err(format!("parse error: unexpected token {other}"))),
            ),
        }
    }

    /// Skips blanks up to a comma or the end (an empty value: true) or up to another rune (false).
    fn empty_val(&mut self) -> bool {
        loop {
            match self.chars.get(self.pos) {
                None => return true,
                Some(',') => {
                    self.pos += 1;
                    return true;
                }
                Some(c) if c.is_whitespace() => self.pos += 1,
                Some(_) => return false,
            }
        }
    }

    /// One JSON value from the current position (Go's `json.Decoder.Decode`), consuming exactly it.
    fn json_value(&mut self) -> Result<Value, Flow> {
        let rest: String = self.chars[self.pos..].iter().collect();
        let (v, used) = crate::yaml::parse_json_prefix(&rest).map_err(Flow::Err)?;
        self.pos += rest[..used].chars().count();
        Ok(v)
    }

    /// A `{a,b,c}` list value, or `NotList` when the value does not start with `{`.
    fn val_list(&mut self) -> Result<Vec<Value>, Flow> {
        match self.chars.get(self.pos) {
            None => return Err(Flow::Eof),
            Some('{') => self.pos += 1,
            Some(_) => return Err(Flow::NotList),
        }
        let mut list = Vec::new();
        loop {
            let Until { text, stop } = self.until(&[',', '}']);
            match stop {
                None => return Err(Flow::Err("list must terminate with '}'".into())),
                Some('}') => {
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    list.push(self.reader(&text)?);
                    return Ok(list);
                }
                _ => list.push(self.reader(&text)?),
            }
        }
    }
}

/// Go's `%q` of a `[]rune`: `['a' 'b']`.
fn go_quote_runes(s: &str) -> String {
    let quoted: Vec<String> = s.chars().map(signet_gotemplate::fmt::quote_rune).collect();
    format!("[{}]", quoted.join(" "))
}

fn set(data: &MapRef, key: &str, v: Value) {
    if !key.is_empty() {
        data.borrow_mut().insert(key.to_string(), v);
    }
}

fn set_index(mut list: Vec<Value>, i: i64, v: Value) -> (Vec<Value>, Result<(), Flow>) {
    if i < 0 {
        return (
            list,
            Err(Flow::Err(format!("negative {i} index not allowed"))),
        );
    }
    if i > MAX_INDEX {
        return (
            list,
            Err(Flow::Err(format!(
                "index of {i} is greater than maximum supported index of {MAX_INDEX}"
            ))),
        );
    }
    let i = i as usize;
    if list.len() <= i {
        list.resize(i + 1, Value::Nil);
    }
    list[i] = v;
    (list, Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(v: &Value) -> String {
        crate::yaml::to_yaml(v).unwrap()
    }

    fn set_(s: &str) -> String {
        yaml(&parse(s).unwrap())
    }

    #[test]
    fn typed_values() {
        assert_eq!(
            set_("a=1,b=true,c=null,d=0,e=01,f=abc,g=-5"),
            "a: 1\nb: true\nc: null\nd: 0\ne: \"01\"\nf: abc\ng: -5"
        );
        let m = parse("x=5").unwrap();
        let Value::Map(m) = m else { panic!() };
        assert!(matches!(m.borrow().get("x"), Some(Value::Int64(5))));
    }

    #[test]
    fn nesting_lists_and_escapes() {
        assert_eq!(set_("a.b.c=x"), "a:\n  b:\n    c: x");
        assert_eq!(set_("a[1]=x"), "a:\n- null\n- x");
        assert_eq!(set_("a[0].b=x,a[0].c=y"), "a:\n- b: x\n  c: \"y\"");
        assert_eq!(set_("a={x,y}"), "a:\n- x\n- \"y\"");
        assert_eq!(set_(r"a\.b=c\,d"), "a.b: c,d");
        assert_eq!(set_("a="), "a: \"\"");
        assert_eq!(set_("a[0][1]=z"), "a:\n- - null\n  - z");
    }

    #[test]
    fn errors_like_helm() {
        assert_eq!(parse("a").unwrap_err().0, "key \"a\" has no value");
        assert_eq!(
            parse("a,b=c").unwrap_err().0,
            "key \"a\" has no value (cannot end with ,)"
        );
        assert_eq!(
            parse("a=1,a.b=2").unwrap_err().0,
            "unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}"
        );
        assert!(parse("a[-1]=x").unwrap_err().0.contains("negative"));
        assert!(
            parse("a[70000]=x")
                .unwrap_err()
                .0
                .contains("maximum supported index")
        );
    }

    /// Empty key segments: helm v4.1.4's verdicts on the same `--set` arguments.
    #[test]
    fn empty_key_segments_like_helm() {
        let err = |s: &str| parse(s).unwrap_err().0;
        assert_eq!(err("a..b=1"), "key map \"a\" has no value");
        assert_eq!(err("a.=1"), "key map \"a\" has no value");
        assert_eq!(err("x=1,a..b=2"), "key map \"a\" has no value");
        assert_eq!(err("a.b..c=1"), "key map \"b\" has no value");
        assert_eq!(err("a.b.=1"), "key map \"b\" has no value");
        assert_eq!(err("a..=1"), "key map \"\" has no value");
        assert_eq!(err("a.[0]=1"), "key map \"a\" has no value");
        assert_eq!(
            err("a.b[x]=1"),
            "error parsing index: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(err("a.b"), "key \"b\" has no value");
        assert_eq!(err("a.,b=1"), "key \"\" has no value (cannot end with ,)");
        // An empty key is dropped, not an error.
        assert_eq!(set_(".a=1"), "{}");
        assert_eq!(set_("a."), "{}");
        assert_eq!(set_("a[0]..b=1"), "a:\n- {}");
    }

    #[test]
    fn string_json_literal_file() {
        let m = new_map();
        parse_into_string("a=true,b=1", &m).unwrap();
        assert_eq!(yaml(&Value::Map(m)), "a: \"true\"\nb: \"1\"");
        let m = new_map();
        parse_json(r#"a={"x":[1,2]},b=null,c="s""#, &m).unwrap();
        assert_eq!(
            yaml(&Value::Map(m)),
            "a:\n  x:\n  - 1\n  - 2\nb: null\nc: s"
        );
        let m = new_map();
        parse_literal_into("a.b=x,y=z", &m).unwrap();
        assert_eq!(yaml(&Value::Map(m)), "a:\n  b: x,y=z");
        let m = new_map();
        let reader = |p: &str| Ok(Value::str(format!("content of {p}")));
        parse_into_file("cfg=/tmp/f", &m, &reader).unwrap();
        assert_eq!(yaml(&Value::Map(m)), "cfg: content of /tmp/f");
    }
}
