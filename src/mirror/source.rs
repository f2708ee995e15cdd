//! The source side: a classic Helm repository over HTTP(S). Connection options follow
//! `helm repo add` (`--username/--password`, `--ca-file`, `--cert-file/--key-file`,
//! `--insecure-skip-tls-verify`, `--pass-credentials`): credentials go only to the repository's
//! own scheme, host and port unless `--pass-credentials` says otherwise, as Helm does, so an
//! index pointing at another host never receives them.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::MirrorError;
use super::index::{MAX_INDEX_BYTES, RepoIndex};

/// Largest `.prov` file accepted (a clearsigned Chart.yaml and one checksum).
pub const MAX_PROVENANCE_BYTES: u64 = 1024 * 1024;

/// How to reach the source repository.
#[derive(Clone, Default)]
pub struct SourceOptions {
    /// Basic auth, like `helm repo add --username/--password`.
    pub username: Option<String>,
    pub password: Option<String>,
    /// Extra PEM CA certificates to trust.
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key (PEM) for mutual TLS.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Accept any server certificate (testing only).
    pub insecure_skip_tls_verify: bool,
    /// Send the credentials to every host the index points at, not only the repository's.
    pub pass_credentials: bool,
}

impl std::fmt::Debug for SourceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceOptions")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file)
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("pass_credentials", &self.pass_credentials)
            .finish()
    }
}

/// A client for one source repository.
#[derive(Debug, Clone)]
pub struct SourceClient {
    http: reqwest::Client,
    /// The repository URL, always ending in `/` so relative chart URLs resolve below it.
    base: Url,
    options: SourceOptions,
}

