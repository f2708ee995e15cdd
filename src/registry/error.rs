//! Typed registry errors: one variant per failure a user can act on, each with a stable
//! machine-readable [`RegistryError::reason`] and whether retrying can help.

use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};

/// What went wrong talking to an OCI registry. Messages name the reference and what to do;
/// they never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The `oci://` reference does not parse.
    #[error("invalid OCI reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },

    /// The registry could not be reached (DNS, TCP, TLS handshake, timeout).
    #[error(
        "cannot reach registry {registry}: {message} (check the host and port, --plain-http for \
         HTTP registries, --ca-file for private CAs)"
    )]
    Unreachable { registry: String, message: String },

    /// The registry answered 401: it rejected the credentials sent, or needs some and none were
    /// found. `sent` says which were used (never the secret itself).
    #[error(
        "registry {registry} answered 401 Unauthorized for {reference}; sent {sent} (check them, \
         or log in with `signet registry login {registry}`)"
    )]
    Unauthorized {
        registry: String,
        reference: String,
        sent: String,
    },

    /// Authenticated, but not allowed to do this.
    #[error("registry {registry} denied access to {reference}: {message}")]
    Denied {
        registry: String,
        reference: String,
        message: String,
    },

    /// The manifest, tag, blob or repository does not exist.
    #[error("{reference} not found in the registry")]
    NotFound { reference: String },

    /// Content did not hash to the digest it was addressed by.
    #[error("digest mismatch for {reference}: expected {expected}, got {actual}")]
    DigestMismatch {
        reference: String,
        expected: String,
        actual: String,
    },

    /// Content is bigger than the configured limit.
    #[error("{what} is larger than the {limit}-byte limit")]
    TooLarge { what: String, limit: u64 },

    /// No tag satisfies the requested version or range.
    #[error("no version of {reference} matches {requested:?} (available: {available})")]
    NoMatchingVersion {
        reference: String,
        requested: String,
        available: String,
    },

    /// The version or range itself is not valid SemVer.
    #[error("invalid version or range {requested:?}: {reason}")]
    InvalidVersion { requested: String, reason: String },

    /// A manifest or config is not what a Helm chart artifact must look like.
    #[error("{reference}: {reason}")]
    InvalidArtifact { reference: String, reason: String },

    /// Reading credentials from the docker config or a credential helper failed.
    #[error("cannot read credentials for {registry}: {reason}")]
    Credentials { registry: String, reason: String },

    /// The TLS options are unusable (e.g. an unreadable --ca-file).
    #[error("TLS configuration: {0}")]
    TlsConfig(String),

    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// The registry answered with a server-side error (5xx, 429).
    #[error("registry {registry} failed for {reference}: {message}")]
    Server {
        registry: String,
        reference: String,
        message: String,
    },

    /// Any other protocol-level failure.
    #[error("registry operation on {reference} failed: {message}")]
    Protocol { reference: String, message: String },
}

impl RegistryError {
    /// A stable CamelCase reason for status conditions, metrics and `--output json`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidReference { .. } => "InvalidReference",
            Self::Unreachable { .. } => "RegistryUnreachable",
            Self::Unauthorized { .. } => "Unauthorized",
            Self::Denied { .. } => "Denied",
            Self::NotFound { .. } => "NotFound",
            Self::DigestMismatch { .. } => "DigestMismatch",
            Self::TooLarge { .. } => "TooLarge",
            Self::NoMatchingVersion { .. } => "NoMatchingVersion",
            Self::InvalidVersion { .. } => "InvalidVersion",
            Self::InvalidArtifact { .. } => "InvalidArtifact",
            Self::Credentials { .. } => "CredentialsError",
            Self::TlsConfig(_) => "TlsConfigError",
            Self::Io { .. } => "IoError",
            Self::Server { .. } => "RegistryServerError",
            Self::Protocol { .. } => "RegistryProtocolError",
        }
    }

    /// Whether retrying the same request unchanged cannot succeed. Network failures, server
    /// errors and a missing tag (which may be pushed later) are transient.
    pub fn is_permanent(&self) -> bool {
        !matches!(
            self,
            Self::Unreachable { .. }
                | Self::Server { .. }
                | Self::NotFound { .. }
                | Self::NoMatchingVersion { .. }
                | Self::Io { .. }
                | Self::Protocol { .. }
        )
    }

    /// Says which credentials were sent, for an [`RegistryError::Unauthorized`] that does not
    /// say yet (errors are translated where the credentials are not known).
    pub(crate) fn with_sent_credentials(self, describe: impl FnOnce() -> String) -> Self {
        match self {
            Self::Unauthorized {
                registry,
                reference,
                sent,
            } if sent.is_empty() => Self::Unauthorized {
                registry,
                reference,
                sent: describe(),
            },
            other => other,
        }
    }

    /// Translates an oci-client error raised while working on `reference` at `registry`.
    pub(crate) fn from_oci(err: OciDistributionError, registry: &str, reference: &str) -> Self {
        let registry = registry.to_string();
        let reference = reference.to_string();
        match err {
            OciDistributionError::RequestError(e) => classify_request_error(e, registry, reference),
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => Self::Unauthorized {
                registry,
                reference,
                sent: String::new(),
            },
            OciDistributionError::ImageManifestNotFoundError(_) => Self::NotFound { reference },
            OciDistributionError::DigestError(DigestError::VerificationError {
                expected,
                actual,
            }) => Self::DigestMismatch {
                reference,
                expected,
                actual,
            },
            OciDistributionError::RegistryError { envelope, .. } => {
                let message = envelope
                    .errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
                let first = envelope.errors.first().map(|e| &e.code);
                match first {
                    Some(OciErrorCode::Unauthorized) => Self::Unauthorized {
                        registry,
                        reference,
                        sent: String::new(),
                    },
                    Some(OciErrorCode::Denied) => Self::Denied {
                        registry,
                        reference,
                        message,
                    },
                    Some(
                        OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound,
                    ) => Self::NotFound { reference },
                    Some(OciErrorCode::Toomanyrequests) => Self::Server {
                        registry,
                        reference,
                        message,
                    },
                    _ => Self::Protocol { reference, message },
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                401 => Self::Unauthorized {
                    registry,
                    reference,
                    sent: String::new(),
                },
                403 => Self::Denied {
                    registry,
                    reference,
                    message: short(&message),
                },
                404 => Self::NotFound { reference },
                _ => Self::Server {
                    registry,
                    reference,
                    message: format!("HTTP {code}: {}", short(&message)),
                },
            },
            other => Self::Protocol {
                reference,
                message: other.to_string(),
            },
        }
    }
}

