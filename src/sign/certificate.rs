//! Signing certificates attached to a signature: a bring-your-own certificate and chain
//! (`--certificate`, `--certificate-chain`) or the chain Fulcio returns. Checked before anything is
//! pushed: every block must be an X.509 certificate and the leaf must certify the signing key,
//! because a signature whose certificate names another key can never verify.

use std::path::Path;

use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

use super::SignError;
use crate::verify::keys::{PublicKey, pem};

const CERTIFICATE_LABEL: &str = "CERTIFICATE";

/// A leaf certificate and the chain above it, as the PEM text stored in cosign's
/// `dev.sigstore.cosign/certificate` and `dev.sigstore.cosign/chain` annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateChain {
    /// The signing certificate, one PEM block.
    pub leaf_pem: String,
    /// Intermediates then root, concatenated PEM; `None` when there is no chain.
    pub chain_pem: Option<String>,
    leaf_spki_der: Vec<u8>,
}

fn parse_certificate(der: &[u8], what: &str) -> Result<Certificate, SignError> {
    Certificate::from_der(der).map_err(|e| SignError::Certificate {
        what: what.to_string(),
        reason: format!("not a DER X.509 certificate: {e}"),
    })
}

/// Every certificate in `text` (PEM blocks, or a single DER certificate), as DER.
fn certificates_in(text: &[u8], what: &str) -> Result<Vec<Vec<u8>>, SignError> {
    if text.first() == Some(&0x30) {
        parse_certificate(text, what)?;
        return Ok(vec![text.to_vec()]);
    }
    let blocks = pem::parse_all(text).map_err(|e| SignError::Certificate {
        what: what.to_string(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.into_iter().enumerate() {
        if block.label != CERTIFICATE_LABEL {
            return Err(SignError::Certificate {
                what: what.to_string(),
                reason: format!(
                    "PEM block {} is \"{}\", not \"CERTIFICATE\"",
                    i + 1,
                    block.label
                ),
            });
        }
        parse_certificate(&block.contents, &format!("{what} (block {})", i + 1))?;
        out.push(block.contents);
    }
    Ok(out)
}

impl CertificateChain {
    /// Builds from the leaf certificate (PEM or DER) and an optional PEM chain.
    pub fn from_pem(leaf: &[u8], chain: Option<&[u8]>) -> Result<Self, SignError> {
        Self::parse(leaf, "the certificate", chain, "the certificate chain")
    }

    /// Reads `--certificate` and `--certificate-chain` files.
    pub fn from_files(leaf: &Path, chain: Option<&Path>) -> Result<Self, SignError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| SignError::Certificate {
                what: path.display().to_string(),
                reason: format!("cannot read: {e}"),
            })
        };
        let leaf_bytes = read(leaf)?;
        let chain_bytes = chain.map(read).transpose()?;
        Self::parse(
            &leaf_bytes,
            &leaf.display().to_string(),
            chain_bytes.as_deref(),
            &chain.map(|p| p.display().to_string()).unwrap_or_default(),
        )
    }

    /// Builds from DER certificates, leaf first (Fulcio's answer).
    pub fn from_der_list(certificates: &[Vec<u8>]) -> Result<Self, SignError> {
        let (leaf, rest) = certificates
            .split_first()
            .ok_or_else(|| SignError::Certificate {
                what: "the certificate chain".into(),
                reason: "is empty".into(),
            })?;
        let chain: String = rest
            .iter()
            .map(|der| pem::encode(CERTIFICATE_LABEL, der))
            .collect();
        Self::parse(
            pem::encode(CERTIFICATE_LABEL, leaf).as_bytes(),
            "the signing certificate",
            (!chain.is_empty()).then_some(chain.as_bytes()),
            "the certificate chain",
        )
    }

    fn parse(
        leaf: &[u8],
        leaf_what: &str,
        chain: Option<&[u8]>,
        chain_what: &str,
    ) -> Result<Self, SignError> {
        let leaves = certificates_in(leaf, leaf_what)?;
        let [leaf_der] = leaves.as_slice() else {
            return Err(SignError::Certificate {
                what: leaf_what.to_string(),
                reason: format!(
                    "holds {} certificates; pass the leaf alone and the rest with \
                     --certificate-chain",
                    leaves.len()
                ),
            });
        };
        let certificate = parse_certificate(leaf_der, leaf_what)?;
        let leaf_spki_der = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| SignError::Certificate {
                what: leaf_what.to_string(),
                reason: format!("cannot encode its public key: {e}"),
            })?;
        let chain_pem = match chain {
            None => None,
            Some(bytes) => Some(
                certificates_in(bytes, chain_what)?
                    .iter()
                    .map(|der| pem::encode(CERTIFICATE_LABEL, der))
                    .collect(),
            ),
        };
        Ok(Self {
            leaf_pem: pem::encode(CERTIFICATE_LABEL, leaf_der),
            chain_pem,
            leaf_spki_der,
        })
    }

    /// The public key the leaf certifies.
    pub fn leaf_public_key(&self) -> Result<PublicKey, SignError> {
        PublicKey::from_spki_der(&self.leaf_spki_der).map_err(|e| SignError::Certificate {
            what: "the signing certificate".into(),
            reason: e.to_string(),
        })
    }

    /// Fails unless the leaf certifies `key`.
    pub fn check_key(&self, key: &PublicKey) -> Result<(), SignError> {
        let certified = self.leaf_public_key()?;
        if &certified != key {
            return Err(SignError::CertificateKeyMismatch {
                certified: certified.key_id(),
                signing: key.key_id(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::keys::{KeyAlgorithm, SigningKey};

    /// A self-signed certificate for a fresh P-256 key, and that key's PKCS#8 PEM.
    fn self_signed() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["signer.test".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn leaf_must_certify_the_signing_key() {
        let (cert, key_pem) = self_signed();
        let chain = CertificateChain::from_pem(cert.as_bytes(), None).unwrap();
        let key = SigningKey::from_pem(key_pem.as_bytes(), || unreachable!()).unwrap();
        chain.check_key(key.public_key()).unwrap();
        let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let err = chain.check_key(other.public_key()).unwrap_err();
        assert!(
            matches!(err, SignError::CertificateKeyMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn der_leaf_and_pem_chain_are_normalised_to_pem() {
        let (cert, _) = self_signed();
        let der = pem::parse_first(cert.as_bytes()).unwrap().contents;
        let (root, _) = self_signed();
        let chain = CertificateChain::from_pem(&der, Some(root.as_bytes())).unwrap();
        assert_eq!(chain.leaf_pem, pem::encode(CERTIFICATE_LABEL, &der));
        assert_eq!(chain.chain_pem.as_deref(), Some(root.as_str()));
    }

    #[test]
    fn bad_certificate_files_say_what_is_wrong() {
        let (a, _) = self_signed();
        let (b, _) = self_signed();
        let two = format!("{a}{b}");
        let err = CertificateChain::from_pem(two.as_bytes(), None).unwrap_err();
        assert!(err.to_string().contains("holds 2 certificates"), "{err}");
        let key = pem::encode("PUBLIC KEY", b"x");
        let err = CertificateChain::from_pem(key.as_bytes(), None).unwrap_err();
        assert!(err.to_string().contains("not \"CERTIFICATE\""), "{err}");
        let junk = pem::encode(CERTIFICATE_LABEL, b"\x30\x03abc");
        let err = CertificateChain::from_pem(junk.as_bytes(), None).unwrap_err();
        assert!(
            err.to_string().contains("not a DER X.509 certificate"),
            "{err}"
        );
        let err = CertificateChain::from_pem(a.as_bytes(), Some(b"no pem here")).unwrap_err();
        assert!(err.to_string().contains("certificate chain"), "{err}");
    }
}
