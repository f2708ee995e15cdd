//! An opt-in stand-in for the kubelet and the workload controllers ([`super::ApiServer::run_workloads`]):
//! the double has none, so Jobs never complete and Deployments never roll out by themselves.
//! While running it polls the store and, after [`RUN_DELAY`]:
//!
//! - a Job gets `Complete` (with `SuccessCriteriaMet`, `succeeded: 1`), or `Failed` with
//!   `BackoffLimitExceeded: Job has reached the specified backoff limit` and a Warning Event of the
//!   same reason on the Job, as the Job controller writes them, plus one failed Pod of the Job
//!   (labelled and owned as the Job controller's are) whose container ended with exit code 1 and
//!   the termination message [`MESSAGE_ANNOTATION`] gives;
//! - a Pod goes to phase `Succeeded` or `Failed`;
//! - a Deployment is rolled out for its generation (`observedGeneration`, all replicas updated,
//!   ready and available), or stuck with no replica available.
//!
//! The outcome comes from the annotation [`OUTCOME_ANNOTATION`] on the object or its pod template:
//! `succeed` (the default), `fail` (Jobs and Pods; [`MESSAGE_ANNOTATION`] is the container's
//! termination message, or the Pod's status message) or `hang` (never finishes; a Deployment never becomes available). A real cluster ignores
//! these annotations, so a chart can carry them and run both here and on a cluster.

use std::collections::HashMap;
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::store::Shared;

/// What a workload should do under the runner: `succeed`, `fail` or `hang`.
pub const OUTCOME_ANNOTATION: &str = "test.signet.dev/outcome";
/// The failure message of a Job or Pod whose outcome is `fail`.
pub const MESSAGE_ANNOTATION: &str = "test.signet.dev/message";
/// How long a workload "runs" before the runner finishes it.
pub const RUN_DELAY: Duration = Duration::from_millis(300);

/// Stops the runner when dropped.
pub struct WorkloadRunner {
    stop: std::sync::Arc<AtomicBool>,
}

