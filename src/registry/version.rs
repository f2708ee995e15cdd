//! Picking a chart version from a repository's tags: exact versions and SemVer ranges,
//! with Helm's `+` → `_` tag mapping.

use semver::{Version, VersionReq};

use super::error::RegistryError;

/// The tag Helm uses for a chart version: OCI tags cannot contain `+`.
pub fn version_to_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// The chart version a tag stands for (the inverse of [`version_to_tag`]).
pub fn tag_to_version(tag: &str) -> String {
    tag.replace('_', "+")
}

/// A version request: an exact SemVer version or a range in Helm's constraint syntax
/// (`^1.2`, `~1.2.3`, `>=1.0.0 <2.0.0`, `1.2.x`, alternatives joined by `||`).
#[derive(Debug, Clone)]
pub enum VersionRequest {
    Exact(Version),
    Range(Vec<VersionReq>),
}

impl VersionRequest {
    /// Parses `input`; a leading `v` on an exact version is accepted like Helm does.
    pub fn parse(input: &str) -> Result<Self, RegistryError> {
        let trimmed = input.trim();
        if let Ok(v) = Version::parse(trimmed.strip_prefix('v').unwrap_or(trimmed)) {
            return Ok(Self::Exact(v));
        }
        let mut alternatives = Vec::new();
        for alt in trimmed.split("||") {
            // Helm separates AND-ed comparators by spaces or commas; the semver crate by commas.
            let normalised = normalise_comparators(alt);
            let req =
                VersionReq::parse(&normalised).map_err(|e| RegistryError::InvalidVersion {
                    requested: input.to_string(),
                    reason: e.to_string(),
                })?;
            alternatives.push(req);
        }
        Ok(Self::Range(alternatives))
    }

    /// Whether `v` satisfies the request.
    pub fn matches(&self, v: &Version) -> bool {
        match self {
            Self::Exact(e) => e == v,
            Self::Range(alts) => alts.iter().any(|r| r.matches(v)),
        }
    }
}

/// `">= 1.0.0 < 2.0.0"` → `">=1.0.0, <2.0.0"`: operators glued to their versions, comparators
/// separated by commas.
fn normalise_comparators(alt: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut pending_op = String::new();
    for token in alt.split([' ', ',']).filter(|t| !t.is_empty()) {
        if token.chars().all(|c| "<>=~^!".contains(c)) {
            pending_op.push_str(token);
        } else {
            parts.push(format!("{pending_op}{token}"));
            pending_op.clear();
        }
    }
    if parts.is_empty() {
        "*".to_string()
    } else {
        parts.join(", ")
    }
}

/// Picks the highest version among `tags` that satisfies `request`; returns `(version, tag)`.
/// Tags that are not SemVer (e.g. `latest`, cosign's `sha256-….sig`) are ignored.
pub fn select_version(tags: &[String], request: &VersionRequest) -> Option<(Version, String)> {
    tags.iter()
        .filter_map(|tag| {
            Version::parse(&tag_to_version(tag))
                .ok()
                .map(|v| (v, tag.clone()))
        })
        .filter(|(v, _)| request.matches(v))
        .max_by(|a, b| a.0.cmp(&b.0))
}

/// The chart versions among `tags`, lowest first by SemVer precedence, for error messages;
/// `none` when no tag is a version.
pub fn available_versions(tags: &[String]) -> String {
    let mut versions: Vec<Version> = tags
        .iter()
        .filter_map(|tag| Version::parse(&tag_to_version(tag)).ok())
        .collect();
    if versions.is_empty() {
        return "none".into();
    }
    versions.sort();
    versions
        .iter()
        .map(Version::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_versions_are_in_semver_order() {
        assert_eq!(
            available_versions(&tags(&["0.10.0", "latest", "0.9.0", "0.2.0_build.1"])),
            "0.2.0+build.1, 0.9.0, 0.10.0"
        );
        assert_eq!(available_versions(&tags(&["latest"])), "none");
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selects_highest_in_range() {
        let t = tags(&[
            "0.9.0",
            "1.0.0",
            "1.4.2",
            "2.0.0",
            "latest",
            "1.5.0-rc.1",
            "sha256-ab.sig",
        ]);
        let pick = |r: &str| select_version(&t, &VersionRequest::parse(r).unwrap()).map(|p| p.1);
        assert_eq!(pick("^1.0").as_deref(), Some("1.4.2"));
        assert_eq!(pick(">= 1.0.0 < 2.0.0").as_deref(), Some("1.4.2"));
        assert_eq!(pick("1.x").as_deref(), Some("1.4.2"));
        assert_eq!(pick("<1.0.0 || >=2.0.0").as_deref(), Some("2.0.0"));
        assert_eq!(pick("1.0.0").as_deref(), Some("1.0.0"));
        assert_eq!(pick("v2.0.0").as_deref(), Some("2.0.0"));
        assert_eq!(pick("^3"), None);
    }

    #[test]
    fn build_metadata_maps_through_underscore() {
        let t = tags(&["1.0.0_build.7"]);
        let (v, tag) =
            select_version(&t, &VersionRequest::parse("1.0.0+build.7").unwrap()).unwrap();
        assert_eq!(v.to_string(), "1.0.0+build.7");
        assert_eq!(tag, "1.0.0_build.7");
        assert_eq!(version_to_tag("1.0.0+build.7"), "1.0.0_build.7");
    }

    #[test]
    fn bad_range_is_an_error() {
        assert_eq!(
            VersionRequest::parse(">=banana").unwrap_err().reason(),
            "InvalidVersion"
        );
    }
}
