//! Output conventions shared by subcommands: `--output text|json`.

use clap::ValueEnum;

/// How a command prints its result on stdout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON document, for scripts.
    Json,
}
