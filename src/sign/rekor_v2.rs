//! A Rekor v2 transparency log (`POST /api/v2/log/entries`, protobuf-JSON `CreateEntryRequest`):
//! `hashedrekord` and `dsse` entries of version 0.0.2. Rekor v2 answers with a
//! `TransparencyLogEntry` that goes into a Sigstore bundle as is: an inclusion proof under a
//! signed checkpoint, and no integrated time or signed entry timestamp (so a keyless signature
//! needs an RFC 3161 timestamp to show when its certificate was valid). Only bundles can carry
//! such an entry; cosign's `.sig` annotations have no place for it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::SignError;
use super::certificate::CertificateChain;
use super::keyless::{http_client, post_json};
use crate::verify::keys::{KeyAlgorithm, PublicKey, pem};

/// A Rekor v2 log.
#[derive(Debug, Clone)]
pub struct RekorV2Client {
    url: String,
    http: reqwest::Client,
}

/// Sigstore's name for a key type (`keyDetails`).
fn key_details(key: &PublicKey) -> &'static str {
    match key.algorithm() {
        KeyAlgorithm::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
        KeyAlgorithm::EcdsaP384 => "PKIX_ECDSA_P384_SHA_384",
        KeyAlgorithm::EcdsaP521 => "PKIX_ECDSA_P521_SHA_512",
        KeyAlgorithm::Ed25519 => "PKIX_ED25519",
        KeyAlgorithm::Rsa => "PKIX_RSA_PKCS1V15_2048_SHA256",
    }
}

/// The `verifier` of a v2 entry: the signing certificate (DER) or the public key (SPKI DER).
pub fn verifier(
    key: &PublicKey,
    certificate: Option<&CertificateChain>,
) -> Result<Value, SignError> {
    Ok(match certificate {
        Some(c) => {
            let leaf = pem::find_labelled(c.leaf_pem.as_bytes(), "CERTIFICATE").map_err(|e| {
                SignError::Certificate {
                    what: "the signing certificate".into(),
                    reason: e.to_string(),
                }
            })?;
            json!({
                "x509Certificate": { "rawBytes": STANDARD.encode(leaf.contents) },
                "keyDetails": key_details(key),
            })
        }
        None => json!({
            "publicKey": { "rawBytes": STANDARD.encode(key.spki_der()) },
            "keyDetails": key_details(key),
        }),
    })
}

impl RekorV2Client {
    /// A client for the log at `url` (its base URL, as a signing config lists it).
    pub fn new(url: &str) -> Result<Self, SignError> {
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            http: http_client()?,
        })
    }

    /// Logs a DSSE envelope (`dsse` 0.0.2) and returns the bundle's `tlogEntries[]` item, checked
    /// to record this payload and signature.
    pub async fn upload_dsse(
        &self,
        envelope: &Value,
        payload: &[u8],
        signature: &[u8],
        verifier: Value,
    ) -> Result<Value, SignError> {
        let request = json!({ "dsseRequestV002": {
            "envelope": envelope,
            "verifiers": [verifier],
        }});
        let payload_hash = STANDARD.encode(Sha256::digest(payload));
        let signature_b64 = STANDARD.encode(signature);
        self.upload(&request, "dsse", |body| {
            let spec = body.pointer("/spec/dsseV002");
            spec.and_then(|s| s.pointer("/payloadHash/digest"))
                .and_then(Value::as_str)
                == Some(payload_hash.as_str())
                && spec
                    .and_then(|s| s.get("signatures"))
                    .and_then(Value::as_array)
                    .is_some_and(|list| {
                        list.iter().any(|e| {
                            e.get("content").and_then(Value::as_str) == Some(signature_b64.as_str())
                        })
                    })
        })
        .await
    }

    /// POSTs the request; the answer must be an entry of `kind` 0.0.2 whose body `recorded`
    /// accepts, with an inclusion proof.
    async fn upload(
        &self,
        request: &Value,
        kind: &str,
        recorded: impl Fn(&Value) -> bool,
    ) -> Result<Value, SignError> {
        let url = format!("{}/api/v2/log/entries", self.url);
        let bytes = post_json(&self.http, "Rekor v2", &url, request, None).await?;
        let bad = |reason: String| SignError::Service {
            service: "Rekor v2",
            url: url.clone(),
            reason,
        };
        let entry: Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("unexpected response: {e}")))?;
        let kind_version = (
            entry.pointer("/kindVersion/kind").and_then(Value::as_str),
            entry
                .pointer("/kindVersion/version")
                .and_then(Value::as_str),
        );
        if kind_version != (Some(kind), Some("0.0.2")) {
            return Err(bad(format!(
                "expected a {kind}/0.0.2 entry, got {}",
                entry.get("kindVersion").unwrap_or(&Value::Null)
            )));
        }
        if entry.get("inclusionProof").is_none() {
            return Err(bad("the entry has no inclusion proof".into()));
        }
        let body: Value = entry
            .get("canonicalizedBody")
            .and_then(Value::as_str)
            .and_then(|b| STANDARD.decode(b).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| bad("the entry body is not base64 JSON".into()))?;
        if !recorded(&body) {
            return Err(bad(
                "the returned entry does not hold the submitted signature".into(),
            ));
        }
        Ok(entry)
    }
}
