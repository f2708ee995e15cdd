//! The user's values for a release, merged as Helm's `values.Options.MergeValues` does: `-f` files
//! in order (later wins, maps merge), then `--set-json`, `--set`, `--set-string`, `--set-file`,
//! `--set-literal`, each applied in the order given.

use signet_gotemplate::Value;

use super::coalesce::merge_maps;
use super::strvals;

/// The values flags of `helm template`/`install`, in Helm's names.
#[derive(Clone, Debug, Default)]
pub struct UserValues {
    /// `-f/--values` files.
    pub value_files: Vec<String>,
    /// `--set-json`.
    pub json_values: Vec<String>,
    /// `--set`.
    pub values: Vec<String>,
    /// `--set-string`.
    pub string_values: Vec<String>,
    /// `--set-file`.
    pub file_values: Vec<String>,
    /// `--set-literal`.
    pub literal_values: Vec<String>,
}

/// A values flag that cannot be applied, worded like Helm.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ValuesError {
    #[error("failed to parse {file}: {message}")]
    File { file: String, message: String },
    #[error("failed parsing --set-json data JSON: {0}")]
    JsonObject(String),
    #[error("failed parsing --set-json data {0}")]
    Json(String),
    #[error("failed parsing --set data: {0}")]
    Set(String),
    #[error("failed parsing --set-string data: {0}")]
    SetString(String),
    #[error("failed parsing --set-file data: {0}")]
    SetFile(String),
    #[error("failed parsing --set-literal data: {0}")]
    SetLiteral(String),
}

impl UserValues {
    /// Merges everything into one map. `read` returns a file's text (for `-f` and `--set-file`);
    /// its error message is shown as is.
    pub fn merge(
        &self,
        read: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Value, ValuesError> {
        let mut base = Value::empty_map();
        for file in &self.value_files {
            let text = read(file).map_err(|message| ValuesError::File {
                file: file.clone(),
                message,
            })?;
            let current = crate::yaml::parse_values(&text).map_err(|e| ValuesError::File {
                file: file.clone(),
                message: format!("cannot unmarshal yaml document: {e}"),
            })?;
            base = merge_maps(&base, &current);
        }
        let dest = match base {
            Value::Map(m) => m,
            _ => std::rc::Rc::new(std::cell::RefCell::new(std::collections::BTreeMap::new())),
        };
        for value in &self.json_values {
            let trimmed = value.trim();
            if trimmed.starts_with('{') {
                match crate::yaml::parse_json(trimmed) {
                    Ok(obj @ Value::Map(_)) => {
                        let merged = merge_maps(&Value::Map(dest.clone()), &obj);
                        if let Value::Map(m) = merged {
                            let entries = m.borrow().clone();
                            *dest.borrow_mut() = entries;
                        }
                    }
                    _ => return Err(ValuesError::JsonObject(value.clone())),
                }
            } else if strvals::parse_json(value, &dest).is_err() {
                return Err(ValuesError::Json(value.clone()));
            }
        }
        for value in &self.values {
            strvals::parse_into(value, &dest).map_err(|e| ValuesError::Set(e.0))?;
        }
        for value in &self.string_values {
            strvals::parse_into_string(value, &dest).map_err(|e| ValuesError::SetString(e.0))?;
        }
        for value in &self.file_values {
            let reader = |path: &str| read(path).map(Value::str);
            strvals::parse_into_file(value, &dest, &reader)
                .map_err(|e| ValuesError::SetFile(e.0))?;
        }
        for value in &self.literal_values {
            strvals::parse_literal_into(value, &dest).map_err(|e| ValuesError::SetLiteral(e.0))?;
        }
        Ok(Value::Map(dest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_precedence() {
        let files = |p: &str| match p {
            "a.yaml" => Ok("x: 1\nm: {a: 1, b: 1}\n".to_string()),
            "b.yaml" => Ok("x: 2\nm: {b: 2}\n---\nw: 3\n".to_string()),
            "cfg.txt" => Ok("file body".to_string()),
            other => Err(format!("open {other}: no such file or directory")),
        };
        let uv = UserValues {
            value_files: vec!["a.yaml".into(), "b.yaml".into()],
            json_values: vec![r#"{"j": [1]}"#.into(), "k={\"z\":true}".into()],
            values: vec!["x=5,s=true".into()],
            string_values: vec!["t=true".into()],
            file_values: vec!["f=cfg.txt".into()],
            literal_values: vec!["l=a,b".into()],
        };
        let v = uv.merge(&files).unwrap();
        assert_eq!(
            crate::yaml::to_yaml(&v).unwrap(),
            "f: file body\nj:\n- 1\nk:\n  z: true\nl: a,b\nm:\n  a: 1\n  b: 2\ns: true\nt: \"true\"\nw: 3\nx: 5"
        );
        let bad = UserValues {
            value_files: vec!["missing.yaml".into()],
            ..Default::default()
        };
        assert_eq!(
            bad.merge(&files).unwrap_err().to_string(),
            "failed to parse missing.yaml: open missing.yaml: no such file or directory"
        );
        let bad = UserValues {
            values: vec!["a.b".into()],
            ..Default::default()
        };
        assert_eq!(
            bad.merge(&files).unwrap_err().to_string(),
            "failed parsing --set data: key \"b\" has no value"
        );
    }
}
