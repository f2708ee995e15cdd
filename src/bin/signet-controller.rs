//! `signet-controller`: the operator for `SignedChartRelease`.
//!
//! It reads its flags (each also from an environment variable), finds the cluster like any kube-rs
//! controller (in-cluster service account, else `KUBECONFIG` / `~/.kube/config`), serves the
//! probes and `/metrics`, optionally campaigns for the leader Lease, and runs the reconciler until
//! SIGTERM or SIGINT; then it stops the reconciler, releases the lease and exits 0.
#![forbid(unsafe_code)]

// mimalloc: rendering allocates heavily (template values, YAML trees, large manifest strings), and
// glibc's malloc spent a fifth of a render there; musl's (the container image) is slower still.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context as _;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Router, extract::State, routing::get};
use clap::{Parser, ValueEnum};
use signet::controller;
use signet::controller::leader::{self, LeaderConfig, LeaderElector, LeaderError};
use signet::controller::metrics::{self, Metrics};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

/// The Signet controller: reconciles SignedChartRelease objects.
#[derive(Debug, Parser)]
#[command(name = "signet-controller", version, about)]
struct Args {
    /// Address the health probes (`/healthz`, `/readyz`) listen on.
    #[arg(long, env = "SIGNET_HEALTH_ADDR", default_value = "0.0.0.0:8081")]
    health_addr: SocketAddr,
    /// Address `/metrics` (Prometheus) listens on.
    #[arg(long, env = "SIGNET_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: SocketAddr,
    /// Releases reconciled at the same time.
    #[arg(long, env = "SIGNET_CONCURRENT", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..))]
    concurrent: u16,
    /// Reconcile only the releases of this namespace (default: all namespaces).
    #[arg(long, env = "SIGNET_WATCH_NAMESPACE")]
    watch_namespace: Option<String>,
    /// Reconcile only the releases with these labels, e.g. `shard=a` (to shard across controllers).
    #[arg(long, env = "SIGNET_WATCH_LABEL_SELECTOR")]
    watch_label_selector: Option<String>,
    /// Helm release records (revisions) kept per release.
    #[arg(long, env = "SIGNET_MAX_HISTORY", default_value_t = 10,
          value_parser = clap::value_parser!(u16).range(1..))]
    max_history: u16,
    /// Reconcile only while holding a Lease, so that one of several replicas is active.
    #[arg(long, env = "SIGNET_LEADER_ELECT")]
    leader_elect: bool,
    /// Namespace of the leader Lease (default: the controller's own namespace).
    #[arg(long, env = "SIGNET_LEADER_ELECTION_NAMESPACE")]
    leader_election_namespace: Option<String>,
    /// Name of the leader Lease.
    #[arg(long, env = "SIGNET_LEADER_ELECTION_ID", default_value = leader::DEFAULT_LEASE_NAME)]
    leader_election_id: String,
    /// How long a leader's claim lasts without renewal (e.g. `15s`); a standby takes over this
    /// long after the leader died. Renewal and retry periods scale with it.
    #[arg(long, env = "SIGNET_LEADER_ELECTION_LEASE_DURATION", default_value = "15s",
          value_parser = parse_duration)]
    leader_election_lease_duration: Duration,
    /// On SIGTERM, how long in-flight reconciles may take to finish before the controller exits
    /// anyway (and releases its lease); keep it below the pod's termination grace period.
    #[arg(long, env = "SIGNET_SHUTDOWN_TIMEOUT", default_value = "15s",
          value_parser = parse_duration)]
    shutdown_timeout: Duration,
    /// TUF repository Sigstore's trusted_root.json comes from, for keyless releases (or ones
    /// requiring the transparency log) without `spec.verify.trustRoot` (default: public-good
    /// Sigstore, `https://tuf-repo-cdn.sigstore.dev`).
    #[arg(long, env = "SIGNET_TUF_MIRROR", value_name = "URL")]
    tuf_mirror: Option<String>,
    /// Initial trusted root.json of that TUF repository (default: the public-good root embedded
    /// in the controller).
    #[arg(long, env = "SIGNET_TUF_ROOT", value_name = "FILE")]
    tuf_root: Option<std::path::PathBuf>,
    /// Directory (e.g. a volume) to cache the TUF metadata in, so a restart needs no fetch while
    /// it is fresh and still has a trust root while the mirror is unreachable (default: memory).
    #[arg(long, env = "SIGNET_TUF_CACHE_DIR", value_name = "DIR")]
    tuf_cache_dir: Option<std::path::PathBuf>,
    /// Log filter in `RUST_LOG` syntax, e.g. `info` or `signet=debug,kube=info`.
    #[arg(long, env = "SIGNET_LOG", default_value = "info")]
    log_level: String,
    /// Log line format.
    #[arg(long, env = "SIGNET_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// `15s`, `2m`, `1500ms` or a bare number of seconds; whole seconds at least 1 (the Lease's unit).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 15s"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        _ => return Err(format!("{text:?}: unit must be ms, s or m")),
    };
    if duration < Duration::from_secs(1) {
        return Err(format!("{text:?} is below the Lease's 1 s resolution"));
    }
    Ok(duration)
}

