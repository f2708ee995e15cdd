//! Client-side validation of a `SignedChartRelease`, mirroring the OpenAPI and CEL rules in the CRD
//! so the controller, the CLI and the tests reject the same specs the API server rejects.
//!
//! It checks a little more than the API server can: regular expressions must compile and version
//! ranges must parse. Each error names the field by its JSON path (`spec.chart.digest`).

use super::SignedChartRelease;
use super::refs::{DataReference, DependencyReference, SecretKeyReference, SecretReference};
use super::spec::{
    ChartSource, DATA_KEY_PATTERN, DIGEST_PATTERN, DNS1123_LABEL_PATTERN,
    DNS1123_SUBDOMAIN_PATTERN, DURATION_PATTERN, OCI_REPOSITORY_PATTERN, SignedChartReleaseSpec,
    TARGET_PATH_PATTERN, VERSION_CHARS_PATTERN,
};
use super::verification::{Authority, KeylessIdentity, VerificationPolicy};
use regex::Regex;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::LazyLock;

/// Helm's limit on release names, which end up in label values and Secret names.
pub const MAX_RELEASE_NAME: usize = 53;

const DURATION_PART: &str = r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)";

/// One violated rule: the JSON path of the field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the offending field, e.g. `spec.verify.authorities[1]`.
    pub field: String,
    /// What is wrong and, where useful, what would be right.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every violated rule of one object (never empty).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "invalid SignedChartRelease: {}", parts.join("; "))
    }
}

impl ValidationErrors {
    /// The JSON paths of the offending fields, in the order found.
    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.field.as_str()).collect()
    }
}

/// Collects errors while walking a spec.
#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    fn pattern(&mut self, field: &str, value: &str, pattern: &'static str, what: &str) {
        if !matches(pattern, value) {
            self.fail(field, format!("{value:?} is not {what}"));
        }
    }

    fn length(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let len = value.chars().count();
        if len < min {
            self.fail(field, format!("must be at least {min} characters"));
        } else if len > max {
            self.fail(
                field,
                format!("must be at most {max} characters, got {len}"),
            );
        }
    }

    fn items<T>(&mut self, field: &str, items: &[T], min: usize, max: usize) {
        if items.len() < min {
            self.fail(field, format!("must have at least {min} item(s)"));
        } else if items.len() > max {
            self.fail(
                field,
                format!("must have at most {max} items, got {}", items.len()),
            );
        }
    }

    fn dns_label(&mut self, field: &str, value: &str, max: usize) {
        self.length(field, value, 1, max);
        self.pattern(
            field,
            value,
            DNS1123_LABEL_PATTERN,
            "a DNS-1123 label (lowercase letters, digits, '-')",
        );
    }

    fn object_name(&mut self, field: &str, value: &str) {
        self.length(field, value, 1, 253);
        self.pattern(
            field,
            value,
            DNS1123_SUBDOMAIN_PATTERN,
            "a valid object name (lowercase letters, digits, '-', '.')",
        );
    }

    fn data_key(&mut self, field: &str, value: &str) {
        self.length(field, value, 1, 253);
        self.pattern(
            field,
            value,
            DATA_KEY_PATTERN,
            "a valid data key (letters, digits, '-', '_', '.')",
        );
    }

    fn duration(&mut self, field: &str, value: &str, min_millis: f64, inclusive: bool) {
        let millis = match parse_duration(field, value) {
            Ok(duration) => duration.as_secs_f64() * 1000.0,
            Err(error) => {
                self.errors.push(error);
                return;
            }
        };
        let too_short = if inclusive {
            millis < min_millis
        } else {
            millis <= min_millis
        };
        if too_short {
            let bound = if inclusive { "at least" } else { "longer than" };
            self.fail(
                field,
                format!("must be {bound} {}s, got {value}", min_millis / 1000.0),
            );
        }
    }

    fn secret_ref(&mut self, field: &str, r: &SecretReference) {
        self.object_name(&format!("{field}.name"), &r.name);
    }

    fn secret_key_ref(&mut self, field: &str, r: &SecretKeyReference) {
        self.object_name(&format!("{field}.name"), &r.name);
        self.data_key(&format!("{field}.key"), &r.key);
    }

    fn data_ref(&mut self, field: &str, r: &DataReference) {
        self.object_name(&format!("{field}.name"), &r.name);
        self.data_key(&format!("{field}.key"), &r.key);
    }

    fn finish(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(self.errors))
        }
    }
}

