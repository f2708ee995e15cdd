//! What a failed hook says: the terminal state of a hook Job or Pod, its Warning Events, and how
//! its containers ended (exit code, reason, termination message).

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value as Json;

use super::path_str;
use crate::apply::applier::{Applier, path};
use crate::apply::objects::DesiredObject;

pub(super) enum Progress {
    Succeeded,
    Failed(String),
    Running(String),
}

fn condition<'a>(obj: &'a Json, type_: &str) -> Option<&'a Json> {
    path(obj, &["status", "conditions"])?
        .as_array()?
        .iter()
        .find(|c| {
            c.get("type").and_then(Json::as_str) == Some(type_)
                && c.get("status").and_then(Json::as_str) == Some("True")
        })
}

fn reason_message(c: &Json, fallback: &str) -> String {
    let field = |k: &str| c.get(k).and_then(Json::as_str).unwrap_or("");
    match (field("reason"), field("message")) {
        ("", "") => fallback.to_owned(),
        (r, "") => r.to_owned(),
        ("", m) => m.to_owned(),
        (r, m) => format!("{r}: {m}"),
    }
}

/// A Job's or Pod's progress as a hook: only the terminal states count.
pub(super) fn progress(kind: &str, obj: &Json) -> Progress {
    if kind == "Job" {
        if let Some(c) = condition(obj, "Failed") {
            return Progress::Failed(reason_message(c, "the Job failed"));
        }
        if condition(obj, "Complete").is_some() {
            return Progress::Succeeded;
        }
        let active = path(obj, &["status", "active"])
            .and_then(Json::as_i64)
            .unwrap_or(0);
        let failed = path(obj, &["status", "failed"])
            .and_then(Json::as_i64)
            .unwrap_or(0);
        return Progress::Running(format!(
            "the Job is not complete ({active} active, {failed} failed pods)"
        ));
    }
    let phase = path(obj, &["status", "phase"])
        .and_then(Json::as_str)
        .unwrap_or("Pending");
    match phase {
        "Succeeded" => Progress::Succeeded,
        "Failed" => {
            let field = |k: &str| {
                path(obj, &["status", k])
                    .and_then(Json::as_str)
                    .unwrap_or("")
            };
            Progress::Failed(match (field("reason"), field("message")) {
                ("", "") => "the Pod failed".to_owned(),
                (r, "") => r.to_owned(),
                ("", m) => m.to_owned(),
                (r, m) => format!("{r}: {m}"),
            })
        }
        other => Progress::Running(format!("the Pod is {other}")),
    }
}

