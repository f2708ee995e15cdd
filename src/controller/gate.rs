//! Steps 1 and 2: validate what the API server cannot (`api::validate`), then gate — a suspended
//! release does nothing, and a release waits until every release in `dependsOn` is Ready for its
//! current generation.

use super::status::is_ready;
use crate::api::SignedChartRelease;
use crate::api::ValidationErrors;
use crate::api::conditions::reasons;
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

/// The spec breaks a rule; only a new generation can fix it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(#[from] pub ValidationErrors);

impl SpecError {
    pub fn reason(&self) -> &'static str {
        reasons::INVALID_SPEC
    }
}

/// Step 1.
pub fn validate(release: &SignedChartRelease) -> Result<(), SpecError> {
    release.validate()?;
    // Durations already match the pattern; parsing can still overflow.
    release.interval().map_err(|e| ValidationErrors(vec![e]))?;
    release.timeout().map_err(|e| ValidationErrors(vec![e]))?;
    release
        .uninstall_timeout()
        .map_err(|e| ValidationErrors(vec![e]))?;
    Ok(())
}

/// Why the release does not proceed now.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GateError {
    #[error("reconciliation is suspended (spec.suspend); nothing is pulled, applied or pruned")]
    Suspended,
    #[error("waiting for {0}")]
    DependencyNotReady(String),
}

impl GateError {
    pub fn reason(&self) -> &'static str {
        match self {
            GateError::Suspended => reasons::SUSPENDED,
            GateError::DependencyNotReady(_) => reasons::DEPENDENCY_NOT_READY,
        }
    }
}

/// Step 2, against the reflector's view of the other releases.
pub fn gate(
    release: &SignedChartRelease,
    releases: &Store<SignedChartRelease>,
) -> Result<(), GateError> {
    if release.spec.suspend {
        return Err(GateError::Suspended);
    }
    let own_ns = release.namespace().unwrap_or_default();
    let mut waiting = Vec::new();
    for dep in &release.spec.depends_on {
        let ns = dep.namespace.clone().unwrap_or_else(|| own_ns.clone());
        let found = releases.get(&ObjectRef::new(&dep.name).within(&ns));
        match found {
            None => waiting.push(format!("{ns}/{} (not found)", dep.name)),
            Some(d) if !is_ready(d.status.as_ref(), d.metadata.generation) => {
                waiting.push(format!("{ns}/{} to be Ready", dep.name));
            }
            Some(_) => {}
        }
    }
    if waiting.is_empty() {
        Ok(())
    } else {
        Err(GateError::DependencyNotReady(waiting.join(", ")))
    }
}

/// Whether `release` depends on the release `namespace/name`.
pub fn depends_on(release: &SignedChartRelease, namespace: &str, name: &str) -> bool {
    let own_ns = release.namespace().unwrap_or_default();
    release
        .spec
        .depends_on
        .iter()
        .any(|d| d.name == name && d.namespace.as_deref().unwrap_or(&own_ns) == namespace)
}
