//! `signet lint DIR…`: Helm-style lint output; non-zero exit when any chart has errors.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use super::output::OutputFormat;
use crate::package::{LintSeverity, lint_chart_dir};

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Chart directories to lint.
    #[arg(required = true, value_name = "DIR")]
    pub charts: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Runs `signet lint`.
pub fn run(args: LintArgs) -> anyhow::Result<()> {
    let reports: Vec<_> = args.charts.iter().map(|c| lint_chart_dir(c)).collect();
    let failed = reports.iter().filter(|r| r.has_errors()).count();
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&reports)?),
        OutputFormat::Text => {
            for r in &reports {
                println!("==> Linting {}", r.chart);
                for m in &r.messages {
                    let tag = match m.severity {
                        LintSeverity::Info => "INFO",
                        LintSeverity::Warning => "WARNING",
                        LintSeverity::Error => "ERROR",
                    };
                    println!("[{tag}] {}: {}", m.path, m.message);
                }
                println!();
            }
            println!(
                "{} chart(s) linted, {failed} chart(s) failed",
                reports.len()
            );
        }
    }
    if failed > 0 {
        bail!("{failed} chart(s) failed linting");
    }
    Ok(())
}
