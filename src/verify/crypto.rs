//! Digests and PEM block extraction for the verification path. Public keys and signature checks
//! live in [`super::keys`] (one key type for signing and verifying).

use super::keys::HashAlgorithm;

/// The digest named by an X.509/CMS signature algorithm OID (ECDSA or RSA with SHA-2).
pub(crate) fn hash_of_signature_oid(oid: &str) -> Option<HashAlgorithm> {
    match oid {
        "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" | "2.16.840.1.101.3.4.2.1" => {
            Some(HashAlgorithm::Sha256)
        }
        "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" | "2.16.840.1.101.3.4.2.2" => {
            Some(HashAlgorithm::Sha384)
        }
        "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" | "2.16.840.1.101.3.4.2.3" => {
            Some(HashAlgorithm::Sha512)
        }
        _ => None,
    }
}

/// Computes a digest.
pub(crate) fn digest(hash: HashAlgorithm, data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match hash {
        HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
        HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
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
