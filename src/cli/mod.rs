//! The `signet` command line: argument parsing and dispatch. Each subcommand lives in its own file
//! as a thin shell over the library; machine output goes to stdout, human messages to stderr.

use clap::{Parser, Subcommand};

pub mod diff;
pub mod get;
pub mod initialize;
pub mod keys;
pub mod lint;
pub mod mirror;
pub mod output;
pub mod package;
pub mod pull;
pub mod push;
pub mod registry;
pub mod sign;
pub mod template;
pub mod verify;

/// Signet: package, push, sign, verify and render Helm charts stored as OCI artifacts.
// `-V`/`--version` exist at the top level only. `pull`, `template`, `sign` and `verify` take
// `--version` as the chart version (as Helm users type it everywhere); had it been propagated, a
// CI step `signet verify … --version 1.2.3` would print the program version and exit 0 without
// verifying anything. Elsewhere `--version` is an unknown-argument error.
#[derive(Debug, Parser)]
#[command(name = "signet", version, about)]
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
    /// Copy every version of a classic Helm repository (index.yaml) into an OCI registry.
    Mirror(Box<mirror::MirrorArgs>),
    /// Log in to or out of a registry.
    Registry(registry::RegistryArgs),
    /// Write a cosign-compatible key pair: cosign.key (password-encrypted) and cosign.pub.
    GenerateKeyPair(keys::GenerateKeyPairArgs),
    /// Sign a chart in a registry the way cosign does (key, certificate or keyless).
    Sign(sign::SignArgs),
    /// Verify an artifact's signatures against a policy (cosign-compatible flags).
    Verify(verify::VerifyArgs),
    /// Fetch and cache Sigstore's trust root through TUF, and set the TUF repository (cosign's `initialize`).
    Initialize(initialize::InitializeArgs),
    /// Render a chart locally exactly like `helm template` (Helm's flags).
    Template(template::TemplateArgs),
    /// Show what the next reconcile of a SignedChartRelease would change (exit 1 when anything would).
    Diff(diff::DiffArgs),
    /// List SignedChartReleases: Ready, version, digest, signer, last transition.
    Get(get::GetArgs),
    /// Explain one SignedChartRelease: conditions, inventory and recent Events.
    Status(get::StatusArgs),
    /// Print Signet's version.
    Version,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completion {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

impl Cli {
    /// The command line of this process, as [`clap::Parser::parse`] reads it (errors, `--help`
    /// and all), but a `signet template` that parses is read with only its own arguments built.
    /// Scripts run `template` once per chart; building every subcommand's arguments first was a
    /// tenth of a small chart's whole run. Anything the short way does not accept is parsed
    /// again the full way, so help and error texts are the full command's.
    pub fn parse_command_line() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        Self::parse_template_only(&args).unwrap_or_else(Cli::parse)
    }

    fn parse_template_only(args: &[std::ffi::OsString]) -> Option<Cli> {
        use clap::{Args, FromArgMatches};
        if args.get(1).is_none_or(|a| a != "template") {
            return None;
        }
        let command = template::TemplateArgs::augment_args(clap::Command::new("template"));
        let matches = command.try_get_matches_from(&args[1..]).ok()?;
        let args = template::TemplateArgs::from_arg_matches(&matches).ok()?;
        Some(Cli {
            command: Command::Template(args),
        })
    }

    /// Whether the command needs tokio's runtime (the network, timers, signals) and TLS. The
    /// others — `crd`, `lint`, `package`, `generate-key-pair`, `version`, `completion`, and
    /// `template` of a local chart — run on the calling thread: a one-shot `signet template`
    /// spends most of its few milliseconds starting up, and a multi-threaded runtime (its worker
    /// threads started and joined) was a good part of that.
    pub fn needs_runtime(&self) -> bool {
        match &self.command {
            Command::Crd
            | Command::Lint(_)
            | Command::Package(_)
            | Command::GenerateKeyPair(_)
            | Command::Version
            | Command::Completion { .. } => false,
            Command::Template(args) => args.needs_network(),
            Command::Push(_)
            | Command::Pull(_)
            | Command::Registry(_)
            | Command::Sign(_)
            | Command::Verify(_)
            | Command::Mirror(_)
            | Command::Initialize(_)
            | Command::Diff(_)
            | Command::Get(_)
            | Command::Status(_) => true,
        }
    }

    /// The `--output` format the command asked for, so `main` can print a failure in it.
    pub fn output_format(&self) -> output::OutputFormat {
        match &self.command {
            Command::Lint(a) => a.output,
            Command::Package(a) => a.output,
            Command::Push(a) => a.output,
            Command::Pull(a) => a.output,
            Command::Mirror(a) => a.output,
            Command::Sign(a) => a.output,
            Command::Verify(a) => a.output,
            Command::Initialize(a) => a.output,
            Command::Registry(a) => a.output(),
            Command::Get(a) => a.output,
            Command::Status(a) => a.output,
            _ => output::OutputFormat::Text,
        }
    }
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
        Command::Mirror(args) => mirror::run(*args).await,
        Command::Registry(args) => registry::run(args).await,
        Command::GenerateKeyPair(args) => keys::run(args),
        Command::Sign(args) => sign::run(args).await,
        Command::Verify(args) => verify::run(args).await,
        Command::Initialize(args) => initialize::run(args).await,
        Command::Template(args) => template::run(args).await,
        Command::Diff(args) => diff::run(args).await,
        Command::Get(args) => get::run_get(args).await,
        Command::Status(args) => get::run_status(args).await,
        Command::Version => {
            println!("signet {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Completion { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "signet", &mut std::io::stdout());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::Parser;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("signet").chain(args.iter().copied()))
    }

    /// The short way reads `template` exactly as the whole command line does, and declines
    /// everything that is an error or a help request there.
    #[test]
    fn template_only_parsing_agrees_with_the_full_parser() {
        let cases: &[&[&str]] = &[
            &["template", "charts/app"],
            &[
                "template",
                "rel",
                "charts/app",
                "-n",
                "ns",
                "--kube-version",
                "v1.30.0",
            ],
            &[
                "template",
                "x",
                "c",
                "-f",
                "a.yaml,b.yaml",
                "--set",
                "a=b",
                "--set",
                "c=d",
            ],
            &[
                "template",
                "oci://r.example/c",
                "--version",
                "1.2.3",
                "--plain-http",
            ],
            &[
                "template",
                "c",
                "--include-crds",
                "-s",
                "templates/a.yaml",
                "--devel",
            ],
            &[
                "template",
                "c",
                "--api-versions",
                "a/v1,b/v2",
                "-g",
                "--debug",
            ],
            &["template", "--help"],
            &["template", "-h"],
            &["template", "c", "--no-such-flag"],
            &["template", "c", "--kube-version", "banana"],
            &["template", "c", "-V"],
            &["version"],
            &["lint", "c"],
        ];
        for case in cases {
            let argv: Vec<std::ffi::OsString> = std::iter::once("signet")
                .chain(case.iter().copied())
                .map(Into::into)
                .collect();
            let short = Cli::parse_template_only(&argv).map(|c| format!("{c:?}"));
            match parse(case) {
                Ok(full) => {
                    let full = format!("{full:?}");
                    if case[0] == "template" {
                        assert_eq!(short, Some(full), "{case:?}");
                    } else {
                        assert_eq!(short, None, "{case:?}");
                    }
                }
                Err(_) => assert_eq!(short, None, "{case:?} is an error or help in full"),
            }
        }
    }

    #[test]
    fn version_is_the_chart_version_or_an_error_never_the_program_version() {
        // The fail-open case: these must never turn into "print the version and exit 0".
        for args in [
            &[
                "verify",
                "oci://r.example/c",
                "--key",
                "k.pub",
                "--version",
                "1.2.3",
            ][..],
            &[
                "sign",
                "oci://r.example/c",
                "--key",
                "k.key",
                "--version",
                "1.2.3",
            ],
            &["pull", "oci://r.example/c", "--version", "1.2.3"],
            &["template", "oci://r.example/c", "--version", "1.2.3"],
        ] {
            let cli = parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            let version = match cli.command {
                super::Command::Verify(a) => a.version,
                super::Command::Sign(a) => a.version,
                super::Command::Pull(a) => a.version,
                super::Command::Template(a) => a.version,
                other => panic!("{args:?} parsed as {other:?}"),
            };
            assert_eq!(version.as_deref(), Some("1.2.3"), "{args:?}");
        }
        for args in [
            &[
                "push",
                "c.tgz",
                "oci://r.example/charts",
                "--version",
                "1.2.3",
            ][..],
            &["package", "chart", "--version"],
            &["lint", "chart", "-V"],
        ] {
            let err = parse(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} parsed"));
            assert_ne!(err.kind(), ErrorKind::DisplayVersion, "{args:?}");
            assert_eq!(err.kind(), ErrorKind::UnknownArgument, "{args:?}: {err}");
        }
        // The program version: `signet version` and the top-level flag only.
        assert!(matches!(
            parse(&["version"]).map(|c| c.command),
            Ok(super::Command::Version)
        ));
        let err = parse(&["--version"]).expect_err("--version displays");
        assert_eq!(err.kind(), ErrorKind::DisplayVersion);
    }
}