fn main() -> ExitCode {
    signet::tls::install_crypto_provider();
    let args = Args::parse();
    if let Err(err) = init_tracing(&args) {
        eprintln!("Error: {err:#}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            tracing::error!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(args: &Args) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&args.log_level)
        .with_context(|| format!("invalid --log-level {:?}", args.log_level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|err| anyhow::anyhow!("cannot initialise logging: {err}"))
}

/// A future that resolves once `flag` is set (or its sender is gone), cloneable into many places.
async fn when_set(mut flag: watch::Receiver<bool>) {
    let _ = flag.wait_for(|set| *set).await;
}

async fn run(args: Args) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let ready = Arc::new(AtomicBool::new(false));

    let health = bind(args.health_addr, "--health-addr").await?;
    let metrics_listener = bind(args.metrics_addr, "--metrics-addr").await?;
    let health_addr = health
        .local_addr()
        .context("cannot read the health address")?;
    let metrics_addr = metrics_listener
        .local_addr()
        .context("cannot read the metrics address")?;

    // Set by SIGTERM/SIGINT: stops the controller. The servers stop after it, so probes and a
    // last scrape keep answering while it winds down.
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (servers_stop_tx, servers_stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = shutdown_tx.send(true);
    });

    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(ready.clone());
    let health_server = tokio::spawn(
        axum::serve(health, probes)
            .with_graceful_shutdown(when_set(servers_stop_rx.clone()))
            .into_future(),
    );
    let scrape = Router::new()
        .route("/metrics", get(serve_metrics))
        .with_state(metrics.clone());
    let metrics_server = tokio::spawn(
        axum::serve(metrics_listener, scrape)
            .with_graceful_shutdown(when_set(servers_stop_rx))
            .into_future(),
    );
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        health_addr = %health_addr,
        metrics_addr = %metrics_addr,
        "signet-controller started"
    );

    let outcome = run_controller(&args, metrics, ready, when_set(shutdown_rx)).await;

    let _ = servers_stop_tx.send(true);
    for (name, server) in [("health", health_server), ("metrics", metrics_server)] {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!("{name} server failed: {err}"),
            Err(err) => tracing::warn!("{name} server task failed: {err}"),
        }
    }
    outcome?;
    tracing::info!("signet-controller stopped");
    Ok(())
}

/// Sigstore's trust root through TUF, from `--tuf-mirror`/`--tuf-root`/`--tuf-cache-dir`.
fn tuf_trust_root(args: &Args) -> anyhow::Result<signet::verify::tuf::TufTrustRoot> {
    use signet::verify::tuf::{TufConfig, TufTrustRoot};
    let mut config = TufConfig::new(args.tuf_mirror.as_deref(), args.tuf_root.as_deref())?;
    config.cache_dir = args.tuf_cache_dir.clone();
    if let Some(dir) = &config.cache_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --tuf-cache-dir {}", dir.display()))?;
    }
    let source = TufTrustRoot::new(config)?;
    tracing::info!(
        mirror = source.mirror(),
        "Sigstore trust root through TUF when a release gives none"
    );
    Ok(source)
}

