//! Helm hooks, run as Helm runs them: the documents of a release annotated `helm.sh/hook` are not
//! applied with the release but created at their event (`pre-install`, `post-install`,
//! `pre-upgrade`, `post-upgrade`, `pre-delete`, `post-delete`, and `pre-rollback`/`post-rollback`
//! around a rollback by remediation), one at a time in Helm's order
//! (`helm.sh/hook-weight`, then the kind's install order, unknown kinds last by kind name, then the
//! name), each waited for when it is a Job (until Complete or Failed) or a Pod (until Succeeded or
//! Failed), within the deadline. `helm.sh/hook-delete-policy` decides when a hook object is
//! deleted: `before-hook-creation` (the default when none is given) deletes a previous object of
//! the same name first, `hook-succeeded` deletes every hook of the event after all succeeded
//! (in reverse order), `hook-failed` deletes a hook that failed. CRDs are never deleted.
//!
//! Hook objects carry no ownership marks (Helm adds none), are not in the inventory and are never
//! pruned. Each run is recorded on the [`Hook`] (`last_run`: started, completed, phase) and stored
//! in the Helm release record as Helm's `release.hooks`, so `helm get hooks` shows them.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value as Json, json};
use tokio::time::Instant;

use super::applier::{Applier, POLL, path};
use super::error::{ApplyError, is_not_found};
use super::history::go_time;
use super::objects::{self, DesiredObject};
use super::{FIELD_MANAGER, ReleaseOwner};
use crate::render::render::manifests::INSTALL_ORDER;

/// Helm's hook annotation.
pub const HOOK_ANNOTATION: &str = "helm.sh/hook";
/// Helm's hook weight annotation (an integer; anything else counts as 0, as in Helm).
pub const HOOK_WEIGHT_ANNOTATION: &str = "helm.sh/hook-weight";
/// Helm's hook delete policy annotation (comma-separated policies).
pub const HOOK_DELETE_POLICY_ANNOTATION: &str = "helm.sh/hook-delete-policy";

/// `before-hook-creation`: delete the previous object before creating the hook (the default).
pub const BEFORE_HOOK_CREATION: &str = "before-hook-creation";
/// `hook-succeeded`: delete the hook objects after all hooks of the event succeeded.
pub const HOOK_SUCCEEDED: &str = "hook-succeeded";
/// `hook-failed`: delete a hook object that failed.
pub const HOOK_FAILED: &str = "hook-failed";

/// The hook events the controller runs (`test` hooks are for `helm test` and never run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookEvent {
    /// Before the first revision's objects are applied.
    PreInstall,
    /// After the first revision's objects are applied and healthy.
    PostInstall,
    /// Before a later revision's objects are applied.
    PreUpgrade,
    /// After a later revision's objects are applied and healthy.
    PostUpgrade,
    /// Before the release's objects are deleted.
    PreDelete,
    /// After the release's objects are deleted.
    PostDelete,
    /// Before a rollback (by remediation) re-applies an earlier revision.
    PreRollback,
    /// After a rollback's objects are applied and healthy.
    PostRollback,
}

impl HookEvent {
    /// Helm's name of the event.
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PreInstall => "pre-install",
            HookEvent::PostInstall => "post-install",
            HookEvent::PreUpgrade => "pre-upgrade",
            HookEvent::PostUpgrade => "post-upgrade",
            HookEvent::PreDelete => "pre-delete",
            HookEvent::PostDelete => "post-delete",
            HookEvent::PreRollback => "pre-rollback",
            HookEvent::PostRollback => "post-rollback",
        }
    }
}

impl std::fmt::Display for HookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Helm's `HookPhase` of a hook's last run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HookPhase {
    /// Never run, or the outcome is not known.
    #[default]
    Unknown,
    /// Created, not finished.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Failed (or could not be created).
    Failed,
}

impl HookPhase {
    /// Helm's string.
    pub fn as_str(self) -> &'static str {
        match self {
            HookPhase::Unknown => "Unknown",
            HookPhase::Running => "Running",
            HookPhase::Succeeded => "Succeeded",
            HookPhase::Failed => "Failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "Running" => HookPhase::Running,
            "Succeeded" => HookPhase::Succeeded,
            "Failed" => HookPhase::Failed,
            _ => HookPhase::Unknown,
        }
    }
}

/// Helm's `HookExecution`: when a hook last ran and how it ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookRun {
    /// When the hook object was created.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished (succeeded or failed).
    pub completed_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub phase: HookPhase,
}

