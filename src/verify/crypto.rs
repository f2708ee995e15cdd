//! Public-key signature checks over PKIX (SPKI DER) keys with aws-lc-rs, the crypto rustls uses.
//! Supports ECDSA P-256/P-384/P-521, Ed25519 and RSA (PKCS#1 v1.5 and PSS); the digest is chosen
//! from the key (or the X.509 signature algorithm when checking certificates).

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_cert::der::{Decode, oid::ObjectIdentifier};
use x509_cert::spki::SubjectPublicKeyInfoRef;

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";
const P521: &str = "1.3.132.0.35";
const ED25519: &str = "1.3.101.112";
const RSA: &str = "1.2.840.113549.1.1.1";

/// Digest used with a signature, when the caller knows it (X.509 signature algorithms do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// A parsed public key: algorithm family plus the raw key bytes aws-lc-rs expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicKey {
    kind: KeyKind,
    raw: Vec<u8>,
    /// The SubjectPublicKeyInfo DER, used to compare keys and compute key ids.
    pub spki_der: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    P256,
    P384,
    P521,
    Ed25519,
    Rsa,
}

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, String> {
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| format!("not a PKIX public key: {e}"))?;
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or("public key bit string has unused bits")?
            .to_vec();
        let alg = spki.algorithm.oid.to_string();
        let kind = match alg.as_str() {
            EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                    .map(|o| o.to_string())
                    .ok_or("EC public key without a named curve")?;
                match curve.as_str() {
                    P256 => KeyKind::P256,
                    P384 => KeyKind::P384,
                    P521 => KeyKind::P521,
                    other => return Err(format!("unsupported elliptic curve {other}")),
                }
            }
            ED25519 => KeyKind::Ed25519,
            RSA => KeyKind::Rsa,
            other => return Err(format!("unsupported public key algorithm {other}")),
        };
        Ok(PublicKey {
            kind,
            raw,
            spki_der: der.to_vec(),
        })
    }

    /// Parses a PEM "PUBLIC KEY" (PKIX) block.
    pub fn from_pem(pem_text: &str) -> Result<Self, String> {
        let der = pem_der(pem_text, "PUBLIC KEY")?;
        Self::from_spki_der(&der)
    }

    /// A bare PKCS#1 RSAPublicKey (as some trusted roots carry for CT logs).
    pub fn from_pkcs1_rsa(der: &[u8]) -> Self {
        PublicKey {
            kind: KeyKind::Rsa,
            raw: der.to_vec(),
            spki_der: der.to_vec(),
        }
    }

    /// Verifies `sig` over `msg`, hashing with `hash` or the key's natural digest.
    pub fn verify(&self, msg: &[u8], sig: &[u8], hash: Option<Hash>) -> Result<(), String> {
        let algs: Vec<&'static dyn VerificationAlgorithm> = match (self.kind, hash) {
            (KeyKind::P256, None | Some(Hash::Sha256)) => vec![&signature::ECDSA_P256_SHA256_ASN1],
            (KeyKind::P256, Some(Hash::Sha384)) => vec![&signature::ECDSA_P256_SHA384_ASN1],
            (KeyKind::P256, Some(Hash::Sha512)) => vec![&signature::ECDSA_P256_SHA512_ASN1],
            (KeyKind::P384, None | Some(Hash::Sha384)) => vec![&signature::ECDSA_P384_SHA384_ASN1],
            (KeyKind::P384, Some(Hash::Sha256)) => vec![&signature::ECDSA_P384_SHA256_ASN1],
            (KeyKind::P384, Some(Hash::Sha512)) => vec![&signature::ECDSA_P384_SHA512_ASN1],
            (KeyKind::P521, None | Some(Hash::Sha512)) => vec![&signature::ECDSA_P521_SHA512_ASN1],
            (KeyKind::P521, Some(Hash::Sha256)) => vec![&signature::ECDSA_P521_SHA256_ASN1],
            (KeyKind::P521, Some(Hash::Sha384)) => vec![&signature::ECDSA_P521_SHA384_ASN1],
            (KeyKind::Ed25519, _) => vec![&signature::ED25519],
            (KeyKind::Rsa, None | Some(Hash::Sha256)) => vec![
                &signature::RSA_PKCS1_2048_8192_SHA256,
                &signature::RSA_PSS_2048_8192_SHA256,
            ],
            (KeyKind::Rsa, Some(Hash::Sha384)) => vec![
                &signature::RSA_PKCS1_2048_8192_SHA384,
                &signature::RSA_PSS_2048_8192_SHA384,
            ],
            (KeyKind::Rsa, Some(Hash::Sha512)) => vec![
                &signature::RSA_PKCS1_2048_8192_SHA512,
                &signature::RSA_PSS_2048_8192_SHA512,
            ],
        };
        if algs.iter().any(|alg| {
            UnparsedPublicKey::new(*alg, &self.raw)
                .verify(msg, sig)
                .is_ok()
        }) {
            Ok(())
        } else {
            Err("signature does not verify with the public key".into())
        }
    }
}