async fn bind(addr: SocketAddr, flag: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {flag} {addr}"))
}

/// Connects to the cluster and runs the reconciler, under leader election when asked.
async fn run_controller(
    args: &Args,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let kube_config = kube::Config::infer().await.context(
        "cannot find the cluster: not in a pod, and no usable KUBECONFIG or ~/.kube/config",
    )?;
    tracing::info!(cluster = %kube_config.cluster_url, "using cluster");
    let config = controller::Config {
        concurrency: usize::from(args.concurrent),
        watch_namespace: args.watch_namespace.clone(),
        label_selector: args.watch_label_selector.clone(),
        max_history: usize::from(args.max_history),
        metrics,
        tuf: Some(Arc::new(tuf_trust_root(args)?)),
    };
    if !args.leader_elect {
        // Readiness without leader election: the reconciler has been started.
        ready.store(true, Ordering::SeqCst);
        let (stop_tx, stop_rx) = watch::channel(false);
        let run = controller::run(kube_config, config, when_set(stop_rx));
        let mut run = std::pin::pin!(run);
        return tokio::select! {
            result = &mut run => result,
            () = shutdown => {
                let _ = stop_tx.send(true);
                leader::stop_within(args.shutdown_timeout, run).await
            }
        };
    }

    let namespace = args
        .leader_election_namespace
        .clone()
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .unwrap_or_else(|| kube_config.default_namespace.clone());
    let mut lease = LeaderConfig::new(namespace, leader::default_identity())
        .with_lease_duration(args.leader_election_lease_duration);
    lease.name = args.leader_election_id.clone();
    lease.stop_timeout = args.shutdown_timeout;
    tracing::info!(
        lease = %format!("{}/{}", lease.namespace, lease.name),
        identity = %lease.identity,
        "leader election on"
    );
    let client = kube::Client::try_from(kube_config.clone())
        .context("cannot build a client for leader election")?;
    let elector = LeaderElector::new(client, lease)?;
    let outcome = leader::run_as_leader(
        elector,
        shutdown,
        // A standby replica is ready: it is healthy and would take over.
        || ready.store(true, Ordering::SeqCst),
        |stop| controller::run(kube_config, config, stop),
    )
    .await;
    match outcome {
        Ok(()) => Ok(()),
        Err(LeaderError::Led(err)) => Err(err),
        Err(err) => Err(err.into()),
    }
}

/// Liveness: the process is up and its runtime answers.
async fn healthz() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

/// Readiness: the reconciler runs (or this replica stands by for the leader lease).
async fn readyz(State(ready): State<Arc<AtomicBool>>) -> (StatusCode, &'static str) {
    if ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

async fn serve_metrics(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics.encode(),
    )
}

/// Resolves on the first SIGTERM (what the kubelet sends) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for SIGINT: {err}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                tracing::error!("cannot listen for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received SIGINT, shutting down"),
        () = terminate => tracing::info!("received SIGTERM, shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_refuse_sub_second_leases() {
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("20"), Ok(Duration::from_secs(20)));
        for bad in ["", "s", "500ms", "0s", "15h", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_parse_with_their_defaults() {
        use clap::Parser as _;
        let args = Args::try_parse_from([
            "signet-controller",
            "--leader-elect",
            "--concurrent=8",
            "--watch-label-selector=shard=a",
        ])
        .expect("parse");
        assert!(args.leader_elect);
        assert_eq!(args.concurrent, 8);
        assert_eq!(args.watch_label_selector.as_deref(), Some("shard=a"));
        assert_eq!(args.leader_election_id, leader::DEFAULT_LEASE_NAME);
        assert_eq!(args.leader_election_lease_duration, Duration::from_secs(15));
        assert!(Args::try_parse_from(["signet-controller", "--concurrent=0"]).is_err());
    }
}
