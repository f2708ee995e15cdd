//! `signet mirror https://charts.example.com oci://registry.example.com/charts`: copy a classic
//! Helm repository (index.yaml) into an OCI registry, version by version, the archive bytes
//! unchanged; optionally check `.prov` provenance and sign what was pushed. Source flags are
//! `helm repo add`'s; target flags are `signet push`'s with a `--registry-` prefix where both
//! sides have one; signing flags are `signet sign`'s own ([`SigningFlags`]).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;

use super::output::{AlreadyReported, OutputFormat};
use super::registry::RegistryLoginFlags;
use super::sign::{SigningFlags, SigningIdentity};
use crate::mirror::{
    ChartOutcome, Keyring, MirrorOptions, MirrorSummary, OutcomeStatus, ProvenanceState, Selection,
    SignState, Signer, SourceClient, SourceOptions,
};
use crate::registry::{Credentials, OciReference, RegistryClient, RegistryOptions, VersionRequest};

#[derive(Debug, Args)]
#[command(
    after_help = "Provenance: with --keyring, each version's <archive URL>.prov (made by \
`helm package --sign`) is verified when the repository has one, and a version whose provenance \
fails is refused; --require-provenance also refuses versions without one. Without --keyring, \
.prov files are not checked. Either way a .prov is pushed with its chart as a provenance layer, \
as `helm push` does, so `helm pull --verify` works from the registry.\n\nA tag that already holds the same archive is skipped (not \
downloaded again); a tag holding a different chart is an error unless --force. The exit status \
is non-zero when any version failed."
)]
pub struct MirrorArgs {
    /// The classic chart repository (the URL `helm repo add` takes; index.yaml is read below it).
    #[arg(value_name = "https://HOST/PATH")]
    pub source: String,
    /// Target: each chart goes to oci://HOST/REPO/<name>:<version>.
    #[arg(value_name = "oci://HOST/REPO")]
    pub target: String,
    /// Mirror only this chart (repeatable); all charts by default.
    #[arg(long = "chart", value_name = "NAME")]
    pub charts: Vec<String>,
    /// Only versions matching this version or SemVer range (Helm's syntax, e.g. ">=1.2 <2");
    /// every version, pre-releases included, by default.
    #[arg(long, value_name = "VERSION|RANGE")]
    pub version: Option<String>,
    /// Check everything (download, digests, provenance, target tags) but push and sign nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Versions mirrored at once.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Overwrite a tag that already holds a different chart.
    #[arg(long)]
    pub force: bool,

    /// OpenPGP keyring (binary or armored; e.g. `gpg --export > pubring.gpg`) to verify
    /// `.prov` provenance files with. Without it, provenance is not checked.
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// With --keyring: refuse versions that have no .prov file (like `helm pull --verify`).
    #[arg(long, requires = "keyring")]
    pub require_provenance: bool,

    /// Source repository username (helm repo add --username).
    #[arg(long, requires = "password")]
    pub username: Option<String>,
    /// Source repository password.
    #[arg(
        long,
        requires = "username",
        env = "SIGNET_REPO_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Send the source credentials to every host index.yaml points at, not only the
    /// repository's.
    #[arg(long)]
    pub pass_credentials: bool,
    /// Verify the source repository's certificate with this PEM CA bundle.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for the source repository.
    #[arg(long, value_name = "FILE", requires = "key_file")]
    pub cert_file: Option<PathBuf>,
    /// Client key (PEM) for --cert-file.
    #[arg(long, value_name = "FILE", requires = "cert_file")]
    pub key_file: Option<PathBuf>,
    /// Skip TLS certificate checks of the source repository (testing only).
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,

    /// Use plain HTTP to the target registry.
    #[arg(long)]
    pub plain_http: bool,
    /// Verify the target registry's certificate with this PEM CA bundle.
    #[arg(long, value_name = "FILE")]
    pub registry_ca_file: Option<PathBuf>,
    /// Skip TLS certificate checks of the target registry (testing only).
    #[arg(long)]
    pub registry_insecure_skip_tls_verify: bool,
    /// Docker config file holding the target registry's credentials (default:
    /// $DOCKER_CONFIG/config.json or ~/.docker/config.json).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    // The target registry's username and password, instead of the docker config.
    #[command(flatten)]
    pub login: RegistryLoginFlags,

