//! Reading the Secrets and ConfigMaps a release references (registry credentials, CA, public
//! keys, trust root, values), always by name in the release's own namespace, through the
//! controller's own client. Contents never reach logs or messages, only names and keys.

use crate::api::DataSourceKind;
use crate::api::conditions::reasons;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;

/// A referenced object or key that is missing or unreadable.
#[derive(Debug, thiserror::Error)]
pub enum RefError {
    #[error("{kind} {namespace}/{name} not found")]
    NotFound {
        kind: &'static str,
        namespace: String,
        name: String,
    },
    #[error("{kind} {namespace}/{name} has no key {key:?}")]
    MissingKey {
        kind: &'static str,
        namespace: String,
        name: String,
        key: String,
    },
    #[error("{kind} {namespace}/{name} key {key:?} is not UTF-8 text")]
    NotText {
        kind: &'static str,
        namespace: String,
        name: String,
        key: String,
    },
    #[error("cannot read {kind} {namespace}/{name}: {source}")]
    Api {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
}

impl RefError {
    pub fn reason(&self) -> &'static str {
        reasons::REFERENCE_NOT_FOUND
    }

    /// Whether the object or key is simply absent (what `optional` forgives).
    pub fn is_absent(&self) -> bool {
        matches!(
            self,
            RefError::NotFound { .. } | RefError::MissingKey { .. }
        )
    }
}

fn kind_name(kind: DataSourceKind) -> &'static str {
    match kind {
        DataSourceKind::ConfigMap => "ConfigMap",
        DataSourceKind::Secret => "Secret",
    }
}

/// The bytes under `key` of a ConfigMap (`data` or `binaryData`) or Secret (`data`).
pub async fn read_bytes(
    client: &kube::Client,
    namespace: &str,
    kind: DataSourceKind,
    name: &str,
    key: &str,
) -> Result<Vec<u8>, RefError> {
    let k = kind_name(kind);
    let api_err = |source| RefError::Api {
        kind: k,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        source: Box::new(source),
    };
    let not_found = || RefError::NotFound {
        kind: k,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    };
    let value = match kind {
        DataSourceKind::ConfigMap => {
            let cm = Api::<ConfigMap>::namespaced(client.clone(), namespace)
                .get_opt(name)
                .await
                .map_err(api_err)?
                .ok_or_else(not_found)?;
            cm.data
                .and_then(|mut d| d.remove(key))
                .map(String::into_bytes)
                .or_else(|| cm.binary_data.and_then(|mut d| d.remove(key)).map(|b| b.0))
        }
        DataSourceKind::Secret => {
            let secret = Api::<Secret>::namespaced(client.clone(), namespace)
                .get_opt(name)
                .await
                .map_err(api_err)?
                .ok_or_else(not_found)?;
            secret
                .data
                .and_then(|mut d| d.remove(key))
                .map(|b| b.0)
                .or_else(|| {
                    secret
                        .string_data
                        .and_then(|mut d| d.remove(key))
                        .map(String::into_bytes)
                })
        }
    };
    value.ok_or_else(|| RefError::MissingKey {
        kind: k,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        key: key.to_owned(),
    })
}

/// Like [`read_bytes`], as UTF-8 text.
pub async fn read_text(
    client: &kube::Client,
    namespace: &str,
    kind: DataSourceKind,
    name: &str,
    key: &str,
) -> Result<String, RefError> {
    let bytes = read_bytes(client, namespace, kind, name, key).await?;
    String::from_utf8(bytes).map_err(|_| RefError::NotText {
        kind: kind_name(kind),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        key: key.to_owned(),
    })
}
