//! OCI registry access: references, credentials (docker config, helpers, login/logout), the
//! async [`RegistryClient`] (resolve, tags, manifests, blobs, referrers), SemVer tag selection
//! and the Helm chart artifact layout. Other modules (sign, verify, controller) read and write
//! registry content only through this module.

pub mod auth;
pub mod client;
pub mod cosign;
pub mod error;
pub mod helm;
pub mod manifest;
pub mod reference;
pub mod version;

pub use auth::{Credentials, docker_config_path, login, logout};
pub use client::{
    DEFAULT_MAX_BLOB_BYTES, DEFAULT_MAX_MANIFEST_BYTES, ProgressFn, Referrers, RegistryClient,
    RegistryOptions,
};
pub use error::RegistryError;
pub use helm::{
    ChartArtifact, ChartManifest, HELM_CHART_LAYER_MEDIA_TYPE, HELM_CONFIG_MEDIA_TYPE,
    HELM_PROVENANCE_MEDIA_TYPE, LEGACY_CHART_LAYER_MEDIA_TYPE, PushedChart, helm_annotations,
};
pub use manifest::{
    ACCEPTED_MANIFEST_TYPES, DOCKER_LIST_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE, Descriptor,
    FetchedManifest, ImageIndex, ImageManifest, OCI_EMPTY_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE,
    OCI_MANIFEST_MEDIA_TYPE, sha256_digest,
};
pub use reference::{OciReference, validate_digest};
pub use version::{VersionRequest, select_version, tag_to_version, version_to_tag};
