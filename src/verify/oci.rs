//! Verifying an artifact in a registry: finding its signatures in the three places tools put them
//! (the cosign `sha256-<hex>.sig` tag, OCI 1.1 referrers, and the referrers fallback tag, which the
//! registry client queries when the API is missing), checking each against the policy and applying
//! the threshold. Produces [`Verified`] and its [`VerifiedDigest`] token. As in cosign, a
//! signature binds the digest: the repository a simple-signing payload names is checked only
//! when the policy sets `signed_repository`, so copies at a mirror verify.

use super::bundle::{is_bundle_media_type, parse_bundle};
use super::error::VerifyError;
use super::evidence::{Artifact, Evidence, SignerId};
use super::policy::CompiledPolicy;
use super::simple_signing::{self, SIMPLE_SIGNING_MEDIA_TYPE};
use crate::registry::cosign::{SIGNATURE_ARTIFACT_TYPE, signature_tag};
use crate::registry::{OciReference, RegistryClient, RegistryError};
use chrono::Utc;
use serde::Serialize;
use std::collections::BTreeSet;

/// Largest signature manifest accepted.
pub const MAX_SIGNATURE_MANIFEST_BYTES: u64 = 256 * 1024;
/// Largest signature layer (payload or bundle) accepted.
pub const MAX_SIGNATURE_LAYER_BYTES: u64 = 1024 * 1024;
/// At most this many signature candidates are examined per artifact.
pub const MAX_SIGNATURES: usize = 64;

/// Where to look for signatures (cosign's `--registry-referrers-mode` plus "both").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum ReferrersMode {
    /// The `.sig` tag and OCI 1.1 referrers (with the fallback tag).
    #[default]
    All,
    /// Only the `sha256-<hex>.sig` tag (cosign's default).
    Legacy,
    /// Only OCI 1.1 referrers and the fallback tag.
    Oci11,
}

/// How signatures are fetched.
#[derive(Debug, Clone)]
pub struct Sources<'a> {
    pub registry: &'a RegistryClient,
    pub mode: ReferrersMode,
}

/// A signer of the policy that matched, for results and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedSigner {
    /// Index of the policy authority that matched.
    pub signer: SignerId,
    /// That authority's name.
    pub authority: String,
    /// What signed (certificate identity or key fingerprint).
    pub description: String,
    /// Where the signature was found.
    pub location: String,
}

/// Proof that a digest in a repository passed a policy. Only this module can construct it; code
/// that deploys charts takes it as an argument so unverified content cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedDigest {
    repository: String,
    digest: String,
    policy_fingerprint: String,
}

impl VerifiedDigest {
    pub fn digest(&self) -> &str {
        &self.digest
    }
    pub fn repository(&self) -> &str {
        &self.repository
    }
    pub fn policy_fingerprint(&self) -> &str {
        &self.policy_fingerprint
    }
    /// Checks that manifest bytes fetched later are the verified ones.
    pub fn check_manifest(&self, manifest_bytes: &[u8]) -> Result<(), VerifyError> {
        let actual = crate::registry::sha256_digest(manifest_bytes);
        if actual == self.digest {
            Ok(())
        } else {
            Err(VerifyError::ContentDigestMismatch {
                what: format!("manifest of {}", self.repository),
                expected: self.digest.clone(),
                actual,
            })
        }
    }

    /// Binds chart archive bytes to this verification: the manifest must be the verified one
    /// and list a Helm chart layer whose digest and size are those of `chart_tgz`. The result is
    /// the only way to obtain a [`VerifiedChart`], which the deploy path requires.
    pub fn chart(
        &self,
        manifest_bytes: &[u8],
        chart_tgz: Vec<u8>,
    ) -> Result<VerifiedChart, VerifyError> {
        self.check_manifest(manifest_bytes)?;
        let manifest: crate::registry::ImageManifest = serde_json::from_slice(manifest_bytes)
            .map_err(|e| {
                VerifyError::Malformed(format!("verified manifest is not an image manifest: {e}"))
            })?;
        let layer = manifest
            .layers
            .iter()
            .find(|l| {
                l.media_type == crate::registry::HELM_CHART_LAYER_MEDIA_TYPE
                    || l.media_type == crate::registry::LEGACY_CHART_LAYER_MEDIA_TYPE
            })
            .ok_or_else(|| {
                VerifyError::Malformed("verified manifest has no Helm chart layer".into())
            })?;
        let actual = crate::registry::sha256_digest(&chart_tgz);
        if actual != layer.digest || chart_tgz.len() as u64 != layer.size {
            return Err(VerifyError::ContentDigestMismatch {
                what: format!("chart layer of {}@{}", self.repository, self.digest),
                expected: layer.digest.clone(),
                actual,
            });
        }
        Ok(VerifiedChart {
            token: self.clone(),
            chart_tgz,
        })
    }
}

