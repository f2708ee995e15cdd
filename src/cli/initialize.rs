//! Sigstore's trust root through TUF for the CLI: the `--tuf-mirror`/`--tuf-root` flags of
//! `signet verify` ([`TufFlags`]), and `signet initialize [--mirror URL] [--root FILE]` (cosign's
//! `initialize`), which fetches and caches the trust root now and makes that repository the
//! default for later `verify` runs (remembered in `<cache>/remote.json`; `initialize` with no
//! flags goes back to the public-good Sigstore repository).

use super::output::OutputFormat;
use crate::verify::tuf::{self, TufConfig};
use anyhow::Context;
use base64::Engine;
use clap::Args;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where Sigstore's trusted_root.json comes from when no `--trusted-root` is given.
#[derive(Debug, Clone, Default, Args)]
pub struct TufFlags {
    /// TUF repository to obtain Sigstore's trusted_root.json from when no --trusted-root is
    /// given (default: the one `signet initialize` set, else the public-good Sigstore repository).
    #[arg(long, value_name = "URL", conflicts_with = "trusted_root")]
    pub tuf_mirror: Option<String>,
    /// Initial trusted root.json of that TUF repository (default: the public-good root embedded
    /// in signet).
    #[arg(long, value_name = "FILE", conflicts_with = "trusted_root")]
    pub tuf_root: Option<PathBuf>,
}

/// What `signet initialize` chose, for later runs.
#[derive(Debug, Serialize, Deserialize)]
struct Remote {
    mirror: String,
    /// The initial root.json, base64 (its exact bytes).
    root: String,
}

const REMOTE: &str = "remote.json";

fn remote_path() -> Option<PathBuf> {
    TufConfig::default_cache_dir().map(|d| d.join(REMOTE))
}

fn read_remote(path: &Path) -> anyhow::Result<Option<TufConfig>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let remote: Remote = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not what `signet initialize` writes; run it again",
            path.display()
        )
    })?;
    let mut config = TufConfig::public_good();
    config.mirror = tuf::parse_mirror(&remote.mirror)?;
    config.initial_root = base64::engine::general_purpose::STANDARD
        .decode(remote.root)
        .with_context(|| format!("{}: root is not base64", path.display()))?;
    Ok(Some(config))
}

impl TufFlags {
    /// The TUF repository to use: the flags, else `signet initialize`'s choice, else public good.
    pub fn config(&self) -> anyhow::Result<TufConfig> {
        if self.tuf_mirror.is_some() || self.tuf_root.is_some() {
            return Ok(TufConfig::new(
                self.tuf_mirror.as_deref(),
                self.tuf_root.as_deref(),
            )?);
        }
        match remote_path() {
            Some(path) => Ok(read_remote(&path)?.unwrap_or_else(TufConfig::public_good)),
            None => Ok(TufConfig::public_good()),
        }
    }

    /// trusted_root.json through TUF (cached; see [`crate::verify::tuf`]).
    pub async fn trusted_root_json(&self) -> anyhow::Result<String> {
        let config = self.config()?;
        let fetched = tuf::fetch_trusted_root(&config).await.context(
            "no --trusted-root was given, and Sigstore's trust root could not be obtained \
             through TUF (give --trusted-root where the TUF mirror cannot be reached)",
        )?;
        if let Some(e) = &fetched.refresh_error {
            eprintln!(
                "Warning: {e}; using the cached trust root (valid until {})",
                fetched.expires
            );
        }
        Ok(fetched.trusted_root_json)
    }
}

/// Arguments of `signet initialize`.
#[derive(Debug, Args)]
pub struct InitializeArgs {
    /// The TUF repository (default: the public-good Sigstore repository).
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Its initial trusted root.json (default: the public-good root embedded in signet).
    #[arg(long, value_name = "FILE")]
    pub root: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Runs `signet initialize`: a TUF update now (never the cache), then remembers the choice.
pub async fn run(args: InitializeArgs) -> anyhow::Result<()> {
    let mut config = TufConfig::new(args.mirror.as_deref(), args.root.as_deref())?;
    config.refresh_after = Duration::ZERO;
    let dir = config
        .repository_dir()
        .context("no cache directory: set XDG_CACHE_HOME, HOME or SIGNET_TUF_CACHE")?;
    let fetched = tuf::fetch_trusted_root(&config).await?;
    if let Some(e) = fetched.refresh_error {
        return Err(e.into());
    }
    let remote = remote_path().context("no cache directory")?;
    if args.mirror.is_some() || args.root.is_some() {
        let doc = Remote {
            mirror: config.mirror.to_string(),
            root: base64::engine::general_purpose::STANDARD.encode(&config.initial_root),
        };
        std::fs::write(&remote, serde_json::to_vec_pretty(&doc)?)
            .with_context(|| format!("cannot write {}", remote.display()))?;
    } else if remote.exists() {
        std::fs::remove_file(&remote)
            .with_context(|| format!("cannot remove {}", remote.display()))?;
    }
    match args.output {
        OutputFormat::Json => super::output::print_success(serde_json::json!({
            "mirror": config.mirror.as_str(),
            "rootVersion": fetched.root_version,
            "expires": fetched.expires.to_rfc3339(),
            "cache": dir.display().to_string(),
        })),
        OutputFormat::Text => println!(
            "Initialized TUF from {}: root version {}, trusted_root.json cached in {} \
             (metadata valid until {})",
            config.mirror,
            fetched.root_version,
            dir.display(),
            fetched.expires
        ),
    }
    Ok(())
}