impl SignedChartRelease {
    /// Validates the spec and the rules that involve the object's name (the CRD's root-level CEL
    /// rules): the default release name is `metadata.name`, so it must fit Helm's 53 characters,
    /// and a release cannot depend on itself.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut c = Checker::default();
        if let Err(errors) = self.spec.validate() {
            c.errors.extend(errors.0);
        }
        let name = self.metadata.name.as_deref().unwrap_or_default();
        if self.spec.release_name.is_none() && name.chars().count() > MAX_RELEASE_NAME {
            c.fail(
                "spec.releaseName",
                format!(
                    "must be set because metadata.name is longer than {MAX_RELEASE_NAME} characters \
                     (Helm release names are at most {MAX_RELEASE_NAME})"
                ),
            );
        }
        for (i, dep) in self.spec.depends_on.iter().enumerate() {
            if dep.name == name && dep.namespace.is_none() {
                c.fail(
                    format!("spec.dependsOn[{i}]"),
                    "a release cannot depend on itself",
                );
            }
        }
        c.finish()
    }
}

impl SignedChartReleaseSpec {
    /// Validates the spec against the same rules as the CRD schema, naming every offending field.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut c = Checker::default();
        check_chart(&mut c, &self.chart);
        check_verify(&mut c, &self.verify);

        c.items("spec.valuesFrom", &self.values_from, 0, 32);
        for (i, v) in self.values_from.iter().enumerate() {
            let field = format!("spec.valuesFrom[{i}]");
            c.object_name(&format!("{field}.name"), &v.name);
            c.data_key(&format!("{field}.valuesKey"), &v.values_key);
            if let Some(path) = &v.target_path {
                let field = format!("{field}.targetPath");
                c.length(&field, path, 1, 250);
                if !matches(TARGET_PATH_PATTERN, path) {
                    c.fail(
                        field,
                        format!("{path:?} is not a dot-separated values path such as a.b[0].c"),
                    );
                }
            }
        }
        if let Some(name) = &self.release_name {
            c.dns_label("spec.releaseName", name, MAX_RELEASE_NAME);
        }
        if let Some(ns) = &self.target_namespace {
            c.dns_label("spec.targetNamespace", ns, 63);
        }
        if let Some(sa) = &self.service_account_name {
            c.object_name("spec.serviceAccountName", sa);
        }
        c.duration("spec.interval", &self.interval, 1000.0, true);
        c.duration("spec.timeout", &self.timeout, 0.0, false);
        c.items("spec.dependsOn", &self.depends_on, 0, 32);
        for (i, dep) in self.depends_on.iter().enumerate() {
            check_dependency(&mut c, &format!("spec.dependsOn[{i}]"), dep);
        }
        if let Some(health) = &self.health {
            c.items("spec.health.checks", &health.checks, 0, 32);
            for (i, check) in health.checks.iter().enumerate() {
                let field = format!("spec.health.checks[{i}]");
                c.length(&format!("{field}.apiVersion"), &check.api_version, 1, 253);
                c.length(&format!("{field}.kind"), &check.kind, 1, 63);
                c.length(&format!("{field}.name"), &check.name, 1, 253);
                if let Some(ns) = &check.namespace {
                    c.length(&format!("{field}.namespace"), ns, 1, 63);
                }
            }
        }
        if let Some(timeout) = self.uninstall.as_ref().and_then(|u| u.timeout.as_deref()) {
            c.duration("spec.uninstall.timeout", timeout, 0.0, true);
        }
        let retries = [
            (
                "spec.install.remediation.retries",
                self.install
                    .as_ref()
                    .and_then(|i| i.remediation.as_ref())
                    .map(|r| r.retries),
            ),
            (
                "spec.upgrade.remediation.retries",
                self.upgrade
                    .as_ref()
                    .and_then(|u| u.remediation.as_ref())
                    .map(|r| r.retries),
            ),
        ];
        for (field, n) in retries {
            if let Some(n) = n.filter(|n| !(0..=100).contains(n)) {
                c.fail(field, format!("retries must be between 0 and 100, got {n}"));
            }
        }
        c.errors
            .extend(super::postrender::validate(&self.post_renderers));
        c.finish()
    }
}

