//! `signet verify oci://HOST/REPO[:TAG][@DIGEST]`: a thin shell over [`crate::verify`] with
//! cosign's flag names (`--key`, `--certificate-identity[-regexp]`,
//! `--certificate-oidc-issuer[-regexp]`, `--trusted-root`, `--insecure-ignore-tlog`,
//! `--insecure-ignore-sct`, `--registry-referrers-mode`), `--signed-repository[-regexp]` (the
//! repository the signed payload must name; by default only the digest is bound) plus the shared
//! registry flags (`--plain-http`, `--ca-file`, `--registry-config`). Without `--trusted-root`,
//! Sigstore's trust root comes through TUF (`--tuf-mirror`, `--tuf-root`; see [`super::initialize`]).

use super::output::OutputFormat;
use super::registry::RegistryFlags;
use crate::verify::{
    Authority, Identity, Matcher, Policy, ReferrersMode, Sources, Verifier, VerifyError,
    resolve_for_verification, verify,
};
use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Where to look for signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReferrersModeArg {
    /// The `.sig` tag and OCI 1.1 referrers (default).
    All,
    /// Only cosign's `sha256-<hex>.sig` tag.
    Legacy,
    /// Only OCI 1.1 referrers (and the referrers fallback tag).
    #[value(name = "oci-1-1")]
    Oci11,
}

/// Arguments of `signet verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The artifact: oci://HOST/REPO:TAG, oci://HOST/REPO@sha256:…, or both (then the tag must
    /// still point at the digest).
    pub reference: String,
    /// Chart version or SemVer range (as in `signet pull`), for a REFERENCE without tag or digest:
    /// the highest matching version is verified. Not the program's version: that is `signet version`.
    #[arg(long, value_name = "VERSION|RANGE")]
    pub version: Option<String>,
    /// A PKIX public key file (cosign.pub); repeat for several signers.
    #[arg(long = "key")]
    pub keys: Vec<PathBuf>,
    /// Expected certificate subject (URI or email SAN), exact.
    #[arg(long)]
    pub certificate_identity: Option<String>,
    /// Expected certificate subject as a regular expression (anchored).
    #[arg(long, conflicts_with = "certificate_identity")]
    pub certificate_identity_regexp: Option<String>,
    /// Expected OIDC issuer of the certificate, exact.
    #[arg(long)]
    pub certificate_oidc_issuer: Option<String>,
    /// Expected OIDC issuer as a regular expression (anchored).
    #[arg(long, conflicts_with = "certificate_oidc_issuer")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// Sigstore trusted_root.json: certificate authorities, transparency logs, TSAs (offline).
    #[arg(long)]
    pub trusted_root: Option<PathBuf>,
    /// Do not require a transparency-log entry.
    #[arg(long)]
    pub insecure_ignore_tlog: bool,
    /// Do not require a certificate transparency SCT in signing certificates.
    #[arg(long)]
    pub insecure_ignore_sct: bool,
    /// Where to look for signatures.
    #[arg(long, value_enum, default_value_t = ReferrersModeArg::All)]
    pub registry_referrers_mode: ReferrersModeArg,
    /// cosign's spelling for looking at OCI 1.1 referrers only.
    #[arg(long, hide = true)]
    pub experimental_oci11: bool,
    /// How many distinct signers of the policy must have signed.
    #[arg(long, default_value_t = 1)]
    pub threshold: usize,
    /// Require the signature to name this repository (HOST/REPO, as cosign writes it in the
    /// signed payload). By default only the digest is bound, as cosign does, so copies verify at
    /// a mirror; with this flag a copy verifies only if it was signed at HOST/REPO.
    #[arg(long, value_name = "HOST/REPO")]
    pub signed_repository: Option<String>,
    /// Like --signed-repository, as a regular expression (anchored).
    #[arg(long, value_name = "REGEXP", conflicts_with = "signed_repository")]
    pub signed_repository_regexp: Option<String>,
    #[command(flatten)]
    pub tuf: super::initialize::TufFlags,
    #[command(flatten)]
    pub registry: RegistryFlags,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

