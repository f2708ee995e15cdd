//! Private keys for Sprig's `genPrivateKey` and certificate generators: RSA, ECDSA P-256 and
//! Ed25519, generated, read from PEM (PKCS#1, SEC 1, PKCS#8) and written as Go writes them
//! (`RSA PRIVATE KEY`, `EC PRIVATE KEY`, `PRIVATE KEY`), with their public-key info, signature
//! algorithm identifier and signing for certificates. DER for the small fixed structures is
//! written with [`super::der`].

use p256::ecdsa::signature::Signer as _;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer as _};

use super::crypto::pem_decode;
use super::der::{self, Der};
use super::prime_search;

/// A private key of one of the types Sprig generates (DSA aside).
pub(super) enum KeyPair {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ecdsa(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

const OID_RSA: &[u64] = &[1, 2, 840, 113_549, 1, 1, 1];
const OID_EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10_045, 2, 1];
const OID_P256: &[u64] = &[1, 2, 840, 10_045, 3, 1, 7];
const OID_ED25519: &[u64] = &[1, 3, 101, 112];

/// The public exponent Go (and so Sprig) gives every RSA key.
const RSA_PUBLIC_EXPONENT: u32 = 65537;

/// Bits of each prime of an RSA-2048 key.
pub(super) const RSA_2048_PRIME_BITS: u32 = 1024;

/// A random 1024-bit prime for an RSA-2048 key: the first prime upwards from 1024 random bits
/// of the operating system's randomness with the two top bits set, so that any two multiply to
/// a 2048-bit modulus, and `p - 1` coprime to the public exponent (as a key's primes must be).
pub(super) fn generate_rsa_prime() -> Result<rsa::BigUint, String> {
    loop {
        let start = crypto_bigint::U1024::from_be_slice(&random_bytes::<128>()?)
            | crypto_bigint::U1024::ONE.shl_vartime(RSA_2048_PRIME_BITS - 1)
            | crypto_bigint::U1024::ONE.shl_vartime(RSA_2048_PRIME_BITS - 2);
        // None: no prime before 2^1024 (about one start in 10^300); draw again.
        let Some(prime) = prime_search::first_prime_from(&start) else {
            continue;
        };
        let prime = rsa::BigUint::from_bytes_be(prime.to_be_bytes().as_ref());
        // e is prime, so gcd(p - 1, e) = 1 unless e divides p - 1 (one prime in 65536).
        if &prime % RSA_PUBLIC_EXPONENT != rsa::BigUint::from(1u32) {
            return Ok(prime);
        }
    }
}

/// Whether two primes may form a key: FIPS 186-4 (B.3.3) asks |p - q| > 2^(nlen/2 - 100), so
/// that the modulus cannot be factored from its square root. Random primes fail it with
/// probability about 2^-100; the check is cheap.
pub(super) fn primes_far_enough_apart(p: &rsa::BigUint, q: &rsa::BigUint) -> bool {
    let gap = if p > q { p - q } else { q - p };
    gap.bits() > (RSA_2048_PRIME_BITS - 100) as usize
}

fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| format!("reading random bytes: {e}"))?;
    Ok(b)
}

