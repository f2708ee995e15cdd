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

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::reflector::store::Writer;
    use kube::runtime::watcher;

    fn release(
        name: &str,
        spec: serde_json::Value,
        status: serde_json::Value,
    ) -> SignedChartRelease {
        let mut base = serde_json::json!({
            "chart": {"repository": "oci://r.example/c/a", "version": "1.0.0"},
            "verify": {"authorities": [{"name": "a", "key": {"secretRef": {"name": "k", "key": "cosign.pub"}}}]},
        });
        if let (Some(b), Some(extra)) = (base.as_object_mut(), spec.as_object()) {
            b.extend(extra.clone());
        }
        serde_json::from_value(serde_json::json!({
            "apiVersion": "signet.dev/v1alpha1",
            "kind": "SignedChartRelease",
            "metadata": {"name": name, "namespace": "apps", "generation": 2},
            "spec": base,
            "status": status,
        }))
        .unwrap()
    }

    fn ready(generation: i64) -> serde_json::Value {
        serde_json::json!({"conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
            "message": "", "observedGeneration": generation,
            "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
    }

    fn store(objs: Vec<SignedChartRelease>) -> Store<SignedChartRelease> {
        let mut writer = Writer::default();
        for o in objs {
            writer.apply_watcher_event(&watcher::Event::Apply(o));
        }
        writer.as_reader()
    }

    #[test]
    fn suspend_and_dependencies_gate_in_order() {
        let app = release(
            "app",
            serde_json::json!({"dependsOn": [{"name": "base"}, {"name": "db", "namespace": "data"}]}),
            serde_json::json!({}),
        );
        let e = gate(&app, &store(vec![])).unwrap_err();
        assert_eq!(e.reason(), reasons::DEPENDENCY_NOT_READY);
        assert!(e.to_string().contains("apps/base (not found)"), "{e}");
        assert!(e.to_string().contains("data/db (not found)"), "{e}");

        let base_stale = release("base", serde_json::json!({}), ready(1));
        let mut db = release("db", serde_json::json!({}), ready(2));
        db.metadata.namespace = Some("data".into());
        let e = gate(&app, &store(vec![base_stale, db.clone()])).unwrap_err();
        assert_eq!(
            e,
            GateError::DependencyNotReady("apps/base to be Ready".into()),
            "Ready for an older generation does not count"
        );
        let base = release("base", serde_json::json!({}), ready(2));
        assert_eq!(gate(&app, &store(vec![base.clone(), db])), Ok(()));
        assert!(depends_on(&app, "apps", "base"));
        assert!(!depends_on(&app, "other", "base"));

        let mut suspended = app.clone();
        suspended.spec.suspend = true;
        assert_eq!(
            gate(&suspended, &store(vec![base])),
            Err(GateError::Suspended)
        );
    }

    #[test]
    fn validation_names_the_field() {
        let bad = release(
            "r",
            serde_json::json!({"interval": "soon"}),
            serde_json::json!({}),
        );
        let e = validate(&bad).unwrap_err();
        assert_eq!(e.reason(), reasons::INVALID_SPEC);
        assert!(e.to_string().contains("spec.interval"), "{e}");
        assert!(validate(&release("r", serde_json::json!({}), serde_json::json!({}))).is_ok());
    }
}
