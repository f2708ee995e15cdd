//! One signature with everything that backs it (key or certificate, log entries, timestamps),
//! whatever format it came in, and the check of that evidence against a compiled policy.

use super::certs::{self, ParsedCert};
use super::crypto::sha256;
use super::error::VerifyError;
use super::keys::{HashAlgorithm, PublicKey};
use super::policy::CompiledPolicy;
use super::timestamp;
use super::tlog::{self, TlogEntry};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// What was signed.
#[derive(Debug, Clone)]
pub(crate) enum SignedContent {
    /// A plain signature over the artifact bytes; `digest` is the SHA-256 the bundle claims.
    Message {
        signature: Vec<u8>,
        claimed_sha256: Option<Vec<u8>>,
    },
    /// A DSSE envelope whose in-toto statement names the artifact as subject.
    Dsse {
        payload_type: String,
        payload: Vec<u8>,
        signatures: Vec<Vec<u8>>,
    },
}

/// Who signed: a certificate (with optional bundle-supplied chain) or a bare key.
#[derive(Debug, Clone)]
pub(crate) enum SignerMaterial {
    Certificate { leaf: Vec<u8>, chain: Vec<Vec<u8>> },
    PublicKey,
}

/// The signed artifact: its bytes, or only its SHA-256 digest (message signatures are then
/// checked prehashed; DSSE statements name the digest anyway).
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    Bytes(&'a [u8]),
    Sha256([u8; 32]),
}

/// A signature and its evidence.
#[derive(Debug, Clone)]
pub(crate) struct Evidence {
    pub content: SignedContent,
    pub material: SignerMaterial,
    pub tlog_entries: Vec<TlogEntry>,
    pub timestamps: Vec<Vec<u8>>,
    /// Bundles v0.2+ must carry inclusion proofs; v0.1 and cosign's annotations inclusion promises.
    pub require_inclusion_proof: bool,
    /// cosign's timestamp annotation may cover the base64 text of the signature rather than its
    /// bytes; both bind the same signature, so either imprint is accepted for such evidence.
    pub timestamp_may_cover_base64: bool,
}

/// Index of a policy authority that this evidence satisfies.
pub type SignerId = usize;

/// The outcome for one piece of evidence.
#[derive(Debug, Clone)]
pub(crate) struct EvidenceOk {
    pub signers: Vec<SignerId>,
    pub description: String,
    pub log_indexes: Vec<i64>,
}

fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

impl Evidence {
    /// The bytes the signing key signed (None: only the artifact digest is known, verify
    /// prehashed), and the signature bytes.
    fn signed_message(&self, artifact: &Artifact<'_>) -> (Option<Vec<u8>>, Vec<Vec<u8>>) {
        match &self.content {
            SignedContent::Message { signature, .. } => (
                match artifact {
                    Artifact::Bytes(b) => Some(b.to_vec()),
                    Artifact::Sha256(_) => None,
                },
                vec![signature.clone()],
            ),
            SignedContent::Dsse {
                payload_type,
                payload,
                signatures,
            } => (Some(pae(payload_type, payload)), signatures.clone()),
        }
    }

