//! Keyless signing services: a Fulcio-compatible CA (OIDC identity token + proof of possession
//! → short-lived signing certificate, `POST /api/v2/signingCert`), a Rekor-compatible
//! transparency log (`POST /api/v1/log/entries`, a `hashedrekord` or `dsse` entry) and an RFC 3161
//! timestamp authority (sigstore timestamp-authority's JSON request). All URLs are configurable
//! so private deployments and local test services work the same way.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::SignError;
use super::certificate::CertificateChain;
use crate::verify::keys::{KeyAlgorithm, SigningKey, pem};

/// Public-good Fulcio, cosign's default.
pub const DEFAULT_FULCIO_URL: &str = "https://fulcio.sigstore.dev";
/// Public-good Rekor, cosign's default.
pub const DEFAULT_REKOR_URL: &str = "https://rekor.sigstore.dev";
/// Largest service response read; certificates and log entries are a few KiB.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

pub(super) fn http_client() -> Result<reqwest::Client, SignError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("signet/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SignError::Service {
            service: "HTTP client",
            url: String::new(),
            reason: e.to_string(),
        })
}

/// POSTs JSON and returns the body of a 2xx answer, or a `Service` error with the status and
/// the start of the body (services explain rejections there).
pub(super) async fn post_json(
    http: &reqwest::Client,
    service: &'static str,
    url: &str,
    body: &serde_json::Value,
    bearer: Option<&str>,
) -> Result<Vec<u8>, SignError> {
    let fail = |reason: String| SignError::Service {
        service,
        url: url.to_string(),
        reason,
    };
    let mut request = http.post(url).json(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let mut response = request.send().await.map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    // Read at most MAX_RESPONSE_BYTES: a misbehaving service must not make us buffer without end.
    let too_large = || {
        fail(format!(
            "response is larger than {MAX_RESPONSE_BYTES} bytes"
        ))
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| fail(e.to_string()))? {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(500)]).into_owned();
        return Err(fail(format!("HTTP {status}: {}", text.trim())));
    }
    Ok(bytes)
}

/// The claims of an OIDC identity token that signing needs. The token's signature is Fulcio's
/// to check; we only read who it names so the proof of possession signs the right string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub issuer: String,
    /// `email` when the token has one (Fulcio then certifies the email), else `sub`.
    pub subject: String,
}

/// Reads the issuer and subject from a JWT without checking its signature.
pub fn token_claims(token: &str) -> Result<TokenClaims, SignError> {
    let invalid = |reason: &str| SignError::IdentityToken(reason.to_string());
    let mut parts = token.trim().split('.');
    let (Some(_header), Some(claims), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a JWT (expected three dot-separated parts)"));
    };
    let claims = URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .map_err(|_| invalid("the claims part is not base64url"))?;
    let claims: serde_json::Value =
        serde_json::from_slice(&claims).map_err(|_| invalid("the claims part is not JSON"))?;
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let issuer = text("iss").ok_or_else(|| invalid("no \"iss\" claim"))?;
    let subject = text("email")
        .or_else(|| text("sub"))
        .ok_or_else(|| invalid("no \"sub\" or \"email\" claim"))?;
    Ok(TokenClaims { issuer, subject })
}

/// A Fulcio-compatible certificate authority.
#[derive(Debug, Clone)]
pub struct FulcioClient {
    url: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulcioResponse {
    signed_certificate_embedded_sct: Option<FulcioSigned>,
    signed_certificate_detached_sct: Option<FulcioSigned>,
}

#[derive(Deserialize)]
struct FulcioSigned {
    chain: FulcioChain,
}

#[derive(Deserialize)]
struct FulcioChain {
    certificates: Vec<String>,
}

impl FulcioClient {
    /// A client for the CA at `url` (e.g. [`DEFAULT_FULCIO_URL`]).
    pub fn new(url: &str) -> Result<Self, SignError> {
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            http: http_client()?,
        })
    }

    /// Exchanges `token` for a certificate over `key`'s public key; the answer is checked to
    /// certify exactly that key.
    pub async fn signing_certificate(
        &self,
        token: &str,
        key: &SigningKey,
    ) -> Result<CertificateChain, SignError> {
        let claims = token_claims(token)?;
        // Fulcio's proof of possession: a signature over the token's subject.
        let proof = key.sign(claims.subject.as_bytes())?;
        let algorithm = match key.algorithm() {
            KeyAlgorithm::Ed25519 => "ED25519",
            KeyAlgorithm::Rsa => "RSA",
            _ => "ECDSA",
        };
        let body = json!({
            "credentials": { "oidcIdentityToken": token.trim() },
            "publicKeyRequest": {
                "publicKey": { "algorithm": algorithm, "content": key.public_key().to_pem() },
                "proofOfPossession": STANDARD.encode(proof),
            }
        });
        let url = format!("{}/api/v2/signingCert", self.url);
        let bytes = post_json(&self.http, "Fulcio", &url, &body, Some(token.trim())).await?;
        let bad = |reason: String| SignError::Service {
            service: "Fulcio",
            url: url.clone(),
            reason,
        };
        let response: FulcioResponse =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("unexpected response: {e}")))?;
        let signed = response
            .signed_certificate_embedded_sct
            .or(response.signed_certificate_detached_sct)
            .ok_or_else(|| bad("response has no signed certificate".into()))?;
        let mut ders = Vec::new();
        for certificate in &signed.chain.certificates {
            for block in pem::parse_all(certificate.as_bytes())
                .map_err(|e| bad(format!("certificate chain: {e}")))?
            {
                ders.push(block.contents);
            }
        }
        let chain = CertificateChain::from_der_list(&ders)?;
        chain.check_key(key.public_key())?;
        Ok(chain)
    }
}

