//! Signing and verification keys in the formats cosign reads and writes, shared by `sign` and
//! `verify`:
//! - private keys: cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` (and the older `ENCRYPTED COSIGN
//!   PRIVATE KEY` label), plain PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`;
//! - public keys: PKIX `PUBLIC KEY` PEM (`cosign.pub`) or SubjectPublicKeyInfo DER.
//!
//! Algorithms: ECDSA P-256, P-384 and P-521 (ASN.1 DER signatures), Ed25519, and RSA (PKCS#1 v1.5
//! with SHA-256 when signing, as cosign does; PKCS#1 v1.5 or PSS when verifying). cosign hashes
//! with SHA-256 whatever the curve, so P-384 keys sign SHA-256 digests too (via the RustCrypto
//! `p384` crate, as aws-lc-rs pairs P-384 only with SHA-384); P-521 keys sign with SHA-512, which
//! `signet verify` accepts but cosign 2.5 does not. Generation: P-256 (cosign's choice), P-384,
//! P-521, Ed25519, RSA-2048. Everything else is aws-lc-rs, the process's single provider.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ParsedPublicKey, RsaKeyPair,
    VerificationAlgorithm,
};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

pub mod envelope;
pub mod pem;

/// PEM label cosign 2.x writes for its password-encrypted private keys.
pub const SIGSTORE_ENCRYPTED_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// PEM label of keys written by cosign before 2.0; same envelope.
pub const COSIGN_ENCRYPTED_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// PEM label of a PKIX (SubjectPublicKeyInfo) public key.
pub const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";
const PKCS8_LABEL: &str = "PRIVATE KEY";
const SEC1_LABEL: &str = "EC PRIVATE KEY";
const PKCS1_LABEL: &str = "RSA PRIVATE KEY";
const PKCS8_ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// Why a key could not be read, written or used. Messages never include key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM file: {0}")]
    Pem(#[from] pem::PemError),
    #[error("PEM block \"{found}\" is not {expected}")]
    UnexpectedLabel {
        found: String,
        expected: &'static str,
    },
    #[error(
        "PKCS#8-encrypted (\"ENCRYPTED PRIVATE KEY\") keys are not supported: decrypt it with \
         openssl or import it with `cosign import-key-pair`"
    )]
    Pkcs8Encrypted,
    #[error("encrypted private key: {0}")]
    Envelope(#[from] envelope::EnvelopeError),
    #[error("cannot read the key password: {0}")]
    Password(String),
    #[error("{what} is not a supported key (ECDSA P-256/P-384/P-521, Ed25519 or RSA)")]
    Unsupported { what: &'static str },
    #[error("generating {0} keys is not supported")]
    CannotGenerate(KeyAlgorithm),
    #[error("{0} keys cannot verify a pre-hashed digest")]
    NoPrehash(KeyAlgorithm),
    #[error("the digest is {got} bytes, {hash} needs {want}")]
    DigestLength {
        hash: HashAlgorithm,
        got: usize,
        want: usize,
    },
    #[error("signing failed with the {0} key")]
    SigningFailed(KeyAlgorithm),
    #[error("signature does not verify with the {algorithm} key {key_id}")]
    BadSignature {
        algorithm: KeyAlgorithm,
        key_id: String,
    },
}

/// The kind of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Ed25519,
    Rsa,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyAlgorithm::EcdsaP256 => "ECDSA P-256",
            KeyAlgorithm::EcdsaP384 => "ECDSA P-384",
            KeyAlgorithm::EcdsaP521 => "ECDSA P-521",
            KeyAlgorithm::Ed25519 => "Ed25519",
            KeyAlgorithm::Rsa => "RSA",
        })
    }
}

/// A message digest algorithm, for verifying signatures over a pre-computed digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    fn len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    fn aws(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            HashAlgorithm::Sha256 => &aws_lc_rs::digest::SHA256,
            HashAlgorithm::Sha384 => &aws_lc_rs::digest::SHA384,
            HashAlgorithm::Sha512 => &aws_lc_rs::digest::SHA512,
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha384 => "SHA-384",
            HashAlgorithm::Sha512 => "SHA-512",
        })
    }
}

