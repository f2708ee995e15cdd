//! `oci://HOST[:PORT]/REPO[:TAG][@sha256:HEX]` references: parsing with field-level errors,
//! and conversion to the oci-client reference type.

use std::fmt;

use super::error::RegistryError;

/// A parsed OCI reference. `tag` and `digest` are both optional; with both, the digest wins
/// when content is addressed (the tag is informational, as with `docker pull name:tag@digest`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OciReference {
    /// Registry host with optional port, e.g. `127.0.0.1:5000` or `ghcr.io`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `charts/hello`.
    pub repository: String,
    /// Tag, e.g. `1.2.3` or `1.2.3_build.1` (Helm maps `+` to `_`).
    pub tag: Option<String>,
    /// Content digest, `sha256:` + 64 lowercase hex characters.
    pub digest: Option<String>,
}

impl OciReference {
    /// Parses `oci://HOST/REPO[:TAG][@DIGEST]`. The `oci://` scheme is required so that a
    /// reference is never mistaken for a local path.
    pub fn parse(input: &str) -> Result<Self, RegistryError> {
        let invalid = |reason: &str| RegistryError::InvalidReference {
            reference: input.to_string(),
            reason: reason.to_string(),
        };
        let rest = input
            .strip_prefix("oci://")
            .ok_or_else(|| invalid("must start with oci://"))?;
        Self::parse_without_scheme(rest).map_err(|reason| invalid(&reason))
    }

    /// Parses `HOST/REPO[:TAG][@DIGEST]` (no scheme), as found in cosign-style references.
    pub fn parse_without_scheme(rest: &str) -> Result<Self, String> {
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| "missing repository after the registry host".to_string())?;
        validate_registry(registry)?;
        let (path, digest) = match path.split_once('@') {
            Some((p, d)) => {
                validate_digest(d)?;
                (p, Some(d.to_string()))
            }
            None => (path, None),
        };
        let last_slash = path.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (repository, tag) = match path[last_slash..].find(':') {
            Some(i) => {
                let split = last_slash + i;
                (&path[..split], Some(path[split + 1..].to_string()))
            }
            None => (path, None),
        };
        validate_repository(repository)?;
        if let Some(tag) = &tag {
            validate_tag(tag)?;
        }
        Ok(Self {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// The same repository with `tag` and no digest.
    pub fn with_tag(&self, tag: &str) -> Self {
        Self {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// The same repository addressed by `digest` (the tag is kept for display).
    pub fn with_digest(&self, digest: &str) -> Self {
        Self {
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }

    /// A sub-repository, e.g. `oci://host/charts` + `hello` → `oci://host/charts/hello`.
    pub fn join(&self, name: &str) -> Result<Self, RegistryError> {
        let repository = format!("{}/{}", self.repository, name);
        validate_repository(&repository).map_err(|reason| RegistryError::InvalidReference {
            reference: format!("oci://{}/{}", self.registry, repository),
            reason,
        })?;
        Ok(Self {
            registry: self.registry.clone(),
            repository,
            tag: None,
            digest: None,
        })
    }

    /// The last path element of the repository, which Helm uses as the chart name.
    pub fn name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }

    /// `HOST/REPO` without tag or digest.
    pub fn repository_url(&self) -> String {
        format!("oci://{}/{}", self.registry, self.repository)
    }

    /// What a request addresses: the digest when known, otherwise the tag (or `latest`).
    pub(crate) fn to_client_reference(&self) -> oci_client::Reference {
        match (&self.digest, &self.tag) {
            (Some(d), _) => oci_client::Reference::with_digest(
                self.registry.clone(),
                self.repository.clone(),
                d.clone(),
            ),
            (None, Some(t)) => oci_client::Reference::with_tag(
                self.registry.clone(),
                self.repository.clone(),
                t.clone(),
            ),
            (None, None) => oci_client::Reference::with_tag(
                self.registry.clone(),
                self.repository.clone(),
                "latest".to_string(),
            ),
        }
    }
}

impl fmt::Display for OciReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oci://{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for OciReference {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn validate_registry(registry: &str) -> Result<(), String> {
    if registry.is_empty() {
        return Err("empty registry host".into());
    }
    let (host, port) = match registry.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => (h, Some(p)),
        _ => (registry, None),
    };
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!("registry port {port:?} is not a number 0-65535"));
    }
    let ok = host.starts_with('[') && host.ends_with(']')
        || (!host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
    if !ok {
        return Err(format!("registry host {host:?} has invalid characters"));
    }
    Ok(())
}

/// Distribution's grammar: lowercase components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` joined by `/`.
fn validate_repository(repository: &str) -> Result<(), String> {
    if repository.is_empty() {
        return Err("empty repository".into());
    }
    if repository.len() > 255 {
        return Err("repository longer than 255 characters".into());
    }
    for component in repository.split('/') {
        let valid = !component.is_empty()
            && component
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && component
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && component
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        if !valid {
            return Err(format!(
                "repository component {component:?} must be lowercase letters, digits and \
                 separators (. _ -), starting and ending with a letter or digit"
            ));
        }
    }
    Ok(())
}

fn validate_tag(tag: &str) -> Result<(), String> {
    let valid = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "tag {tag:?} must be 1-128 characters of letters, digits, '.', '_' or '-' (Helm maps \
             '+' in versions to '_')"
        ))
    }
}

/// Accepts `sha256:` + 64 lowercase hex (the only algorithm Helm and cosign write).
pub fn validate_digest(digest: &str) -> Result<(), String> {
    match digest.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "digest {digest:?} must be sha256: followed by 64 lowercase hex characters"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_host_port_repo_tag_digest() {
        let r =
            OciReference::parse(&format!("oci://127.0.0.1:5000/charts/hello:1.0.0_b@{D}")).unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "charts/hello");
        assert_eq!(r.tag.as_deref(), Some("1.0.0_b"));
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.name(), "hello");
        assert_eq!(
            r.to_string(),
            format!("oci://127.0.0.1:5000/charts/hello:1.0.0_b@{D}")
        );
    }

    #[test]
    fn port_is_not_a_tag() {
        let r = OciReference::parse("oci://localhost:5000/hello").unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.tag, None);
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "localhost/hello",
            "oci://localhost",
            "oci://localhost:99999/a",
            "oci://localhost/Hello",
            "oci://localhost/a//b",
            "oci://localhost/a:1.0+x",
            "oci://localhost/a@sha256:abc",
            "oci://local host/a",
        ] {
            let err = OciReference::parse(bad).unwrap_err();
            assert_eq!(err.reason(), "InvalidReference", "{bad}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn join_appends_a_component() {
        let r = OciReference::parse("oci://h:1/charts").unwrap();
        assert_eq!(r.join("hello").unwrap().repository, "charts/hello");
        assert!(r.join("Bad").is_err());
    }
}
