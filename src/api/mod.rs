//! The `SignedChartRelease` custom resource (`signet.dev/v1alpha1`): spec, status and conditions.

/// The CRD as YAML, exactly as committed under `crds/`.
pub fn crd_yaml() -> anyhow::Result<String> {
    anyhow::bail!("the SignedChartRelease CRD is not generated yet")
}
