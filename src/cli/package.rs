//! `signet package DIR [-d OUT]`: a reproducible chart archive `<name>-<version>.tgz`.

use std::path::PathBuf;

use clap::Args;

use super::output::OutputFormat;
use crate::package::{load_chart_dir, write_package};
use crate::registry::sha256_digest;

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// Chart directory.
    #[arg(value_name = "DIR")]
    pub chart: PathBuf,
    /// Directory to write the archive to.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub destination: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Runs `signet package`.
pub fn run(args: PackageArgs) -> anyhow::Result<()> {
    let source = load_chart_dir(&args.chart)?;
    let (path, bytes) = write_package(&source, &args.destination)?;
    match args.output {
        OutputFormat::Text => println!(
            "Successfully packaged chart and saved it to: {}",
            path.display()
        ),
        OutputFormat::Json => super::output::print_success(serde_json::json!({
            "path": path,
            "name": source.metadata.name,
            "version": source.metadata.version,
            "archiveDigest": sha256_digest(&bytes),
            "size": bytes.len(),
        })),
    }
    Ok(())
}
