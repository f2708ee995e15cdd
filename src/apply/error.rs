//! The errors of applying, pruning and recording a release, and their mapping from API responses.

use crate::api::conditions::reasons;

/// Why an apply, dry-run, prune, uninstall or release-record operation failed.
///
/// `object` fields describe the object as `Kind namespace/name (template)` (see
/// [`super::describe`]) so a status message points at the template to fix.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A rendered document is not a Kubernetes object (bad YAML, or a required field missing).
    #[error("invalid manifest in {template}: {message}")]
    InvalidManifest {
        /// The template the document came from.
        template: String,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The API server serves no such kind (a missing CRD, a typo in apiVersion/kind).
    #[error("unknown kind {kind} in {api_version}{}: the API server does not serve it (is its CRD installed?)",
        template.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    UnknownKind {
        /// apiVersion as written.
        api_version: String,
        /// kind as written.
        kind: String,
        /// The template that asked for it, when known.
        template: Option<String>,
    },
    /// The API server (its authorizer, usually under impersonation) forbade the request.
    #[error("forbidden: cannot {verb} {object}: {message}")]
    Forbidden {
        /// The API verb: get, list, create, patch, delete, ...
        verb: String,
        /// The object, described.
        object: String,
        /// The API server's message.
        message: String,
    },
    /// The API server refused the object: schema, admission, a missing namespace (also under dry-run).
    #[error("{object} rejected{}: {reason}: {message}", if *dry_run { " by server-side dry-run" } else { "" })]
    Rejected {
        /// The object, described.
        object: String,
        /// The API server's machine-readable reason (`Invalid`, `BadRequest`, ...).
        reason: String,
        /// The API server's message.
        message: String,
        /// Whether the refusal came from the dry-run (nothing was applied).
        dry_run: bool,
    },
    /// A failure that retrying can fix: 409 Conflict, 429 Too Many Requests, 5xx, a lost connection.
    #[error("cannot {verb} {object} (retryable): {message}")]
    Transient {
        /// The API verb.
        verb: String,
        /// The object, described.
        object: String,
        /// HTTP status (0 when the request never got a response).
        code: u16,
        /// The API server's or the transport's message.
        message: String,
    },
    /// Any other API error.
    #[error("cannot {verb} {object}: HTTP {code} {reason}: {message}")]
    Api {
        /// The API verb.
        verb: String,
        /// The object, described.
        object: String,
        /// HTTP status.
        code: u16,
        /// The API server's reason.
        reason: String,
        /// The API server's message.
        message: String,
    },
    /// Waiting for something (a CRD to be Established, deleted objects to be gone) ran out of time.
    #[error("timed out waiting for {what}")]
    Timeout {
        /// What was still pending, naming the objects.
        what: String,
    },
    /// A Helm release record could not be encoded or decoded.
    #[error("release record {secret}: {message}")]
    Record {
        /// The Secret name.
        secret: String,
        /// What went wrong.
        message: String,
    },
}

impl ApplyError {
    /// The condition reason (`ApplyFailed`) for every variant.
    pub fn reason(&self) -> &'static str {
        reasons::APPLY_FAILED
    }

    /// Whether retrying the same operation later can succeed without a change to the input.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ApplyError::Transient { .. } | ApplyError::Timeout { .. }
        )
    }

    /// Maps a kube client error on `verb` of `object` to the variant a caller can act on.
    pub(crate) fn from_kube(err: kube::Error, verb: &str, object: &str, dry_run: bool) -> Self {
        match err {
            kube::Error::Api(status) => {
                let code = status.code;
                let message = status.message.clone();
                // A write into a namespace being deleted is a 403 too, but it passes: the
                // namespace goes and the next attempt recreates it.
                let terminating = status
                    .details
                    .as_ref()
                    .is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"));
                match code {
                    403 if terminating => ApplyError::Transient {
                        verb: verb.to_owned(),
                        object: object.to_owned(),
                        code,
                        message,
                    },
                    403 => ApplyError::Forbidden {
                        verb: verb.to_owned(),
                        object: object.to_owned(),
                        message,
                    },
                    409 | 429 | 500..=599 => ApplyError::Transient {
                        verb: verb.to_owned(),
                        object: object.to_owned(),
                        code,
                        message,
                    },
                    // Schema and admission refusals (422 Invalid, 400 BadRequest), and a 404 on
                    // apply: the namespace does not exist.
                    400 | 422 => ApplyError::Rejected {
                        object: object.to_owned(),
                        reason: status.reason.clone(),
                        message,
                        dry_run,
                    },
                    404 if verb == "apply" => ApplyError::Rejected {
                        object: object.to_owned(),
                        reason: status.reason.clone(),
                        message,
                        dry_run,
                    },
                    _ => ApplyError::Api {
                        verb: verb.to_owned(),
                        object: object.to_owned(),
                        code,
                        reason: status.reason.clone(),
                        message,
                    },
                }
            }
            // Transport failures (connection refused/reset, timeouts): the request may not have
            // reached the server; trying again is the remedy.
            other => ApplyError::Transient {
                verb: verb.to_owned(),
                object: object.to_owned(),
                code: 0,
                message: other.to_string(),
            },
        }
    }
}

/// Whether a kube error is a 404 from the API server.
pub(crate) fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 404)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            reason: reason.to_owned(),
            message: "the message".to_owned(),
            ..kube::core::Status::default()
        }))
    }

    #[test]
    fn maps_status_codes() {
        let e = ApplyError::from_kube(api(403, "Forbidden"), "patch", "ConfigMap ns/a (t)", false);
        assert!(matches!(e, ApplyError::Forbidden { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "forbidden: cannot patch ConfigMap ns/a (t): the message"
        );
        assert!(!e.is_transient());
        for code in [409, 429, 500, 503] {
            let e = ApplyError::from_kube(api(code, "X"), "apply", "o", false);
            assert!(e.is_transient(), "{code}: {e:?}");
        }
        let e = ApplyError::from_kube(api(422, "Invalid"), "apply", "Deployment ns/d (t)", true);
        assert_eq!(
            e.to_string(),
            "Deployment ns/d (t) rejected by server-side dry-run: Invalid: the message"
        );
        assert!(!e.is_transient());
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "code": 403,
            "reason": "Forbidden",
            "message": "namespaces \"apps\" is being terminated",
            "details": {"causes": [{"reason": "NamespaceTerminating", "message": "x"}]}
        }))
        .unwrap();
        let terminating = kube::Error::Api(Box::new(status));
        let e = ApplyError::from_kube(terminating, "apply", "o", false);
        assert!(e.is_transient(), "{e:?}");
        let e = ApplyError::from_kube(api(404, "NotFound"), "apply", "o", false);
        assert!(matches!(e, ApplyError::Rejected { .. }), "{e:?}");
        let e = ApplyError::from_kube(api(404, "NotFound"), "get", "o", false);
        assert!(matches!(e, ApplyError::Api { code: 404, .. }), "{e:?}");
        assert_eq!(e.reason(), "ApplyFailed");
    }
}