    /// Sign each mirrored manifest digest (with --key, or keylessly with --identity-token).
    #[arg(long)]
    pub sign: bool,
    // How to sign with --sign: `signet sign`'s own flags.
    #[command(flatten)]
    pub signing: SigningFlags,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

fn source_client(args: &MirrorArgs) -> anyhow::Result<SourceClient> {
    if args.password.as_deref() == Some("") {
        bail!("--password is empty: give the repository password, or leave out --username");
    }
    Ok(SourceClient::new(
        &args.source,
        SourceOptions {
            username: args.username.clone(),
            password: args.password.clone(),
            ca_file: args.ca_file.clone(),
            cert_file: args.cert_file.clone(),
            key_file: args.key_file.clone(),
            insecure_skip_tls_verify: args.insecure_skip_tls_verify,
            pass_credentials: args.pass_credentials,
        },
    )?)
}

fn registry_client(args: &MirrorArgs) -> anyhow::Result<RegistryClient> {
    let credentials = match &args.registry_config {
        Some(path) => Credentials::DockerConfigFile(path.clone()),
        None => Credentials::DockerConfig,
    };
    let mut options = RegistryOptions {
        plain_http: args.plain_http,
        ca_file: args.registry_ca_file.clone(),
        insecure_skip_tls_verify: args.registry_insecure_skip_tls_verify,
        credentials,
        ..RegistryOptions::default()
    };
    args.login.apply(&mut options);
    Ok(RegistryClient::new(options)?)
}

fn signer(args: &MirrorArgs) -> anyhow::Result<Option<Signer>> {
    if !args.sign {
        // An identity token may come from the environment (CI sets SIGSTORE_ID_TOKEN for
        // other steps); a key or annotations are asked for on the command line.
        if args.signing.key.is_some() || !args.signing.annotations.is_empty() {
            bail!("--key and --annotations sign what is mirrored: add --sign");
        }
        return Ok(None);
    }
    let (options, identity) = args.signing.prepare().context("--sign")?;
    Ok(Some(match identity {
        SigningIdentity::Key(key) => Signer::Key {
            key: Arc::new(key),
            options,
        },
        SigningIdentity::Keyless { token, fulcio } => Signer::Keyless {
            token,
            fulcio,
            options,
        },
    }))
}

/// Runs `signet mirror`.
pub async fn run(args: MirrorArgs) -> anyhow::Result<()> {
    let target = OciReference::parse(&args.target)?;
    if target.tag.is_some() || target.digest.is_some() {
        bail!(
            "{}: the target is a repository prefix without tag or digest (each chart goes to \
             <target>/<name>:<version>)",
            args.target
        );
    }
    let selection = Selection {
        charts: args.charts.clone(),
        version: args
            .version
            .as_deref()
            .map(VersionRequest::parse)
            .transpose()?,
    };
    let keyring = args
        .keyring
        .as_deref()
        .map(Keyring::load)
        .transpose()?
        .map(Arc::new);
    let signer = if args.dry_run { None } else { signer(&args)? };
    let source = source_client(&args)?;
    let registry = registry_client(&args)?;

    let index = source.fetch_index().await?;
    let selected = selection.select(&index)?;
    let text = args.output == OutputFormat::Text;
    for (chart, version, why) in &selected.ignored {
        eprintln!("Ignoring {chart} {version}: {why}");
    }
    let bar = (text && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(selected.entries.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let options = MirrorOptions {
        keyring,
        require_provenance: args.require_provenance,
        dry_run: args.dry_run,
        force: args.force,
        concurrency: usize::from(args.concurrency),
        signer,
    };
    let on_done = |o: &ChartOutcome| {
        if let Some(bar) = &bar {
            bar.inc(1);
            bar.set_message(format!("{} {}", o.name, o.version));
            bar.println(outcome_line(o));
        } else if text {
            println!("{}", outcome_line(o));
        }
    };
    let outcomes = crate::mirror::mirror(
        &source,
        &registry,
        &target,
        &selected.entries,
        &options,
        &on_done,
    )
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let summary = MirrorSummary::of(&outcomes, args.dry_run);
    match args.output {
        OutputFormat::Text => println!("{}", summary_line(&summary)),
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "ok": summary.failed == 0,
                "source": source.base().as_str(),
                "target": target.to_string(),
                "summary": summary,
                "charts": outcomes,
            });
            println!("{doc}");
        }
    }
    if summary.failed > 0 {
        let message = format!(
            "{} of {} chart version(s) failed to mirror",
            summary.failed, summary.total
        );
        return Err(match args.output {
            // The document above says which and why; main adds only the message on stderr.
            OutputFormat::Json => AlreadyReported(message).into(),
            OutputFormat::Text => anyhow::anyhow!(message),
        });
    }
    Ok(())
}