/// One hook of a release: Helm's `release.Hook`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    /// `metadata.name` of the object.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// The template it was rendered from, e.g. `demo/templates/migrate.yaml`.
    pub path: String,
    /// The rendered document.
    pub manifest: String,
    /// The events it runs on, as written (lowercase).
    pub events: Vec<String>,
    /// `helm.sh/hook-weight`.
    pub weight: i64,
    /// `helm.sh/hook-delete-policy`, as written (lowercase); empty means `before-hook-creation`.
    pub delete_policies: Vec<String>,
    /// The last run.
    pub last_run: HookRun,
}

/// Why a hook failed. Every message names the event, the hook object and its template.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The hook object ran and failed (a Job's Failed condition, a Pod in phase Failed).
    #[error("{event} hook {object} ({path}) failed: {why}")]
    Failed {
        /// The event.
        event: HookEvent,
        /// `Kind namespace/name`.
        object: String,
        /// The template.
        path: String,
        /// The failure from its status, and its Warning Events.
        why: String,
    },
    /// The deadline passed before the hook finished.
    #[error("{event} hook {object} ({path}) did not finish in time: {why}")]
    Timeout {
        /// The event.
        event: HookEvent,
        /// `Kind namespace/name`.
        object: String,
        /// The template.
        path: String,
        /// What it was still doing.
        why: String,
    },
    /// The hook object could not be built, created, read or deleted.
    #[error("{event} hook {path}: {source}")]
    Apply {
        /// The event.
        event: HookEvent,
        /// The template.
        path: String,
        /// The API or manifest error.
        #[source]
        source: ApplyError,
    },
}

fn annotation<'a>(doc: &'a Json, key: &str) -> Option<&'a str> {
    path(doc, &["metadata", "annotations", key]).and_then(Json::as_str)
}