/// An RFC 3161 timestamp authority speaking sigstore timestamp-authority's JSON request format
/// (`POST …/api/v1/timestamp`). A timestamp proves the signature existed while the short-lived
/// certificate was valid, without a transparency log.
#[derive(Debug, Clone)]
pub struct TimestampClient {
    url: String,
    http: reqwest::Client,
}

impl TimestampClient {
    /// A client for the full request URL (cosign's `--timestamp-server-url`).
    pub fn new(url: &str) -> Result<Self, SignError> {
        Ok(Self {
            url: url.to_string(),
            http: http_client()?,
        })
    }

    /// A DER `TimeStampResp` over the SHA-256 of `signature` (the raw signature bytes, as
    /// cosign timestamps them).
    pub async fn timestamp(&self, signature: &[u8]) -> Result<Vec<u8>, SignError> {
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SignError::Service {
            service: "timestamp authority",
            url: self.url.clone(),
            reason: "cannot draw a random nonce".into(),
        })?;
        let body = json!({
            "artifactHash": STANDARD.encode(Sha256::digest(signature)),
            "hashAlgorithm": "sha256",
            "certificates": true,
            // JSON numbers above 2^53 lose precision in some servers; 52 bits are plenty.
            "nonce": u64::from_be_bytes(nonce) >> 12,
        });
        let bytes = post_json(&self.http, "timestamp authority", &self.url, &body, None).await?;
        if bytes.first() != Some(&0x30) {
            return Err(SignError::Service {
                service: "timestamp authority",
                url: self.url.clone(),
                reason: "the answer is not a DER timestamp response".into(),
            });
        }
        Ok(bytes)
    }
}

/// The `dev.sigstore.cosign/rfc3161timestamp` annotation value for a DER timestamp response.
pub fn cosign_timestamp_annotation(response: &[u8]) -> String {
    json!({ "SignedRFC3161Timestamp": STANDARD.encode(response) }).to_string()
}

/// A Rekor-compatible transparency log.
#[derive(Debug, Clone)]
pub struct RekorClient {
    url: String,
    http: reqwest::Client,
}

/// A log entry as Rekor returned it: what cosign stores in the `dev.sigstore.cosign/bundle`
/// annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RekorEntry {
    pub uuid: String,
    /// Base64 canonical entry body.
    pub body: String,
    pub integrated_time: i64,
    pub log_index: i64,
    /// Hex SHA-256 of the log's public key.
    pub log_id: String,
    /// Base64 signed entry timestamp (the log's promise to include the entry).
    pub signed_entry_timestamp: String,
    /// The inclusion proof, when the log sent one (bundles v0.2+ need it).
    pub inclusion_proof: Option<InclusionProof>,
}

