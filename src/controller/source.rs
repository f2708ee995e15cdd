//! Step 3, resolve: `spec.chart` to one manifest digest and chart version, through a registry
//! client built from `spec.chart.registry` (dockerconfigjson Secret, CA Secret, plain HTTP).
//! An exact version costs one HEAD request; a range lists tags; a digest pin costs nothing once
//! its manifest is cached.

use super::cache::{CachedChart, ChartCache, RegistryClients};
use super::metrics::Metrics;
use super::refs::{self, RefError};
use crate::api::conditions::reasons;
use crate::api::{ChartSource, DataSourceKind};
use crate::registry::{
    Credentials, ImageManifest, OciReference, RegistryClient, RegistryError, RegistryOptions,
    VersionRequest, version_to_tag,
};

/// The chart a reconcile works on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The repository, without tag or digest.
    pub repository: OciReference,
    pub digest: String,
    pub version: String,
}

impl Resolved {
    /// Key of this artifact in the content-addressed caches.
    pub fn cache_key(&self) -> String {
        format!(
            "{}/{}@{}",
            self.repository.registry, self.repository.repository, self.digest
        )
    }
}

/// Why the chart could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("registry access: {0}")]
    Reference(#[from] RefError),
    #[error("spec.chart.registry.caSecretRef: {0}")]
    Tls(String),
    #[error("{0}")]
    Registry(#[from] RegistryError),
    #[error("{repository}@{digest} not found in the registry")]
    DigestNotFound { repository: String, digest: String },
    #[error(
        "the chart pinned by spec.chart.digest {digest} has version {version}, which does not \
         satisfy spec.chart.version {wanted:?}"
    )]
    PinnedVersionMismatch {
        digest: String,
        version: String,
        wanted: String,
    },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
}

impl ResolveError {
    pub fn reason(&self) -> &'static str {
        match self {
            ResolveError::Reference(e) => e.reason(),
            ResolveError::Tls(_) => reasons::REFERENCE_NOT_FOUND,
            ResolveError::Registry(e) => match e {
                RegistryError::NotFound { .. }
                | RegistryError::NoMatchingVersion { .. }
                | RegistryError::InvalidVersion { .. } => reasons::CHART_NOT_FOUND,
                _ => reasons::PULL_FAILED,
            },
            ResolveError::DigestNotFound { .. } | ResolveError::PinnedVersionMismatch { .. } => {
                reasons::CHART_NOT_FOUND
            }
            ResolveError::Invalid { .. } => reasons::PULL_FAILED,
        }
    }
}

/// The registry client for `spec.chart.registry`, reading its Secrets by name each time (so a
/// rotated credential is used at once) and reusing the client while they are unchanged.
pub async fn registry_client(
    client: &kube::Client,
    namespace: &str,
    chart: &ChartSource,
    clients: &RegistryClients,
) -> Result<RegistryClient, ResolveError> {
    let access = chart.registry.as_ref();
    let mut options = RegistryOptions {
        plain_http: access.is_some_and(|a| a.plain_http),
        credentials: Credentials::Anonymous,
        ..RegistryOptions::default()
    };
    if let Some(secret) = access.and_then(|a| a.secret_ref.as_ref()) {
        let config = refs::read_bytes(
            client,
            namespace,
            DataSourceKind::Secret,
            &secret.name,
            ".dockerconfigjson",
        )
        .await?;
        options.credentials = Credentials::DockerConfigJson(config);
    }
    if let Some(secret) = access.and_then(|a| a.ca_secret_ref.as_ref()) {
        let ca = refs::read_bytes(
            client,
            namespace,
            DataSourceKind::Secret,
            &secret.name,
            "ca.crt",
        )
        .await?;
        options.ca_pem = Some(ca);
    }
    let key = options_key(&options);
    clients.get_or_try_insert(&key, || {
        RegistryClient::new(options).map_err(|e| ResolveError::Tls(e.to_string()))
    })
}

fn options_key(options: &RegistryOptions) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update([u8::from(options.plain_http)]);
    if let Credentials::DockerConfigJson(bytes) = &options.credentials {
        h.update(b"creds");
        h.update(bytes);
    }
    if let Some(ca) = &options.ca_pem {
        h.update(b"ca");
        h.update(ca);
    }
    hex::encode(h.finalize())
}

