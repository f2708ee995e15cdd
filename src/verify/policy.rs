//! The verification policy: plain, serialisable data (what the CRD and CLI flags carry) and its
//! compiled form (parsed keys, compiled regexps, parsed trust root) used by the verifier.

use super::crypto::{PublicKey, sha256};
use super::error::VerifyError;
use super::trust_root::TrustRoot;
use serde::{Deserialize, Serialize};

/// A string matched exactly or by a regular expression (anchored, as cosign anchors them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Matcher {
    Exact(String),
    Regexp(String),
}

/// A keyless signer: OIDC issuer and certificate subject (URI or email SAN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub issuer: Matcher,
    pub subject: Matcher,
}

/// What must hold for an artifact to count as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// PEM public keys (PKIX "PUBLIC KEY"); each is one potential signer.
    #[serde(default)]
    pub public_keys: Vec<String>,
    /// Keyless identities; each is one potential signer.
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// Sigstore trusted_root.json text (certificate authorities, logs, TSAs). Needed for
    /// certificates and for transparency-log or timestamp evidence.
    #[serde(default)]
    pub trusted_root_json: Option<String>,
    /// Require a verified transparency-log entry for every accepted signature.
    #[serde(default)]
    pub require_tlog: bool,
    /// Require a valid embedded SCT in signing certificates (cosign's default; off is
    /// `--insecure-ignore-sct`).
    #[serde(default)]
    pub require_sct: bool,
    /// How many distinct signers (keys/identities of this policy) must match; 0 counts as 1.
    #[serde(default)]
    pub threshold: usize,
}

impl Policy {
    /// A stable hash of the policy, part of the verification cache key.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(sha256(&json))
    }

    /// Checks and compiles the policy.
    pub fn compile(&self) -> Result<CompiledPolicy, VerifyError> {
        if self.public_keys.is_empty() && self.identities.is_empty() {
            return Err(VerifyError::InvalidPolicy(
                "the policy names no public key and no identity".into(),
            ));
        }
        let keys = self
            .public_keys
            .iter()
            .enumerate()
            .map(|(i, pem)| {
                PublicKey::from_pem(pem)
                    .map_err(|e| VerifyError::InvalidPolicy(format!("public key #{}: {e}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let identities = self
            .identities
            .iter()
            .map(|id| {
                Ok(CompiledIdentity {
                    issuer: CompiledMatcher::new(&id.issuer, "issuer")?,
                    subject: CompiledMatcher::new(&id.subject, "subject")?,
                    spec: id.clone(),
                })
            })
            .collect::<Result<Vec<_>, VerifyError>>()?;
        let trust_root = match &self.trusted_root_json {
            Some(text) => TrustRoot::from_json(text)?,
            None => TrustRoot::default(),
        };
        let threshold = self.threshold.max(1);
        if threshold > keys.len() + identities.len() {
            return Err(VerifyError::InvalidPolicy(format!(
                "threshold {threshold} exceeds the {} signers the policy names",
                keys.len() + identities.len()
            )));
        }
        Ok(CompiledPolicy {
            keys,
            identities,
            trust_root,
            require_tlog: self.require_tlog,
            require_sct: self.require_sct,
            threshold,
            fingerprint: self.fingerprint(),
        })
    }
}

/// A policy ready to verify with.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    pub(crate) keys: Vec<PublicKey>,
    pub(crate) identities: Vec<CompiledIdentity>,
    pub(crate) trust_root: TrustRoot,
    pub(crate) require_tlog: bool,
    pub(crate) require_sct: bool,
    pub(crate) threshold: usize,
    pub(crate) fingerprint: String,
}

impl CompiledPolicy {
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledIdentity {
    pub issuer: CompiledMatcher,
    pub subject: CompiledMatcher,
    pub spec: Identity,
}

#[derive(Debug, Clone)]
pub(crate) enum CompiledMatcher {
    Exact(String),
    Regexp(regex::Regex),
}

impl CompiledMatcher {
    fn new(m: &Matcher, field: &str) -> Result<Self, VerifyError> {
        Ok(match m {
            Matcher::Exact(s) => CompiledMatcher::Exact(s.clone()),
            Matcher::Regexp(r) => {
                CompiledMatcher::Regexp(regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| {
                    VerifyError::InvalidPolicy(format!("{field} regexp {r:?}: {e}"))
                })?)
            }
        })
    }

    pub fn matches(&self, s: &str) -> bool {
        match self {
            CompiledMatcher::Exact(e) => e == s,
            CompiledMatcher::Regexp(r) => r.is_match(s),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(s) => write!(f, "{s:?}"),
            Matcher::Regexp(r) => write!(f, "/{r}/"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexps_are_anchored_and_exact_is_exact() {
        let m = CompiledMatcher::new(
            &Matcher::Regexp("https://github\\.com/org/.*".into()),
            "subject",
        )
        .unwrap();
        assert!(m.matches("https://github.com/org/repo"));
        assert!(!m.matches("evil https://github.com/org/repo"));
        let e = CompiledMatcher::new(&Matcher::Exact("a@b.c".into()), "subject").unwrap();
        assert!(e.matches("a@b.c"));
        assert!(!e.matches("xa@b.c"));
    }

    #[test]
    fn unusable_policies_are_rejected_with_the_field() {
        let empty = Policy::default().compile().unwrap_err();
        assert_eq!(empty.reason(), "InvalidPolicy");
        let bad_key = Policy {
            public_keys: vec!["not pem".into()],
            ..Policy::default()
        };
        assert!(
            bad_key
                .compile()
                .unwrap_err()
                .to_string()
                .contains("public key #1")
        );
        let bad_re = Policy {
            identities: vec![Identity {
                issuer: Matcher::Exact("i".into()),
                subject: Matcher::Regexp("(".into()),
            }],
            ..Policy::default()
        };
        assert!(
            bad_re
                .compile()
                .unwrap_err()
                .to_string()
                .contains("subject regexp")
        );
        let too_many = Policy {
            identities: vec![Identity {
                issuer: Matcher::Exact("i".into()),
                subject: Matcher::Exact("s".into()),
            }],
            threshold: 2,
            ..Policy::default()
        };
        assert!(
            too_many
                .compile()
                .unwrap_err()
                .to_string()
                .contains("threshold 2")
        );
    }

    #[test]
    fn fingerprint_changes_with_the_policy() {
        let a = Policy {
            require_tlog: true,
            ..Policy::default()
        };
        let b = Policy {
            require_tlog: false,
            ..Policy::default()
        };
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
    }
}
