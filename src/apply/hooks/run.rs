//! Running the hooks of one event: delete per `before-hook-creation`, create (server-side apply,
//! no release marks), wait for Jobs and Pods, delete per `hook-succeeded`/`hook-failed`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::Value as Json;
use tokio::time::Instant;

use super::failure::{Progress, failed_containers, progress, warning_events, with_events};
use super::{
    BEFORE_HOOK_CREATION, HOOK_FAILED, HOOK_SUCCEEDED, Hook, HookError, HookEvent, HookPhase,
    HookRun, order_for,
};
use crate::apply::applier::{Applier, POLL, path};
use crate::apply::error::{ApplyError, is_not_found};
use crate::apply::objects::{self, DesiredObject};
use crate::apply::{FIELD_MANAGER, ReleaseOwner};

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
