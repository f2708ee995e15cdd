//! Readiness of applied objects with kstatus semantics, polled until ready or a deadline.
//!
//! The rules ([`readiness`]) are pure functions over the object's JSON so they can be tested on
//! fixtures: workloads rolled out for their current generation, Jobs complete (a failed Job is a
//! failure, not a wait), PVCs bound, CRDs Established, LoadBalancer Services with an address,
//! anything else with `status.conditions` Ready for its generation, and objects without status ready.

use std::time::Duration;

use serde_json::Value as Json;
use tokio::time::Instant;

use super::applier::{Applier, path};
use super::error::ApplyError;
use super::objects::describe;
use crate::api::conditions::reasons;
use crate::api::{HealthCheckReference, InventoryEntry};

/// First poll interval; it doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(200);
const MAX_POLL: Duration = Duration::from_secs(2);

/// Why the objects are not healthy.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The deadline passed with an object still not ready.
    #[error("{object} is not ready: {why}")]
    NotReady {
        /// The first unready object, `Kind namespace/name`.
        object: String,
        /// What it is waiting for.
        why: String,
    },
    /// An object reached a terminal failure (a failed Job, a failed Pod).
    #[error("{object} failed: {why}")]
    Failed {
        /// The object, `Kind namespace/name`.
        object: String,
        /// The failure, from its status.
        why: String,
    },
    /// Reading the objects failed (Forbidden under impersonation, an API error).
    #[error("cannot check health: {0}")]
    Api(#[source] ApplyError),
}

impl HealthError {
    /// The condition reason: `HealthCheckFailed`.
    pub fn reason(&self) -> &'static str {
        reasons::HEALTH_CHECK_FAILED
    }

    /// Whether checking again later can succeed (a transient API error).
    pub fn is_transient(&self) -> bool {
        matches!(self, HealthError::Api(e) if e.is_transient())
    }
}

/// The readiness of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Ready (or nothing to wait for).
    Ready,
    /// Not ready yet, with why.
    InProgress(String),
    /// Will not become ready without a change, with why.
    Failed(String),
}

use Readiness::{Failed, InProgress, Ready};

fn int(v: &Json, keys: &[&str]) -> Option<i64> {
    path(v, keys).and_then(Json::as_i64)
}

fn string<'a>(v: &'a Json, keys: &[&str]) -> Option<&'a str> {
    path(v, keys).and_then(Json::as_str)
}

/// The condition of `type_` in `status.conditions`.
fn condition<'a>(obj: &'a Json, type_: &str) -> Option<&'a Json> {
    path(obj, &["status", "conditions"])?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Json::as_str) == Some(type_))
}

fn condition_is(obj: &Json, type_: &str, status: &str) -> bool {
    condition(obj, type_).and_then(|c| c.get("status")?.as_str()) == Some(status)
}

fn condition_message(obj: &Json, type_: &str) -> String {
    let c = condition(obj, type_);
    let field = |k: &str| {
        c.and_then(|c| c.get(k))
            .and_then(Json::as_str)
            .unwrap_or("")
    };
    match (field("reason"), field("message")) {
        ("", "") => format!("condition {type_} is not True"),
        (r, "") => format!("{type_}: {r}"),
        ("", m) => format!("{type_}: {m}"),
        (r, m) => format!("{type_}: {r}: {m}"),
    }
}

/// `InProgress` when the controller has not observed the current generation yet. `required`: the
/// kind's controller always writes observedGeneration, so its absence means not observed yet.
fn generation_observed(obj: &Json, required: bool) -> Option<Readiness> {
    let generation = int(obj, &["metadata", "generation"]);
    let observed = int(obj, &["status", "observedGeneration"]);
    match (generation, observed) {
        (Some(g), Some(o)) if o < g => Some(InProgress(format!(
            "status.observedGeneration {o} is behind metadata.generation {g}"
        ))),
        (_, None) if required => Some(InProgress(
            "its controller has not observed it yet (no status.observedGeneration)".to_owned(),
        )),
        _ => None,
    }
}

