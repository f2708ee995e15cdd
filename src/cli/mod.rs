//! The `signet` command line: argument parsing and dispatch. Each subcommand lives in its own file
//! as a thin shell over the library; machine output goes to stdout, human messages to stderr.

use clap::{Parser, Subcommand};

pub mod output;

/// Signet: package, push, sign, verify and render Helm charts stored as OCI artifacts.
#[derive(Debug, Parser)]
#[command(name = "signet", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the SignedChartRelease CustomResourceDefinition as YAML.
    Crd,
}

/// Runs the parsed command; the error is printed with its chain by `main`.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Crd => {
            print!("{}", crate::api::crd_yaml()?);
            Ok(())
        }
    }
}
