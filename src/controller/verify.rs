//! Step 4, verify: builds a `verify::Policy` from `spec.verify` (public keys from Secrets,
//! keyless identities, the trust root from a ConfigMap or Secret — else, where keyless
//! authorities or the log need one, Sigstore's through TUF — `requireTransparencyLog`,
//! `threshold`) and verifies the resolved digest through the shared `VerificationCache`.
//! Fails closed: every error, including a missing Secret or an unreachable registry, is a
//! failure, and nothing after this step runs.

use super::metrics::Metrics;
use super::refs::{self, RefError};
use super::source::Resolved;
use crate::api::conditions::reasons;
use crate::api::{DataSourceKind, VerificationPolicy, VerifiedSigner};
use crate::registry::RegistryClient;
use crate::verify::{
    Authority, Identity, Matcher, Policy, ReferrersMode, Sources, VerificationCache, Verified,
    VerifyError,
};

/// Why the chart is not verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyStepError {
    #[error("spec.verify: {0}")]
    Reference(#[from] RefError),
    #[error("spec.verify.authorities[{index}]: exactly one of key or keyless must be set")]
    Authority { index: usize },
    /// No trust root through TUF (mirror unreachable with no valid cache, or refused metadata).
    #[error(
        "TrustRootUnavailable: {0} (where the TUF mirror cannot be reached, give the trust root \
         in spec.verify.trustRoot)"
    )]
    TrustRoot(#[from] crate::verify::tuf::TufError),
    /// The verification itself; the message starts with the verifier's specific reason.
    #[error("{}: {}", .0.reason(), .0)]
    Verify(#[from] VerifyError),
}

impl VerifyStepError {
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyStepError::Reference(e) => e.reason(),
            // The registry being down is not a policy verdict; it is retried like a pull.
            VerifyStepError::Verify(VerifyError::Registry(_)) => reasons::PULL_FAILED,
            VerifyStepError::Verify(_)
            | VerifyStepError::Authority { .. }
            | VerifyStepError::TrustRoot(_) => reasons::VERIFICATION_FAILED,
        }
    }

    /// The verifier's own reason (`NoSignatures`, `KeyMismatch`, ...), for metrics.
    pub fn detail_reason(&self) -> &'static str {
        match self {
            VerifyStepError::Verify(e) => e.reason(),
            VerifyStepError::TrustRoot(_) => "TrustRootUnavailable",
            other => other.reason(),
        }
    }

    /// Whether only a change (to the spec, a Secret, or the signatures) can fix it: the policy
    /// was not met. Registry and missing-reference failures are transient.
    pub fn is_verdict(&self) -> bool {
        // A TUF outage is retried: the policy itself may well be met.
        !matches!(self, VerifyStepError::TrustRoot(_))
            && self.reason() == reasons::VERIFICATION_FAILED
    }
}

/// Reads everything `spec.verify` references and builds the policy.
pub async fn policy(
    client: &kube::Client,
    namespace: &str,
    spec: &VerificationPolicy,
    threshold: usize,
    tuf: Option<&crate::verify::tuf::TufTrustRoot>,
) -> Result<Policy, VerifyStepError> {
    let mut authorities = Vec::with_capacity(spec.authorities.len());
    for (index, a) in spec.authorities.iter().enumerate() {
        let authority = match (&a.key, &a.keyless) {
            (Some(key), None) => {
                let pem = refs::read_text(
                    client,
                    namespace,
                    DataSourceKind::Secret,
                    &key.secret_ref.name,
                    &key.secret_ref.key,
                )
                .await?;
                Authority::key(a.name.clone(), pem)
            }
            (None, Some(keyless)) => Authority::keyless(
                a.name.clone(),
                keyless.identities.iter().map(identity).collect(),
            ),
            _ => return Err(VerifyStepError::Authority { index }),
        };
        authorities.push(authority);
    }
    let keyless = authorities
        .iter()
        .any(|a| matches!(a.verifier, crate::verify::Verifier::Keyless { .. }));
    let trusted_root_json = match (&spec.trust_root, tuf) {
        (Some(r), _) => Some(refs::read_text(client, namespace, r.kind, &r.name, &r.key).await?),
        (None, Some(tuf)) if keyless || spec.require_transparency_log => {
            Some(tuf.trusted_root_json().await?.to_string())
        }
        (None, _) => None,
    };
    Ok(Policy {
        require_sct: keyless && trusted_root_json.as_deref().is_some_and(has_ct_logs),
        authorities,
        trusted_root_json,
        require_tlog: spec.require_transparency_log,
        threshold,
        signed_repository: match (&spec.signed_repository, &spec.signed_repository_reg_exp) {
            (Some(r), _) => Some(Matcher::Exact(r.clone())),
            (None, Some(r)) => Some(Matcher::Regexp(r.clone())),
            (None, None) => None,
        },
    })
}

