//! Signature verification: the policy library the controller calls at reconcile time and the
//! `signet verify` command uses. It owns the policy model ([`Policy`]), Sigstore trust roots,
//! bundle and cosign simple-signing formats, certificate/tlog/timestamp checks, discovery of
//! signatures in a registry (`.sig` tag, OCI 1.1 referrers, referrers fallback tag), the
//! verified-result cache and the [`VerifiedDigest`] token that only a successful verification can
//! produce. Every failure is a [`VerifyError`] with a stable `reason()`; nothing fails open.

mod bundle;
mod cache;
mod certs;
mod crypto;
mod error;
mod evidence;
pub mod keys;
mod oci;
mod policy;
mod simple_signing;
mod timestamp;
mod tlog;
mod trust_root;
pub mod tuf;

pub use bundle::{SIGN_PREDICATE_TYPE, is_bundle_media_type};
pub use cache::VerificationCache;
pub use error::VerifyError;
pub use evidence::{Artifact, SignerId};
pub use oci::{
    MAX_SIGNATURE_LAYER_BYTES, MAX_SIGNATURE_MANIFEST_BYTES, MatchedSigner, ReferrersMode, Sources,
    Verified, VerifiedChart, VerifiedDigest, verify,
};
pub use policy::{Authority, CompiledPolicy, Identity, Matcher, Policy, Verifier};
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
    artifact: Artifact<'_>,
    policy: &CompiledPolicy,
) -> Result<BundleVerified, VerifyError> {
    let evidence = bundle::parse_bundle(bundle_json)?;
    let ok = evidence.verify(&artifact, policy, Utc::now())?;
    Ok(BundleVerified {
        signers: ok.signers,
        signer_description: ok.description,
        log_indexes: ok.log_indexes,
    })
}

/// Resolves a reference to the digest to verify. With both a tag and a digest the tag must still
/// point at that digest (else [`VerifyError::TagMoved`]); with only a tag, the tag is resolved.
pub async fn resolve_for_verification(
    reference: &crate::registry::OciReference,
    registry: &crate::registry::RegistryClient,
) -> Result<String, VerifyError> {
    let resolve_tag = |tag: &str| {
        let tag_ref = crate::registry::OciReference {
            digest: None,
            ..reference.with_tag(tag)
        };
        async move {
            registry
                .resolve(&tag_ref)
                .await
                .map_err(|e| VerifyError::Registry(e.to_string()))
        }
    };
    match (&reference.tag, &reference.digest) {
        (Some(tag), Some(digest)) => {
            let actual = resolve_tag(tag).await?;
            if &actual != digest {
                return Err(VerifyError::TagMoved {
                    tag: tag.clone(),
                    expected: digest.clone(),
                    actual,
                });
            }
            Ok(digest.clone())
        }
        (_, Some(digest)) => Ok(digest.clone()),
        (Some(tag), None) => resolve_tag(tag).await,
        (None, None) => Err(VerifyError::Malformed(format!(
            "{reference}: a tag or digest is required"
        ))),
    }
}
