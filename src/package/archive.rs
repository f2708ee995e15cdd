//! Chart archives. Writing is reproducible: entries sorted under `<name>/`, fixed mtime,
//! uid/gid 0, mode 0644, no user names, a gzip header without name or time — the same input
//! gives the same bytes. Reading (`inspect_archive`) is defensive: no absolute paths, `..`,
//! links or special files, one top directory named like the chart, bounded sizes.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use signet_render::chart::ChartMetadata;

use super::error::PackageError;
use super::source::{ChartFile, ChartSource, MAX_CHART_BYTES, MAX_FILE_BYTES, metadata_from_bytes};

/// Entry modification time: 1980-01-01T00:00:00Z (the ZIP epoch many reproducible builds use;
/// 0 makes some tools warn).
const FIXED_MTIME: u64 = 315_532_800;

/// The `.tgz` bytes for `source`.
pub fn write_archive(source: &ChartSource) -> Result<Vec<u8>, PackageError> {
    let label = source.dir.display().to_string();
    let tar_err = |e: std::io::Error| PackageError::Archive {
        path: label.clone(),
        message: format!("cannot write archive: {e}"),
    };
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    let mut builder = tar::Builder::new(gz);
    builder.mode(tar::HeaderMode::Deterministic);
    for file in &source.files {
        let mut header = tar::Header::new_ustar();
        header.set_size(file.data.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(FIXED_MTIME);
        header.set_entry_type(tar::EntryType::Regular);
        let path = format!("{}/{}", source.metadata.name, file.path);
        builder
            .append_data(&mut header, &path, file.data.as_slice())
            .map_err(tar_err)?;
    }
    let gz = builder.into_inner().map_err(tar_err)?;
    gz.finish().map_err(tar_err)
}

/// Writes `<name>-<version>.tgz` into `out_dir` atomically and returns its path and bytes.
pub fn write_package(
    source: &ChartSource,
    out_dir: &Path,
) -> Result<(PathBuf, Vec<u8>), PackageError> {
    let bytes = write_archive(source)?;
    std::fs::create_dir_all(out_dir).map_err(PackageError::io(out_dir))?;
    let dest = out_dir.join(format!(
        "{}-{}.tgz",
        source.metadata.name, source.metadata.version
    ));
    let mut tmp = tempfile::Builder::new()
        .prefix(".signet-package-")
        .tempfile_in(out_dir)
        .map_err(PackageError::io(out_dir))?;
    tmp.write_all(&bytes).map_err(PackageError::io(&dest))?;
    tmp.as_file().sync_all().map_err(PackageError::io(&dest))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(PackageError::io(&dest))?;
    }
    tmp.persist(&dest)
        .map_err(|e| PackageError::io(&dest)(e.error))?;
    Ok((dest, bytes))
}

/// What an archive holds, after the safety checks.
#[derive(Debug, Clone)]
pub struct InspectedArchive {
    /// Validated Chart.yaml.
    pub metadata: ChartMetadata,
    /// Number of regular files.
    pub files: usize,
    /// Total uncompressed size of the files.
    pub uncompressed_bytes: u64,
}

/// Checks a chart archive and returns its metadata. `label` names it in errors.
pub fn inspect_archive(bytes: &[u8], label: &str) -> Result<InspectedArchive, PackageError> {
    read_archive(bytes, label, false).map(|(inspected, _)| inspected)
}

/// Reads a chart archive into memory after the same checks as [`inspect_archive`], for tools that
/// work on a chart's files (`signet lint chart.tgz`). Paths are relative to the chart (the top
/// directory removed); `dir` of the result is `label`.
pub fn load_chart_archive(bytes: &[u8], label: &str) -> Result<ChartSource, PackageError> {
    let (inspected, mut files) = read_archive(bytes, label, true)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(ChartSource {
        dir: label.into(),
        metadata: inspected.metadata,
        files,
    })
}