    /// Verifies this evidence as a signature over `artifact`.
    pub fn verify(
        &self,
        artifact: &Artifact<'_>,
        policy: &CompiledPolicy,
        now: DateTime<Utc>,
    ) -> Result<EvidenceOk, VerifyError> {
        let artifact_sha256 = match artifact {
            Artifact::Bytes(b) => sha256(b),
            Artifact::Sha256(d) => *d,
        };
        let (message, signatures) = self.signed_message(artifact);
        let signature_ok = |key: &PublicKey, sig: &[u8]| match &message {
            Some(m) => key.verify(m, sig).is_ok(),
            None => key
                .verify_prehashed(HashAlgorithm::Sha256, &artifact_sha256, sig)
                .is_ok(),
        };
        if signatures.is_empty() {
            return Err(VerifyError::Malformed(
                "envelope carries no signature".into(),
            ));
        }

        // 1. The signing key: from a chained certificate or from the policy's keys.
        let mut cert_state = None;
        let mut signers = Vec::new();
        // A certificate whose key is itself one of the policy's keys is judged as that key, as
        // `cosign verify --key` does (the certificate adds nothing the key does not prove).
        let material = match &self.material {
            SignerMaterial::Certificate { leaf, .. }
                if ParsedCert::from_der(leaf)
                    .is_ok_and(|c| policy.keys.iter().any(|(_, k)| *k == c.key)) =>
            {
                &SignerMaterial::PublicKey
            }
            m => m,
        };
        let verifying_keys: Vec<(Option<usize>, PublicKey)> = match material {
            SignerMaterial::Certificate { leaf, chain } => {
                let leaf = ParsedCert::from_der(leaf).map_err(VerifyError::Malformed)?;
                for extra in chain {
                    let c = ParsedCert::from_der(extra).map_err(VerifyError::Malformed)?;
                    if c.self_issued {
                        return Err(VerifyError::UntrustedChain(
                            "the signature's certificate chain includes a root certificate".into(),
                        ));
                    }
                }
                let (ca, ca_chain) = certs::find_issuing_ca(&leaf, &policy.trust_root)?;
                let key = leaf.key.clone();
                cert_state = Some((leaf, ca, ca_chain));
                vec![(None, key)]
            }
            SignerMaterial::PublicKey => policy
                .keys
                .iter()
                .map(|(authority, k)| (Some(*authority), k.clone()))
                .collect(),
        };
        if verifying_keys.is_empty() {
            return Err(VerifyError::KeyMismatch);
        }

        // 2. The signature itself.
        let mut verified_key = None;
        for (index, key) in &verifying_keys {
            if signatures.iter().any(|s| signature_ok(key, s)) {
                if let Some(i) = index {
                    signers.push(*i);
                }
                verified_key.get_or_insert_with(|| key.clone());
            }
        }
        let Some(verified_key) = verified_key else {
            return Err(match material {
                SignerMaterial::PublicKey => VerifyError::KeyMismatch,
                SignerMaterial::Certificate { .. } => VerifyError::BadSignature(
                    "the signature does not verify with the certificate's key".into(),
                ),
            });
        };
        self.check_subject(&artifact_sha256)?;

        // 3. Transparency-log entries, each matching this signature.
        let mut times = Vec::new();
        let mut log_indexes = Vec::new();
        if policy.require_tlog && self.tlog_entries.is_empty() {
            return Err(VerifyError::Tlog(
                "no transparency log entry (tlog is required)".into(),
            ));
        }
        for entry in &self.tlog_entries {
            let verified =
                tlog::verify_entry(entry, &policy.trust_root, self.require_inclusion_proof, now)?;
            self.check_body(&verified.body, &signatures, &verified_key, &artifact_sha256)?;
            if let Some(kv) = &entry.kind_version {
                let kind = verified
                    .body
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let version = verified
                    .body
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if kv.kind != kind || kv.version != version {
                    return Err(VerifyError::Tlog(format!(
                        "entry kindVersion {}/{} does not match its body {kind}/{version}",
                        kv.kind, kv.version
                    )));
                }
            }
            log_indexes.push(verified.log_index);
            times.extend(verified.integrated_time);
        }

        // 4. RFC 3161 timestamps over the signature. One from an authority the trust root does
        //    not know (or outside its window) proves nothing, so it is set aside, as sigstore-go
        //    does; it never counts as a verified time.
        let mut timestamp_errors = Vec::new();
        for token in &self.timestamps {
            let sig = signatures.first().map(Vec::as_slice).unwrap_or_default();
            let mut result = timestamp::verify_timestamp(token, sig, &policy.trust_root);
            if result.is_err() && self.timestamp_may_cover_base64 {
                let text = base64::engine::general_purpose::STANDARD.encode(sig);
                if let Ok(t) =
                    timestamp::verify_timestamp(token, text.as_bytes(), &policy.trust_root)
                {
                    result = Ok(t);
                }
            }
            match result {
                Ok(t) => times.push(t),
                Err(e) => timestamp_errors.push(e.to_string()),
            }
        }

        // 5. Certificates: validity at every verified time, SCT, identity.
        let description;
        if let Some((leaf, ca, ca_chain)) = &cert_state {
            if times.is_empty() {
                if !timestamp_errors.is_empty() {
                    return Err(VerifyError::NoVerifiedTime(format!(
                        "no timestamp could be verified: {}",
                        timestamp_errors.join("; ")
                    )));
                }
                if policy.require_tlog {
                    return Err(VerifyError::NoVerifiedTime(
                        "no transparency-log integrated time or timestamp proves when the certificate was used".into(),
                    ));
                }
                // Without any proof of signing time the certificate must be valid now.
                times.push(now);
            }
            for t in &times {
                if !certs::chain_valid_at(leaf, ca, ca_chain, *t) {
                    return Err(VerifyError::CertificateExpired(format!(
                        "certificate valid {} to {}, signing time {t}",
                        leaf.not_before, leaf.not_after
                    )));
                }
            }
            if policy.require_sct {
                let issuer = ca_chain.first().ok_or_else(|| {
                    VerifyError::UntrustedChain("certificate authority without certificates".into())
                })?;
                certs::verify_sct(leaf, issuer, &policy.trust_root)?;
            }
            let issuer = leaf.oidc_issuer.clone().unwrap_or_default();
            for (authority, id) in &policy.identities {
                if id.issuer.matches(&issuer) && leaf.sans.iter().any(|s| id.subject.matches(s)) {
                    signers.push(*authority);
                }
            }
            if signers.is_empty() {
                let wanted: Vec<String> = policy
                    .identities
                    .iter()
                    .map(|(_, id)| format!("issuer {} subject {}", id.spec.issuer, id.spec.subject))
                    .collect();
                return Err(VerifyError::IdentityMismatch(format!(
                    "certificate has {}; policy wants {}",
                    leaf.describe(),
                    if wanted.is_empty() {
                        "a public key".to_string()
                    } else {
                        wanted.join(" or ")
                    }
                )));
            }
            description = format!("certificate {}", leaf.describe());
        } else {
            description = format!(
                "public key sha256:{}",
                hex::encode(sha256(verified_key.spki_der()))
            );
        }
        signers.sort_unstable();
        signers.dedup();
        Ok(EvidenceOk {
            signers,
            description,
            log_indexes,
        })
    }

