//! Sigstore's `trusted_root.json` obtained through TUF, for when no trust root is given: the
//! public-good Sigstore TUF repository by default (its `root.json` is embedded as the initial
//! trusted root), or a private mirror with its own initial root (cosign's `initialize --mirror
//! --root`). The TUF client is [`tough`]: it walks root rotations (each new root signed by a
//! threshold of the old and the new keys), checks every role's signatures and thresholds,
//! versions (no rollback), expiry, and the target's hash and length; nothing of TUF is
//! re-implemented here.
//!
//! This module owns where the result is kept and when it is refreshed:
//! - on disk ([`TufConfig::cache_dir`], the CLI's `$XDG_CACHE_HOME/signet/tuf`), where a start
//!   within [`TufConfig::refresh_after`] of the last update re-verifies the cached files offline
//!   and makes no request; an older cache is refreshed, and if the mirror cannot be reached (or
//!   serves something refused) the cache is used as long as its metadata has not expired;
//! - in memory for the controller ([`TufTrustRoot`]), refreshed after `refresh_after`, when the
//!   metadata expires, and sooner after a failed refresh.
//!
//! The text handed out always parses as a [`TrustRoot`]; callers put it in
//! [`crate::verify::Policy::trusted_root_json`] exactly as an explicit `--trusted-root` would be.

mod cache;
mod transport;

use super::trust_root::TrustRoot;
use chrono::{DateTime, Utc};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tough::{ExpirationEnforcement, FilesystemTransport, IntoVec, RepositoryLoader, TargetName};
use transport::RecordingTransport;
use url::Url;

/// The public-good Sigstore TUF repository (metadata at its root, targets under `targets/`).
pub const PUBLIC_GOOD_MIRROR: &str = "https://tuf-repo-cdn.sigstore.dev";

/// The public-good repository's `root.json` (version 12, from sigstore/root-signing as the
/// `sigstore` crate ships it): the initial trusted root. Its expiry does not matter: the update
/// walks forward from it through every later root, each signed by the one before.
const PUBLIC_GOOD_ROOT: &[u8] = include_bytes!("sigstore_root.json");

/// The target holding Sigstore's trust root.
const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// How long a fetched trust root is used before the mirror is asked again (sigstore-go's
/// default cache validity). Expiring metadata is refreshed sooner.
pub const DEFAULT_REFRESH_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// When the controller looks again after being served from the disk cache (a cheap offline
/// re-verification, which goes to the mirror once the cache is due) or after a failed refresh.
const RECHECK_CACHED: Duration = Duration::from_secs(5 * 60);

/// Why no trust root could be obtained through TUF.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TufError {
    #[error("TUF mirror {url:?} is not a usable URL: {message}")]
    InvalidMirror { url: String, message: String },
    #[error("cannot read the TUF root {}: {message}", path.display())]
    Root { path: PathBuf, message: String },
    /// tough refused the update (signatures, thresholds, versions, expiry, hashes) or could not
    /// reach the mirror; the message is tough's, with its causes.
    #[error("TUF update from {mirror} failed: {message}")]
    Update { mirror: String, message: String },
    #[error("the TUF repository at {mirror} has no {TRUSTED_ROOT_TARGET} target")]
    NoTrustedRoot { mirror: String },
    #[error(
        "{TRUSTED_ROOT_TARGET} from the TUF repository at {mirror} is not a Sigstore trusted root: {message}"
    )]
    InvalidTrustedRoot { mirror: String, message: String },
    #[error("TUF cache {}: {message}", path.display())]
    Cache { path: PathBuf, message: String },
}

/// Which TUF repository to trust, and where to keep what it served.
#[derive(Debug, Clone)]
pub struct TufConfig {
    /// The repository's metadata base URL; targets are under `targets/` below it.
    pub mirror: Url,
    /// The initial trusted `root.json` (used until a newer root is cached).
    pub initial_root: Vec<u8>,
    /// The cache base directory (each repository gets its own directory below it); `None`
    /// keeps nothing on disk beyond one update.
    pub cache_dir: Option<PathBuf>,
    /// A cache younger than this is used without asking the mirror.
    pub refresh_after: Duration,
}

impl TufConfig {
    /// The public-good Sigstore repository with its embedded root, cached in
    /// [`TufConfig::default_cache_dir`].
    pub fn public_good() -> Self {
        Self {
            mirror: Url::parse(PUBLIC_GOOD_MIRROR).unwrap_or_else(|_| unreachable!()),
            initial_root: PUBLIC_GOOD_ROOT.to_vec(),
            cache_dir: Self::default_cache_dir(),
            refresh_after: DEFAULT_REFRESH_AFTER,
        }
    }

