//! Steps 7 to 10 of an attempt, and the memory of what was applied: re-use of the last applied
//! manifests while the inputs are unchanged (from the Helm record after a restart, only when the
//! status vouches for it), render as the next Helm revision, apply (dry-run first, CRDs, SSA) and
//! record, prune, and health.

use super::{Attempt, Failure, Fresh, INPUTS_ANNOTATION, Manifests, write_status};
use crate::api::conditions::{reasons, types};
use crate::api::{ChartRevision, InventoryEntry};
use crate::apply::{self, Applier, ReleaseRecord, ReleaseStatus};
use crate::controller::inputs::{manifest_digest, manifest_text, parse_manifest_text};
use crate::controller::memory::Applied;
use crate::controller::render::{self, ClusterInfo, ReleaseInfo};
use crate::controller::source::Resolved;
use crate::controller::status;
use crate::verify::VerifiedChart;
use kube::ResourceExt;
use std::sync::Arc;

impl Attempt<'_> {
    /// The manifests applied last, when the inputs are unchanged: from memory, or after a restart
    /// from the Helm release record — only when its manifest hashes to the digest the status
    /// recorded, so a release Secret alone cannot inject manifests.
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
            .find(|r| r.status == ReleaseStatus::Deployed)?;
        if manifest_digest(&record.manifest) != want {
            tracing::warn!(release = %self.key, "the Helm release record does not match the applied manifest digest in the status; rendering again");
            return None;
        }
        let docs = Arc::new(parse_manifest_text(&record.manifest));
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

    /// Step 7: render for the cluster, as the next Helm revision.
    pub(super) async fn render(
        &self,
        chart: &VerifiedChart,
        values: serde_json::Value,
        client: kube::Client,
    ) -> Result<Manifests, Failure> {
        let ctx = self.ctx;
        let history = apply::load_history(
            ctx.clients.own(),
            &self.owner.release_namespace,
            &self.owner.release_name,
        )
        .await?;
        let revision = history.iter().map(|r| r.version).max().unwrap_or(0) + 1;
        let deployed = history
            .iter()
            .find(|r| r.status == ReleaseStatus::Deployed || r.status == ReleaseStatus::Superseded);
        let cluster = ClusterInfo {
            kube_version: Some(ctx.kinds.server_version().await?),
            api_versions: ctx.kinds.api_versions().await?,
        };
        let release = ReleaseInfo {
            name: self.owner.release_name.clone(),
            namespace: self.owner.release_namespace.clone(),
            revision: i64::from(revision),
            is_upgrade: deployed.is_some(),
            post_renderers: self.release.spec.post_renderers.clone(),
        };
        let lookup = Arc::new(apply::ClusterLookup::new(
            client,
            ctx.kinds.clone(),
            tokio::runtime::Handle::current(),
        ));
        let rendered = render::render(chart, &values, &release, &cluster, lookup).await?;
        Ok(Manifests {
            docs: Arc::new(rendered.manifests.clone()),
            crds: Arc::new(rendered.crds.clone()),
            revision,
            fresh: Some(Fresh {
                rendered,
                values,
                first_deployed: history.first().map(|r| r.first_deployed),
            }),
        })
    }

    /// Step 8: prepare, dry-run the whole set, CRDs per `spec.crds`, apply. Records a freshly
    /// rendered set as the new deployed Helm revision and remembers it.
    pub(super) async fn apply(
        &mut self,
        applier: &Applier,
        m: &Manifests,
        resolved: &Resolved,
        inputs: &str,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<InventoryEntry>, Failure> {
        let crds = if self.release.spec.crds == crate::api::CrdPolicy::Skip {
            Vec::new()
        } else {
            applier.prepare(&m.crds, &self.owner).await?
        };
        let objects = applier
            .prepare_with_crds(&m.docs, &self.owner, &crds)
            .await?;
        applier.dry_run(&objects).await?;
        applier
            .apply_crds(&crds, self.release.spec.crds, deadline)
            .await?;
        let report = applier.apply(&objects).await?;

        let text = manifest_text(&m.docs);
        let digest = manifest_digest(&text);
        if let Some(fresh) = &m.fresh {
            let now = chrono::Utc::now();
            let record = ReleaseRecord {
                name: self.owner.release_name.clone(),
                namespace: self.owner.release_namespace.clone(),
                version: m.revision,
                status: ReleaseStatus::Deployed,
                chart_metadata: fresh.rendered.chart_metadata.clone(),
                chart_values: serde_json::json!({}),
                config: fresh.values.clone(),
                manifest: text,
                hooks: Vec::new(),
                notes: fresh.rendered.notes.clone(),
                description: if m.revision == 1 {
                    "Install complete".into()
                } else {
                    "Upgrade complete".into()
                },
                first_deployed: fresh.first_deployed.unwrap_or(now),
                last_deployed: now,
                annotations: [(INPUTS_ANNOTATION.to_owned(), inputs.to_owned())].into(),
            };
            apply::record(self.ctx.clients.own(), &record, self.ctx.config.max_history).await?;
            self.ctx.memory.set_applied(
                &self.key,
                Applied {
                    uid: self.release.uid().unwrap_or_default(),
                    inputs_digest: inputs.to_owned(),
                    manifest_digest: digest.clone(),
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
        } else if report.changed > 0 {
            self.events.normal(
                reasons::SUCCEEDED,
                "Apply",
                format!("corrected drift on {} objects", report.changed),
            );
        }
        let message = format!(
            "applied revision {} ({} objects)",
            m.revision,
            report.inventory.len()
        );
        status::step_ok(
            &mut self.status,
            types::APPLIED,
            reasons::SUCCEEDED,
            &message,
            self.generation,
            &self.now,
        );
        self.status.last_applied_revision = Some(ChartRevision {
            version: resolved.version.clone(),
            digest: resolved.digest.clone(),
        });
        self.status.verified_signers = std::mem::take(&mut self.signers);
        self.status.applied_inputs_digest = Some(inputs.to_owned());
        self.status.applied_manifest_digest = Some(digest);
        Ok(report.inventory)
    }

    /// A freshly rendered revision that could not be applied is recorded once as `failed`.
    pub(super) async fn record_failed(
        &self,
        m: &Manifests,
        resolved: &Resolved,
        inputs: &str,
        f: &Failure,
    ) {
        let Some(fresh) = &m.fresh else { return };
        if self.ctx.memory.record_failure_once(&self.key, inputs) {
            return;
        }
        let now = chrono::Utc::now();
        let record = ReleaseRecord {
            name: self.owner.release_name.clone(),
            namespace: self.owner.release_namespace.clone(),
            version: m.revision,
            status: ReleaseStatus::Failed,
            chart_metadata: fresh.rendered.chart_metadata.clone(),
            chart_values: serde_json::json!({}),
            config: fresh.values.clone(),
            manifest: manifest_text(&m.docs),
            hooks: Vec::new(),
            notes: fresh.rendered.notes.clone(),
            description: format!("{} failed: {}", resolved.version, f.message),
            first_deployed: fresh.first_deployed.unwrap_or(now),
            last_deployed: now,
            annotations: [(INPUTS_ANNOTATION.to_owned(), inputs.to_owned())].into(),
        };
        if let Err(e) =
            apply::record(self.ctx.clients.own(), &record, self.ctx.config.max_history).await
        {
            tracing::warn!(release = %self.key, error = %e, "cannot record the failed revision");
        }
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
        if previous.iter().all(|p| current.contains(p)) {
            return Ok(());
        }
        let report = applier.prune(&previous, current, &self.owner).await?;
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
            let old = self.release.status.clone().unwrap_or_default();
            if let Err(e) = write_status(self.ctx, self.release, &old, &interim).await {
                tracing::warn!(release = %self.key, error = %e, "cannot write the interim status");
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
