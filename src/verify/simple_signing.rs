//! cosign's classic signature layers: a simple-signing payload blob whose layer annotations carry
//! the signature (`dev.cosignproject.cosign/signature`), the certificate and chain
//! (`dev.sigstore.cosign/certificate`, `…/chain`), the Rekor bundle (`dev.sigstore.cosign/bundle`)
//! and an RFC 3161 timestamp (`dev.sigstore.cosign/rfc3161timestamp`). Converted to [`Evidence`];
//! the payload must name the verified digest (and the repository, when the policy asks).

use super::error::{VerifyError, malformed};
use super::evidence::{Evidence, SignedContent, SignerMaterial};
use super::keys::pem;
use super::policy::CompiledMatcher;
use super::tlog::{InclusionPromise, KindVersion, LogId, TlogEntry, b64};
use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;

// The wire names are the ones `sign` writes, so both sides read one definition.
pub(crate) use crate::registry::cosign::SIMPLE_SIGNING_MEDIA_TYPE;
use crate::registry::cosign::{
    BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, SIGNATURE_ANNOTATION,
    TIMESTAMP_ANNOTATION as RFC3161_ANNOTATION,
};

#[derive(Deserialize)]
struct RekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: RekorPayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorPayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

#[derive(Deserialize)]
struct TimestampAnnotation {
    #[serde(rename = "SignedRFC3161Timestamp")]
    signed_rfc3161_timestamp: String,
}

/// Builds evidence from one simple-signing layer's annotations (the payload is the artifact).
pub(crate) fn layer_evidence(
    annotations: &BTreeMap<String, String>,
) -> Result<Evidence, VerifyError> {
    let signature = annotations.get(SIGNATURE_ANNOTATION).ok_or_else(|| {
        malformed(format!(
            "signature layer has no {SIGNATURE_ANNOTATION} annotation"
        ))
    })?;
    let signature = b64(SIGNATURE_ANNOTATION, signature)?;
    let material = match annotations
        .get(CERTIFICATE_ANNOTATION)
        .filter(|c| !c.trim().is_empty())
    {
        Some(certificate_pem) => {
            let leaf = pem::find_labelled(certificate_pem.as_bytes(), "CERTIFICATE")
                .map_err(|e| malformed(format!("{CERTIFICATE_ANNOTATION}: {e}")))?
                .contents;
            // cosign's chain annotation includes the root; trust comes from the trust root only,
            // so the supplied chain is not needed.
            SignerMaterial::Certificate {
                leaf,
                chain: Vec::new(),
            }
        }
        None => SignerMaterial::PublicKey,
    };
    let mut tlog_entries = Vec::new();
    if let Some(bundle) = annotations.get(BUNDLE_ANNOTATION) {
        let rb: RekorBundle = serde_json::from_str(bundle)
            .map_err(|e| malformed(format!("{BUNDLE_ANNOTATION} is not a Rekor bundle: {e}")))?;
        let log_id = hex::decode(&rb.payload.log_id)
            .map_err(|_| malformed(format!("{BUNDLE_ANNOTATION}: logID is not hex")))?;
        let body = b64("Rekor bundle body", &rb.payload.body)?;
        let kind_version = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .map(|v| KindVersion {
                kind: v
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or_default()
                    .to_string(),
                version: v
                    .get("apiVersion")
                    .and_then(|k| k.as_str())
                    .unwrap_or_default()
                    .to_string(),
            });
        tlog_entries.push(TlogEntry {
            log_index: rb.payload.log_index,
            log_id: LogId {
                key_id: base64::engine::general_purpose::STANDARD.encode(log_id),
            },
            kind_version,
            integrated_time: rb.payload.integrated_time,
            inclusion_promise: Some(InclusionPromise {
                signed_entry_timestamp: rb.signed_entry_timestamp,
            }),
            inclusion_proof: None,
            canonicalized_body: rb.payload.body,
        });
    }
    let mut timestamps = Vec::new();
    if let Some(ts) = annotations.get(RFC3161_ANNOTATION) {
        let t: TimestampAnnotation = serde_json::from_str(ts)
            .map_err(|e| malformed(format!("{RFC3161_ANNOTATION} is not a timestamp: {e}")))?;
        timestamps.push(b64(RFC3161_ANNOTATION, &t.signed_rfc3161_timestamp)?);
    }
    Ok(Evidence {
        content: SignedContent::Message {
            signature,
            claimed_sha256: None,
        },
        material,
        tlog_entries,
        timestamps,
        require_inclusion_proof: false,
        timestamp_may_cover_base64: true,
    })
}