/// The verification algorithms tried for a key over a message, in order. cosign signs with
/// SHA-256 whatever the curve, while Sigstore bundles use the curve's own hash, so P-384 and P-521
/// accept both; each is a sound hash for the curve.
fn message_algorithms(algorithm: KeyAlgorithm) -> &'static [&'static dyn VerificationAlgorithm] {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => &[&sig::ECDSA_P256_SHA256_ASN1],
        KeyAlgorithm::EcdsaP384 => &[&sig::ECDSA_P384_SHA384_ASN1, &sig::ECDSA_P384_SHA256_ASN1],
        KeyAlgorithm::EcdsaP521 => &[&sig::ECDSA_P521_SHA512_ASN1, &sig::ECDSA_P521_SHA256_ASN1],
        KeyAlgorithm::Ed25519 => &[&sig::ED25519],
        KeyAlgorithm::Rsa => &[
            &sig::RSA_PKCS1_2048_8192_SHA256,
            &sig::RSA_PSS_2048_8192_SHA256,
        ],
    }
}

/// The verification algorithms for a key over a pre-computed digest.
fn digest_algorithms(
    algorithm: KeyAlgorithm,
    hash: HashAlgorithm,
) -> Result<&'static [&'static dyn VerificationAlgorithm], KeyError> {
    use HashAlgorithm::*;
    use KeyAlgorithm::*;
    Ok(match (algorithm, hash) {
        (EcdsaP256, Sha256) => &[&sig::ECDSA_P256_SHA256_ASN1],
        (EcdsaP256, Sha384) => &[&sig::ECDSA_P256_SHA384_ASN1],
        (EcdsaP256, Sha512) => &[&sig::ECDSA_P256_SHA512_ASN1],
        (EcdsaP384, Sha256) => &[&sig::ECDSA_P384_SHA256_ASN1],
        (EcdsaP384, Sha384) => &[&sig::ECDSA_P384_SHA384_ASN1],
        (EcdsaP384, Sha512) => &[&sig::ECDSA_P384_SHA512_ASN1],
        (EcdsaP521, Sha256) => &[&sig::ECDSA_P521_SHA256_ASN1],
        (EcdsaP521, Sha384) => &[&sig::ECDSA_P521_SHA384_ASN1],
        (EcdsaP521, Sha512) => &[&sig::ECDSA_P521_SHA512_ASN1],
        (Rsa, Sha256) => &[
            &sig::RSA_PKCS1_2048_8192_SHA256,
            &sig::RSA_PSS_2048_8192_SHA256,
        ],
        (Rsa, Sha384) => &[
            &sig::RSA_PKCS1_2048_8192_SHA384,
            &sig::RSA_PSS_2048_8192_SHA384,
        ],
        (Rsa, Sha512) => &[
            &sig::RSA_PKCS1_2048_8192_SHA512,
            &sig::RSA_PSS_2048_8192_SHA512,
        ],
        (Ed25519, _) => return Err(KeyError::NoPrehash(algorithm)),
    })
}

/// A public key that verifies signatures. Cheap to clone; compares by its SubjectPublicKeyInfo.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    spki_der: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.algorithm, self.key_id())
    }
}

impl PublicKey {
    /// Reads the first PEM block of `text`, which must be a PKIX `PUBLIC KEY` (as in `cosign.pub`).
    pub fn from_pem(text: &[u8]) -> Result<Self, KeyError> {
        let block = pem::parse_first(text)?;
        if block.label != PUBLIC_KEY_LABEL {
            return Err(KeyError::UnexpectedLabel {
                found: block.label,
                expected: "a \"PUBLIC KEY\" (PKIX) block",
            });
        }
        Self::from_spki_der(&block.contents)
    }

