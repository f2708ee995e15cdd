//! Remediation of a failed revision (`spec.install.remediation`, `spec.upgrade.remediation`), as
//! `helm upgrade --rollback-on-failure` and Flux's HelmRelease remediation do it, once the
//! retries are spent:
//!
//! - rollback: the last successful (`deployed` or `superseded`) revision's manifests are applied
//!   again as a new revision (between its `pre-rollback` and `post-rollback` hooks), recorded `pending-rollback` then `deployed` with Helm's description
//!   `Rollback to N` (the failed revision stays `failed`, the one rolled back to becomes
//!   `superseded`), so `helm history` reads superseded / failed / deployed as after `helm rollback`.
//! - uninstall: the failed revision's objects are deleted (between its `pre-delete` and
//!   `post-delete` hooks; a failing delete hook is an Event, not a stop) and its record marked
//!   `uninstalled`
//!   (the history is kept, as `helm uninstall --keep-history` keeps it), so the next input
//!   installs afresh.
//!
//! Either way the release is then held: `Ready=False` (reason `RolledBack` or `Uninstalled`)
//! with the failure in its message, and the same inputs are not tried again; every interval the
//! rolled-back manifests are re-applied (drift correction). The record carrying
//! [`REMEDIATION_ANNOTATION`] (the inputs digest it remediated) makes the hold survive a restart.

use super::deploy::{ATTEMPTS_ANNOTATION, CHART_DIGEST_ANNOTATION, HOOK_FAILED, inputs_of};
use super::{Attempt, Failure, Manifests};
use crate::api::conditions::{reasons, types};
use crate::api::{ChartRevision, DeletionPolicy, InventoryEntry, RemediationStrategy};
use crate::apply::hooks::{self, Hook, HookEvent};
use crate::apply::{self, Applier, ReleaseRecord, ReleaseStatus};
use crate::controller::inputs::{manifest_digest, parse_manifest_text};
use crate::controller::memory::Applied;
use kube::ResourceExt;
use std::sync::Arc;

/// Annotation on the record that remediated a failure: the inputs digest that failed.
pub const REMEDIATION_ANNOTATION: &str = "signet.dev/remediation-of";
/// Annotation on an uninstalled record: why its revision failed (the description says
/// "Uninstallation complete", as Helm's does).
pub const FAILURE_ANNOTATION: &str = "signet.dev/failure";
/// Ready's reason after a rollback.
pub const ROLLED_BACK: &str = "RolledBack";
/// Ready's reason after an uninstall.
pub const UNINSTALLED: &str = "Uninstalled";

/// A failed revision to remediate.
pub(super) struct Remediation {
    pub applier: Applier,
    pub strategy: RemediationStrategy,
    /// The failed revision's record.
    pub failed: ReleaseRecord,
    /// The inputs digest that failed.
    pub inputs: String,
}

/// The latest record, when it remediated `inputs`: the release is held.
pub(super) fn remediated<'a>(
    history: &'a [ReleaseRecord],
    inputs: &str,
) -> Option<&'a ReleaseRecord> {
    history.iter().max_by_key(|r| r.version).filter(|r| {
        r.annotations
            .get(REMEDIATION_ANNOTATION)
            .map(String::as_str)
            == Some(inputs)
    })
}

/// The chart version and digest a record was rendered from.
fn chart_of(r: &ReleaseRecord) -> ChartRevision {
    ChartRevision {
        version: r
            .chart_metadata
            .get("version")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned(),
        digest: r
            .annotations
            .get(CHART_DIGEST_ANNOTATION)
            .cloned()
            .unwrap_or_default(),
    }
}