/// Checks that a verified simple-signing payload names `digest`, and, when the policy asks for
/// one (`signed_repository`), a repository it accepts. Like cosign, the repository is not checked
/// otherwise: the signature binds the digest, and copies of the artifact (mirrors, `cosign copy`)
/// keep the name of the repository where it was signed.
pub(crate) fn check_payload(
    payload: &[u8],
    digest: &str,
    signed_repository: Option<&CompiledMatcher>,
) -> Result<(), VerifyError> {
    let v: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|e| malformed(format!("simple-signing payload is not JSON: {e}")))?;
    let signed_digest = v
        .pointer("/critical/image/docker-manifest-digest")
        .and_then(|d| d.as_str())
        .ok_or_else(|| {
            malformed("simple-signing payload has no critical.image.docker-manifest-digest")
        })?;
    if signed_digest != digest {
        return Err(VerifyError::DigestMismatch {
            expected: digest.into(),
            signed: signed_digest.into(),
        });
    }
    let Some(wanted) = signed_repository else {
        return Ok(());
    };
    let signed_ref = v
        .pointer("/critical/identity/docker-reference")
        .and_then(|d| d.as_str())
        .ok_or_else(|| {
            malformed("simple-signing payload has no critical.identity.docker-reference")
        })?;
    if !wanted.matches(repository_of(signed_ref)) {
        return Err(VerifyError::RepositoryMismatch {
            expected: wanted.to_string(),
            signed: signed_ref.into(),
        });
    }
    Ok(())
}

/// `HOST/REPO` of a docker reference: cosign writes the repository alone, but a tag or digest
/// suffix (`--sign-container-identity` takes any reference) is tolerated.
fn repository_of(reference: &str) -> &str {
    let base = reference.split('@').next().unwrap_or_default();
    match base.rfind(':') {
        Some(i) if !base[i..].contains('/') && base[..i].contains('/') => &base[..i],
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:6e7c8e7a62596fbfa4cd3964e5f258b2f2d0c22dd7007ca84a7158bd125b39da";

    fn payload(reference: &str, digest: &str) -> Vec<u8> {
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"{reference}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
        )
        .into_bytes()
    }

    fn exact(s: &str) -> CompiledMatcher {
        CompiledMatcher::Exact(s.into())
    }

    #[test]
    fn payload_must_name_the_digest_and_the_repository_only_when_asked() {
        // No repository in the policy: the digest is what the signature binds (a mirror copy).
        assert!(check_payload(&payload("r.io/charts/a", D), D, None).is_ok());
        assert!(check_payload(&payload("mirror.io/m/a", D), D, None).is_ok());
        let wanted = exact("r.io/charts/a");
        assert!(check_payload(&payload("r.io/charts/a", D), D, Some(&wanted)).is_ok());
        let port = exact("r.io:5000/charts/a");
        assert!(check_payload(&payload("r.io:5000/charts/a:1.0", D), D, Some(&port)).is_ok());
        let other = D.replace("6e7c", "0000");
        let e = check_payload(&payload("r.io/charts/a", &other), D, None).unwrap_err();
        assert_eq!(e.reason(), "DigestMismatch");
        let e = check_payload(&payload("r.io/charts/b", D), D, Some(&wanted)).unwrap_err();
        assert_eq!(e.reason(), "RepositoryMismatch");
        assert!(e.to_string().contains("r.io/charts/b"), "{e}");
        let re = CompiledMatcher::Regexp(regex::Regex::new("^(?:r\\.io/charts/.*)$").unwrap());
        assert!(check_payload(&payload("r.io/charts/b", D), D, Some(&re)).is_ok());
        let e = check_payload(&payload("x.io/charts/b", D), D, Some(&re)).unwrap_err();
        assert_eq!(e.reason(), "RepositoryMismatch");
        let e = check_payload(b"not json", D, None).unwrap_err();
        assert_eq!(e.reason(), "MalformedSignature");
    }

    #[test]
    fn layer_annotations_are_required_and_checked() {
        let mut ann = BTreeMap::new();
        assert_eq!(
            layer_evidence(&ann).unwrap_err().reason(),
            "MalformedSignature"
        );
        ann.insert(SIGNATURE_ANNOTATION.to_string(), "%%".to_string());
        assert_eq!(
            layer_evidence(&ann).unwrap_err().reason(),
            "MalformedSignature"
        );
        ann.insert(SIGNATURE_ANNOTATION.to_string(), "AAAA".to_string());
        ann.insert(BUNDLE_ANNOTATION.to_string(), "{".to_string());
        assert_eq!(
            layer_evidence(&ann).unwrap_err().reason(),
            "MalformedSignature"
        );
    }
}
