//! The on-disk cache of one TUF repository, under `<cache base>/<repository id>/`:
//!
//! - `current/`: the last complete, verified update as the mirror served it — `root.json` (the
//!   newest trusted root), `metadata/` (timestamp, snapshot and targets metadata under their
//!   served names) and `targets/` (`<sha256>.trusted_root.json`), plus `fetched.json` (when and
//!   from where). A later start re-verifies it with tough, offline, from these files, so a cached
//!   start is checked exactly as an update is (signatures, thresholds, hashes, expiry).
//! - `datastore/`: tough's own memory of the newest timestamp and snapshot it accepted, which is
//!   how an update refuses a rollback to older metadata.
//!
//! `current/` is replaced whole (written beside it, then renamed into place), so a failed or
//! interrupted update never leaves a mix of old and new files.

use super::TufError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const CURRENT: &str = "current";
const FETCHED: &str = "fetched.json";

/// When and from where `current/` was fetched.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FetchedStamp {
    mirror: String,
    fetched_at: DateTime<Utc>,
}

fn cache_error(path: &Path, e: impl std::fmt::Display) -> TufError {
    TufError::Cache {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The directory of the last complete update, if there is one.
pub(super) fn current(dir: &Path) -> Option<PathBuf> {
    let current = dir.join(CURRENT);
    current.join("root.json").is_file().then_some(current)
}

/// How long ago `current/` was fetched from the mirror (`None`: no cache, or unreadable).
pub(super) fn age(dir: &Path) -> Option<chrono::Duration> {
    let text = std::fs::read_to_string(dir.join(CURRENT).join(FETCHED)).ok()?;
    let stamp: FetchedStamp = serde_json::from_str(&text).ok()?;
    Some(Utc::now().signed_duration_since(stamp.fetched_at))
}

/// tough's datastore directory, created if missing.
pub(super) fn datastore(dir: &Path) -> Result<PathBuf, TufError> {
    let path = dir.join("datastore");
    std::fs::create_dir_all(&path).map_err(|e| cache_error(&path, e))?;
    Ok(path)
}

/// The part of `url` below `base`, if it is a plain relative file path (no `..`, no escapes).
fn relative<'a>(url: &'a str, base: &str) -> Option<&'a str> {
    let rel = url.strip_prefix(base)?;
    let plain = !rel.is_empty()
        && !rel.starts_with('/')
        && !rel.contains(['%', '\\', '?', '#'])
        && rel
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    plain.then_some(rel)
}

/// Replaces `current/` with a completed update: the newest trusted `root` and the files the
/// mirror served (by URL) below `metadata_base` and `targets_base`. Intermediate `N.root.json`
/// files are not kept: `root` is the newest of them.
pub(super) fn store(
    dir: &Path,
    mirror: &str,
    root: &[u8],
    served: &BTreeMap<String, Vec<u8>>,
    metadata_base: &str,
    targets_base: &str,
) -> Result<(), TufError> {
    std::fs::create_dir_all(dir).map_err(|e| cache_error(dir, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(dir)
        .map_err(|e| cache_error(dir, e))?;
    let write = |rel: &Path, bytes: &[u8]| -> Result<(), TufError> {
        let path = staging.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| cache_error(parent, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| cache_error(&path, e))
    };
    write(Path::new("root.json"), root)?;
    for (url, bytes) in served {
        // The targets base usually lies below the metadata base: test it first.
        if let Some(rel) = relative(url, targets_base) {
            write(&Path::new("targets").join(rel), bytes)?;
        } else if let Some(rel) = relative(url, metadata_base)
            && !rel.ends_with(".root.json")
        {
            write(&Path::new("metadata").join(rel), bytes)?;
        }
    }
    let stamp = FetchedStamp {
        mirror: mirror.to_owned(),
        fetched_at: Utc::now(),
    };
    let stamp = serde_json::to_vec_pretty(&stamp).map_err(|e| cache_error(dir, e))?;
    write(Path::new(FETCHED), &stamp)?;

    let current = dir.join(CURRENT);
    let old = dir.join(format!(
        ".old-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let had_current = current.exists();
    if had_current {
        std::fs::rename(&current, &old).map_err(|e| cache_error(&current, e))?;
    }
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, &current) {
        // Put the previous update back rather than leave no cache at all.
        if had_current {
            let _ = std::fs::rename(&old, &current);
        }
        let _ = std::fs::remove_dir_all(&staged);
        return Err(cache_error(&current, e));
    }
    if had_current {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn only_plain_relative_paths_are_cached() {
        let base = "http://127.0.0.1:1/repo/";
        assert_eq!(
            relative("http://127.0.0.1:1/repo/1.snapshot.json", base),
            Some("1.snapshot.json")
        );
        assert_eq!(
            relative("http://127.0.0.1:1/repo/a/b.json", base),
            Some("a/b.json")
        );
        assert_eq!(relative("http://127.0.0.1:1/repo/../x.json", base), None);
        assert_eq!(relative("http://127.0.0.1:1/repo/a%2F..%2Fx", base), None);
        assert_eq!(relative("http://127.0.0.1:1/other/x.json", base), None);
        assert_eq!(relative("http://127.0.0.1:1/repo/", base), None);
    }
}