    /// Reads a DER SubjectPublicKeyInfo (also what a certificate carries). The algorithm comes
    /// from the SPKI's algorithm identifier (and named curve); aws-lc-rs then checks the key itself.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let algorithm = spki_algorithm(der)?;
        let verification: &'static dyn VerificationAlgorithm = match algorithm {
            KeyAlgorithm::EcdsaP256 => &sig::ECDSA_P256_SHA256_ASN1,
            KeyAlgorithm::EcdsaP384 => &sig::ECDSA_P384_SHA384_ASN1,
            KeyAlgorithm::EcdsaP521 => &sig::ECDSA_P521_SHA512_ASN1,
            KeyAlgorithm::Ed25519 => &sig::ED25519,
            KeyAlgorithm::Rsa => &sig::RSA_PKCS1_2048_8192_SHA256,
        };
        ParsedPublicKey::new(verification, der).map_err(|_| KeyError::Unsupported {
            what: "the public key (its key bytes do not match its algorithm)",
        })?;
        // The DER is kept as given: certificate checks hash the issuer's exact SPKI (SCTs), and
        // strict DER parsing above leaves one encoding per key.
        Ok(Self {
            algorithm,
            spki_der: der.to_vec(),
        })
    }

    /// Reads a bare PKCS#1 `RSAPublicKey` (how some Sigstore trusted roots carry CT log keys),
    /// wrapping it in a SubjectPublicKeyInfo.
    pub fn from_pkcs1_rsa_der(der: &[u8]) -> Result<Self, KeyError> {
        use x509_cert::der::Encode as _;
        use x509_cert::der::asn1::{Any, BitString, Null};
        use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
        let not_rsa = || KeyError::Unsupported {
            what: "the PKCS#1 RSA public key",
        };
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: oid::RSA,
                parameters: Some(Any::encode_from(&Null).map_err(|_| not_rsa())?),
            },
            subject_public_key: BitString::from_bytes(der).map_err(|_| not_rsa())?,
        };
        Self::from_spki_der(&spki.to_der().map_err(|_| not_rsa())?)
    }

    /// The kind of key.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key as a `PUBLIC KEY` PEM block, exactly as cosign writes `cosign.pub`.
    pub fn to_pem(&self) -> String {
        pem::encode(PUBLIC_KEY_LABEL, &self.spki_der)
    }

    /// `sha256:<hex>` of the DER SubjectPublicKeyInfo: a stable name for the key in messages.
    pub fn key_id(&self) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(&self.spki_der)))
    }

    /// Verifies `signature` over `message` (cosign: the simple-signing payload bytes).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        let verified = message_algorithms(self.algorithm).iter().any(|algorithm| {
            sig::UnparsedPublicKey::new(*algorithm, &self.spki_der)
                .verify(message, signature)
                .is_ok()
        });
        self.result(verified)
    }

    /// Verifies `signature` over `message` hashed with `hash` (the digest an X.509, SCT or CMS
    /// signature algorithm names), or with the key's usual digests when `hash` is `None`.
    /// Ed25519 always signs the message itself.
    pub fn verify_with_hash(
        &self,
        message: &[u8],
        signature: &[u8],
        hash: Option<HashAlgorithm>,
    ) -> Result<(), KeyError> {
        let algorithms = match (self.algorithm, hash) {
            (KeyAlgorithm::Ed25519, _) | (_, None) => message_algorithms(self.algorithm),
            (algorithm, Some(hash)) => digest_algorithms(algorithm, hash)?,
        };
        let verified = algorithms.iter().any(|algorithm| {
            sig::UnparsedPublicKey::new(*algorithm, &self.spki_der)
                .verify(message, signature)
                .is_ok()
        });
        self.result(verified)
    }

    /// Verifies `signature` over a message known only by its `hash` digest (e.g. a Rekor
    /// hashedrekord entry or a bundle's message digest). Ed25519 cannot do this.
    pub fn verify_prehashed(
        &self,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        let algorithms = digest_algorithms(self.algorithm, hash)?;
        if digest.len() != hash.len() {
            return Err(KeyError::DigestLength {
                hash,
                got: digest.len(),
                want: hash.len(),
            });
        }
        let digest =
            aws_lc_rs::digest::Digest::import_less_safe(digest, hash.aws()).map_err(|_| {
                KeyError::DigestLength {
                    hash,
                    got: digest.len(),
                    want: hash.len(),
                }
            })?;
        let verified = algorithms.iter().any(|algorithm| {
            sig::UnparsedPublicKey::new(*algorithm, &self.spki_der)
                .verify_digest(&digest, signature)
                .is_ok()
        });
        self.result(verified)
    }

    fn result(&self, verified: bool) -> Result<(), KeyError> {
        if verified {
            Ok(())
        } else {
            Err(KeyError::BadSignature {
                algorithm: self.algorithm,
                key_id: self.key_id(),
            })
        }
    }
}