fn deployment(obj: &Json) -> Readiness {
    if let Some(r) = generation_observed(obj, true) {
        return r;
    }
    // The deployment controller gave up on this rollout (kstatus: Failed).
    if condition(obj, "Progressing")
        .and_then(|c| c.get("reason")?.as_str())
        .is_some_and(|r| r == "ProgressDeadlineExceeded")
    {
        return Failed(condition_message(obj, "Progressing"));
    }
    let want = int(obj, &["spec", "replicas"]).unwrap_or(1);
    let updated = int(obj, &["status", "updatedReplicas"]).unwrap_or(0);
    let available = int(obj, &["status", "availableReplicas"]).unwrap_or(0);
    let total = int(obj, &["status", "replicas"]).unwrap_or(0);
    if updated < want {
        return InProgress(format!("{updated} of {want} replicas updated"));
    }
    if total > updated {
        return InProgress(format!(
            "{} old replicas pending termination",
            total - updated
        ));
    }
    if available < want {
        return InProgress(format!("{available} of {want} replicas available"));
    }
    Ready
}

fn statefulset(obj: &Json) -> Readiness {
    if let Some(r) = generation_observed(obj, true) {
        return r;
    }
    let want = int(obj, &["spec", "replicas"]).unwrap_or(1);
    let ready = int(obj, &["status", "readyReplicas"]).unwrap_or(0);
    if ready < want {
        return InProgress(format!("{ready} of {want} replicas ready"));
    }
    if string(obj, &["spec", "updateStrategy", "type"]) == Some("OnDelete") {
        return Ready;
    }
    let partition = int(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
    )
    .unwrap_or(0);
    if partition > 0 {
        let updated = int(obj, &["status", "updatedReplicas"]).unwrap_or(0);
        let expected = (want - partition).max(0);
        if updated < expected {
            return InProgress(format!(
                "{updated} of {expected} replicas updated (partition {partition})"
            ));
        }
        return Ready;
    }
    let current = string(obj, &["status", "currentRevision"]);
    let update = string(obj, &["status", "updateRevision"]);
    if want > 0 && current != update {
        return InProgress(format!(
            "rolling out revision {} (current {})",
            update.unwrap_or("?"),
            current.unwrap_or("?")
        ));
    }
    Ready
}

fn daemonset(obj: &Json) -> Readiness {
    if let Some(r) = generation_observed(obj, true) {
        return r;
    }
    let desired = int(obj, &["status", "desiredNumberScheduled"]).unwrap_or(0);
    let updated = int(obj, &["status", "updatedNumberScheduled"]).unwrap_or(0);
    let ready = int(obj, &["status", "numberReady"]).unwrap_or(0);
    if updated < desired {
        return InProgress(format!("{updated} of {desired} pods updated"));
    }
    if ready < desired {
        return InProgress(format!("{ready} of {desired} pods ready"));
    }
    Ready
}

fn job(obj: &Json) -> Readiness {
    if condition_is(obj, "Failed", "True") {
        return Failed(condition_message(obj, "Failed"));
    }
    if condition_is(obj, "Complete", "True") {
        return Ready;
    }
    InProgress("not complete".to_owned())
}

fn pod(obj: &Json) -> Readiness {
    match string(obj, &["status", "phase"]) {
        Some("Succeeded") => Ready,
        Some("Failed") => Failed(
            string(obj, &["status", "message"])
                .unwrap_or("pod failed")
                .to_owned(),
        ),
        Some("Running") if condition_is(obj, "Ready", "True") => Ready,
        Some(phase) => InProgress(format!("phase {phase}")),
        None => InProgress("not scheduled yet".to_owned()),
    }
}

