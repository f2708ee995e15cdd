//! Sigstore conformance: every bundle-verification case of the corpus (`sigstore-conformance/
//! INDEX.json`) must give its expected result through `signet::verify::verify_bundle`.
//! Cases listed in `tests/sigstore_conformance.known-differences` are reported but not fatal; a
//! listed case that now passes fails the test, so the list stays honest.

use signet::verify::{Identity, Matcher, Policy, verify_bundle};
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    match std::env::var_os("SIGNET_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    }
}

fn known_differences() -> Vec<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigstore_conformance.known-differences");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Runs one case; Ok(detail) when the outcome is the expected one.
fn run_case(base: &Path, case: &serde_json::Value) -> Result<String, String> {
    let s = |k: &str| case.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let expect_success = s("expect").as_deref() == Some("success");
    let bundle = std::fs::read(base.join(s("bundle").ok_or("case without bundle")?))
        .map_err(|e| e.to_string())?;
    let artifact = std::fs::read(base.join(s("artifact").ok_or("case without artifact")?))
        .map_err(|e| e.to_string())?;
    let trusted_root =
        std::fs::read_to_string(base.join(s("trusted_root").ok_or("case without trusted root")?))
            .map_err(|e| e.to_string())?;
    let mut policy = Policy {
        trusted_root_json: Some(trusted_root),
        require_tlog: true,
        require_sct: true,
        threshold: 1,
        ..Policy::default()
    };
    if s("verification").as_deref() == Some("public-key") {
        let key = std::fs::read_to_string(
            base.join(s("public_key").ok_or("public-key case without key")?),
        )
        .map_err(|e| e.to_string())?;
        policy.public_keys.push(key);
    } else {
        policy.identities.push(Identity {
            issuer: Matcher::Exact(s("issuer").ok_or("case without issuer")?),
            subject: Matcher::Exact(s("identity").ok_or("case without identity")?),
        });
    }
    // An unusable policy input (such as a corrupt key file) is a verification failure too.
    let result = policy
        .compile()
        .and_then(|compiled| verify_bundle(&bundle, &artifact, &compiled));
    match (result, expect_success) {
        (Ok(v), true) => Ok(format!("verified: {}", v.signer_description)),
        (Err(e), false) => Ok(format!("rejected ({}): {e}", e.reason())),
        (Ok(v), false) => Err(format!(
            "expected failure, but verified: {}",
            v.signer_description
        )),
        (Err(e), true) => Err(format!("expected success, got {} — {e}", e.reason())),
    }
}

#[test]
fn sigstore_conformance_bundle_verify() {
    let base = corpus_dir().join("sigstore-conformance");
    let index_path = base.join("INDEX.json");
    let Ok(index_text) = std::fs::read_to_string(&index_path) else {
        eprintln!(
            "sigstore-conformance corpus not found at {}; skipping",
            index_path.display()
        );
        return;
    };
    let index: serde_json::Value = serde_json::from_str(&index_text).expect("INDEX.json is JSON");
    let cases = index["cases"].as_array().expect("cases array");
    let known = known_differences();
    let (mut passed, mut failures, mut stale) = (0, Vec::new(), Vec::new());
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?").to_string();
        match run_case(&base, case) {
            Ok(detail) => {
                passed += 1;
                eprintln!("  ok   {name}: {detail}");
                if known.contains(&name) {
                    stale.push(name);
                }
            }
            Err(detail) => {
                eprintln!("  FAIL {name}: {detail}");
                if !known.contains(&name) {
                    failures.push(name);
                }
            }
        }
    }
    eprintln!(
        "corpus sigstore-conformance: {passed}/{} passed",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "unexpected conformance failures: {failures:?}"
    );
    assert!(
        stale.is_empty(),
        "cases in the known-differences file now pass; remove them: {stale:?}"
    );
}
