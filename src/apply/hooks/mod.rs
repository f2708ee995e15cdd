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
//!
//! Files: this one (the hook as Helm records it, its order), `run` (creating, waiting for and
//! deleting hook objects), `failure` (what a failed hook's status, Events and containers say).

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};

use super::applier::path;
use super::error::ApplyError;
use super::history::go_time;
use super::objects;
use crate::render::render::manifests::INSTALL_ORDER;

mod failure;
mod run;

pub use run::run_hooks;

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
}
