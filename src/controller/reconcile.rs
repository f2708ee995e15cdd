//! The reconcile driver: one attempt runs the steps of issue 9 in order — validate, gate,
//! resolve, verify, pull, values, render, apply, prune, health — and ends in a status, Events,
//! metrics and a requeue. Every step's error knows its condition reason; the first failure stops
//! the attempt, and nothing applied before is touched by a failure before apply.
//!
//! A freshly rendered revision is released as Helm releases one (`deploy`): recorded pending,
//! its pre-hooks, apply, prune, health, its post-hooks, then recorded deployed or failed. A failed
//! revision is remediated per `spec.install`/`spec.upgrade.remediation` once its retries are
//! spent (`remediate`: rollback or uninstall, with a timeout of its own), and the release is then
//! held — Ready=False, checked again only at the interval — until an input changes.

use super::Context;
use super::events::Pending;
use super::gate::{self, GateError};
use super::inputs::Inputs;
use super::render;
use super::source::{self, Resolved};
use super::status::{self, Outcome};
use super::{pull, values, verify};
use crate::api::conditions::{Time, reasons, types};
use crate::api::{ChartRevision, SignedChartRelease, SignedChartReleaseStatus};
use crate::apply::{self, Applier, ReleaseOwner};
use crate::registry::RegistryClient;
use crate::verify::Verified;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod deploy;
mod remediate;

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
    /// Remediated (rolled back or uninstalled): held until an input changes, checked again
    /// only at the interval.
    held: bool,
}

impl Failure {
    fn new(condition: &'static str, reason: &'static str, message: String) -> Self {
        Failure {
            condition,
            reason,
            detail: reason,
            message,
            stalled: false,
            held: false,
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
        written,
        ..
    } = attempt;

    // What the server holds: the stored status, or what an interim write left there.
    let old_status = written.unwrap_or_else(|| release.status.clone().unwrap_or_default());
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
        Step::Failed(f) if f.held => {
            metrics.reconciled(f.reason, seconds);
            let wait = jitter(interval);
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
    /// A failed revision to remediate once the attempt's own time is up.
    remediation: Option<remediate::Remediation>,
    /// The status an interim write of this attempt left on the server.
    written: Option<SignedChartReleaseStatus>,
}

/// The manifests to apply and where they came from.
struct Manifests {
    docs: Arc<Vec<(String, String)>>,
    crds: Arc<Vec<(String, String)>>,
    /// Set for a revision to release (freshly rendered, or left pending by a stopped controller):
    /// its hooks run and its record goes from pending to deployed or failed.
    fresh: Option<Fresh>,
    revision: i32,
}

/// A revision being released.
struct Fresh {
    /// Its Helm record, written pending, then deployed or failed.
    record: apply::ReleaseRecord,
    /// Its hooks, with their last runs.
    hooks: Vec<apply::Hook>,
    /// Upgrade (a revision was deployed before) rather than install.
    upgrade: bool,
    /// Picked up again after a restart: hooks that succeeded are not run again.
    resume: bool,
    /// Failed attempts of the same inputs before this one.
    attempts: u32,
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
            remediation: None,
            written: None,
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
        let mut result = match tokio::time::timeout(bound, self.deploy(deadline)).await {
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
        if let (Err(f), Some(r)) = (&result, self.remediation.take()) {
            // The remediation gets a timeout of its own, as Helm's rollback does.
            let deadline = tokio::time::Instant::now() + timeout;
            let original = f.message.clone();
            let done = tokio::time::timeout(bound, self.remediate(r, deadline)).await;
            result = Err(done.unwrap_or_else(|_| {
                Failure::new(
                    types::APPLIED,
                    reasons::APPLY_FAILED,
                    format!("{original}; the remediation did not finish within spec.timeout ({timeout:?})"),
                )
            }));
        }
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
        // Ready keeps the status of what was last applied (the objects are still there, or the
        // last failure still stands), but its reason says why nothing changes now: `kubectl get
        // scr` shows Suspended rather than a stale verdict.
        crate::api::conditions::update_ready(
            &mut self.status.conditions,
            self.status.observed_generation,
            self.now.clone(),
        );
        if let Some(ready) = self
            .status
            .conditions
            .iter_mut()
            .find(|c| c.type_ == types::READY)
            && ready.reason != reasons::SUSPENDED
        {
            ready.reason = reasons::SUSPENDED.to_owned();
            ready.message = format!(
                "reconciliation is suspended (spec.suspend); last state: {}",
                ready.message
            );
        }
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

        let mut manifests = match self.remembered(&inputs).await {
            Some(m) => m,
            None => {
                let history = apply::load_history(
                    ctx.clients.own(),
                    &self.owner.release_namespace,
                    &self.owner.release_name,
                )
                .await?;
                if let Some(latest) = remediate::remediated(&history, &inputs) {
                    let latest = latest.clone();
                    return Err(self
                        .hold(&applier, &history, latest, &inputs, deadline)
                        .await);
                }
                let chart = pull::pull(
                    &resolved,
                    &verified,
                    &registry,
                    &ctx.charts,
                    &ctx.config.metrics,
                )
                .await?;
                self.render(&chart, merged, client, &history, &resolved, &inputs)
                    .await?
            }
        };
        let chart = ChartRevision {
            version: resolved.version.clone(),
            digest: resolved.digest.clone(),
        };
        if manifests.fresh.is_none() {
            let inventory = self
                .apply(&applier, &manifests, &chart, &inputs, deadline)
                .await?;
            self.prune(&applier, &inventory).await?;
            self.status.inventory = inventory;
            return self.health(&applier, deadline, false).await;
        }
        let result = self
            .release_revision(&applier, &mut manifests, &resolved, &inputs, deadline)
            .await;
        let Err(mut f) = result else {
            return Ok(());
        };
        let attempts = self.record_failed(&mut manifests, &f).await;
        let Some(fresh) = manifests.fresh else {
            return Err(f);
        };
        match self.remediation_policy(fresh.upgrade) {
            Some((strategy, retries)) if attempts > retries => {
                self.remediation = Some(remediate::Remediation {
                    applier,
                    strategy,
                    failed: fresh.record,
                    inputs,
                });
            }
            Some((_, retries)) => {
                f.message = format!(
                    "{} (attempt {attempts} of {}; remediation follows the last)",
                    f.message,
                    retries + 1
                );
            }
            None => {}
        }
        Err(f)
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
            ctx.config.tuf.as_deref(),
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
