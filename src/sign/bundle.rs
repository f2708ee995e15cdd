//! cosign v3's signature format (`--new-bundle-format`): a Sigstore bundle v0.3 whose DSSE
//! envelope carries an in-toto statement (predicate type `https://sigstore.dev/cosign/sign/v1`)
//! naming the signed manifest's digest, stored as an OCI 1.1 referrer of that manifest
//! (`artifactType` = the bundle media type, empty config, the bundle as the only layer).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::SignError;
use super::certificate::CertificateChain;
use super::keyless::RekorEntry;
use crate::registry::manifest::{Descriptor, ImageManifest, OCI_EMPTY_MEDIA_TYPE};
use crate::verify::keys::pem;

/// Media type (and OCI artifact type) of a Sigstore bundle v0.3.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub use crate::verify::SIGN_PREDICATE_TYPE;
/// DSSE payload type of an in-toto statement.
pub const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Referrer annotations cosign sets so tools can tell signatures from other attestations.
pub const CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
pub const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// The in-toto statement signed for `digest` (`sha256:<hex>`); cosign's `-a key=value`
/// annotations go on the subject.
pub fn statement(digest: &str, annotations: &BTreeMap<String, String>) -> Vec<u8> {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    let mut subject = json!({ "digest": { algorithm: hex } });
    if !annotations.is_empty() {
        subject["annotations"] = json!(annotations);
    }
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [subject],
        "predicateType": SIGN_PREDICATE_TYPE,
        "predicate": {},
    });
    // A JSON value built here always serialises.
    serde_json::to_vec(&statement).unwrap_or_default()
}

/// DSSE's pre-authentication encoding: what the key actually signs.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The DSSE envelope JSON (what Rekor's `dsse` entry is given).
pub fn envelope(payload: &[u8], signature: &[u8]) -> Value {
    json!({
        "payload": STANDARD.encode(payload),
        "payloadType": INTOTO_PAYLOAD_TYPE,
        "signatures": [{ "sig": STANDARD.encode(signature), "keyid": "" }],
    })
}

/// Hex text → base64 (Rekor v1's API writes hashes in hex, bundles in base64).
fn hex_to_b64(field: &str, text: &str) -> Result<String, SignError> {
    hex::decode(text)
        .map(|bytes| STANDARD.encode(bytes))
        .map_err(|_| SignError::Service {
            service: "Rekor",
            url: String::new(),
            reason: format!("{field} {text:?} is not hex"),
        })
}

/// A bundle `tlogEntries[]` item from a Rekor v1 entry (promise and inclusion proof).
pub fn tlog_entry(entry: &RekorEntry, kind: &str) -> Result<Value, SignError> {
    let mut value = json!({
        "logIndex": entry.log_index.to_string(),
        "logId": { "keyId": hex_to_b64("logID", &entry.log_id)? },
        "kindVersion": { "kind": kind, "version": "0.0.1" },
        "integratedTime": entry.integrated_time.to_string(),
        "inclusionPromise": { "signedEntryTimestamp": entry.signed_entry_timestamp },
        "canonicalizedBody": entry.body,
    });
    if let Some(proof) = &entry.inclusion_proof {
        value["inclusionProof"] = json!({
            "logIndex": proof.log_index.to_string(),
            "rootHash": hex_to_b64("rootHash", &proof.root_hash)?,
            "treeSize": proof.tree_size.to_string(),
            "hashes": proof.hashes.iter().map(|h| hex_to_b64("hashes", h)).collect::<Result<Vec<_>, _>>()?,
            "checkpoint": { "envelope": proof.checkpoint },
        });
    }
    Ok(value)
}