/// Object identifiers of the public-key algorithms and curves a SubjectPublicKeyInfo may name.
mod oid {
    use x509_cert::der::oid::ObjectIdentifier;
    pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    pub const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    pub const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
    pub const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
    pub const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
    pub const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
}

/// The key algorithm a DER SubjectPublicKeyInfo names. Anything that is not a well-formed SPKI
/// (a bare curve point, a raw Ed25519 key) is refused.
fn spki_algorithm(der: &[u8]) -> Result<KeyAlgorithm, KeyError> {
    use x509_cert::der::Decode as _;
    use x509_cert::der::oid::ObjectIdentifier;
    let spki = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|_| {
        KeyError::Unsupported {
            what: "a public key that is not a DER SubjectPublicKeyInfo",
        }
    })?;
    let algorithm = spki.algorithm.oid;
    if algorithm == oid::ED25519 {
        return Ok(KeyAlgorithm::Ed25519);
    }
    if algorithm == oid::RSA {
        return Ok(KeyAlgorithm::Rsa);
    }
    if algorithm != oid::EC_PUBLIC_KEY {
        return Err(KeyError::Unsupported {
            what: "the public key algorithm",
        });
    }
    let curve = spki
        .algorithm
        .parameters
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    match curve {
        Some(c) if c == oid::P256 => Ok(KeyAlgorithm::EcdsaP256),
        Some(c) if c == oid::P384 => Ok(KeyAlgorithm::EcdsaP384),
        Some(c) if c == oid::P521 => Ok(KeyAlgorithm::EcdsaP521),
        Some(_) => Err(KeyError::Unsupported {
            what: "the elliptic curve of the public key",
        }),
        None => Err(KeyError::Unsupported {
            what: "an EC public key without a named curve",
        }),
    }
}

enum Signer {
    Ecdsa(EcdsaKeyPair),
    /// P-384 over a SHA-256 digest, as cosign signs and verifies P-384 keys.
    EcdsaP384Sha256(Box<p384::ecdsa::SigningKey>),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A private key that signs the way cosign does. Its Debug output never shows key material.
pub struct SigningKey {
    signer: Signer,
    /// PKCS#8 v1 DER, what cosign seals inside `cosign.key`.
    pkcs8_der: Zeroizing<Vec<u8>>,
    public: PublicKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?})", self.public)
    }
}

fn ecdsa_signing(algorithm: KeyAlgorithm) -> Option<&'static sig::EcdsaSigningAlgorithm> {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => Some(&sig::ECDSA_P256_SHA256_ASN1_SIGNING),
        KeyAlgorithm::EcdsaP384 => Some(&sig::ECDSA_P384_SHA384_ASN1_SIGNING),
        KeyAlgorithm::EcdsaP521 => Some(&sig::ECDSA_P521_SHA512_ASN1_SIGNING),
        KeyAlgorithm::Ed25519 | KeyAlgorithm::Rsa => None,
    }
}

const CURVES: [KeyAlgorithm; 3] = [
    KeyAlgorithm::EcdsaP256,
    KeyAlgorithm::EcdsaP384,
    KeyAlgorithm::EcdsaP521,
];