fn check_chart(c: &mut Checker, chart: &ChartSource) {
    let repo = &chart.repository;
    c.length("spec.chart.repository", repo, 8, 512);
    if !matches(OCI_REPOSITORY_PATTERN, repo) {
        c.fail(
            "spec.chart.repository",
            format!(
                "{repo:?} must be an oci:// repository URL such as \
                 oci://registry.example.com/charts/name, with a lowercase path and no tag or digest"
            ),
        );
    }
    if let Some(version) = &chart.version {
        c.length("spec.chart.version", version, 1, 128);
        if matches(VERSION_CHARS_PATTERN, version) {
            if let Err(why) = check_version_constraint(version) {
                c.fail("spec.chart.version", why);
            }
        } else {
            c.fail(
                "spec.chart.version",
                format!("{version:?} is not a SemVer version or range"),
            );
        }
    }
    if let Some(digest) = &chart.digest
        && !matches(DIGEST_PATTERN, digest)
    {
        c.fail(
            "spec.chart.digest",
            format!("{digest:?} must be sha256: followed by 64 lowercase hex digits"),
        );
    }
    if let Some(registry) = &chart.registry {
        if let Some(r) = &registry.secret_ref {
            c.secret_ref("spec.chart.registry.secretRef", r);
        }
        if let Some(r) = &registry.ca_secret_ref {
            c.secret_ref("spec.chart.registry.caSecretRef", r);
        }
        if registry.plain_http && registry.ca_secret_ref.is_some() {
            c.fail(
                "spec.chart.registry",
                "caSecretRef cannot be used with plainHTTP: a plain-HTTP registry has no TLS to verify",
            );
        }
    }
}

fn check_verify(c: &mut Checker, verify: &VerificationPolicy) {
    c.items("spec.verify.authorities", &verify.authorities, 1, 16);
    let mut seen = BTreeSet::new();
    for (i, authority) in verify.authorities.iter().enumerate() {
        let field = format!("spec.verify.authorities[{i}]");
        if !seen.insert(authority.name.as_str()) {
            c.fail(
                format!("{field}.name"),
                format!("duplicate authority name {:?}", authority.name),
            );
        }
        check_authority(c, &field, authority);
    }
    if let Some(threshold) = verify.threshold {
        if !(1..=16).contains(&threshold) {
            c.fail(
                "spec.verify.threshold",
                format!("must be between 1 and 16, got {threshold}"),
            );
        } else if usize::try_from(threshold).is_ok_and(|t| t > verify.authorities.len()) {
            c.fail(
                "spec.verify.threshold",
                format!(
                    "threshold cannot be larger than the number of authorities ({threshold} > {})",
                    verify.authorities.len()
                ),
            );
        }
    }
    if !verify.require_transparency_log && verify.authorities.iter().any(|a| a.keyless.is_some()) {
        c.fail(
            "spec.verify.requireTransparencyLog",
            "keyless authorities need requireTransparencyLog: true (a short-lived signing \
             certificate can only be checked against the time recorded in the transparency log)",
        );
    }
    if let Some(root) = &verify.trust_root {
        c.data_ref("spec.verify.trustRoot", root);
    }
    if verify.signed_repository.is_some() && verify.signed_repository_reg_exp.is_some() {
        c.fail(
            "spec.verify.signedRepositoryRegExp",
            "at most one of signedRepository or signedRepositoryRegExp may be set",
        );
    }
    if let Some(repository) = &verify.signed_repository {
        c.length("spec.verify.signedRepository", repository, 1, 512);
    }
    if let Some(pattern) = &verify.signed_repository_reg_exp {
        let field = "spec.verify.signedRepositoryRegExp";
        c.length(field, pattern, 1, 512);
        if let Err(err) = Regex::new(pattern) {
            c.fail(field, format!("not a valid regular expression: {err}"));
        }
    }
}

