//! `signet pull oci://HOST/REPO/NAME --version V|RANGE` (or `:TAG` / `@sha256:…`): download a
//! chart, check its digests and contents, and write it atomically.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::output::OutputFormat;
use super::push::progress_bar;
use crate::package::{MAX_CHART_BYTES, inspect_archive};

#[derive(Debug, Args)]
// `--version` is the chart version here, as in `helm pull`, not the program version.
#[command(disable_version_flag = true)]
pub struct PullArgs {
    /// The chart repository, optionally with `:TAG` or `@sha256:…`.
    #[arg(value_name = "oci://HOST/REPO/NAME")]
    pub chart: String,
    /// Exact version or SemVer range (`^1.2`, `>=1.0.0 <2.0.0`); highest match wins. The latest
    /// stable version when neither this nor a tag or digest is given, as helm does.
    #[arg(long)]
    pub version: Option<String>,
    /// Use development versions too: without --version, the latest version including
    /// pre-releases (helm's `--devel`). With --version, the range decides.
    #[arg(long)]
    pub devel: bool,
    /// Directory to write the chart archive to.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub destination: PathBuf,
    #[command(flatten)]
    pub registry: super::registry::ChartFetchFlags,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Runs `signet pull`.
pub async fn run(args: PullArgs) -> anyhow::Result<()> {
    let (client, reference) = super::registry::resolve_chart(
        &args.registry,
        &args.chart,
        args.version.as_deref(),
        args.devel,
    )
    .await?;
    let chart = client.fetch_chart_manifest(&reference).await?;
    std::fs::create_dir_all(&args.destination)
        .with_context(|| format!("cannot create {}", args.destination.display()))?;
    // Download into a private temporary directory next to the destination; only a verified
    // archive is renamed into place, so failures leave nothing behind.
    let staging = tempfile::Builder::new()
        .prefix(".signet-pull-")
        .tempdir_in(&args.destination)
        .with_context(|| format!("cannot write to {}", args.destination.display()))?;
    let staged = staging.path().join("chart.tgz");
    let bar = progress_bar(chart.chart_layer.size, "Pulling");
    client
        .pull_chart_to_file(
            &chart,
            MAX_CHART_BYTES,
            &staged,
            bar.as_ref().map(|b| b.1.clone()),
        )
        .await?;
    if let Some((bar, _)) = bar {
        bar.finish_and_clear();
    }
    let bytes =
        std::fs::read(&staged).with_context(|| format!("cannot read {}", staged.display()))?;
    let inspected = inspect_archive(&bytes, &chart.reference.to_string())?;
    let file_name = format!(
        "{}-{}.tgz",
        inspected.metadata.name, inspected.metadata.version
    );
    let dest = args.destination.join(&file_name);
    std::fs::rename(&staged, &dest).with_context(|| format!("cannot write {}", dest.display()))?;
    match args.output {
        OutputFormat::Text => {
            println!("Pulled: {}", chart.reference);
            println!("Digest: {}", chart.fetched.digest);
            println!("Saved: {}", dest.display());
        }
        OutputFormat::Json => super::output::print_success(serde_json::json!({
            "ref": chart.reference.to_string(),
            "digest": chart.fetched.digest,
            "name": inspected.metadata.name,
            "version": inspected.metadata.version,
            "layerDigest": chart.chart_layer.digest,
            "path": dest,
        })),
    }
    Ok(())
}
