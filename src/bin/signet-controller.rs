//! `signet-controller`: the operator for `SignedChartRelease`.
//!
//! For now a runnable shell: it parses its configuration, initialises logging, serves the liveness
//! and readiness probes, and shuts down cleanly on SIGTERM or SIGINT. The reconciler arrives in a
//! later change and plugs in between start-up and shutdown.
#![forbid(unsafe_code)]

// mimalloc: rendering allocates heavily (template values, YAML trees, large manifest strings), and
// glibc's malloc spent a fifth of a render there; musl's (the container image) is slower still.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context as _;
use axum::{Router, http::StatusCode, routing::get};
use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// The Signet controller: reconciles SignedChartRelease objects.
#[derive(Debug, Parser)]
#[command(name = "signet-controller", version, about)]
struct Args {
    /// Address the health probes (`/healthz`, `/readyz`) listen on.
    #[arg(long, env = "SIGNET_HEALTH_ADDR", default_value = "0.0.0.0:8081")]
    health_addr: SocketAddr,
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

async fn run(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.health_addr)
        .await
        .with_context(|| format!("cannot listen on --health-addr {}", args.health_addr))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound health address")?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        health_addr = %bound,
        "signet-controller started; the reconciler is not part of this build yet"
    );
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("health server failed")?;
    tracing::info!("signet-controller stopped");
    Ok(())
}

/// Liveness: the process is up and its runtime answers.
async fn healthz() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

/// Readiness: ready to serve. Once the reconciler exists this also waits for its caches to sync.
async fn readyz() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
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
