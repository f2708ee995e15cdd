//! `signet template --dependency-update`: what helm's dependency manager does before rendering a
//! chart directory whose `charts/` lacks a dependency of its Chart.yaml — resolve every
//! dependency to a version, fetch each into `charts/NAME-VERSION.tgz`, delete outdated archives,
//! and write Chart.lock when it changed — with helm's messages on stdout.
//!
//! Repositories: `file://` (a chart directory, packaged) and `oci://` (the highest tag matching
//! the constraint, pulled with the registry client), and none (a chart already in `charts/`).
//! HTTP chart repositories (`https://…`, `@name`, `alias:name`) need helm's repository index and
//! its `repositories.yaml`: refused with a message saying so, before anything is written.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

use crate::cli::registry::ChartFetchFlags;
use crate::package::MAX_CHART_BYTES;
use crate::render::chart::dependencies::is_compatible_range;
use crate::render::chart::{Chart, Dependency, LoadLimits, check_dependencies, load_archive};

/// Whether Chart.yaml names a dependency that `charts/` lacks (helm's `CheckDependencies`): only
/// then does helm update.
pub(super) fn missing(chart: &Chart) -> bool {
    check_dependencies(chart).is_err()
}

/// Where a dependency comes from.
enum Source {
    /// Already in `charts/NAME` (no repository): only its version is checked.
    Local,
    /// A chart directory (`file://PATH`, relative to the chart).
    Directory(PathBuf),
    /// `oci://HOST/REPO` + `/NAME:TAG`.
    Oci(crate::registry::OciReference),
}

/// One resolved dependency: the Chart.lock entry and where to fetch it.
struct Locked {
    name: String,
    repository: String,
    version: String,
    source: Source,
}

/// Updates `dir/charts` from `chart`'s dependencies, as `helm template --dependency-update`.
pub(super) async fn update(
    flags: &ChartFetchFlags,
    dir: &Path,
    chart: &Chart,
) -> anyhow::Result<()> {
    if !dir.is_dir() {
        bail!(
            "--dependency-update needs a chart directory: {} is an archive (run `helm dependency update` on its source)",
            dir.display()
        );
    }
    let requested = &chart.metadata.dependencies;
    let client = if requested.iter().any(|d| d.repository.starts_with("oci://")) {
        crate::tls::install_crypto_provider();
        Some(flags.client()?)
    } else {
        None
    };
    let locked = resolve(client.as_ref(), dir, requested).await?;
    let charts = dir.join("charts");
    let mut out = String::new();
    out.push_str(&format!("Saving {} charts\n", locked.len()));
    print_now(&mut out)?;
    let mut fetched: Vec<(String, Vec<u8>)> = Vec::new();
    for dep in &locked {
        match &dep.source {
            Source::Local => {
                out.push_str(&format!(
                    "Dependency {} did not declare a repository. Assuming it exists in the charts directory\n",
                    dep.name
                ));
                print_now(&mut out)?;
                check_local(&charts, dep, requested)?;
            }
            Source::Directory(path) => {
                let source = crate::package::load_chart_dir(path)
                    .with_context(|| format!("dependency {}", dep.name))?;
                let bytes = crate::package::write_archive(&source)?;
                fetched.push((archive_name(&dep.name, &dep.version), bytes));
            }
            Source::Oci(reference) => {
                out.push_str(&format!(
                    "Downloading {} from repo {}\n",
                    dep.name, dep.repository
                ));
                print_now(&mut out)?;
                let client = client
                    .as_ref()
                    .ok_or_else(|| anyhow!("no registry client for {}", dep.repository))?;
                let manifest = client
                    .fetch_chart_manifest(reference)
                    .await
                    .with_context(|| format!("could not download {reference}"))?;
                let bytes = client.pull_chart(&manifest, MAX_CHART_BYTES).await?;
                fetched.push((archive_name(&dep.name, &dep.version), bytes));
            }
        }
    }
    std::fs::create_dir_all(&charts)
        .with_context(|| format!("cannot create {}", charts.display()))?;
    for (file, bytes) in &fetched {
        write_atomically(&charts.join(file), bytes)?;
    }
    out.push_str("Deleting outdated charts\n");
    delete_outdated(&charts, &fetched, requested, &mut out)?;
    print_now(&mut out)?;
    write_lock(dir, chart, requested, &locked)
}

/// helm names the fetched archive after the dependency's chart name and locked version.
fn archive_name(name: &str, version: &str) -> String {
    format!("{name}-{version}.tgz")
}

/// Helm writes these messages to the command's output, before the manifests.
fn print_now(out: &mut String) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")?;
    out.clear();
    Ok(())
}

