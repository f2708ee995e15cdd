//! Where signatures go in the registry. `.sig` scheme: the manifest tagged `sha256-<hex>.sig`,
//! whose layers are all signatures so far; a new one is appended, never replacing others. OCI 1.1
//! scheme: a referrer manifest whose `subject` is the signed manifest; like cosign, each new
//! referrer carries the previous referrer's signatures too (cosign reads only the newest), and on
//! registries without the referrers API the `sha256-<hex>` fallback tag index is updated.
//!
//! Known limit, shared with cosign: the `.sig` tag and the fallback index are read-modify-write
//! and OCI registries offer no compare-and-swap, so signers racing on the same digest can drop
//! each other's layer. Sign one at a time (CI steps usually do), or use a registry with the
//! referrers API, where every signature is its own manifest.

use crate::registry::client::RegistryClient;
use crate::registry::error::RegistryError;
use crate::registry::manifest::{
    Descriptor, FetchedManifest, ImageIndex, ImageManifest, OCI_INDEX_MEDIA_TYPE,
    OCI_MANIFEST_MEDIA_TYPE,
};
use crate::registry::reference::OciReference;

use super::SignError;
use super::manifest::{
    SIGNATURE_ARTIFACT_TYPE, SignatureLayer, fallback_index_with, fallback_tag, signature_manifest,
    signature_tag,
};

/// Where to store signatures (cosign's `--registry-referrers-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReferrersMode {
    /// The `sha256-<hex>.sig` tag (cosign's default).
    #[default]
    Legacy,
    /// An OCI 1.1 referrer (`oci-1-1`).
    Oci11,
}

/// The signatures already stored for a digest under one scheme.
#[derive(Debug, Clone)]
pub struct ExistingSignatures {
    /// Their layers, in order.
    pub layers: Vec<Descriptor>,
    /// For referrers: whether the registry has the referrers API.
    referrers_api: bool,
}

/// The signed manifest, addressed by digest (no tag), in `repository`.
fn by_digest(repository: &OciReference, digest: &str) -> OciReference {
    OciReference {
        tag: None,
        digest: Some(digest.to_string()),
        ..repository.clone()
    }
}

fn by_tag(repository: &OciReference, tag: &str) -> OciReference {
    OciReference {
        tag: Some(tag.to_string()),
        digest: None,
        ..repository.clone()
    }
}

