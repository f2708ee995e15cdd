//! Signature verification: the policy library the controller calls at reconcile time and the
//! `signet verify` command uses. It owns the policy model ([`Policy`]), Sigstore trust roots,
//! bundle and cosign simple-signing formats, certificate/tlog/timestamp checks, discovery of
//! signatures in a registry (`.sig` tag, OCI 1.1 referrers, referrers fallback tag), the
//! verified-result cache and the [`VerifiedDigest`] token that only a successful verification can
//! produce. Every failure is a [`VerifyError`] with a stable `reason()`; nothing fails open.

mod bundle;
mod certs;
mod crypto;
mod der;
mod error;
mod evidence;
pub mod keys;
mod policy;
mod timestamp;
mod tlog;
mod trust_root;

pub use bundle::is_bundle_media_type;
pub use error::VerifyError;
pub use evidence::SignerId;
pub use policy::{CompiledPolicy, Identity, Matcher, Policy};
pub use trust_root::TrustRoot;

use chrono::Utc;

/// The result of verifying one Sigstore bundle over a blob.
#[derive(Debug, Clone)]
pub struct BundleVerified {
    /// Policy signers the bundle satisfies.
    pub signers: Vec<SignerId>,
    /// Who signed, for humans (certificate identity or key fingerprint).
    pub signer_description: String,
    /// Transparency-log indexes of the verified entries.
    pub log_indexes: Vec<i64>,
}

/// Verifies a Sigstore bundle (v0.1–v0.3, message signature or DSSE, certificate or key) as a
/// signature over `artifact` under `policy`.
pub fn verify_bundle(
    bundle_json: &[u8],
    artifact: &[u8],
    policy: &CompiledPolicy,
) -> Result<BundleVerified, VerifyError> {
    let evidence = bundle::parse_bundle(bundle_json)?;
    let ok = evidence.verify(artifact, policy, Utc::now())?;
    Ok(BundleVerified {
        signers: ok.signers,
        signer_description: ok.description,
        log_indexes: ok.log_indexes,
    })
}