/// The bundle: the envelope, the signer's certificate (or a key hint), the log entries (bundle
/// `tlogEntries[]` items) and the RFC 3161 timestamp when there are any.
pub fn bundle(
    envelope: Value,
    certificate: Option<&CertificateChain>,
    tlog_entries: Vec<Value>,
    timestamp: Option<&[u8]>,
) -> Result<Vec<u8>, SignError> {
    let mut material = serde_json::Map::new();
    match certificate {
        Some(c) => {
            let leaf = pem::find_labelled(c.leaf_pem.as_bytes(), "CERTIFICATE").map_err(|e| {
                SignError::Certificate {
                    what: "the signing certificate".into(),
                    reason: e.to_string(),
                }
            })?;
            material.insert(
                "certificate".into(),
                json!({ "rawBytes": STANDARD.encode(leaf.contents) }),
            );
        }
        None => {
            material.insert("publicKey".into(), json!({ "hint": "" }));
        }
    }
    material.insert("tlogEntries".into(), Value::Array(tlog_entries));
    if let Some(ts) = timestamp {
        material.insert(
            "timestampVerificationData".into(),
            json!({ "rfc3161Timestamps": [{ "signedTimestamp": STANDARD.encode(ts) }] }),
        );
    }
    let bundle = json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": material,
        "dsseEnvelope": envelope,
    });
    Ok(serde_json::to_vec(&bundle).unwrap_or_default())
}

/// The referrer manifest holding `bundle_layer` for `subject`, as cosign v3 writes it (with
/// the bytes of its empty config).
pub fn referrer_manifest(
    bundle_layer: Descriptor,
    subject: Descriptor,
    created: &str,
) -> (ImageManifest, Vec<u8>) {
    let config = b"{}".to_vec();
    let mut manifest = ImageManifest::new(
        Descriptor::for_bytes(OCI_EMPTY_MEDIA_TYPE, &config),
        vec![bundle_layer],
    );
    manifest.artifact_type = Some(BUNDLE_MEDIA_TYPE.to_string());
    manifest.subject = Some(subject);
    manifest.annotations = Some(BTreeMap::from([
        (CONTENT_ANNOTATION.to_string(), "dsse-envelope".to_string()),
        (
            PREDICATE_TYPE_ANNOTATION.to_string(),
            SIGN_PREDICATE_TYPE.to_string(),
        ),
        (CREATED_ANNOTATION.to_string(), created.to_string()),
    ]));
    (manifest, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_names_the_digest_with_cosigns_predicate() {
        let s = statement("sha256:ab12", &BTreeMap::new());
        let v: Value = serde_json::from_slice(&s).unwrap();
        assert_eq!(v["subject"][0]["digest"]["sha256"], "ab12");
        assert_eq!(v["predicateType"], SIGN_PREDICATE_TYPE);
        assert!(v["subject"][0].get("annotations").is_none());
        let a = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let v: Value = serde_json::from_slice(&statement("sha256:ab12", &a)).unwrap();
        assert_eq!(v["subject"][0]["annotations"]["env"], "prod");
    }

    #[test]
    fn pae_is_dsse_v1() {
        assert_eq!(pae("t", b"hello"), b"DSSEv1 1 t 5 hello");
    }

    #[test]
    fn referrer_manifest_has_cosigns_shape() {
        let layer = Descriptor::for_bytes(BUNDLE_MEDIA_TYPE, b"{}");
        let subject = Descriptor::for_bytes("application/vnd.oci.image.manifest.v1+json", b"m");
        let (m, config) = referrer_manifest(layer, subject, "2026-01-01T00:00:00Z");
        assert_eq!(config, b"{}");
        assert_eq!(m.config.media_type, OCI_EMPTY_MEDIA_TYPE);
        assert_eq!(m.artifact_type.as_deref(), Some(BUNDLE_MEDIA_TYPE));
        let a = m.annotations.unwrap();
        assert_eq!(a[PREDICATE_TYPE_ANNOTATION], SIGN_PREDICATE_TYPE);
        assert_eq!(a[CONTENT_ANNOTATION], "dsse-envelope");
    }
}