fn read_archive(
    bytes: &[u8],
    label: &str,
    collect: bool,
) -> Result<(InspectedArchive, Vec<ChartFile>), PackageError> {
    let bad = |message: String| PackageError::Archive {
        path: label.to_string(),
        message,
    };
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(bad(
            "not a gzip-compressed tar archive (a chart .tgz)".into()
        ));
    }
    // Bound decompression even if headers lie: read at most the limit plus one tar block.
    let limited = GzDecoder::new(bytes).take(MAX_CHART_BYTES + 1024 * 1024);
    let mut archive = tar::Archive::new(limited);
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a gzip-compressed tar archive: {e}")))?;
    let mut top: Option<String> = None;
    let mut chart_yaml: Option<Vec<u8>> = None;
    let mut files = 0usize;
    let mut total = 0u64;
    let mut collected = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("corrupt archive: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("entry with an unreadable path: {e}")))?
            .to_string_lossy()
            .to_string();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if path.starts_with('/') || path.split('/').any(|c| c == "..") {
            return Err(bad(format!(
                "entry {path:?} escapes the chart directory (absolute or '..' path)"
            )));
        }
        let first = path.split('/').next().unwrap_or("").to_string();
        match &top {
            None => top = Some(first.clone()),
            Some(t) if *t != first => {
                return Err(bad(format!(
                    "entries under more than one top directory ({t:?} and {first:?})"
                )));
            }
            _ => {}
        }
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(bad(format!(
                "entry {path:?} is a link or special file; charts may only hold regular files"
            )));
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > MAX_FILE_BYTES {
            return Err(PackageError::TooLarge {
                path: format!("{label}: {path}"),
                what: "file".into(),
                size,
                limit: MAX_FILE_BYTES,
            });
        }
        total += size;
        if total > MAX_CHART_BYTES {
            return Err(PackageError::TooLarge {
                path: label.to_string(),
                what: "uncompressed chart".into(),
                size: total,
                limit: MAX_CHART_BYTES,
            });
        }
        files += 1;
        let is_chart_yaml = path == format!("{first}/Chart.yaml");
        if is_chart_yaml || collect {
            let mut data = Vec::with_capacity(size as usize);
            entry
                .read_to_end(&mut data)
                .map_err(|e| bad(format!("cannot read {path}: {e}")))?;
            if collect {
                let relative = path[first.len()..].trim_start_matches('/').to_string();
                collected.push(ChartFile {
                    path: relative,
                    data: data.clone(),
                });
            }
            if is_chart_yaml {
                chart_yaml = Some(data);
            }
        }
    }
    let top = top.ok_or_else(|| bad("archive is empty".into()))?;
    let data = chart_yaml.ok_or_else(|| bad(format!("{top}/Chart.yaml is missing")))?;
    let metadata = metadata_from_bytes(&data, &format!("{label}: {top}/Chart.yaml"))?;
    if metadata.name != top {
        return Err(bad(format!(
            "chart name {:?} in Chart.yaml does not match the archive's top directory {top:?}",
            metadata.name
        )));
    }
    Ok((
        InspectedArchive {
            metadata,
            files,
            uncompressed_bytes: total,
        },
        collected,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::source::ChartFile;

    fn source(name: &str, files: &[(&str, &str)]) -> ChartSource {
        let chart_yaml = format!("apiVersion: v2\nname: {name}\nversion: 1.2.3\n");
        let mut all = vec![ChartFile {
            path: "Chart.yaml".into(),
            data: chart_yaml.clone().into_bytes(),
        }];
        for (p, d) in files {
            all.push(ChartFile {
                path: p.to_string(),
                data: d.as_bytes().to_vec(),
            });
        }
        all.sort_by(|a, b| a.path.cmp(&b.path));
        ChartSource {
            dir: PathBuf::from(name),
            metadata: ChartMetadata::from_yaml(chart_yaml.as_bytes()).unwrap(),
            files: all,
        }
    }

    #[test]
    fn archive_round_trips_and_is_reproducible() {
        let s = source(
            "demo",
            &[("values.yaml", "a: 1\n"), ("templates/cm.yaml", "x")],
        );
        let a = write_archive(&s).unwrap();
        let b = write_archive(&s).unwrap();
        assert_eq!(a, b);
        let info = inspect_archive(&a, "demo.tgz").unwrap();
        assert_eq!(info.metadata.name, "demo");
        assert_eq!(info.files, 3);
    }

    fn raw_tgz(entries: &[(&str, &[u8], tar::EntryType)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        let mut b = tar::Builder::new(gz);
        for (path, data, kind) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            // Write the name bytes directly so '..' is not rejected by the builder.
            let name = h.as_old_mut().name.as_mut();
            name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn rejects_dotdot_links_and_mismatches() {
        let chart = b"apiVersion: v2\nname: demo\nversion: 1.0.0\n";
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                raw_tgz(&[
                    ("demo/Chart.yaml", chart, tar::EntryType::Regular),
                    ("demo/../evil", b"x", tar::EntryType::Regular),
                ]),
                "escapes",
            ),
            (
                raw_tgz(&[
                    ("demo/Chart.yaml", chart, tar::EntryType::Regular),
                    ("demo/link", b"", tar::EntryType::Symlink),
                ]),
                "link",
            ),
            (
                raw_tgz(&[("other/Chart.yaml", chart, tar::EntryType::Regular)]),
                "does not match",
            ),
            (
                raw_tgz(&[("demo/values.yaml", b"", tar::EntryType::Regular)]),
                "missing",
            ),
            (b"not gzip".to_vec(), "gzip"),
        ];
        for (bytes, want) in cases {
            let err = inspect_archive(&bytes, "x.tgz").unwrap_err().to_string();
            assert!(err.contains(want), "{err} should mention {want}");
            assert!(err.contains("x.tgz"), "{err}");
        }
    }
}