impl VerifyArgs {
    fn policy(&self) -> anyhow::Result<Policy> {
        let mut policy = Policy {
            require_tlog: !self.insecure_ignore_tlog,
            require_sct: !self.insecure_ignore_sct,
            threshold: self.threshold,
            signed_repository: match (&self.signed_repository, &self.signed_repository_regexp) {
                (Some(r), _) => Some(Matcher::Exact(
                    r.strip_prefix("oci://").unwrap_or(r).to_string(),
                )),
                (_, Some(r)) => Some(Matcher::Regexp(r.clone())),
                _ => None,
            },
            ..Policy::default()
        };
        for path in &self.keys {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --key {}", path.display()))?;
            policy
                .authorities
                .push(Authority::key(path.display().to_string(), pem));
        }
        let subject = match (
            &self.certificate_identity,
            &self.certificate_identity_regexp,
        ) {
            (Some(s), _) => Some(Matcher::Exact(s.clone())),
            (_, Some(r)) => Some(Matcher::Regexp(r.clone())),
            _ => None,
        };
        let issuer = match (
            &self.certificate_oidc_issuer,
            &self.certificate_oidc_issuer_regexp,
        ) {
            (Some(s), _) => Some(Matcher::Exact(s.clone())),
            (_, Some(r)) => Some(Matcher::Regexp(r.clone())),
            _ => None,
        };
        match (subject, issuer) {
            (Some(subject), Some(issuer)) => policy.authorities.push(Authority::keyless(
                "certificate-identity",
                vec![Identity { issuer, subject }],
            )),
            (None, None) => {}
            _ => bail!(
                "keyless verification needs both --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]"
            ),
        }
        if policy.authorities.is_empty() {
            bail!(
                "nothing to verify against: pass --key FILE, or --certificate-identity[-regexp] \
                 with --certificate-oidc-issuer[-regexp] for keyless signatures"
            );
        }
        if let Some(path) = &self.trusted_root {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --trusted-root {}", path.display()))?;
            policy.trusted_root_json = Some(text);
        }
        Ok(policy)
    }
}

/// Runs `signet verify`.
pub async fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let mut policy = args.policy()?;
    // No --trusted-root: Sigstore's, through TUF, where the log or certificates need one (cosign).
    let keyless = policy
        .authorities
        .iter()
        .any(|a| matches!(a.verifier, Verifier::Keyless { .. }));
    if policy.trusted_root_json.is_none() && (policy.require_tlog || keyless) {
        policy.trusted_root_json = Some(args.tuf.trusted_root_json().await?);
    }
    let policy = policy.compile()?;
    let registry = args.registry.client()?;
    let reference =
        super::registry::resolve_reference(&registry, &args.reference, args.version.as_deref())
            .await?;
    let mode = match (args.experimental_oci11, args.registry_referrers_mode) {
        (true, _) | (_, ReferrersModeArg::Oci11) => ReferrersMode::Oci11,
        (_, ReferrersModeArg::Legacy) => ReferrersMode::Legacy,
        (_, ReferrersModeArg::All) => ReferrersMode::All,
    };
    let sources = Sources {
        registry: &registry,
        mode,
    };
    let result = async {
        let digest = resolve_for_verification(&reference, &registry).await?;
        verify(&digest, &reference, &policy, &sources).await
    }
    .await;
    match (result, args.output) {
        (Ok(v), OutputFormat::Json) => {
            let mut doc = serde_json::to_value(&v)?;
            doc["verified"] = serde_json::Value::Bool(true);
            super::output::print_success(doc);
            Ok(())
        }
        (Ok(v), OutputFormat::Text) => {
            println!("Verified {}@{}", v.repository, v.digest);
            for s in &v.signers {
                println!(
                    "  signer {}: {} ({})",
                    s.authority, s.description, s.location
                );
            }
            if !v.log_indexes.is_empty() {
                let idx: Vec<String> = v.log_indexes.iter().map(i64::to_string).collect();
                println!("  transparency log index: {}", idx.join(", "));
            }
            Ok(())
        }
        // With --output json, main prints the failure document (reason and message).
        (Err(e), _) => Err(VerificationFailed(e).into()),
    }
}

/// The error `main` prints: the reason code and the message.
#[derive(Debug, thiserror::Error)]
#[error("verification failed ({}): {}", .0.reason(), .0)]
pub struct VerificationFailed(pub VerifyError);

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// The policy error for a `signet verify` command line (none of these reach a registry).
    fn policy_error(flags: &[&str]) -> String {
        let argv = [
            "signet",
            "verify",
            "oci://registry.example/charts/demo:1.0.0",
        ];
        let cli = Cli::try_parse_from(argv.iter().chain(flags)).expect("flags parse");
        let Command::Verify(args) = cli.command else {
            panic!("not the verify command")
        };
        args.policy().expect_err("policy is refused").to_string()
    }

    #[test]
    fn policy_errors_name_the_flags_to_pass() {
        assert_eq!(
            policy_error(&[]),
            "nothing to verify against: pass --key FILE, or --certificate-identity[-regexp] \
             with --certificate-oidc-issuer[-regexp] for keyless signatures"
        );
        assert_eq!(
            policy_error(&["--certificate-identity", "me@example.com"]),
            "keyless verification needs both --certificate-identity[-regexp] and \
             --certificate-oidc-issuer[-regexp]"
        );
        assert_eq!(
            policy_error(&["--key", "/nonexistent/cosign.pub"]),
            "cannot read --key /nonexistent/cosign.pub"
        );
    }
}
