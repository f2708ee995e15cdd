//! Reading a chart directory into memory: `Chart.yaml` parsed and validated, the file list
//! filtered by `.helmignore`, sorted, size-bounded, and with symlinks resolved only when they
//! stay inside the chart.

use std::path::{Path, PathBuf};

use signet_render::chart::ignore::HELM_IGNORE;
use signet_render::chart::{ChartMetadata, IgnoreRules};

use super::error::PackageError;

/// Largest single file accepted in a chart (Helm's loader uses the same bound).
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// Largest total chart size accepted, uncompressed.
pub const MAX_CHART_BYTES: u64 = 100 * 1024 * 1024;

/// One file of a chart, with its chart-relative `/`-separated path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    pub path: String,
    pub data: Vec<u8>,
}

/// A chart directory read into memory.
#[derive(Debug, Clone)]
pub struct ChartSource {
    /// The directory it was read from.
    pub dir: PathBuf,
    /// Parsed `Chart.yaml`.
    pub metadata: ChartMetadata,
    /// All files (including `Chart.yaml`), sorted by path.
    pub files: Vec<ChartFile>,
}

/// Reads and validates a chart directory: `Chart.yaml` must exist, parse, pass Helm's
/// metadata validation, and use `apiVersion: v2` (or the legacy `v1` Helm still loads).
pub fn load_chart_dir(dir: &Path) -> Result<ChartSource, PackageError> {
    let root = dir.canonicalize().map_err(PackageError::io(dir))?;
    if !root.is_dir() {
        return Err(PackageError::Io {
            path: dir.display().to_string(),
            source: std::io::Error::other("not a directory"),
        });
    }
    // The directory may be named anything (`chart/`, `helm/`): Helm takes the name from
    // Chart.yaml, and so does the archive's top directory.
    let metadata = read_metadata(&dir.join("Chart.yaml"))?;

    let mut rules = match std::fs::read_to_string(root.join(HELM_IGNORE)) {
        Ok(text) => IgnoreRules::parse(&text).map_err(|e| PackageError::Ignore {
            path: dir.join(HELM_IGNORE).display().to_string(),
            message: e.to_string(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => IgnoreRules::empty(),
        Err(e) => return Err(PackageError::io(dir.join(HELM_IGNORE))(e)),
    };
    rules.add_defaults();

    let mut files = Vec::new();
    let mut total = 0u64;
    walk(&root, &root, "", &rules, &mut files, &mut total)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(ChartSource {
        dir: dir.to_path_buf(),
        metadata,
        files,
    })
}

/// Parses and validates `Chart.yaml` at `path` with a message naming the file and field.
pub fn read_metadata(path: &Path) -> Result<ChartMetadata, PackageError> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PackageError::MissingChartYaml {
                path: path.parent().unwrap_or(path).display().to_string(),
            });
        }
        Err(e) => return Err(PackageError::io(path)(e)),
    };
    metadata_from_bytes(&data, &path.display().to_string())
}

/// Parses and validates Chart.yaml bytes; `path` is used in messages.
pub fn metadata_from_bytes(data: &[u8], path: &str) -> Result<ChartMetadata, PackageError> {
    // YAML errors come with a multi-line source snippet; the first line carries the position
    // and the problem, which is what a one-line error needs.
    let invalid = |message: String| PackageError::InvalidChartYaml {
        path: path.to_string(),
        message: message.lines().next().unwrap_or_default().to_string(),
    };
    let metadata = ChartMetadata::from_yaml(data).map_err(|e| invalid(e.to_string()))?;
    metadata.validate().map_err(|e| invalid(e.to_string()))?;
    // Helm 3 and 4 still load v1 charts (lint warns about them); anything else is a typo.
    if metadata.api_version != "v2" && metadata.api_version != "v1" {
        return Err(invalid(format!(
            "apiVersion {:?} is not a chart API version; use apiVersion: v2",
            metadata.api_version
        )));
    }
    Ok(metadata)
}

fn walk(
    root: &Path,
    dir: &Path,
    rel_dir: &str,
    rules: &IgnoreRules,
    files: &mut Vec<ChartFile>,
    total: &mut u64,
) -> Result<(), PackageError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(PackageError::io(dir))?
        .collect::<Result<_, _>>()
        .map_err(PackageError::io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        let rel = if rel_dir.is_empty() {
            name.clone()
        } else {
            format!("{rel_dir}/{name}")
        };
        let link_meta = std::fs::symlink_metadata(&path).map_err(PackageError::io(&path))?;
        let (is_dir, is_file) = if link_meta.file_type().is_symlink() {
            let target = path.canonicalize().map_err(PackageError::io(&path))?;
            if !target.starts_with(root) {
                return Err(PackageError::SymlinkEscape {
                    path: path.display().to_string(),
                    target: target.display().to_string(),
                });
            }
            let meta = std::fs::metadata(&target).map_err(PackageError::io(&path))?;
            (meta.is_dir(), meta.is_file())
        } else {
            (link_meta.is_dir(), link_meta.is_file())
        };
        if rules.ignore(&rel, is_dir) {
            continue;
        }
        if is_dir {
            if link_meta.file_type().is_symlink() {
                return Err(PackageError::SymlinkDirectory {
                    path: path.display().to_string(),
                });
            }
            walk(root, &path, &rel, rules, files, total)?;
        } else if is_file {
            let size = std::fs::metadata(&path)
                .map_err(PackageError::io(&path))?
                .len();
            if size > MAX_FILE_BYTES {
                return Err(PackageError::TooLarge {
                    path: path.display().to_string(),
                    what: "file".into(),
                    size,
                    limit: MAX_FILE_BYTES,
                });
            }
            *total += size;
            if *total > MAX_CHART_BYTES {
                return Err(PackageError::TooLarge {
                    path: root.display().to_string(),
                    what: "chart".into(),
                    size: *total,
                    limit: MAX_CHART_BYTES,
                });
            }
            let data = std::fs::read(&path).map_err(PackageError::io(&path))?;
            files.push(ChartFile { path: rel, data });
        }
        // Sockets, FIFOs and devices are not chart content; skip them like Helm does.
    }
    Ok(())
}
