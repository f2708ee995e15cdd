//! References from a `SignedChartRelease` to other objects: Secrets, ConfigMaps, and other releases.
//!
//! Every reference is local to the release's own namespace on purpose: a namespaced user must not
//! be able to point the controller at credentials or keys in a namespace they cannot read.

use super::spec::{DATA_KEY_PATTERN, DNS1123_LABEL_PATTERN, DNS1123_SUBDOMAIN_PATTERN};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A reference to a Secret in the namespace of the SignedChartRelease.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretReference {
    /// Name of the Secret, in the namespace of the SignedChartRelease.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = DNS1123_SUBDOMAIN_PATTERN)
    )]
    pub name: String,
}

/// A reference to one key of a Secret in the namespace of the SignedChartRelease.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyReference {
    /// Name of the Secret, in the namespace of the SignedChartRelease.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = DNS1123_SUBDOMAIN_PATTERN)
    )]
    pub name: String,
    /// Key in the Secret's data that holds the value.
    #[schemars(length(min = 1, max = 253), regex(pattern = DATA_KEY_PATTERN))]
    pub key: String,
}

/// Which kind of object a [`DataReference`] points at.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DataSourceKind {
    /// A ConfigMap (`data` or `binaryData`).
    ConfigMap,
    /// A Secret (`data`).
    Secret,
}

/// A reference to one key of a ConfigMap or Secret in the namespace of the SignedChartRelease.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataReference {
    /// Kind of the object holding the data: `ConfigMap` or `Secret`.
    pub kind: DataSourceKind,
    /// Name of the ConfigMap or Secret, in the namespace of the SignedChartRelease.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = DNS1123_SUBDOMAIN_PATTERN)
    )]
    pub name: String,
    /// Key in the object's data that holds the value.
    #[schemars(length(min = 1, max = 253), regex(pattern = DATA_KEY_PATTERN))]
    pub key: String,
}

/// A SignedChartRelease that must be Ready before this one is reconciled.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    /// Name of the SignedChartRelease this release depends on.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = DNS1123_SUBDOMAIN_PATTERN)
    )]
    pub name: String,
    /// Namespace of that SignedChartRelease. Defaults to the namespace of this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = DNS1123_LABEL_PATTERN)
    )]
    pub namespace: Option<String>,
}
