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

/// [`reader_problem`] of a rendered document, whose non-UTF-8 bytes are escaped (see
/// [`signet_gotemplate::gostr`]). A quick byte scan clears nearly every document.
pub fn document_reader_problem(doc: &str) -> Option<&'static str> {
    // Every character go-yaml refuses, and every escape, has one of these bytes: C0 controls
    // but tab/newline/return, DEL, C2 (C1 controls), EF (U+FFFE/U+FFFF) and F4 (escapes).
    let suspicious = doc.bytes().any(|b| {
        (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || matches!(b, 0x7F | 0xC2 | 0xEF | 0xF4)
    });
    if !suspicious {
        return None;
    }
    if signet_gotemplate::gostr::has_escape_chars(doc) {
        reader_problem(&signet_gotemplate::gostr::unescape(doc))
    } else {
        reader_problem(doc.as_bytes())
    }
}

/// The first problem go-yaml's reader (`yaml_parser_update_buffer`) finds in `input`: its words for
/// bytes that are not UTF-8 and for characters YAML does not allow; `None` when it reads cleanly.
pub fn reader_problem(input: &[u8]) -> Option<&'static str> {
    let mut i = 0;
    while i < input.len() {
        let lead = input[i];
        let width = match lead {
            b if b & 0x80 == 0 => 1,
            b if b & 0xE0 == 0xC0 => 2,
            b if b & 0xF0 == 0xE0 => 3,
            b if b & 0xF8 == 0xF0 => 4,
            _ => return Some("invalid leading UTF-8 octet"),
        };
        if i + width > input.len() {
            return Some("incomplete UTF-8 octet sequence");
        }
        let mut value: u32 = match width {
            1 => lead as u32 & 0x7F,
            2 => lead as u32 & 0x1F,
            3 => lead as u32 & 0x0F,
            _ => lead as u32 & 0x07,
        };
        for &octet in &input[i + 1..i + width] {
            if octet & 0xC0 != 0x80 {
                return Some("invalid trailing UTF-8 octet");
            }
            value = (value << 6) | (octet as u32 & 0x3F);
        }
        let shortest = match width {
            1 => true,
            2 => value >= 0x80,
            3 => value >= 0x800,
            _ => value >= 0x10000,
        };
        if !shortest {
            return Some("invalid length of a UTF-8 sequence");
        }
        if (0xD800..=0xDFFF).contains(&value) || value > 0x10FFFF {
            return Some("invalid Unicode character");
        }
        let allowed = matches!(value, 0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF
            | 0xE000..=0xFFFD | 0x10000..=0x10FFFF);
        if !allowed {
            return Some("control characters are not allowed");
        }
        i += width;
    }
    None
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
