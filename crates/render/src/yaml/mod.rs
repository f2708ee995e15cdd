//! YAML and JSON as Helm sees them: reading values files (`sigs.k8s.io/yaml` semantics: YAML 1.1
//! scalars, every number a float64), writing `toYaml` byte for byte like go-yaml v2, Go's
//! `encoding/json`, TOML, and the template functions built on them (`toYaml`, `fromJson`, …).

mod emit;
mod funcs;
mod json;
mod parse;
mod resolve;
mod toml;
mod toml_parse;

pub use emit::{Flavor, key_cmp, key_less, marshal, marshal_flavor};
pub use funcs::{encoding_functions, from_json, from_yaml, to_yaml};
pub use json::{go_json_float, parse_json, parse_json_prefix, to_json};
pub(crate) use parse::json_kind;
pub use parse::{parse_values, parse_yaml, parse_yaml_array, parse_yaml_head};
pub use resolve::{Resolved, resolve_plain};
pub use toml::to_toml;
pub use toml_parse::parse_toml;

/// A YAML document that cannot be read. Positions are 1-based; the caller adds the file name.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum YamlError {
    #[error("error converting YAML to JSON: yaml: line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
        /// The line go-yaml would name (0: none), for [`YamlError::helm_message`].
        go_line: usize,
    },
    #[error("error converting YAML to JSON: yaml: line {line}, column {column}: {message}")]
    Decode {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("error converting YAML to JSON: {message}")]
    Json { message: String },
    #[error(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {found} into Go value of type map[string]interface {{}}"
    )]
    NotAMap { found: String },
    #[error(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {found} into Go value of type []interface {{}}"
    )]
    NotAList { found: String },
}

impl YamlError {
    /// The text Helm puts in-band (`fromYaml`'s `Error` key): go-yaml's wording, which names a
    /// line only past the first one and counts parser-error lines from zero. (`Display` instead
    /// gives the real line and column, for values files.)
    pub fn helm_message(&self) -> String {
        match self {
            YamlError::Syntax {
                go_line, message, ..
            } => {
                if *go_line > 0 {
                    format!("error converting YAML to JSON: yaml: line {go_line}: {message}")
                } else {
                    format!("error converting YAML to JSON: yaml: {message}")
                }
            }
            YamlError::Decode { message, .. } => {
                format!("error converting YAML to JSON: yaml: {message}")
            }
            other => other.to_string(),
        }
    }
}

/// A values file that cannot be loaded, worded like Helm 4 (`cannot load values.yaml: cannot
/// unmarshal yaml document: …`).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("cannot load {file}: cannot unmarshal yaml document: {source}")]
pub struct FileYamlError {
    pub file: String,
    #[source]
    pub source: YamlError,
}

/// Parses a values file (`values.yaml`, a `-f` file) into a map, naming the file in errors.
pub fn parse_values_file(file: &str, src: &str) -> Result<signet_gotemplate::Value, FileYamlError> {
    parse_values(src).map_err(|source| FileYamlError {
        file: file.to_string(),
        source,
    })
}
