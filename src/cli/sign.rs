//! `signet sign oci://HOST/REPO[:TAG|@DIGEST]`: sign a chart (any OCI artifact) the way
//! `cosign sign` does, with a key (`--key`, optionally `--certificate`/`--certificate-chain`) or
//! keylessly (`--identity-token` → `--fulcio-url`), logging to `--rekor-url` (keyless by default,
//! as cosign; `--tlog-upload[=BOOL]` decides) and timestamping with `--timestamp-server-url`;
//! `--new-bundle-format` stores a Sigstore bundle as an OCI 1.1 referrer, as cosign v3 does, and
//! `--signing-config` picks the services (a Rekor v2 log among them) as cosign v3's does. Flags are named like cosign's; registry flags like Helm's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde_json::json;

use super::keys::load_signing_key;
use super::output::OutputFormat;
use super::registry::{RegistryFlags, RegistryLoginFlags};
use crate::registry::RegistryClient;
use crate::sign::keyless::{DEFAULT_FULCIO_URL, DEFAULT_REKOR_URL};
use crate::sign::{
    CertificateChain, FulcioClient, ReferrersMode, RekorClient, RekorV2Client, SignOptions,
    SignOutcome, TimestampClient,
};
use crate::verify::keys::{KeyAlgorithm, SigningKey};

/// cosign's `--registry-referrers-mode` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ReferrersModeArg {
    /// The `sha256-<hex>.sig` tag.
    #[default]
    Legacy,
    /// An OCI 1.1 referrer (plus the `sha256-<hex>` fallback tag index when needed).
    #[value(name = "oci-1-1")]
    Oci11,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The artifact to sign; a tag is resolved and its digest is what gets signed.
    #[arg(value_name = "oci://HOST/REPO[:TAG|@DIGEST]")]
    pub reference: String,
    /// Chart version or SemVer range (as in `signet pull`), for a reference without tag or digest:
    /// the highest matching version is signed. Not the program's version: that is `signet version`.
    #[arg(long, value_name = "VERSION|RANGE")]
    pub version: Option<String>,
    #[command(flatten)]
    pub signing: SigningFlags,
    /// Accepted for cosign compatibility; signet never asks for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// cosign's name for --plain-http.
    #[arg(long)]
    pub allow_http_registry: bool,
    /// cosign's name for --insecure-skip-tls-verify.
    #[arg(long)]
    pub allow_insecure_registry: bool,
    #[command(flatten)]
    pub login: RegistryLoginFlags,
    #[command(flatten)]
    pub registry: RegistryFlags,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// How to sign: the key or keyless identity, the services, the format. `signet sign`'s flags,
/// named like cosign's, and `signet mirror --sign`'s: one definition, so the two cannot drift.
#[derive(Debug, Args)]
pub struct SigningFlags {
    /// Private key: cosign.key (password from COSIGN_PASSWORD or a prompt) or a PEM key. Takes
    /// precedence over an identity token (which CI may set in SIGSTORE_ID_TOKEN regardless).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Certificate for --key (PEM or DER), stored with the signature.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub certificate: Option<PathBuf>,
    /// Intermediate and root certificates for --certificate (PEM), stored with the signature.
    #[arg(long, value_name = "FILE", requires = "certificate")]
    pub certificate_chain: Option<PathBuf>,
    /// Keyless: the OIDC identity token, or a file holding it.
    #[arg(
        long,
        env = "SIGSTORE_ID_TOKEN",
        value_name = "TOKEN|FILE",
        hide_env_values = true
    )]
    pub identity_token: Option<String>,
    /// Keyless: the Fulcio-compatible CA issuing the signing certificate.
    #[arg(long, value_name = "URL", default_value = DEFAULT_FULCIO_URL)]
    pub fulcio_url: String,
    /// Upload the signature to the transparency log. Keyless signing uploads unless told
    /// `--tlog-upload=false`, as cosign does: a short-lived certificate is only checkable against
    /// the time the log records (or a timestamp). Key signing uploads only when asked.
    #[arg(long, value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub tlog_upload: Option<bool>,
    /// The Rekor-compatible transparency log for --tlog-upload.
    #[arg(long, value_name = "URL", default_value = DEFAULT_REKOR_URL)]
    pub rekor_url: String,
    /// RFC 3161 timestamp authority (full URL, e.g. https://HOST/api/v1/timestamp): timestamps
    /// the signature so it stays verifiable after a short-lived certificate expires.
    #[arg(long, value_name = "URL")]
    pub timestamp_server_url: Option<String>,
    /// A Sigstore signing config (cosign v3's `--signing-config`): the Fulcio, Rekor (v1 or v2)
    /// and timestamp authority to use, in place of --fulcio-url, --rekor-url and
    /// --timestamp-server-url. A Rekor v2 log needs --new-bundle-format.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["fulcio_url", "rekor_url", "timestamp_server_url"])]
    pub signing_config: Option<PathBuf>,
    /// Where to store the signature (classic format only).
    #[arg(long, value_enum, default_value_t)]
    pub registry_referrers_mode: ReferrersModeArg,
    /// cosign v3's format: a Sigstore bundle v0.3 (DSSE over an in-toto statement with predicate
    /// type https://sigstore.dev/cosign/sign/v1) stored as an OCI 1.1 referrer of the chart
    /// manifest, instead of the `.sig` simple-signing layer.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value_t = false,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub new_bundle_format: bool,
    /// Extra KEY=VALUE recorded (and signed) in the payload's `optional` section.
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
}

