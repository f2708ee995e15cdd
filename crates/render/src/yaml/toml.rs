//! `toToml` like Helm (BurntSushi/toml's encoder): plain keys first then tables, both sorted, nested
//! tables indented by two spaces per level, floats always with a decimal point.

use std::collections::BTreeMap;

use signet_gotemplate::Value;

/// Encodes `v` as BurntSushi/toml does; the error is the encoder's message.
pub fn to_toml(v: &Value) -> Result<String, String> {
    let mut enc = Encoder {
        out: String::new(),
        written: false,
    };
    match data(v) {
        Value::Map(_) => enc.table(&[], &data(v))?,
        Value::Nil => {}
        other => enc.element(&other)?,
    }
    Ok(enc.out)
}

fn data(v: &Value) -> Value {
    match v {
        Value::Object(o) => o.to_data().unwrap_or_else(|| Value::str(o.go_string())),
        other => other.clone(),
    }
}

struct Encoder {
    out: String,
    written: bool,
}

fn is_table(v: &Value) -> bool {
    match data(v) {
        Value::Map(_) => true,
        Value::List(l) => {
            let l = l.borrow();
            !l.is_empty() && l.iter().all(|x| matches!(data(x), Value::Map(_)))
        }
        _ => false,
    }
}

fn quote_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quoted(k)
    }
}

fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key_path(key: &[String]) -> String {
    key.iter()
        .map(|k| quote_key(k))
        .collect::<Vec<_>>()
        .join(".")
}

impl Encoder {
    fn w(&mut self, s: &str) {
        self.out.push_str(s);
        self.written = true;
    }

    fn newline(&mut self) {
        if self.written {
            self.out.push('\n');
        }
    }

    fn indent(key: &[String]) -> String {
        "  ".repeat(key.len().saturating_sub(1))
    }

    fn table(&mut self, key: &[String], v: &Value) -> Result<(), String> {
        let Value::Map(m) = v else { return Ok(()) };
        if key.len() == 1 {
            self.newline();
        }
        if !key.is_empty() {
            let line = format!("{}[{}]", Self::indent(key), key_path(key));
            self.w(&line);
            self.newline();
        }
        self.fields(key, &m.borrow())
    }

    /// A table's entries under `key`: plain values first, then sub-tables; nil entries left out.
    fn fields(&mut self, key: &[String], m: &BTreeMap<String, Value>) -> Result<(), String> {
        let (sub, direct): (Vec<_>, Vec<_>) = m.iter().partition(|(_, x)| is_table(x));
        for (k, x) in direct.into_iter().chain(sub) {
            let x = data(x);
            if x.is_nil() {
                continue;
            }
            let mut path = key.to_vec();
            path.push(k.clone());
            self.encode(&path, &x)?;
        }
        Ok(())
    }

    fn encode(&mut self, key: &[String], v: &Value) -> Result<(), String> {
        match v {
            Value::Map(_) => self.table(key, v),
            Value::List(l) if is_table(v) => {
                for item in l.borrow().iter() {
                    self.newline();
                    let line = format!("{}[[{}]]", Self::indent(key), key_path(key));
                    self.w(&line);
                    self.newline();
                    let item = data(item);
                    if let Value::Map(m) = &item {
                        self.fields(key, &m.borrow())?;
                    }
                }
                Ok(())
            }
            _ => {
                let prefix = format!(
                    "{}{} = ",
                    Self::indent(key),
                    quote_key(key.last().map(String::as_str).unwrap_or(""))
                );
                self.w(&prefix);
                self.element(v)?;
                self.newline();
                Ok(())
            }
        }
    }

    fn element(&mut self, v: &Value) -> Result<(), String> {
        match data(v) {
            Value::Nil => return Err("toml: cannot encode array with nil element".into()),
            Value::Bool(b) => self.w(if b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => self.w(&i.to_string()),
            Value::Uint(u) => self.w(&u.to_string()),
            Value::Float(f) => {
                let s = if f.is_nan() {
                    "nan".to_string()
                } else if f.is_infinite() {
                    if f > 0.0 { "inf".into() } else { "-inf".into() }
                } else {
                    let s = super::emit::format_float_g(f, false);
                    if s.contains(['.', 'e']) { s } else { s + ".0" }
                };
                self.w(&s)
            }
            Value::String(s) => self.w(&quoted(&s)),
            Value::Binary(b) => self.w(&quoted(&signet_gotemplate::gostr::lossy(&b))),
            Value::List(l) => {
                self.w("[");
                for (i, item) in l.borrow().iter().enumerate() {
                    if i > 0 {
                        self.w(", ");
                    }
                    self.element(item)?;
                }
                self.w("]");
            }
            Value::Map(m) => {
                self.w("{");
                for (i, (k, item)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        self.w(", ");
                    }
                    self.w(&format!("{} = ", quote_key(k)));
                    self.element(item)?;
                }
                self.w("}");
            }
            Value::Object(o) => self.w(&quoted(&o.go_string())),
        }
        Ok(())
    }
}
