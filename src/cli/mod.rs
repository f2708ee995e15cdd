//! The `signet` command line: argument parsing and dispatch. Each subcommand lives in its own file
//! as a thin shell over the library; machine output goes to stdout, human messages to stderr.

use clap::{Parser, Subcommand};

pub mod keys;
pub mod lint;
pub mod output;
pub mod package;
pub mod pull;
pub mod push;
pub mod registry;
pub mod sign;
pub mod template;
pub mod verify;

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
    /// Check a chart directory for problems (Chart.yaml, values.yaml, templates).
    Lint(lint::LintArgs),
    /// Package a chart directory into a reproducible versioned archive.
    Package(package::PackageArgs),
    /// Push a packaged chart to an OCI registry.
    Push(push::PushArgs),
    /// Download a chart from an OCI registry, checking its digest.
    Pull(pull::PullArgs),
    /// Log in to or out of a registry.
    Registry(registry::RegistryArgs),
    /// Write a cosign-compatible key pair: cosign.key (password-encrypted) and cosign.pub.
    GenerateKeyPair(keys::GenerateKeyPairArgs),
    /// Sign a chart in a registry the way cosign does (key, certificate or keyless).
    Sign(sign::SignArgs),
    /// Verify an artifact's signatures against a policy (cosign-compatible flags).
    Verify(verify::VerifyArgs),
    /// Render a chart locally exactly like `helm template` (Helm's flags).
    Template(template::TemplateArgs),
}

/// Runs the parsed command; the error is printed with its chain by `main`.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Crd => {
            print!("{}", crate::api::crd_yaml()?);
            Ok(())
        }
        Command::Lint(args) => lint::run(args),
        Command::Package(args) => package::run(args),
        Command::Push(args) => push::run(args).await,
        Command::Pull(args) => pull::run(args).await,
        Command::Registry(args) => registry::run(args).await,
        Command::GenerateKeyPair(args) => keys::run(args),
        Command::Sign(args) => sign::run(args).await,
        Command::Verify(args) => verify::run(args).await,
        Command::Template(args) => template::run(args).await,
    }
}