/// What signs: a key, or keylessly an identity token for which the CA certifies a fresh key per
/// signature.
pub(crate) enum SigningIdentity {
    Key(SigningKey),
    Keyless { token: String, fulcio: FulcioClient },
}

fn parse_annotations(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("--annotations {pair:?}: expected KEY=VALUE"),
        })
        .collect()
}

/// The token itself, or the contents of the file it names (cosign accepts both).
fn identity_token(value: &str) -> anyhow::Result<String> {
    let path = std::path::Path::new(value);
    if !value.contains('.') || path.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--identity-token: cannot read token file {value}"))?;
        return Ok(text.trim().to_string());
    }
    Ok(value.trim().to_string())
}

fn client(args: &SignArgs) -> anyhow::Result<RegistryClient> {
    let mut options = args.registry.options();
    options.plain_http |= args.allow_http_registry;
    options.insecure_skip_tls_verify |= args.allow_insecure_registry;
    args.login.apply(&mut options);
    Ok(RegistryClient::new(options)?)
}

fn print_outcome(outcome: &SignOutcome, format: OutputFormat) {
    match format {
        OutputFormat::Json => {
            let value = json!({
                "digest": outcome.digest,
                "signed": outcome.signed.to_string(),
                "storedAt": outcome.stored_at.as_ref().map(|r| r.to_string()),
                "alreadySigned": outcome.already_signed(),
                "tlogIndex": outcome.log_index(),
            });
            super::output::print_success(value);
        }
        OutputFormat::Text => {
            match &outcome.stored_at {
                Some(at) => println!("Signed {} (signature stored at {at})", outcome.signed),
                None => println!(
                    "{} already carries this key's signature; nothing written",
                    outcome.signed
                ),
            }
            if let Some(index) = outcome.log_index() {
                println!("tlog entry created with index: {index}");
            }
        }
    }
}

impl From<ReferrersModeArg> for ReferrersMode {
    fn from(mode: ReferrersModeArg) -> Self {
        match mode {
            ReferrersModeArg::Legacy => ReferrersMode::Legacy,
            ReferrersModeArg::Oci11 => ReferrersMode::Oci11,
        }
    }
}

/// Whether to log a signature given `--tlog-upload`, `--key` and `--identity-token`: as asked,
/// else for keyless signing (cosign's default; a key takes precedence over a token, so that is
/// key signing). `signet mirror --sign` follows the same rule.
fn tlog_upload(asked: Option<bool>, key: Option<&Path>, token: Option<&str>) -> bool {
    asked.unwrap_or(key.is_none() && token.is_some())
}

/// The services to sign with: from --signing-config, else from the URL flags.
struct Services {
    fulcio: String,
    /// Base URL and major API version.
    rekor: (String, u32),
    tsa: Option<String>,
}

impl SigningFlags {
    /// Whether the signatures go to the transparency log (see [`tlog_upload`]).
    fn uploads_to_tlog(&self) -> bool {
        tlog_upload(
            self.tlog_upload,
            self.key.as_deref(),
            self.identity_token.as_deref(),
        )
    }

