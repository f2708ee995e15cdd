//! Step 6, values: the user values of a release, `valuesFrom` in order (ConfigMap or Secret,
//! `valuesKey`, `targetPath`, `optional`) with the inline `values` on top, merged the way Helm
//! merges `-f` files (later wins, maps merge). Chart defaults are applied by the renderer.
//!
//! Reading is async (API calls); merging is synchronous because template values are not `Send`.
//! The result is plain JSON, the form the Helm release record stores as `config`.

use super::refs::{self, RefError};
use crate::api::SignedChartReleaseSpec;
use crate::api::conditions::reasons;
use crate::render::values::{merge_maps, strvals};
use signet_gotemplate::Value;

/// Why the values could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    #[error("spec.valuesFrom[{index}]: {source}")]
    Reference {
        index: usize,
        #[source]
        source: RefError,
    },
    #[error("spec.valuesFrom[{index}] ({kind} {name} key {key:?}): {message}")]
    Parse {
        index: usize,
        kind: String,
        name: String,
        key: String,
        message: String,
    },
    #[error("spec.values: {0}")]
    Inline(String),
}

impl ValuesError {
    pub fn reason(&self) -> &'static str {
        reasons::REFERENCE_NOT_FOUND
    }
}

/// One `valuesFrom` entry as read: its text, or `None` when optional and absent.
pub struct ReadValues {
    index: usize,
    text: Option<String>,
}

/// Reads every `valuesFrom` entry, in order.
pub async fn read(
    client: &kube::Client,
    namespace: &str,
    spec: &SignedChartReleaseSpec,
) -> Result<Vec<ReadValues>, ValuesError> {
    let mut out = Vec::with_capacity(spec.values_from.len());
    for (index, r) in spec.values_from.iter().enumerate() {
        let text = match refs::read_text(client, namespace, r.kind, &r.name, &r.values_key).await {
            Ok(text) => Some(text),
            Err(e) if r.optional && e.is_absent() => None,
            Err(source) => return Err(ValuesError::Reference { index, source }),
        };
        out.push(ReadValues { index, text });
    }
    Ok(out)
}

/// Merges what [`read`] returned with the inline values, into JSON.
pub fn merge(
    spec: &SignedChartReleaseSpec,
    read: &[ReadValues],
) -> Result<serde_json::Value, ValuesError> {
    let mut base = Value::empty_map();
    for ReadValues { index, text } in read {
        let Some(text) = text else { continue };
        let Some(r) = spec.values_from.get(*index) else {
            continue;
        };
        let parse_err = |message: String| ValuesError::Parse {
            index: *index,
            kind: format!("{:?}", r.kind),
            name: r.name.clone(),
            key: r.values_key.clone(),
            message,
        };
        let layer = match &r.target_path {
            // The whole text is one string at the path, verbatim (commas and all): Helm's
            // --set-literal parser, which reads the path like --set-string does.
            Some(path) => {
                let dest = Value::empty_map();
                if let Value::Map(map) = &dest {
                    strvals::parse_literal_into(&format!("{path}={text}"), map)
                        .map_err(|e| parse_err(e.to_string()))?;
                }
                dest
            }
            None => {
                crate::render::yaml::parse_values(text).map_err(|e| parse_err(e.to_string()))?
            }
        };
        base = merge_maps(&base, &layer);
    }
    if let Some(inline) = &spec.values {
        let inline = Value::from_json(&serde_json::Value::Object(inline.clone()));
        base = merge_maps(&base, &inline);
    }
    to_json(&base).map_err(ValuesError::Inline)
}

/// Template values to JSON (map keys sorted, so equal values give equal bytes).
fn to_json(v: &Value) -> Result<serde_json::Value, String> {
    let text = crate::render::yaml::to_json(v)?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{DataSourceKind, ValuesReference};

    fn spec(
        values_from: Vec<ValuesReference>,
        inline: serde_json::Value,
    ) -> SignedChartReleaseSpec {
        let mut s: SignedChartReleaseSpec = serde_json::from_value(serde_json::json!({
            "chart": {"repository": "oci://r.example/c/a", "version": "1.0.0"},
            "verify": {"authorities": [{"name": "a", "key": {"secretRef": {"name": "k", "key": "cosign.pub"}}}]},
        }))
        .unwrap();
        s.values_from = values_from;
        s.values = inline.as_object().cloned();
        s
    }

    fn r(name: &str, target: Option<&str>) -> ValuesReference {
        ValuesReference {
            kind: DataSourceKind::ConfigMap,
            name: name.into(),
            values_key: "values.yaml".into(),
            target_path: target.map(Into::into),
            optional: false,
        }
    }

    #[test]
    fn later_sources_win_maps_merge_inline_on_top() {
        let s = spec(
            vec![
                r("a", None),
                r("b", None),
                r("c", Some("tls.secret[0].name")),
            ],
            serde_json::json!({"image": {"tag": "inline"}}),
        );
        let read = vec![
            ReadValues {
                index: 0,
                text: Some("image:\n  repo: a\n  tag: a\nreplicas: 1\n".into()),
            },
            ReadValues {
                index: 1,
                text: Some("image:\n  tag: b\nreplicas: 2\n".into()),
            },
            ReadValues {
                index: 2,
                text: Some("x,y=1".into()),
            },
        ];
        let v = merge(&s, &read).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "image": {"repo": "a", "tag": "inline"},
                "replicas": 2,
                "tls": {"secret": [{"name": "x,y=1"}]},
            })
        );
    }

    #[test]
    fn skipped_optional_and_bad_yaml() {
        let s = spec(vec![r("a", None), r("b", None)], serde_json::Value::Null);
        let read = vec![
            ReadValues {
                index: 0,
                text: None,
            },
            ReadValues {
                index: 1,
                text: Some("a: 1\n".into()),
            },
        ];
        assert_eq!(merge(&s, &read).unwrap(), serde_json::json!({"a": 1}));
        let bad = vec![ReadValues {
            index: 1,
            text: Some("a: [unclosed\n".into()),
        }];
        let e = merge(&s, &bad).unwrap_err();
        assert!(
            e.to_string().starts_with("spec.valuesFrom[1] (ConfigMap b"),
            "{e}"
        );
        assert_eq!(e.reason(), reasons::REFERENCE_NOT_FOUND);
    }

    #[test]
    fn equal_values_give_equal_json() {
        let s1 = spec(vec![], serde_json::json!({"b": 1, "a": {"d": 2, "c": 3}}));
        let s2 = spec(vec![], serde_json::json!({"a": {"c": 3, "d": 2}, "b": 1}));
        let a = serde_json::to_string(&merge(&s1, &[]).unwrap()).unwrap();
        let b = serde_json::to_string(&merge(&s2, &[]).unwrap()).unwrap();
        assert_eq!(a, b);
    }
}