/// helm's resolver: each dependency's version (the local chart's, or the highest tag matching
/// the constraint), with its words for those that have none.
async fn resolve(
    client: Option<&crate::registry::RegistryClient>,
    dir: &Path,
    requested: &[Dependency],
) -> anyhow::Result<Vec<Locked>> {
    let mut locked = Vec::new();
    let mut unmatched = Vec::new();
    for dep in requested {
        let unmatched_entry = || {
            format!(
                "{:?} (repository {:?}, version {:?})",
                dep.name, dep.repository, dep.version
            )
        };
        let repository = dep.repository.as_str();
        if repository.is_empty() {
            locked.push(Locked {
                name: dep.name.clone(),
                repository: String::new(),
                version: dep.version.clone(),
                source: Source::Local,
            });
        } else if let Some(path) = repository.strip_prefix("file://") {
            let path = dir.join(path);
            let metadata = crate::package::source::read_metadata(&path.join("Chart.yaml"))
                .with_context(|| format!("dependency {}: {repository}", dep.name))?;
            if !is_compatible_range(&dep.version, &metadata.version) {
                unmatched.push(unmatched_entry());
                continue;
            }
            locked.push(Locked {
                name: dep.name.clone(),
                repository: dep.repository.clone(),
                version: metadata.version,
                source: Source::Directory(path),
            });
        } else if repository.starts_with("oci://") {
            let client = client.ok_or_else(|| anyhow!("no registry client for {repository}"))?;
            let chart_ref = format!("{}/{}", repository.trim_end_matches('/'), dep.name);
            let reference = crate::registry::OciReference::parse(&chart_ref)?;
            let tags = client.list_tags(&reference).await.with_context(|| {
                format!("could not retrieve list of tags for repository {repository}")
            })?;
            match highest_match(&tags, &dep.version) {
                Some((version, tag)) => locked.push(Locked {
                    name: dep.name.clone(),
                    repository: dep.repository.clone(),
                    version,
                    source: Source::Oci(reference.with_tag(&tag)),
                }),
                None => unmatched.push(unmatched_entry()),
            }
        } else {
            bail!(
                "dependency {:?}: repository {repository:?} is a Helm chart repository (an index.yaml over HTTP, or a name from helm's repositories.yaml); signet fetches dependencies from file:// and oci:// repositories only — run `helm dependency update {}` first, or move the dependency to an OCI registry",
                dep.name,
                dir.display()
            );
        }
    }
    if !unmatched.is_empty() {
        bail!(
            "can't get a valid version for {} subchart(s): {}. Make sure a matching chart version exists in the repo, or change the version constraint in Chart.yaml",
            unmatched.len(),
            unmatched.join(", ")
        );
    }
    Ok(locked)
}

/// The highest tag that is a version satisfying `constraint` (Masterminds' rules, as helm), as
/// (version, tag): OCI tags spell `+` as `_`.
fn highest_match(tags: &[String], constraint: &str) -> Option<(String, String)> {
    tags.iter()
        .filter_map(|tag| {
            let version = crate::registry::tag_to_version(tag);
            let parsed = semver::Version::parse(&version).ok()?;
            is_compatible_range(constraint, &version).then(|| (parsed, version, tag.clone()))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, version, tag)| (version, tag))
}

/// A dependency without a repository must already be in `charts/NAME` at a matching version.
fn check_local(charts: &Path, dep: &Locked, requested: &[Dependency]) -> anyhow::Result<()> {
    let path = charts.join(&dep.name);
    let metadata = crate::package::source::read_metadata(&path.join("Chart.yaml"))
        .with_context(|| format!("unable to load chart '{}'", path.display()))?;
    let constraint = requested
        .iter()
        .find(|r| r.name == dep.name)
        .map(|r| r.version.as_str())
        .unwrap_or_default();
    if !is_compatible_range(constraint, &metadata.version) {
        bail!(
            "dependency {} at version {} does not satisfy the constraint {constraint}",
            dep.name,
            metadata.version
        );
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".signet-dependency-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    tmp.persist(path)
        .map_err(|e| anyhow!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

/// helm's `safeMoveDeps`: every other file in `charts/` that is a chart archive goes, unless it
/// is a dependency without a repository; a file that is not a chart is reported and kept.
fn delete_outdated(
    charts: &Path,
    fetched: &[(String, Vec<u8>)],
    requested: &[Dependency],
    out: &mut String,
) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(charts).with_context(|| format!("cannot read {}", charts.display()))?;
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.path().is_dir() || fetched.iter().any(|(f, _)| *f == name) {
            continue;
        }
        let path = entry.path();
        let loaded = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                load_archive(&bytes, &LoadLimits::default()).map_err(|e| e.to_string())
            });
        match loaded {
            Err(e) => out.push_str(&format!(
                "Could not verify {} for deletion: {e} (Skipping)\n",
                path.display()
            )),
            Ok(chart) => {
                let local = requested
                    .iter()
                    .any(|r| r.repository.is_empty() && r.name == chart.name());
                if !local {
                    std::fs::remove_file(&path)
                        .with_context(|| format!("cannot delete {}", path.display()))?;
                }
            }
        }
    }
    Ok(())
}

