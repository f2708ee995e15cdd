//! The finalizer `signet.dev/finalizer`: added before anything is applied, and on deletion
//! removed only after the release is uninstalled per `spec.uninstall` (Delete in reverse install
//! order between the last deployed revision's `pre-delete` and `post-delete` hooks, and its Helm
//! history deleted; or Orphan: drop our marks, hand our fields to Helm's field manager, run no
//! hooks and keep the history, so `helm upgrade` manages the release again). Uninstalling needs no
//! verification, so a release whose signatures fail now still removes what it applied.

use super::Context;
use super::events::Pending;
use super::reconcile::{DriverError, key};
use crate::api::conditions::reasons;
use crate::api::{DeletionPolicy, SignedChartRelease};
use crate::apply::{self, Applier, HookEvent, ReleaseOwner, ReleaseStatus};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use std::time::Duration;

/// The finalizer that guards uninstalling.
pub const FINALIZER: &str = "signet.dev/finalizer";

fn api(ctx: &Context, release: &SignedChartRelease) -> Api<SignedChartRelease> {
    Api::namespaced(
        ctx.clients.own().clone(),
        &release.namespace().unwrap_or_default(),
    )
}

/// Merge-patches the finalizer list, guarded by the resourceVersion it was computed from.
async fn set_finalizers(
    ctx: &Context,
    release: &SignedChartRelease,
    finalizers: Vec<String>,
) -> Result<Option<String>, DriverError> {
    let patch = serde_json::json!({
        "metadata": {
            "finalizers": finalizers,
            "resourceVersion": release.metadata.resource_version,
        }
    });
    let patched = api(ctx, release)
        .patch(
            &release.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(|source| DriverError::Finalizer {
            name: key(release),
            source,
        })?;
    Ok(patched.metadata.resource_version)
}

/// Adds the finalizer when missing; returns the resourceVersion after our write (or as read).
pub async fn ensure_finalizer(
    release: &SignedChartRelease,
    ctx: &Context,
) -> Result<Option<String>, DriverError> {
    if release.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(release.metadata.resource_version.clone());
    }
    let mut finalizers = release.finalizers().to_vec();
    finalizers.push(FINALIZER.to_owned());
    set_finalizers(ctx, release, finalizers).await
}

/// Uninstalls a release being deleted, then lets it go.
pub async fn finalize(release: &SignedChartRelease, ctx: &Context) -> Result<Action, DriverError> {
    if !release.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let key = key(release);
    let namespace = release.namespace().unwrap_or_default();
    let owner = ReleaseOwner {
        release_name: release.effective_release_name(),
        release_namespace: release
            .effective_target_namespace()
            .unwrap_or_else(|| namespace.clone()),
        owner_namespace: namespace.clone(),
        owner_name: release.name_any(),
    };
    let policy = release
        .spec
        .uninstall
        .as_ref()
        .map(|u| u.deletion_policy)
        .unwrap_or_default();
    let timeout = release
        .uninstall_timeout()
        .unwrap_or(Duration::from_secs(300));
    let inventory = release
        .status
        .as_ref()
        .map(|s| s.inventory.clone())
        .unwrap_or_default();
    let mut events = Pending::default();
    let result = async {
        let client = ctx
            .clients
            .acting_for(&namespace, release.spec.service_account_name.as_deref())
            .map_err(|e| e.to_string())?;
        let applier = Applier::new(client, ctx.kinds.clone());
        let deadline = tokio::time::Instant::now() + timeout;
        // Helm's pre-delete and post-delete hooks, from the last deployed revision; not when
        // orphaning (the release is handed over, not uninstalled).
        let mut hooks = if policy == DeletionPolicy::Delete {
            delete_hooks(ctx, &owner).await?
        } else {
            Vec::new()
        };
        apply::hooks::run_hooks(
            &applier,
            &mut hooks,
            HookEvent::PreDelete,
            &owner,
            deadline,
            false,
        )
        .await
        .map_err(|e| format!("pre-delete hooks failed: {e}"))?;
        let report = applier
            .uninstall(&inventory, &owner, policy, deadline)
            .await
            .map_err(|e| e.to_string())?;
        apply::hooks::run_hooks(
            &applier,
            &mut hooks,
            HookEvent::PostDelete,
            &owner,
            deadline,
            false,
        )
        .await
        .map_err(|e| format!("post-delete hooks failed: {e}"))?;
        // Orphan hands the release back to Helm: its history stays, so `helm upgrade` goes on.
        if policy == DeletionPolicy::Delete {
            apply::delete_history(
                ctx.clients.own(),
                &owner.release_namespace,
                &owner.release_name,
            )
            .await
            .map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(report)
    }
    .await;
    match result {
        Ok(report) => {
            let verb = match policy {
                DeletionPolicy::Delete => "deleted",
                DeletionPolicy::Orphan => "orphaned",
            };
            events.normal(
                reasons::SUCCEEDED,
                "Uninstall",
                format!(
                    "uninstalled release {}: {verb} {} objects, {} left as they were",
                    owner.release_name,
                    report.deleted.len(),
                    report.skipped.len()
                ),
            );
            super::events::publish(&ctx.recorder, release, events).await;
            let finalizers = release
                .finalizers()
                .iter()
                .filter(|f| *f != FINALIZER)
                .cloned()
                .collect();
            set_finalizers(ctx, release, finalizers).await?;
            ctx.memory.forget(&key);
            ctx.config
                .metrics
                .set_ready(&namespace, &release.name_any(), None);
            Ok(Action::await_change())
        }
        Err(message) => {
            events.warning(reasons::APPLY_FAILED, "Uninstall", message.clone());
            super::events::publish(&ctx.recorder, release, events).await;
            let failures = ctx.memory.failed(&key);
            tracing::warn!(release = %key, error = %message, "uninstall failed; retrying");
            let wait = Duration::from_secs(1u64 << failures.min(6));
            Ok(Action::requeue(wait))
        }
    }
}

/// The hooks of the release's last deployed revision (none when it has no history).
async fn delete_hooks(ctx: &Context, owner: &ReleaseOwner) -> Result<Vec<apply::Hook>, String> {
    let history = apply::load_history(
        ctx.clients.own(),
        &owner.release_namespace,
        &owner.release_name,
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(history
        .iter()
        .rev()
        .find(|r| r.status == ReleaseStatus::Deployed)
        .map(|r| apply::hooks::from_helm_json(&r.hooks))
        .unwrap_or_default())
}