impl Attempt<'_> {
    /// The remediation that applies to a failed install or upgrade, with its retries.
    pub(super) fn remediation_policy(&self, upgrade: bool) -> Option<(RemediationStrategy, u32)> {
        let spec = &self.release.spec;
        let retries = |n: i32| u32::try_from(n).unwrap_or(0);
        if upgrade {
            let r = spec.upgrade.as_ref()?.remediation.as_ref()?;
            Some((r.strategy, retries(r.retries)))
        } else {
            let r = spec.install.as_ref()?.remediation.as_ref()?;
            Some((RemediationStrategy::Uninstall, retries(r.retries)))
        }
    }

    /// Remediates a failed revision; returns the failure the release is held with (or the
    /// remediation's own failure, retried at the next attempt).
    pub(super) async fn remediate(
        &mut self,
        r: Remediation,
        deadline: tokio::time::Instant,
    ) -> Failure {
        let history = match apply::load_history(
            self.ctx.clients.own(),
            &self.owner.release_namespace,
            &self.owner.release_name,
        )
        .await
        {
            Ok(h) => h,
            Err(e) => return Failure::from(e),
        };
        let target = history
            .iter()
            .filter(|h| h.version < r.failed.version)
            .filter(|h| {
                matches!(
                    h.status,
                    ReleaseStatus::Deployed | ReleaseStatus::Superseded
                )
            })
            .max_by_key(|h| h.version)
            .cloned();
        match (r.strategy, target) {
            (RemediationStrategy::Rollback, Some(target)) => {
                let version = history.iter().map(|h| h.version).max().unwrap_or(0) + 1;
                let now = chrono::Utc::now();
                let mut annotations = target.annotations.clone();
                annotations.remove(ATTEMPTS_ANNOTATION);
                annotations.insert(REMEDIATION_ANNOTATION.to_owned(), r.inputs.clone());
                let record = ReleaseRecord {
                    version,
                    status: ReleaseStatus::PendingRollback,
                    description: format!("Rollback to {}", target.version),
                    first_deployed: target.first_deployed,
                    last_deployed: now,
                    annotations,
                    ..target.clone()
                };
                self.events.warning(
                    ROLLED_BACK,
                    "Rollback",
                    format!(
                        "revision {} failed; rolling back to revision {} as revision {version}",
                        r.failed.version, target.version
                    ),
                );
                if let Err(f) = self.roll_back(&r.applier, record, deadline).await {
                    return f;
                }
                self.held(&history, &r.inputs, ROLLED_BACK)
            }
            (RemediationStrategy::Rollback, None) => {
                // Nothing ever succeeded: a failed install under an upgrade policy cannot roll back.
                Failure::new(
                    types::APPLIED,
                    reasons::APPLY_FAILED,
                    format!(
                        "{}; no earlier successful revision to roll back to",
                        r.failed.description
                    ),
                )
            }
            (RemediationStrategy::Uninstall, _) => {
                if let Err(f) = self
                    .uninstall_failed(&r.applier, &history, r.failed, &r.inputs, deadline)
                    .await
                {
                    return f;
                }
                self.held(&history, &r.inputs, UNINSTALLED)
            }
        }
    }

    /// The release stays as remediated: a rollback is re-applied (drift) and finished if it was
    /// not; an uninstalled release stays uninstalled.
    pub(super) async fn hold(
        &mut self,
        applier: &Applier,
        history: &[ReleaseRecord],
        latest: ReleaseRecord,
        inputs: &str,
        deadline: tokio::time::Instant,
    ) -> Failure {
        if latest.status == ReleaseStatus::Uninstalled {
            self.status.inventory.clear();
            return self.held(history, inputs, UNINSTALLED);
        }
        if let Err(f) = self.roll_back(applier, latest, deadline).await {
            return f;
        }
        self.held(history, inputs, ROLLED_BACK)
    }

    /// Applies a rollback record's manifests, prunes, waits for health, and records it deployed
    /// (or failed, as Helm records a failed rollback).
    async fn roll_back(
        &mut self,
        applier: &Applier,
        mut record: ReleaseRecord,
        deadline: tokio::time::Instant,
    ) -> Result<(), Failure> {
        let finished = record.status == ReleaseStatus::Deployed;
        if !finished {
            record.status = ReleaseStatus::PendingRollback;
            self.write_record(&record).await?;
        }
        let docs = Arc::new(parse_manifest_text(&record.manifest));
        let m = Manifests {
            docs: docs.clone(),
            crds: Arc::new(Vec::new()),
            fresh: None,
            revision: record.version,
        };
        let inputs = inputs_of(&record).unwrap_or_default().to_owned();
        let chart = chart_of(&record);
        // Helm's rollback runs the target revision's rollback hooks around the apply; a rollback
        // already recorded deployed (held, re-applied each interval) runs none.
        let mut hooks = if finished {
            Vec::new()
        } else {
            hooks::from_helm_json(&record.hooks)
        };
        let result = async {
            self.rollback_hooks(applier, &mut hooks, HookEvent::PreRollback, deadline)
                .await?;
            let inventory = self.apply(applier, &m, &chart, &inputs, deadline).await?;
            self.prune(applier, &inventory).await?;
            self.status.inventory = inventory;
            self.health(applier, deadline, false).await?;
            self.rollback_hooks(applier, &mut hooks, HookEvent::PostRollback, deadline)
                .await
        }
        .await;
        if !hooks.is_empty() {
            record.hooks = hooks::to_helm_json(&hooks);
        }
        if let Err(mut f) = result {
            if !finished {
                record.status = ReleaseStatus::Failed;
                record.description = format!(
                    "Rollback {:?} failed: {}",
                    self.owner.release_name, f.message
                );
                if let Err(e) = self.write_record(&record).await {
                    tracing::warn!(release = %self.key, error = %e.message, "cannot record the failed rollback");
                }
            }
            f.message = format!("rolling back to revision {}: {}", m.revision, f.message);
            return Err(f);
        }
        if !finished {
            record.status = ReleaseStatus::Deployed;
            self.write_record(&record).await?;
        }
        self.ctx.memory.set_applied(
            &self.key,
            Applied {
                uid: self.release.uid().unwrap_or_default(),
                inputs_digest: inputs,
                manifest_digest: manifest_digest(&record.manifest),
                docs,
                crds: Arc::new(Vec::new()),
                version: chart.version,
                digest: chart.digest,
                revision: record.version,
            },
        );
        Ok(())
    }

    async fn rollback_hooks(
        &mut self,
        applier: &Applier,
        list: &mut [Hook],
        event: HookEvent,
        deadline: tokio::time::Instant,
    ) -> Result<(), Failure> {
        hooks::run_hooks(applier, list, event, &self.owner, deadline, false)
            .await
            .map_err(|e| {
                let mut f = Failure::from(e);
                f.message = format!("{event} hooks failed: {}", f.message);
                f
            })?;
        Ok(())
    }

    async fn delete_hooks(
        &mut self,
        applier: &Applier,
        list: &mut [Hook],
        event: HookEvent,
        deadline: tokio::time::Instant,
    ) {
        if let Err(e) = hooks::run_hooks(applier, list, event, &self.owner, deadline, false).await {
            self.events.warning(
                HOOK_FAILED,
                "Uninstall",
                format!("{event} hooks failed: {e}"),
            );
        }
    }

    /// Deletes what a failed revision applied (and what the status lists), then marks the
    /// history: the failed record `uninstalled`, any deployed one `superseded`.
    async fn uninstall_failed(
        &mut self,
        applier: &Applier,
        history: &[ReleaseRecord],
        mut failed: ReleaseRecord,
        inputs: &str,
        deadline: tokio::time::Instant,
    ) -> Result<(), Failure> {
        let mut entries: Vec<InventoryEntry> = self.status.inventory.clone();
        let docs = parse_manifest_text(&failed.manifest);
        // Objects the failed apply may have created before it stopped; those whose kind cannot
        // be resolved were not created.
        for (path, doc) in docs {
            let one = [(path, doc)];
            if let Ok(objects) = applier.prepare(&one, &self.owner).await {
                for o in objects {
                    let e = o.entry();
                    if !entries.contains(&e) {
                        entries.push(e);
                    }
                }
            }
        }
        // As `helm uninstall` does, between the failed revision's delete hooks. A failing delete
        // hook is reported, not fatal: the failed revision must go either way.
        let mut delete_hooks = hooks::from_helm_json(&failed.hooks);
        self.delete_hooks(applier, &mut delete_hooks, HookEvent::PreDelete, deadline)
            .await;
        let report = applier
            .uninstall(&entries, &self.owner, DeletionPolicy::Delete, deadline)
            .await?;
        self.delete_hooks(applier, &mut delete_hooks, HookEvent::PostDelete, deadline)
            .await;
        failed.hooks = hooks::to_helm_json(&delete_hooks);
        for old in history
            .iter()
            .filter(|h| h.version != failed.version && h.status == ReleaseStatus::Deployed)
        {
            let mut old = old.clone();
            old.status = ReleaseStatus::Superseded;
            self.write_record(&old).await?;
        }
        failed
            .annotations
            .insert(FAILURE_ANNOTATION.to_owned(), failed.description.clone());
        failed.status = ReleaseStatus::Uninstalled;
        failed.description = "Uninstallation complete".into();
        failed
            .annotations
            .insert(REMEDIATION_ANNOTATION.to_owned(), inputs.to_owned());
        self.write_record(&failed).await?;
        self.events.warning(
            UNINSTALLED,
            "Uninstall",
            format!(
                "revision {} failed; uninstalled the release ({} objects deleted)",
                failed.version,
                report.deleted.len()
            ),
        );
        self.status.inventory.clear();
        self.status.applied_inputs_digest = None;
        self.status.applied_manifest_digest = None;
        self.status.last_applied_revision = None;
        self.ctx.memory.forget(&self.key);
        Ok(())
    }

    /// The failure a remediated release is held with: what failed, and what was done about it.
    fn held(&self, history: &[ReleaseRecord], inputs: &str, reason: &'static str) -> Failure {
        let failed = history
            .iter()
            .filter(|h| inputs_of(h) == Some(inputs))
            .filter(|h| {
                h.status == ReleaseStatus::Failed
                    || (h.status == ReleaseStatus::Uninstalled && reason == UNINSTALLED)
            })
            .max_by_key(|h| h.version);
        let what = failed
            .map(|f| {
                let chart = chart_of(f);
                format!("revision {} ({})", f.version, chart.version)
            })
            .unwrap_or_else(|| "the release".to_owned());
        let cause = failed
            .map(|f| {
                f.annotations
                    .get(FAILURE_ANNOTATION)
                    .unwrap_or(&f.description)
                    .clone()
            })
            .unwrap_or_else(|| "it failed".to_owned());
        let done = match reason {
            ROLLED_BACK => {
                let to = self
                    .status
                    .last_applied_revision
                    .as_ref()
                    .map(|c| format!(" to {}", c.version))
                    .unwrap_or_default();
                format!("rolled back{to}")
            }
            _ => "uninstalled".to_owned(),
        };
        Failure {
            stalled: true,
            held: true,
            ..Failure::new(
                types::APPLIED,
                reason,
                format!(
                    "{what} failed and was {done}; not retried until the chart, values or spec change: {cause}"
                ),
            )
        }
    }
}