    /// For a bundle found where signatures are (an OCI referrer): a DSSE statement must carry
    /// cosign's signing predicate. Any other predicate makes it an attestation, which `cosign
    /// verify` does not count as a signature either (an SBOM or provenance attached by the
    /// same identity says nothing about whether the artifact was released).
    pub(crate) fn check_signature_predicate(&self) -> Result<(), VerifyError> {
        let SignedContent::Dsse { payload, .. } = &self.content else {
            return Ok(());
        };
        let statement: Value = serde_json::from_slice(payload)
            .map_err(|e| VerifyError::Malformed(format!("DSSE payload is not JSON: {e}")))?;
        let predicate_type = statement
            .get("predicateType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if predicate_type == super::bundle::SIGN_PREDICATE_TYPE {
            Ok(())
        } else {
            Err(VerifyError::NotASignature {
                predicate_type: predicate_type.to_string(),
                expected: super::bundle::SIGN_PREDICATE_TYPE.to_string(),
            })
        }
    }

    /// For DSSE: the statement's subject must name the artifact digest; for message signatures the
    /// claimed digest must be the artifact's.
    fn check_subject(&self, artifact_sha256: &[u8; 32]) -> Result<(), VerifyError> {
        let expected = format!("sha256:{}", hex::encode(artifact_sha256));
        match &self.content {
            SignedContent::Message {
                claimed_sha256: Some(claimed),
                ..
            } if claimed != artifact_sha256 => Err(VerifyError::DigestMismatch {
                expected,
                signed: format!("sha256:{}", hex::encode(claimed)),
            }),
            SignedContent::Message { .. } => Ok(()),
            SignedContent::Dsse { payload, .. } => {
                let statement: Value = serde_json::from_slice(payload).map_err(|e| {
                    VerifyError::Malformed(format!("DSSE payload is not JSON: {e}"))
                })?;
                let subjects = statement
                    .get("subject")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let hexd = hex::encode(artifact_sha256);
                let named: Vec<String> = subjects
                    .iter()
                    .filter_map(|s| s.pointer("/digest/sha256").and_then(Value::as_str))
                    .map(|d| format!("sha256:{d}"))
                    .collect();
                if named.iter().any(|d| d[7..] == hexd) {
                    Ok(())
                } else {
                    Err(VerifyError::DigestMismatch {
                        expected,
                        signed: if named.is_empty() {
                            "(no subject)".into()
                        } else {
                            named.join(", ")
                        },
                    })
                }
            }
        }
    }