/// A chart archive proven to be the content of a verified digest. Constructed only by
/// [`VerifiedDigest::chart`]; rendering for a cluster takes this, never raw bytes.
#[derive(Debug, Clone)]
pub struct VerifiedChart {
    token: VerifiedDigest,
    chart_tgz: Vec<u8>,
}

impl VerifiedChart {
    /// The verification this chart belongs to.
    pub fn verified(&self) -> &VerifiedDigest {
        &self.token
    }

    /// The chart archive (.tgz) bytes.
    pub fn chart_tgz(&self) -> &[u8] {
        &self.chart_tgz
    }
}

/// A successful verification.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    pub repository: String,
    pub digest: String,
    pub signers: Vec<MatchedSigner>,
    pub log_indexes: Vec<i64>,
    /// How many signature candidates were examined.
    pub signatures_examined: usize,
    #[serde(skip)]
    pub token: VerifiedDigest,
}

/// Maps registry failures: a digest mismatch is a verification failure of its own; too-large
/// content is "oversized"; a missing manifest/blob stays a registry error.
fn registry_error(e: RegistryError) -> VerifyError {
    match e {
        RegistryError::DigestMismatch {
            reference,
            expected,
            actual,
        } => VerifyError::ContentDigestMismatch {
            what: reference,
            expected,
            actual,
        },
        RegistryError::TooLarge { what, limit } => VerifyError::Oversized {
            what,
            size: limit + 1,
            limit,
        },
        other => VerifyError::Registry(other.to_string()),
    }
}

/// One signature found in the registry, with the bytes it signs.
struct Candidate {
    evidence: Result<Evidence, VerifyError>,
    /// The signed artifact: the simple-signing payload, or the subject manifest for bundles.
    artifact: Vec<u8>,
    simple_signing: bool,
    location: String,
}

impl Candidate {
    /// A signature at `location` that failed before it could be verified.
    fn failed(location: &str, simple_signing: bool, error: VerifyError) -> Self {
        Candidate {
            evidence: Err(error),
            artifact: Vec::new(),
            simple_signing,
            location: location.to_string(),
        }
    }
}

/// Says where a malformed signature is (the other failures name what they are about).
fn locate(location: &str, e: VerifyError) -> VerifyError {
    match e {
        VerifyError::Malformed(m) => VerifyError::Malformed(format!("{location}: {m}")),
        e => e,
    }
}

