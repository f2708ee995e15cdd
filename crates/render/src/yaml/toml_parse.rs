//! `fromToml` like Helm (BurntSushi/toml decoding into `map[string]interface{}`): integers become
//! `int64`, floats `float64`, tables maps, arrays lists; date-times are kept as their text. Errors
//! are worded like BurntSushi's (`toml: line 1: unexpected EOF; expected key separator '='`).

use std::collections::BTreeMap;

use signet_gotemplate::Value;
use signet_gotemplate::value::MapRef;

/// Parses a TOML document into a map; the error is the decoder's message.
pub fn parse_toml(src: &str) -> Result<Value, String> {
    let mut p = TomlParser {
        c: src.chars().collect(),
        i: 0,
        line: 1,
        last_key: None,
        depth: 0,
    };
    let root = new_map();
    p.document(&root).map_err(|e| match &p.last_key {
        Some(k) => format!("toml: line {} (last key {k:?}): {e}", p.line),
        None => format!("toml: line {}: {e}", p.line),
    })?;
    Ok(Value::Map(root))
}

fn new_map() -> MapRef {
    std::rc::Rc::new(std::cell::RefCell::new(BTreeMap::new()))
}

struct TomlParser {
    c: Vec<char>,
    i: usize,
    line: usize,
    /// The key of the key/value pair being read, which BurntSushi names in errors.
    last_key: Option<String>,
    depth: usize,
}

/// Nesting limit for arrays and inline tables, against stack exhaustion.
const MAX_TOML_DEPTH: usize = 1000;

