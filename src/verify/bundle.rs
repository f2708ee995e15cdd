//! Sigstore bundles (`application/vnd.dev.sigstore.bundle…`, v0.1 to v0.3): JSON → [`Evidence`].
//! Key-signed bundles (verification material `publicKey`) are handled here too; the `sigstore`
//! crate rejects them.

use super::certs::{RawCert, RawChain};
use super::error::{VerifyError, malformed};
use super::evidence::{Evidence, SignedContent, SignerMaterial};
use super::tlog::{TlogEntry, b64};
use serde::Deserialize;

/// The in-toto predicate type of a signature bundle, as `cosign sign --new-bundle-format` (cosign
/// v3's default) writes it: "this artifact is signed", nothing more. Bundles with other predicates
/// are attestations.
pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";

/// Bundle media types this verifier understands, with whether inclusion proofs are mandatory.
fn bundle_version(media_type: &str) -> Option<bool> {
    match media_type {
        "application/vnd.dev.sigstore.bundle+json;version=0.1" => Some(false),
        "application/vnd.dev.sigstore.bundle+json;version=0.2"
        | "application/vnd.dev.sigstore.bundle+json;version=0.3"
        | "application/vnd.dev.sigstore.bundle.v0.3+json" => Some(true),
        other
            if other.starts_with("application/vnd.dev.sigstore.bundle.v0.3.")
                && other.ends_with("+json") =>
        {
            Some(true)
        }
        _ => None,
    }
}

/// Whether a media type (e.g. of an OCI layer or artifactType) names a Sigstore bundle.
pub fn is_bundle_media_type(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.dev.sigstore.bundle")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: String,
    verification_material: RawMaterial,
    #[serde(default)]
    message_signature: Option<RawMessageSignature>,
    #[serde(default)]
    dsse_envelope: Option<RawDsse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    #[serde(default)]
    x509_certificate_chain: Option<RawChain>,
    #[serde(default)]
    certificate: Option<RawCert>,
    #[serde(default)]
    public_key: Option<serde_json::Value>,
    #[serde(default)]
    tlog_entries: Vec<TlogEntry>,
    #[serde(default)]
    timestamp_verification_data: Option<RawTimestamps>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimestamps {
    #[serde(default)]
    rfc3161_timestamps: Vec<RawTimestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimestamp {
    signed_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessageSignature {
    #[serde(default)]
    message_digest: Option<RawDigest>,
    signature: String,
}

#[derive(Deserialize)]
struct RawDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDsse {
    payload: String,
    payload_type: String,
    #[serde(default)]
    signatures: Vec<RawDsseSig>,
}

#[derive(Deserialize)]
struct RawDsseSig {
    sig: String,
}

/// Parses a bundle into evidence. Fails on unknown versions and malformed content.
pub(crate) fn parse_bundle(json: &[u8]) -> Result<Evidence, VerifyError> {
    let raw: RawBundle = serde_json::from_slice(json)
        .map_err(|e| malformed(format!("bundle is not valid JSON: {e}")))?;
    let require_inclusion_proof = bundle_version(&raw.media_type)
        .ok_or_else(|| VerifyError::UnsupportedBundle(raw.media_type.clone()))?;
    let m = raw.verification_material;
    let material = if let Some(chain) = m.x509_certificate_chain {
        let mut certs = chain
            .certificates
            .iter()
            .map(|c| b64("x509CertificateChain.certificates", &c.raw_bytes))
            .collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err(malformed("bundle has an empty certificate chain"));
        }
        let leaf = certs.remove(0);
        SignerMaterial::Certificate { leaf, chain: certs }
    } else if let Some(cert) = m.certificate {
        SignerMaterial::Certificate {
            leaf: b64("certificate.rawBytes", &cert.raw_bytes)?,
            chain: vec![],
        }
    } else if m.public_key.is_some() {
        SignerMaterial::PublicKey
    } else {
        return Err(malformed("bundle has no verification material"));
    };
    let content = match (raw.message_signature, raw.dsse_envelope) {
        (Some(ms), None) => {
            let claimed_sha256 = match ms.message_digest {
                Some(d) if d.algorithm == "SHA2_256" => {
                    Some(b64("messageSignature.messageDigest", &d.digest)?)
                }
                Some(d) => {
                    return Err(malformed(format!(
                        "unsupported message digest algorithm {}",
                        d.algorithm
                    )));
                }
                None => None,
            };
            SignedContent::Message {
                signature: b64("messageSignature.signature", &ms.signature)?,
                claimed_sha256,
            }
        }
        (None, Some(env)) => SignedContent::Dsse {
            payload: b64("dsseEnvelope.payload", &env.payload)?,
            payload_type: env.payload_type,
            signatures: env
                .signatures
                .iter()
                .map(|s| b64("dsseEnvelope.signatures.sig", &s.sig))
                .collect::<Result<Vec<_>, _>>()?,
        },
        _ => {
            return Err(malformed(
                "bundle must have exactly one of messageSignature and dsseEnvelope",
            ));
        }
    };
    let timestamps = m
        .timestamp_verification_data
        .map(|t| t.rfc3161_timestamps)
        .unwrap_or_default()
        .iter()
        .map(|t| b64("rfc3161Timestamps.signedTimestamp", &t.signed_timestamp))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Evidence {
        content,
        material,
        tlog_entries: m.tlog_entries,
        timestamps,
        require_inclusion_proof,
        timestamp_may_cover_base64: false,
    })
}