impl KeyPair {
    pub fn generate_rsa(bits: usize) -> Result<KeyPair, String> {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::rsa::KeySize;
        // AWS-LC generates the sizes it supports far faster than the rsa crate; its PKCS#8
        // export is read back so that encoding and signing stay on one key type.
        let size = match bits {
            2048 => Some(KeySize::Rsa2048),
            3072 => Some(KeySize::Rsa3072),
            4096 => Some(KeySize::Rsa4096),
            8192 => Some(KeySize::Rsa8192),
            _ => None,
        };
        if let Some(size) = size {
            let generated = aws_lc_rs::rsa::KeyPair::generate(size)
                .map_err(|_| format!("rsa: could not generate a {bits}-bit key"))?;
            let pkcs8 = generated
                .as_der()
                .map_err(|_| "rsa: could not encode the generated key".to_string())?;
            return rsa::RsaPrivateKey::from_pkcs8_der(pkcs8.as_ref())
                .map(|k| KeyPair::Rsa(Box::new(k)))
                .map_err(|e| e.to_string());
        }
        rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits)
            .map(|k| KeyPair::Rsa(Box::new(k)))
            .map_err(|e| e.to_string())
    }

    /// The RSA key with prime factors `p` and `q` (from [`generate_rsa_prime`]) and Go's public
    /// exponent 65537; the private exponent is computed as NIST SP 800-56B asks (mod λ(n)).
    pub fn rsa_from_primes(p: rsa::BigUint, q: rsa::BigUint) -> Result<KeyPair, String> {
        rsa::RsaPrivateKey::from_p_q(p, q, rsa::BigUint::from(RSA_PUBLIC_EXPONENT))
            .map(|k| KeyPair::Rsa(Box::new(k)))
            .map_err(|e| format!("rsa: could not build a key from its primes: {e}"))
    }

    pub fn generate_ecdsa() -> Result<KeyPair, String> {
        // Rejection sampling: a random scalar is valid unless zero or ≥ the group order.
        for _ in 0..64 {
            if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&random_bytes::<32>()?) {
                return Ok(KeyPair::Ecdsa(k));
            }
        }
        Err("ecdsa: could not generate a key".into())
    }

    pub fn generate_ed25519() -> Result<KeyPair, String> {
        Ok(KeyPair::Ed25519(ed25519_dalek::SigningKey::from_bytes(
            &random_bytes::<32>()?,
        )))
    }

    /// Reads the first PEM block of `pem` as a private key.
    pub fn from_pem(pem: &str) -> Result<KeyPair, String> {
        let (label, der) = pem_decode(pem.as_bytes()).ok_or("unable to decode key")?;
        match label.as_str() {
            "RSA PRIVATE KEY" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
                .map(|k| KeyPair::Rsa(Box::new(k)))
                .map_err(|e| format!("error parsing private key: {e}")),
            "EC PRIVATE KEY" => KeyPair::from_sec1(&der),
            "PRIVATE KEY" => KeyPair::from_pkcs8(&der),
            other => Err(format!("unsupported key type {other:?}")),
        }
    }

    fn from_sec1(der: &[u8]) -> Result<KeyPair, String> {
        let bad = || "error parsing private key: malformed EC private key".to_string();
        let (_, body, _, _) = der::read_tlv(der).ok_or_else(bad)?;
        let (_, _version, _, rest) = der::read_tlv(body).ok_or_else(bad)?;
        let (_, secret, _, _) = der::read_tlv(rest).ok_or_else(bad)?;
        p256::ecdsa::SigningKey::from_slice(secret)
            .map(KeyPair::Ecdsa)
            .map_err(|_| bad())
    }

    fn from_pkcs8(der: &[u8]) -> Result<KeyPair, String> {
        let bad = || "error parsing private key: malformed PKCS#8 key".to_string();
        let (_, body, _, _) = der::read_tlv(der).ok_or_else(bad)?;
        let (_, _version, _, rest) = der::read_tlv(body).ok_or_else(bad)?;
        let (_, alg, _, rest) = der::read_tlv(rest).ok_or_else(bad)?;
        let (_, _, oid, _) = der::read_tlv(alg).ok_or_else(bad)?;
        let (_, inner, _, _) = der::read_tlv(rest).ok_or_else(bad)?;
        if oid == Der::oid(OID_RSA) {
            rsa::RsaPrivateKey::from_pkcs8_der(der)
                .map(|k| KeyPair::Rsa(Box::new(k)))
                .map_err(|e| format!("error parsing private key: {e}"))
        } else if oid == Der::oid(OID_EC_PUBLIC_KEY) {
            KeyPair::from_sec1(inner)
        } else if oid == Der::oid(OID_ED25519) {
            let (_, seed, _, _) = der::read_tlv(inner).ok_or_else(bad)?;
            let seed: [u8; 32] = seed.try_into().map_err(|_| bad())?;
            Ok(KeyPair::Ed25519(ed25519_dalek::SigningKey::from_bytes(
                &seed,
            )))
        } else {
            Err("x509: PKCS#8 wrapping contained private key with unknown algorithm".into())
        }
    }

    fn ec_public_point(k: &p256::ecdsa::SigningKey) -> Vec<u8> {
        k.verifying_key().to_sec1_point(false).as_bytes().to_vec()
    }

    /// The key as Go's Sprig writes it (`pemBlockForKey`).
    pub fn to_pem(&self) -> Result<String, String> {
        Ok(match self {
            KeyPair::Rsa(k) => {
                let der = k.to_pkcs1_der().map_err(|e| e.to_string())?;
                der::pem_encode("RSA PRIVATE KEY", der.as_bytes())
            }
            KeyPair::Ecdsa(k) => {
                let sec1 = Der::seq(&[
                    Der::uint(&[1]),
                    Der::octets(&k.to_bytes()),
                    Der::tlv(0xa0, &Der::oid(OID_P256)),
                    Der::tlv(0xa1, &Der::bit_string(&KeyPair::ec_public_point(k), 0)),
                ]);
                der::pem_encode("EC PRIVATE KEY", &sec1)
            }
            KeyPair::Ed25519(k) => {
                let pkcs8 = Der::seq(&[
                    Der::uint(&[0]),
                    Der::seq(&[Der::oid(OID_ED25519)]),
                    Der::octets(&Der::octets(&k.to_bytes())),
                ]);
                der::pem_encode("PRIVATE KEY", &pkcs8)
            }
        })
    }

    /// SubjectPublicKeyInfo DER of the public half.
    pub fn spki(&self) -> Result<Vec<u8>, String> {
        Ok(match self {
            KeyPair::Rsa(k) => k
                .to_public_key()
                .to_public_key_der()
                .map_err(|e| e.to_string())?
                .as_bytes()
                .to_vec(),
            KeyPair::Ecdsa(k) => Der::seq(&[
                Der::seq(&[Der::oid(OID_EC_PUBLIC_KEY), Der::oid(OID_P256)]),
                Der::bit_string(&KeyPair::ec_public_point(k), 0),
            ]),
            KeyPair::Ed25519(k) => Der::seq(&[
                Der::seq(&[Der::oid(OID_ED25519)]),
                Der::bit_string(&k.verifying_key().to_bytes(), 0),
            ]),
        })
    }

    /// The AlgorithmIdentifier of this key's certificate signatures (Go's defaults).
    pub fn signature_algorithm(&self) -> Vec<u8> {
        match self {
            KeyPair::Rsa(_) => Der::seq(&[
                Der::oid(&[1, 2, 840, 113_549, 1, 1, 11]),
                Der::tlv(0x05, &[]),
            ]),
            KeyPair::Ecdsa(_) => Der::seq(&[Der::oid(&[1, 2, 840, 10_045, 4, 3, 2])]),
            KeyPair::Ed25519(_) => Der::seq(&[Der::oid(OID_ED25519)]),
        }
    }

    /// Signs `message`: PKCS#1 v1.5 SHA-256, ECDSA SHA-256 (DER), or Ed25519.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        Ok(match self {
            KeyPair::Rsa(k) => match sign_rsa_with_aws_lc(k, message) {
                Some(signature) => signature,
                None => rsa_crate_sign(k, message)?,
            },
            KeyPair::Ecdsa(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            KeyPair::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(message).to_bytes().to_vec()
            }
        })
    }
}

