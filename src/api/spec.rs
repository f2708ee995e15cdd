//! The desired state of a `SignedChartRelease`: which chart to fetch from which registry, who must
//! have signed it, which values to render it with, and how to apply, check and remove it.

use super::postrender::PostRenderer;
use super::refs::{DataSourceKind, DependencyReference, SecretReference};
use super::status::SignedChartReleaseStatus;
use super::verification::VerificationPolicy;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Regular expression (RE2 and Rust `regex` alike) for a Go-style duration such as `30s`, `5m` or
/// `1h30m`, the format of `interval` and `timeout` fields.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";
/// Regular expression for an `oci://` chart repository: a registry host with an optional port,
/// then one or more lowercase repository path components, and no tag or digest.
pub const OCI_REPOSITORY_PATTERN: &str = r"^oci://[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)+$";
/// Regular expression for a pinned manifest digest.
pub const DIGEST_PATTERN: &str = r"^sha256:[a-f0-9]{64}$";
/// Regular expression for a DNS-1123 label: namespaces and authority names.
pub const DNS1123_LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// Regular expression for a DNS-1123 subdomain: the names of Secrets, ConfigMaps and releases.
pub const DNS1123_SUBDOMAIN_PATTERN: &str = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$";
/// Regular expression for a key in a ConfigMap's or Secret's data.
pub const DATA_KEY_PATTERN: &str = r"^[-._a-zA-Z0-9]+$";
/// Characters a chart version or SemVer range may contain.
pub const VERSION_CHARS_PATTERN: &str = r"^[0-9A-Za-z.+*^~<>=!|, -]+$";
/// Regular expression for a values target path: dot-separated keys with optional `[index]` parts.
pub const TARGET_PATH_PATTERN: &str = r"^([a-zA-Z0-9_\-.\\/]|\[[0-9]{1,5}\])+$";

/// The desired state: which chart to install from which registry, who must have signed it, the
/// values to render it with, and how to apply, check and remove it.
// The printer columns repeat `type_ = "string"`, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "signet.dev",
    version = "v1alpha1",
    kind = "SignedChartRelease",
    plural = "signedchartreleases",
    shortname = "scr",
    category = "signet",
    namespaced,
    status = "SignedChartReleaseStatus",
    derive = "PartialEq",
    doc = "A Helm chart stored as an OCI artifact, verified against a signature policy, rendered with the given values and applied to the cluster with server-side apply.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether the release is verified, applied and healthy"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        description = "Human-readable summary of the Ready condition"
    ),
    printcolumn(
        name = "Version",
        type_ = "string",
        json_path = ".status.lastAppliedRevision.version",
        description = "Chart version last applied"
    ),
    printcolumn(
        name = "Signer",
        type_ = "string",
        json_path = ".status.verifiedSigners[0].authority",
        description = "Authority whose signature verified the chart last applied"
    ),
    printcolumn(
        name = "Digest",
        type_ = "string",
        json_path = ".status.lastAppliedRevision.digest",
        description = "Manifest digest of the chart last applied",
        priority = "1"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SignedChartReleaseSpec {
    /// The chart to install: its OCI repository, version or version range, and optional digest pin.
    pub chart: ChartSource,
    /// Who must have signed the chart. Nothing is rendered or applied until the signatures verify.
    pub verify: VerificationPolicy,
    /// Inline Helm values, merged over the chart's `values.yaml` and over `valuesFrom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "values_schema")]
    pub values: Option<serde_json::Map<String, serde_json::Value>>,
    /// Values read from ConfigMaps and Secrets, merged in order (later entries win), before the
    /// inline `values`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), extend("x-kubernetes-list-type" = "atomic"))]
    pub values_from: Vec<ValuesReference>,
    /// Helm release name, visible to templates as `.Release.Name`. Defaults to the name of this
    /// object. At most 53 characters, a DNS-1123 label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 53),
        regex(pattern = DNS1123_LABEL_PATTERN)
    )]
    pub release_name: Option<String>,
    /// Namespace the chart's namespaced objects are installed into (`.Release.Namespace`). Defaults
    /// to the namespace of this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = DNS1123_LABEL_PATTERN)
    )]
    pub target_namespace: Option<String>,
    /// ServiceAccount, in the namespace of this object, that the controller impersonates to apply,
    /// check and delete the chart's objects. When unset, the controller's own identity is used;
    /// cluster administrators can require it to be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = DNS1123_SUBDOMAIN_PATTERN)
    )]
    pub service_account_name: Option<String>,
    /// How often to look for a new chart version and correct drift, as a Go duration
    /// (e.g. `10m`, `1h`). At least 1s. Defaults to 10m.
    #[serde(default = "default_interval")]
    #[schemars(length(max = 32), regex(pattern = DURATION_PATTERN))]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "duration(self) >= duration('1s')", "message": "interval must be at least 1s"}
    ]))]
    pub interval: String,
    /// How long one attempt (pull, verify, render, apply and wait) may take before it fails, as a Go
    /// duration. Defaults to 5m.
    #[serde(default = "default_timeout")]
    #[schemars(length(max = 32), regex(pattern = DURATION_PATTERN))]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "duration(self) > duration('0s')", "message": "timeout must be longer than 0s"}
    ]))]
    pub timeout: String,
    /// Stop reconciling this release: nothing is pulled, applied or pruned until it is set back to
    /// false. Existing objects are left as they are.
    #[serde(default)]
    pub suspend: bool,
    /// Other SignedChartReleases that must be Ready before this one is applied, e.g. a release that
    /// installs CRDs or an ingress controller.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), extend("x-kubernetes-list-type" = "atomic"))]
    pub depends_on: Vec<DependencyReference>,
    /// Delete objects that an earlier revision applied but the current one no longer renders.
    /// Defaults to true.
    #[serde(default = "default_true")]
    pub prune: bool,
    /// Health checking after apply. By default the controller waits for the applied objects to
    /// become ready (Deployments rolled out, Jobs complete, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthPolicy>,
    /// What to do with CustomResourceDefinitions in the chart's `crds/` directory.
    #[serde(default)]
    pub crds: CrdPolicy,
    /// What happens to the applied objects when this SignedChartRelease is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uninstall: Option<UninstallPolicy>,
    /// What to do when the first install fails (no revision of the release was ever deployed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<InstallPolicy>,
    /// What to do when an upgrade fails (a later revision after one was deployed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradePolicy>,
    /// Kustomize-style patches, image overrides, labels and annotations applied, in order, to the
    /// rendered manifests and hooks before they are applied (Flux's `postRenderers`). Hooks are
    /// post-rendered too, as Helm 4 does; Flux, on Helm 3, leaves them as rendered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8), extend("x-kubernetes-list-type" = "atomic"))]
    pub post_renderers: Vec<PostRenderer>,
}