impl SourceClient {
    /// A client for the repository at `repository` (`https://host/path`; a trailing
    /// `/index.yaml` is accepted and dropped).
    pub fn new(repository: &str, options: SourceOptions) -> Result<Self, MirrorError> {
        let invalid = |reason: &str| MirrorError::InvalidUrl {
            url: repository.to_string(),
            reason: reason.to_string(),
        };
        let mut base = Url::parse(repository).map_err(|e| invalid(&e.to_string()))?;
        if base.scheme() != "http" && base.scheme() != "https" {
            return Err(invalid(
                "a classic chart repository is reached over http:// or https://",
            ));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid(
                "credentials in the URL are not accepted (they would end up in logs); use \
                 --username and --password",
            ));
        }
        let path = base.path().to_string();
        let path = path.strip_suffix("index.yaml").unwrap_or(&path);
        let path = format!("{}/", path.trim_end_matches('/'));
        base.set_path(&path);
        base.set_query(None);
        base.set_fragment(None);
        crate::tls::install_crypto_provider();
        let connect_timeout = Duration::from_secs(15);
        let mut builder = reqwest::Client::builder()
            .danger_accept_invalid_certs(options.insecure_skip_tls_verify)
            .connect_timeout(connect_timeout)
            .read_timeout(Duration::from_secs(120))
            .user_agent(concat!("signet/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &options.ca_file {
            let pem = std::fs::read(path).map_err(|e| MirrorError::Source {
                url: repository.to_string(),
                message: format!("cannot read --ca-file {}: {e}", path.display()),
            })?;
            let roots =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| MirrorError::Source {
                    url: repository.to_string(),
                    message: format!("--ca-file {} is not valid PEM: {e}", path.display()),
                })?;
            builder = builder.tls_certs_merge(roots);
        }
        match (&options.cert_file, &options.key_file) {
            (Some(cert), Some(key)) => {
                let read = |p: &PathBuf, what: &str| {
                    std::fs::read(p).map_err(|e| MirrorError::Source {
                        url: repository.to_string(),
                        message: format!("cannot read {what} {}: {e}", p.display()),
                    })
                };
                let mut pem = read(cert, "--cert-file")?;
                pem.push(b'\n');
                pem.extend(read(key, "--key-file")?);
                let identity =
                    reqwest::Identity::from_pem(&pem).map_err(|e| MirrorError::Source {
                        url: repository.to_string(),
                        message: format!("--cert-file/--key-file: {e}"),
                    })?;
                builder = builder.identity(identity);
            }
            (None, None) => {}
            _ => {
                return Err(invalid(
                    "--cert-file and --key-file go together (a client certificate and its key)",
                ));
            }
        }
        let http = builder.build().map_err(|e| MirrorError::Source {
            url: repository.to_string(),
            message: format!("cannot build the HTTP client: {e}"),
        })?;
        Ok(Self {
            http,
            base,
            options,
        })
    }

    /// The repository URL (ending in `/`).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `<repository>/index.yaml`.
    pub fn index_url(&self) -> Result<Url, MirrorError> {
        self.resolve("index.yaml")
    }

    /// Downloads and parses `index.yaml`.
    pub async fn fetch_index(&self) -> Result<RepoIndex, MirrorError> {
        let url = self.index_url()?;
        let bytes = self
            .get(&url, MAX_INDEX_BYTES)
            .await?
            .ok_or_else(|| MirrorError::Source {
                url: url.to_string(),
                message: "not found (HTTP 404): is this a Helm chart repository?".into(),
            })?;
        RepoIndex::parse(&bytes, url.as_str())
    }

    /// A URL from the index (absolute, or relative to the repository), as Helm resolves it.
    pub fn resolve(&self, reference: &str) -> Result<Url, MirrorError> {
        self.base
            .join(reference)
            .map_err(|e| MirrorError::InvalidUrl {
                url: reference.to_string(),
                reason: e.to_string(),
            })
            .and_then(|url| match url.scheme() {
                "http" | "https" => Ok(url),
                other => Err(MirrorError::InvalidUrl {
                    url: redact(&url),
                    reason: format!("scheme {other}: only http and https chart URLs are fetched"),
                }),
            })
    }

    /// Whether the credentials go to `url`: same scheme, host and port as the repository, or
    /// everywhere with `--pass-credentials`.
    fn sends_credentials_to(&self, url: &Url) -> bool {
        self.options.pass_credentials
            || (url.scheme() == self.base.scheme()
                && url.host_str() == self.base.host_str()
                && url.port_or_known_default() == self.base.port_or_known_default())
    }

    /// GETs `url` into memory, at most `limit` bytes; `None` when the server says 404/410.
    pub async fn get(&self, url: &Url, limit: u64) -> Result<Option<Vec<u8>>, MirrorError> {
        let shown = redact(url);
        let mut request = self.http.get(url.clone());
        let with_credentials = self.sends_credentials_to(url);
        if with_credentials && let Some(user) = &self.options.username {
            request = request.basic_auth(user, self.options.password.as_deref());
        }
        let mut response = request.send().await.map_err(|e| MirrorError::Source {
            url: shown.clone(),
            message: transport_message(&e),
        })?;
        let status = response.status();
        match status.as_u16() {
            200..=299 => {}
            404 | 410 => return Ok(None),
            code @ (401 | 403) => {
                return Err(MirrorError::SourceUnauthorized {
                    url: shown,
                    status: code,
                    sent: match (with_credentials, &self.options.username) {
                        (true, Some(_)) => "sent the --username/--password given",
                        (false, Some(_)) => {
                            "sent no credentials: this host is not the repository's; \
                             --pass-credentials sends them here too"
                        }
                        (_, None) => "sent no credentials",
                    },
                });
            }
            code => {
                return Err(MirrorError::Source {
                    url: shown,
                    message: format!("HTTP {code} {}", status.canonical_reason().unwrap_or("")),
                });
            }
        }
        if let Some(length) = response.content_length()
            && length > limit
        {
            return Err(too_large(&shown, limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| MirrorError::Source {
            url: shown.clone(),
            message: transport_message(&e),
        })? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_large(&shown, limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }
}

fn too_large(url: &str, limit: u64) -> MirrorError {
    MirrorError::Source {
        url: url.to_string(),
        message: format!("larger than the {limit}-byte limit"),
    }
}

/// A URL for messages: without user info (an index may hold `https://user:pass@host/…`).
pub fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// reqwest's error with its causes (the TLS or connection reason is in the chain).
fn transport_message(err: &reqwest::Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> SourceClient {
        SourceClient::new(url, SourceOptions::default()).unwrap()
    }

    #[test]
    fn chart_urls_resolve_like_helm() {
        let c = client("https://charts.example.com/stable");
        assert_eq!(
            c.index_url().unwrap().as_str(),
            "https://charts.example.com/stable/index.yaml"
        );
        assert_eq!(
            c.resolve("app-1.0.0.tgz").unwrap().as_str(),
            "https://charts.example.com/stable/app-1.0.0.tgz"
        );
        assert_eq!(
            c.resolve("/root/app-1.0.0.tgz").unwrap().as_str(),
            "https://charts.example.com/root/app-1.0.0.tgz"
        );
        assert_eq!(
            c.resolve("https://cdn.example.org/a.tgz").unwrap().as_str(),
            "https://cdn.example.org/a.tgz"
        );
        assert!(c.resolve("file:///etc/passwd").is_err());
        let c = client("https://charts.example.com/stable/index.yaml");
        assert_eq!(c.base().as_str(), "https://charts.example.com/stable/");
    }

    #[test]
    fn credentials_stay_with_the_repository_host() {
        let c = client("https://charts.example.com/x/");
        assert!(c.sends_credentials_to(&Url::parse("https://charts.example.com:443/y").unwrap()));
        assert!(!c.sends_credentials_to(&Url::parse("https://cdn.example.com/y").unwrap()));
        assert!(!c.sends_credentials_to(&Url::parse("http://charts.example.com/y").unwrap()));
        assert!(SourceClient::new("https://u:p@h/", SourceOptions::default()).is_err());
        assert!(SourceClient::new("oci://h/x", SourceOptions::default()).is_err());
    }
}