/// PKCS#1 v1.5 SHA-256 through AWS-LC: about 0.9 ms against the rsa crate's 1.4 ms for a
/// 2048-bit key, import included. These signatures are deterministic, so the bytes are the
/// same either way. `None` for a key AWS-LC does not take (it refuses sizes below 2048 bits,
/// which a chart may pass to `genCAWithKey`).
fn sign_rsa_with_aws_lc(key: &rsa::RsaPrivateKey, message: &[u8]) -> Option<Vec<u8>> {
    let der = key.to_pkcs1_der().ok()?;
    let signer = aws_lc_rs::rsa::KeyPair::from_der(der.as_bytes()).ok()?;
    let mut signature = vec![0; signer.public_modulus_len()];
    signer
        .sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            message,
            &mut signature,
        )
        .ok()?;
    Some(signature)
}

fn rsa_crate_sign(key: &rsa::RsaPrivateKey, message: &[u8]) -> Result<Vec<u8>, String> {
    Ok(rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone())
        .try_sign(message)
        .map_err(|e| format!("x509: signing certificate: {e}"))?
        .to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_signatures_are_the_same_bytes_from_aws_lc_and_the_rsa_crate() {
        let message = b"tbsCertificate bytes";
        let KeyPair::Rsa(key) =
            KeyPair::rsa_from_primes(generate_rsa_prime().unwrap(), generate_rsa_prime().unwrap())
                .unwrap()
        else {
            unreachable!()
        };
        let fast = sign_rsa_with_aws_lc(&key, message).expect("AWS-LC takes a 2048-bit key");
        assert_eq!(fast, rsa_crate_sign(&key, message).unwrap());
        // A 1024-bit key (as a chart may pass in) is signed by the rsa crate instead.
        let small = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap();
        assert!(sign_rsa_with_aws_lc(&small, message).is_none());
        let signature = KeyPair::Rsa(Box::new(small.clone())).sign(message).unwrap();
        assert_eq!(signature, rsa_crate_sign(&small, message).unwrap());
    }

    #[test]
    fn keys_round_trip_through_pem() {
        for key in [
            KeyPair::generate_ecdsa().unwrap(),
            KeyPair::generate_ed25519().unwrap(),
        ] {
            let pem = key.to_pem().unwrap();
            let again = KeyPair::from_pem(&pem).unwrap();
            assert_eq!(again.spki().unwrap(), key.spki().unwrap());
            assert_eq!(again.to_pem().unwrap(), pem);
        }
    }
}
