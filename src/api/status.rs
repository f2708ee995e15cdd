//! The observed state of a `SignedChartRelease`: conditions, the revisions attempted and applied, the
//! verified signers, and the inventory of applied objects.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the controller last observed and did.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedChartReleaseStatus {
    /// The `metadata.generation` of the spec this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions: `Ready` (the summary), `Reconciling`, `Stalled`, and the step conditions
    /// `SourceVerified`, `Applied` and `Healthy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The chart revision of the most recent attempt, successful or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<ChartRevision>,
    /// The chart revision that was last verified, applied and found healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<ChartRevision>,
    /// The authorities whose signatures verified for the last applied revision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub verified_signers: Vec<VerifiedSigner>,
    /// The objects applied for the last applied revision; the prune and uninstall steps delete
    /// from this list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub inventory: Vec<InventoryEntry>,
    /// SHA-256 over what the last applied manifests were rendered from (chart digest, merged
    /// values, generation, controller version). While it matches, the controller re-applies the
    /// same manifests instead of rendering again, so random values stay stable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 71))]
    pub applied_inputs_digest: Option<String>,
    /// SHA-256 of the last applied manifest text as recorded in the Helm release. After a restart
    /// the controller re-applies the recorded manifest only when it hashes to this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 71))]
    pub applied_manifest_digest: Option<String>,
}

/// One chart artifact: its version and manifest digest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartRevision {
    /// The chart version (from `Chart.yaml`).
    pub version: String,
    /// The OCI manifest digest of the chart artifact, `sha256:...`.
    pub digest: String,
}

/// A signer that verified.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedSigner {
    /// Name of the matching authority in `spec.verify.authorities`.
    pub authority: String,
    /// For keyless signatures: the OIDC issuer in the signing certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// For keyless signatures: the subject (identity) in the signing certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// For key-based signatures: the SHA-256 fingerprint of the public key, `sha256:...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<String>,
}

/// An object applied by the controller.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryEntry {
    /// API version of the object, e.g. `apps/v1`.
    pub api_version: String,
    /// Kind of the object, e.g. `Deployment`.
    pub kind: String,
    /// Namespace of the object; empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name of the object.
    pub name: String,
}
