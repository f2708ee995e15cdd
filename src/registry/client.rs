//! [`RegistryClient`]: the async OCI distribution client every other module uses — resolve,
//! list tags, fetch and push manifests and blobs (size-bounded, digest-checked), and the
//! referrers API with its tag-schema fallback. Transport and the token/basic auth dance are
//! oci-client's; limits, digest checks, error classification and credentials are ours.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use tokio::io::AsyncWrite;

use super::auth::Credentials;
use super::error::RegistryError;
use super::manifest::{
    ACCEPTED_MANIFEST_TYPES, Descriptor, FetchedManifest, ImageIndex, manifest_media_type,
    sha256_digest,
};
use super::reference::OciReference;
use super::version::{VersionRequest, available_versions, select_version};

/// Manifests bigger than this are refused (containerd uses the same bound).
pub const DEFAULT_MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// Blobs bigger than this are refused unless the caller asks for more.
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 100 * 1024 * 1024;

/// Called with the number of bytes transferred so far.
pub type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

/// How to reach a registry. Flag names mirror Helm's.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Talk plain HTTP instead of HTTPS (`--plain-http`).
    pub plain_http: bool,
    /// PEM file with extra CA certificates to trust (`--ca-file`).
    pub ca_file: Option<PathBuf>,
    /// PEM CA certificates held in memory (e.g. from a Kubernetes Secret).
    pub ca_pem: Option<Vec<u8>>,
    /// Accept any server certificate (`--insecure-skip-tls-verify`). For tests only.
    pub insecure_skip_tls_verify: bool,
    /// Where credentials come from; the docker config by default.
    pub credentials: Credentials,
    /// Per-request timeout for connecting; `None` means 15 s.
    pub connect_timeout: Option<Duration>,
    /// Largest manifest accepted; `None` means [`DEFAULT_MAX_MANIFEST_BYTES`].
    pub max_manifest_bytes: Option<u64>,
}

/// The result of a referrers query.
#[derive(Debug, Clone)]
pub struct Referrers {
    /// Whether the registry implements `GET /v2/<repo>/referrers/<digest>`; when it does not,
    /// the answer came from the `sha256-<hex>` tag schema.
    pub api_supported: bool,
    /// Descriptors of the manifests whose `subject` is the queried digest.
    pub manifests: Vec<Descriptor>,
}

/// An async client for one set of options (and therefore one set of credentials).
#[derive(Clone)]
pub struct RegistryClient {
    oci: oci_client::Client,
    http: reqwest::Client,
    options: RegistryOptions,
    /// Registries that refused an anonymous `HEAD` (they hand out tokens even to anonymous
    /// pullers, as ghcr.io and Docker Hub do): their resolves go straight through oci-client,
    /// whose token cache makes them one request, instead of a refused HEAD first every time.
    token_registries: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("options", &self.options)
            .finish()
    }
}

