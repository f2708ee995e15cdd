//! Digests for the verification path: the hash an X.509/CMS signature algorithm names, and
//! SHA-2 digests. Public keys and signature checks live in [`super::keys`], PEM in
//! [`super::keys::pem`].

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