/// The Warning Events about the hook object, oldest first, as `Reason: message` (empty when
/// they cannot be read: they only add detail to a failure already known).
pub(super) async fn warning_events(applier: &Applier, object: &DesiredObject) -> Vec<String> {
    let Some(ns) = object.object.metadata.namespace.as_deref() else {
        return Vec::new();
    };
    let name = object.object.metadata.name.as_deref().unwrap_or_default();
    let api: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(applier.client.clone(), ns);
    let selector = format!(
        "involvedObject.name={name},involvedObject.kind={}",
        object.kind.resource.kind
    );
    let Ok(list) = api.list(&ListParams::default().fields(&selector)).await else {
        return Vec::new();
    };
    let mut events: Vec<_> = list
        .items
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .collect();
    events.sort_by(|a, b| {
        let t = |e: &k8s_openapi::api::core::v1::Event| {
            e.last_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_default()
        };
        t(a).cmp(&t(b))
    });
    let mut out: Vec<String> = Vec::new();
    for e in events {
        let line = format!(
            "{}: {}",
            e.reason.unwrap_or_default(),
            e.message.unwrap_or_default().trim()
        );
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

/// How the containers of a failed hook ended (exit code, reason, termination message): for a
/// Job, those of its Pods (label `batch.kubernetes.io/job-name`); for a Pod, its own. Empty when
/// they cannot be read.
pub(super) async fn failed_containers(applier: &Applier, object: &DesiredObject) -> Vec<String> {
    let Some(ns) = object.object.metadata.namespace.as_deref() else {
        return Vec::new();
    };
    let name = object.object.metadata.name.as_deref().unwrap_or_default();
    let api: Api<DynamicObject> = Api::namespaced_with(
        applier.client.clone(),
        ns,
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()),
    );
    let pods: Vec<Json> = if object.kind.resource.kind == "Pod" {
        match api.get_opt(name).await {
            Ok(Some(p)) => vec![serde_json::to_value(p).unwrap_or(Json::Null)],
            _ => Vec::new(),
        }
    } else {
        // The Job's own Pods: labelled with its name and owned by this Job (not by an earlier
        // Job of the same name whose Pods are not collected yet).
        let jobs = applier.api(&object.kind, Some(ns));
        let Ok(Some(job)) = jobs.get_opt(name).await else {
            return Vec::new();
        };
        let selector = format!("batch.kubernetes.io/job-name={name}");
        match api.list(&ListParams::default().labels(&selector)).await {
            Ok(list) => list
                .items
                .into_iter()
                .filter(|p| {
                    p.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| Some(&o.uid) == job.metadata.uid.as_ref())
                })
                .map(|p| serde_json::to_value(p).unwrap_or(Json::Null))
                .collect(),
            Err(_) => Vec::new(),
        }
    };
    let mut out = Vec::new();
    for pod in &pods {
        for line in terminated(pod) {
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

/// `pod P container C exited with code N (Reason): message` for each container that ended
/// non-zero.
fn terminated(pod: &Json) -> Vec<String> {
    let pod_name = path_str(pod, &["metadata", "name"]);
    let statuses = path(pod, &["status", "containerStatuses"])
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    statuses
        .iter()
        .filter_map(|c| {
            let t = c
                .get("state")
                .and_then(|s| s.get("terminated"))
                .or_else(|| c.get("lastState").and_then(|s| s.get("terminated")))?;
            let code = t.get("exitCode").and_then(Json::as_i64).unwrap_or(0);
            if code == 0 {
                return None;
            }
            let container = c.get("name").and_then(Json::as_str).unwrap_or("?");
            let reason = t.get("reason").and_then(Json::as_str).unwrap_or("");
            let message = t.get("message").and_then(Json::as_str).unwrap_or("").trim();
            let mut line = format!("pod {pod_name} container {container} exited with code {code}");
            if !reason.is_empty() {
                line.push_str(&format!(" ({reason})"));
            }
            if !message.is_empty() {
                line.push_str(&format!(": {message}"));
            }
            Some(line)
        })
        .collect()
}

pub(super) fn with_events(why: String, events: &[String]) -> String {
    let extra: Vec<&String> = events
        .iter()
        .filter(|e| !why.contains(e.as_str()))
        .collect();
    if extra.is_empty() {
        return why;
    }
    let joined: Vec<&str> = extra.iter().map(|s| s.as_str()).collect();
    format!("{why}; {}", joined.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_and_pod_progress() {
        let failed = json!({"status": {"conditions": [
            {"type": "FailureTarget", "status": "True"},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
        match progress("Job", &failed) {
            Progress::Failed(m) => assert_eq!(
                m,
                "BackoffLimitExceeded: Job has reached the specified backoff limit"
            ),
            _ => panic!("failed"),
        }
        let done = json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert!(matches!(progress("Job", &done), Progress::Succeeded));
        assert!(matches!(progress("Job", &json!({})), Progress::Running(_)));
        let running = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(
            matches!(progress("Pod", &running), Progress::Running(_)),
            "a running hook Pod is not done"
        );
        let failed = json!({"status": {"phase": "Failed", "message": "exit 1"}});
        assert!(matches!(progress("Pod", &failed), Progress::Failed(m) if m == "exit 1"));
    }

    #[test]
    fn terminated_containers_say_how_they_ended() {
        let pod = json!({"metadata": {"name": "m-abc"}, "status": {"containerStatuses": [
            {"name": "migrate", "state": {"terminated": {"exitCode": 3, "reason": "Error",
                "message": "relation \"users\" already exists\n"}}},
            {"name": "sidecar", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        ]}});
        assert_eq!(
            terminated(&pod),
            [
                "pod m-abc container migrate exited with code 3 (Error): relation \"users\" already exists"
            ]
        );
        assert!(terminated(&json!({})).is_empty());
    }

    #[test]
    fn events_add_what_the_condition_does_not_say() {
        let why = "BackoffLimitExceeded: Job has reached the specified backoff limit".to_owned();
        assert_eq!(with_events(why.clone(), std::slice::from_ref(&why)), why);
        assert_eq!(with_events("x".into(), &["A: b".into()]), "x; A: b");
    }
}
