//! `signet registry login|logout`, and the registry connection flags shared by push and pull
//! (named like Helm's: `--plain-http`, `--ca-file`, `--insecure-skip-tls-verify`,
//! `--registry-config`).

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use super::output::OutputFormat;
use crate::registry::{self, Credentials, OciReference, RegistryClient, RegistryOptions};

/// How to reach the registry.
#[derive(Debug, Clone, Args)]
pub struct RegistryFlags {
    /// Use insecure HTTP connections to the registry.
    #[arg(long)]
    pub plain_http: bool,
    /// Verify the registry's certificate with this PEM CA bundle.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Skip TLS certificate checks of the registry (testing only).
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Docker config file holding registry credentials (default: $DOCKER_CONFIG/config.json or
    /// ~/.docker/config.json).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
}

impl RegistryFlags {
    /// Options for a client using the configured docker config credentials.
    pub fn options(&self) -> RegistryOptions {
        RegistryOptions {
            plain_http: self.plain_http,
            ca_file: self.ca_file.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            credentials: match &self.registry_config {
                Some(p) => Credentials::DockerConfigFile(p.clone()),
                None => Credentials::DockerConfig,
            },
            ..RegistryOptions::default()
        }
    }

    /// The docker config file login/logout edit.
    pub fn config_path(&self) -> anyhow::Result<PathBuf> {
        match &self.registry_config {
            Some(p) => Ok(p.clone()),
            None => registry::docker_config_path()
                .context("cannot locate the docker config: set DOCKER_CONFIG or HOME"),
        }
    }

    /// Builds the client.
    pub fn client(&self) -> anyhow::Result<RegistryClient> {
        Ok(RegistryClient::new(self.options())?)
    }
}

/// cosign's `--registry-username` and `--registry-password`, for `sign` and `mirror`: basic
/// credentials for the registry written to, which win over the docker config.
#[derive(Debug, Clone, Default, Args)]
pub struct RegistryLoginFlags {
    /// Registry username (with --registry-password), instead of the docker config.
    #[arg(long, requires = "registry_password")]
    pub registry_username: Option<String>,
    /// Registry password for --registry-username.
    #[arg(
        long,
        env = "SIGNET_REGISTRY_PASSWORD",
        hide_env_values = true,
        requires = "registry_username"
    )]
    pub registry_password: Option<String>,
}

impl RegistryLoginFlags {
    /// Puts the username and password into `options` when both are given.
    pub fn apply(&self, options: &mut RegistryOptions) {
        if let (Some(username), Some(password)) = (&self.registry_username, &self.registry_password)
        {
            options.credentials = Credentials::Basic {
                username: username.clone(),
                password: password.clone(),
            };
        }
    }
}

/// How `pull` and `template` reach a chart: the registry flags plus Helm's `--username` and
/// `--password` (which win over stored credentials).
#[derive(Debug, Clone, Args)]
pub struct ChartFetchFlags {
    /// Registry username (with --password), instead of the docker or helm registry config.
    #[arg(long, requires = "password")]
    pub username: Option<String>,
    /// Registry password for --username.
    #[arg(long, requires = "username", hide_env_values = true)]
    pub password: Option<String>,
    #[command(flatten)]
    pub registry: RegistryFlags,
}

impl ChartFetchFlags {
    /// Builds the client.
    pub fn client(&self) -> anyhow::Result<RegistryClient> {
        let mut options = self.registry.options();
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            if password.is_empty() {
                bail!(
                    "--password is empty: give the registry password, or leave out --username and --password to use the docker or helm registry config"
                );
            }
            options.credentials = Credentials::Basic {
                username: username.clone(),
                password: password.clone(),
            };
        }
        Ok(RegistryClient::new(options)?)
    }
}

