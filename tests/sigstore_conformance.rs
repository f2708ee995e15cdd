//! Sigstore conformance: every bundle-verification case of the corpus (`sigstore-conformance/
//! INDEX.json`) must give its expected result through `signet::verify::verify_bundle`.
//! Cases listed in `tests/sigstore_conformance.known-differences` are reported but not fatal; a
//! listed case that now passes fails the test, so the list stays honest. As upstream's harness
//! does, each case runs twice: over the artifact bytes and over its `sha256` digest only.
//! The cosign-fixtures bundles (cosign's OCI attestation, sigstore-rs' v0.3 bundle) are checked too.

use signet::verify::{Artifact, Authority, Identity, Matcher, Policy, verify_bundle};
use std::path::Path;

#[path = "support/corpus.rs"]
mod corpus;
use corpus::{CaseTally, corpus_dir};

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
        policy.authorities.push(Authority::key("key", key));
    } else {
        policy.authorities.push(Authority::keyless(
            "identity",
            vec![Identity {
                issuer: Matcher::Exact(s("issuer").ok_or("case without issuer")?),
                subject: Matcher::Exact(s("identity").ok_or("case without identity")?),
            }],
        ));
    }
    let digest: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(&artifact).into()
    };
    let mut details = Vec::new();
    for (mode, input) in [
        ("bytes", Artifact::Bytes(&artifact)),
        ("digest", Artifact::Sha256(digest)),
    ] {
        // An unusable policy input (such as a corrupt key file) is a verification failure too.
        let result = policy
            .compile()
            .and_then(|compiled| verify_bundle(&bundle, input, &compiled));
        match (result, expect_success) {
            (Ok(v), true) => details.push(format!("{mode}: verified {}", v.signer_description)),
            (Err(e), false) => details.push(format!("{mode}: rejected ({}) {e}", e.reason())),
            (Ok(v), false) => {
                return Err(format!(
                    "{mode}: expected failure, but verified: {}",
                    v.signer_description
                ));
            }
            (Err(e), true) => {
                return Err(format!(
                    "{mode}: expected success, got {} — {e}",
                    e.reason()
                ));
            }
        }
    }
    Ok(details.join("; "))
}

#[test]
fn sigstore_conformance_bundle_verify() {
    let base = corpus_dir().join("sigstore-conformance");
    let index_path = base.join("INDEX.json");
    let Ok(index_text) = std::fs::read_to_string(&index_path) else {
        corpus::skip(
            "sigstore-conformance",
            &format!("corpus not found at {}", index_path.display()),
        );
        return;
    };
    let index: serde_json::Value = serde_json::from_str(&index_text).expect("INDEX.json is JSON");
    let cases = index["cases"].as_array().expect("cases array");
    let mut tally = CaseTally::new(
        "sigstore-conformance",
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigstore_conformance.known-differences"),
    );
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        let result = run_case(&base, case);
        match &result {
            Ok(detail) => eprintln!("  ok   {name}: {detail}"),
            Err(detail) => eprintln!("  FAIL {name}: {detail}"),
        }
        tally.record(name, &result);
    }
    tally.finish();
}

/// Bundles from cosign's and sigstore-rs' own tests, verified against the trusted roots shipped
/// beside them: by digest (the OCI subject) and identity; a wrong digest or identity fails.
#[test]
fn cosign_fixture_bundles() {
    let base = corpus_dir().join("cosign-fixtures");
    if !base.join("INDEX.json").is_file() {
        corpus::skip(
            "cosign-fixtures",
            &format!("corpus not found at {}", base.display()),
        );
        return;
    }
    let hex32 = |h: &str| -> [u8; 32] { hex::decode(h).unwrap().try_into().unwrap() };
    let cases = [
        (
            "cosign/pkg/cosign/testdata/oci-attestation.sigstore.json",
            "cosign/pkg/cosign/testdata/trusted_root_pgi.json",
            "732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4",
            "cody@soyland.com",
            "https://github.com/login/oauth",
        ),
        (
            "sigstore-rs/tests/data/bundle_v03.json",
            "sigstore-rs/trust_root/prod/trusted_root.json",
            "c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172",
            "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0",
            "https://token.actions.githubusercontent.com",
        ),
    ];
    let mut passed = 0;
    for (bundle, root, digest, subject, issuer) in cases {
        let bundle = std::fs::read(base.join(bundle)).unwrap();
        let policy = |subject: &str| Policy {
            authorities: vec![Authority::keyless(
                "identity",
                vec![Identity {
                    issuer: Matcher::Exact(issuer.into()),
                    subject: Matcher::Exact(subject.into()),
                }],
            )],
            trusted_root_json: Some(std::fs::read_to_string(base.join(root)).unwrap()),
            require_tlog: true,
            require_sct: true,
            threshold: 1,
            ..Policy::default()
        };
        let good = policy(subject).compile().unwrap();
        let v = verify_bundle(&bundle, Artifact::Sha256(hex32(digest)), &good);
        assert!(v.is_ok(), "{subject}: {v:?}");
        let mut other = hex32(digest);
        other[0] ^= 1;
        let e = verify_bundle(&bundle, Artifact::Sha256(other), &good).unwrap_err();
        assert_eq!(e.reason(), "DigestMismatch", "{e}");
        let wrong = policy("someone@else.example").compile().unwrap();
        let e = verify_bundle(&bundle, Artifact::Sha256(hex32(digest)), &wrong).unwrap_err();
        assert_eq!(e.reason(), "IdentityMismatch", "{e}");
        passed += 1;
    }
    eprintln!("cosign-fixtures bundles: {passed}/{} verified", cases.len());
}