impl SigningKey {
    /// Generates a fresh key. cosign's `generate-key-pair` makes ECDSA P-256.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        let pkcs8 = match algorithm {
            KeyAlgorithm::Ed25519 => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| Zeroizing::new(d.as_ref().to_vec()))
                .map_err(|_| KeyError::CannotGenerate(algorithm))?,
            KeyAlgorithm::Rsa => {
                aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .and_then(|k| k.as_der())
                    .map(|d| Zeroizing::new(d.as_ref().to_vec()))
                    .map_err(|_| KeyError::CannotGenerate(algorithm))?
            }
            ec => {
                let signing = ecdsa_signing(ec).ok_or(KeyError::CannotGenerate(algorithm))?;
                EcdsaKeyPair::generate(signing)
                    .and_then(|k| k.to_pkcs8v1())
                    .map(|d| Zeroizing::new(d.as_ref().to_vec()))
                    .map_err(|_| KeyError::CannotGenerate(algorithm))?
            }
        };
        Self::from_pkcs8_der(&pkcs8)
    }

    /// Reads the first PEM block of `text`. `password` is called only when the key is encrypted
    /// (cosign's format); the CLI passes one that reads `COSIGN_PASSWORD` or prompts.
    pub fn from_pem<F>(text: &[u8], password: F) -> Result<Self, KeyError>
    where
        F: FnOnce() -> Result<Zeroizing<Vec<u8>>, KeyError>,
    {
        let block = pem::parse_first(text)?;
        match block.label.as_str() {
            SIGSTORE_ENCRYPTED_LABEL | COSIGN_ENCRYPTED_LABEL => {
                let password = password()?;
                let der = envelope::open(&block.contents, &password)?;
                Self::from_pkcs8_der(&der)
            }
            PKCS8_LABEL => Self::from_pkcs8_der(&Zeroizing::new(block.contents)),
            SEC1_LABEL => Self::from_sec1_der(&Zeroizing::new(block.contents)),
            PKCS1_LABEL => {
                let der = Zeroizing::new(block.contents);
                let pair = RsaKeyPair::from_der(&der).map_err(|_| KeyError::Unsupported {
                    what: "the \"RSA PRIVATE KEY\" block",
                })?;
                Self::from_rsa(pair)
            }
            PKCS8_ENCRYPTED_LABEL => Err(KeyError::Pkcs8Encrypted),
            _ => Err(KeyError::UnexpectedLabel {
                found: block.label.clone(),
                expected: "a private key (\"ENCRYPTED SIGSTORE PRIVATE KEY\", \"PRIVATE KEY\", \
                           \"EC PRIVATE KEY\" or \"RSA PRIVATE KEY\")",
            }),
        }
    }

    /// Reads an unencrypted PKCS#8 DER private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        for algorithm in CURVES {
            if let Some(signing) = ecdsa_signing(algorithm)
                && let Ok(pair) = EcdsaKeyPair::from_pkcs8(signing, der)
            {
                return Self::from_ecdsa(algorithm, pair);
            }
        }
        if let Ok(pair) = Ed25519KeyPair::from_pkcs8(der) {
            let pkcs8 = pair.to_pkcs8v1().map_err(|_| KeyError::Unsupported {
                what: "the Ed25519 private key",
            })?;
            let public = PublicKey::from_spki_der(
                pair.public_key()
                    .as_der()
                    .map_err(|_| KeyError::Unsupported {
                        what: "the Ed25519 public key",
                    })?
                    .as_ref(),
            )?;
            return Ok(Self {
                signer: Signer::Ed25519(pair),
                pkcs8_der: Zeroizing::new(pkcs8.as_ref().to_vec()),
                public,
            });
        }
        if let Ok(pair) = RsaKeyPair::from_pkcs8(der) {
            return Self::from_rsa(pair);
        }
        Err(KeyError::Unsupported {
            what: "the PKCS#8 private key",
        })
    }

    /// Reads a SEC1 (`EC PRIVATE KEY`, RFC 5915) DER private key.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        for algorithm in CURVES {
            if let Some(signing) = ecdsa_signing(algorithm)
                && let Ok(pair) = EcdsaKeyPair::from_private_key_der(signing, der)
            {
                return Self::from_ecdsa(algorithm, pair);
            }
        }
        Err(KeyError::Unsupported {
            what: "the \"EC PRIVATE KEY\" block",
        })
    }

    fn from_ecdsa(algorithm: KeyAlgorithm, pair: EcdsaKeyPair) -> Result<Self, KeyError> {
        let unsupported = || KeyError::Unsupported {
            what: "the ECDSA private key",
        };
        let pkcs8 = pair.to_pkcs8v1().map_err(|_| unsupported())?;
        let spki = pair.public_key().as_der().map_err(|_| unsupported())?;
        let public = PublicKey {
            algorithm,
            spki_der: spki.as_ref().to_vec(),
        };
        let signer = if algorithm == KeyAlgorithm::EcdsaP384 {
            use p384::pkcs8::DecodePrivateKey as _;
            let key = p384::ecdsa::SigningKey::from_pkcs8_der(pkcs8.as_ref())
                .map_err(|_| unsupported())?;
            Signer::EcdsaP384Sha256(Box::new(key))
        } else {
            Signer::Ecdsa(pair)
        };
        Ok(Self {
            signer,
            pkcs8_der: Zeroizing::new(pkcs8.as_ref().to_vec()),
            public,
        })
    }

    fn from_rsa(pair: RsaKeyPair) -> Result<Self, KeyError> {
        let unsupported = || KeyError::Unsupported {
            what: "the RSA private key",
        };
        let pkcs8 = pair.as_der().map_err(|_| unsupported())?;
        let spki = pair.public_key().as_der().map_err(|_| unsupported())?;
        let public = PublicKey {
            algorithm: KeyAlgorithm::Rsa,
            spki_der: spki.as_ref().to_vec(),
        };
        Ok(Self {
            signer: Signer::Rsa(pair),
            pkcs8_der: Zeroizing::new(pkcs8.as_ref().to_vec()),
            public,
        })
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The kind of key.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.public.algorithm
    }

    /// Signs `message` as cosign does: ECDSA with SHA-256 (P-521: SHA-512) and an ASN.1 DER
    /// signature, Ed25519 over the message itself, RSA PKCS#1 v1.5 with SHA-256.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = || KeyError::SigningFailed(self.algorithm());
        match &self.signer {
            Signer::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| failed()),
            Signer::EcdsaP384Sha256(key) => {
                use p384::ecdsa::signature::hazmat::PrehashSigner as _;
                let digest = Sha256::digest(message);
                let signature: p384::ecdsa::DerSignature =
                    key.sign_prehash(&digest).map_err(|_| failed())?;
                Ok(signature.as_bytes().to_vec())
            }
            Signer::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Signer::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &sig::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| failed())?;
                Ok(signature)
            }
        }
    }

    /// The key sealed under `password` in cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` format
    /// (what `cosign generate-key-pair` writes to `cosign.key`).
    pub fn to_encrypted_pem(&self, password: &[u8]) -> Result<Zeroizing<String>, KeyError> {
        let sealed = envelope::seal(&self.pkcs8_der, password)?;
        Ok(Zeroizing::new(pem::encode(
            SIGSTORE_ENCRYPTED_LABEL,
            &sealed,
        )))
    }

    /// The key as an unencrypted PKCS#8 `PRIVATE KEY` PEM block.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(pem::encode(PKCS8_LABEL, &self.pkcs8_der))
    }
}