/// A manifest at `reference`, or `None` when the tag does not exist.
async fn fetch_optional(
    client: &RegistryClient,
    reference: &OciReference,
) -> Result<Option<FetchedManifest>, SignError> {
    match client.fetch_manifest(reference).await {
        Ok(m) => Ok(Some(m)),
        Err(RegistryError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn parse_manifest(
    fetched: &FetchedManifest,
    reference: &OciReference,
) -> Result<ImageManifest, SignError> {
    fetched
        .image_manifest()
        .map_err(|e| SignError::ExistingSignatures {
            reference: reference.to_string(),
            reason: format!("not an OCI image manifest: {e}"),
        })
}

/// Reads the signatures already stored for `digest`.
pub async fn existing_signatures(
    client: &RegistryClient,
    repository: &OciReference,
    digest: &str,
    mode: ReferrersMode,
) -> Result<ExistingSignatures, SignError> {
    match mode {
        ReferrersMode::Legacy => {
            let reference = by_tag(repository, &signature_tag(digest));
            let layers = match fetch_optional(client, &reference).await? {
                Some(fetched) => parse_manifest(&fetched, &reference)?.layers,
                None => Vec::new(),
            };
            Ok(ExistingSignatures {
                layers,
                referrers_api: false,
            })
        }
        ReferrersMode::Oci11 => {
            let subject = by_digest(repository, digest);
            let referrers = client
                .referrers(&subject, Some(SIGNATURE_ARTIFACT_TYPE))
                .await?;
            let layers = match referrers.manifests.last() {
                Some(latest) => {
                    let reference = by_digest(repository, &latest.digest);
                    let fetched = client.fetch_manifest(&reference).await?;
                    parse_manifest(&fetched, &reference)?.layers
                }
                None => Vec::new(),
            };
            Ok(ExistingSignatures {
                layers,
                referrers_api: referrers.api_supported,
            })
        }
    }
}

/// Pushes `existing` + `layer` as the signature manifest for `subject`; returns where it went.
pub async fn store_signature(
    client: &RegistryClient,
    repository: &OciReference,
    subject: &FetchedManifest,
    existing: ExistingSignatures,
    layer: &SignatureLayer,
    mode: ReferrersMode,
) -> Result<OciReference, SignError> {
    let descriptor = client
        .push_blob(
            repository,
            &layer.descriptor().media_type,
            layer.payload.clone(),
        )
        .await?;
    let mut layer_descriptor = layer.descriptor();
    layer_descriptor.digest = descriptor.digest;
    let mut layers = existing.layers;
    layers.push(layer_descriptor);

    match mode {
        ReferrersMode::Legacy => {
            let (manifest, config) = signature_manifest(layers, None);
            client
                .push_blob(repository, &manifest.config.media_type, config)
                .await?;
            let target = by_tag(repository, &signature_tag(&subject.digest));
            client
                .push_manifest(&target, manifest.to_bytes(), OCI_MANIFEST_MEDIA_TYPE)
                .await?;
            Ok(target)
        }
        ReferrersMode::Oci11 => {
            let (manifest, config) = signature_manifest(layers, Some(subject.descriptor()));
            client
                .push_blob(repository, &manifest.config.media_type, config)
                .await?;
            let bytes = manifest.to_bytes();
            let size = bytes.len() as u64;
            let pushed = by_digest(
                repository,
                &crate::registry::manifest::sha256_digest(&bytes),
            );
            let digest = client
                .push_manifest(&pushed, bytes, OCI_MANIFEST_MEDIA_TYPE)
                .await?;
            if !existing.referrers_api {
                let entry = Descriptor {
                    media_type: OCI_MANIFEST_MEDIA_TYPE.to_string(),
                    digest: digest.clone(),
                    size,
                    artifact_type: Some(SIGNATURE_ARTIFACT_TYPE.to_string()),
                    annotations: None,
                };
                update_fallback_index(client, repository, &subject.digest, entry).await?;
            }
            Ok(by_digest(repository, &digest))
        }
    }
}

/// Pushes a referrer manifest (its config blob first) for `subject_digest` and, on registries
/// without the referrers API, lists it in the fallback tag index with its artifact type and
/// annotations (what the API would report). Returns the referrer's reference.
pub async fn store_referrer(
    client: &RegistryClient,
    repository: &OciReference,
    subject_digest: &str,
    manifest: &ImageManifest,
    config: Vec<u8>,
) -> Result<OciReference, SignError> {
    let referrers = client
        .referrers(&by_digest(repository, subject_digest), None)
        .await?;
    client
        .push_blob(repository, &manifest.config.media_type, config)
        .await?;
    let bytes = manifest.to_bytes();
    let size = bytes.len() as u64;
    let pushed = by_digest(
        repository,
        &crate::registry::manifest::sha256_digest(&bytes),
    );
    let digest = client
        .push_manifest(&pushed, bytes, OCI_MANIFEST_MEDIA_TYPE)
        .await?;
    if !referrers.api_supported {
        let entry = Descriptor {
            media_type: OCI_MANIFEST_MEDIA_TYPE.to_string(),
            digest: digest.clone(),
            size,
            artifact_type: manifest.artifact_type.clone(),
            annotations: manifest.annotations.clone(),
        };
        update_fallback_index(client, repository, subject_digest, entry).await?;
    }
    Ok(by_digest(repository, &digest))
}

/// Adds `entry` (a referrer) to the `sha256-<hex>` fallback tag index of `subject_digest`.
async fn update_fallback_index(
    client: &RegistryClient,
    repository: &OciReference,
    subject_digest: &str,
    entry: Descriptor,
) -> Result<(), SignError> {
    let reference = by_tag(repository, &fallback_tag(subject_digest));
    let existing = match fetch_optional(client, &reference).await? {
        Some(fetched) => Some(
            serde_json::from_slice::<ImageIndex>(&fetched.bytes).map_err(|e| {
                SignError::ExistingSignatures {
                    reference: reference.to_string(),
                    reason: format!("the referrers fallback tag is not an OCI image index: {e}"),
                }
            })?,
        ),
        None => None,
    };
    let index = fallback_index_with(existing, entry);
    let bytes = serde_json::to_vec(&index).map_err(|e| SignError::ExistingSignatures {
        reference: reference.to_string(),
        reason: e.to_string(),
    })?;
    client
        .push_manifest(&reference, bytes, OCI_INDEX_MEDIA_TYPE)
        .await?;
    Ok(())
}