/// Where the chart comes from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartSource {
    /// OCI repository of the chart, `oci://HOST[:PORT]/PATH/NAME`, without tag or digest, e.g.
    /// `oci://ghcr.io/example/charts/podinfo`.
    #[schemars(length(min = 8, max = 512))]
    #[schemars(extend("x-kubernetes-validations" = [
        {
            // The pattern the Rust validator checks too.
            "rule": format!("self.matches(r'{OCI_REPOSITORY_PATTERN}')"),
            "message": "must be an oci:// repository URL such as oci://registry.example.com/charts/name, with a lowercase path and no tag or digest"
        }
    ]))]
    pub repository: String,
    /// Chart version to install: an exact SemVer version (`1.4.2`) or a SemVer range (`>=1.4.0 <2`,
    /// `~1.4`, `^1`, `1.x`); the highest matching version published as a tag is used. When unset,
    /// the highest stable version is used, unless `digest` pins the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 128),
        regex(pattern = VERSION_CHARS_PATTERN)
    )]
    pub version: Option<String>,
    /// Pin the chart artifact to this OCI manifest digest (`sha256:` and 64 lowercase hex digits).
    /// When `version` is also set, the pinned chart's version must satisfy it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": r"self.matches(r'^sha256:[a-f0-9]{64}$')", "message": "must be sha256: followed by 64 lowercase hex digits"}
    ]))]
    #[schemars(length(max = 71))]
    pub digest: Option<String>,
    /// How to reach the registry: credentials, custom CA and plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryAccess>,
}

/// Registry connection settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!(self.plainHTTP && has(self.caSecretRef))",
        "message": "caSecretRef cannot be used with plainHTTP: a plain-HTTP registry has no TLS to verify"
    }
]))]
pub struct RegistryAccess {
    /// Secret of type `kubernetes.io/dockerconfigjson` with the registry credentials (as created by
    /// `kubectl create secret docker-registry`). Anonymous access when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretReference>,
    /// Secret with a PEM CA bundle under the key `ca.crt`, trusted in addition to the system roots
    /// for the registry's TLS certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<SecretReference>,
    /// Talk plain HTTP instead of HTTPS (local development registries only). Defaults to false.
    #[serde(default, rename = "plainHTTP")]
    pub plain_http: bool,
}