/// Whether the first PEM block of `text` is a password-encrypted cosign key, so a caller can
/// decide up front whether it will need a password.
pub fn is_encrypted_cosign_key(text: &[u8]) -> bool {
    pem::parse_first(text)
        .map(|b| b.label == SIGSTORE_ENCRYPTED_LABEL || b.label == COSIGN_ENCRYPTED_LABEL)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_password() -> Result<Zeroizing<Vec<u8>>, KeyError> {
        Err(KeyError::Password("not expected".into()))
    }

    fn password(pw: &str) -> impl FnOnce() -> Result<Zeroizing<Vec<u8>>, KeyError> + '_ {
        move || Ok(Zeroizing::new(pw.as_bytes().to_vec()))
    }

    /// Written by `cosign generate-key-pair` (2.5) with COSIGN_PASSWORD=pw.
    const COSIGN_KEY: &str = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6
OCwicCI6MX0sInNhbHQiOiJ5b3VnLytTRFZ0UmNRbHNUdlJhN3lPbERKdFJ0Qk00
SEp4L3FSdHVyUmhjPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJLeWIrNWpIMVhuaEhWSGx0MExKQmZ3RUEwNlEyKzFhVyJ9LCJj
aXBoZXJ0ZXh0IjoiUkpnMmg5S2VVZDl4RTJEOXBoaTJHelpFamhHcWJjODc4OVFR
dThpWk1HOVBzTUk1T1QzdHVPRjhZNktyMG8vZmtNcGd4SzZWU243czBpQ1pqVmox
T2c3dGgzVG41YkNQVFd4MTdOekEreCtXcGp3VFp2V1BjUWovMys3WWJWL2tLTnJ4
cTIwelFrTURoemN1QWlmR0tia29SUFNJajUrbXhIY0k5eE94RWNuRVB1dzV1WFM3
SDJUaUx4VUZ5MlBpMUxOakZkRm5rZlkrZkE9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
";
    const COSIGN_PUB: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEO7IzfCZ2BPDTwU13x7yipxeSnHib
