//! The verification policy: plain, serialisable data (what the CRD and CLI flags carry) and its
//! compiled form (parsed keys, compiled regexps, parsed trust root) used by the verifier.

use super::crypto::sha256;
use super::error::VerifyError;
use super::keys::{PUBLIC_KEY_LABEL, PublicKey, pem};
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

/// One trusted signer: a public key, or a keyless identity set (any listed identity counts as
/// this same signer). The threshold counts distinct authorities, as the CRD's `authorities` do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authority {
    /// A name for results and error messages (the CRD's `authorities[].name`).
    pub name: String,
    #[serde(flatten)]
    pub verifier: Verifier,
}

/// How an authority's signatures are recognised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verifier {
    /// A PEM public key (PKIX "PUBLIC KEY", as cosign.pub).
    Key { public_key_pem: String },
    /// Certificates whose issuer and subject match one of these identities.
    Keyless { identities: Vec<Identity> },
}

impl Authority {
    pub fn key(name: impl Into<String>, public_key_pem: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            verifier: Verifier::Key {
                public_key_pem: public_key_pem.into(),
            },
        }
    }

    pub fn keyless(name: impl Into<String>, identities: Vec<Identity>) -> Self {
        Self {
            name: name.into(),
            verifier: Verifier::Keyless { identities },
        }
    }
}

/// What must hold for an artifact to count as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// The trusted signers.
    #[serde(default)]
    pub authorities: Vec<Authority>,
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
    /// How many distinct authorities must have signed; 0 counts as 1.
    #[serde(default)]
    pub threshold: usize,
    /// The repository a signature must name (cosign's simple-signing
    /// `critical.identity.docker-reference`, as `HOST/REPO`). `None`, like cosign, binds only the
    /// digest: a signature copied with the artifact (`cosign copy`, `oras cp -r`, registry
    /// mirroring) verifies wherever the digest lives. When set, signatures that name no
    /// repository (Sigstore bundles name only the digest) do not count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_repository: Option<Matcher>,
}

impl Policy {
    /// A stable hash of the policy, part of the verification cache key.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(sha256(&json))
    }

    /// Checks and compiles the policy.
    pub fn compile(&self) -> Result<CompiledPolicy, VerifyError> {
        if self.authorities.is_empty() {
            return Err(VerifyError::InvalidPolicy(
                "the policy names no public key and no identity".into(),
            ));
        }
        let mut keys = Vec::new();
        let mut identities = Vec::new();
        for (index, authority) in self.authorities.iter().enumerate() {
            let field = |what: &str| format!("authority {:?}: {what}", authority.name);
            match &authority.verifier {
                Verifier::Key { public_key_pem } => {
                    // The PUBLIC KEY block may follow others (a bundle of PEMs), as before.
                    let invalid = |e: &dyn std::fmt::Display| {
                        VerifyError::InvalidPolicy(field(&format!("public key: {e}")))
                    };
                    let der = pem::find_labelled(public_key_pem.as_bytes(), PUBLIC_KEY_LABEL)
                        .map_err(|e| invalid(&e))?
                        .contents;
                    let key = PublicKey::from_spki_der(&der).map_err(|e| invalid(&e))?;
                    keys.push((index, key));
                }
                Verifier::Keyless { identities: ids } => {
                    if ids.is_empty() {
                        return Err(VerifyError::InvalidPolicy(field(
                            "keyless authority without identities",
                        )));
                    }
                    for id in ids {
                        identities.push((
                            index,
                            CompiledIdentity {
                                issuer: CompiledMatcher::new(&id.issuer, &field("issuer"))?,
                                subject: CompiledMatcher::new(&id.subject, &field("subject"))?,
                                spec: id.clone(),
                            },
                        ));
                    }
                }
            }
        }
        let trust_root = match &self.trusted_root_json {
            Some(text) => TrustRoot::from_json(text)?,
            None => TrustRoot::default(),
        };
        let threshold = self.threshold.max(1);
        if threshold > self.authorities.len() {
            return Err(VerifyError::InvalidPolicy(format!(
                "threshold {threshold} exceeds the {} authorities the policy names",
                self.authorities.len()
            )));
        }
        Ok(CompiledPolicy {
            keys,
            identities,
            authority_names: self.authorities.iter().map(|a| a.name.clone()).collect(),
            trust_root,
            require_tlog: self.require_tlog,
            require_sct: self.require_sct,
            threshold,
            signed_repository: self
                .signed_repository
                .as_ref()
                .map(|m| CompiledMatcher::new(m, "signed repository"))
                .transpose()?,
            fingerprint: self.fingerprint(),
        })
    }
}