    /// The log entry must record this very signature, key and content.
    fn check_body(
        &self,
        body: &Value,
        signatures: &[Vec<u8>],
        key: &PublicKey,
        artifact_sha256: &[u8; 32],
    ) -> Result<(), VerifyError> {
        let mismatch = |what: &str| {
            Err(VerifyError::Tlog(format!(
                "log entry does not match the signature: {what}"
            )))
        };
        let std_b64 = |v: Option<&Value>| -> Option<Vec<u8>> {
            v.and_then(Value::as_str)
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        };
        let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
        let version = body
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let null = Value::Null;
        let spec = body.get("spec").unwrap_or(&null);
        let material_ok = |verifier_der: Option<Vec<u8>>| -> bool {
            let Some(der) = verifier_der else {
                return false;
            };
            match &self.material {
                SignerMaterial::Certificate { leaf, .. } => &der == leaf,
                SignerMaterial::PublicKey => der == key.spki_der(),
            }
        };
        // PEM in base64 (v1 entries) → DER of its first block.
        let pem_b64 = |v: Option<&Value>| -> Option<Vec<u8>> {
            let pem = std_b64(v)?;
            let text = String::from_utf8(pem).ok()?;
            super::keys::pem::parse_first(text.as_bytes())
                .ok()
                .map(|block| block.contents)
        };
        // v2 entries: a verifier holds DER, as a certificate or a public key.
        let v2_verifier = |v: Option<&Value>| -> Option<Vec<u8>> {
            let v = v?;
            std_b64(v.pointer("/x509Certificate/rawBytes"))
                .or_else(|| std_b64(v.pointer("/publicKey/rawBytes")))
        };
        // Some entry carries one of the signatures (as `sig` reads it) with this signer's
        // certificate or key (as `verifier` reads it).
        let signed_entry =
            |entries: Option<&Value>,
             sig: &dyn Fn(&Value) -> Option<Vec<u8>>,
             verifier: &dyn Fn(&Value) -> Option<Vec<u8>>| {
                let entries = entries.and_then(Value::as_array).map(Vec::as_slice);
                let ok = entries.unwrap_or_default().iter().any(|e| {
                    sig(e).is_some_and(|s| signatures.contains(&s)) && material_ok(verifier(e))
                });
                if ok {
                    Ok(())
                } else {
                    mismatch("signature or verifier")
                }
            };
        match (kind, version, &self.content) {
            ("hashedrekord", "0.0.1", SignedContent::Message { .. }) => {
                let hash = spec
                    .pointer("/data/hash/value")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if hash != hex::encode(artifact_sha256) {
                    return mismatch("artifact digest");
                }
                let sig = std_b64(spec.pointer("/signature/content"));
                if !sig.is_some_and(|s| signatures.contains(&s)) {
                    return mismatch("signature");
                }
                if !material_ok(pem_b64(spec.pointer("/signature/publicKey/content"))) {
                    return mismatch("certificate or key");
                }
                Ok(())
            }
            ("hashedrekord", "0.0.2", SignedContent::Message { .. }) => {
                let s = spec.get("hashedRekordV002").unwrap_or(&null);
                if std_b64(s.pointer("/data/digest")).as_deref() != Some(&artifact_sha256[..]) {
                    return mismatch("artifact digest");
                }
                if !std_b64(s.pointer("/signature/content"))
                    .is_some_and(|sig| signatures.contains(&sig))
                {
                    return mismatch("signature");
                }
                if !material_ok(v2_verifier(s.pointer("/signature/verifier"))) {
                    return mismatch("certificate or key");
                }
                Ok(())
            }
            ("dsse", "0.0.1", SignedContent::Dsse { payload, .. }) => {
                let hash = spec
                    .pointer("/payloadHash/value")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if hash != hex::encode(sha256(payload)) {
                    return mismatch("payload digest");
                }
                signed_entry(
                    spec.get("signatures"),
                    &|e| std_b64(e.get("signature")),
                    &|e| pem_b64(e.get("verifier")),
                )
            }
            ("dsse", "0.0.2", SignedContent::Dsse { payload, .. }) => {
                let s = spec.get("dsseV002").unwrap_or(&null);
                if std_b64(s.pointer("/payloadHash/digest")).as_deref()
                    != Some(&sha256(payload)[..])
                {
                    return mismatch("payload digest");
                }
                signed_entry(s.get("signatures"), &|e| std_b64(e.get("content")), &|e| {
                    v2_verifier(e.get("verifier"))
                })
            }
            ("intoto", "0.0.2", SignedContent::Dsse { payload, .. }) => {
                let hash = spec
                    .pointer("/content/payloadHash/value")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if hash != hex::encode(sha256(payload)) {
                    return mismatch("payload digest");
                }
                // intoto v0.0.2 stores the signature base64-encoded twice.
                signed_entry(
                    spec.pointer("/content/envelope/signatures"),
                    &|e| {
                        std_b64(e.get("sig")).and_then(|once| {
                            base64::engine::general_purpose::STANDARD.decode(once).ok()
                        })
                    },
                    &|e| pem_b64(e.get("publicKey")),
                )
            }
            _ => Err(VerifyError::Tlog(format!(
                "log entry of kind {kind}/{version} does not record this kind of signature"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dsse(statement: serde_json::Value) -> Evidence {
        Evidence {
            content: SignedContent::Dsse {
                payload_type: "application/vnd.in-toto+json".into(),
                payload: serde_json::to_vec(&statement).unwrap(),
                signatures: vec![vec![0; 64]],
            },
            material: SignerMaterial::PublicKey,
            tlog_entries: Vec::new(),
            timestamps: Vec::new(),
            require_inclusion_proof: false,
            timestamp_may_cover_base64: false,
        }
    }

    #[test]
    fn only_cosigns_signing_predicate_counts_as_a_signature() {
        let signed = dsse(serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "predicateType": "https://sigstore.dev/cosign/sign/v1",
        }));
        assert_eq!(signed.check_signature_predicate(), Ok(()));
        let sbom = dsse(serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "predicateType": "https://spdx.dev/Document",
        }));
        let err = sbom.check_signature_predicate().unwrap_err();
        assert_eq!(err.reason(), "NotASignature");
        assert!(
            err.to_string().contains("\"https://spdx.dev/Document\""),
            "{err}"
        );
        let untyped = dsse(serde_json::json!({"_type": "https://in-toto.io/Statement/v1"}));
        assert_eq!(
            untyped.check_signature_predicate().map_err(|e| e.reason()),
            Err("NotASignature")
        );
        let message = Evidence {
            content: SignedContent::Message {
                signature: vec![0; 64],
                claimed_sha256: None,
            },
            ..sbom
        };
        assert_eq!(message.check_signature_predicate(), Ok(()));
    }
}
