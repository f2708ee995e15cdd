//! What the next reconcile of a release would change, computed through the reconciler's own steps
//! — validate, resolve, verify (fail closed), values, then the manifests the next attempt would
//! apply (the last applied ones while the inputs are unchanged, as the controller re-applies them;
//! else a render as the next Helm revision), prepare — and `apply::Applier::plan`: server-side
//! dry-runs and reads only. Nothing is written to the cluster. `signet diff` prints the result.

use std::sync::Arc;

use super::cache::{ChartCache, RegistryClients};
use super::inputs::{Inputs, manifest_digest, parse_manifest_text};
use super::metrics::Metrics;
use super::render::{ClusterInfo, ReleaseInfo};
use super::{gate, pull, render, source, values, verify};
use crate::api::{CrdPolicy, SignedChartRelease, VerifiedSigner};
use crate::apply::{self, Applier, Kinds, ObjectChange, PlanInput, ReleaseOwner, ReleaseStatus};
use crate::verify::VerificationCache;
use kube::ResourceExt;

/// Why a preview could not be made: the step that failed and the reconciler's own message.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {message}")]
pub struct PreviewError {
    /// `spec`, `resolve`, `verify`, `pull`, `values`, `render`, `prepare`, `dry-run`, `history`.
    pub step: &'static str,
    pub message: String,
}

fn step<E: std::fmt::Display>(step: &'static str) -> impl FnOnce(E) -> PreviewError {
    move |e| PreviewError {
        step,
        message: e.to_string(),
    }
}

/// The next reconcile of a release, as a plan.
#[derive(Clone, Debug)]
pub struct Preview {
    /// The chart version and manifest digest it resolves to.
    pub version: String,
    pub digest: String,
    /// Who signed it (the policy's authorities that matched).
    pub signers: Vec<VerifiedSigner>,
    /// Whether the inputs changed, so the next reconcile renders and records a new revision
    /// (`revision`); else it re-applies the last applied manifests of revision `revision`.
    pub renders: bool,
    pub revision: i32,
    /// Per object: created, changed fields, unchanged, pruned.
    pub changes: Vec<ObjectChange>,
}

impl Preview {
    /// Whether anything would change.
    pub fn changes_anything(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.action != apply::ChangeAction::Unchanged)
    }
}