impl RegistryClient {
    /// Builds a client; fails only on unusable TLS options (unreadable or invalid CA file).
    pub fn new(options: RegistryOptions) -> Result<Self, RegistryError> {
        let mut pem = options.ca_pem.clone().unwrap_or_default();
        if let Some(path) = &options.ca_file {
            let bytes = std::fs::read(path).map_err(|e| {
                RegistryError::TlsConfig(format!("cannot read --ca-file {}: {e}", path.display()))
            })?;
            pem.extend_from_slice(b"\n");
            pem.extend_from_slice(&bytes);
        }
        let roots = if pem.iter().all(u8::is_ascii_whitespace) {
            Vec::new()
        } else {
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                RegistryError::TlsConfig(format!("CA certificates are not valid PEM: {e}"))
            })?
        };
        let connect_timeout = options.connect_timeout.unwrap_or(Duration::from_secs(15));
        let config = ClientConfig {
            protocol: if options.plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            accept_invalid_certificates: options.insecure_skip_tls_verify,
            extra_root_certificates: split_pem(&pem),
            connect_timeout: Some(connect_timeout),
            read_timeout: Some(Duration::from_secs(120)),
            user_agent: concat!("signet/", env!("CARGO_PKG_VERSION")),
            // Helm charts are single-platform artifacts; an index is an error, not a choice.
            platform_resolver: None,
            // Charts are small: one POST + PUT per blob, as helm and oras do, instead of chunks.
            use_monolithic_push: true,
            ..ClientConfig::default()
        };
        let oci = oci_client::Client::try_from(config)
            .map_err(|e| RegistryError::TlsConfig(e.to_string()))?;
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(options.insecure_skip_tls_verify)
            .tls_certs_merge(roots)
            .connect_timeout(connect_timeout)
            .read_timeout(Duration::from_secs(120))
            .user_agent(concat!("signet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::TlsConfig(e.to_string()))?;
        Ok(Self {
            oci,
            http,
            options,
            token_registries: Default::default(),
        })
    }

    /// The options this client was built with.
    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    fn auth(&self, reference: &OciReference) -> Result<RegistryAuth, RegistryError> {
        self.options.credentials.resolve(&reference.registry)
    }

    /// `reference` for oci-client's calls that take no credentials (blobs, raw manifest
    /// pushes), with the credentials for its registry stored in the client first.
    async fn authenticated(
        &self,
        reference: &OciReference,
    ) -> Result<oci_client::Reference, RegistryError> {
        let auth = self.auth(reference)?;
        let client_ref = reference.to_client_reference();
        self.oci
            .store_auth_if_needed(client_ref.resolve_registry(), &auth)
            .await;
        Ok(client_ref)
    }

    /// Translates oci-client errors about `reference`, saying which credentials a 401 refused.
    fn err<'a>(
        &'a self,
        reference: &'a OciReference,
    ) -> impl Fn(oci_client::errors::OciDistributionError) -> RegistryError + 'a {
        move |e| {
            RegistryError::from_oci(e, &reference.registry, &reference.to_string())
                .with_sent_credentials(|| self.options.credentials.describe(&reference.registry))
        }
    }

    /// Checks that this client's credentials are accepted by `registry` (`host[:port]`), as
    /// `docker login` does: `GET /v2/` with basic auth, or a token request for bearer realms.
    pub async fn check_login(&self, registry: &str) -> Result<(), RegistryError> {
        let probe = OciReference {
            registry: registry.to_string(),
            repository: "signet/login-check".into(),
            tag: None,
            digest: None,
        };
        let auth = self.auth(&probe)?;
        let scheme = if self.options.plain_http {
            "http"
        } else {
            "https"
        };
        let url = format!("{scheme}://{registry}/v2/");
        let send_err = |e: reqwest::Error| {
            RegistryError::from_oci(e.into(), registry, &url)
                .with_sent_credentials(|| self.options.credentials.describe(registry))
        };
        let anonymous = self.http.get(&url).send().await.map_err(send_err)?;
        if anonymous.status().is_success() {
            return Ok(());
        }
        let challenge = anonymous
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if challenge.starts_with("bearer") {
            // oci-client fetches a token from the realm with our credentials; a refusal is an
            // AuthenticationFailure.
            self.oci
                .auth(
                    &probe.to_client_reference(),
                    &auth,
                    oci_client::RegistryOperation::Pull,
                )
                .await
                .map_err(self.err(&probe))?;
            return Ok(());
        }
        let mut request = self.http.get(&url);
        if let RegistryAuth::Basic(u, p) = &auth {
            request = request.basic_auth(u, Some(p));
        }
        let response = request.send().await.map_err(send_err)?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            401 | 403 => Err(RegistryError::Unauthorized {
                registry: registry.to_string(),
                reference: registry.to_string(),
                sent: self.options.credentials.describe(registry),
            }),
            code => Err(RegistryError::Server {
                registry: registry.to_string(),
                reference: url.clone(),
                message: format!("GET /v2/ answered HTTP {code}"),
            }),
        }
    }

    /// Resolves a tag (or digest) reference to the manifest digest it points at.
    pub async fn resolve(&self, reference: &OciReference) -> Result<String, RegistryError> {
        let auth = self.auth(reference)?;
        if matches!(auth, RegistryAuth::Anonymous)
            && let Some(digest) = self.anonymous_head(reference).await?
        {
            check_pinned_digest(reference, &digest)?;
            return Ok(digest);
        }
        let digest = self
            .oci
            .fetch_manifest_digest(&reference.to_client_reference(), &auth)
            .await
            .map_err(self.err(reference))?;
        check_pinned_digest(reference, &digest)?;
        Ok(digest)
    }

    /// One anonymous `HEAD` of the manifest: its digest, or `None` when the registry wants
    /// credentials or sends no digest header (the caller then takes oci-client's path). oci-client
    /// asks `GET /v2/` before every request to a registry that needs no credentials (it caches only
    /// tokens), so this halves what a controller's idle resolve costs such a registry.
    async fn anonymous_head(
        &self,
        reference: &OciReference,
    ) -> Result<Option<String>, RegistryError> {
        let Some(target) = reference.digest.as_deref().or(reference.tag.as_deref()) else {
            return Ok(None);
        };
        let known_token_registry = self
            .token_registries
            .lock()
            .is_ok_and(|r| r.contains(&reference.registry));
        if known_token_registry {
            return Ok(None);
        }
        let scheme = if self.options.plain_http {
            "http"
        } else {
            "https"
        };
        let client_ref = reference.to_client_reference();
        let url = format!(
            "{scheme}://{}/v2/{}/manifests/{target}",
            client_ref.resolve_registry(),
            client_ref.repository()
        );
        let accept = [
            super::manifest::OCI_MANIFEST_MEDIA_TYPE,
            super::manifest::OCI_INDEX_MEDIA_TYPE,
            super::manifest::DOCKER_MANIFEST_MEDIA_TYPE,
            super::manifest::DOCKER_LIST_MEDIA_TYPE,
        ]
        .join(", ");
        let response = self
            .http
            .head(&url)
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|e| {
                RegistryError::from_oci(e.into(), &reference.registry, &reference.to_string())
            })?;
        match response.status().as_u16() {
            200..=299 => Ok(response
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .filter(|d| super::validate_digest(d).is_ok())
                .map(str::to_string)),
            404 => Err(RegistryError::NotFound {
                reference: reference.to_string(),
            }),
            // Credentials or a token wanted: oci-client's path, from now on for this registry.
            401 | 403 => {
                if let Ok(mut registries) = self.token_registries.lock() {
                    registries.insert(reference.registry.clone());
                }
                Ok(None)
            }
            // Anything unexpected: oci-client's path decides.
            _ => Ok(None),
        }
    }

    /// All tags of the repository, following pagination.
    pub async fn list_tags(&self, repository: &OciReference) -> Result<Vec<String>, RegistryError> {
        let auth = self.auth(repository)?;
        let reference = repository.to_client_reference();
        let mut tags: Vec<String> = Vec::new();
        let mut last: Option<String> = None;
        loop {
            let page = self
                .oci
                .list_tags(&reference, &auth, Some(1000), last.as_deref())
                .await
                .map_err(self.err(repository))?;
            let n = page.tags.len();
            if n == 0 {
                break;
            }
            let next = page.tags.last().cloned();
            tags.extend(page.tags);
            // A registry that ignores `last` would return the same page forever.
            if n < 1000 || next == last {
                break;
            }
            last = next;
        }
        Ok(tags)
    }

    /// Picks the highest tag matching `request` and returns the reference with that tag.
    pub async fn resolve_version(
        &self,
        repository: &OciReference,
        request: &str,
    ) -> Result<(semver::Version, OciReference), RegistryError> {
        let parsed = VersionRequest::parse(request)?;
        // An exact version needs no tag listing (which some registries restrict): try its tag.
        if let VersionRequest::Exact(version) = &parsed {
            let tagged = repository.with_tag(&super::version::version_to_tag(&version.to_string()));
            match self.resolve(&tagged).await {
                Ok(_) => return Ok((version.clone(), tagged)),
                Err(RegistryError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let tags = self.list_tags(repository).await?;
        match select_version(&tags, &parsed) {
            Some((version, tag)) => Ok((version, repository.with_tag(&tag))),
            None => Err(RegistryError::NoMatchingVersion {
                reference: repository.repository_url(),
                requested: request.to_string(),
                available: available_versions(&tags),
            }),
        }
    }

    /// Fetches a manifest: exact bytes, media type and digest. The digest is recomputed and,
    /// when the reference pins one, compared; the size is bounded.
    pub async fn fetch_manifest(
        &self,
        reference: &OciReference,
    ) -> Result<FetchedManifest, RegistryError> {
        let auth = self.auth(reference)?;
        let (bytes, _header_digest) = self
            .oci
            .pull_manifest_raw(
                &reference.to_client_reference(),
                &auth,
                ACCEPTED_MANIFEST_TYPES,
            )
            .await
            .map_err(self.err(reference))?;
        let limit = self
            .options
            .max_manifest_bytes
            .unwrap_or(DEFAULT_MAX_MANIFEST_BYTES);
        if bytes.len() as u64 > limit {
            return Err(RegistryError::TooLarge {
                what: format!("manifest {reference}"),
                limit,
            });
        }
        let digest = sha256_digest(&bytes);
        check_pinned_digest(reference, &digest)?;
        let media_type =
            manifest_media_type(&bytes).ok_or_else(|| RegistryError::InvalidArtifact {
                reference: reference.to_string(),
                reason: "manifest is not JSON with a mediaType, config or manifests field".into(),
            })?;
        Ok(FetchedManifest {
            bytes: bytes.to_vec(),
            media_type,
            digest,
        })
    }

    /// Fetches a blob into memory, checking its size against the descriptor and `max_bytes`
    /// and its content against the digest.
    pub async fn fetch_blob(
        &self,
        repository: &OciReference,
        descriptor: &Descriptor,
        max_bytes: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let mut out = BoundedWriter::new(Vec::new(), max_bytes, None);
        self.fetch_blob_into(repository, descriptor, max_bytes, &mut out)
            .await?;
        Ok(out.inner)
    }

    /// Fetches a blob to `destination` atomically: it is written to a temporary file next to
    /// it and renamed only once size and digest are verified, so a failure leaves nothing.
    pub async fn fetch_blob_to_file(
        &self,
        repository: &OciReference,
        descriptor: &Descriptor,
        max_bytes: u64,
        destination: &Path,
        progress: Option<ProgressFn>,
    ) -> Result<(), RegistryError> {
        let io = |source| RegistryError::Io {
            path: destination.display().to_string(),
            source,
        };
        let dir = match destination.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // 0644 (less the umask) like helm's downloads: a chart archive is not a secret, and a
        // temp file's default 0600 would leave it unreadable to other users after the rename.
        let tmp = tempfile::Builder::new()
            .prefix(".signet-download-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .tempfile_in(dir)
            .map_err(io)?;
        let file = tokio::fs::File::from_std(tmp.reopen().map_err(io)?);
        let mut out = BoundedWriter::new(file, max_bytes, progress);
        self.fetch_blob_into(repository, descriptor, max_bytes, &mut out)
            .await?;
        out.inner.sync_all().await.map_err(io)?;
        drop(out);
        tmp.persist(destination).map_err(|e| io(e.error))?;
        Ok(())
    }

    async fn fetch_blob_into<W: AsyncWrite + Unpin + Send>(
        &self,
        repository: &OciReference,
        descriptor: &Descriptor,
        max_bytes: u64,
        out: &mut BoundedWriter<W>,
    ) -> Result<(), RegistryError> {
        let blob_ref = repository.with_digest(&descriptor.digest);
        if descriptor.size > max_bytes {
            return Err(RegistryError::TooLarge {
                what: format!("blob {blob_ref} ({} bytes)", descriptor.size),
                limit: max_bytes,
            });
        }
        super::reference::validate_digest(&descriptor.digest).map_err(|reason| {
            RegistryError::InvalidArtifact {
                reference: blob_ref.to_string(),
                reason,
            }
        })?;
        let client_ref = self.authenticated(repository).await?;
        let result = self
            .oci
            .pull_blob(&client_ref, descriptor.digest.as_str(), &mut *out)
            .await;
        if out.exceeded {
            return Err(RegistryError::TooLarge {
                what: format!("blob {blob_ref}"),
                limit: max_bytes,
            });
        }
        result.map_err(self.err(&blob_ref))?;
        if out.written != descriptor.size {
            return Err(RegistryError::InvalidArtifact {
                reference: blob_ref.to_string(),
                reason: format!(
                    "blob is {} bytes but its descriptor says {}",
                    out.written, descriptor.size
                ),
            });
        }
        Ok(())
    }

    /// Uploads a blob (skipped when the registry already has it); returns its descriptor.
    pub async fn push_blob(
        &self,
        repository: &OciReference,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Descriptor, RegistryError> {
        let descriptor = Descriptor::for_bytes(media_type, &bytes);
        let client_ref = self.authenticated(repository).await?;
        let exists = self
            .oci
            .blob_exists(&client_ref, &descriptor.digest)
            .await
            .unwrap_or(false);
        if !exists {
            self.oci
                .push_blob(&client_ref, bytes, &descriptor.digest)
                .await
                .map_err(self.err(repository))?;
        }
        Ok(descriptor)
    }

    /// Uploads a manifest under `reference`'s tag (or its digest when it has no tag) and returns
    /// the manifest digest.
    pub async fn push_manifest(
        &self,
        reference: &OciReference,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<String, RegistryError> {
        let digest = sha256_digest(&bytes);
        let target = match &reference.tag {
            Some(tag) => reference.with_tag(tag),
            None => reference.with_digest(&digest),
        };
        let client_ref = self.authenticated(&target).await?;
        let content_type = reqwest::header::HeaderValue::from_str(media_type).map_err(|_| {
            RegistryError::InvalidArtifact {
                reference: reference.to_string(),
                reason: format!("media type {media_type:?} is not a valid header value"),
            }
        })?;
        self.oci
            .push_manifest_raw(&client_ref, bytes, content_type)
            .await
            .map_err(self.err(&target))?;
        Ok(digest)
    }

    /// Lists manifests whose `subject` is `subject` (which must carry a digest), optionally
    /// filtered by artifact type. Uses the referrers API when the registry has it, else the
    /// `sha256-<hex>` tag schema; no referrers is an empty list, not an error.
    pub async fn referrers(
        &self,
        subject: &OciReference,
        artifact_type: Option<&str>,
    ) -> Result<Referrers, RegistryError> {
        let digest = subject
            .digest
            .clone()
            .ok_or_else(|| RegistryError::InvalidReference {
                reference: subject.to_string(),
                reason: "a referrers query needs a digest (@sha256:…)".into(),
            })?;
        let scheme = if self.options.plain_http {
            "http"
        } else {
            "https"
        };
        let mut url = format!(
            "{scheme}://{}/v2/{}/referrers/{digest}",
            subject.registry, subject.repository
        );
        if let Some(t) = artifact_type {
            url.push_str("?artifactType=");
            url.push_str(&url_escape(t));
        }
        let auth = self.auth(subject)?;
        let client_ref = subject.to_client_reference();
        let token = self
            .oci
            .auth(&client_ref, &auth, oci_client::RegistryOperation::Pull)
            .await
            .map_err(self.err(subject))?;
        let mut request = self
            .http
            .get(&url)
            .header("Accept", super::manifest::OCI_INDEX_MEDIA_TYPE);
        request = match (&token, &auth) {
            (Some(t), _) => request.bearer_auth(t),
            (None, RegistryAuth::Basic(u, p)) => request.basic_auth(u, Some(p)),
            _ => request,
        };
        let response = request.send().await.map_err(|e| {
            RegistryError::from_oci(e.into(), &subject.registry, &subject.to_string())
                .with_sent_credentials(|| self.options.credentials.describe(&subject.registry))
        })?;
        let status = response.status();
        if status.is_success() {
            let body = response.bytes().await.map_err(|e| {
                RegistryError::from_oci(e.into(), &subject.registry, &subject.to_string())
            })?;
            let index: ImageIndex =
                serde_json::from_slice(&body).map_err(|e| RegistryError::InvalidArtifact {
                    reference: subject.to_string(),
                    reason: format!("referrers response is not an image index: {e}"),
                })?;
            let mut manifests = index.manifests;
            // The filter is optional for registries; apply it here too.
            if let Some(t) = artifact_type {
                manifests.retain(|d| d.artifact_type.as_deref() == Some(t));
            }
            return Ok(Referrers {
                api_supported: true,
                manifests,
            });
        }
        match status.as_u16() {
            401 => {
                return Err(RegistryError::Unauthorized {
                    registry: subject.registry.clone(),
                    reference: subject.to_string(),
                    sent: self.options.credentials.describe(&subject.registry),
                });
            }
            403 => {
                return Err(RegistryError::Denied {
                    registry: subject.registry.clone(),
                    reference: subject.to_string(),
                    message: "referrers".into(),
                });
            }
            404 | 400 | 405 => {}
            code => {
                return Err(RegistryError::Server {
                    registry: subject.registry.clone(),
                    reference: subject.to_string(),
                    message: format!("referrers API answered HTTP {code}"),
                });
            }
        }
        // Tag schema fallback (OCI distribution spec 1.1).
        let tag = digest.replace(':', "-");
        let fallback = subject.with_tag(&tag);
        let manifests = match self.fetch_manifest(&fallback).await {
            Ok(fetched) => {
                let index: ImageIndex = serde_json::from_slice(&fetched.bytes).map_err(|e| {
                    RegistryError::InvalidArtifact {
                        reference: fallback.to_string(),
                        reason: format!("referrers tag is not an image index: {e}"),
                    }
                })?;
                let mut m = index.manifests;
                if let Some(t) = artifact_type {
                    m.retain(|d| d.artifact_type.as_deref() == Some(t));
                }
                m
            }
            Err(RegistryError::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Referrers {
            api_supported: false,
            manifests,
        })
    }
}

/// Splits a PEM bundle into the per-certificate form oci-client wants.
fn split_pem(pem: &[u8]) -> Vec<Certificate> {
    let text = String::from_utf8_lossy(pem);
    let mut certs = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.starts_with("-----BEGIN CERTIFICATE-----") {
            current.clear();
        }
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END CERTIFICATE-----") {
            certs.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data: std::mem::take(&mut current).into_bytes(),
            });
        }
    }
    certs
}

/// Fails when `reference` pins a digest and the content it led to has another one.
fn check_pinned_digest(reference: &OciReference, actual: &str) -> Result<(), RegistryError> {
    match &reference.digest {
        Some(expected) if expected != actual => Err(RegistryError::DigestMismatch {
            reference: reference.to_string(),
            expected: expected.clone(),
            actual: actual.to_string(),
        }),
        _ => Ok(()),
    }
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An `AsyncWrite` that refuses to grow past `limit` bytes and reports progress, so a
/// hostile registry cannot fill the disk or memory.
struct BoundedWriter<W> {
    inner: W,
    limit: u64,
    written: u64,
    exceeded: bool,
    progress: Option<ProgressFn>,
}

impl<W> BoundedWriter<W> {
    fn new(inner: W, limit: u64, progress: Option<ProgressFn>) -> Self {
        Self {
            inner,
            limit,
            written: 0,
            exceeded: false,
            progress,
        }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for BoundedWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.written + buf.len() as u64 > self.limit {
            self.exceeded = true;
            return Poll::Ready(Err(std::io::Error::other("size limit exceeded")));
        }
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.written += n as u64;
                if let Some(p) = &this.progress {
                    p(this.written);
                }
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