/// The chart `pull` and `template` fetch, and the client to fetch it with: `chart`
/// (`oci://HOST/REPO/NAME` with `:TAG` or `@sha256:…`), or with `--version` the highest tag of
/// that repository matching it, or with neither the latest stable version, as helm picks it
/// (with `--devel`, the latest version, pre-releases included).
pub async fn resolve_chart(
    flags: &ChartFetchFlags,
    chart: &str,
    version: Option<&str>,
    devel: bool,
) -> anyhow::Result<(RegistryClient, OciReference)> {
    let client = flags.client()?;
    let unpinned = OciReference::parse(chart)
        .map(|r| r.tag.is_none() && r.digest.is_none())
        .unwrap_or(false);
    if devel && version.is_none() && unpinned {
        // helm: `--devel` without `--version` is the range `>0.0.0-0`, which in Masterminds'
        // semantics admits every version, pre-releases included: the highest tag wins.
        let repository = OciReference::parse(chart)?;
        let tags = client.list_tags(&repository).await?;
        let latest = tags
            .iter()
            .filter_map(|tag| {
                semver::Version::parse(&crate::registry::tag_to_version(tag))
                    .ok()
                    .map(|v| (v, tag))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, tag)| tag.clone())
            .ok_or_else(|| anyhow::anyhow!("{chart}: no tag is a chart version (--devel)"))?;
        let reference = repository.with_tag(&latest);
        return Ok((client, reference));
    }
    // `*` matches every stable SemVer tag and no pre-release: helm's default without --devel.
    let version = match version {
        None if unpinned => Some("*"),
        other => other,
    };
    let reference = resolve_reference(&client, chart, version).await?;
    Ok((client, reference))
}

/// The reference a command acts on: `chart` with its own `:tag`/`@digest`, or without them and
/// with `--version` (a version or SemVer range, resolved to the highest matching tag). Neither, or
/// both, is a usage error naming the ways to say it.
pub async fn resolve_reference(
    client: &RegistryClient,
    chart: &str,
    version: Option<&str>,
) -> anyhow::Result<OciReference> {
    let reference = OciReference::parse(chart)?;
    let pinned = reference.tag.is_some() || reference.digest.is_some();
    Ok(match version {
        Some(_) if pinned => {
            bail!("{chart}: give either --version or a :tag/@digest in the reference, not both")
        }
        Some(version) => client.resolve_version(&reference, version).await?.1,
        None if pinned => reference,
        None => bail!("{chart}: say which version: --version V|RANGE, :TAG or @sha256:…"),
    })
}

/// `signet registry …`
#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub command: RegistryCommand,
}