/// reqwest errors: connection-level failures are "unreachable"; the source chain carries the
/// useful detail (connection refused, certificate unknown…), so it is flattened into the message.
fn classify_request_error(e: reqwest::Error, registry: String, reference: String) -> RegistryError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    // rustls reading a plain-HTTP answer says "received corrupt message of type
    // InvalidContentType"; say what Go's client (helm, cosign) says instead.
    if message.contains("InvalidContentType") {
        message = "server gave HTTP response to HTTPS client".to_string();
    }
    if e.is_connect() || e.is_timeout() || e.is_request() {
        RegistryError::Unreachable { registry, message }
    } else if let Some(status) = e.status() {
        if status.as_u16() == 401 {
            RegistryError::Unauthorized {
                registry,
                reference,
                sent: String::new(),
            }
        } else {
            RegistryError::Server {
                registry,
                reference,
                message,
            }
        }
    } else {
        RegistryError::Protocol { reference, message }
    }
}

/// Registry error bodies can be whole HTML pages; keep messages to one readable line.
fn short(message: &str) -> String {
    let line = message.lines().next().unwrap_or("").trim();
    if line.len() > 200 {
        let mut end = 200;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &line[..end])
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(err: OciDistributionError) -> RegistryError {
        RegistryError::from_oci(err, "r:1", "oci://r:1/a:1")
    }

    #[test]
    fn http_statuses_map_to_actionable_reasons() {
        let server = |code| OciDistributionError::ServerError {
            code,
            url: "u".into(),
            message: "<html>\nlong page".into(),
        };
        assert_eq!(classify(server(401)).reason(), "Unauthorized");
        assert_eq!(classify(server(403)).reason(), "Denied");
        assert_eq!(classify(server(404)).reason(), "NotFound");
        let e = classify(server(503));
        assert_eq!(e.reason(), "RegistryServerError");
        assert!(!e.is_permanent());
        assert!(!e.to_string().contains('\n'), "{e}");
        let e = classify(OciDistributionError::DigestError(
            DigestError::VerificationError {
                expected: "sha256:a".into(),
                actual: "sha256:b".into(),
            },
        ));
        assert_eq!(e.reason(), "DigestMismatch");
        assert!(e.is_permanent());
        assert!(e.to_string().contains("sha256:a") && e.to_string().contains("oci://r:1/a:1"));
    }

    #[test]
    fn oci_error_codes_map_to_reasons() {
        let envelope = |code: &str| OciDistributionError::RegistryError {
            envelope: serde_json::from_str(&format!(
                r#"{{"errors":[{{"code":"{code}","message":"m"}}]}}"#
            ))
            .unwrap(),
            url: "u".into(),
        };
        assert_eq!(classify(envelope("MANIFEST_UNKNOWN")).reason(), "NotFound");
        assert_eq!(classify(envelope("NAME_UNKNOWN")).reason(), "NotFound");
        assert_eq!(classify(envelope("UNAUTHORIZED")).reason(), "Unauthorized");
        assert_eq!(classify(envelope("DENIED")).reason(), "Denied");
        assert_eq!(
            classify(envelope("TOOMANYREQUESTS")).reason(),
            "RegistryServerError"
        );
        assert_eq!(
            classify(envelope("WEIRD")).reason(),
            "RegistryProtocolError"
        );
    }
}