fn pvc(obj: &Json) -> Readiness {
    match string(obj, &["status", "phase"]) {
        Some("Bound") => Ready,
        Some("Lost") => Failed("its volume was lost".to_owned()),
        Some(phase) => InProgress(format!("phase {phase}, not Bound")),
        None => InProgress("not Bound".to_owned()),
    }
}

/// A CRD is ready when Established (also used while installing a chart's `crds/`).
pub(crate) fn crd_status(obj: &Json) -> Readiness {
    if condition_is(obj, "Established", "True") {
        Ready
    } else if condition_is(obj, "NamesAccepted", "False") {
        Failed(condition_message(obj, "NamesAccepted"))
    } else {
        InProgress("not Established".to_owned())
    }
}

fn service(obj: &Json) -> Readiness {
    if string(obj, &["spec", "type"]) != Some("LoadBalancer") {
        return Ready;
    }
    let has_address = path(obj, &["status", "loadBalancer", "ingress"])
        .and_then(Json::as_array)
        .is_some_and(|a| !a.is_empty());
    if has_address {
        Ready
    } else {
        InProgress("no load balancer address yet".to_owned())
    }
}

/// Any other kind: kstatus' generic rules over `status.conditions` and observedGeneration.
fn generic(obj: &Json) -> Readiness {
    if path(obj, &["status"]).is_none() {
        return Ready;
    }
    if let Some(r) = generation_observed(obj, false) {
        return r;
    }
    if condition_is(obj, "Stalled", "True") {
        return Failed(condition_message(obj, "Stalled"));
    }
    if condition_is(obj, "Reconciling", "True") {
        return InProgress(condition_message(obj, "Reconciling"));
    }
    if condition(obj, "Ready").is_some() && !condition_is(obj, "Ready", "True") {
        return InProgress(condition_message(obj, "Ready"));
    }
    Ready
}

