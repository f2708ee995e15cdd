//! A classic Helm repository's `index.yaml` (`apiVersion: v1`, `entries: {name: [versions]}`)
//! and the choice of which chart versions to mirror.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::MirrorError;
use crate::registry::VersionRequest;

/// Largest `index.yaml` accepted (large public repositories serve 20–30 MB).
pub const MAX_INDEX_BYTES: u64 = 256 * 1024 * 1024;

/// One chart version as the index lists it. Only the fields mirroring needs are read; the
/// rest of the Chart.yaml copy in the index is ignored (the archive's own Chart.yaml is what
/// gets pushed).
#[derive(Debug, Clone, Deserialize)]
pub struct IndexEntry {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    /// Where the archive is: absolute, or relative to the repository URL.
    #[serde(default)]
    pub urls: Vec<String>,
    /// Hex SHA-256 of the archive (`helm repo index` writes it; old indexes may lack it).
    #[serde(default)]
    pub digest: String,
    /// RFC 3339 time `helm repo index` recorded (the archive's modification time).
    #[serde(default)]
    pub created: String,
}

/// A parsed `index.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoIndex {
    #[serde(default)]
    pub api_version: String,
    /// Chart name → versions.
    #[serde(default)]
    pub entries: BTreeMap<String, Vec<IndexEntry>>,
}

impl RepoIndex {
    /// Parses `bytes` (YAML, or JSON) fetched from `url`; `url` names it in errors.
    pub fn parse(bytes: &[u8], url: &str) -> Result<Self, MirrorError> {
        let invalid = |reason: String| MirrorError::Index {
            url: url.to_string(),
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| invalid(format!("not UTF-8: {e}")))?;
        // The default budget suits configuration files; an index of a large repository has
        // millions of nodes. The byte size is already bounded by MAX_INDEX_BYTES.
        let mut budget = serde_saphyr::Budget::default();
        budget.max_events = 100_000_000;
        budget.max_nodes = 50_000_000;
        budget.max_total_scalar_bytes = MAX_INDEX_BYTES as usize;
        let mut options = serde_saphyr::Options::default();
        options.budget = Some(budget);
        let mut index: RepoIndex = serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| invalid(e.to_string()))?;
        if index.api_version.is_empty() {
            return Err(invalid(
                "no apiVersion (a Helm index has apiVersion: v1)".into(),
            ));
        }
        if index.api_version != "v1" {
            return Err(invalid(format!(
                "apiVersion is {:?}, expected v1",
                index.api_version
            )));
        }
        // An entry's name defaults to its key (helm fills it in the same way when loading).
        for (name, versions) in &mut index.entries {
            for entry in versions {
                if entry.name.is_empty() {
                    entry.name = name.clone();
                }
            }
        }
        Ok(index)
    }
}

/// Which versions to mirror: `--chart` names (all charts when empty) and `--version`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub charts: Vec<String>,
    /// A version or SemVer range in Helm's syntax; `None` takes every version, pre-releases
    /// included ("every existing version moved").
    pub version: Option<VersionRequest>,
}

/// What a selection picked, and what it left out and why.
#[derive(Debug, Clone, Default)]
pub struct Selected {
    pub entries: Vec<IndexEntry>,
    /// `(chart, version, why)` of entries that match the chart filter but cannot be mirrored
    /// (no URL, a version that is not SemVer with --version given…).
    pub ignored: Vec<(String, String, String)>,
}

