//! The render crate's `lookup` over a kube client, with Helm's semantics: the object as a map, a
//! `{items: [...]}` list when the name is empty, an empty map when nothing is found; any other API
//! error (Forbidden under impersonation, an unknown apiVersion) fails the render.
//!
//! Rendering is synchronous and runs on a blocking thread; each call runs its requests on the
//! captured runtime `Handle` from a short-lived scoped thread, so it cannot panic by blocking
//! inside an async context whatever thread the renderer calls from.

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams, TypeMeta};
use serde_json::{Value as Json, json};
use signet_render::render::Lookup;
use tokio::runtime::Handle;

use super::error::is_not_found;
use super::kinds::Kinds;

/// One lookup may take this long before the render fails.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(30);

/// `lookup` reading live objects through `client` (the release's, impersonating when configured).
#[derive(Clone)]
pub struct ClusterLookup {
    client: kube::Client,
    kinds: Arc<Kinds>,
    handle: Handle,
}

impl ClusterLookup {
    /// Lookups through `client`, with requests run on `handle`'s runtime.
    pub fn new(client: kube::Client, kinds: Arc<Kinds>, handle: Handle) -> Self {
        ClusterLookup {
            client,
            kinds,
            handle,
        }
    }

    /// The lookup as JSON (what the template sees, before conversion to template values).
    pub async fn lookup_json(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Json, String> {
        let resolved = self
            .kinds
            .resolve(api_version, kind)
            .await
            .map_err(|e| e.to_string())?;
        let r = &resolved.resource;
        // Helm: a namespaced kind with an empty namespace is read across all namespaces.
        let api: Api<DynamicObject> = if resolved.namespaced && !namespace.is_empty() {
            Api::namespaced_with(self.client.clone(), namespace, r)
        } else {
            Api::all_with(self.client.clone(), r)
        };
        let types = TypeMeta {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
        };
        if !name.is_empty() {
            return match api.get(name).await {
                Ok(mut obj) => {
                    obj.types.get_or_insert(types);
                    serde_json::to_value(obj).map_err(|e| e.to_string())
                }
                Err(e) if is_not_found(&e) => Ok(json!({})),
                Err(e) => Err(lookup_error(e)),
            };
        }
        match api.list(&ListParams::default()).await {
            Ok(list) => {
                let items = list
                    .items
                    .into_iter()
                    .map(|mut obj| {
                        obj.types.get_or_insert_with(|| types.clone());
                        serde_json::to_value(obj).map_err(|e| e.to_string())
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(json!({
                    "apiVersion": r.api_version,
                    "kind": format!("{}List", r.kind),
                    "metadata": {
                        "resourceVersion": list.metadata.resource_version.unwrap_or_default()
                    },
                    "items": items,
                }))
            }
            Err(e) if is_not_found(&e) => Ok(json!({})),
            Err(e) => Err(lookup_error(e)),
        }
    }
}

fn lookup_error(e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

impl Lookup for ClusterLookup {
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<signet_gotemplate::Value, String> {
        let fut = async {
            tokio::time::timeout(
                LOOKUP_TIMEOUT,
                self.lookup_json(api_version, kind, namespace, name),
            )
            .await
            .map_err(|_| format!("timed out after {LOOKUP_TIMEOUT:?}"))?
        };
        let result = std::thread::scope(|s| {
            s.spawn(|| self.handle.block_on(fut))
                .join()
                .unwrap_or_else(|_| Err("the lookup thread panicked".to_owned()))
        });
        result.map(|json| signet_gotemplate::Value::from_json(&json))
    }
}