/// SCTs are required (as cosign does) when the trust root can check them: a private Sigstore
/// without a certificate-transparency log could otherwise never verify keyless signatures.
fn has_ct_logs(trusted_root: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(trusted_root)
        .ok()
        .and_then(|v| {
            v.get("ctlogs")
                .and_then(|l| l.as_array())
                .map(|l| !l.is_empty())
        })
        .unwrap_or(false)
}

fn identity(id: &crate::api::KeylessIdentity) -> Identity {
    let matcher = |exact: &Option<String>, regexp: &Option<String>| match (exact, regexp) {
        (Some(e), _) => Matcher::Exact(e.clone()),
        (None, Some(r)) => Matcher::Regexp(r.clone()),
        // Validation rejects this; an empty exact matcher matches nothing real.
        (None, None) => Matcher::Exact(String::new()),
    };
    Identity {
        issuer: matcher(&id.issuer, &id.issuer_reg_exp),
        subject: matcher(&id.subject, &id.subject_reg_exp),
    }
}

/// Verifies `resolved` under `policy`, through the cache (a hit touches no network).
pub async fn verify(
    resolved: &Resolved,
    policy: &Policy,
    registry: &RegistryClient,
    cache: &VerificationCache,
    metrics: &Metrics,
) -> Result<Verified, VerifyStepError> {
    let compiled = policy.compile()?;
    let hit = cache
        .get(&resolved.digest, &resolved.repository, &compiled)
        .is_some();
    metrics.cache("verification", hit);
    let sources = Sources {
        registry,
        mode: ReferrersMode::All,
    };
    Ok(cache
        .verify(&resolved.digest, &resolved.repository, &compiled, &sources)
        .await?)
}

/// The status form of who signed: key fingerprint for keys, issuer and subject for certificates.
pub fn signers(verified: &Verified) -> Vec<VerifiedSigner> {
    let mut out: Vec<VerifiedSigner> = Vec::new();
    for m in &verified.signers {
        let signer = signer(&m.authority, &m.description);
        if !out.contains(&signer) {
            out.push(signer);
        }
    }
    out.sort_by(|a, b| a.authority.cmp(&b.authority));
    out
}

/// Parses the verifier's description: `public key sha256:<hex>` or
/// `certificate subject [<sans>] issuer "<issuer>"`.
fn signer(authority: &str, description: &str) -> VerifiedSigner {
    let mut s = VerifiedSigner {
        authority: authority.to_owned(),
        issuer: None,
        subject: None,
        key_fingerprint: None,
    };
    if let Some(fp) = description.strip_prefix("public key ") {
        s.key_fingerprint = Some(fp.to_owned());
    } else if let Some((sans, issuer)) = description
        .strip_prefix("certificate subject [")
        .and_then(|rest| rest.split_once("] issuer "))
    {
        s.subject = Some(sans.to_owned());
        s.issuer = Some(issuer.trim_matches('"').to_owned());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signer_descriptions_become_status_fields() {
        let k = signer("ci", "public key sha256:abcd");
        assert_eq!(k.key_fingerprint.as_deref(), Some("sha256:abcd"));
        assert_eq!(k.subject, None);
        let c = signer(
            "gh",
            "certificate subject [https://github.com/o/r/.github/workflows/release.yaml@refs/tags/v1] issuer \"https://token.actions.githubusercontent.com\"",
        );
        assert_eq!(
            c.subject.as_deref(),
            Some("https://github.com/o/r/.github/workflows/release.yaml@refs/tags/v1")
        );
        assert_eq!(
            c.issuer.as_deref(),
            Some("https://token.actions.githubusercontent.com")
        );
        assert_eq!(c.key_fingerprint, None);
    }

    #[test]
    fn reasons_separate_verdicts_from_transient_failures() {
        let down = VerifyStepError::Verify(VerifyError::Registry("connection refused".into()));
        assert_eq!(down.reason(), reasons::PULL_FAILED);
        assert!(!down.is_verdict());
        let wrong = VerifyStepError::Verify(VerifyError::KeyMismatch);
        assert_eq!(wrong.reason(), reasons::VERIFICATION_FAILED);
        assert_eq!(wrong.detail_reason(), "KeyMismatch");
        assert!(wrong.is_verdict());
        assert!(wrong.to_string().starts_with("KeyMismatch: "), "{wrong}");
    }

    #[test]
    fn an_unavailable_tuf_trust_root_is_retried_not_a_verdict() {
        let e = VerifyStepError::TrustRoot(crate::verify::tuf::TufError::Update {
            mirror: "https://tuf.example/".into(),
            message: "connection refused".into(),
        });
        assert!(!e.is_verdict());
        assert_eq!(e.detail_reason(), "TrustRootUnavailable");
        assert!(e.to_string().contains("spec.verify.trustRoot"), "{e}");
    }

    #[test]
    fn sct_required_only_with_ct_logs() {
        assert!(has_ct_logs(r#"{"ctlogs":[{"x":1}]}"#));
        assert!(!has_ct_logs(r#"{"ctlogs":[]}"#));
        assert!(!has_ct_logs(r#"{}"#));
        assert!(!has_ct_logs("garbage"));
    }
}
