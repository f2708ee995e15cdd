//! `signet lint DIR…`: Helm-style lint output; non-zero exit when any chart has errors.

use std::path::PathBuf;

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
        // One document like every command's, with a verdict per chart and overall.
        OutputFormat::Json => {
            let charts: Vec<serde_json::Value> = reports
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "chart": r.chart,
                        "ok": !r.has_errors(),
                        "messages": r.messages,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({"ok": failed == 0, "failed": failed, "charts": charts})
            );
        }
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
        return Err(
            super::output::AlreadyReported(format!("{failed} chart(s) failed linting")).into(),
        );
    }
    Ok(())
}