/// A policy ready to verify with.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    /// (authority index, key).
    pub(crate) keys: Vec<(usize, PublicKey)>,
    /// (authority index, identity).
    pub(crate) identities: Vec<(usize, CompiledIdentity)>,
    pub(crate) authority_names: Vec<String>,
    pub(crate) trust_root: TrustRoot,
    pub(crate) require_tlog: bool,
    pub(crate) require_sct: bool,
    pub(crate) threshold: usize,
    /// The repository signatures must name, when the policy asks for one.
    pub(crate) signed_repository: Option<CompiledMatcher>,
    pub(crate) fingerprint: String,
}

impl CompiledPolicy {
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The name of authority `index`.
    pub fn authority_name(&self, index: usize) -> &str {
        self.authority_names
            .get(index)
            .map(String::as_str)
            .unwrap_or("?")
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

/// For messages: the exact value, or the regexp as the policy wrote it between slashes.
impl std::fmt::Display for CompiledMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompiledMatcher::Exact(s) => f.write_str(s),
            CompiledMatcher::Regexp(r) => {
                let source = r.as_str();
                let inner = source
                    .strip_prefix("^(?:")
                    .and_then(|s| s.strip_suffix(")$"))
                    .unwrap_or(source);
                write!(f, "/{inner}/")
            }
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
            authorities: vec![Authority::key("ci", "not pem")],
            ..Policy::default()
        };
        let e = bad_key.compile().unwrap_err().to_string();
        assert!(e.contains("authority \"ci\": public key"), "{e}");
        let bad_re = Policy {
            authorities: vec![Authority::keyless(
                "gh",
                vec![Identity {
                    issuer: Matcher::Exact("i".into()),
                    subject: Matcher::Regexp("(".into()),
                }],
            )],
            ..Policy::default()
        };
        let e = bad_re.compile().unwrap_err().to_string();
        assert!(e.contains("subject regexp"), "{e}");
        // Two identities of one authority are one signer: a threshold of 2 cannot be met.
        let identity = |s: &str| Identity {
            issuer: Matcher::Exact("i".into()),
            subject: Matcher::Exact(s.into()),
        };
        let too_many = Policy {
            authorities: vec![Authority::keyless("gh", vec![identity("s"), identity("t")])],
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
        let c = Policy {
            signed_repository: Some(Matcher::Exact("r.io/charts/app".into())),
            ..a.clone()
        };
        assert_ne!(a.fingerprint(), c.fingerprint());
        // Unset, the field is not serialised: fingerprints of existing policies stay put.
        assert!(
            !serde_json::to_string(&a)
                .unwrap()
                .contains("signedRepository")
        );
    }

    #[test]
    fn signed_repository_regexp_must_compile() {
        let key =
            crate::verify::keys::SigningKey::generate(crate::verify::keys::KeyAlgorithm::EcdsaP256)
                .unwrap();
        let p = Policy {
            authorities: vec![Authority::key("k", key.public_key().to_pem())],
            signed_repository: Some(Matcher::Regexp("(".into())),
            ..Policy::default()
        };
        let e = p.compile().unwrap_err();
        assert_eq!(e.reason(), "InvalidPolicy");
        assert!(e.to_string().contains("signed repository regexp"), "{e}");
    }
}