/// Previews the next reconcile of `release` (its status, when it has one, says what was applied
/// last) with the identity of `config` (and the release's ServiceAccount for the dry-runs, as the
/// controller impersonates it). `tuf` supplies Sigstore's trust root to keyless policies without
/// a `trustRoot`, as the controller's `--tuf-*` flags do.
pub async fn preview(
    config: kube::Config,
    release: &SignedChartRelease,
    tuf: Option<&crate::verify::tuf::TufTrustRoot>,
) -> Result<Preview, PreviewError> {
    crate::tls::install_crypto_provider();
    gate::validate(release).map_err(step("spec"))?;
    let own = kube::Client::try_from(config.clone()).map_err(step("client"))?;
    let clients = super::clients::Clients::new(own.clone(), config);
    let namespace = release.namespace().unwrap_or_default();
    let owner = ReleaseOwner {
        release_name: release.effective_release_name(),
        release_namespace: release
            .effective_target_namespace()
            .unwrap_or_else(|| namespace.clone()),
        owner_namespace: namespace.clone(),
        owner_name: release.name_any(),
    };
    let metrics = Metrics::new();
    let charts = ChartCache::new(4, 64 * 1024 * 1024);
    let registry = source::registry_client(
        &own,
        &namespace,
        &release.spec.chart,
        &RegistryClients::default(),
    )
    .await
    .map_err(step("resolve"))?;
    let resolved = source::resolve(&release.spec.chart, &registry, &charts, &metrics)
        .await
        .map_err(step("resolve"))?;
    let policy = verify::policy(
        &own,
        &namespace,
        &release.spec.verify,
        release.signer_threshold(),
        tuf,
    )
    .await
    .map_err(step("verify"))?;
    let verified = verify::verify(
        &resolved,
        &policy,
        &registry,
        &VerificationCache::default(),
        &metrics,
    )
    .await
    .map_err(step("verify"))?;
    let read = values::read(&own, &namespace, &release.spec)
        .await
        .map_err(step("values"))?;
    let merged = values::merge(&release.spec, &read).map_err(step("values"))?;
    let inputs = Inputs {
        chart_digest: &resolved.digest,
        values: &merged,
        generation: release.metadata.generation.unwrap_or(0),
        release_name: &owner.release_name,
        release_namespace: &owner.release_namespace,
    }
    .digest();

    let acting = clients
        .acting_for(&namespace, release.spec.service_account_name.as_deref())
        .map_err(step("client"))?;
    let kinds = Arc::new(Kinds::new(acting.clone()));
    let applier = Applier::new(acting.clone(), kinds.clone());
    let status = release.status.clone().unwrap_or_default();
    let history = apply::load_history(&own, &owner.release_namespace, &owner.release_name)
        .await
        .map_err(step("history"))?;

    // The manifests the controller re-applies while the inputs are unchanged (only when the
    // record matches the digest the status vouches for, as the controller checks).
    let remembered = (status.applied_inputs_digest.as_deref() == Some(inputs.as_str()))
        .then(|| {
            let want = status.applied_manifest_digest.as_deref()?;
            history
                .iter()
                .rev()
                .find(|r| r.status == ReleaseStatus::Deployed)
                .filter(|r| manifest_digest(&r.manifest) == want)
        })
        .flatten();
    let (docs, crds, renders, revision) = match remembered {
        Some(record) => (
            parse_manifest_text(&record.manifest),
            Vec::new(),
            false,
            record.version,
        ),
        None => {
            let chart = pull::pull(&resolved, &verified, &registry, &charts, &metrics)
                .await
                .map_err(step("pull"))?;
            let revision = history.iter().map(|r| r.version).max().unwrap_or(0) + 1;
            let info = ReleaseInfo {
                name: owner.release_name.clone(),
                namespace: owner.release_namespace.clone(),
                revision: i64::from(revision),
                is_upgrade: history.iter().any(|r| {
                    r.status == ReleaseStatus::Deployed || r.status == ReleaseStatus::Superseded
                }),
                post_renderers: release.spec.post_renderers.clone(),
            };
            let cluster = ClusterInfo {
                kube_version: Some(kinds.server_version().await.map_err(step("render"))?),
                api_versions: kinds.api_versions().await.map_err(step("render"))?,
            };
            let lookup = Arc::new(apply::ClusterLookup::new(
                acting,
                kinds.clone(),
                tokio::runtime::Handle::current(),
            ));
            let rendered = render::render(&chart, &merged, &info, &cluster, lookup)
                .await
                .map_err(step("render"))?;
            (rendered.manifests, rendered.crds, true, revision)
        }
    };

    let crds = if release.spec.crds == CrdPolicy::Skip {
        Vec::new()
    } else {
        applier
            .prepare(&crds, &owner)
            .await
            .map_err(step("prepare"))?
    };
    let objects = applier
        .prepare_with_crds(&docs, &owner, &crds)
        .await
        .map_err(step("prepare"))?;
    let adopted = apply::adoptable_inventory(&own, &kinds, &owner, &status.inventory)
        .await
        .map_err(step("history"))?;
    let changes = applier
        .plan(&PlanInput {
            crds: &crds,
            crd_policy: release.spec.crds,
            objects: &objects,
            previous: &status.inventory,
            adopted: &adopted,
            prune: release.spec.prune,
            owner: &owner,
        })
        .await
        .map_err(step("dry-run"))?;
    Ok(Preview {
        version: resolved.version,
        digest: resolved.digest,
        signers: verify::signers(&verified),
        renders,
        revision,
        changes,
    })
}