/// Helm's `operateAnnotationValues`: comma-separated, trimmed, lowercased.
fn annotation_values(doc: &Json, key: &str) -> Vec<String> {
    annotation(doc, key)
        .map(|v| {
            v.split(',')
                .map(|p| p.trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn parse_time(v: Option<&Json>) -> Option<DateTime<Utc>> {
    let s = v?.as_str()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Hook {
    /// A hook from a rendered document (`path`, `manifest`) and its events, reading its name,
    /// weight and delete policies as Helm does.
    pub fn from_rendered(
        path: &str,
        manifest: &str,
        events: &[String],
    ) -> Result<Option<Hook>, ApplyError> {
        let Some(parsed) = objects::parse_document(path, manifest)? else {
            return Ok(None);
        };
        let doc = &parsed.object;
        let weight = annotation(doc, HOOK_WEIGHT_ANNOTATION)
            .and_then(|w| w.trim().parse::<i64>().ok())
            .unwrap_or(0);
        Ok(Some(Hook {
            name: path_str(doc, &["metadata", "name"]),
            kind: parsed.kind,
            path: path.to_owned(),
            manifest: manifest.to_owned(),
            events: events.to_vec(),
            weight,
            delete_policies: annotation_values(doc, HOOK_DELETE_POLICY_ANNOTATION),
            last_run: HookRun::default(),
        }))
    }

    /// Whether the hook runs on `event`.
    pub fn runs_on(&self, event: HookEvent) -> bool {
        self.events.iter().any(|e| e == event.as_str())
    }

    fn has_policy(&self, policy: &str) -> bool {
        if self.delete_policies.is_empty() {
            return policy == BEFORE_HOOK_CREATION;
        }
        self.delete_policies.iter().any(|p| p == policy)
    }

    /// Helm's `release.Hook` JSON.
    pub fn to_helm_json(&self) -> Json {
        // A hook that never ran has Helm's zero HookExecution: an empty phase.
        let phase = match (&self.last_run.started_at, self.last_run.phase) {
            (None, HookPhase::Unknown) => "",
            (_, phase) => phase.as_str(),
        };
        let mut last_run = json!({ "phase": phase });
        if let Some(t) = &self.last_run.started_at {
            last_run["started_at"] = json!(go_time(t));
        }
        if let Some(t) = &self.last_run.completed_at {
            last_run["completed_at"] = json!(go_time(t));
        }
        let mut h = json!({
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "manifest": self.manifest,
            "events": self.events,
            "last_run": last_run,
        });
        if self.weight != 0 {
            h["weight"] = json!(self.weight);
        }
        if !self.delete_policies.is_empty() {
            h["delete_policies"] = json!(self.delete_policies);
        }
        h
    }

    /// From Helm's `release.Hook` JSON (a record Signet or Helm wrote).
    pub fn from_helm_json(v: &Json) -> Hook {
        let strings = |key: &str| -> Vec<String> {
            v.get(key)
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let run = v.get("last_run");
        Hook {
            name: path_str(v, &["name"]),
            kind: path_str(v, &["kind"]),
            path: path_str(v, &["path"]),
            manifest: path_str(v, &["manifest"]),
            events: strings("events"),
            weight: v.get("weight").and_then(Json::as_i64).unwrap_or(0),
            delete_policies: strings("delete_policies"),
            last_run: HookRun {
                started_at: parse_time(run.and_then(|r| r.get("started_at"))),
                completed_at: parse_time(run.and_then(|r| r.get("completed_at"))),
                phase: HookPhase::parse(
                    run.and_then(|r| r.get("phase"))
                        .and_then(Json::as_str)
                        .unwrap_or(""),
                ),
            },
        }
    }
}

fn path_str(v: &Json, keys: &[&str]) -> String {
    path(v, keys)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The position of `kind` in Helm's install order; unknown kinds after all known ones.
fn kind_rank(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

/// Helm's `hookByWeight`: weight, then install order of the kind (unknown kinds last, by kind
/// name), then name.
fn helm_order(a: &Hook, b: &Hook) -> std::cmp::Ordering {
    a.weight
        .cmp(&b.weight)
        .then_with(|| match (kind_rank(&a.kind), kind_rank(&b.kind)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.kind.cmp(&b.kind),
        })
        .then_with(|| a.name.cmp(&b.name))
}

/// The indices of the hooks that run on `event`, in the order Helm runs them.
pub fn order_for(hooks: &[Hook], event: HookEvent) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..hooks.len())
        .filter(|&i| hooks[i].runs_on(event))
        .collect();
    idx.sort_by(|&a, &b| helm_order(&hooks[a], &hooks[b]));
    idx
}

/// Runs the hooks of `event` in Helm's order, recording each run on its [`Hook`]. Hooks whose
/// last run already succeeded for this event are skipped when `resume` (a revision picked up
/// again after a restart). The first failure stops the event: later hooks do not run.
pub async fn run_hooks(
    applier: &Applier,
    hooks: &mut [Hook],
    event: HookEvent,
    owner: &ReleaseOwner,
    deadline: Instant,
    resume: bool,
) -> Result<usize, HookError> {
    let order = order_for(hooks, event);
    let mut ran = 0;
    for &i in &order {
        if resume && hooks[i].last_run.phase == HookPhase::Succeeded {
            continue;
        }
        let hook = &mut hooks[i];
        run_one(applier, hook, event, owner, deadline).await?;
        ran += 1;
    }
    // All succeeded: `hook-succeeded` deletes them, in reverse order, as Helm does.
    for &i in order.iter().rev() {
        let hook = &hooks[i];
        if hook.has_policy(HOOK_SUCCEEDED) {
            delete_hook(applier, hook, owner, deadline)
                .await
                .map_err(|source| HookError::Apply {
                    event,
                    path: hook.path.clone(),
                    source,
                })?;
        }
    }
    Ok(ran)
}

/// The object of a hook: parsed, namespace defaulted, without the release's marks.
async fn desired(
    applier: &Applier,
    hook: &Hook,
    owner: &ReleaseOwner,
) -> Result<DesiredObject, ApplyError> {
    let parsed = objects::parse_document(&hook.path, &hook.manifest)?.ok_or_else(|| {
        ApplyError::InvalidManifest {
            template: hook.path.clone(),
            message: "the hook document is empty".to_owned(),
        }
    })?;
    let labels = path(&parsed.object, &["metadata", "labels"]).cloned();
    let annotations = path(&parsed.object, &["metadata", "annotations"]).cloned();
    let kind = applier
        .kinds
        .resolve(&parsed.api_version, &parsed.kind)
        .await
        .map_err(|e| match e {
            ApplyError::UnknownKind {
                api_version, kind, ..
            } => ApplyError::UnknownKind {
                api_version,
                kind,
                template: Some(hook.path.clone()),
            },
            e => e,
        })?;
    let mut object = objects::finish(&hook.path, parsed, kind, false, owner)?;
    // Helm creates hooks as rendered: no managed-by label or release annotations, so neither
    // Helm nor Signet ever takes a hook object for part of the release.
    let back = |v: Option<Json>| -> Option<BTreeMap<String, String>> {
        v.and_then(|v| serde_json::from_value(v).ok())
    };
    object.object.metadata.labels = back(labels);
    object.object.metadata.annotations = back(annotations);
    Ok(object)
}

async fn run_one(
    applier: &Applier,
    hook: &mut Hook,
    event: HookEvent,
    owner: &ReleaseOwner,
    deadline: Instant,
) -> Result<(), HookError> {
    let wrap = |hook: &Hook| {
        let path = hook.path.clone();
        move |source| HookError::Apply {
            event,
            path: path.clone(),
            source,
        }
    };
    if hook.has_policy(BEFORE_HOOK_CREATION) {
        delete_hook(applier, hook, owner, deadline)
            .await
            .map_err(wrap(hook))?;
    }
    let object = desired(applier, hook, owner).await.map_err(wrap(hook))?;
    hook.last_run = HookRun {
        started_at: Some(Utc::now()),
        completed_at: None,
        phase: HookPhase::Running,
    };
    let name = object.object.metadata.name.clone().unwrap_or_default();
    let api = applier.api(&object.kind, object.object.metadata.namespace.as_deref());
    let created = api
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&object.object),
        )
        .await
        .map_err(|e| ApplyError::from_kube(e, "create", &object.describe(), false));
    if let Err(e) = created {
        hook.last_run.completed_at = Some(Utc::now());
        hook.last_run.phase = HookPhase::Failed;
        return Err(wrap(hook)(e));
    }
    let outcome = wait_hook(&api, &object, deadline).await;
    hook.last_run.completed_at = Some(Utc::now());
    let e = object.entry();
    let what = objects::describe(&e.kind, e.namespace.as_deref(), &e.name);
    match outcome {
        Ok(Finished::Succeeded) => {
            hook.last_run.phase = HookPhase::Succeeded;
            Ok(())
        }
        Ok(Finished::Failed(why)) => {
            hook.last_run.phase = HookPhase::Failed;
            let mut events = warning_events(applier, &object).await;
            events.extend(failed_containers(applier, &object).await);
            let why = with_events(why, &events);
            if hook.has_policy(HOOK_FAILED)
                && let Err(err) = delete_hook(applier, hook, owner, deadline).await
            {
                tracing::warn!(hook = %what, error = %err, "cannot delete the failed hook");
            }
            Err(HookError::Failed {
                event,
                object: what,
                path: hook.path.clone(),
                why,
            })
        }
        Ok(Finished::TimedOut(why)) => {
            hook.last_run.phase = HookPhase::Failed;
            let events = warning_events(applier, &object).await;
            Err(HookError::Timeout {
                event,
                object: what,
                path: hook.path.clone(),
                why: with_events(why, &events),
            })
        }
        Err(e) => {
            hook.last_run.phase = HookPhase::Failed;
            Err(wrap(hook)(e))
        }
    }
}

enum Finished {
    Succeeded,
    Failed(String),
    TimedOut(String),
}

/// Helm waits for Jobs (Complete or Failed) and Pods (Succeeded or Failed); any other kind is
/// done once created.
async fn wait_hook(
    api: &Api<DynamicObject>,
    object: &DesiredObject,
    deadline: Instant,
) -> Result<Finished, ApplyError> {
    let r = &object.kind.resource;
    let waits = matches!(
        (r.group.as_str(), r.kind.as_str()),
        ("batch", "Job") | ("", "Pod")
    );
    if !waits {
        return Ok(Finished::Succeeded);
    }
    let name = object.object.metadata.name.clone().unwrap_or_default();
    let mut poll = Duration::from_millis(100);
    loop {
        let current = api
            .get_opt(&name)
            .await
            .map_err(|e| ApplyError::from_kube(e, "get", &object.describe(), false))?;
        let why = match current {
            None => "it was deleted before it finished".to_owned(),
            Some(o) => {
                let json = serde_json::to_value(&o).unwrap_or(Json::Null);
                match progress(&r.kind, &json) {
                    Progress::Succeeded => return Ok(Finished::Succeeded),
                    Progress::Failed(why) => return Ok(Finished::Failed(why)),
                    Progress::Running(why) => why,
                }
            }
        };
        if Instant::now() + poll > deadline {
            return Ok(Finished::TimedOut(why));
        }
        tokio::time::sleep(poll).await;
        poll = (poll * 2).min(POLL * 4);
    }
}

enum Progress {
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
fn progress(kind: &str, obj: &Json) -> Progress {
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
async fn warning_events(applier: &Applier, object: &DesiredObject) -> Vec<String> {
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
async fn failed_containers(applier: &Applier, object: &DesiredObject) -> Vec<String> {
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

fn with_events(why: String, events: &[String]) -> String {
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

/// Deletes the hook's object if it exists (Background propagation, so a Job's pods go too) and
/// waits until it is gone. CRDs are never deleted.
async fn delete_hook(
    applier: &Applier,
    hook: &Hook,
    owner: &ReleaseOwner,
    deadline: Instant,
) -> Result<(), ApplyError> {
    if hook.kind == "CustomResourceDefinition" {
        return Ok(());
    }
    let object = desired(applier, hook, owner).await?;
    let name = object.object.metadata.name.clone().unwrap_or_default();
    let api = applier.api(&object.kind, object.object.metadata.namespace.as_deref());
    let what = object.describe();
    let uid = match api.delete(&name, &DeleteParams::background()).await {
        Ok(either) => either.left().and_then(|o| o.metadata.uid),
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(ApplyError::from_kube(e, "delete", &what, false)),
    };
    loop {
        let current = api
            .get_opt(&name)
            .await
            .map_err(|e| ApplyError::from_kube(e, "get", &what, false))?;
        match current {
            None => return Ok(()),
            Some(o) if uid.is_some() && o.metadata.uid != uid => return Ok(()),
            Some(_) => {}
        }
        if Instant::now() + POLL > deadline {
            return Err(ApplyError::Timeout {
                what: format!("hook {what} to be deleted"),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The hooks of a record as Helm's JSON.
pub fn to_helm_json(hooks: &[Hook]) -> Vec<Json> {
    hooks.iter().map(Hook::to_helm_json).collect()
}

/// The hooks stored in a record.
pub fn from_helm_json(hooks: &[Json]) -> Vec<Hook> {
    hooks.iter().map(Hook::from_helm_json).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(name: &str, kind: &str, weight: i64) -> Hook {
        Hook {
            name: name.into(),
            kind: kind.into(),
            path: format!("c/templates/{name}.yaml"),
            manifest: String::new(),
            events: vec!["pre-install".into()],
            weight,
            delete_policies: vec![],
            last_run: HookRun::default(),
        }
    }

    #[test]
    fn helm_order_is_weight_then_kind_then_name() {
        let hooks = vec![
            hook("z", "Job", 0),
            hook("a", "Job", 0),
            hook("cm", "ConfigMap", 0),
            hook("late", "ConfigMap", 5),
            hook("early", "Job", -5),
            hook("custom", "Widget", 0),
            hook("apple", "Apple", 0),
        ];
        let names: Vec<&str> = order_for(&hooks, HookEvent::PreInstall)
            .into_iter()
            .map(|i| hooks[i].name.as_str())
            .collect();
        assert_eq!(names, ["early", "cm", "a", "z", "apple", "custom", "late"]);
        assert!(order_for(&hooks, HookEvent::PostInstall).is_empty());
    }

    #[test]
    fn reads_weight_and_policies_like_helm() {
        let doc = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\n    helm.sh/hook-weight: \"-3\"\n    helm.sh/hook-delete-policy: Hook-Succeeded, before-hook-creation\n";
        let h = Hook::from_rendered("c/templates/m.yaml", doc, &["pre-install".into()])
            .unwrap()
            .unwrap();
        assert_eq!(h.name, "migrate");
        assert_eq!(h.kind, "Job");
        assert_eq!(h.weight, -3);
        assert_eq!(
            h.delete_policies,
            ["hook-succeeded", "before-hook-creation"]
        );
        assert!(h.has_policy(HOOK_SUCCEEDED) && !h.has_policy(HOOK_FAILED));
        let bad = doc.replace("\"-3\"", "heavy");
        let h = Hook::from_rendered("p", &bad, &[]).unwrap().unwrap();
        assert_eq!(h.weight, 0, "Helm's Atoi failure is weight 0");
        let none = doc.replace(
            "    helm.sh/hook-delete-policy: Hook-Succeeded, before-hook-creation\n",
            "",
        );
        let h = Hook::from_rendered("p", &none, &[]).unwrap().unwrap();
        assert!(h.has_policy(BEFORE_HOOK_CREATION), "the default policy");
    }

    #[test]
    fn helm_json_round_trips() {
        let mut h = hook("m", "Job", 2);
        h.delete_policies = vec![HOOK_FAILED.into()];
        h.last_run = HookRun {
            started_at: Some(
                DateTime::parse_from_rfc3339("2026-01-02T03:04:05.5Z")
                    .unwrap()
                    .with_timezone(&Utc),
            ),
            completed_at: None,
            phase: HookPhase::Failed,
        };
        let j = h.to_helm_json();
        assert_eq!(j["last_run"]["phase"], "Failed");
        assert_eq!(j["last_run"]["started_at"], "2026-01-02T03:04:05.5Z");
        assert!(j["last_run"].get("completed_at").is_none());
        assert_eq!(j["weight"], 2);
        assert_eq!(Hook::from_helm_json(&j), h);
        let zero = hook("n", "Pod", 0).to_helm_json();
        assert!(zero.get("weight").is_none() && zero.get("delete_policies").is_none());
    }

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