/// Resolves `chart` to a digest and version.
pub async fn resolve(
    chart: &ChartSource,
    registry: &RegistryClient,
    charts: &ChartCache,
    metrics: &Metrics,
) -> Result<Resolved, ResolveError> {
    let repository = OciReference::parse(&chart.repository)?;
    let repository = OciReference {
        tag: None,
        digest: None,
        ..repository
    };
    if let Some(digest) = &chart.digest {
        let pinned = Resolved {
            repository: repository.clone(),
            digest: digest.clone(),
            version: String::new(),
        };
        let cached = manifest(&pinned, registry, charts, metrics).await?;
        if let Some(wanted) = &chart.version {
            check_pinned_version(digest, &cached.version, wanted)?;
        }
        return Ok(Resolved {
            version: cached.version,
            ..pinned
        });
    }
    let request = chart.version.as_deref().unwrap_or("*");
    let (version, tagged) = match VersionRequest::parse(request)? {
        // One HEAD: the tag of an exact version, no tag listing.
        VersionRequest::Exact(v) => {
            let version = v.to_string();
            let tagged = repository.with_tag(&version_to_tag(&version));
            (version, tagged)
        }
        VersionRequest::Range(_) => {
            metrics.registry_request("list_tags");
            let (v, tagged) = registry.resolve_version(&repository, request).await?;
            (v.to_string(), tagged)
        }
    };
    metrics.registry_request("resolve");
    let digest = registry.resolve(&tagged).await?;
    Ok(Resolved {
        repository,
        digest,
        version,
    })
}

fn check_pinned_version(digest: &str, version: &str, wanted: &str) -> Result<(), ResolveError> {
    let request = VersionRequest::parse(wanted)?;
    let ok = semver::Version::parse(version).is_ok_and(|v| request.matches(&v));
    if ok {
        Ok(())
    } else {
        Err(ResolveError::PinnedVersionMismatch {
            digest: digest.to_owned(),
            version: version.to_owned(),
            wanted: wanted.to_owned(),
        })
    }
}

/// The manifest of `resolved` (and the chart version it declares), cached by digest. The bytes
/// are checked against the digest by the registry client; verification checks them again.
pub async fn manifest(
    resolved: &Resolved,
    registry: &RegistryClient,
    charts: &ChartCache,
    metrics: &Metrics,
) -> Result<CachedChart, ResolveError> {
    let key = resolved.cache_key();
    if let Some(hit) = charts.get(&key) {
        return Ok(hit);
    }
    let reference = resolved.repository.with_digest(&resolved.digest);
    metrics.registry_request("manifest");
    let fetched = match registry.fetch_chart_manifest(&reference).await {
        Ok(m) => m,
        Err(RegistryError::NotFound { .. }) => {
            return Err(ResolveError::DigestNotFound {
                repository: resolved.repository.to_string(),
                digest: resolved.digest.clone(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let version = match annotated_version(&fetched.manifest) {
        Some(v) => v,
        None => {
            metrics.registry_request("config");
            let config = registry
                .fetch_blob(&resolved.repository, &fetched.manifest.config, 1024 * 1024)
                .await?;
            config_version(&config).ok_or_else(|| ResolveError::Invalid {
                what: reference.to_string(),
                message: "the chart config has no version".into(),
            })?
        }
    };
    let cached = CachedChart {
        manifest: fetched.fetched.bytes,
        version,
        archive: None,
    };
    charts.put(&key, cached.clone());
    Ok(cached)
}

fn annotated_version(manifest: &ImageManifest) -> Option<String> {
    manifest
        .annotations
        .as_ref()?
        .get("org.opencontainers.image.version")
        .cloned()
}

fn config_version(config: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(config).ok()?;
    value.get("version")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_version_must_satisfy_the_range() {
        let d = "sha256:00";
        assert!(check_pinned_version(d, "1.4.2", ">=1.4.0 <2").is_ok());
        assert!(check_pinned_version(d, "1.4.2", "1.4.2").is_ok());
        let e = check_pinned_version(d, "2.0.0", "^1").unwrap_err();
        assert_eq!(e.reason(), reasons::CHART_NOT_FOUND);
        assert!(e.to_string().contains("2.0.0"), "{e}");
        assert!(check_pinned_version(d, "not-semver", "*").is_err());
    }

    #[test]
    fn config_version_is_read_from_helm_config() {
        assert_eq!(
            config_version(br#"{"name":"a","version":"0.3.1"}"#).as_deref(),
            Some("0.3.1")
        );
        assert_eq!(config_version(b"{}"), None);
        assert_eq!(config_version(b"not json"), None);
    }

    #[test]
    fn options_key_changes_with_credentials_and_ca() {
        let plain = RegistryOptions {
            plain_http: true,
            ..RegistryOptions::default()
        };
        let creds = RegistryOptions {
            credentials: Credentials::DockerConfigJson(b"{}".to_vec()),
            ..plain.clone()
        };
        let ca = RegistryOptions {
            ca_pem: Some(b"pem".to_vec()),
            ..plain.clone()
        };
        let keys = [options_key(&plain), options_key(&creds), options_key(&ca)];
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[2]);
        assert_ne!(keys[1], keys[2]);
    }
}