    /// The services to sign with: from --signing-config, else from the URL flags.
    fn services(&self) -> anyhow::Result<Services> {
        let Some(path) = &self.signing_config else {
            return Ok(Services {
                fulcio: self.fulcio_url.clone(),
                rekor: (self.rekor_url.clone(), 1),
                tsa: self.timestamp_server_url.clone(),
            });
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --signing-config {}", path.display()))?;
        let selected = crate::sign::signing_config::select(&text, chrono::Utc::now())
            .with_context(|| format!("--signing-config {}", path.display()))?;
        let missing = |what: &str| {
            anyhow::anyhow!("--signing-config {}: no {what} valid now", path.display())
        };
        Ok(Services {
            fulcio: match (&selected.fulcio, &self.identity_token, &self.key) {
                (Some(url), _, _) => url.clone(),
                (None, Some(_), None) => return Err(missing("certificate authority (caUrls)")),
                (None, _, _) => String::new(),
            },
            rekor: match (&selected.rekor, self.uploads_to_tlog()) {
                (Some(rekor), _) => rekor.clone(),
                (None, true) => return Err(missing("transparency log (rekorTlogUrls)")),
                (None, false) => (String::new(), 1),
            },
            tsa: selected.tsa,
        })
    }

    /// The signing options (annotations, format, log, timestamp authority, a key's certificate)
    /// and what signs. Reads the key (asking for its password if need be); contacts nothing.
    pub(crate) fn prepare(&self) -> anyhow::Result<(SignOptions, SigningIdentity)> {
        let mut options = SignOptions {
            annotations: parse_annotations(&self.annotations)?,
            mode: self.registry_referrers_mode.into(),
            new_bundle_format: self.new_bundle_format,
            ..SignOptions::default()
        };
        let services = self.services()?;
        if let Some(url) = &services.tsa {
            options.timestamp = Some(TimestampClient::new(url)?);
        }
        if self.uploads_to_tlog() {
            match &services.rekor {
                (url, 2) => options.rekor_v2 = Some(RekorV2Client::new(url)?),
                (url, _) => options.rekor = Some(RekorClient::new(url)?),
            }
        }
        let identity = match (&self.key, &self.identity_token) {
            (Some(path), _) => {
                let key = load_signing_key(path)?;
                if let Some(certificate) = &self.certificate {
                    options.certificate = Some(CertificateChain::from_files(
                        certificate,
                        self.certificate_chain.as_deref(),
                    )?);
                }
                SigningIdentity::Key(key)
            }
            (None, Some(token)) => SigningIdentity::Keyless {
                token: identity_token(token)?,
                fulcio: FulcioClient::new(&services.fulcio)?,
            },
            (None, None) => bail!(
                "nothing to sign with: pass --key FILE, or --identity-token (or SIGSTORE_ID_TOKEN) \
                 for keyless signing"
            ),
        };
        Ok((options, identity))
    }
}

/// Runs `signet sign`.
pub async fn run(args: SignArgs) -> anyhow::Result<()> {
    let client = client(&args)?;
    let reference =
        super::registry::resolve_reference(&client, &args.reference, args.version.as_deref())
            .await?;
    let (mut options, identity) = args.signing.prepare()?;
    let key = match identity {
        SigningIdentity::Key(key) => key,
        SigningIdentity::Keyless { token, fulcio } => {
            // A fresh key per signature: its certificate is the only thing tying it to the
            // identity, and it lives for minutes.
            let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
            options.certificate = Some(fulcio.signing_certificate(&token, &key).await?);
            key
        }
    };
    let outcome = crate::sign::sign(&client, &reference, &key, &options).await?;
    print_outcome(&outcome, args.output);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn uploads(flags: &[&str]) -> bool {
        let argv = ["signet", "sign", "oci://registry.example/charts/demo:1.0.0"];
        let cli = Cli::try_parse_from(argv.iter().chain(flags)).expect("flags parse");
        let Command::Sign(args) = cli.command else {
            panic!("not the sign command")
        };
        args.signing.uploads_to_tlog()
    }

    #[test]
    fn keyless_signing_logs_by_default_and_key_signing_when_asked() {
        let token = ["--identity-token", "a.b.c"];
        assert!(uploads(&token));
        assert!(!uploads(&[&token[..], &["--tlog-upload=false"]].concat()));
        assert!(!uploads(&["--key", "cosign.key"]));
        assert!(uploads(&["--key", "cosign.key", "--tlog-upload"]));
        assert!(uploads(&["--key", "cosign.key", "--tlog-upload=true"]));
        // A key wins over a token (CI may export SIGSTORE_ID_TOKEN): key signing.
        assert!(!uploads(&[&token[..], &["--key", "k"]].concat()));
    }
}
