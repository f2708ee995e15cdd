//! Registry credentials: the docker config file (`$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json`, including `credHelpers`/`credsStore` helpers), an in-memory docker
//! config (a Kubernetes `kubernetes.io/dockerconfigjson` Secret), or an explicit user/password.
//! Also `login`/`logout`, which edit the config file the way `docker login`/`helm registry login`
//! do. Secrets never reach `Debug` output or error messages.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use oci_client::secrets::RegistryAuth;

use super::error::RegistryError;

/// Where credentials come from.
#[derive(Clone, Default)]
pub enum Credentials {
    /// No credentials: anonymous access.
    Anonymous,
    /// The user's docker config file (`$DOCKER_CONFIG` or `~/.docker/config.json`); a missing
    /// file or entry means anonymous. This is the default, like Helm, oras and cosign.
    #[default]
    DockerConfig,
    /// A docker config file at an explicit path.
    DockerConfigFile(PathBuf),
    /// docker config JSON held in memory (e.g. the `.dockerconfigjson` key of a Secret).
    DockerConfigJson(Vec<u8>),
    /// Explicit username and password.
    Basic { username: String, password: String },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => write!(f, "Anonymous"),
            Self::DockerConfig => write!(f, "DockerConfig"),
            Self::DockerConfigFile(p) => write!(f, "DockerConfigFile({})", p.display()),
            Self::DockerConfigJson(_) => write!(f, "DockerConfigJson(<redacted>)"),
            Self::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
        }
    }
}

impl Credentials {
    /// Resolves the credentials to use for `registry` (`host[:port]`).
    pub fn resolve(&self, registry: &str) -> Result<RegistryAuth, RegistryError> {
        match self {
            Self::Anonymous => Ok(RegistryAuth::Anonymous),
            Self::Basic { username, password } => {
                Ok(RegistryAuth::Basic(username.clone(), password.clone()))
            }
            // Docker's config first, then Helm's registry config (`helm registry login` writes
            // there), as Helm itself reads them.
            Self::DockerConfig => {
                for path in [docker_config_path(), helm_registry_config_path()]
                    .into_iter()
                    .flatten()
                {
                    match from_config_file(&path, registry)? {
                        RegistryAuth::Anonymous => continue,
                        found => return Ok(found),
                    }
                }
                Ok(RegistryAuth::Anonymous)
            }
            Self::DockerConfigFile(path) => from_config_file(path, registry),
            Self::DockerConfigJson(bytes) => from_config_bytes(bytes, registry),
        }
    }
}

impl Credentials {
    /// Which credentials [`Credentials::resolve`] sends to `registry`, for error messages: the
    /// user name and where it came from, or why there are none. Never the password or token.
    pub fn describe(&self, registry: &str) -> String {
        let from = |auth: Result<RegistryAuth, RegistryError>, source: &str| match auth {
            Ok(RegistryAuth::Basic(user, _)) => {
                Some(format!("the password of user {user:?} from {source}"))
            }
            Ok(RegistryAuth::Bearer(_)) => Some(format!("an identity token from {source}")),
            _ => None,
        };
        match self {
            Self::Anonymous => "no credentials (anonymous access was asked for)".into(),
            Self::Basic { username, .. } => {
                format!("the password of user {username:?} given on the command line")
            }
            Self::DockerConfigJson(bytes) => {
                from(from_config_bytes(bytes, registry), "the registry Secret").unwrap_or_else(
                    || format!("no credentials (the registry Secret has none for {registry})"),
                )
            }
            Self::DockerConfigFile(path) => from(
                from_config_file(path, registry),
                &path.display().to_string(),
            )
            .unwrap_or_else(|| {
                format!(
                    "no credentials ({} has none for {registry})",
                    path.display()
                )
            }),
            Self::DockerConfig => {
                let paths: Vec<PathBuf> = [docker_config_path(), helm_registry_config_path()]
                    .into_iter()
                    .flatten()
                    .collect();
                paths
                    .iter()
                    .find_map(|p| from(from_config_file(p, registry), &p.display().to_string()))
                    .unwrap_or_else(|| {
                        let searched: Vec<String> =
                            paths.iter().map(|p| p.display().to_string()).collect();
                        format!(
                            "no credentials (none stored for {registry} in {})",
                            searched.join(" or ")
                        )
                    })
            }
        }
    }
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")))
        .map(|dir| dir.join("config.json"))
}

/// Helm's registry config: `$HELM_REGISTRY_CONFIG`, else `$XDG_CONFIG_HOME/helm/registry/config.json`
/// (`~/.config/helm/registry/config.json`), a docker-config-format file.
pub fn helm_registry_config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HELM_REGISTRY_CONFIG") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
        .map(|dir| dir.join("helm").join("registry").join("config.json"))
}

