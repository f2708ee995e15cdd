//! The `SignedChartRelease` reconciler: watches, the reconcile driver (validate, gate, resolve,
//! verify, pull, values, render, apply, prune, health, status), Events, metrics and leader election.
//! One of the two modules that hold a Kubernetes client.
//!
//! Files: `reconcile` (the driver; `reconcile/deploy`: remembered manifests, render as the next
//! Helm revision, apply and record, prune, health — through `crate::apply`), one file per step
//! before those (`gate`: validate and gate, `source`: resolve, `verify`, `pull`, `values`, `render`),
//! `status` (conditions and the status patch), `events`, `uninstall` (finalizer), `inputs` (what a
//! render depends on), `memory` (last applied manifests, backoff, echo suppression), `cache`
//! (charts and registry clients), `clients` (impersonation), `refs` (Secrets and ConfigMaps),
//! `watches` (what triggers a reconcile), `metrics` and `leader` (engineer C2), `preview` (the
//! next reconcile as a plan of changes, dry-run only, for `signet diff`).

mod cache;
mod clients;
mod events;
mod gate;
mod inputs;
pub mod leader;
mod memory;
pub mod metrics;
pub mod preview;
mod pull;
mod reconcile;
mod refs;
mod render;
mod source;
mod status;
mod uninstall;
mod values;
mod verify;
mod watches;

pub use inputs::CONTROLLER_VERSION;
pub use reconcile::INPUTS_ANNOTATION;
pub use uninstall::FINALIZER;
pub use watches::WATCH_LABEL;

use crate::api::SignedChartRelease;
use crate::apply::Kinds;
use crate::verify::VerificationCache;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::controller::{self as runtime, Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Api, Resource};
use std::sync::Arc;

/// How the controller runs.
pub struct Config {
    /// Reconciles running at once (`--concurrent`).
    pub concurrency: usize,
    /// Only this namespace (`--watch-namespace`); all namespaces when `None`.
    pub watch_namespace: Option<String>,
    /// Only releases with these labels (`--watch-label-selector`), for sharding.
    pub label_selector: Option<String>,
    /// Helm release revisions kept per release.
    pub max_history: usize,
    pub metrics: Arc<metrics::Metrics>,
    /// Sigstore's trust root through TUF, for keyless authorities (and the log) of releases
    /// without `spec.verify.trustRoot`; `None`: such releases get no trust root.
    pub tuf: Option<Arc<crate::verify::tuf::TufTrustRoot>>,
}

/// Chart archives and manifests kept in memory, by digest.
const CHART_CACHE_ENTRIES: usize = 256;
const CHART_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// How long running reconciles may take to finish after shutdown is asked for.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// What every reconcile shares.
pub(crate) struct Context {
    clients: clients::Clients,
    kinds: Arc<Kinds>,
    config: Config,
    verification: VerificationCache,
    charts: cache::ChartCache,
    registries: cache::RegistryClients,
    memory: memory::Memory,
    recorder: kube::runtime::events::Recorder,
    releases: Store<SignedChartRelease>,
}

fn api<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the controller until `shutdown` resolves. `kube_config` is kept to build impersonating clients.
pub async fn run(
    kube_config: kube::Config,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    crate::tls::install_crypto_provider();
    let client = kube::Client::try_from(kube_config.clone())?;
    let ns = config.watch_namespace.clone();
    let releases: Api<SignedChartRelease> = api(&client, ns.as_deref());
    let mut release_watch = watcher::Config::default();
    if let Some(selector) = &config.label_selector {
        release_watch = release_watch.labels(selector);
    }
    let controller = Controller::new(releases.clone(), release_watch.clone());
    let store = controller.store();
    let concurrency = u16::try_from(config.concurrency.max(1)).unwrap_or(u16::MAX);
    let ctx = Arc::new(Context {
        clients: clients::Clients::new(client.clone(), kube_config),
        kinds: Arc::new(Kinds::new(client.clone())),
        verification: VerificationCache::default(),
        charts: cache::ChartCache::new(CHART_CACHE_ENTRIES, CHART_CACHE_BYTES),
        registries: cache::RegistryClients::default(),
        memory: memory::Memory::default(),
        recorder: events::recorder(client.clone()),
        releases: store.clone(),
        config,
    });
    // The controller's shutdown trigger must be Sync; the caller's future need not be. Running
    // reconciles get a grace period to finish, then are dropped: a health wait can last the whole
    // spec.timeout, and a replica that lost its lease must stop acting soon (an interrupted attempt
    // is safe to repeat).
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (abort, aborted) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(());
        tokio::time::sleep(SHUTDOWN_GRACE).await;
        let _ = abort.send(());
    });
    let labelled = watcher::Config::default().labels(&format!("{WATCH_LABEL}=true"));
    let (c1, c2, c3) = (ctx.clone(), ctx.clone(), ctx.clone());
    let (s1, s2, s3) = (store.clone(), store.clone(), store);
    let running = controller
        .with_config(runtime::Config::default().concurrency(concurrency))
        .watches(
            api::<ConfigMap>(&client, ns.as_deref()),
            labelled.clone(),
            move |cm| watches::referencing(&s1, &c1.memory, watches::Referenced::config_map(&cm)),
        )
        .watches(
            api::<Secret>(&client, ns.as_deref()),
            labelled,
            move |secret| {
                watches::referencing(&s2, &c2.memory, watches::Referenced::secret(&secret))
            },
        )
        .watches(releases, release_watch, move |release| {
            watches::dependents(&s3, &c3.memory, &release)
        })
        .graceful_shutdown_on(stopped.map(|_| ()))
        .run(reconcile::reconcile, error_policy, ctx)
        .for_each(|result| {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile");
            }
            futures::future::ready(())
        });
    tokio::select! {
        () = running => {}
        _ = aborted => tracing::warn!(
            "stopped with reconciles still running after {SHUTDOWN_GRACE:?}; they resume on the next start"
        ),
    }
    Ok(())
}

/// Only the status or finalizer write failed (the attempt's own errors are statuses): retry soon.
fn error_policy(
    release: Arc<SignedChartRelease>,
    error: &reconcile::DriverError,
    ctx: Arc<Context>,
) -> Action {
    let key = reconcile::key(&release);
    tracing::warn!(release = %key, error = %error, "reconcile failed");
    let failures = ctx.memory.failed(&key);
    Action::requeue(std::time::Duration::from_secs(1u64 << failures.clamp(1, 6)))
}