/// A Merkle inclusion proof as Rekor v1's API returns it (hashes in hex) with its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    pub log_index: i64,
    pub root_hash: String,
    pub tree_size: i64,
    #[serde(default)]
    pub hashes: Vec<String>,
    pub checkpoint: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorResponseEntry {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
    verification: RekorVerification,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorVerification {
    signed_entry_timestamp: String,
    #[serde(default)]
    inclusion_proof: Option<InclusionProof>,
}

impl RekorEntry {
    /// The `dev.sigstore.cosign/bundle` annotation value, field for field as cosign writes it.
    pub fn cosign_bundle_annotation(&self) -> String {
        json!({
            "SignedEntryTimestamp": self.signed_entry_timestamp,
            "Payload": {
                "body": self.body,
                "integratedTime": self.integrated_time,
                "logIndex": self.log_index,
                "logID": self.log_id,
            }
        })
        .to_string()
    }
}

impl RekorClient {
    /// A client for the log at `url` (e.g. [`DEFAULT_REKOR_URL`]).
    pub fn new(url: &str) -> Result<Self, SignError> {
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            http: http_client()?,
        })
    }

    /// Logs a `hashedrekord` entry: SHA-256 of `payload`, `signature`, and the verification
    /// material (`public_pem`: the certificate PEM, or the public key PEM). The returned entry
    /// is checked to be the one submitted.
    pub async fn upload_hashedrekord(
        &self,
        payload: &[u8],
        signature: &[u8],
        public_pem: &str,
    ) -> Result<RekorEntry, SignError> {
        let hash = hex::encode(Sha256::digest(payload));
        let signature_b64 = STANDARD.encode(signature);
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "signature": {
                    "content": signature_b64,
                    "publicKey": { "content": STANDARD.encode(public_pem) },
                },
                "data": { "hash": { "algorithm": "sha256", "value": hash } },
            }
        });
        self.upload(&body, |logged| {
            logged
                .pointer("/spec/signature/content")
                .and_then(|v| v.as_str())
                == Some(signature_b64.as_str())
                && logged
                    .pointer("/spec/data/hash/value")
                    .and_then(|v| v.as_str())
                    == Some(hash.as_str())
        })
        .await
    }

    /// Logs a `dsse` entry for a DSSE envelope (JSON text) signed by `public_pem` (certificate
    /// or public key PEM). The log records the payload's hash and the signatures; the returned
    /// entry is checked to hold this signature over this payload.
    pub async fn upload_dsse(
        &self,
        envelope_json: &str,
        payload: &[u8],
        signature: &[u8],
        public_pem: &str,
    ) -> Result<RekorEntry, SignError> {
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "proposedContent": {
                    "envelope": envelope_json,
                    "verifiers": [STANDARD.encode(public_pem)],
                }
            }
        });
        let payload_hash = hex::encode(Sha256::digest(payload));
        let signature_b64 = STANDARD.encode(signature);
        self.upload(&body, |logged| {
            logged
                .pointer("/spec/payloadHash/value")
                .and_then(|v| v.as_str())
                == Some(payload_hash.as_str())
                && logged
                    .pointer("/spec/signatures")
                    .and_then(|v| v.as_array())
                    .is_some_and(|list| {
                        list.iter().any(|e| {
                            e.get("signature").and_then(|v| v.as_str())
                                == Some(signature_b64.as_str())
                        })
                    })
        })
        .await
    }

    /// POSTs a proposed entry and returns the logged one, which `recorded` must accept (the log
    /// must have recorded what we sent, not some other entry).
    async fn upload(
        &self,
        proposed: &serde_json::Value,
        recorded: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<RekorEntry, SignError> {
        let url = format!("{}/api/v1/log/entries", self.url);
        let bytes = post_json(&self.http, "Rekor", &url, proposed, None).await?;
        let bad = |reason: String| SignError::Service {
            service: "Rekor",
            url: url.clone(),
            reason,
        };
        let entries: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("unexpected response: {e}")))?;
        let (uuid, entry) = entries
            .into_iter()
            .next()
            .ok_or_else(|| bad("response has no log entry".into()))?;
        let entry: RekorResponseEntry =
            serde_json::from_value(entry).map_err(|e| bad(format!("unexpected log entry: {e}")))?;
        let logged: serde_json::Value = STANDARD
            .decode(&entry.body)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| bad("log entry body is not base64 JSON".into()))?;
        if !recorded(&logged) {
            return Err(bad(
                "the returned entry does not hold the submitted signature and hash".into(),
            ));
        }
        Ok(RekorEntry {
            uuid,
            body: entry.body,
            integrated_time: entry.integrated_time,
            log_index: entry.log_index,
            log_id: entry.log_id,
            signed_entry_timestamp: entry.verification.signed_entry_timestamp,
            inclusion_proof: entry.verification.inclusion_proof,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn reads_issuer_and_prefers_email_subject() {
        let claims = token_claims(&jwt(
            r#"{"iss":"https://issuer","sub":"123","email":"a@b.c"}"#,
        ))
        .unwrap();
        assert_eq!(claims.issuer, "https://issuer");
        assert_eq!(claims.subject, "a@b.c");
        let claims = token_claims(&jwt(r#"{"iss":"i","sub":"https://ci/workflow"}"#)).unwrap();
        assert_eq!(claims.subject, "https://ci/workflow");
    }

    #[test]
    fn rejects_tokens_that_are_not_jwts() {
        for (token, want) in [
            ("abc", "three"),
            ("a.!!!.c", "base64url"),
            (&jwt(r#"{"sub":"x"}"#) as &str, "iss"),
        ] {
            let err = token_claims(token).unwrap_err().to_string();
            assert!(err.contains(want), "{token}: {err}");
        }
    }

    #[test]
    fn bundle_annotation_has_cosigns_field_names() {
        let entry = RekorEntry {
            uuid: "u".into(),
            body: "Ym9keQ==".into(),
            integrated_time: 7,
            log_index: 3,
            log_id: "ab".into(),
            signed_entry_timestamp: "c2V0".into(),
            inclusion_proof: None,
        };
        assert_eq!(
            entry.cosign_bundle_annotation(),
            r#"{"SignedEntryTimestamp":"c2V0","Payload":{"body":"Ym9keQ==","integratedTime":7,"logIndex":3,"logID":"ab"}}"#
        );
    }
}
