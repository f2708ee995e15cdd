//! The `SignedChartRelease` custom resource (`signet.dev/v1alpha1`): spec, status and conditions,
//! the generated CustomResourceDefinition, and client-side validation mirroring its rules.
//!
//! Files: `spec` (desired state), `verification` (signature policy), `refs` (references to
//! Secrets, ConfigMaps and other releases), `status` (observed state), `conditions` (condition
//! vocabulary and the `Ready` summary), `validate` (the Rust mirror of the CRD's OpenAPI and CEL
//! rules), `postrender` (`spec.postRenderers`), `effective` (defaulted and parsed spec values for the reconciler).

pub mod conditions;
mod effective;
pub mod postrender;
pub mod refs;
pub mod spec;
pub mod status;
pub mod validate;
pub mod verification;

pub use postrender::{
    ImageOverride, KustomizePatch, KustomizePostRenderer, LabelSet, PatchSelector, PostRenderer,
};
pub use refs::{
    DataReference, DataSourceKind, DependencyReference, SecretKeyReference, SecretReference,
};
pub use spec::{
    ChartSource, CrdPolicy, DeletionPolicy, HealthCheckReference, HealthPolicy, InstallPolicy,
    InstallRemediation, RegistryAccess, RemediationStrategy, SignedChartRelease,
    SignedChartReleaseSpec, UninstallPolicy, UpgradePolicy, UpgradeRemediation, ValuesReference,
};
pub use status::{ChartRevision, InventoryEntry, SignedChartReleaseStatus, VerifiedSigner};
pub use validate::{FieldError, ValidationErrors};
pub use verification::{
    Authority, KeyAuthority, KeylessAuthority, KeylessIdentity, VerificationPolicy,
};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, ValidationRule,
};
use kube::CustomResourceExt;

/// The API group of Signet's resources.
pub const GROUP: &str = "signet.dev";
/// The served and stored version.
pub const VERSION: &str = "v1alpha1";
/// Where `make crds` writes [`crd_yaml`], relative to the workspace root.
pub const CRD_PATH: &str = "crds/signet.dev_signedchartreleases.yaml";

/// Errors producing the CRD.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// The derived CRD has no `openAPIV3Schema` to attach the root rules to (a bug in the types).
    #[error("the generated CRD has no openAPIV3Schema for version {VERSION}")]
    MissingSchema,
    /// Serialising to YAML failed.
    #[error("cannot serialise the CRD to YAML: {0}")]
    Yaml(String),
}

/// The CustomResourceDefinition, with the root-level rules that involve `metadata.name` (which
/// cannot live on the spec's own schema).
pub fn crd() -> Result<CustomResourceDefinition, CrdError> {
    let mut crd = SignedChartRelease::crd();
    let schema = crd
        .spec
        .versions
        .iter_mut()
        .find(|v| v.name == VERSION)
        .and_then(|v| v.schema.as_mut())
        .and_then(|s| s.open_api_v3_schema.as_mut())
        .ok_or(CrdError::MissingSchema)?;
    // The root rules compare against metadata.name. Bounding it (the only metadata field a CRD
    // schema may constrain, besides generateName) keeps the API server's CEL cost estimate for
    // those rules small; 253 is the limit the API server enforces anyway. The API server refuses
    // any other keyword on the root `metadata` schema (even a description): only `type` and the
    // `name`/`generateName` properties.
    schema
        .properties
        .get_or_insert_with(Default::default)
        .insert(
            "metadata".to_owned(),
            JSONSchemaProps {
                type_: Some("object".to_owned()),
                properties: Some(
                    [(
                        "name".to_owned(),
                        JSONSchemaProps {
                            type_: Some("string".to_owned()),
                            max_length: Some(253),
                            description: Some("Name of the SignedChartRelease.".to_owned()),
                            ..JSONSchemaProps::default()
                        },
                    )]
                    .into(),
                ),
                ..JSONSchemaProps::default()
            },
        );
    schema.x_kubernetes_validations.get_or_insert_with(Vec::new).extend([
        ValidationRule {
            rule: "has(self.spec.releaseName) || size(self.metadata.name) <= 53".to_owned(),
            message: Some(
                "spec.releaseName must be set because metadata.name is longer than 53 characters \
                 (Helm release names are at most 53)"
                    .to_owned(),
            ),
            field_path: Some(".spec.releaseName".to_owned()),
            ..ValidationRule::default()
        },
        ValidationRule {
            rule: "!has(self.spec.dependsOn) || !self.spec.dependsOn.exists(d, d.name == self.metadata.name && !has(d.namespace))"
                .to_owned(),
            message: Some("a release cannot depend on itself".to_owned()),
            field_path: Some(".spec.dependsOn".to_owned()),
            ..ValidationRule::default()
        },
    ]);
    Ok(crd)
}

/// The CRD as YAML, exactly as committed under `crds/` (regenerate with `make crds`).
pub fn crd_yaml() -> Result<String, CrdError> {
    let crd = crd()?;
    // Through serde_json::Value so the key order is the derive order and stays deterministic.
    let value = serde_json::to_value(&crd).map_err(|e| CrdError::Yaml(e.to_string()))?;
    let body = serde_saphyr::to_string(&value).map_err(|e| CrdError::Yaml(e.to_string()))?;
    Ok(format!(
        "# Generated by `signet crd` from src/api/ — do not edit; run `make crds` after changing the types.\n{body}"
    ))
}
