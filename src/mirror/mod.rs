//! `signet mirror`: moving a classic Helm repository (`index.yaml` + archives over HTTP(S), as
//! ChartMuseum, GitHub Pages or `helm repo index` serve them) into an OCI registry as Helm chart
//! artifacts, optionally signing each pushed manifest.
//!
//! This module owns reading the source repository ([`source`]: `index.yaml`, archives and
//! `.prov` files, with basic auth and TLS options like `helm repo add`), the index and version
//! selection ([`index`]), Helm provenance checks against an OpenPGP keyring ([`provenance`]),
//! and the per-version mirroring steps ([`run`]: digest check, idempotence against the target
//! tag, push through [`crate::registry`], signing through [`crate::sign`]). The archive bytes
//! pushed are the bytes downloaded, so `helm pull` from the registry returns the same archive.

pub mod index;
pub mod provenance;
pub mod run;
pub mod source;

pub use index::{IndexEntry, RepoIndex, Selection};
pub use provenance::{Keyring, ProvenanceCheck};
pub use run::{
    ChartOutcome, MirrorOptions, MirrorSummary, OutcomeStatus, ProvenanceState, SignState, Signer,
    mirror,
};
pub use source::{SourceClient, SourceOptions};

use crate::registry::RegistryError;
use crate::sign::SignError;

/// Why mirroring (a repository, or one chart version of it) failed. Messages name the URL or
/// the chart and version, and never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// The source repository URL or a chart URL in the index is unusable.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The source could not be reached or answered with an error status.
    #[error("{url}: {message}")]
    Source { url: String, message: String },

    /// The source answered 401/403.
    #[error(
        "{url}: the repository answered HTTP {status} ({sent}); give --username and --password \
         as for `helm repo add`"
    )]
    SourceUnauthorized {
        url: String,
        status: u16,
        sent: &'static str,
    },

    /// `index.yaml` does not parse or is not a Helm repository index.
    #[error("{url}: not a Helm repository index: {reason}")]
    Index { url: String, reason: String },

    /// The selection matched nothing.
    #[error("nothing to mirror: {0}")]
    NothingSelected(String),

    /// The downloaded archive does not hash to the index's `digest`.
    #[error(
        "{chart} {version}: the archive downloaded from {url} has digest sha256:{actual}, but \
         index.yaml says sha256:{expected}; refusing to mirror a chart that is not what the \
         repository index lists"
    )]
    DigestMismatch {
        chart: String,
        version: String,
        url: String,
        expected: String,
        actual: String,
    },

    /// The archive is not a valid chart, or not the chart and version the index names.
    #[error("{chart} {version}: {reason}")]
    Archive {
        chart: String,
        version: String,
        reason: String,
    },

    /// The `.prov` provenance file did not verify.
    #[error("{chart} {version}: provenance {url} refused: {reason}")]
    Provenance {
        chart: String,
        version: String,
        url: String,
        reason: String,
    },

    /// The keyring file cannot be used.
    #[error("keyring {path}: {reason}")]
    Keyring { path: String, reason: String },

    /// The target tag already holds different content.
    #[error(
        "{reference} already holds a different chart (layer {existing}; the source archive is \
         {source_digest}); pass --force to overwrite the tag"
    )]
    Conflict {
        reference: String,
        existing: String,
        source_digest: String,
    },

    #[error(transparent)]
    Registry(#[from] RegistryError),

    #[error("signing {reference}: {source}")]
    Sign {
        reference: String,
        #[source]
        source: SignError,
    },
}

impl MirrorError {
    /// A stable CamelCase reason for `--output json`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidUrl { .. } => "InvalidUrl",
            Self::Source { .. } => "SourceError",
            Self::SourceUnauthorized { .. } => "Unauthorized",
            Self::Index { .. } => "InvalidIndex",
            Self::NothingSelected(_) => "NothingSelected",
            Self::DigestMismatch { .. } => "DigestMismatch",
            Self::Archive { .. } => "InvalidArchive",
            Self::Provenance { .. } => "ProvenanceFailed",
            Self::Keyring { .. } => "InvalidKeyring",
            Self::Conflict { .. } => "TagConflict",
            Self::Registry(e) => e.reason(),
            Self::Sign { .. } => "SignFailed",
        }
    }
}
