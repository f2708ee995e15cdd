//! Kind → resource resolution through the API server's discovery, cached for all releases.
//!
//! A full discovery (every group/version's resource list) feeds both the cache and
//! `.Capabilities.APIVersions`; it is refreshed after [`DISCOVERY_TTL`]. A kind missing from the cache
//! (a CRD installed a moment ago) refreshes only its own group/version, one request, so an unknown
//! kind never triggers a full rediscovery.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::api::ApiResource;
use tokio::time::Instant;

use super::error::{ApplyError, is_not_found};

/// How long a full discovery (API versions, server version) is reused.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(300);

/// A kind the API server serves: its resource (plural, group, version) and scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedKind {
    /// Group, version, apiVersion, kind and plural.
    pub resource: ApiResource,
    /// Whether objects of this kind live in a namespace.
    pub namespaced: bool,
}

#[derive(Clone)]
struct Snapshot {
    taken: Instant,
    api_versions: Arc<Vec<String>>,
    server_version: String,
}

/// Cached discovery; share one per API server (and per identity) with `Arc`.
pub struct Kinds {
    client: kube::Client,
    kinds: RwLock<HashMap<(String, String), ResolvedKind>>,
    snapshot: tokio::sync::Mutex<Option<Snapshot>>,
}

/// Splits `apps/v1` into `("apps", "v1")` and `v1` into `("", "v1")`.
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

impl Kinds {
    /// Discovery through `client`; nothing is fetched until first use.
    pub fn new(client: kube::Client) -> Self {
        Kinds {
            client,
            kinds: RwLock::new(HashMap::new()),
            snapshot: tokio::sync::Mutex::new(None),
        }
    }

    /// The resource and scope of `kind` in `api_version`; a cache miss re-reads that group/version.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<ResolvedKind, ApplyError> {
        if let Some(found) = self.cached(api_version, kind) {
            return Ok(found);
        }
        // The first miss reads everything once (many releases starting together share that one
        // discovery); later misses re-read only their group/version.
        if self.snapshot.lock().await.is_none() {
            self.snapshot().await?;
            if let Some(found) = self.cached(api_version, kind) {
                return Ok(found);
            }
        }
        self.refresh_group_version(api_version).await?;
        self.cached(api_version, kind)
            .ok_or_else(|| ApplyError::UnknownKind {
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
                template: None,
            })
    }

    /// For `.Capabilities.APIVersions`: every served `group/version` and `group/version/Kind`.
    pub async fn api_versions(&self) -> Result<Vec<String>, ApplyError> {
        Ok(self.snapshot().await?.api_versions.as_ref().clone())
    }

    /// For `.Capabilities.KubeVersion`: the API server's `/version` gitVersion, e.g. `v1.34.1`.
    pub async fn server_version(&self) -> Result<String, ApplyError> {
        Ok(self.snapshot().await?.server_version)
    }

    /// Forgets the full discovery so the next [`Self::api_versions`] reads it again.
    pub async fn invalidate(&self) {
        *self.snapshot.lock().await = None;
    }

    fn cached(&self, api_version: &str, kind: &str) -> Option<ResolvedKind> {
        let kinds = self.kinds.read().unwrap_or_else(|p| p.into_inner());
        kinds
            .get(&(api_version.to_owned(), kind.to_owned()))
            .cloned()
    }

    fn remember(&self, api_version: &str, list: &APIResourceList) {
        let (group, version) = split_api_version(api_version);
        let mut kinds = self.kinds.write().unwrap_or_else(|p| p.into_inner());
        for r in &list.resources {
            // Subresources (`deployments/status`) share the kind of their parent.
            if r.name.contains('/') {
                continue;
            }
            kinds.insert(
                (api_version.to_owned(), r.kind.clone()),
                ResolvedKind {
                    resource: ApiResource {
                        group: group.to_owned(),
                        version: version.to_owned(),
                        api_version: api_version.to_owned(),
                        kind: r.kind.clone(),
                        plural: r.name.clone(),
                    },
                    namespaced: r.namespaced,
                },
            );
        }
    }

    async fn fetch_group_version(
        &self,
        api_version: &str,
    ) -> Result<Option<APIResourceList>, kube::Error> {
        let (group, version) = split_api_version(api_version);
        let result = if group.is_empty() {
            self.client.list_core_api_resources(version).await
        } else {
            self.client.list_api_group_resources(api_version).await
        };
        match result {
            Ok(list) => Ok(Some(list)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn refresh_group_version(&self, api_version: &str) -> Result<(), ApplyError> {
        let list = self
            .fetch_group_version(api_version)
            .await
            .map_err(|e| ApplyError::from_kube(e, "discover", api_version, false))?;
        if let Some(list) = list {
            self.remember(api_version, &list);
        }
        Ok(())
    }

    async fn snapshot(&self) -> Result<Snapshot, ApplyError> {
        let mut guard = self.snapshot.lock().await;
        if let Some(s) = guard.as_ref().filter(|s| s.taken.elapsed() < DISCOVERY_TTL) {
            return Ok(s.clone());
        }
        let fresh = self.discover_all().await?;
        *guard = Some(fresh.clone());
        Ok(fresh)
    }

    /// Reads every group/version. A group whose discovery fails (an aggregated API that is down)
    /// is left out rather than failing every render, as Helm and kubectl do.
    async fn discover_all(&self) -> Result<Snapshot, ApplyError> {
        let err = |e| ApplyError::from_kube(e, "discover", "the API server's groups", false);
        let info = self.client.apiserver_version().await.map_err(err)?;
        let mut group_versions: Vec<String> = self
            .client
            .list_core_api_versions()
            .await
            .map_err(err)?
            .versions;
        let groups = self.client.list_api_groups().await.map_err(err)?;
        for g in groups.groups {
            group_versions.extend(g.versions.into_iter().map(|v| v.group_version));
        }
        let mut api_versions = Vec::new();
        for gv in group_versions {
            let list = match self.fetch_group_version(&gv).await {
                Ok(Some(list)) => list,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(group_version = %gv, error = %e, "discovery of a group version failed; leaving it out");
                    continue;
                }
            };
            self.remember(&gv, &list);
            api_versions.push(gv.clone());
            for r in list.resources.iter().filter(|r| !r.name.contains('/')) {
                api_versions.push(format!("{gv}/{}", r.kind));
            }
        }
        api_versions.sort();
        api_versions.dedup();
        Ok(Snapshot {
            taken: Instant::now(),
            api_versions: Arc::new(api_versions),
            server_version: info.git_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_api_versions() {
        assert_eq!(split_api_version("v1"), ("", "v1"));
        assert_eq!(split_api_version("apps/v1"), ("apps", "v1"));
        assert_eq!(
            split_api_version("signet.dev/v1alpha1"),
            ("signet.dev", "v1alpha1")
        );
    }
}
