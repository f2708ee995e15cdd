//! What a render depends on, hashed (the inputs digest), and the Helm release manifest text the
//! controller records and hashes (the manifest digest). While the inputs digest is unchanged the
//! controller re-applies the manifests it applied last instead of rendering again, so templates
//! with `randAlphaNum` or `genCA` do not rotate their output every interval.

use sha2::{Digest, Sha256};

/// The controller version: a new controller may render differently, so it is an input.
pub const CONTROLLER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything a render reads besides the chart bytes (which the digest stands for).
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub chart_digest: &'a str,
    /// Merged user values (valuesFrom data included), as JSON with sorted keys.
    pub values: &'a serde_json::Value,
    pub generation: i64,
    pub release_name: &'a str,
    pub release_namespace: &'a str,
}

impl Inputs<'_> {
    /// `sha256:<hex>` over the inputs, each length-prefixed so no two inputs collide.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        let values = serde_json::to_vec(self.values).unwrap_or_default();
        for part in [
            CONTROLLER_VERSION.as_bytes(),
            self.chart_digest.as_bytes(),
            &values,
            self.generation.to_string().as_bytes(),
            self.release_name.as_bytes(),
            self.release_namespace.as_bytes(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }
}

/// The manifest text Helm stores in a release: `---\n# Source: PATH\nDOC\n` per document.
pub fn manifest_text(docs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (path, doc) in docs {
        out.push_str("---\n# Source: ");
        out.push_str(path);
        out.push('\n');
        out.push_str(doc);
        out.push('\n');
    }
    out
}

/// `sha256:<hex>` of a manifest text.
pub fn manifest_digest(text: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// The documents of a manifest text written by [`manifest_text`] (or by Helm).
pub fn parse_manifest_text(text: &str) -> Vec<(String, String)> {
    let mut docs = Vec::new();
    let body = text.strip_prefix("---\n").unwrap_or(text);
    for chunk in body.split("\n---\n") {
        let Some(rest) = chunk.strip_prefix("# Source: ") else {
            // A document without a source line: keep it, unnamed.
            if !chunk.trim().is_empty() {
                docs.push((String::new(), chunk.trim_end_matches('\n').to_owned()));
            }
            continue;
        };
        let (path, doc) = rest.split_once('\n').unwrap_or((rest, ""));
        let doc = doc.trim_end_matches('\n');
        if !doc.trim().is_empty() {
            docs.push((path.to_owned(), doc.to_owned()));
        }
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_text_round_trips() {
        let docs = vec![
            (
                "c/templates/a.yaml".to_string(),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a".to_string(),
            ),
            (
                "c/templates/b.yaml".to_string(),
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\ndata: {}".to_string(),
            ),
        ];
        let text = manifest_text(&docs);
        assert!(text.starts_with("---\n# Source: c/templates/a.yaml\napiVersion: v1\n"));
        assert_eq!(parse_manifest_text(&text), docs);
        assert_eq!(
            manifest_digest(&text),
            manifest_digest(&manifest_text(&docs))
        );
        assert_ne!(
            manifest_digest(&text),
            manifest_digest(&manifest_text(&docs[..1]))
        );
        assert!(parse_manifest_text("").is_empty());
    }

    #[test]
    fn every_input_changes_the_digest() {
        let values = serde_json::json!({"a": 1});
        let other_values = serde_json::json!({"a": 2});
        let base = Inputs {
            chart_digest: "sha256:aa",
            values: &values,
            generation: 1,
            release_name: "r",
            release_namespace: "ns",
        };
        let d = base.digest();
        assert_eq!(d, base.digest());
        assert!(d.starts_with("sha256:"));
        let variants = [
            Inputs {
                chart_digest: "sha256:bb",
                ..base
            },
            Inputs {
                values: &other_values,
                ..base
            },
            Inputs {
                generation: 2,
                ..base
            },
            Inputs {
                release_name: "r2",
                ..base
            },
            Inputs {
                release_namespace: "ns2",
                ..base
            },
        ];
        for v in variants {
            assert_ne!(v.digest(), d);
        }
    }
}
