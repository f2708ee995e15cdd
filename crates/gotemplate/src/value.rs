//! The value model: what Go's `text/template` sees when Helm feeds it decoded YAML/JSON.
//!
//! Maps and lists are shared references, as in Go: `set $d "k" v` mutates the map every holder of
//! `$d` sees, and charts rely on that. Rendering is single-threaded, so `Rc<RefCell<…>>` suffices.
//! Integers and floats stay distinct (`Int` is Go's `int`, `Int64` Go's `int64` that Sprig's math
//! returns, `Float` is `float64`). Anything with Go methods or fields that is not plain data
//! (Helm's `.Files`, `.Capabilities`, a semver `*Version`, `time.Time`) is an [`Object`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::rc::Rc;
use std::sync::Arc;

/// Map type: Go `map[string]interface{}`; ordered by key like Go's printing and `range`.
pub type MapRef = Rc<RefCell<BTreeMap<String, Value>>>;
/// List type: Go `[]interface{}`.
pub type ListRef = Rc<RefCell<Vec<Value>>>;

#[derive(Clone, Debug, Default)]
pub enum Value {
    /// Go's untyped nil (a missing map key, a JSON null).
    #[default]
    Nil,
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `int64` (Sprig's math functions return it; prints like `int`).
    Int64(i64),
    /// Go `uint64`.
    Uint(u64),
    /// Go `float64`.
    Float(f64),
    /// A Go `string` that is valid UTF-8 (nearly all of them).
    String(Rc<str>),
    /// A Go `string` whose bytes are not valid UTF-8 (a binary chart file, `b64dec` of random
    /// bytes). Never holds valid UTF-8: build it with [`Value::from_go_bytes`], which picks
    /// [`Value::String`] for valid text, so two equal Go strings always have the same variant.
    Binary(Rc<[u8]>),
    List(ListRef),
    Map(MapRef),
    /// A Go value with a named type, fields or methods.
    Object(Rc<dyn Object>),
}

/// A Go value that is not plain data: it has a Go type name, may have fields and methods, and prints
/// itself the way Go's `fmt` would.
pub trait Object: Debug {
    /// Go's `%T` for this value, e.g. `*semver.Version`.
    fn type_name(&self) -> &str;
    /// A field or zero-argument method reached by `.Name`; `None` when there is no such member.
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    /// A method called with arguments (`.Files.Get "x"`); `None` when there is no such method.
    fn call_method(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }
    /// Whether `.Name` names a method (so a pipeline may pass it arguments).
    fn has_method(&self, _name: &str) -> bool {
        false
    }
    /// Go's `%v` rendering.
    fn go_string(&self) -> String;
    /// Go's truth: the zero value is false.
    fn truthy(&self) -> bool {
        true
    }
    /// Plain-data view for encoders (`toJson`, `toYaml`) and comparison; `None` when it has none.
    fn to_data(&self) -> Option<Value> {
        None
    }
    /// For downcasting by the functions that own a type (e.g. Sprig's semver methods).
    fn as_any(&self) -> &dyn std::any::Any;
    /// The bytes of a Go `[]byte`, which `%s`, `%q`, `len` and Sprig's string conversion treat as
    /// text; `None` for every other type.
    fn as_bytes(&self) -> Option<&[u8]> {
        None
    }
}

/// A Go `[]byte` (`[]uint8`), e.g. Helm's `.Files.NAME`: prints as its byte values (`[104 105]`),
/// converts to text where Go's `fmt`/Sprig do, encodes to JSON as base64.
#[derive(Debug, Clone, Default)]
pub struct Bytes(pub Vec<u8>);

impl Object for Bytes {
    fn type_name(&self) -> &str {
        "[]uint8"
    }
    fn go_string(&self) -> String {
        let items: Vec<String> = self.0.iter().map(u8::to_string).collect();
        format!("[{}]", items.join(" "))
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
    fn to_data(&self) -> Option<Value> {
        use base64::Engine;
        Some(Value::from(
            base64::engine::general_purpose::STANDARD.encode(&self.0),
        ))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_bytes(&self) -> Option<&[u8]> {
        Some(&self.0)
    }
}

/// A function callable from templates: pure, given evaluated arguments. Errors are the message Go
/// would report after `error calling NAME: `; a message starting with `wrong number of args for `
/// or `wrong type for value` is reported without that prefix, at the offending argument, as Go
/// reports its own argument checks.
pub type Func = Arc<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

/// Named functions available to a template set.
pub type FuncMap = std::collections::HashMap<String, Func>;

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::String(s.into())
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(RefCell::new(items)))
    }

    pub fn map(entries: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(RefCell::new(entries)))
    }

    pub fn empty_map() -> Value {
        Value::map(BTreeMap::new())
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A Go string from its bytes: [`Value::String`] when they are UTF-8, else
    /// [`Value::Binary`].
    pub fn from_go_bytes(bytes: Vec<u8>) -> Value {
        match String::from_utf8(bytes) {
            Ok(s) => Value::String(Rc::from(s)),
            Err(e) => Value::Binary(Rc::from(e.into_bytes())),
        }
    }

    /// A Go string from borrowed bytes (see [`Value::from_go_bytes`]).
    pub fn from_go_slice(bytes: &[u8]) -> Value {
        match std::str::from_utf8(bytes) {
            Ok(s) => Value::String(Rc::from(s)),
            Err(_) => Value::Binary(Rc::from(bytes)),
        }
    }

    /// The bytes of a Go string (either variant); `None` for every other type.
    pub fn go_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::String(s) => Some(s.as_bytes()),
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// Whether this is a Go `string` (UTF-8 or not).
    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_) | Value::Binary(_))
    }

    /// A Go string read as text the way Go's rune-wise functions read it (each invalid byte is
    /// U+FFFD); `None` for every other type.
    pub fn go_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
            Value::Binary(b) => Some(crate::gostr::lossy(b)),
            _ => None,
        }
    }

    /// Go's `%T`.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Uint(_) => "uint64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) | Value::Binary(_) => "string".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Object(o) => o.type_name().into(),
        }
    }

    /// Go's template truth (`if`, `and`, `or`, `not`): false for zero values and empty collections.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Binary(b) => !b.is_empty(),
            Value::List(l) => !l.borrow().is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(o) => o.truthy(),
        }
    }

    /// A deep copy that shares nothing with `self` (Sprig's `deepCopy`, Helm's values coalescing).
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::List(l) => Value::list(l.borrow().iter().map(Value::deep_copy).collect()),
            Value::Map(m) => {
                // The map's own clone copies the tree's shape as it is, where collecting would
                // buffer and sort the entries; only containers then need copies of their own.
                let mut copy = m.borrow().clone();
                for v in copy.values_mut() {
                    if matches!(v, Value::List(_) | Value::Map(_)) {
                        *v = v.deep_copy();
                    }
                }
                Value::map(copy)
            }
            other => other.clone(),
        }
    }

    /// From decoded JSON, with the corpus convention Helm also follows for JSON: integers without a
    /// fraction or exponent are `int`, the rest `float64`.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::Uint(u)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::str(s.as_str()),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::str(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