    /// `--tuf-mirror` / `--tuf-root`: a mirror without a root trusts the embedded public-good
    /// root (a mirror of the public-good repository); a root without a mirror is used with the
    /// public-good mirror.
    pub fn new(mirror: Option<&str>, root_file: Option<&Path>) -> Result<Self, TufError> {
        let mut config = Self::public_good();
        if let Some(mirror) = mirror {
            config.mirror = parse_mirror(mirror)?;
        }
        if let Some(path) = root_file {
            config.initial_root = std::fs::read(path).map_err(|e| TufError::Root {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            serde_json::from_slice::<serde_json::Value>(&config.initial_root).map_err(|e| {
                TufError::Root {
                    path: path.to_path_buf(),
                    message: format!("not JSON: {e}"),
                }
            })?;
        }
        Ok(config)
    }

    /// `$SIGNET_TUF_CACHE`, else `$XDG_CACHE_HOME/signet/tuf`, else `~/.cache/signet/tuf`.
    pub fn default_cache_dir() -> Option<PathBuf> {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(dir) = env("SIGNET_TUF_CACHE") {
            return Some(PathBuf::from(dir));
        }
        let cache = env("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
        Some(cache.join("signet").join("tuf"))
    }

    /// This repository's cache directory: the mirror's host and path, and a digest of the
    /// initial root (another initial root is another trust decision, with its own cache).
    pub fn repository_dir(&self) -> Option<PathBuf> {
        let base = self.cache_dir.as_ref()?;
        let name: String = format!(
            "{}{}",
            self.mirror.host_str().unwrap_or("local"),
            self.mirror.path()
        )
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
        let root = hex::encode(&sha2::Sha256::digest(&self.initial_root)[..6]);
        Some(base.join(format!("{}-{root}", name.trim_end_matches('_'))))
    }

    fn targets_url(&self) -> Result<Url, TufError> {
        self.mirror
            .join("targets/")
            .map_err(|e| invalid_mirror(self.mirror.as_str(), e))
    }
}

fn invalid_mirror(url: &str, e: impl std::fmt::Display) -> TufError {
    TufError::InvalidMirror {
        url: url.to_owned(),
        message: e.to_string(),
    }
}

/// A mirror URL (`https://`, `http://` or `file://`), with a trailing `/` so that metadata file
/// names resolve below it.
pub fn parse_mirror(text: &str) -> Result<Url, TufError> {
    let mut url = Url::parse(text).map_err(|e| invalid_mirror(text, e))?;
    if !matches!(url.scheme(), "https" | "http" | "file") {
        return Err(invalid_mirror(
            text,
            "the scheme must be https, http or file",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A trust root obtained through TUF.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The `trusted_root.json` text (it parses as a [`TrustRoot`]).
    pub trusted_root_json: String,
    /// Served from the on-disk cache (re-verified offline) rather than fetched just now.
    pub from_cache: bool,
    /// The earliest expiry of the TUF metadata it was verified with: refresh before then.
    pub expires: DateTime<Utc>,
    /// The version of the TUF root it was verified with.
    pub root_version: u64,
    /// Why the mirror was not used although the cache was due for a refresh (the cache, still
    /// valid, was used instead).
    pub refresh_error: Option<TufError>,
}

/// Obtains `trusted_root.json` as [`TufConfig`] says: from a fresh cache offline, else from the
/// mirror (caching the result), else from a cache that has not expired. Fails closed: expired,
/// rolled-back, badly signed or tampered metadata is never used.
pub async fn fetch_trusted_root(config: &TufConfig) -> Result<Fetched, TufError> {
    let dir = config.repository_dir();
    if let Some(dir) = &dir {
        let fresh = cache::age(dir)
            .is_some_and(|age| age.to_std().is_ok_and(|age| age < config.refresh_after));
        if fresh {
            match load_cached(config, dir).await {
                Ok(fetched) => return Ok(fetched),
                Err(e) => tracing::debug!(error = %e, "cached TUF metadata unusable; updating"),
            }
        }
    }
    match update(config, dir.as_deref()).await {
        Ok(fetched) => Ok(fetched),
        Err(err) => {
            if let Some(dir) = &dir
                && let Ok(mut fetched) = load_cached(config, dir).await
            {
                tracing::warn!(
                    error = %err,
                    "TUF refresh failed; using the cached trust root, valid until {}",
                    fetched.expires
                );
                fetched.refresh_error = Some(err);
                return Ok(fetched);
            }
            Err(err)
        }
    }
}

/// One TUF update from the mirror, starting from the newest cached root (else the initial one).
async fn update(config: &TufConfig, dir: Option<&Path>) -> Result<Fetched, TufError> {
    let mirror = config.mirror.as_str();
    let cached_root = dir
        .and_then(cache::current)
        .and_then(|current| std::fs::read(current.join("root.json")).ok());
    let initial_root = cached_root.as_deref().unwrap_or(&config.initial_root);
    let targets = config.targets_url()?;
    let transport = RecordingTransport::default();
    let mut loader = RepositoryLoader::new(&initial_root, config.mirror.clone(), targets.clone())
        .transport(transport.clone())
        .expiration_enforcement(ExpirationEnforcement::Safe);
    if let Some(dir) = dir {
        loader = loader.datastore(cache::datastore(dir)?);
    }
    let repository = loader.load().await.map_err(|e| update_error(mirror, &e))?;
    let fetched = read_trusted_root(&repository, mirror, false).await?;
    if let Some(dir) = dir {
        let served = transport.served();
        let version = repository.root().signed.version.get();
        // The newest root as served (exact bytes), or the one we started from.
        let newest_root = served
            .iter()
            .find(|(url, _)| url.ends_with(&format!("/{version}.root.json")))
            .map(|(_, bytes)| bytes.as_slice())
            .unwrap_or(initial_root);
        if let Err(e) = cache::store(
            dir,
            mirror,
            newest_root,
            &served,
            config.mirror.as_str(),
            targets.as_str(),
        ) {
            tracing::warn!(error = %e, "cannot cache the TUF metadata; the next run fetches it again");
        }
    }
    Ok(fetched)
}

/// Re-verifies the cached update offline, exactly as an update is verified.
async fn load_cached(config: &TufConfig, dir: &Path) -> Result<Fetched, TufError> {
    let mirror = config.mirror.as_str();
    let current = cache::current(dir).ok_or_else(|| TufError::Cache {
        path: dir.to_path_buf(),
        message: "no cached update".into(),
    })?;
    // file:// URLs need an absolute path ($SIGNET_TUF_CACHE may be relative).
    let current = std::path::absolute(&current).map_err(|e| TufError::Cache {
        path: current.clone(),
        message: e.to_string(),
    })?;
    let root = std::fs::read(current.join("root.json")).map_err(|e| TufError::Cache {
        path: current.join("root.json"),
        message: e.to_string(),
    })?;
    let url = |sub: &str| {
        Url::from_directory_path(current.join(sub)).map_err(|()| TufError::Cache {
            path: current.join(sub),
            message: "not an absolute path".into(),
        })
    };
    let repository = RepositoryLoader::new(&root, url("metadata")?, url("targets")?)
        .transport(FilesystemTransport)
        .expiration_enforcement(ExpirationEnforcement::Safe)
        .load()
        .await
        .map_err(|e| TufError::Cache {
            path: current.clone(),
            message: error_chain(&e),
        })?;
    read_trusted_root(&repository, mirror, true).await
}

async fn read_trusted_root(
    repository: &tough::Repository,
    mirror: &str,
    from_cache: bool,
) -> Result<Fetched, TufError> {
    let name = TargetName::new(TRUSTED_ROOT_TARGET).map_err(|e| update_error(mirror, &e))?;
    let stream = repository
        .read_target(&name)
        .await
        .map_err(|e| update_error(mirror, &e))?
        .ok_or_else(|| TufError::NoTrustedRoot {
            mirror: mirror.to_owned(),
        })?;
    // tough checks the length and hashes while the stream is read; an error means tampering.
    let bytes = stream
        .into_vec()
        .await
        .map_err(|e| update_error(mirror, &e))?;
    let invalid = |message: String| TufError::InvalidTrustedRoot {
        mirror: mirror.to_owned(),
        message,
    };
    let text = String::from_utf8(bytes).map_err(|e| invalid(e.to_string()))?;
    TrustRoot::from_json(&text).map_err(|e| invalid(e.to_string()))?;
    let expires = [
        repository.root().signed.expires.as_second(),
        repository.timestamp().signed.expires.as_second(),
        repository.snapshot().signed.expires.as_second(),
        repository.targets().signed.expires.as_second(),
    ]
    .into_iter()
    .min()
    .and_then(|s| DateTime::from_timestamp(s, 0))
    .unwrap_or_else(Utc::now);
    Ok(Fetched {
        trusted_root_json: text,
        from_cache,
        expires,
        root_version: repository.root().signed.version.get(),
        refresh_error: None,
    })
}

fn update_error(mirror: &str, e: &dyn std::error::Error) -> TufError {
    TufError::Update {
        mirror: mirror.to_owned(),
        message: error_chain(e),
    }
}

/// An error and its causes on one line (tough's errors wrap transport and schema errors).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The controller's trust root from TUF: held in memory, refreshed when it is older than
/// [`TufConfig::refresh_after`] or its metadata expires (and a few minutes after a failed
/// refresh). Without a cache directory it keeps one in a private temporary directory for the
/// process's lifetime, so refreshes still refuse rollbacks.
pub struct TufTrustRoot {
    config: TufConfig,
    held: tokio::sync::Mutex<Option<Held>>,
    _scratch: Option<tempfile::TempDir>,
}

struct Held {
    json: Arc<str>,
    refresh_at: Instant,
    expires: DateTime<Utc>,
}

impl TufTrustRoot {
    pub fn new(mut config: TufConfig) -> Result<Self, TufError> {
        let scratch = if config.cache_dir.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("signet-tuf-")
                .tempdir()
                .map_err(|e| TufError::Cache {
                    path: std::env::temp_dir(),
                    message: e.to_string(),
                })?;
            config.cache_dir = Some(dir.path().to_path_buf());
            Some(dir)
        } else {
            None
        };
        Ok(Self {
            config,
            held: tokio::sync::Mutex::new(None),
            _scratch: scratch,
        })
    }

    /// Where the trust root comes from, for logs and messages.
    pub fn mirror(&self) -> &str {
        self.config.mirror.as_str()
    }

    /// The current `trusted_root.json` text. Concurrent callers share one refresh.
    pub async fn trusted_root_json(&self) -> Result<Arc<str>, TufError> {
        let mut held = self.held.lock().await;
        if let Some(h) = held.as_ref()
            && Instant::now() < h.refresh_at
            && Utc::now() < h.expires
        {
            return Ok(h.json.clone());
        }
        let fetched = fetch_trusted_root(&self.config).await?;
        let wait = if fetched.from_cache {
            RECHECK_CACHED.min(self.config.refresh_after)
        } else {
            self.config.refresh_after
        };
        let json: Arc<str> = Arc::from(fetched.trusted_root_json);
        *held = Some(Held {
            json: json.clone(),
            refresh_at: Instant::now() + wait,
            expires: fetched.expires,
        });
        Ok(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_are_http_https_or_file_and_end_in_a_slash() {
        assert_eq!(
            parse_mirror("https://tuf.example.com/repo")
                .unwrap()
                .as_str(),
            "https://tuf.example.com/repo/"
        );
        assert!(parse_mirror("ftp://tuf.example.com").is_err());
        assert!(parse_mirror("not a url").is_err());
    }

    #[test]
    fn each_mirror_and_initial_root_has_its_own_cache() {
        let mut a = TufConfig::public_good();
        a.cache_dir = Some(PathBuf::from("/cache"));
        let dir = a.repository_dir().unwrap();
        assert!(
            dir.to_string_lossy()
                .starts_with("/cache/tuf-repo-cdn.sigstore.dev-"),
            "{}",
            dir.display()
        );
        let mut b = a.clone();
        b.initial_root = b"{}".to_vec();
        assert_ne!(a.repository_dir(), b.repository_dir());
        let mut c = a.clone();
        c.mirror = parse_mirror("http://127.0.0.1:8080/tuf").unwrap();
        assert_ne!(a.repository_dir(), c.repository_dir());
    }

    /// The embedded public-good root parses and is signed by a threshold of its own root keys:
    /// tough gets past loading it (and then finds no newer root and no timestamp offline).
    #[tokio::test]
    async fn the_embedded_public_good_root_is_a_valid_trusted_root() {
        let empty = tempfile::tempdir().unwrap();
        let mut config = TufConfig::public_good();
        config.mirror = Url::from_directory_path(empty.path()).unwrap();
        config.cache_dir = None;
        let err = fetch_trusted_root(&config).await.unwrap_err().to_string();
        assert!(err.starts_with("TUF update from file://"), "{err}");
        assert!(!err.contains("trusted"), "{err}");
    }
}