fn from_config_file(path: &Path, registry: &str) -> Result<RegistryAuth, RegistryError> {
    match std::fs::read(path) {
        Ok(bytes) => from_config_bytes(&bytes, registry),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RegistryAuth::Anonymous),
        Err(source) => Err(RegistryError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn from_config_bytes(bytes: &[u8], registry: &str) -> Result<RegistryAuth, RegistryError> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    // docker writes Docker Hub under its legacy URL; other registries under the bare host, but
    // some tools write `https://host` — try the common spellings in order.
    let mut keys = vec![registry.to_string(), format!("https://{registry}")];
    if registry == "docker.io" || registry == "index.docker.io" {
        keys.insert(0, "https://index.docker.io/v1/".to_string());
    }
    for key in &keys {
        match docker_credential::get_credential_from_reader(bytes, key) {
            Ok(DockerCredential::UsernamePassword(u, p)) => return Ok(RegistryAuth::Basic(u, p)),
            Ok(DockerCredential::IdentityToken(t)) => return Ok(RegistryAuth::Bearer(t)),
            Err(E::NoCredentialConfigured) => continue,
            Err(
                e @ (E::HelperFailure { .. }
                | E::HelperCommunicationError
                | E::MalformedHelperResponse),
            ) => {
                // The helper's stdout/stderr may echo secrets; only its name and the kind of
                // failure are reported.
                let kind = match e {
                    E::HelperFailure { .. } => "exited with an error",
                    E::MalformedHelperResponse => "answered malformed JSON",
                    _ => "could not be run",
                };
                let helper = helper_name(bytes, key).unwrap_or_else(|| "?".into());
                return Err(RegistryError::Credentials {
                    registry: registry.to_string(),
                    reason: format!("credential helper docker-credential-{helper} failed ({kind})"),
                });
            }
            Err(other) => {
                return Err(RegistryError::Credentials {
                    registry: registry.to_string(),
                    reason: other.to_string(),
                });
            }
        }
    }
    Ok(RegistryAuth::Anonymous)
}

/// The helper docker would ask for `key`: `credHelpers[key]`, else `credsStore`.
fn helper_name(config: &[u8], key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(config).ok()?;
    v.get("credHelpers")
        .and_then(|h| h.get(key))
        .or_else(|| v.get("credsStore"))
        .and_then(|h| h.as_str())
        .map(str::to_string)
}

/// Stores `username`/`password` for `registry` in the docker config file at `path` (created if
/// missing, other entries preserved), written atomically with mode 0600.
pub fn login(
    path: &Path,
    registry: &str,
    username: &str,
    password: &str,
) -> Result<(), RegistryError> {
    let mut config = read_config_json(path)?;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let auths = config
        .as_object_mut()
        .ok_or_else(|| not_an_object(path))?
        .entry("auths")
        .or_insert_with(|| serde_json::json!({}));
    let auths = auths.as_object_mut().ok_or_else(|| not_an_object(path))?;
    auths.insert(registry.to_string(), serde_json::json!({ "auth": auth }));
    write_config_json(path, &config)
}

/// Removes the entry for `registry`; returns whether one existed.
pub fn logout(path: &Path, registry: &str) -> Result<bool, RegistryError> {
    let mut config = read_config_json(path)?;
    let removed = config
        .get_mut("auths")
        .and_then(|a| a.as_object_mut())
        .map(|auths| auths.remove(registry).is_some())
        .unwrap_or(false);
    if removed {
        write_config_json(path, &config)?;
    }
    Ok(removed)
}

fn not_an_object(path: &Path) -> RegistryError {
    RegistryError::Credentials {
        registry: path.display().to_string(),
        reason: "docker config is not a JSON object with an \"auths\" object".into(),
    }
}

fn read_config_json(path: &Path) -> Result<serde_json::Value, RegistryError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RegistryError::Credentials {
            registry: path.display().to_string(),
            reason: format!("docker config is not valid JSON: {e}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(serde_json::json!({})),
        Err(source) => Err(RegistryError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn write_config_json(path: &Path, config: &serde_json::Value) -> Result<(), RegistryError> {
    let io = |source| RegistryError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut bytes = serde_json::to_vec_pretty(config).map_err(|e| io(std::io::Error::other(e)))?;
    bytes.push(b'\n');
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::io::Write::write_all(&mut tmp, &bytes).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_then_resolve_then_logout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"other:1":{"auth":"eDp5"}},"credHelpers":{}}"#,
        )
        .unwrap();
        login(&path, "127.0.0.1:5000", "alice", "s3cr:et").unwrap();
        let creds = Credentials::DockerConfigFile(path.clone());
        match creds.resolve("127.0.0.1:5000").unwrap() {
            RegistryAuth::Basic(u, p) => assert_eq!((u.as_str(), p.as_str()), ("alice", "s3cr:et")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            creds.resolve("nowhere:1").unwrap(),
            RegistryAuth::Anonymous
        ));
        assert!(logout(&path, "127.0.0.1:5000").unwrap());
        assert!(!logout(&path, "127.0.0.1:5000").unwrap());
        assert!(matches!(
            creds.resolve("127.0.0.1:5000").unwrap(),
            RegistryAuth::Anonymous
        ));
        // The other entry survived both edits.
        assert!(matches!(
            creds.resolve("other:1").unwrap(),
            RegistryAuth::Basic(..)
        ));
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn malformed_config_is_a_clear_error() {
        let err = Credentials::DockerConfigJson(b"{not json".to_vec())
            .resolve("h:1")
            .unwrap_err();
        assert_eq!(err.reason(), "CredentialsError");
    }
}