impl PublicKey {
    /// Verifies `sig` over a message known only by its SHA-256 digest (not possible for Ed25519).
    pub fn verify_prehashed_sha256(&self, digest: &[u8; 32], sig: &[u8]) -> Result<(), String> {
        let algs: Vec<&'static signature::EcdsaVerificationAlgorithm> = match self.kind {
            KeyKind::P256 => vec![&signature::ECDSA_P256_SHA256_ASN1],
            KeyKind::P384 => vec![&signature::ECDSA_P384_SHA256_ASN1],
            KeyKind::P521 => vec![&signature::ECDSA_P521_SHA256_ASN1],
            KeyKind::Ed25519 | KeyKind::Rsa => {
                return Err("this key type cannot verify a signature from a digest alone".into());
            }
        };
        let digest =
            aws_lc_rs::digest::Digest::import_less_safe(digest, &aws_lc_rs::digest::SHA256)
                .map_err(|_| "bad SHA-256 digest".to_string())?;
        if algs.iter().any(|alg| {
            UnparsedPublicKey::new(*alg, &self.raw)
                .verify_digest(&digest, sig)
                .is_ok()
        }) {
            Ok(())
        } else {
            Err("signature does not verify with the public key".into())
        }
    }
}

/// The digest named by an X.509/CMS signature algorithm OID (ECDSA or RSA with SHA-2).
pub(crate) fn hash_of_signature_oid(oid: &str) -> Option<Hash> {
    match oid {
        "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" | "2.16.840.1.101.3.4.2.1" => {
            Some(Hash::Sha256)
        }
        "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" | "2.16.840.1.101.3.4.2.2" => {
            Some(Hash::Sha384)
        }
        "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" | "2.16.840.1.101.3.4.2.3" => {
            Some(Hash::Sha512)
        }
        _ => None,
    }
}

/// Computes a digest.
pub(crate) fn digest(hash: Hash, data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match hash {
        Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
        Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
        Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
    }
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// Extracts the DER of the first PEM block with the given label.
pub(crate) fn pem_der(text: &str, label: &str) -> Result<Vec<u8>, String> {
    pem_blocks(text)
        .into_iter()
        .find(|(l, _)| l == label)
        .map(|(_, der)| der)
        .ok_or_else(|| format!("no PEM block labelled {label:?}"))
}

/// All PEM blocks of a text as (label, DER); blocks with bad base64 are skipped.
pub(crate) fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    use base64::Engine;
    let mut out = Vec::new();
    let mut label: Option<String> = None;
    let mut body = String::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            label = Some(rest.trim_end_matches('-').to_string());
            body.clear();
        } else if line.starts_with("-----END ") {
            if let Some(l) = label.take()
                && let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&body)
            {
                out.push((l, der));
            }
        } else if label.is_some() {
            body.push_str(line);
        }
    }
    out
}