impl Selection {
    /// The entries of `index` to mirror, sorted by chart then version; an unknown `--chart` is
    /// an error naming the charts the index has.
    pub fn select(&self, index: &RepoIndex) -> Result<Selected, MirrorError> {
        for chart in &self.charts {
            if !index.entries.contains_key(chart) {
                let known: Vec<&str> = index.entries.keys().map(String::as_str).collect();
                return Err(MirrorError::NothingSelected(format!(
                    "the repository has no chart {chart:?} (it has: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
        let wanted: BTreeSet<&str> = self.charts.iter().map(String::as_str).collect();
        let mut out = Selected::default();
        let mut seen = BTreeSet::new();
        for (name, versions) in &index.entries {
            if !wanted.is_empty() && !wanted.contains(name.as_str()) {
                continue;
            }
            for entry in versions {
                let parsed = parse_version(&entry.version);
                if let Some(request) = &self.version {
                    match &parsed {
                        Some(v) if request.matches(v) => {}
                        Some(_) => continue,
                        None => {
                            out.ignored.push((
                                name.clone(),
                                entry.version.clone(),
                                "the version is not SemVer, so no --version range matches it"
                                    .into(),
                            ));
                            continue;
                        }
                    }
                }
                if entry.urls.is_empty() {
                    out.ignored.push((
                        name.clone(),
                        entry.version.clone(),
                        "the index lists no URL for it".into(),
                    ));
                    continue;
                }
                if entry.version.is_empty() {
                    out.ignored.push((
                        name.clone(),
                        String::new(),
                        "the index entry has no version".into(),
                    ));
                    continue;
                }
                // A repeated entry (same chart and version) is mirrored once.
                if seen.insert((name.clone(), entry.version.clone())) {
                    out.entries.push(entry.clone());
                }
            }
        }
        out.entries.sort_by(|a, b| {
            a.name.cmp(&b.name).then_with(|| {
                match (parse_version(&a.version), parse_version(&b.version)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    _ => a.version.cmp(&b.version),
                }
            })
        });
        if out.entries.is_empty() {
            let what = match &self.version {
                Some(_) => "no version of the selected charts matches --version",
                None => "the index lists no chart versions",
            };
            return Err(MirrorError::NothingSelected(what.to_string()));
        }
        Ok(out)
    }
}

/// A chart version as SemVer, with Helm's tolerance for a leading `v`.
fn parse_version(version: &str) -> Option<semver::Version> {
    semver::Version::parse(version.strip_prefix('v').unwrap_or(version)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"apiVersion: v1
entries:
  alpha:
  - apiVersion: v2
    created: "2024-01-02T03:04:05.123456789Z"
    digest: 3b9c2f0a0d1e
    name: alpha
    urls:
    - alpha-1.10.0.tgz
    version: 1.10.0
  - name: alpha
    version: 1.2.0
    digest: "1234"
    urls: [https://other.example/alpha-1.2.0.tgz]
  - name: alpha
    version: 2.0.0-rc.1
    urls: [alpha-2.0.0-rc.1.tgz]
  beta:
  - version: "0.1"
    urls: [beta-0.1.tgz]
  - version: 0.2.0
    urls: []
generated: "2024-01-02T03:04:05Z"
"#;

    fn versions(selected: &Selected) -> Vec<String> {
        selected
            .entries
            .iter()
            .map(|e| format!("{}-{}", e.name, e.version))
            .collect()
    }

    #[test]
    fn parses_helm_index_and_selects() {
        let index = RepoIndex::parse(INDEX.as_bytes(), "http://x/index.yaml").unwrap();
        assert_eq!(index.entries["alpha"][1].digest, "1234");
        assert_eq!(
            index.entries["beta"][0].name, "beta",
            "name defaults to the key"
        );
        assert_eq!(index.entries["beta"][0].version, "0.1", "kept as written");
        let all = Selection::default().select(&index).unwrap();
        assert_eq!(
            versions(&all),
            [
                "alpha-1.2.0",
                "alpha-1.10.0",
                "alpha-2.0.0-rc.1",
                "beta-0.1"
            ]
        );
        assert_eq!(all.ignored.len(), 1, "{:?}", all.ignored);
        let ranged = Selection {
            charts: vec!["alpha".into()],
            version: Some(VersionRequest::parse(">=1.5.0 <3").unwrap()),
        }
        .select(&index)
        .unwrap();
        assert_eq!(versions(&ranged), ["alpha-1.10.0"]);
        let unknown = Selection {
            charts: vec!["gamma".into()],
            version: None,
        }
        .select(&index)
        .unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "nothing to mirror: the repository has no chart \"gamma\" (it has: alpha, beta)"
        );
    }

    #[test]
    fn refuses_what_is_not_an_index() {
        let err = RepoIndex::parse(b"<html>nope</html>", "http://x/index.yaml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("http://x/index.yaml: not a Helm repository index")
        );
        let err = RepoIndex::parse(b"apiVersion: v2\nentries: {}\n", "u").unwrap_err();
        assert!(err.to_string().contains("apiVersion is \"v2\""), "{err}");
    }
}
