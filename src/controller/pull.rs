//! Step 5, pull: the chart archive of the verified digest, from the content-addressed cache or
//! the registry, bound to the verification as a `VerifiedChart` (manifest digest, layer digest
//! and size all checked by `VerifiedDigest::chart`).

use super::cache::{CachedChart, ChartCache};
use super::metrics::Metrics;
use super::source::{self, ResolveError, Resolved};
use crate::api::conditions::reasons;
use crate::package::MAX_CHART_BYTES;
use crate::registry::{ImageManifest, RegistryClient, RegistryError};
use crate::verify::{Verified, VerifiedChart, VerifyError};
use std::sync::Arc;

/// Why the verified chart could not be pulled.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("{0}")]
    Resolve(#[from] ResolveError),
    #[error("{0}")]
    Registry(#[from] RegistryError),
    #[error("{}: {}", .0.reason(), .0)]
    Content(#[from] VerifyError),
    #[error("manifest of {0} is not an image manifest")]
    Manifest(String),
}

impl PullError {
    pub fn reason(&self) -> &'static str {
        match self {
            PullError::Resolve(e) => e.reason(),
            PullError::Registry(_) | PullError::Manifest(_) => reasons::PULL_FAILED,
            // Bytes that do not match the verified digest are a verification failure.
            PullError::Content(_) => reasons::VERIFICATION_FAILED,
        }
    }
}

/// The verified chart for `resolved`.
pub async fn pull(
    resolved: &Resolved,
    verified: &Verified,
    registry: &RegistryClient,
    charts: &ChartCache,
    metrics: &Metrics,
) -> Result<VerifiedChart, PullError> {
    let key = resolved.cache_key();
    let cached = match charts.get(&key) {
        Some(c) if c.archive.is_some() => {
            metrics.cache("chart", true);
            c
        }
        other => {
            metrics.cache("chart", false);
            let manifest = match other {
                Some(c) => c,
                None => source::manifest(resolved, registry, charts, metrics).await?,
            };
            let archive = fetch_archive(resolved, &manifest, registry, metrics).await?;
            let full = CachedChart {
                archive: Some(Arc::new(archive)),
                ..manifest
            };
            charts.put(&key, full.clone());
            full
        }
    };
    let archive = cached.archive.as_deref().cloned().unwrap_or_default();
    Ok(verified.token.chart(&cached.manifest, archive)?)
}

async fn fetch_archive(
    resolved: &Resolved,
    manifest: &CachedChart,
    registry: &RegistryClient,
    metrics: &Metrics,
) -> Result<Vec<u8>, PullError> {
    let parsed: ImageManifest = serde_json::from_slice(&manifest.manifest)
        .map_err(|_| PullError::Manifest(resolved.cache_key()))?;
    let layer = parsed
        .layers
        .iter()
        .find(|l| {
            l.media_type == crate::registry::HELM_CHART_LAYER_MEDIA_TYPE
                || l.media_type == crate::registry::LEGACY_CHART_LAYER_MEDIA_TYPE
        })
        .ok_or_else(|| PullError::Manifest(resolved.cache_key()))?;
    metrics.registry_request("pull");
    Ok(registry
        .fetch_blob(&resolved.repository, layer, MAX_CHART_BYTES)
        .await?)
}