impl Drop for WorkloadRunner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub(super) fn start(shared: Weak<Shared>) -> WorkloadRunner {
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("apiserver-workloads".into())
        .spawn(move || {
            let mut seen: HashMap<String, Instant> = HashMap::new();
            while !flag.load(Ordering::Relaxed) {
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                tick(&shared, &mut seen);
                drop(shared);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .expect("spawn the workload runner");
    WorkloadRunner { stop }
}

fn message_or_default(m: &Option<String>) -> String {
    m.clone().unwrap_or_else(|| "exit status 1".to_owned())
}

fn outcome(obj: &Value) -> (String, Option<String>) {
    let pick = |key: &str| {
        obj["metadata"]["annotations"][key]
            .as_str()
            .or_else(|| obj["spec"]["template"]["metadata"]["annotations"][key].as_str())
            .map(str::to_owned)
    };
    (
        pick(OUTCOME_ANNOTATION).unwrap_or_else(|| "succeed".to_owned()),
        pick(MESSAGE_ANNOTATION),
    )
}

/// Whether the object (by uid and generation) has waited [`RUN_DELAY`] since first seen.
fn due(seen: &mut HashMap<String, Instant>, obj: &Value) -> bool {
    let key = format!(
        "{}/{}",
        obj["metadata"]["uid"].as_str().unwrap_or_default(),
        obj["metadata"]["generation"]
    );
    let first = *seen.entry(key).or_insert_with(Instant::now);
    first.elapsed() >= RUN_DELAY
}

fn name_ns(obj: &Value) -> (String, String) {
    (
        obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn tick(shared: &Shared, seen: &mut HashMap<String, Instant>) {
    let mut state = shared.lock();
    let now = super::verbs::now();
    for job in state.direct_list("batch/v1", "Job", None) {
        let done = job["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Complete" || c["type"] == "Failed")
        });
        if done || !due(seen, &job) {
            continue;
        }
        let (name, ns) = name_ns(&job);
        let (outcome, custom) = outcome(&job);
        match outcome.as_str() {
            "hang" => {}
            "fail" => {
                // The Job controller's words; what the container said is in its Pod's
                // termination message.
                let message = "Job has reached the specified backoff limit";
                let container = job["spec"]["template"]["spec"]["containers"][0]["name"]
                    .as_str()
                    .unwrap_or("main")
                    .to_owned();
                let uid = job["metadata"]["uid"].clone();
                let pod_name = format!(
                    "{name}-{}",
                    uid.as_str()
                        .unwrap_or("00000")
                        .chars()
                        .take(5)
                        .collect::<String>()
                );
                state.direct_put(json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {
                        "name": pod_name, "namespace": ns,
                        "labels": {"batch.kubernetes.io/job-name": name, "job-name": name},
                        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                                             "uid": uid, "controller": true}],
                    },
                    "spec": job["spec"]["template"]["spec"].clone(),
                    "status": {
                        "phase": "Failed", "startTime": now,
                        "containerStatuses": [{"name": container, "ready": false, "restartCount": 0,
                            "state": {"terminated": {"exitCode": 1, "reason": "Error",
                                "message": message_or_default(&custom),
                                "startedAt": now, "finishedAt": now}}}],
                    },
                }));
                state.direct_set_status(
                    "batch/v1",
                    "Job",
                    Some(&ns),
                    &name,
                    json!({
                        "startTime": now, "failed": 1, "active": 0,
                        "conditions": [
                            {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                             "message": message, "lastTransitionTime": now},
                            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                             "message": message, "lastTransitionTime": now},
                        ],
                    }),
                );
                let event_name = format!("{name}.{:x}", state.random() & 0xffff_ffff);
                state.direct_put(json!({
                    "apiVersion": "v1", "kind": "Event",
                    "metadata": {"name": event_name, "namespace": ns},
                    "involvedObject": {"apiVersion": "batch/v1", "kind": "Job", "name": name,
                                       "namespace": ns, "uid": job["metadata"]["uid"]},
                    "type": "Warning", "reason": "BackoffLimitExceeded", "message": message,
                    "source": {"component": "job-controller"},
                    "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                }));
            }
            _ => state.direct_set_status(
                "batch/v1",
                "Job",
                Some(&ns),
                &name,
                json!({
                    "startTime": now, "completionTime": now, "succeeded": 1, "active": 0,
                    "conditions": [
                        {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now},
                        {"type": "Complete", "status": "True", "lastTransitionTime": now},
                    ],
                }),
            ),
        }
    }
    for pod in state.direct_list("v1", "Pod", None) {
        let phase = pod["status"]["phase"].as_str().unwrap_or("");
        if phase == "Succeeded" || phase == "Failed" || !due(seen, &pod) {
            continue;
        }
        let (name, ns) = name_ns(&pod);
        let (outcome, message) = outcome(&pod);
        let status = match outcome.as_str() {
            "hang" if phase == "Running" => continue,
            "hang" => json!({"phase": "Running", "startTime": now}),
            "fail" => json!({"phase": "Failed", "startTime": now, "reason": "Error",
                             "message": message.unwrap_or_else(|| "container exited with code 1".into())}),
            _ => json!({"phase": "Succeeded", "startTime": now}),
        };
        state.direct_set_status("v1", "Pod", Some(&ns), &name, status);
    }
    for deploy in state.direct_list("apps/v1", "Deployment", None) {
        let generation = deploy["metadata"]["generation"].as_i64().unwrap_or(1);
        if deploy["status"]["observedGeneration"].as_i64() == Some(generation)
            || !due(seen, &deploy)
        {
            continue;
        }
        let (name, ns) = name_ns(&deploy);
        let replicas = deploy["spec"]["replicas"].as_i64().unwrap_or(1);
        let available = if outcome(&deploy).0 == "hang" {
            0
        } else {
            replicas
        };
        state.direct_set_status(
            "apps/v1",
            "Deployment",
            Some(&ns),
            &name,
            json!({
                "observedGeneration": generation, "replicas": replicas,
                "updatedReplicas": replicas, "readyReplicas": available,
                "availableReplicas": available,
            }),
        );
    }
}