/// Verifies `digest` in `repository` against `policy`, fetching signatures from `sources`.
pub async fn verify(
    digest: &str,
    repository: &OciReference,
    policy: &CompiledPolicy,
    sources: &Sources<'_>,
) -> Result<Verified, VerifyError> {
    crate::registry::validate_digest(digest)
        .map_err(|e| VerifyError::Malformed(format!("digest {digest:?}: {e}")))?;
    let subject = repository.with_digest(digest);
    let docker_reference = format!("{}/{}", repository.registry, repository.repository);
    let candidates = collect(&subject, digest, sources).await?;
    if candidates.is_empty() {
        return Err(VerifyError::NoSignatures {
            digest: digest.to_string(),
        });
    }
    let now = Utc::now();
    let mut matched: Vec<MatchedSigner> = Vec::new();
    let mut log_indexes = Vec::new();
    let mut failures: Vec<(String, VerifyError)> = Vec::new();
    for c in &candidates {
        let outcome = c.evidence.clone().and_then(|ev| {
            let ok = ev.verify(&Artifact::Bytes(&c.artifact), policy, now)?;
            if c.simple_signing {
                simple_signing::check_payload(
                    &c.artifact,
                    digest,
                    policy.signed_repository.as_ref(),
                )?;
            } else if let Some(wanted) = &policy.signed_repository {
                // A bundle signs the digest alone; it cannot show where it was signed.
                return Err(VerifyError::RepositoryMismatch {
                    expected: wanted.to_string(),
                    signed: "(none: a Sigstore bundle names only the digest)".into(),
                });
            }
            Ok(ok)
        });
        match outcome {
            Ok(ok) => {
                for signer in ok.signers {
                    matched.push(MatchedSigner {
                        signer,
                        authority: policy.authority_name(signer).to_string(),
                        description: ok.description.clone(),
                        location: c.location.clone(),
                    });
                }
                log_indexes.extend(ok.log_indexes);
            }
            Err(e) => failures.push((c.location.clone(), e)),
        }
    }
    let distinct: BTreeSet<&SignerId> = matched.iter().map(|m| &m.signer).collect();
    if distinct.len() >= policy.threshold {
        log_indexes.sort_unstable();
        log_indexes.dedup();
        return Ok(Verified {
            repository: docker_reference.clone(),
            digest: digest.to_string(),
            signers: matched,
            log_indexes,
            signatures_examined: candidates.len(),
            token: VerifiedDigest {
                repository: docker_reference,
                digest: digest.to_string(),
                policy_fingerprint: policy.fingerprint().to_string(),
            },
        });
    }
    // Report the most specific reason; with a threshold above one, say how many matched.
    let best = failures
        .iter()
        .max_by_key(|(_, e)| e.specificity())
        .map(|(_, e)| e.clone());
    if policy.threshold > 1 && !distinct.is_empty() {
        let detail = failures
            .iter()
            .map(|(loc, e)| {
                // Malformed and oversized failures already say where they are.
                let e = e.to_string();
                if e.contains(loc.as_str()) {
                    e
                } else {
                    format!("{loc}: {e}")
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(VerifyError::ThresholdNotMet {
            matched: distinct.len(),
            threshold: policy.threshold,
            detail: if detail.is_empty() {
                "no other signatures".into()
            } else {
                detail
            },
        });
    }
    Err(best.unwrap_or(VerifyError::NoSignatures {
        digest: digest.to_string(),
    }))
}

/// Gathers candidates from the `.sig` tag and the referrers.
async fn collect(
    subject: &OciReference,
    digest: &str,
    sources: &Sources<'_>,
) -> Result<Vec<Candidate>, VerifyError> {
    let mut out = Vec::new();
    if sources.mode != ReferrersMode::Oci11 {
        let tag = signature_tag(digest);
        let sig_ref = subject.with_tag(&tag);
        let sig_ref = OciReference {
            digest: None,
            ..sig_ref
        };
        match sources.registry.fetch_manifest(&sig_ref).await {
            Ok(m) => {
                let location = format!("tag {tag}");
                out.extend(
                    signature_manifest_candidates(subject, &m.bytes, &location, sources).await?,
                );
            }
            Err(RegistryError::NotFound { .. }) => {}
            Err(e) => return Err(registry_error(e)),
        }
    }
    if sources.mode != ReferrersMode::Legacy {
        let referrers = sources
            .registry
            .referrers(subject, None)
            .await
            .map_err(registry_error)?;
        let how = if referrers.api_supported {
            "referrer"
        } else {
            "referrers fallback tag entry"
        };
        let mut subject_manifest: Option<Vec<u8>> = None;
        for desc in referrers.manifests.iter().take(MAX_SIGNATURES) {
            let location = format!("{how} {}", desc.digest);
            if desc.size > MAX_SIGNATURE_MANIFEST_BYTES {
                out.push(oversized(
                    &location,
                    desc.size,
                    MAX_SIGNATURE_MANIFEST_BYTES,
                ));
                continue;
            }
            // Index entries do not always carry a useful artifactType (cosign's fallback index
            // records the empty type), so the manifest itself decides what the referrer is.
            // One unreadable referrer is that candidate's failure, not the whole verification's
            // (anyone who can push may add referrers).
            let fetched = match sources
                .registry
                .fetch_manifest(&subject.with_digest(&desc.digest))
                .await
            {
                Ok(f) => f,
                Err(e) => {
                    out.push(Candidate::failed(&location, false, registry_error(e)));
                    continue;
                }
            };
            let manifest: crate::registry::ImageManifest =
                match serde_json::from_slice(&fetched.bytes) {
                    Ok(m) => m,
                    Err(_) => continue, // not an image manifest: not a signature
                };
            let types: Vec<&str> = [
                manifest.artifact_type.as_deref(),
                desc.artifact_type.as_deref(),
            ]
            .into_iter()
            .flatten()
            .chain(std::iter::once(manifest.config.media_type.as_str()))
            .chain(manifest.layers.iter().map(|l| l.media_type.as_str()))
            .collect();
            if types
                .iter()
                .any(|t| *t == SIGNATURE_ARTIFACT_TYPE || *t == SIMPLE_SIGNING_MEDIA_TYPE)
            {
                out.extend(
                    signature_manifest_candidates(subject, &fetched.bytes, &location, sources)
                        .await?,
                );
            } else if types.iter().any(|t| is_bundle_media_type(t)) {
                if subject_manifest.is_none() {
                    let m = sources
                        .registry
                        .fetch_manifest(subject)
                        .await
                        .map_err(registry_error)?;
                    subject_manifest = Some(m.bytes);
                }
                let artifact = subject_manifest.clone().unwrap_or_default();
                out.push(bundle_candidate(subject, &manifest, artifact, &location, sources).await);
            }
        }
    }
    out.truncate(MAX_SIGNATURES);
    Ok(out)
}

fn oversized(location: &str, size: u64, limit: u64) -> Candidate {
    let error = VerifyError::Oversized {
        what: location.to_string(),
        size,
        limit,
    };
    Candidate::failed(location, false, error)
}

/// A `.sig`-style manifest: one candidate per simple-signing layer. A manifest that is not one is
/// a single malformed candidate (never skipped silently).
async fn signature_manifest_candidates(
    subject: &OciReference,
    manifest_bytes: &[u8],
    location: &str,
    sources: &Sources<'_>,
) -> Result<Vec<Candidate>, VerifyError> {
    let malformed = |reason: String| {
        Candidate::failed(
            location,
            true,
            locate(location, VerifyError::Malformed(reason)),
        )
    };
    if manifest_bytes.len() as u64 > MAX_SIGNATURE_MANIFEST_BYTES {
        return Ok(vec![oversized(
            location,
            manifest_bytes.len() as u64,
            MAX_SIGNATURE_MANIFEST_BYTES,
        )]);
    }
    let manifest: crate::registry::ImageManifest = match serde_json::from_slice(manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            return Ok(vec![malformed(format!(
                "signature manifest is not an image manifest: {e}"
            ))]);
        }
    };
    let mut out = Vec::new();
    for (i, layer) in manifest.layers.iter().enumerate().take(MAX_SIGNATURES) {
        let location = format!("{location} layer {i}");
        if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE {
            continue;
        }
        if layer.size > MAX_SIGNATURE_LAYER_BYTES {
            out.push(oversized(&location, layer.size, MAX_SIGNATURE_LAYER_BYTES));
            continue;
        }
        let evidence =
            simple_signing::layer_evidence(&layer.annotations.clone().unwrap_or_default())
                .map_err(|e| locate(&location, e));
        let payload = match sources
            .registry
            .fetch_blob(subject, layer, MAX_SIGNATURE_LAYER_BYTES)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                out.push(Candidate::failed(&location, true, registry_error(e)));
                continue;
            }
        };
        out.push(Candidate {
            evidence,
            artifact: payload,
            simple_signing: true,
            location,
        });
    }
    if out.is_empty() {
        out.push(malformed(
            "signature manifest has no simple-signing layer".into(),
        ));
    }
    Ok(out)
}

/// A referrer holding a Sigstore bundle as its (first bundle-typed) layer.
async fn bundle_candidate(
    subject: &OciReference,
    manifest: &crate::registry::ImageManifest,
    artifact: Vec<u8>,
    location: &str,
    sources: &Sources<'_>,
) -> Candidate {
    let evidence = async {
        let layer = manifest
            .layers
            .iter()
            .find(|l| is_bundle_media_type(&l.media_type))
            .or(manifest.layers.first())
            .ok_or_else(|| super::error::malformed("bundle manifest has no layer"))?;
        if layer.size > MAX_SIGNATURE_LAYER_BYTES {
            return Err(VerifyError::Oversized {
                what: location.to_string(),
                size: layer.size,
                limit: MAX_SIGNATURE_LAYER_BYTES,
            });
        }
        let blob = sources
            .registry
            .fetch_blob(subject, layer, MAX_SIGNATURE_LAYER_BYTES)
            .await
            .map_err(registry_error)?;
        let evidence = parse_bundle(&blob)?;
        evidence.check_signature_predicate()?;
        Ok(evidence)
    }
    .await
    .map_err(|e| locate(location, e));
    Candidate {
        evidence,
        artifact,
        simple_signing: false,
        location: location.to_string(),
    }
}