fn is_bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl TomlParser {
    fn peek(&self) -> Option<char> {
        self.c.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.i += 1;
        }
    }

    fn comment(&mut self) {
        if self.peek() == Some('#') {
            while !matches!(self.peek(), None | Some('\n')) {
                self.i += 1;
            }
        }
    }

    /// Blanks, comments and newlines.
    fn trivia(&mut self) {
        loop {
            self.blanks();
            self.comment();
            match self.peek() {
                Some('\n') | Some('\r') => {
                    self.bump();
                }
                _ => return,
            }
        }
    }

    fn end_of_line(&mut self) -> Result<(), String> {
        self.blanks();
        self.comment();
        match self.peek() {
            None => Ok(()),
            Some('\r') | Some('\n') => {
                if self.peek() == Some('\r') {
                    self.i += 1;
                }
                if self.peek() == Some('\n') {
                    self.bump();
                }
                Ok(())
            }
            Some(c) => Err(format!(
                "expected a top-level item to end with a newline, comment, or EOF, but got '{c}' instead"
            )),
        }
    }

    fn document(&mut self, root: &MapRef) -> Result<(), String> {
        let mut current = root.clone();
        loop {
            self.trivia();
            match self.peek() {
                None => return Ok(()),
                Some('[') => {
                    self.i += 1;
                    let array = self.peek() == Some('[');
                    if array {
                        self.i += 1;
                    }
                    self.blanks();
                    let path = self.key_path()?;
                    self.blanks();
                    let close = if array { "]]" } else { "]" };
                    for expected in close.chars() {
                        if self.peek() != Some(expected) {
                            return Err(format!(
                                "expected '{close}' to close the table header, but got {} instead",
                                self.describe()
                            ));
                        }
                        self.i += 1;
                    }
                    current = if array {
                        self.array_table(root, &path)?
                    } else {
                        self.table(root, &path)?
                    };
                    self.end_of_line()?;
                }
                Some(_) => {
                    self.key_value(&current)?;
                    self.end_of_line()?;
                }
            }
        }
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "EOF".into(),
            Some(c) => format!("'{c}'"),
        }
    }

    fn key_path(&mut self) -> Result<Vec<String>, String> {
        let mut path = vec![self.key()?];
        loop {
            self.blanks();
            if self.peek() != Some('.') {
                return Ok(path);
            }
            self.i += 1;
            self.blanks();
            path.push(self.key()?);
        }
    }

    fn key(&mut self) -> Result<String, String> {
        match self.peek() {
            Some('"') => self.basic_string(),
            Some('\'') => self.literal_string(),
            Some(c) if is_bare(c) => {
                let start = self.i;
                while matches!(self.peek(), Some(c) if is_bare(c)) {
                    self.i += 1;
                }
                Ok(self.c[start..self.i].iter().collect())
            }
            None => Err("unexpected EOF; expected key".into()),
            Some(c) => Err(format!("bare keys cannot contain '{c}'")),
        }
    }

    fn key_value(&mut self, table: &MapRef) -> Result<(), String> {
        let path = self.key_path()?;
        self.blanks();
        match self.peek() {
            Some('=') => {
                self.i += 1;
                self.last_key = Some(path.join("."));
            }
            None => return Err("unexpected EOF; expected key separator '='".into()),
            Some(c) => {
                return Err(format!("expected key separator '=', but got '{c}' instead"));
            }
        }
        self.blanks();
        let value = self.value()?;
        let (last, parents) = path.split_last().ok_or("empty key")?;
        let mut target = table.clone();
        for k in parents {
            target = descend(&target, k, false)?;
        }
        let mut t = target.borrow_mut();
        if t.contains_key(last) {
            return Err(format!(
                "Key '{}' has already been defined.",
                path.join(".")
            ));
        }
        t.insert(last.clone(), value);
        Ok(())
    }

    fn table(&mut self, root: &MapRef, path: &[String]) -> Result<MapRef, String> {
        let mut target = root.clone();
        for k in path {
            target = descend(&target, k, true)?;
        }
        Ok(target)
    }

    fn array_table(&mut self, root: &MapRef, path: &[String]) -> Result<MapRef, String> {
        let (last, parents) = path.split_last().ok_or("empty table name")?;
        let mut target = root.clone();
        for k in parents {
            target = descend(&target, k, true)?;
        }
        let entry = new_map();
        let mut t = target.borrow_mut();
        match t.get(last) {
            None => {
                t.insert(last.clone(), Value::list(vec![Value::Map(entry.clone())]));
            }
            Some(Value::List(l)) => l.borrow_mut().push(Value::Map(entry.clone())),
            Some(_) => {
                return Err(format!(
                    "Key '{}' was already created as a table.",
                    path.join(".")
                ));
            }
        }
        Ok(entry)
    }

    fn value(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > MAX_TOML_DEPTH {
            return Err("nesting too deep".into());
        }
        let v = self.value_inner();
        self.depth -= 1;
        v
    }

    fn value_inner(&mut self) -> Result<Value, String> {
        match self.peek() {
            None => Err("unexpected EOF; expected value".into()),
            Some('"') => {
                if self.c[self.i..].starts_with(&['"', '"', '"']) {
                    self.multiline_basic().map(Value::str)
                } else {
                    self.basic_string().map(Value::str)
                }
            }
            Some('\'') => {
                if self.c[self.i..].starts_with(&['\'', '\'', '\'']) {
                    self.multiline_literal().map(Value::str)
                } else {
                    self.literal_string().map(Value::str)
                }
            }
            Some('[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.trivia();
                    if self.peek() == Some(']') {
                        self.i += 1;
                        return Ok(Value::list(items));
                    }
                    items.push(self.value()?);
                    self.trivia();
                    match self.peek() {
                        Some(',') => self.i += 1,
                        Some(']') => {}
                        _ => {
                            return Err(format!(
                                "expected a comma (',') or array terminator (']'), but got {} instead",
                                self.describe()
                            ));
                        }
                    }
                }
            }
            Some('{') => {
                self.i += 1;
                let table = new_map();
                self.blanks();
                if self.peek() == Some('}') {
                    self.i += 1;
                    return Ok(Value::Map(table));
                }
                loop {
                    self.blanks();
                    self.key_value(&table)?;
                    self.blanks();
                    match self.peek() {
                        Some(',') => self.i += 1,
                        Some('}') => {
                            self.i += 1;
                            return Ok(Value::Map(table));
                        }
                        _ => {
                            return Err(format!(
                                "expected a comma or an inline table terminator '}}', but got {} instead",
                                self.describe()
                            ));
                        }
                    }
                }
            }
            Some(_) => self.scalar(),
        }
    }

    fn scalar(&mut self) -> Result<Value, String> {
        let start = self.i;
        // Date-times may contain one space between date and time.
        while let Some(c) = self.peek() {
            let token_char = c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_' | ':');
            let datetime_space = c == ' '
                && self.i - start == 10
                && matches!(self.c.get(self.i + 1), Some(d) if d.is_ascii_digit());
            if !(token_char || datetime_space) {
                break;
            }
            self.i += 1;
        }
        let text: String = self.c[start..self.i].iter().collect();
        match text.as_str() {
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            "inf" | "+inf" => return Ok(Value::Float(f64::INFINITY)),
            "-inf" => return Ok(Value::Float(f64::NEG_INFINITY)),
            "nan" | "+nan" | "-nan" => return Ok(Value::Float(f64::NAN)),
            "" => {
                return Err(format!(
                    "expected value but found {} instead",
                    self.describe()
                ));
            }
            _ => {}
        }
        let b = text.as_bytes();
        let looks_datetime = (b.len() >= 10 && b[4] == b'-' && b[7] == b'-')
            || (b.len() >= 8 && b[2] == b':' && b[5] == b':');
        if looks_datetime {
            return Ok(Value::str(text));
        }
        let digits: String = text.chars().filter(|&c| c != '_').collect();
        let (neg, body) = match digits.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, digits.strip_prefix('+').unwrap_or(&digits)),
        };
        let radix = [("0x", 16), ("0o", 8), ("0b", 2)]
            .iter()
            .find_map(|(p, r)| body.strip_prefix(p).map(|rest| (rest, *r)));
        if let Some((rest, r)) = radix {
            return i64::from_str_radix(rest, r)
                .map(|v| Value::Int64(if neg { -v } else { v }))
                .map_err(|_| format!("invalid integer {text:?}"));
        }
        if !body.is_empty() && body.bytes().all(|c| c.is_ascii_digit()) {
            return digits.parse::<i64>().map(Value::Int64).map_err(|_| {
                format!("Integer '{text}' is out of the range of 64-bit signed integers")
            });
        }
        if body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
            && body.bytes().next().is_some_and(|c| c.is_ascii_digit())
            && let Ok(f) = digits.parse::<f64>()
        {
            return Ok(Value::Float(f));
        }
        Err(format!("expected value but found {text:?} instead"))
    }

    fn escape(&mut self) -> Result<char, String> {
        match self.bump() {
            Some('b') => Ok('\u{8}'),
            Some('t') => Ok('\t'),
            Some('n') => Ok('\n'),
            Some('f') => Ok('\u{c}'),
            Some('r') => Ok('\r'),
            Some('e') => Ok('\u{1b}'),
            Some('"') => Ok('"'),
            Some('\\') => Ok('\\'),
            Some(u @ ('u' | 'U')) => {
                let n = if u == 'u' { 4 } else { 8 };
                let hex: String = self
                    .c
                    .get(self.i..self.i + n)
                    .unwrap_or(&[])
                    .iter()
                    .collect();
                self.i += n;
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("invalid escape in string '\\{u}{hex}'"))
            }
            Some(c) => Err(format!("invalid escape in string '\\{c}'")),
            None => Err("unexpected EOF; expected '\"'".into()),
        }
    }

    fn basic_string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err("strings cannot contain newlines".into()),
                Some('"') => return Ok(out),
                Some('\\') => out.push(self.escape()?),
                Some(c) => out.push(c),
            }
        }
    }

    fn literal_string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err("strings cannot contain newlines".into()),
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn multiline_basic(&mut self) -> Result<String, String> {
        self.i += 3;
        if self.peek() == Some('\n') {
            self.bump();
        }
        let mut out = String::new();
        loop {
            if self.c[self.i..].starts_with(&['"', '"', '"']) {
                self.i += 3;
                // Up to two more quotes belong to the content.
                while self.peek() == Some('"') {
                    out.push('"');
                    self.i += 1;
                }
                return Ok(out);
            }
            match self.bump() {
                None => return Err("unexpected EOF; expected '\"\"\"'".into()),
                Some('\\') => {
                    // A line-ending backslash trims the newline and following whitespace.
                    let save = self.i;
                    self.blanks();
                    if matches!(self.peek(), Some('\n' | '\r')) {
                        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
                            self.bump();
                        }
                    } else {
                        self.i = save;
                        out.push(self.escape()?);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn multiline_literal(&mut self) -> Result<String, String> {
        self.i += 3;
        if self.peek() == Some('\n') {
            self.bump();
        }
        let mut out = String::new();
        loop {
            if self.c[self.i..].starts_with(&['\'', '\'', '\'']) {
                self.i += 3;
                while self.peek() == Some('\'') {
                    out.push('\'');
                    self.i += 1;
                }
                return Ok(out);
            }
            match self.bump() {
                None => return Err("unexpected EOF; expected \"'''\"".into()),
                Some(c) => out.push(c),
            }
        }
    }
}

/// The table under `key`, created when missing; an array of tables yields its last element.
fn descend(table: &MapRef, key: &str, header: bool) -> Result<MapRef, String> {
    let mut t = table.borrow_mut();
    match t.get(key) {
        None => {
            let m = new_map();
            t.insert(key.to_string(), Value::Map(m.clone()));
            Ok(m)
        }
        Some(Value::Map(m)) => Ok(m.clone()),
        Some(Value::List(l)) if header => match l.borrow().last() {
            Some(Value::Map(m)) => Ok(m.clone()),
            _ => Err(format!("Key '{key}' has already been defined.")),
        },
        Some(_) => Err(format!("Key '{key}' has already been defined.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_gotemplate::fmt::sprint;

    #[test]
    fn helm_cases() {
        let v = parse_toml(
            "\n[table]\nkeyInTable = \"valueInTable\"\n[table.subtable]\nkeyInSubtable = \"valueInSubTable\"",
        )
        .unwrap();
        assert_eq!(
            sprint(&v),
            "map[table:map[keyInTable:valueInTable subtable:map[keyInSubtable:valueInSubTable]]]"
        );
        let v = parse_toml(
            "\n[[tableArray]]\nkeyInElement0 = \"valueInElement0\"\n[[tableArray]]\nkeyInElement1 = \"valueInElement1\"",
        )
        .unwrap();
        assert_eq!(
            sprint(&v),
            "map[tableArray:[map[keyInElement0:valueInElement0] map[keyInElement1:valueInElement1]]]"
        );
        assert_eq!(
            parse_toml("one").unwrap_err(),
            "toml: line 1: unexpected EOF; expected key separator '='"
        );
    }

    #[test]
    fn values() {
        let v = parse_toml(
            "a = 1\nb = 1.5\nc = [1, \"x\", true]\nd = { e = 'lit', f.g = 0x1F }\n# c\nh = \"\"\"\nmulti\\\n  line\"\"\"\n",
        )
        .unwrap();
        assert_eq!(
            sprint(&v),
            "map[a:1 b:1.5 c:[1 x true] d:map[e:lit f:map[g:31]] h:multiline]"
        );
        assert!(
            parse_toml("a = 1\na = 2")
                .unwrap_err()
                .contains("already been defined")
        );
    }
}
