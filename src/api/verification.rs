//! The signature verification policy of a `SignedChartRelease`: who must have signed the chart
//! artifact (public keys or keyless identities), how many of them, and which trust root and
//! transparency-log guarantees apply.

use super::refs::{DataReference, SecretKeyReference};
use super::spec::DNS1123_LABEL_PATTERN;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who must have signed the chart artifact before anything is rendered or applied.
///
/// The controller verifies cosign signatures of the chart's OCI manifest digest. The chart is only
/// used when at least `threshold` distinct authorities each matched at least one valid signature.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.threshold) || self.threshold <= size(self.authorities)",
        "message": "threshold cannot be larger than the number of authorities",
        "fieldPath": ".threshold"
    },
    {
        "rule": "!(has(self.signedRepository) && has(self.signedRepositoryRegExp))",
        "message": "at most one of signedRepository or signedRepositoryRegExp may be set",
        "fieldPath": ".signedRepositoryRegExp"
    },
    {
        "rule": "self.requireTransparencyLog || !self.authorities.exists(a, has(a.keyless))",
        "message": "keyless authorities need requireTransparencyLog: true (a short-lived signing certificate can only be checked against the time recorded in the transparency log)",
        "fieldPath": ".requireTransparencyLog"
    }
]))]
pub struct VerificationPolicy {
    /// The authorities whose signatures are accepted. Each entry is either a public key (`key`) or a
    /// set of keyless identities (`keyless`); names must be unique.
    #[schemars(length(min = 1, max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub authorities: Vec<Authority>,
    /// How many distinct authorities must have signed the chart. Defaults to 1, which means any one
    /// of them; set it to the number of authorities to require all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 16))]
    pub threshold: Option<i32>,
    /// Sigstore trusted root (the `trusted_root.json` format) holding the Fulcio, Rekor and
    /// timestamp-authority keys to trust, read from a ConfigMap or Secret. When unset, the trust root
    /// of the public Sigstore instance that ships with the controller is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_root: Option<DataReference>,
    /// Require each signature to carry a verified transparency-log (Rekor) inclusion proof.
    /// Defaults to true. Only set it to false for key-based signatures made offline or against a
    /// private registry without a transparency log.
    #[serde(default = "default_true")]
    pub require_transparency_log: bool,
    /// The repository the signature must have been made for (`HOST/REPO`, the
    /// `critical.identity.docker-reference` cosign signs), e.g. `ghcr.io/acme/charts/app`.
    /// Unset (the default, as in cosign), a signature binds only the chart's digest, so a chart
    /// copied with its signatures to a mirror (`cosign copy`, `oras cp -r`, registry replication)
    /// verifies there. Set it to accept only signatures made for that repository; Sigstore
    /// bundles (which name only the digest) then do not count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub signed_repository: Option<String>,
    /// Like `signedRepository`, as a regular expression (RE2 syntax, matched against the whole
    /// repository), e.g. `ghcr\.io/acme/charts/.*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub signed_repository_reg_exp: Option<String>,
}

/// One accepted signer: exactly one of `key` or `keyless`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.key) != has(self.keyless)",
        "message": "exactly one of key or keyless must be set"
    }
]))]
pub struct Authority {
    /// Name of this authority, unique within the policy. It is reported in the status as the
    /// verified signer and counted towards the threshold.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = DNS1123_LABEL_PATTERN)
    )]
    pub name: String,
    /// Verify with a public key (a cosign key pair, KMS key exported as PEM, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyAuthority>,
    /// Verify keyless (Sigstore Fulcio) signatures against the signer's OIDC identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyless: Option<KeylessAuthority>,
}

/// A public key read from a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyAuthority {
    /// Secret key holding the PEM-encoded public key (as written by `cosign generate-key-pair`,
    /// usually under the key `cosign.pub`).
    pub secret_ref: SecretKeyReference,
}

/// Keyless signers, identified by the OIDC issuer and subject in their Fulcio certificate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeylessAuthority {
    /// The identities accepted for this authority; a signature matching any one of them counts.
    #[schemars(length(min = 1, max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub identities: Vec<KeylessIdentity>,
}

/// One accepted keyless identity: the OIDC issuer (exact or regular expression) and the subject
/// (exact or regular expression), for example a CI workflow's identity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.issuer) != has(self.issuerRegExp)",
        "message": "exactly one of issuer or issuerRegExp must be set"
    },
    {
        "rule": "has(self.subject) != has(self.subjectRegExp)",
        "message": "exactly one of subject or subjectRegExp must be set"
    }
]))]
pub struct KeylessIdentity {
    /// The exact OIDC issuer URL, e.g. `https://token.actions.githubusercontent.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub issuer: Option<String>,
    /// A regular expression (RE2 syntax, matched against the whole issuer) for the OIDC issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub issuer_reg_exp: Option<String>,
    /// The exact certificate subject (an e-mail address or a URI such as a CI workflow reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub subject: Option<String>,
    /// A regular expression (RE2 syntax, matched against the whole subject) for the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub subject_reg_exp: Option<String>,
}

fn default_true() -> bool {
    true
}
