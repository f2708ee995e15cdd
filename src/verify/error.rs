//! Why a verification failed: one variant per fail-closed case, each with a stable machine-readable
//! [`VerifyError::reason`] that the controller puts into status conditions and tests assert on.

use thiserror::Error;

/// A verification failure. Every variant means "not verified"; none is ever treated as a pass.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// No signature of any kind was found for the digest.
    #[error(
        "no signatures found for {digest}: sign it (`signet sign`, `cosign sign`), or check that \
         the referrers mode looks where the signatures were stored (`.sig` tag or OCI 1.1 referrers)"
    )]
    NoSignatures { digest: String },
    /// The policy itself is unusable (no keys and no identities, bad regexp, bad key, bad trust root).
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    /// The trusted root file could not be read or is malformed.
    #[error("invalid trusted root: {0}")]
    InvalidTrustRoot(String),
    /// A signature manifest, layer or bundle is malformed.
    #[error("malformed signature material: {0}")]
    Malformed(String),
    /// A signature manifest or layer exceeds the size limit.
    #[error("signature material too large: {what} is {size} bytes, limit {limit}")]
    Oversized { what: String, size: u64, limit: u64 },
    /// A bundle of a media type/version this verifier does not know.
    #[error("unsupported bundle media type {0:?}")]
    UnsupportedBundle(String),
    /// The cryptographic signature does not verify with the signer's key.
    #[error("signature does not verify: {0}")]
    BadSignature(String),
    /// The signature verifies with none of the policy's public keys.
    #[error(
        "signature was not made by any of the policy's keys: check that the policy holds the public \
         key matching the signing key"
    )]
    KeyMismatch,
    /// A bundle stored as a signature is an attestation: its in-toto statement's predicate is
    /// not cosign's "signed" (`cosign attest` output, an SBOM or provenance), as `cosign verify`
    /// refuses it.
    #[error(
        "the bundle is an attestation with predicate type {predicate_type:?}, not a signature \
         (cosign signs with predicate type {expected:?}); attestations do not satisfy a signature \
         policy: sign the chart (`signet sign`, `cosign sign`)"
    )]
    NotASignature {
        predicate_type: String,
        expected: String,
    },
    /// The signed payload names a different digest than the one being verified.
    #[error("signed payload names digest {signed}, expected {expected}")]
    DigestMismatch { expected: String, signed: String },
    /// The signed payload names a different repository.
    #[error("signed payload names repository {signed:?}, expected {expected:?}")]
    RepositoryMismatch { expected: String, signed: String },
    /// The tag points to a different digest than the one that was signed or pinned.
    #[error(
        "tag {tag} now resolves to {actual}, but {expected} was expected: the tag was moved after \
         the digest was pinned; verify the pinned digest without the tag, or pin the new digest"
    )]
    TagMoved {
        tag: String,
        expected: String,
        actual: String,
    },
    /// The registry served bytes whose digest does not match what was asked for.
    #[error("registry content digest mismatch for {what}: expected {expected}, got {actual}")]
    ContentDigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// The signing certificate does not chain to a certificate authority of the trust root.
    #[error("certificate chain is not trusted: {0}")]
    UntrustedChain(String),
    /// The certificate's identity (SAN or issuer) does not match the policy.
    #[error("certificate identity mismatch: {0}")]
    IdentityMismatch(String),
    /// The certificate was not valid at any verified signing time.
    #[error("certificate not valid at signing time: {0}")]
    CertificateExpired(String),
    /// No verified time (transparency log or RFC 3161 timestamp) exists for a certificate signature.
    #[error("no verified signing time: {0}")]
    NoVerifiedTime(String),
    /// Transparency-log evidence is missing, inconsistent or does not verify.
    #[error("transparency log verification failed: {0}")]
    Tlog(String),
    /// An RFC 3161 timestamp does not verify.
    #[error("timestamp verification failed: {0}")]
    Timestamp(String),
    /// A certificate transparency SCT is missing or does not verify.
    #[error("certificate transparency verification failed: {0}")]
    Sct(String),
    /// Fewer distinct policy signers than the threshold matched.
    #[error("threshold not met: {matched} of {threshold} required signers matched; {detail}")]
    ThresholdNotMet {
        matched: usize,
        threshold: usize,
        detail: String,
    },
    /// The registry could not be reached or answered with an error.
    #[error("registry error: {0}")]
    Registry(String),
}

impl VerifyError {
    /// A stable, machine-readable reason (CamelCase, as Kubernetes condition reasons are).
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::NoSignatures { .. } => "NoSignatures",
            VerifyError::InvalidPolicy(_) => "InvalidPolicy",
            VerifyError::InvalidTrustRoot(_) => "InvalidTrustRoot",
            VerifyError::Malformed(_) => "MalformedSignature",
            VerifyError::Oversized { .. } => "OversizedSignature",
            VerifyError::UnsupportedBundle(_) => "UnsupportedBundle",
            VerifyError::BadSignature(_) => "BadSignature",
            VerifyError::KeyMismatch => "KeyMismatch",
            VerifyError::NotASignature { .. } => "NotASignature",
            VerifyError::DigestMismatch { .. } => "DigestMismatch",
            VerifyError::RepositoryMismatch { .. } => "RepositoryMismatch",
            VerifyError::TagMoved { .. } => "TagMoved",
            VerifyError::ContentDigestMismatch { .. } => "ContentDigestMismatch",
            VerifyError::UntrustedChain(_) => "UntrustedCertificateChain",
            VerifyError::IdentityMismatch(_) => "IdentityMismatch",
            VerifyError::CertificateExpired(_) => "CertificateExpired",
            VerifyError::NoVerifiedTime(_) => "NoVerifiedTime",
            VerifyError::Tlog(_) => "TransparencyLogInvalid",
            VerifyError::Timestamp(_) => "TimestampInvalid",
            VerifyError::Sct(_) => "SctInvalid",
            VerifyError::ThresholdNotMet { .. } => "ThresholdNotMet",
            VerifyError::Registry(_) => "RegistryError",
        }
    }

    /// Orders failures by how specific they are, so that when several signatures all fail the
    /// most telling reason is reported (a wrong key says more than "malformed").
    pub(crate) fn specificity(&self) -> u8 {
        match self {
            VerifyError::NoSignatures { .. } => 0,
            VerifyError::Registry(_) => 1,
            VerifyError::Malformed(_) | VerifyError::UnsupportedBundle(_) => 2,
            VerifyError::Oversized { .. } => 3,
            _ => 4,
        }
    }
}

pub(crate) fn malformed(what: impl std::fmt::Display) -> VerifyError {
    VerifyError::Malformed(what.to_string())
}