fn check_authority(c: &mut Checker, field: &str, authority: &Authority) {
    c.dns_label(&format!("{field}.name"), &authority.name, 63);
    match (&authority.key, &authority.keyless) {
        (Some(_), Some(_)) | (None, None) => {
            c.fail(field, "exactly one of key or keyless must be set");
        }
        _ => {}
    }
    if let Some(key) = &authority.key {
        c.secret_key_ref(&format!("{field}.key.secretRef"), &key.secret_ref);
    }
    if let Some(keyless) = &authority.keyless {
        let list = format!("{field}.keyless.identities");
        c.items(&list, &keyless.identities, 1, 16);
        for (i, identity) in keyless.identities.iter().enumerate() {
            check_identity(c, &format!("{list}[{i}]"), identity);
        }
    }
}

fn check_identity(c: &mut Checker, field: &str, identity: &KeylessIdentity) {
    let pairs = [
        (
            "issuer",
            &identity.issuer,
            "issuerRegExp",
            &identity.issuer_reg_exp,
        ),
        (
            "subject",
            &identity.subject,
            "subjectRegExp",
            &identity.subject_reg_exp,
        ),
    ];
    for (exact_name, exact, re_name, re) in pairs {
        if exact.is_some() == re.is_some() {
            c.fail(
                field,
                format!("exactly one of {exact_name} or {re_name} must be set"),
            );
        }
        if let Some(value) = exact {
            c.length(&format!("{field}.{exact_name}"), value, 1, 512);
        }
        if let Some(pattern) = re {
            let re_field = format!("{field}.{re_name}");
            c.length(&re_field, pattern, 1, 512);
            if let Err(err) = Regex::new(pattern) {
                c.fail(re_field, format!("not a valid regular expression: {err}"));
            }
        }
    }
}

fn check_dependency(c: &mut Checker, field: &str, dep: &DependencyReference) {
    c.object_name(&format!("{field}.name"), &dep.name);
    if let Some(ns) = &dep.namespace {
        c.dns_label(&format!("{field}.namespace"), ns, 63);
    }
}

/// Checks that `constraint` is an exact SemVer version or a range in the syntax Helm accepts:
/// comparators (`>=1.2.0`, `<2`, `~1.4`, `^1`, `1.x`, `*`) separated by spaces or commas, hyphen
/// ranges (`1.2 - 1.4`) and alternatives joined by `||`.
pub fn check_version_constraint(constraint: &str) -> Result<(), String> {
    let trimmed = constraint.trim();
    if semver::Version::parse(trimmed.trim_start_matches('v')).is_ok() {
        return Ok(());
    }
    for alternative in trimmed.split("||") {
        let normalized = normalize_range(alternative);
        if normalized.is_empty() {
            return Err(format!(
                "{constraint:?} has an empty alternative around '||'"
            ));
        }
        if let Err(err) = semver::VersionReq::parse(&normalized) {
            return Err(format!(
                "{constraint:?} is not a SemVer version or range: {err}"
            ));
        }
    }
    Ok(())
}