/// Values read from a key of a ConfigMap or Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuesReference {
    /// Kind of the object holding the values: `ConfigMap` or `Secret`.
    pub kind: DataSourceKind,
    /// Name of the ConfigMap or Secret, in the namespace of the SignedChartRelease.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = DNS1123_SUBDOMAIN_PATTERN)
    )]
    pub name: String,
    /// Key in the object's data holding the values. Defaults to `values.yaml`.
    #[serde(default = "default_values_key")]
    #[schemars(length(min = 1, max = 253), regex(pattern = DATA_KEY_PATTERN))]
    pub values_key: String,
    /// Where to put the value: a dot-separated path such as `ingress.tls[0].secretName`. When set,
    /// the whole content of the key is used as a single (string) value at that path; when unset,
    /// the content is parsed as a YAML values document and merged at the top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 250))]
    #[schemars(extend("x-kubernetes-validations" = [
        {
            "rule": r"self.matches(r'^([a-zA-Z0-9_\-.\\/]|\[[0-9]{1,5}\])+$')",
            "message": "must be a dot-separated values path such as a.b[0].c"
        }
    ]))]
    pub target_path: Option<String>,
    /// Do not fail when the object or key does not exist; the reference is then skipped.
    /// Defaults to false.
    #[serde(default)]
    pub optional: bool,
}

/// Health checking after apply.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthPolicy {
    /// Wait for the applied objects to become ready before reporting the release Ready.
    /// Defaults to true.
    #[serde(default = "default_true")]
    pub wait: bool,
    /// Additional objects, not part of the chart, that must be ready as well (e.g. a Deployment
    /// created by an operator the chart installs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), extend("x-kubernetes-list-type" = "atomic"))]
    pub checks: Vec<HealthCheckReference>,
}

/// An object to check for readiness.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckReference {
    /// API version of the object, e.g. `apps/v1`.
    #[schemars(length(min = 1, max = 253))]
    pub api_version: String,
    /// Kind of the object, e.g. `Deployment`.
    #[schemars(length(min = 1, max = 63))]
    pub kind: String,
    /// Name of the object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the object. Defaults to the target namespace of the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// Handling of the CustomResourceDefinitions in the chart's `crds/` directory.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CrdPolicy {
    /// Do not install CRDs from `crds/`.
    Skip,
    /// Create CRDs that do not exist yet and leave existing ones alone, like Helm.
    #[default]
    Create,
    /// Create missing CRDs and update existing ones to the chart's definition.
    CreateReplace,
}

/// Removal of the release's objects.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UninstallPolicy {
    /// `Delete` (the default) removes every object in the inventory when the SignedChartRelease is
    /// deleted; `Orphan` leaves them in the cluster.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// How long to wait for the deletion to finish, as a Go duration. Defaults to `spec.timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = DURATION_PATTERN))]
    pub timeout: Option<String>,
}

/// What to do with applied objects when the release is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the applied objects.
    #[default]
    Delete,
    /// Leave the applied objects in the cluster.
    Orphan,
}

/// Handling of a failed first install.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallPolicy {
    /// Remediation of a failed install. When unset, a failed install is recorded `failed` in the
    /// Helm history and retried with backoff, with nothing uninstalled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<InstallRemediation>,
}

/// After `retries` further failed attempts of the same inputs, the release is uninstalled (its
/// objects deleted, its Helm history kept as `uninstalled`), like `helm install
/// --rollback-on-failure` and Flux's install remediation. It is not tried again until an input
/// changes (the chart digest, values, or the spec).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallRemediation {
    /// How many more times to try a failed install before uninstalling, 0 to 100. Defaults to 0.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "self >= 0 && self <= 100", "message": "retries must be between 0 and 100"}
    ]))]
    pub retries: i32,
}

/// Handling of a failed upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradePolicy {
    /// Remediation of a failed upgrade. When unset, a failed upgrade is recorded `failed` in the
    /// Helm history and retried with backoff; the objects stay as the failed attempt left them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<UpgradeRemediation>,
}

/// After `retries` further failed attempts of the same inputs, `strategy` runs: `rollback`
/// re-applies the last deployed revision's manifests as a new revision ("Rollback to N", as
/// `helm rollback` and `helm upgrade --rollback-on-failure` record it), `uninstall` removes the
/// release. The release then reports `Ready=False` (reason `RolledBack` or `Uninstalled`) with the
/// failure, and is not tried again until an input changes (the chart digest, values, or the spec).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeRemediation {
    /// How many more times to try a failed upgrade before remediating, 0 to 100. Defaults to 0.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "self >= 0 && self <= 100", "message": "retries must be between 0 and 100"}
    ]))]
    pub retries: i32,
    /// `rollback` (the default) or `uninstall`.
    #[serde(default)]
    pub strategy: RemediationStrategy,
}

/// How a failed upgrade is remediated.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RemediationStrategy {
    /// Re-apply the last deployed revision, recorded as a new revision.
    #[default]
    Rollback,
    /// Delete the release's objects and mark its history `uninstalled`.
    Uninstall,
}

/// Helm values are free-form: an object whose fields the API server keeps as given.
fn values_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "description": "Inline Helm values, merged over the chart's `values.yaml` and over `valuesFrom`."
    })
}

fn default_interval() -> String {
    "10m".to_owned()
}

fn default_timeout() -> String {
    "5m".to_owned()
}

fn default_values_key() -> String {
    "values.yaml".to_owned()
}

fn default_true() -> bool {
    true
}