/// One line per version, e.g. `pushed   app 1.2.0 → oci://…/app:1.2.0@sha256:… (provenance
/// verified: Jane <jane@example.com>; signed)`.
fn outcome_line(o: &ChartOutcome) -> String {
    let word = match o.status {
        OutcomeStatus::Pushed => "pushed",
        OutcomeStatus::Overwritten => "overwrote",
        OutcomeStatus::Skipped => "skipped",
        OutcomeStatus::WouldPush => "would push",
        OutcomeStatus::WouldOverwrite => "would overwrite",
        OutcomeStatus::Failed => "FAILED",
    };
    if o.status == OutcomeStatus::Failed {
        let error = o.error.as_deref().unwrap_or("unknown error");
        // Most messages name the chart and version already.
        return if error.starts_with(&format!("{} {}:", o.name, o.version)) {
            format!("{word:<10} {error}")
        } else {
            format!("{word:<10} {} {}: {error}", o.name, o.version)
        };
    }
    let mut notes = Vec::new();
    if o.status == OutcomeStatus::Skipped {
        notes.push("already mirrored".to_string());
    }
    match &o.provenance {
        ProvenanceState::Verified { signer, .. } => {
            notes.push(format!("provenance verified: {signer}"))
        }
        ProvenanceState::Absent => notes.push("no provenance file".into()),
        ProvenanceState::NotChecked | ProvenanceState::AlreadyMirrored => {}
    }
    match o.signature {
        Some(SignState::Signed) => notes.push("signed".into()),
        Some(SignState::AlreadySigned) => notes.push("already signed".into()),
        None => {}
    }
    let at = match (&o.reference, &o.digest) {
        (Some(r), Some(d)) => format!(" → {r}@{d}"),
        (Some(r), None) => format!(" → {r}"),
        _ => String::new(),
    };
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    format!("{word:<10} {} {}{at}{notes}", o.name, o.version)
}

fn summary_line(s: &MirrorSummary) -> String {
    format!(
        "{}{} chart version(s): {} {}, {} skipped, {} signed, {} failed",
        if s.dry_run { "Dry run, " } else { "" },
        s.total,
        s.pushed,
        if s.dry_run { "to push" } else { "pushed" },
        s.skipped,
        s.signed,
        s.failed
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn mirror_args(flags: &[&str]) -> MirrorArgs {
        let argv = [
            "signet",
            "mirror",
            "https://charts.example/stable",
            "oci://registry.example/charts",
        ];
        let cli = Cli::try_parse_from(argv.iter().chain(flags)).expect("flags parse");
        let Command::Mirror(args) = cli.command else {
            panic!("not the mirror command")
        };
        *args
    }

    #[test]
    fn signing_flags_are_signs_own() {
        // Flags `signet sign` has that the mirror's own copy of them once lacked.
        let args = mirror_args(&[
            "--sign",
            "--key",
            "cosign.key",
            "--new-bundle-format",
            "--signing-config",
            "signing-config.json",
            "-a",
            "team=charts",
        ]);
        assert!(args.sign);
        assert!(args.signing.new_bundle_format);
        assert_eq!(
            args.signing.signing_config.as_deref(),
            Some(std::path::Path::new("signing-config.json"))
        );
        assert_eq!(args.signing.annotations, ["team=charts"]);
    }

    #[test]
    fn a_key_without_sign_is_refused_and_an_identity_token_alone_is_ignored() {
        let err = signer(&mirror_args(&["--key", "cosign.key"])).unwrap_err();
        assert!(err.to_string().contains("add --sign"), "{err}");
        let err = signer(&mirror_args(&["-a", "k=v"])).unwrap_err();
        assert!(err.to_string().contains("add --sign"), "{err}");
        // CI may export SIGSTORE_ID_TOKEN for other steps: not a request to sign.
        let args = mirror_args(&["--identity-token", "a.b.c"]);
        assert!(signer(&args).unwrap().is_none());
    }

    #[test]
    fn sign_without_a_key_or_token_names_the_flag() {
        let mut args = mirror_args(&["--sign"]);
        // Whatever the environment holds, this run has no token.
        args.signing.identity_token = None;
        let err = signer(&args).unwrap_err();
        let chain = format!("{err:#}");
        assert!(chain.starts_with("--sign: nothing to sign with"), "{chain}");
    }
}