/// Rewrites one Helm-style range alternative into the comma-separated form `semver` parses.
fn normalize_range(alternative: &str) -> String {
    let tokens: Vec<&str> = alternative
        .split(|ch: char| ch.is_whitespace() || ch == ',')
        .filter(|t| !t.is_empty())
        .collect();
    let mut comparators: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // `A - B` is the inclusive range >=A, <=B.
        if tokens.get(i + 1) == Some(&"-")
            && let Some(upper) = tokens.get(i + 2)
        {
            comparators.push(format!(">={}", strip_v(tokens[i])));
            comparators.push(format!("<={}", strip_v(upper)));
            i += 3;
            continue;
        }
        let token = tokens[i];
        let is_operator_only = token.chars().all(|ch| "<>=!~^".contains(ch));
        if is_operator_only && let Some(next) = tokens.get(i + 1) {
            // `>= 1.2` with a space between operator and version.
            comparators.push(format!("{token}{}", strip_v(next)));
            i += 2;
            continue;
        }
        let op_len = token.len()
            - token
                .trim_start_matches(|ch: char| "<>=!~^".contains(ch))
                .len();
        let (op, version) = token.split_at(op_len);
        comparators.push(format!("{op}{}", strip_v(version)));
        i += 1;
    }
    // Helm's `!=X` has no `semver` equivalent; this only checks syntax, so check X as `=X`.
    comparators
        .iter()
        .map(|c| match c.strip_prefix("!=") {
            Some(version) => format!("={version}"),
            None => c.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn strip_v(version: &str) -> &str {
    version.strip_prefix('v').unwrap_or(version)
}

/// Parses a Go-style duration (`30s`, `5m`, `1h30m`, `1.5s`, `250ms`) in `field`.
pub fn parse_duration(field: &str, value: &str) -> Result<std::time::Duration, FieldError> {
    if value.len() > 32 || !matches(DURATION_PATTERN, value) {
        return Err(FieldError {
            field: field.to_owned(),
            message: format!("{value:?} is not a Go duration such as 30s, 5m or 1h30m"),
        });
    }
    let millis = duration_millis(value);
    // The pattern admits only digits and units, so the total is finite and non-negative; the
    // bound keeps Duration::from_secs_f64 from panicking on absurd values such as 10^30h.
    if !(0.0..=1e15).contains(&millis) {
        return Err(FieldError {
            field: field.to_owned(),
            message: format!("{value:?} is too long a duration"),
        });
    }
    Ok(std::time::Duration::from_secs_f64(millis / 1000.0))
}

/// Total length in milliseconds of a duration already matched against [`DURATION_PATTERN`].
fn duration_millis(value: &str) -> f64 {
    let Some(part) = compiled(DURATION_PART) else {
        return 0.0;
    };
    part.captures_iter(value)
        .map(|cap| {
            let n: f64 = cap[1].parse().unwrap_or(0.0);
            let unit = match &cap[2] {
                "ms" => 1.0,
                "s" => 1000.0,
                "m" => 60_000.0,
                _ => 3_600_000.0,
            };
            n * unit
        })
        .sum()
}

/// Every pattern this module matches against, compiled once.
const PATTERNS: [&str; 9] = [
    DNS1123_LABEL_PATTERN,
    DNS1123_SUBDOMAIN_PATTERN,
    DATA_KEY_PATTERN,
    VERSION_CHARS_PATTERN,
    DURATION_PATTERN,
    DURATION_PART,
    OCI_REPOSITORY_PATTERN,
    DIGEST_PATTERN,
    TARGET_PATH_PATTERN,
];

fn compiled(pattern: &str) -> Option<&'static Regex> {
    static COMPILED: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
        PATTERNS
            .iter()
            .filter_map(|p| Regex::new(p).ok().map(|re| (*p, re)))
            .collect()
    });
    COMPILED
        .iter()
        .find(|(p, _)| *p == pattern)
        .map(|(_, re)| re)
}

/// Whether `value` matches one of [`PATTERNS`]; a pattern that failed to compile matches nothing,
/// so a bug there rejects input instead of panicking (tests/api.rs validates samples that use
/// every pattern).
fn matches(pattern: &str, value: &str) -> bool {
    compiled(pattern).is_some_and(|re| re.is_match(value))
}
