//! The reconcile driver: one attempt runs the steps of issue 9 in order — validate, gate,
//! resolve, verify, pull, values, render, apply, prune, health — and ends in a status, Events,
//! metrics and a requeue. Every step's error knows its condition reason; the first failure stops
//! the attempt, and nothing applied before is touched by a failure before apply.

use super::Context;
use super::events::Pending;
use super::gate::{self, GateError};
use super::inputs::{Inputs, manifest_digest, manifest_text, parse_manifest_text};
use super::memory::Applied;
use super::render::{self, ClusterInfo, ReleaseInfo, Rendered};
use super::source::{self, Resolved};
use super::status::{self, Outcome};
use super::{pull, values, verify};
use crate::api::conditions::{Time, reasons, types};
use crate::api::{ChartRevision, InventoryEntry, SignedChartRelease, SignedChartReleaseStatus};
use crate::apply::{self, Applier, ReleaseOwner, ReleaseRecord, ReleaseStatus};
use crate::registry::RegistryClient;
use crate::verify::{Verified, VerifiedChart};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Annotation on the Helm release Secret: the inputs digest the manifest was rendered from.
pub const INPUTS_ANNOTATION: &str = "signet.dev/inputs-digest";

/// An error the driver cannot turn into a status (the status write itself failed).
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot write the status of {name}: {source}")]
    Status {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot update the finalizers of {name}: {source}")]
    Finalizer {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// A failed step: which condition it fails and how.
#[derive(Debug)]
pub struct Failure {
    condition: &'static str,
    reason: &'static str,
    /// A finer reason for metrics (the verifier's `NoSignatures`, ...).
    detail: &'static str,
    message: String,
    stalled: bool,
}

impl Failure {
    fn new(condition: &'static str, reason: &'static str, message: String) -> Self {
        Failure {
            condition,
            reason,
            detail: reason,
            message,
            stalled: false,
        }
    }
}

impl From<source::ResolveError> for Failure {
    fn from(e: source::ResolveError) -> Self {
        Failure::new(types::SOURCE_VERIFIED, e.reason(), e.to_string())
    }
}

impl From<verify::VerifyStepError> for Failure {
    fn from(e: verify::VerifyStepError) -> Self {
        Failure {
            detail: e.detail_reason(),
            stalled: e.is_verdict(),
            ..Failure::new(types::SOURCE_VERIFIED, e.reason(), e.to_string())
        }
    }
}

impl From<pull::PullError> for Failure {
    fn from(e: pull::PullError) -> Self {
        Failure::new(types::SOURCE_VERIFIED, e.reason(), e.to_string())
    }
}

impl From<values::ValuesError> for Failure {
    fn from(e: values::ValuesError) -> Self {
        Failure::new(types::APPLIED, e.reason(), e.to_string())
    }
}

impl From<render::RenderError> for Failure {
    fn from(e: render::RenderError) -> Self {
        Failure::new(types::APPLIED, e.reason(), e.to_string())
    }
}

impl From<apply::ApplyError> for Failure {
    fn from(e: apply::ApplyError) -> Self {
        Failure::new(types::APPLIED, e.reason(), e.to_string())
    }
}

impl From<apply::HealthError> for Failure {
    fn from(e: apply::HealthError) -> Self {
        Failure::new(types::HEALTHY, e.reason(), e.to_string())
    }
}

/// `namespace/name`, the memory key of a release.
pub fn key(release: &SignedChartRelease) -> String {
    format!(
        "{}/{}",
        release.namespace().unwrap_or_default(),
        release.name_any()
    )
}

/// Reconciles one release.
pub async fn reconcile(
    release: Arc<SignedChartRelease>,
    ctx: Arc<Context>,
) -> Result<Action, DriverError> {
    if release.metadata.deletion_timestamp.is_some() {
        return super::uninstall::finalize(&release, &ctx).await;
    }
    let key = key(&release);
    if let Some(due) = ctx
        .memory
        .settled_until(&key, release.metadata.resource_version.as_deref())
    {
        return Ok(Action::requeue(
            due.saturating_duration_since(Instant::now()),
        ));
    }
    let started = Instant::now();
    let mut resource_version = super::uninstall::ensure_finalizer(&release, &ctx).await?;
    let mut attempt = Attempt::new(&release, &ctx);
    let result = attempt.run().await;
    let Attempt {
        status: new_status,
        events,
        ..
    } = attempt;

    let old_status = release.status.clone().unwrap_or_default();
    if let Some(rv) = write_status(&ctx, &release, &old_status, &new_status).await? {
        resource_version = Some(rv);
    }
    super::events::publish(&ctx.recorder, &release, events).await;

    let interval = release.interval().unwrap_or(Duration::from_secs(600));
    let metrics = &ctx.config.metrics;
    let (ns, name) = (release.namespace().unwrap_or_default(), release.name_any());
    let ready = status::is_ready(Some(&new_status), release.metadata.generation);
    metrics.set_ready(&ns, &name, Some(ready));
    let seconds = started.elapsed().as_secs_f64();
    let action = match &result {
        Step::Done => {
            metrics.reconciled("success", seconds);
            let wait = jitter(interval);
            ctx.memory
                .succeeded(&key, resource_version, Instant::now() + wait);
            Action::requeue(wait)
        }
        Step::Stop(reason) => {
            metrics.reconciled(reason, seconds);
            Action::await_change()
        }
        Step::Wait(reason) => {
            metrics.reconciled(reason, seconds);
            let wait = interval.min(Duration::from_secs(5));
            ctx.memory
                .settle(&key, resource_version, Instant::now() + wait);
            Action::requeue(wait)
        }
        Step::Failed(f) => {
            metrics.reconciled(f.reason, seconds);
            if f.reason == reasons::VERIFICATION_FAILED {
                metrics.verification_failed(f.detail);
            }
            let wait = backoff(ctx.memory.failed(&key), interval);
            ctx.memory
                .settle(&key, resource_version, Instant::now() + wait);
            Action::requeue(wait)
        }
    };
    Ok(action)
}

/// Patches the status subresource when it changed; returns the new resourceVersion.
async fn write_status(
    ctx: &Context,
    release: &SignedChartRelease,
    old: &SignedChartReleaseStatus,
    new: &SignedChartReleaseStatus,
) -> Result<Option<String>, DriverError> {
    let Some(patch) = status::patch(old, new) else {
        return Ok(None);
    };
    let api: Api<SignedChartRelease> = Api::namespaced(
        ctx.clients.own().clone(),
        &release.namespace().unwrap_or_default(),
    );
    let written = api
        .patch_status(
            &release.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(|source| DriverError::Status {
            name: key(release),
            source,
        })?;
    Ok(written.metadata.resource_version)
}

/// The interval plus up to 5% (at most 10 s), so releases created together spread out.
fn jitter(interval: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let spread = (interval / 20).min(Duration::from_secs(10));
    interval + spread.mul_f64(f64::from(nanos % 1000) / 1000.0)
}

/// 1 s, 2 s, 4 s, ... after consecutive failures, capped at the interval.
fn backoff(failures: u32, interval: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exp)
        .min(interval)
        .max(Duration::from_millis(500))
}

/// How an attempt ended, for the requeue.
enum Step {
    Done,
    /// Stop until the object changes (invalid spec, suspended); carries the reason.
    Stop(&'static str),
    /// Wait for something outside (a dependency).
    Wait(&'static str),
    Failed(Failure),
}

/// One attempt at one release.
struct Attempt<'a> {
    release: &'a SignedChartRelease,
    ctx: &'a Context,
    key: String,
    namespace: String,
    generation: i64,
    now: Time,
    /// The status being built from the stored one.
    status: SignedChartReleaseStatus,
    events: Pending,
    owner: ReleaseOwner,
    /// Who signed the chart of this attempt; becomes `verifiedSigners` once applied.
    signers: Vec<crate::api::VerifiedSigner>,
}

/// The manifests to apply and where they came from.
struct Manifests {
    docs: Arc<Vec<(String, String)>>,
    crds: Arc<Vec<(String, String)>>,
    /// Set when freshly rendered: to be recorded as a new Helm revision once applied.
    fresh: Option<Fresh>,
    revision: i32,
}

struct Fresh {
    rendered: Rendered,
    values: serde_json::Value,
    first_deployed: Option<chrono::DateTime<chrono::Utc>>,
}

impl<'a> Attempt<'a> {
    fn new(release: &'a SignedChartRelease, ctx: &'a Context) -> Self {
        let namespace = release.namespace().unwrap_or_default();
        let target = release
            .effective_target_namespace()
            .unwrap_or_else(|| namespace.clone());
        Attempt {
            key: key(release),
            owner: ReleaseOwner {
                release_name: release.effective_release_name(),
                release_namespace: target,
                owner_namespace: namespace.clone(),
                owner_name: release.name_any(),
            },
            namespace,
            generation: release.metadata.generation.unwrap_or(0),
            now: Time(k8s_openapi::jiff::Timestamp::now()),
            status: release.status.clone().unwrap_or_default(),
            events: Pending::default(),
            signers: Vec::new(),
            release,
            ctx,
        }
    }

    async fn run(&mut self) -> Step {
        if let Err(e) = gate::validate(self.release) {
            self.finish_failed(&Failure {
                stalled: true,
                ..Failure::new(types::STALLED, e.reason(), e.to_string())
            });
            return Step::Stop(reasons::INVALID_SPEC);
        }
        match gate::gate(self.release, &self.ctx.releases) {
            Ok(()) => {}
            Err(GateError::Suspended) => {
                self.suspended();
                return Step::Stop(reasons::SUSPENDED);
            }
            Err(e @ GateError::DependencyNotReady(_)) => {
                let outcome = Outcome::Waiting {
                    reason: e.reason().to_owned(),
                    message: e.to_string(),
                };
                status::finish(&mut self.status, &outcome, self.generation, &self.now);
                return Step::Wait(reasons::DEPENDENCY_NOT_READY);
            }
        }
        let timeout = self.release.timeout().unwrap_or(Duration::from_secs(300));
        let deadline = tokio::time::Instant::now() + timeout;
        // The waits inside (CRDs, health) stop at the deadline and say what they waited for; the
        // outer bound, a little later, catches any step that does not.
        let bound = timeout + Duration::from_secs(2);
        let result = match tokio::time::timeout(bound, self.deploy(deadline)).await {
            Ok(r) => r,
            Err(_) => {
                let step = self.current_step();
                let reason = match step {
                    types::SOURCE_VERIFIED => reasons::PULL_FAILED,
                    types::APPLIED => reasons::APPLY_FAILED,
                    _ => reasons::HEALTH_CHECK_FAILED,
                };
                Err(Failure::new(
                    step,
                    reason,
                    format!("the attempt did not finish within spec.timeout ({timeout:?})"),
                ))
            }
        };
        match result {
            Ok(()) => {
                status::finish(
                    &mut self.status,
                    &Outcome::Ready,
                    self.generation,
                    &self.now,
                );
                Step::Done
            }
            Err(f) => {
                self.finish_failed(&f);
                Step::Failed(f)
            }
        }
    }

    /// The step condition a timeout is charged to: the first one not True for this generation.
    fn current_step(&self) -> &'static str {
        types::STEPS
            .into_iter()
            .find(|t| {
                !status::get(&self.status, t).is_some_and(|c| {
                    c.status == "True" && c.observed_generation == Some(self.generation)
                })
            })
            .unwrap_or(types::HEALTHY)
    }

    fn finish_failed(&mut self, f: &Failure) {
        let previous = status::get(&self.status, f.condition)
            .map(|c| (c.reason.clone(), c.message.clone(), c.status.clone()));
        let outcome = Outcome::Failed {
            condition: f.condition,
            reason: f.reason.to_owned(),
            message: f.message.clone(),
            stalled: f.stalled,
        };
        status::finish(&mut self.status, &outcome, self.generation, &self.now);
        let current = status::get(&self.status, f.condition)
            .map(|c| (c.reason.clone(), c.message.clone(), c.status.clone()));
        // One Event per new failure, not one per retry of the same one.
        if previous != current || f.condition == types::STALLED && previous.is_none() {
            let action = match f.condition {
                types::SOURCE_VERIFIED => "Verify",
                types::HEALTHY => "HealthCheck",
                types::STALLED => "Validate",
                _ => "Apply",
            };
            self.events.warning(f.reason, action, f.message.clone());
        }
    }

    fn suspended(&mut self) {
        let was = status::get(&self.status, types::RECONCILING).map(|c| c.reason.clone());
        crate::api::conditions::set_condition(
            &mut self.status.conditions,
            status::condition(
                types::RECONCILING,
                "False",
                reasons::SUSPENDED,
                "reconciliation is suspended (spec.suspend)",
                self.generation,
                &self.now,
            ),
        );
        // Ready keeps describing what was last applied, for the generation that applied it.
        crate::api::conditions::update_ready(
            &mut self.status.conditions,
            self.status.observed_generation,
            self.now.clone(),
        );
        if was.as_deref() != Some(reasons::SUSPENDED) {
            self.events.normal(
                reasons::SUSPENDED,
                "Reconcile",
                "reconciliation is suspended; nothing is pulled, applied or pruned".into(),
            );
        }
    }

    /// Steps 3 to 10.
    async fn deploy(&mut self, deadline: tokio::time::Instant) -> Result<(), Failure> {
        let ctx = self.ctx;
        let registry = source::registry_client(
            ctx.clients.own(),
            &self.namespace,
            &self.release.spec.chart,
            &ctx.registries,
        )
        .await?;
        let resolved = source::resolve(
            &self.release.spec.chart,
            &registry,
            &ctx.charts,
            &ctx.config.metrics,
        )
        .await?;
        self.status.last_attempted_revision = Some(ChartRevision {
            version: resolved.version.clone(),
            digest: resolved.digest.clone(),
        });
        let verified = self.verify(&resolved, &registry).await?;
        let read = values::read(ctx.clients.own(), &self.namespace, &self.release.spec).await?;
        let merged = values::merge(&self.release.spec, &read)?;
        let inputs = Inputs {
            chart_digest: &resolved.digest,
            values: &merged,
            generation: self.generation,
            release_name: &self.owner.release_name,
            release_namespace: &self.owner.release_namespace,
        }
        .digest();

        let client = ctx
            .clients
            .acting_for(
                &self.namespace,
                self.release.spec.service_account_name.as_deref(),
            )
            .map_err(|e| Failure::new(types::APPLIED, reasons::APPLY_FAILED, e.to_string()))?;
        let applier = Applier::new(client.clone(), ctx.kinds.clone());

        let manifests = match self.remembered(&inputs).await {
            Some(m) => m,
            None => {
                let chart = pull::pull(
                    &resolved,
                    &verified,
                    &registry,
                    &ctx.charts,
                    &ctx.config.metrics,
                )
                .await?;
                self.render(&chart, merged, client).await?
            }
        };
        let inventory = match self
            .apply(&applier, &manifests, &resolved, &inputs, deadline)
            .await
        {
            Ok(inventory) => inventory,
            Err(f) => {
                self.record_failed(&manifests, &resolved, &inputs, &f).await;
                return Err(f);
            }
        };
        self.prune(&applier, &inventory).await?;
        self.status.inventory = inventory;
        self.health(&applier, deadline, manifests.fresh.is_some())
            .await
    }

    /// Step 4, and the `SourceVerified` condition and Event.
    async fn verify(
        &mut self,
        resolved: &Resolved,
        registry: &RegistryClient,
    ) -> Result<Verified, Failure> {
        let ctx = self.ctx;
        let policy = verify::policy(
            ctx.clients.own(),
            &self.namespace,
            &self.release.spec.verify,
            self.release.signer_threshold(),
        )
        .await?;
        let verified = verify::verify(
            resolved,
            &policy,
            registry,
            &ctx.verification,
            &ctx.config.metrics,
        )
        .await?;
        let signers = verify::signers(&verified);
        let names: Vec<&str> = signers.iter().map(|s| s.authority.as_str()).collect();
        let message = format!(
            "verified {}@{} signed by {}",
            resolved.version,
            resolved.digest,
            names.join(", ")
        );
        let before = status::get(&self.status, types::SOURCE_VERIFIED)
            .map(|c| (c.status.clone(), c.message.clone()));
        status::step_ok(
            &mut self.status,
            types::SOURCE_VERIFIED,
            reasons::SUCCEEDED,
            &message,
            self.generation,
            &self.now,
        );
        if before != Some(("True".into(), message.clone())) {
            self.events.normal(reasons::SUCCEEDED, "Verify", message);
        }
        self.signers = signers;
        Ok(verified)
    }
}

impl Attempt<'_> {
    /// The manifests applied last, when the inputs are unchanged: from memory, or after a restart
    /// from the Helm release record — only when its manifest hashes to the digest the status
    /// recorded, so a release Secret alone cannot inject manifests.
    async fn remembered(&self, inputs: &str) -> Option<Manifests> {
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
    async fn render(
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
    async fn apply(
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
    async fn record_failed(&self, m: &Manifests, resolved: &Resolved, inputs: &str, f: &Failure) {
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
    async fn prune(
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
    async fn health(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_by_the_interval() {
        let i = Duration::from_secs(30);
        assert_eq!(backoff(1, i), Duration::from_secs(1));
        assert_eq!(backoff(2, i), Duration::from_secs(2));
        assert_eq!(backoff(4, i), Duration::from_secs(8));
        assert_eq!(backoff(10, i), i);
        assert_eq!(backoff(u32::MAX, i), i);
    }

    #[test]
    fn jitter_adds_a_little() {
        let i = Duration::from_secs(600);
        let j = jitter(i);
        assert!(j >= i && j <= i + Duration::from_secs(10), "{j:?}");
        let small = Duration::from_secs(1);
        assert!(jitter(small) <= small + Duration::from_millis(50));
    }
}
