//! Steps 7 to 10 of an attempt, and the memory of what was applied: re-use of the last applied
//! manifests while the inputs are unchanged (from the Helm record after a restart, only when the
//! status vouches for it), render as the next Helm revision, and release it as Helm does — the
//! record written `pending-install`/`pending-upgrade`, CRDs, pre-hooks, apply, prune, health,
//! post-hooks, then `deployed` (the previous revision `superseded`) or `failed`.
//!
//! A failed attempt of the same inputs is retried as the same revision (the `failed` record is
//! rewritten, its attempt count in [`ATTEMPTS_ANNOTATION`]), so retries do not fill the history;
//! a revision left pending by a stopped controller is finished (hooks that already succeeded are
//! not run again) or rendered anew under the same number.

use super::{Attempt, Failure, Fresh, INPUTS_ANNOTATION, Manifests, write_status};
use crate::api::conditions::{reasons, types};
use crate::api::{ChartRevision, InventoryEntry};
use crate::apply::hooks::{self, Hook, HookError, HookEvent};
use crate::apply::{self, Applier, DesiredObject, ReleaseRecord, ReleaseStatus};
use crate::controller::inputs::{manifest_digest, manifest_text, parse_manifest_text};
use crate::controller::memory::Applied;
use crate::controller::render::{self, ClusterInfo, ReleaseInfo};
use crate::controller::source::Resolved;
use crate::controller::status;
use crate::verify::VerifiedChart;
use kube::ResourceExt;
use std::sync::Arc;

/// Annotation on a `failed` record: how many attempts of its inputs failed.
pub const ATTEMPTS_ANNOTATION: &str = "signet.dev/attempts";
/// Annotation on a record: the chart's OCI manifest digest it was rendered from.
pub const CHART_DIGEST_ANNOTATION: &str = "signet.dev/chart-digest";
/// The condition reason of a failed hook.
pub const HOOK_FAILED: &str = "HookFailed";

impl From<HookError> for Failure {
    fn from(e: HookError) -> Self {
        Failure::new(types::APPLIED, HOOK_FAILED, e.to_string())
    }
}

/// Whether a record is a revision that was started and not finished.
pub(super) fn is_pending(s: ReleaseStatus) -> bool {
    matches!(
        s,
        ReleaseStatus::PendingInstall | ReleaseStatus::PendingUpgrade
    )
}

/// The inputs digest a record was rendered from.
pub(super) fn inputs_of(r: &ReleaseRecord) -> Option<&str> {
    r.annotations.get(INPUTS_ANNOTATION).map(String::as_str)
}

