//! `signet push CHART.tgz oci://HOST/REPO`: push a packaged chart as a Helm OCI artifact.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;

use super::output::OutputFormat;
use super::registry::RegistryFlags;
use crate::package::{MAX_CHART_BYTES, inspect_archive};
use crate::registry::{ChartArtifact, OciReference, ProgressFn, helm_annotations};

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The packaged chart (`signet package` or `helm package` output).
    #[arg(value_name = "CHART.tgz")]
    pub chart: PathBuf,
    /// Target repository; the chart name is appended, the version becomes the tag.
    #[arg(value_name = "oci://HOST/REPO")]
    pub remote: String,
    #[command(flatten)]
    pub registry: RegistryFlags,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// The `created` annotation: `SOURCE_DATE_EPOCH` when set (reproducible builds), else the
/// archive's modification time, as `helm push` does. Never "now": pushing the same archive again
/// must give the same manifest digest, or the tag would silently lose its signatures.
fn creation_time(archive: &std::fs::Metadata) -> String {
    let from_env = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0));
    from_env
        .or_else(|| {
            archive
                .modified()
                .ok()
                .map(chrono::DateTime::<chrono::Utc>::from)
        })
        .unwrap_or_else(chrono::Utc::now)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A byte progress bar on stderr when it is a terminal.
pub(crate) fn progress_bar(
    total: u64,
    label: &str,
) -> Option<(indicatif::ProgressBar, ProgressFn)> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    let b = bar.clone();
    Some((bar, Arc::new(move |n| b.set_position(n))))
}

/// Runs `signet push`.
pub async fn run(args: PushArgs) -> anyhow::Result<()> {
    let target = OciReference::parse(&args.remote)?;
    let label = args.chart.display().to_string();
    let meta = std::fs::metadata(&args.chart)
        .with_context(|| format!("cannot read chart archive {label}"))?;
    if meta.is_dir() {
        bail!("{label} is a directory; package it first: signet package {label}");
    }
    let size = meta.len();
    if size > MAX_CHART_BYTES {
        bail!("{label}: archive is {size} bytes, above the {MAX_CHART_BYTES}-byte limit");
    }
    let archive =
        std::fs::read(&args.chart).with_context(|| format!("cannot read chart archive {label}"))?;
    let inspected = inspect_archive(&archive, &label)?;
    let metadata = inspected.metadata;
    let config_json = serde_json::to_vec(&metadata)?;
    let artifact = ChartArtifact {
        name: metadata.name.clone(),
        version: metadata.version.clone(),
        config_json,
        annotations: helm_annotations(&metadata, &creation_time(&meta)),
        archive,
    };
    let client = args.registry.client()?;
    // Blobs go up in one request each, so a spinner (not a byte bar) shows liveness.
    let spinner = std::io::stderr().is_terminal().then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.set_message(format!(
            "Pushing {} {} ({size} bytes)",
            artifact.name, artifact.version
        ));
        s.enable_steady_tick(std::time::Duration::from_millis(100));
        s
    });
    let pushed = client.push_chart(&target, &artifact, None).await;
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let pushed = pushed?;
    let tagged = OciReference {
        digest: None,
        ..pushed.reference.clone()
    };
    match args.output {
        OutputFormat::Text => {
            println!("Pushed: {tagged}");
            println!("Digest: {}", pushed.digest);
        }
        OutputFormat::Json => super::output::print_success(serde_json::json!({
            "ref": tagged.to_string(),
            "digest": pushed.digest,
            "name": metadata.name,
            "version": metadata.version,
            "layerDigest": pushed.layer.digest,
            "size": pushed.layer.size,
        })),
    }
    Ok(())
}