impl RegistryArgs {
    /// The `--output` format of the subcommand.
    pub fn output(&self) -> OutputFormat {
        match &self.command {
            RegistryCommand::Login(a) => a.output,
            RegistryCommand::Logout(a) => a.output,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Log in to a registry: check the credentials, then store them in the docker config.
    Login(LoginArgs),
    /// Remove stored credentials for a registry.
    Logout(LogoutArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Registry host, e.g. `registry.example.com` or `127.0.0.1:5000`.
    pub host: String,
    /// Registry username.
    #[arg(short, long)]
    pub username: String,
    /// Read the password (or token) from stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Registry password or identity token (prefer --password-stdin: arguments are visible to
    /// other users in the process list).
    #[arg(short, long)]
    pub password: Option<String>,
    #[command(flatten)]
    pub registry: RegistryFlags,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Registry host.
    pub host: String,
    /// Docker config file to edit.
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Runs `signet registry …`.
pub async fn run(args: RegistryArgs) -> anyhow::Result<()> {
    match args.command {
        RegistryCommand::Login(a) => login(a).await,
        RegistryCommand::Logout(a) => logout(a),
    }
}

fn validate_host(host: &str) -> anyhow::Result<()> {
    registry::OciReference::parse(&format!("oci://{host}/x"))
        .with_context(|| format!("invalid registry host {host:?} (expected HOST[:PORT])"))?;
    Ok(())
}

async fn login(args: LoginArgs) -> anyhow::Result<()> {
    validate_host(&args.host)?;
    let password = match (&args.password, args.password_stdin) {
        (Some(_), true) => bail!("use either --password or --password-stdin, not both"),
        (Some(p), false) => p.clone(),
        (None, true) => {
            if std::io::stdin().is_terminal() {
                eprint!("Password: ");
            }
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the password from stdin")?;
            s.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => bail!("a password is required: pass it on stdin with --password-stdin"),
    };
    if password.is_empty() {
        if args.password_stdin {
            bail!("the password read from stdin is empty");
        }
        bail!("--password is empty: pass the password, or pipe it in with --password-stdin");
    }
    let mut options = args.registry.options();
    options.credentials = Credentials::Basic {
        username: args.username.clone(),
        password: password.clone(),
    };
    let client = RegistryClient::new(options)?;
    client.check_login(&args.host).await?;
    let path = args.registry.config_path()?;
    registry::login(&path, &args.host, &args.username, &password)?;
    match args.output {
        OutputFormat::Text => eprintln!("Login Succeeded"),
        OutputFormat::Json => super::output::print_success(
            serde_json::json!({"registry": args.host, "username": args.username, "config": path}),
        ),
    }
    Ok(())
}

fn logout(args: LogoutArgs) -> anyhow::Result<()> {
    validate_host(&args.host)?;
    let flags = RegistryFlags {
        plain_http: false,
        ca_file: None,
        insecure_skip_tls_verify: false,
        registry_config: args.registry_config,
    };
    let path = flags.config_path()?;
    let removed = registry::logout(&path, &args.host)?;
    if !removed {
        bail!(
            "not logged in to {} (no entry in {})",
            args.host,
            path.display()
        );
    }
    match args.output {
        OutputFormat::Text => eprintln!("Removing login credentials for {}", args.host),
        OutputFormat::Json => super::output::print_success(
            serde_json::json!({"registry": args.host, "removed": true, "config": path}),
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sign` and `mirror` share cosign's login flags: one without the other is refused, and
    /// both together are the credentials sent, over the docker config.
    #[test]
    fn sign_and_mirror_take_the_registry_login_flags() {
        use crate::cli::{Cli, Command};
        use clap::Parser;
        let commands: [&[&str]; 2] = [
            &["signet", "sign", "oci://registry.example/charts/demo:1.0.0"],
            &[
                "signet",
                "mirror",
                "https://charts.example/stable",
                "oci://registry.example/charts",
                "--registry-config",
                "/nonexistent/config.json",
            ],
        ];
        for argv in commands {
            let alone = Cli::try_parse_from(argv.iter().chain(&["--registry-username", "u"]));
            let error = alone
                .expect_err("a username without a password")
                .to_string();
            assert!(error.contains("--registry-password"), "{error}");
            let both = ["--registry-username", "u", "--registry-password", "p"];
            let cli = Cli::try_parse_from(argv.iter().chain(&both)).expect("flags parse");
            let login = match cli.command {
                Command::Sign(args) => args.login,
                Command::Mirror(args) => args.login,
                _ => panic!("not sign or mirror"),
            };
            let mut options = RegistryOptions {
                credentials: Credentials::DockerConfigFile("/nonexistent/config.json".into()),
                ..RegistryOptions::default()
            };
            login.apply(&mut options);
            assert!(
                matches!(&options.credentials, Credentials::Basic { username, password }
                    if username == "u" && password == "p"),
                "{argv:?}"
            );
        }
        let mut options = RegistryOptions::default();
        RegistryLoginFlags::default().apply(&mut options);
        assert!(matches!(options.credentials, Credentials::DockerConfig));
    }

    fn flags() -> ChartFetchFlags {
        ChartFetchFlags {
            username: None,
            password: None,
            registry: RegistryFlags {
                plain_http: false,
                ca_file: None,
                insecure_skip_tls_verify: false,
                registry_config: None,
            },
        }
    }

    /// The refusals happen before any request, so no registry is needed.
    #[tokio::test]
    async fn a_reference_names_its_version_at_most_one_way() {
        let both = resolve_chart(
            &flags(),
            "oci://registry.example/charts/demo:1.0.0",
            Some("1"),
            false,
        )
        .await
        .expect_err("a tag and --version together are refused");
        assert_eq!(
            both.to_string(),
            "oci://registry.example/charts/demo:1.0.0: give either --version or a :tag/@digest \
             in the reference, not both"
        );
        // verify and sign (resolve_reference) do not guess: no version is a usage error.
        let client = flags().client().expect("client");
        let neither = resolve_reference(&client, "oci://registry.example/charts/demo", None)
            .await
            .expect_err("no tag, digest or --version is refused");
        assert_eq!(
            neither.to_string(),
            "oci://registry.example/charts/demo: say which version: --version V|RANGE, :TAG or \
             @sha256:…"
        );
        let (_, pinned) = resolve_chart(
            &flags(),
            "oci://registry.example/charts/demo:1.0.0",
            None,
            true,
        )
        .await
        .expect("a tag alone names the version");
        assert_eq!(pinned.tag.as_deref(), Some("1.0.0"));
    }
}