SS3yfKdH+kFO0t9W30k2wSnWNdcoUiIYUnlMe1KdDzXl9SY3K1nwo0Fblg==
-----END PUBLIC KEY-----
";
    /// A `cosign sign --key` signature (from the `.sig` layer annotation) over this payload.
    const COSIGN_PAYLOAD: &str = r#"{"critical":{"identity":{"docker-reference":"127.0.0.1:5077/test/art"},"image":{"docker-manifest-digest":"sha256:0f8d239137a54194a6ca0d0b4b146953854f0738d5815b3c77ae16391ba5f202"},"type":"cosign container image signature"},"optional":null}"#;
    const COSIGN_SIGNATURE: &str = "MEQCICdArTxQctjYQVs/5pT5Nd2MOQcVn1adgBg4tOm8NuTbAiArpprQOvtqEHfuDf7P42CBQSnLNLk0V5Xy5yARVcb1XQ==";

    #[test]
    fn reads_cosign_generated_keys_and_verifies_cosign_signatures() {
        use base64::Engine as _;
        let key = SigningKey::from_pem(COSIGN_KEY.as_bytes(), password("pw")).unwrap();
        let public = PublicKey::from_pem(COSIGN_PUB.as_bytes()).unwrap();
        assert_eq!(key.public_key(), &public);
        assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256);
        // cosign.pub is byte-identical to what we write for the same key.
        assert_eq!(public.to_pem(), COSIGN_PUB);
        let signature = base64::engine::general_purpose::STANDARD
            .decode(COSIGN_SIGNATURE)
            .unwrap();
        public
            .verify(COSIGN_PAYLOAD.as_bytes(), &signature)
            .unwrap();
        let mut tampered = COSIGN_PAYLOAD.as_bytes().to_vec();
        tampered[20] ^= 1;
        assert!(public.verify(&tampered, &signature).is_err());
    }

    #[test]
    fn every_generated_algorithm_signs_and_verifies() {
        for algorithm in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::EcdsaP521,
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::Rsa,
        ] {
            let key = SigningKey::generate(algorithm).unwrap();
            assert_eq!(key.algorithm(), algorithm);
            let signature = key.sign(b"payload").unwrap();
            key.public_key().verify(b"payload", &signature).unwrap();
            let err = key.public_key().verify(b"other", &signature).unwrap_err();
            assert!(
                matches!(err, KeyError::BadSignature { .. }),
                "{algorithm}: {err}"
            );
            let public = PublicKey::from_pem(key.public_key().to_pem().as_bytes()).unwrap();
            assert_eq!(&public, key.public_key());
        }
    }

    #[test]
    fn p384_signs_sha256_digests_like_cosign() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
        let signature = key.sign(b"payload").unwrap();
        key.public_key()
            .verify_prehashed(
                HashAlgorithm::Sha256,
                &Sha256::digest(b"payload"),
                &signature,
            )
            .unwrap();
    }

    #[test]
    fn encrypted_pem_round_trips_and_needs_the_password() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pem = key.to_encrypted_pem(b"hunter2").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert!(is_encrypted_cosign_key(pem.as_bytes()));
        let again = SigningKey::from_pem(pem.as_bytes(), password("hunter2")).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let err = SigningKey::from_pem(pem.as_bytes(), password("nope")).unwrap_err();
        assert!(err.to_string().contains("wrong password"), "{err}");
    }

    #[test]
    fn plain_pkcs8_and_sec1_keys_load_without_a_password() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
        let again = SigningKey::from_pem(key.to_pkcs8_pem().as_bytes(), no_password).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert!(!is_encrypted_cosign_key(key.to_pkcs8_pem().as_bytes()));

        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let Signer::Ecdsa(pair) = &key.signer else {
            panic!("expected ECDSA");
        };
        let sec1 = pair.private_key().as_der().unwrap();
        let sec1_pem = pem::encode(SEC1_LABEL, sec1.as_ref());
        let from_sec1 = SigningKey::from_pem(sec1_pem.as_bytes(), no_password).unwrap();
        assert_eq!(from_sec1.public_key(), key.public_key());
    }

    #[test]
    fn prehashed_verification_matches_message_verification() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let signature = key.sign(b"artifact").unwrap();
        let digest = Sha256::digest(b"artifact");
        key.public_key()
            .verify_prehashed(HashAlgorithm::Sha256, &digest, &signature)
            .unwrap();
        assert!(
            key.public_key()
                .verify_prehashed(HashAlgorithm::Sha256, &[0u8; 32], &signature)
                .is_err()
        );
        assert!(matches!(
            key.public_key()
                .verify_prehashed(HashAlgorithm::Sha256, &[0u8; 5], &signature),
            Err(KeyError::DigestLength { .. })
        ));
    }

    #[test]
    fn verify_with_hash_uses_the_named_digest() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let signature = key.sign(b"tbs").unwrap();
        let public = key.public_key();
        public
            .verify_with_hash(b"tbs", &signature, Some(HashAlgorithm::Sha256))
            .unwrap();
        public.verify_with_hash(b"tbs", &signature, None).unwrap();
        // The same signature read as ECDSA with SHA-384 must not verify.
        assert!(
            public
                .verify_with_hash(b"tbs", &signature, Some(HashAlgorithm::Sha384))
                .is_err()
        );
        // Ed25519 ignores the digest: it always signs the message itself.
        let ed = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let signature = ed.sign(b"tbs").unwrap();
        ed.public_key()
            .verify_with_hash(b"tbs", &signature, Some(HashAlgorithm::Sha512))
            .unwrap();
    }

    #[test]
    fn pkcs1_rsa_keys_are_wrapped_into_the_same_key() {
        use x509_cert::der::Decode as _;
        let key = SigningKey::generate(KeyAlgorithm::Rsa).unwrap();
        let spki = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(key.public_key().spki_der())
            .unwrap();
        let pkcs1 = spki.subject_public_key.raw_bytes();
        let wrapped = PublicKey::from_pkcs1_rsa_der(pkcs1).unwrap();
        assert_eq!(wrapped.algorithm(), KeyAlgorithm::Rsa);
        let signature = key.sign(b"checkpoint").unwrap();
        wrapped.verify(b"checkpoint", &signature).unwrap();
        assert!(PublicKey::from_pkcs1_rsa_der(b"not a key").is_err());
    }

    #[test]
    fn the_algorithm_comes_from_the_spki_and_must_match_the_key() {
        use x509_cert::der::asn1::{Any, BitString};
        use x509_cert::der::{Decode as _, Encode as _};
        use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
        let p384 = SigningKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
        let parsed = PublicKey::from_spki_der(p384.public_key().spki_der()).unwrap();
        assert_eq!(parsed.algorithm(), KeyAlgorithm::EcdsaP384);

        // A P-256 point under another curve's name: P-384 (mismatch) or prime239v1 (unsupported).
        let p256 = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let original = SubjectPublicKeyInfoOwned::from_der(p256.public_key().spki_der()).unwrap();
        let point = original.subject_public_key.raw_bytes().to_vec();
        let prime239v1 = x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.4");
        for curve in [oid::P384, prime239v1] {
            let relabelled = SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: oid::EC_PUBLIC_KEY,
                    parameters: Some(Any::encode_from(&curve).unwrap()),
                },
                subject_public_key: BitString::from_bytes(&point).unwrap(),
            };
            let err = PublicKey::from_spki_der(&relabelled.to_der().unwrap()).unwrap_err();
            assert!(
                matches!(err, KeyError::Unsupported { .. }),
                "{curve}: {err}"
            );
        }
        // A bare curve point is not a SubjectPublicKeyInfo.
        let err = PublicKey::from_spki_der(&point).unwrap_err();
        assert!(err.to_string().contains("SubjectPublicKeyInfo"), "{err}");
    }

    #[test]
    fn bad_inputs_name_what_is_wrong() {
        let err =
            PublicKey::from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err();
        assert!(err.to_string().contains("\"CERTIFICATE\""), "{err}");
        let err = PublicKey::from_pem(&pem::encode(PUBLIC_KEY_LABEL, b"\x30\x03abc").into_bytes())
            .unwrap_err();
        assert!(matches!(err, KeyError::Unsupported { .. }), "{err}");
        let err = SigningKey::from_pem(
            pem::encode(PKCS8_ENCRYPTED_LABEL, b"x").as_bytes(),
            no_password,
        )
        .unwrap_err();
        assert!(matches!(err, KeyError::Pkcs8Encrypted));
        let err = SigningKey::from_pem(b"garbage", no_password).unwrap_err();
        assert!(err.to_string().contains("not a PEM file"), "{err}");
    }
}