impl Attempt<'_> {
    /// The manifests applied last, when the inputs are unchanged: from memory, or after a restart
    /// from the Helm release record — only when its manifest hashes to the digest the status
    /// recorded, so a release Secret alone cannot inject manifests. A record still pending (the
    /// controller stopped while releasing it) comes back as a revision to finish.
    pub(super) async fn remembered(&self, inputs: &str) -> Option<Manifests> {
        let uid = self.release.uid().unwrap_or_default();
        if let Some(a) = self.ctx.memory.applied(&self.key, &uid) {
            if a.inputs_digest == inputs {
                return Some(Manifests {
                    docs: a.docs,
                    crds: a.crds,
                    fresh: None,
                    revision: a.revision,
                });
            }
            return None;
        }
        if self.status.applied_inputs_digest.as_deref() != Some(inputs) {
            return None;
        }
        let want = self.status.applied_manifest_digest.as_deref()?;
        let history = apply::load_history(
            self.ctx.clients.own(),
            &self.owner.release_namespace,
            &self.owner.release_name,
        )
        .await
        .ok()?;
        let record = history
            .iter()
            .rev()
            .find(|r| r.status == ReleaseStatus::Deployed || is_pending(r.status))?;
        if manifest_digest(&record.manifest) != want {
            tracing::warn!(release = %self.key, "the Helm release record does not match the applied manifest digest in the status; rendering again");
            return None;
        }
        let docs = Arc::new(parse_manifest_text(&record.manifest));
        if is_pending(record.status) {
            return Some(Manifests {
                docs,
                crds: Arc::new(Vec::new()),
                revision: record.version,
                fresh: Some(Fresh {
                    hooks: hooks::from_helm_json(&record.hooks),
                    upgrade: record.status == ReleaseStatus::PendingUpgrade,
                    resume: true,
                    attempts: 0,
                    record: record.clone(),
                }),
            });
        }
        let applied = Applied {
            uid,
            inputs_digest: inputs.to_owned(),
            manifest_digest: want.to_owned(),
            docs: docs.clone(),
            crds: Arc::new(Vec::new()),
            version: self
                .status
                .last_applied_revision
                .as_ref()
                .map(|r| r.version.clone())
                .unwrap_or_default(),
            digest: self
                .status
                .last_applied_revision
                .as_ref()
                .map(|r| r.digest.clone())
                .unwrap_or_default(),
            revision: record.version,
        };
        self.ctx.memory.set_applied(&self.key, applied);
        Some(Manifests {
            docs,
            crds: Arc::new(Vec::new()),
            fresh: None,
            revision: record.version,
        })
    }

    /// Step 7: render for the cluster, as the next Helm revision — or as the revision a failed
    /// attempt of the same inputs, or an unfinished one, already holds.
    pub(super) async fn render(
        &self,
        chart: &VerifiedChart,
        values: serde_json::Value,
        client: kube::Client,
        history: &[ReleaseRecord],
        resolved: &Resolved,
        inputs: &str,
    ) -> Result<Manifests, Failure> {
        let ctx = self.ctx;
        let latest = history.iter().max_by_key(|r| r.version);
        let retried =
            latest.filter(|r| r.status == ReleaseStatus::Failed && inputs_of(r) == Some(inputs));
        let reuse = latest.filter(|r| retried.is_some() || is_pending(r.status));
        let revision = match reuse {
            Some(r) => r.version,
            None => latest.map(|r| r.version).unwrap_or(0) + 1,
        };
        let attempts = retried
            .and_then(|r| r.annotations.get(ATTEMPTS_ANNOTATION))
            .and_then(|a| a.parse::<u32>().ok())
            .unwrap_or(u32::from(retried.is_some()));
        // Helm installs when the release is unknown or its last revision was uninstalled.
        let is_upgrade = latest.is_some_and(|l| l.status != ReleaseStatus::Uninstalled)
            && history.iter().any(|r| {
                r.status == ReleaseStatus::Deployed || r.status == ReleaseStatus::Superseded
            });
        let cluster = ClusterInfo {
            kube_version: Some(ctx.kinds.server_version().await?),
            api_versions: ctx.kinds.api_versions().await?,
        };
        let release = ReleaseInfo {
            name: self.owner.release_name.clone(),
            namespace: self.owner.release_namespace.clone(),
            revision: i64::from(revision),
            is_upgrade,
            post_renderers: self.release.spec.post_renderers.clone(),
        };
        let lookup = Arc::new(apply::ClusterLookup::new(
            client,
            ctx.kinds.clone(),
            tokio::runtime::Handle::current(),
        ));
        let rendered = render::render(chart, &values, &release, &cluster, lookup).await?;
        let mut hook_list = Vec::with_capacity(rendered.hooks.len());
        for (path, doc, events) in &rendered.hooks {
            if let Some(h) = Hook::from_rendered(path, doc, events)? {
                hook_list.push(h);
            }
        }
        let now = chrono::Utc::now();
        let record = ReleaseRecord {
            name: self.owner.release_name.clone(),
            namespace: self.owner.release_namespace.clone(),
            version: revision,
            status: if is_upgrade {
                ReleaseStatus::PendingUpgrade
            } else {
                ReleaseStatus::PendingInstall
            },
            chart_metadata: rendered.chart_metadata.clone(),
            chart_values: serde_json::json!({}),
            config: values,
            manifest: manifest_text(&rendered.manifests),
            hooks: hooks::to_helm_json(&hook_list),
            notes: rendered.notes.clone(),
            description: if is_upgrade {
                "Preparing upgrade".into()
            } else {
                "Initial install underway".into()
            },
            first_deployed: history.first().map(|r| r.first_deployed).unwrap_or(now),
            last_deployed: now,
            annotations: [
                (INPUTS_ANNOTATION.to_owned(), inputs.to_owned()),
                (CHART_DIGEST_ANNOTATION.to_owned(), resolved.digest.clone()),
            ]
            .into(),
        };
        Ok(Manifests {
            docs: Arc::new(rendered.manifests),
            crds: Arc::new(rendered.crds),
            revision,
            fresh: Some(Fresh {
                record,
                hooks: hook_list,
                upgrade: is_upgrade,
                resume: false,
                attempts,
            }),
        })
    }

    /// Parses the documents and the CRDs, then dry-runs the whole set: nothing is written yet.
    pub(super) async fn prepare(
        &self,
        applier: &Applier,
        m: &Manifests,
    ) -> Result<(Vec<DesiredObject>, Vec<DesiredObject>), Failure> {
        let crds = if self.release.spec.crds == crate::api::CrdPolicy::Skip {
            Vec::new()
        } else {
            applier.prepare(&m.crds, &self.owner).await?
        };
        let objects = applier
            .prepare_with_crds(&m.docs, &self.owner, &crds)
            .await?;
        applier.dry_run(&objects).await?;
        Ok((crds, objects))
    }

    /// Step 8 for manifests already released (re-applied each interval to correct drift, or a
    /// rollback re-applied): prepare, dry-run, CRDs, apply.
    pub(super) async fn apply(
        &mut self,
        applier: &Applier,
        m: &Manifests,
        chart: &ChartRevision,
        inputs: &str,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<InventoryEntry>, Failure> {
        let (crds, objects) = self.prepare(applier, m).await?;
        applier
            .apply_crds(&crds, self.release.spec.crds, deadline)
            .await?;
        let report = applier.apply(&objects).await?;
        if report.changed > 0 {
            self.events.normal(
                reasons::SUCCEEDED,
                "Apply",
                format!("corrected drift on {} objects", report.changed),
            );
        }
        self.applied(m, chart, inputs, report.inventory.len());
        Ok(report.inventory)
    }

    /// The `Applied` condition and what the status says was applied.
    pub(super) fn applied(&mut self, m: &Manifests, chart: &ChartRevision, inputs: &str, n: usize) {
        let message = format!("applied revision {} ({n} objects)", m.revision);
        status::step_ok(
            &mut self.status,
            types::APPLIED,
            reasons::SUCCEEDED,
            &message,
            self.generation,
            &self.now,
        );
        self.status.last_applied_revision = Some(chart.clone());
        if !self.signers.is_empty() {
            self.status.verified_signers = std::mem::take(&mut self.signers);
        }
        self.status.applied_inputs_digest = Some(inputs.to_owned());
        self.status.applied_manifest_digest = Some(manifest_digest(&manifest_text(&m.docs)));
    }

    /// Writes `record` to the history (superseding the deployed one when it is deployed).
    pub(super) async fn write_record(&self, record: &ReleaseRecord) -> Result<(), Failure> {
        apply::record(self.ctx.clients.own(), record, self.ctx.config.max_history).await?;
        Ok(())
    }

    /// Steps 8 to 10 for a freshly rendered (or unfinished) revision, as Helm releases one: the
    /// record pending, dry-run, CRDs, pre-hooks, apply, prune, health, post-hooks, the record
    /// deployed. A failure is returned as it is; the caller records the revision failed.
    pub(super) async fn release_revision(
        &mut self,
        applier: &Applier,
        m: &mut Manifests,
        resolved: &Resolved,
        inputs: &str,
        deadline: tokio::time::Instant,
    ) -> Result<(), Failure> {
        let Some(fresh) = m.fresh.as_mut() else {
            return Ok(());
        };
        let (pre, post) = if fresh.upgrade {
            (HookEvent::PreUpgrade, HookEvent::PostUpgrade)
        } else {
            (HookEvent::PreInstall, HookEvent::PostInstall)
        };
        let resume = fresh.resume;
        self.write_record(&fresh.record).await?;
        let (crds, objects) = {
            let m: &Manifests = m;
            self.prepare(applier, m).await?
        };
        applier
            .apply_crds(&crds, self.release.spec.crds, deadline)
            .await?;
        self.run_hooks(applier, m, pre, deadline, resume).await?;
        let report = applier.apply(&objects).await?;
        let chart = ChartRevision {
            version: resolved.version.clone(),
            digest: resolved.digest.clone(),
        };
        self.applied(m, &chart, inputs, report.inventory.len());
        self.prune(applier, &report.inventory).await?;
        self.status.inventory = report.inventory.clone();
        self.health(applier, deadline, true).await?;
        self.run_hooks(applier, m, post, deadline, resume).await?;

        let Some(fresh) = m.fresh.as_mut() else {
            return Ok(());
        };
        fresh.record.status = ReleaseStatus::Deployed;
        fresh.record.description = if fresh.upgrade {
            "Upgrade complete".into()
        } else {
            "Install complete".into()
        };
        fresh.record.annotations.remove(ATTEMPTS_ANNOTATION);
        self.write_record(&fresh.record).await?;
        self.ctx.memory.set_applied(
            &self.key,
            Applied {
                uid: self.release.uid().unwrap_or_default(),
                inputs_digest: inputs.to_owned(),
                manifest_digest: manifest_digest(&fresh.record.manifest),
                docs: m.docs.clone(),
                crds: m.crds.clone(),
                version: resolved.version.clone(),
                digest: resolved.digest.clone(),
                revision: m.revision,
            },
        );
        self.events.normal(
            reasons::SUCCEEDED,
            "Apply",
            format!(
                "applied {} objects of {}@{} as revision {}",
                report.inventory.len(),
                resolved.version,
                resolved.digest,
                m.revision
            ),
        );
        Ok(())
    }

    /// Runs the hooks of `event` and stores their runs in the pending record.
    async fn run_hooks(
        &mut self,
        applier: &Applier,
        m: &mut Manifests,
        event: HookEvent,
        deadline: tokio::time::Instant,
        resume: bool,
    ) -> Result<(), Failure> {
        let Some(fresh) = m.fresh.as_mut() else {
            return Ok(());
        };
        if hooks::order_for(&fresh.hooks, event).is_empty() {
            return Ok(());
        }
        let result = hooks::run_hooks(
            applier,
            &mut fresh.hooks,
            event,
            &self.owner,
            deadline,
            resume,
        )
        .await;
        fresh.record.hooks = hooks::to_helm_json(&fresh.hooks);
        let ran = match result {
            Ok(n) => n,
            Err(e) => {
                // Helm's words for a failed hook phase, before the hook's own message.
                let prefix = match event {
                    HookEvent::PreInstall | HookEvent::PostInstall => format!("failed {event}"),
                    _ => format!("{event} hooks failed"),
                };
                let mut f = Failure::from(e);
                f.message = format!("{prefix}: {}", f.message);
                return Err(f);
            }
        };
        self.write_record(&fresh.record).await?;
        if ran > 0 {
            self.events.normal(
                reasons::SUCCEEDED,
                "Hooks",
                format!("ran {ran} {event} hooks of revision {}", m.revision),
            );
        }
        Ok(())
    }

    /// A revision that could not be released is recorded `failed` (Helm's description), with the
    /// number of failed attempts of its inputs. Returns that number.
    pub(super) async fn record_failed(&self, m: &mut Manifests, f: &Failure) -> u32 {
        let Some(fresh) = m.fresh.as_mut() else {
            return 0;
        };
        let attempts = fresh.attempts + 1;
        fresh.record.status = ReleaseStatus::Failed;
        fresh.record.description = if fresh.upgrade {
            format!(
                "Upgrade {:?} failed: {}",
                self.owner.release_name, f.message
            )
        } else {
            format!(
                "Release {:?} failed: {}",
                self.owner.release_name, f.message
            )
        };
        fresh.record.last_deployed = chrono::Utc::now();
        fresh
            .record
            .annotations
            .insert(ATTEMPTS_ANNOTATION.to_owned(), attempts.to_string());
        if let Err(e) = self.write_record(&fresh.record).await {
            tracing::warn!(release = %self.key, error = %e.message, "cannot record the failed revision");
        }
        attempts
    }

    /// Step 9: delete what the previous inventory has and this one does not.
    pub(super) async fn prune(
        &mut self,
        applier: &Applier,
        current: &[InventoryEntry],
    ) -> Result<(), Failure> {
        if !self.release.spec.prune {
            return Ok(());
        }
        let previous = self.status.inventory.clone();
        // The first apply of a release adopted from Helm also prunes the superseded revision's objects.
        let adopted = apply::adopted_inventory(
            self.ctx.clients.own(),
            applier.kinds(),
            &self.owner,
            &previous,
        )
        .await?;
        if previous.iter().chain(&adopted).all(|p| current.contains(p)) {
            return Ok(());
        }
        let report = applier
            .prune_adopting(&previous, &adopted, current, &self.owner)
            .await?;
        if !report.deleted.is_empty() {
            let names: Vec<String> = report
                .deleted
                .iter()
                .map(|e| apply::describe(&e.kind, e.namespace.as_deref(), &e.name))
                .collect();
            self.events.normal(
                reasons::SUCCEEDED,
                "Prune",
                format!("pruned {}", names.join(", ")),
            );
        }
        for (entry, why) in &report.skipped {
            tracing::info!(release = %self.key, object = %apply::describe(&entry.kind, entry.namespace.as_deref(), &entry.name), why = %why, "not pruned");
        }
        Ok(())
    }

    /// Step 10, bounded by the attempt's deadline.
    pub(super) async fn health(
        &mut self,
        applier: &Applier,
        deadline: tokio::time::Instant,
        fresh: bool,
    ) -> Result<(), Failure> {
        if !self.release.waits_for_health() {
            status::step_ok(
                &mut self.status,
                types::HEALTHY,
                reasons::HEALTH_CHECK_SKIPPED,
                "health checking is disabled (spec.health.wait: false)",
                self.generation,
                &self.now,
            );
            return Ok(());
        }
        if fresh {
            // A rollout may take a while: show Applied (and that health is pending) meanwhile.
            let mut interim = self.status.clone();
            crate::api::conditions::set_condition(
                &mut interim.conditions,
                status::condition(
                    types::RECONCILING,
                    "True",
                    reasons::PROGRESSING,
                    "waiting for the applied objects to become ready",
                    self.generation,
                    &self.now,
                ),
            );
            interim.observed_generation = Some(self.generation);
            crate::api::conditions::update_ready(
                &mut interim.conditions,
                Some(self.generation),
                self.now.clone(),
            );
            let old = self
                .written
                .clone()
                .unwrap_or_else(|| self.release.status.clone().unwrap_or_default());
            match write_status(self.ctx, self.release, &old, &interim).await {
                Ok(_) => self.written = Some(interim),
                Err(e) => {
                    tracing::warn!(release = %self.key, error = %e, "cannot write the interim status")
                }
            }
        }
        let checks = self
            .release
            .spec
            .health
            .as_ref()
            .map(|h| h.checks.clone())
            .unwrap_or_default();
        applier
            .wait_healthy(
                &self.status.inventory,
                &checks,
                &self.owner.release_namespace,
                deadline,
            )
            .await?;
        let message = format!("{} objects ready", self.status.inventory.len());
        status::step_ok(
            &mut self.status,
            types::HEALTHY,
            reasons::SUCCEEDED,
            &message,
            self.generation,
            &self.now,
        );
        Ok(())
    }
}
