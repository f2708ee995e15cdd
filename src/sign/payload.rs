//! cosign's "simple signing" payload: the JSON document a classic cosign signature signs, naming
//! the repository and the manifest digest. Written byte-for-byte as cosign 2.x writes it (field
//! order, no whitespace, `"optional":null` without annotations) so the same key over the same
//! artifact yields an identical layer digest, which is how duplicate signatures are recognised.

use std::collections::BTreeMap;

use serde::Serialize;

/// `type` value of every cosign container-image signature payload.
pub const PAYLOAD_TYPE: &str = "cosign container image signature";

#[derive(Serialize)]
struct Payload<'a> {
    critical: Critical<'a>,
    optional: Option<&'a BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct Critical<'a> {
    identity: Identity<'a>,
    image: Image<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Identity<'a> {
    #[serde(rename = "docker-reference")]
    docker_reference: &'a str,
}

#[derive(Serialize)]
struct Image<'a> {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: &'a str,
}

/// The payload bytes for `docker_reference` (`HOST/REPO`, no tag or digest) at `digest`
/// (`sha256:<hex>`), with cosign's `-a key=value` annotations in `optional` when there are any.
pub fn simple_signing_payload(
    docker_reference: &str,
    digest: &str,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let payload = Payload {
        critical: Critical {
            identity: Identity { docker_reference },
            image: Image {
                docker_manifest_digest: digest,
            },
            kind: PAYLOAD_TYPE,
        },
        optional: (!annotations.is_empty()).then_some(annotations),
    };
    // Serialising structs of strings and string maps cannot fail.
    serde_json::to_vec(&payload).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_bytes_cosign_writes() {
        // Captured from `cosign sign` (2.5) against a local registry.
        let expected = r#"{"critical":{"identity":{"docker-reference":"127.0.0.1:5077/test/art"},"image":{"docker-manifest-digest":"sha256:0f8d239137a54194a6ca0d0b4b146953854f0738d5815b3c77ae16391ba5f202"},"type":"cosign container image signature"},"optional":null}"#;
        let payload = simple_signing_payload(
            "127.0.0.1:5077/test/art",
            "sha256:0f8d239137a54194a6ca0d0b4b146953854f0738d5815b3c77ae16391ba5f202",
            &BTreeMap::new(),
        );
        assert_eq!(String::from_utf8(payload).unwrap(), expected);
    }

    #[test]
    fn annotations_go_into_optional() {
        let annotations = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let payload = simple_signing_payload("h/r", "sha256:00", &annotations);
        assert!(
            String::from_utf8(payload)
                .unwrap()
                .ends_with(r#""optional":{"env":"prod"}}"#)
        );
    }
}