/// Chart.lock (requirements.lock for `apiVersion: v1`), written when its digest changed. The
/// digest is helm's: SHA-256 of the Go JSON of `[requested, locked]`.
fn write_lock(
    dir: &Path,
    chart: &Chart,
    requested: &[Dependency],
    locked: &[Locked],
) -> anyhow::Result<()> {
    let lock_entries: Vec<Dependency> = locked
        .iter()
        .map(|l| Dependency {
            name: l.name.clone(),
            version: l.version.clone(),
            repository: l.repository.clone(),
            ..Dependency::default()
        })
        .collect();
    let digest = lock_digest(requested, &lock_entries)?;
    let old_digest = chart.lock.as_deref().and_then(|bytes| {
        String::from_utf8_lossy(bytes).lines().find_map(|line| {
            line.strip_prefix("digest:")
                .map(|d| d.trim().trim_matches('"').to_string())
        })
    });
    if old_digest.as_deref() == Some(digest.as_str()) {
        return Ok(());
    }
    let mut yaml = String::from("dependencies:\n");
    for dep in &lock_entries {
        yaml.push_str(&format!("- name: {}\n", yaml_scalar(&dep.name)));
        yaml.push_str(&format!("  repository: {}\n", yaml_scalar(&dep.repository)));
        yaml.push_str(&format!("  version: {}\n", yaml_scalar(&dep.version)));
    }
    let generated = go_rfc3339_nano(chrono::Utc::now());
    yaml.push_str(&format!("digest: {digest}\ngenerated: \"{generated}\"\n"));
    let name = if chart.metadata.api_version == "v1" {
        "requirements.lock"
    } else {
        "Chart.lock"
    };
    write_atomically(&dir.join(name), yaml.as_bytes())
}

/// Go's `time.RFC3339Nano` of a UTC time: the fraction without trailing zeros.
fn go_rfc3339_nano(t: chrono::DateTime<chrono::Utc>) -> String {
    let full = t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    match full.strip_suffix('Z').and_then(|s| s.split_once('.')) {
        Some((seconds, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                format!("{seconds}Z")
            } else {
                format!("{seconds}.{fraction}Z")
            }
        }
        None => full,
    }
}

/// `"sha256:" + hex(SHA-256(json.Marshal([2][]*chart.Dependency{requested, locked})))`; Go's
/// encoder escapes `<`, `>`, `&`, U+2028 and U+2029, which serde_json leaves as they are.
fn lock_digest(requested: &[Dependency], locked: &[Dependency]) -> anyhow::Result<String> {
    use sha2::Digest;
    let json = serde_json::to_string(&(requested, locked)).context("cannot encode Chart.lock")?;
    let json = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    Ok(format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(json))
    ))
}

/// A YAML scalar as Go's YAML encoder writes a string: plain when that reads back as the same
/// string, else double-quoted JSON.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:+~".contains(c))
        && !s.starts_with(['-', ':', '.'])
        && s.parse::<f64>().is_err()
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_digest_is_helms() {
        // What helm 4 wrote into Chart.lock for this Chart.yaml and resolution.
        let requested = vec![Dependency {
            name: "child".into(),
            version: ">=0.1.0".into(),
            repository: "file://../child".into(),
            ..Dependency::default()
        }];
        let locked = vec![Dependency {
            name: "child".into(),
            version: "0.2.0".into(),
            repository: "file://../child".into(),
            ..Dependency::default()
        }];
        assert_eq!(
            lock_digest(&requested, &locked).unwrap(),
            "sha256:076e645cb650923735d7482790b5752c8d7525f030807a0016f1413e807d90cf"
        );
    }

    #[test]
    fn the_highest_matching_tag_wins() {
        let tags: Vec<String> = [
            "0.1.0",
            "0.2.0",
            "1.0.0",
            "0.3.0-rc.1",
            "latest",
            "0.2.1_build.5",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            highest_match(&tags, "^0.2"),
            Some(("0.2.1+build.5".to_string(), "0.2.1_build.5".to_string()))
        );
        assert_eq!(
            highest_match(&tags, ">=0.1.0").map(|m| m.0),
            Some("1.0.0".into())
        );
        assert_eq!(highest_match(&tags, ">=2"), None);
    }

    #[test]
    fn lock_scalars_are_quoted_only_when_needed() {
        assert_eq!(yaml_scalar("0.2.0"), "0.2.0");
        assert_eq!(yaml_scalar("file://../child"), "file://../child");
        assert_eq!(yaml_scalar(""), "\"\"");
        assert_eq!(yaml_scalar("1.5"), "\"1.5\"");
        assert_eq!(yaml_scalar("true"), "\"true\"");
    }
}