/// The readiness of `obj` (full JSON, with metadata/spec/status) of `kind` in API group `group`.
pub fn readiness(group: &str, kind: &str, obj: &Json) -> Readiness {
    if path(obj, &["metadata", "deletionTimestamp"]).is_some_and(|t| !t.is_null()) {
        return InProgress("being deleted".to_owned());
    }
    match (group, kind) {
        ("apps", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => statefulset(obj),
        ("apps", "DaemonSet") => daemonset(obj),
        ("batch", "Job") => job(obj),
        ("", "Pod") => pod(obj),
        ("", "PersistentVolumeClaim") => pvc(obj),
        ("", "Service") => service(obj),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd_status(obj),
        _ => generic(obj),
    }
}

struct Target {
    entry: InventoryEntry,
    /// A health check names an object that may not exist yet (an operator creates it).
    optional_kind: bool,
}

async fn check(applier: &Applier, target: &mut Target) -> Result<Readiness, HealthError> {
    let e = &target.entry;
    let kind = match applier.kinds.resolve(&e.api_version, &e.kind).await {
        Ok(k) => k,
        Err(ApplyError::UnknownKind { .. }) if target.optional_kind => {
            return Ok(InProgress(format!(
                "{} {} is not served (yet)",
                e.api_version, e.kind
            )));
        }
        Err(err) => return Err(HealthError::Api(err)),
    };
    // A health check's default namespace means nothing to a cluster-scoped kind.
    if !kind.namespaced {
        target.entry.namespace = None;
    }
    let e = &target.entry;
    let what = describe(&e.kind, e.namespace.as_deref(), &e.name);
    let api = applier.api(&kind, e.namespace.as_deref());
    let found = api.get_opt(&e.name).await;
    let object = match found {
        Ok(Some(o)) => o,
        Ok(None) => return Ok(InProgress("not found".to_owned())),
        Err(err) => {
            let err = ApplyError::from_kube(err, "get", &what, false);
            if err.is_transient() {
                return Ok(InProgress(format!("cannot read it yet: {err}")));
            }
            return Err(HealthError::Api(err));
        }
    };
    let json = serde_json::to_value(&object).unwrap_or(Json::Null);
    Ok(readiness(&kind.resource.group, &kind.resource.kind, &json))
}

pub(crate) async fn wait_healthy(
    applier: &Applier,
    inventory: &[InventoryEntry],
    extra: &[HealthCheckReference],
    default_namespace: &str,
    deadline: Instant,
) -> Result<(), HealthError> {
    let mut pending: Vec<Target> = inventory
        .iter()
        .map(|e| Target {
            entry: e.clone(),
            optional_kind: false,
        })
        .collect();
    for c in extra {
        pending.push(Target {
            entry: InventoryEntry {
                api_version: c.api_version.clone(),
                kind: c.kind.clone(),
                namespace: Some(
                    c.namespace
                        .clone()
                        .unwrap_or_else(|| default_namespace.to_owned()),
                ),
                name: c.name.clone(),
            },
            optional_kind: true,
        });
    }
    let mut interval = FIRST_POLL;
    loop {
        let mut still = Vec::new();
        let mut first_why = None;
        for mut target in pending {
            match check(applier, &mut target).await? {
                Ready => {}
                Failed(why) => {
                    let e = &target.entry;
                    return Err(HealthError::Failed {
                        object: describe(&e.kind, e.namespace.as_deref(), &e.name),
                        why,
                    });
                }
                InProgress(why) => {
                    first_why.get_or_insert(why);
                    still.push(target);
                }
            }
        }
        let Some(first) = still.first() else {
            return Ok(());
        };
        if Instant::now() + interval > deadline {
            let e = &first.entry;
            return Err(HealthError::NotReady {
                object: describe(&e.kind, e.namespace.as_deref(), &e.name),
                why: first_why.unwrap_or_default(),
            });
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(MAX_POLL);
        pending = still;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep(generation: i64, status: Json, replicas: Option<i64>) -> Json {
        let mut spec = json!({});
        if let Some(r) = replicas {
            spec["replicas"] = json!(r);
        }
        json!({"metadata": {"generation": generation}, "spec": spec, "status": status})
    }

    #[test]
    fn deployments() {
        let r = |o: &Json| readiness("apps", "Deployment", o);
        assert!(matches!(r(&dep(1, json!({}), None)), InProgress(_)));
        assert!(matches!(
            r(&dep(2, json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}), None)),
            InProgress(w) if w.contains("behind")
        ));
        assert_eq!(
            r(&dep(
                2,
                json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}),
                None
            )),
            Ready
        );
        assert!(matches!(
            r(&dep(2, json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 2}), Some(3))),
            InProgress(w) if w == "2 of 3 replicas available"
        ));
        assert!(matches!(
            r(&dep(2, json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 3}), Some(3))),
            InProgress(w) if w.contains("updated")
        ));
        assert!(matches!(
            r(&dep(2, json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3}), Some(3))),
            InProgress(w) if w.contains("pending termination")
        ));
        assert!(matches!(
            r(&json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "conditions": [
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"web-1\" has timed out progressing."}
            ]}})),
            Failed(w) if w.contains("ProgressDeadlineExceeded") && w.contains("timed out")
        ));
        assert!(matches!(
            r(&json!({"metadata": {"generation": 1, "deletionTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"replicas": 0}, "status": {"observedGeneration": 1}})),
            InProgress(w) if w == "being deleted"
        ));
        // Scaled to zero: ready once observed.
        assert_eq!(r(&dep(1, json!({"observedGeneration": 1}), Some(0))), Ready);
    }

    #[test]
    fn statefulsets() {
        let r = |o: &Json| readiness("apps", "StatefulSet", o);
        let sts = |status: Json| json!({"metadata": {"generation": 1}, "spec": {"replicas": 2}, "status": status});
        assert!(matches!(
            r(&sts(json!({"observedGeneration": 1, "readyReplicas": 1}))),
            InProgress(_)
        ));
        assert!(matches!(
            r(&sts(json!({"observedGeneration": 1, "readyReplicas": 2, "currentRevision": "a", "updateRevision": "b"}))),
            InProgress(w) if w.contains("revision b")
        ));
        assert_eq!(
            r(&sts(
                json!({"observedGeneration": 1, "readyReplicas": 2, "currentRevision": "b", "updateRevision": "b"})
            )),
            Ready
        );
    }

    #[test]
    fn daemonsets() {
        let r = |o: &Json| readiness("apps", "DaemonSet", o);
        let ds = |status: Json| json!({"metadata": {"generation": 1}, "status": status});
        assert_eq!(
            r(&ds(
                json!({"observedGeneration": 1, "desiredNumberScheduled": 0})
            )),
            Ready
        );
        assert!(matches!(
            r(&ds(
                json!({"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberReady": 2})
            )),
            InProgress(_)
        ));
        assert_eq!(
            r(&ds(
                json!({"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberReady": 3})
            )),
            Ready
        );
    }

    #[test]
    fn jobs_pvcs_crds_services() {
        let cond = |t: &str, s: &str| json!({"status": {"conditions": [{"type": t, "status": s, "reason": "R", "message": "m"}]}});
        assert_eq!(readiness("batch", "Job", &cond("Complete", "True")), Ready);
        assert_eq!(
            readiness("batch", "Job", &cond("Failed", "True")),
            Failed("Failed: R: m".to_owned())
        );
        assert!(matches!(
            readiness("batch", "Job", &json!({})),
            InProgress(_)
        ));
        assert_eq!(
            readiness(
                "",
                "PersistentVolumeClaim",
                &json!({"status": {"phase": "Bound"}})
            ),
            Ready
        );
        assert!(matches!(
            readiness(
                "",
                "PersistentVolumeClaim",
                &json!({"status": {"phase": "Pending"}})
            ),
            InProgress(_)
        ));
        let crd = "CustomResourceDefinition";
        assert_eq!(
            readiness("apiextensions.k8s.io", crd, &cond("Established", "True")),
            Ready
        );
        assert!(matches!(
            readiness("apiextensions.k8s.io", crd, &cond("Established", "False")),
            InProgress(_)
        ));
        assert_eq!(
            readiness("", "Service", &json!({"spec": {"type": "ClusterIP"}})),
            Ready
        );
        let lb = json!({"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
        assert!(matches!(readiness("", "Service", &lb), InProgress(_)));
        let lb = json!({"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}});
        assert_eq!(readiness("", "Service", &lb), Ready);
    }

    #[test]
    fn generic_objects() {
        let r = |o: &Json| readiness("example.com", "Widget", o);
        assert_eq!(r(&json!({"spec": {}})), Ready);
        assert_eq!(readiness("", "ConfigMap", &json!({"data": {}})), Ready);
        assert!(matches!(
            r(&json!({"status": {"conditions": [{"type": "Ready", "status": "False", "message": "waiting"}]}})),
            InProgress(w) if w == "Ready: waiting"
        ));
        assert_eq!(
            r(&json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})),
            Ready
        );
        assert!(matches!(
            r(
                &json!({"metadata": {"generation": 3}, "status": {"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "True"}]}})
            ),
            InProgress(_)
        ));
        assert!(matches!(
            r(&json!({"status": {"conditions": [{"type": "Stalled", "status": "True"}]}})),
            Failed(_)
        ));
        // Status without conditions or generation: nothing to wait for.
        assert_eq!(r(&json!({"status": {"phase": "Whatever"}})), Ready);
    }

    #[test]
    fn errors_have_the_health_reason() {
        let e = HealthError::NotReady {
            object: "Deployment a/b".into(),
            why: "0 of 1 replicas available".into(),
        };
        assert_eq!(e.reason(), "HealthCheckFailed");
        assert_eq!(
            e.to_string(),
            "Deployment a/b is not ready: 0 of 1 replicas available"
        );
        assert!(!e.is_transient());
    }
}
