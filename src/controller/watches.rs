//! What triggers a reconcile besides the release itself: a ConfigMap or Secret labelled
//! `signet.dev/watch: "true"` that a release references (values, keys, trust root, registry
//! access), and a dependency becoming Ready. Mapped through the reflector's view of the releases,
//! so no extra API calls; the trigger also marks the release changed for the echo suppression.

use super::gate::depends_on;
use super::memory::Memory;
use super::status::is_ready;
use crate::api::{DataSourceKind, SignedChartRelease};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

/// The label that opts a ConfigMap or Secret into being watched.
pub const WATCH_LABEL: &str = "signet.dev/watch";

/// A changed ConfigMap or Secret.
pub struct Referenced {
    kind: DataSourceKind,
    namespace: String,
    name: String,
}

impl Referenced {
    pub fn config_map(cm: &ConfigMap) -> Self {
        Referenced {
            kind: DataSourceKind::ConfigMap,
            namespace: cm.namespace().unwrap_or_default(),
            name: cm.name_any(),
        }
    }

    pub fn secret(s: &Secret) -> Self {
        Referenced {
            kind: DataSourceKind::Secret,
            namespace: s.namespace().unwrap_or_default(),
            name: s.name_any(),
        }
    }
}

/// Whether `release` reads the object `r`.
pub fn references(release: &SignedChartRelease, r: &Referenced) -> bool {
    if release.namespace().as_deref() != Some(r.namespace.as_str()) {
        return false;
    }
    let spec = &release.spec;
    let is = |kind: DataSourceKind, name: &str| kind == r.kind && name == r.name;
    let secret = |name: &str| is(DataSourceKind::Secret, name);
    spec.values_from.iter().any(|v| is(v.kind, &v.name))
        || spec
            .verify
            .authorities
            .iter()
            .any(|a| a.key.as_ref().is_some_and(|k| secret(&k.secret_ref.name)))
        || spec
            .verify
            .trust_root
            .as_ref()
            .is_some_and(|t| is(t.kind, &t.name))
        || spec.chart.registry.as_ref().is_some_and(|reg| {
            reg.secret_ref.as_ref().is_some_and(|s| secret(&s.name))
                || reg.ca_secret_ref.as_ref().is_some_and(|s| secret(&s.name))
        })
}

/// The releases that reference `r`, marked changed.
pub fn referencing(
    store: &Store<SignedChartRelease>,
    memory: &Memory,
    r: Referenced,
) -> Vec<ObjectRef<SignedChartRelease>> {
    store
        .state()
        .iter()
        .filter(|rel| references(rel, &r))
        .map(|rel| {
            memory.mark_dirty(&super::reconcile::key(rel));
            ObjectRef::from_obj(rel.as_ref())
        })
        .collect()
}

/// When `release` is Ready for its generation: the releases waiting for it.
pub fn dependents(
    store: &Store<SignedChartRelease>,
    memory: &Memory,
    release: &SignedChartRelease,
) -> Vec<ObjectRef<SignedChartRelease>> {
    if !is_ready(release.status.as_ref(), release.metadata.generation) {
        return Vec::new();
    }
    let ns = release.namespace().unwrap_or_default();
    let name = release.name_any();
    store
        .state()
        .iter()
        .filter(|rel| depends_on(rel, &ns, &name))
        .filter(|rel| !is_ready(rel.status.as_ref(), rel.metadata.generation))
        .map(|rel| {
            memory.mark_dirty(&super::reconcile::key(rel));
            ObjectRef::from_obj(rel.as_ref())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(ns: &str, spec: serde_json::Value) -> SignedChartRelease {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "signet.dev/v1alpha1",
            "kind": "SignedChartRelease",
            "metadata": {"name": "r", "namespace": ns},
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn references_every_kind_of_reference_in_the_own_namespace_only() {
        let r = release(
            "apps",
            serde_json::json!({
                "chart": {"repository": "oci://r.example/c/a", "registry": {
                    "secretRef": {"name": "pull"}, "caSecretRef": {"name": "ca"}}},
                "verify": {
                    "authorities": [{"name": "a", "key": {"secretRef": {"name": "keys", "key": "cosign.pub"}}}],
                    "trustRoot": {"kind": "ConfigMap", "name": "root", "key": "trusted_root.json"}
                },
                "valuesFrom": [{"kind": "Secret", "name": "vals"}],
            }),
        );
        let obj = |kind, ns: &str, name: &str| Referenced {
            kind,
            namespace: ns.into(),
            name: name.into(),
        };
        use DataSourceKind::{ConfigMap as C, Secret as S};
        for (kind, name) in [
            (S, "pull"),
            (S, "ca"),
            (S, "keys"),
            (C, "root"),
            (S, "vals"),
        ] {
            assert!(references(&r, &obj(kind, "apps", name)), "{name}");
            assert!(
                !references(&r, &obj(kind, "other", name)),
                "{name} elsewhere"
            );
        }
        assert!(
            !references(&r, &obj(C, "apps", "vals")),
            "same name, other kind"
        );
        assert!(!references(&r, &obj(S, "apps", "root")));
        assert!(!references(&r, &obj(S, "apps", "unrelated")));
    }
}
