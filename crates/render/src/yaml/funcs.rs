//! Helm's encoding template functions (`toYaml`, `fromYaml`, `toJson`, `toToml`, …) over the value
//! model, with Helm's error conventions: the non-`must` encoders return `""` on failure, the decoders
//! put the error text under an `Error` key (or as the only list item).

use std::collections::BTreeMap;
use std::sync::Arc;

use signet_gotemplate::{Func, FuncMap, Value};

use super::YamlError;
use super::emit::{Flavor, marshal_flavor};
use super::json::{parse_json, to_json};
use super::parse::{parse_yaml, parse_yaml_array};
use super::toml::to_toml;

/// Helm's `toYaml`: `yaml.Marshal` without the final newline; `Err` for what `mustToYaml` reports.
pub fn to_yaml(v: &Value) -> Result<String, String> {
    let s = marshal_flavor(v, Flavor::HelmToYaml)?;
    Ok(s.strip_suffix('\n').map(str::to_string).unwrap_or(s))
}

/// Helm's `fromYaml`: a map, or `{Error: message}`.
pub fn from_yaml(src: &str) -> Value {
    let result = parse_yaml(src).and_then(|v| match v {
        Value::Nil => Ok(Value::empty_map()),
        m @ Value::Map(_) => Ok(m),
        other => Err(YamlError::NotAMap {
            found: super::parse::json_kind(&other).to_string(),
        }),
    });
    result.unwrap_or_else(|e| error_map(e.helm_message()))
}

/// Helm's `fromJson`: a map, or `{Error: message}`.
pub fn from_json(src: &str) -> Value {
    match parse_json(src) {
        Ok(m @ Value::Map(_)) => m,
        // Go's json leaves the map nil for `null`.
        Ok(Value::Nil) => Value::Nil,
        Ok(other) => error_map(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            super::parse::json_kind(&other)
        )),
        Err(e) => error_map(e),
    }
}

fn error_map(message: String) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Error".to_string(), Value::str(message));
    Value::map(m)
}

fn one_arg<'a>(name: &str, args: &'a [Value]) -> Result<&'a Value, String> {
    match args {
        [v] => Ok(v),
        _ => Err(format!(
            "wrong number of args for {name}: want 1 got {}",
            args.len()
        )),
    }
}

/// The one string argument of a decoder; a non-UTF-8 string reads as Go's JSON decoder reads it
/// (each invalid byte U+FFFD; the YAML decoders refuse it first, see [`yaml_reader_error`]).
fn string_arg<'a>(name: &str, args: &'a [Value]) -> Result<std::borrow::Cow<'a, str>, String> {
    match one_arg(name, args)? {
        Value::String(s) => Ok(std::borrow::Cow::Borrowed(s)),
        Value::Binary(b) => Ok(signet_gotemplate::gostr::lossy(b)),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
    }
}

/// go-yaml's reader error for a non-UTF-8 argument (`yaml: invalid leading UTF-8 octet`).
fn yaml_reader_error(args: &[Value]) -> Option<String> {
    match args {
        [Value::Binary(b)] => {
            super::reader_problem(b).map(|p| format!("error converting YAML to JSON: yaml: {p}"))
        }
        _ => None,
    }
}

fn func(f: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static) -> Func {
    Arc::new(f)
}

/// The encoding functions Helm adds to the template function map.
pub fn encoding_functions() -> FuncMap {
    let mut m = FuncMap::new();
    m.insert(
        "toYaml".into(),
        func(|a| {
            Ok(Value::str(
                to_yaml(one_arg("toYaml", a)?).unwrap_or_default(),
            ))
        }),
    );
    m.insert(
        "mustToYaml".into(),
        func(|a| to_yaml(one_arg("mustToYaml", a)?).map(Value::str)),
    );
    m.insert(
        "toYamlPretty".into(),
        func(|a| {
            let s = marshal_flavor(one_arg("toYamlPretty", a)?, Flavor::Pretty).unwrap_or_default();
            Ok(Value::str(s.strip_suffix('\n').unwrap_or(&s)))
        }),
    );
    m.insert(
        "fromYaml".into(),
        func(|a| {
            if let Some(e) = yaml_reader_error(a) {
                return Ok(error_map(e));
            }
            Ok(from_yaml(&string_arg("fromYaml", a)?))
        }),
    );
    m.insert(
        "fromYamlArray".into(),
        func(|a| {
            if let Some(e) = yaml_reader_error(a) {
                return Ok(Value::list(vec![Value::str(e)]));
            }
            let src = string_arg("fromYamlArray", a)?;
            Ok(parse_yaml_array(&src)
                .unwrap_or_else(|e| Value::list(vec![Value::str(e.helm_message())])))
        }),
    );
    m.insert(
        "toJson".into(),
        func(|a| {
            Ok(Value::str(
                to_json(one_arg("toJson", a)?).unwrap_or_default(),
            ))
        }),
    );
    m.insert(
        "mustToJson".into(),
        func(|a| to_json(one_arg("mustToJson", a)?).map(Value::str)),
    );
    m.insert(
        "fromJson".into(),
        func(|a| Ok(from_json(&string_arg("fromJson", a)?))),
    );
    m.insert(
        "fromJsonArray".into(),
        func(|a| {
            let src = string_arg("fromJsonArray", a)?;
            Ok(match parse_json(&src) {
                Ok(l @ Value::List(_)) => l,
                Ok(Value::Nil) => Value::Nil,
                Ok(other) => Value::list(vec![Value::str(format!(
                    "json: cannot unmarshal {} into Go value of type []interface {{}}",
                    super::parse::json_kind(&other)
                ))]),
                Err(e) => Value::list(vec![Value::str(e)]),
            })
        }),
    );
    m.insert(
        "fromToml".into(),
        func(|a| {
            let src = string_arg("fromToml", a)?;
            Ok(super::toml_parse::parse_toml(&src).unwrap_or_else(error_map))
        }),
    );
    m.insert(
        "toToml".into(),
        func(|a| {
            Ok(Value::str(match to_toml(one_arg("toToml", a)?) {
                Ok(s) => s,
                Err(e) => e,
            }))
        }),
    );
    m
}
