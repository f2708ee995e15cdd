//! Verification against a real registry (Debian's docker-registry) with signatures made by the
//! real cosign 2.5: the `.sig` tag, OCI 1.1 referrers (fallback tag on this registry), key-signed
//! Sigstore bundles from `cosign attest --new-bundle-format`, bring-your-own certificates from a
//! test CA with Fulcio-style extensions, thresholds, TLS + auth, and every fail-closed case with
//! its specific reason.

#[path = "support/sigstore_mock.rs"]
mod sigstore_mock;
mod support;

use base64::Engine;
use signet::registry::{OciReference, RegistryClient};
use signet::verify::{
    Authority, Identity, Matcher, Policy, ReferrersMode, Sources, VerificationCache, Verified,
    VerifyError, resolve_for_verification, verify,
};
use sigstore_mock::{SigstoreMock, identity_token};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::registry::TestRegistry;
use support::tools;

const PASSWORD: &str = "signet-test-password";

/// A registry, a scratch directory and the tools.
struct Fixture {
    reg: TestRegistry,
    dir: tempfile::TempDir,
    cosign: PathBuf,
    oras: PathBuf,
    client: RegistryClient,
}

impl Fixture {
    fn new() -> Option<Self> {
        Self::with(TestRegistry::plain()?)
    }

    fn with(reg: TestRegistry) -> Option<Self> {
        let cosign = tools::tool("cosign")?;
        let oras = tools::tool("oras")?;
        let client = RegistryClient::new(reg.options()).expect("client");
        Some(Self {
            reg,
            dir: tools::temp_dir(),
            cosign,
            oras,
            client,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `host/repo` as cosign and oras spell it.
    fn image(&self, repo_tag: &str) -> String {
        format!("{}/{}", self.reg.host, repo_tag)
    }

    fn oras_cmd(&self) -> Command {
        let mut c = Command::new(&self.oras);
        c.current_dir(self.dir.path());
        c
    }

    fn registry_flags_oras(&self, c: &mut Command) {
        match &self.reg.ca_file {
            None => {
                c.arg("--plain-http");
            }
            Some(ca) => {
                c.arg("--ca-file").arg(ca);
            }
        }
        if let Some((u, p)) = &self.reg.credentials {
            c.args(["-u", u, "-p", p]);
        }
    }

    /// Pushes a one-file artifact and returns its digest.
    fn push(&self, repo_tag: &str, content: &str) -> String {
        let file = format!("file-{}.txt", rand_suffix());
        std::fs::write(self.path(&file), content).unwrap();
        let mut c = self.oras_cmd();
        c.arg("push");
        self.registry_flags_oras(&mut c);
        c.arg(self.image(repo_tag)).arg(&file);
        tools::run_ok(&mut c);
        let mut r = self.oras_cmd();
        r.arg("resolve");
        self.registry_flags_oras(&mut r);
        r.arg(self.image(repo_tag));
        tools::run_ok(&mut r).trim().to_string()
    }

    /// Pushes a file with a given media type as an artifact (used to craft bad signatures).
    fn push_raw(&self, repo_tag: &str, bytes: &[u8], media_type: &str, annotations: Option<&str>) {
        let file = format!("raw-{}", rand_suffix());
        std::fs::write(self.path(&file), bytes).unwrap();
        let mut c = self.oras_cmd();
        c.arg("push");
        self.registry_flags_oras(&mut c);
        if let Some(a) = annotations {
            let af = self.path(&format!("ann-{}.json", rand_suffix()));
            std::fs::write(&af, a).unwrap();
            c.arg("--annotation-file").arg(af);
        }
        c.arg(self.image(repo_tag))
            .arg(format!("{file}:{media_type}"));
        tools::run_ok(&mut c);
    }

    fn cosign_cmd(&self) -> Command {
        let mut c = Command::new(&self.cosign);
        c.current_dir(self.dir.path())
            .env("COSIGN_PASSWORD", PASSWORD)
            .env("HOME", self.dir.path())
            .env("COSIGN_YES", "true");
        if let Some(cfg) = &self.reg.docker_config {
            c.env("DOCKER_CONFIG", cfg.parent().unwrap());
        }
        c
    }

    fn cosign_registry_flags(&self, c: &mut Command) {
        c.arg("--allow-http-registry");
        if let Some(ca) = &self.reg.ca_file {
            c.arg("--registry-cacert").arg(ca);
        }
    }

    /// `cosign generate-key-pair` → (private key, public key).
    fn keypair(&self, prefix: &str) -> (PathBuf, PathBuf) {
        tools::run_ok(
            self.cosign_cmd()
                .args(["generate-key-pair", "--output-key-prefix", prefix]),
        );
        (
            self.path(&format!("{prefix}.key")),
            self.path(&format!("{prefix}.pub")),
        )
    }

    fn cosign_sign(&self, key: &Path, image: &str, extra: &[&str], env: &[(&str, &str)]) {
        let mut c = self.cosign_cmd();
        c.arg("sign")
            .arg("--key")
            .arg(key)
            .arg("--tlog-upload=false");
        self.cosign_registry_flags(&mut c);
        c.args(extra).arg(image);
        for (k, v) in env {
            c.env(k, v);
        }
        tools::run_ok(&mut c);
    }

    /// `cosign sign --key` uploading to a Rekor at `rekor_url` (key from `rekor.pub` here).
    fn cosign_sign_logged(&self, key: &Path, image: &str, rekor_url: &str) {
        let mut c = self.cosign_cmd();
        c.arg("sign")
            .arg("--key")
            .arg(key)
            .arg("--tlog-upload=true");
        c.args(["--rekor-url", rekor_url]);
        c.env("SIGSTORE_REKOR_PUBLIC_KEY", self.path("rekor.pub"));
        self.cosign_registry_flags(&mut c);
        c.arg(image);
        tools::run_ok(&mut c);
    }

    /// Signs cosign's payload for `signed_for` with `key` (no tlog) and attaches it, as a
    /// `.sig` signature, to `attach_to`: a real signature whose payload may name another artifact.
    fn attach_signed_payload(&self, key: &Path, signed_for: &str, attach_to: &str, name: &str) {
        let payload_file = format!("{name}.json");
        let sig_file = format!("{name}.sig");
        let payload = tools::run_ok(
            self.cosign_cmd()
                .arg("generate")
                .arg(self.image(signed_for)),
        );
        std::fs::write(self.path(&payload_file), payload.trim()).unwrap();
        let sig = tools::run_ok(
            self.cosign_cmd()
                .args(["sign-blob", "--tlog-upload=false", "--key"])
                .arg(key)
                .arg(&payload_file),
        );
        std::fs::write(self.path(&sig_file), sig.trim()).unwrap();
        let mut attach = self.cosign_cmd();
        attach.args([
            "attach",
            "signature",
            "--payload",
            &payload_file,
            "--signature",
            &sig_file,
        ]);
        attach.arg(self.image(attach_to));
        tools::run_ok(&mut attach);
    }

    fn reference(&self, repo: &str) -> OciReference {
        OciReference::parse(&self.reg.oci(repo)).unwrap()
    }

    async fn verify(
        &self,
        repo: &str,
        digest: &str,
        policy: &Policy,
        mode: ReferrersMode,
    ) -> Result<Verified, VerifyError> {
        let compiled = policy.compile()?;
        let sources = Sources {
            registry: &self.client,
            mode,
        };
        verify(digest, &self.reference(repo), &compiled, &sources).await
    }

    /// Verifies and expects the failure `reason` (see [`expect_reason`]).
    async fn verify_fails(
        &self,
        repo: &str,
        digest: &str,
        policy: &Policy,
        mode: ReferrersMode,
        reason: &str,
    ) -> VerifyError {
        expect_reason(self.verify(repo, digest, policy, mode).await, reason)
    }

    /// `signet verify REFERENCE --key PUBLIC --insecure-ignore-tlog EXTRA… <registry flags>`.
    fn signet_verify_key(
        &self,
        reference: &str,
        public: &Path,
        extra: &[&str],
    ) -> std::process::Output {
        let mut args = vec![
            "verify",
            reference,
            "--key",
            public.to_str().unwrap(),
            "--insecure-ignore-tlog",
        ];
        args.extend_from_slice(extra);
        self.signet(&args)
    }

    fn signet(&self, args: &[&str]) -> std::process::Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
        c.args(args).args(self.reg.cli_flags());
        tools::run(&mut c)
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn key_policy(pubs: &[&Path]) -> Policy {
    Policy {
        authorities: pubs
            .iter()
            .map(|p| Authority::key(p.display().to_string(), std::fs::read_to_string(p).unwrap()))
            .collect(),
        require_tlog: false,
        threshold: 1,
        ..Policy::default()
    }
}

#[track_caller]
fn expect_reason(result: Result<Verified, VerifyError>, reason: &str) -> VerifyError {
    match result {
        Ok(v) => panic!("expected failure {reason}, but verified: {v:?}"),
        Err(e) => {
            assert_eq!(e.reason(), reason, "wrong reason; error: {e}");
            eprintln!("fail-closed {reason}: {e}");
            e
        }
    }
}

/// cosign sign (key, `.sig` tag) → signet verify passes, through the library and the CLI; every
/// key/payload/tag failure has its own reason.
#[tokio::test]
async fn cosign_key_signatures_and_fail_closed_cases() {
    let Some(fx) = Fixture::new() else { return };
    let (key, public) = fx.keypair("k1");
    let (_key2, public2) = fx.keypair("k2");
    let policy = key_policy(&[&public]);
    let digest = fx.push("charts/demo:1.0", "chart one");
    fx.cosign_sign(&key, &fx.image(&format!("charts/demo@{digest}")), &[], &[]);

    // Pass: library and CLI (text and JSON).
    let v = fx
        .verify("charts/demo", &digest, &policy, ReferrersMode::All)
        .await
        .unwrap();
    assert_eq!(v.digest, digest);
    assert_eq!(v.signers.len(), 1);
    let out = fx.signet_verify_key(
        &fx.reg.oci("charts/demo:1.0"),
        &public,
        &["--output", "json"],
    );
    assert!(
        out.status.success(),
        "signet verify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["verified"], true);
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["digest"], digest.as_str());
    eprintln!("interop: cosign sign (key, .sig) -> signet verify: ok");

    // `--version` is the chart version here, as in `signet pull`: a range picks the highest
    // matching tag, and a version that matches nothing fails (it never prints the program version
    // and exits 0, which would let a CI step pass without verifying).
    let versioned = fx.push("charts/ver:1.2.3", "versioned chart");
    fx.push("charts/ver:2.0.0", "unsigned later major");
    fx.cosign_sign(
        &key,
        &fx.image(&format!("charts/ver@{versioned}")),
        &[],
        &[],
    );
    let out = fx.signet_verify_key(
        &fx.reg.oci("charts/ver"),
        &public,
        &["--version", "^1", "--output", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["digest"], versioned.as_str());
    let out = fx.signet_verify_key(&fx.reg.oci("charts/ver"), &public, &["--version", "2.0.0"]);
    assert!(!out.status.success(), "an unsigned version verified");
    assert!(String::from_utf8_lossy(&out.stderr).contains("NoSignatures"));
    let out = fx.signet_verify_key(&fx.reg.oci("charts/ver"), &public, &["--version", ">=3"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("1.2.3") && err.contains("2.0.0"), "{err}");
    let out = fx.signet_verify_key(&fx.reg.oci("charts/ver"), &public, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("--version"), "no tag and no --version: {err}");

    // Wrong key.
    fx.verify_fails(
        "charts/demo",
        &digest,
        &key_policy(&[&public2]),
        ReferrersMode::All,
        "KeyMismatch",
    )
    .await;
    let out = fx.signet_verify_key(&fx.reg.oci("charts/demo:1.0"), &public2, &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("KeyMismatch"));
    let out = fx.signet_verify_key(&fx.reg.oci("charts/demo:1.0"), &public2, &["-o", "json"]);
    assert!(!out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (doc["ok"].clone(), doc["reason"].clone()),
        (false.into(), "KeyMismatch".into())
    );

    // No signature at all.
    let unsigned = fx.push("charts/demo:unsigned", "never signed");
    fx.verify_fails(
        "charts/demo",
        &unsigned,
        &policy,
        ReferrersMode::All,
        "NoSignatures",
    )
    .await;

    // Payload naming another digest: a real signature over cosign's payload for digest A,
    // attached to digest B.
    let other = fx.push("charts/demo:2.0", "chart two");
    fx.attach_signed_payload(
        &key,
        &format!("charts/demo@{digest}"),
        &format!("charts/demo@{other}"),
        "payload-a",
    );
    fx.verify_fails(
        "charts/demo",
        &other,
        &policy,
        ReferrersMode::All,
        "DigestMismatch",
    )
    .await;

    // Payload naming another repository (same digest, signed for other/repo): as in cosign the
    // signature binds the digest, so it counts unless the policy names the signed repository.
    let third = fx.push("charts/demo:3.0", "chart three");
    fx.attach_signed_payload(
        &key,
        &format!("other/repo@{third}"),
        &format!("charts/demo@{third}"),
        "payload-b",
    );
    fx.verify("charts/demo", &third, &policy, ReferrersMode::All)
        .await
        .expect("a signature naming another repository binds the digest");
    let named = Policy {
        signed_repository: Some(Matcher::Exact(format!("{}/charts/demo", fx.reg.host))),
        ..policy.clone()
    };
    fx.verify_fails(
        "charts/demo",
        &third,
        &named,
        ReferrersMode::All,
        "RepositoryMismatch",
    )
    .await;

    // Tag moved after signing: 1.0 was signed at `digest`, then re-pushed.
    let moved = fx.push("charts/demo:1.0", "chart one, replaced");
    assert_ne!(moved, digest);
    let pinned =
        OciReference::parse(&format!("{}@{digest}", fx.reg.oci("charts/demo:1.0"))).unwrap();
    let r = resolve_for_verification(&pinned, &fx.client)
        .await
        .map(|_| unreachable_verified());
    expect_reason(r, "TagMoved");
    let out = fx.signet_verify_key(
        &format!("{}@{digest}", fx.reg.oci("charts/demo:1.0")),
        &public,
        &[],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("TagMoved"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And the moved tag itself carries no signature.
    fx.verify_fails(
        "charts/demo",
        &moved,
        &policy,
        ReferrersMode::All,
        "NoSignatures",
    )
    .await;
}

fn unreachable_verified() -> Verified {
    panic!("resolve_for_verification should have failed")
}

/// Two signers, thresholds, and the verification cache (warm hits touch no registry).
#[tokio::test]
async fn threshold_and_cache() {
    let Some(fx) = Fixture::new() else { return };
    let (k1, p1) = fx.keypair("t1");
    let (k2, p2) = fx.keypair("t2");
    let (_k3, p3) = fx.keypair("t3");
    let digest = fx.push("charts/multi:1.0", "multi-signed");
    let image = fx.image(&format!("charts/multi@{digest}"));
    fx.cosign_sign(&k1, &image, &[], &[]);
    fx.cosign_sign(&k2, &image, &[], &[]);

    let mut policy = key_policy(&[&p1, &p2]);
    policy.threshold = 2;
    let v = fx
        .verify("charts/multi", &digest, &policy, ReferrersMode::Legacy)
        .await
        .unwrap();
    assert_eq!(v.signers.len(), 2);
    eprintln!("interop: two cosign signers, threshold 2: ok");

    let mut short = key_policy(&[&p1, &p3]);
    short.threshold = 2;
    let e = fx
        .verify_fails(
            "charts/multi",
            &digest,
            &short,
            ReferrersMode::Legacy,
            "ThresholdNotMet",
        )
        .await;
    assert!(matches!(
        e,
        VerifyError::ThresholdNotMet {
            matched: 1,
            threshold: 2,
            ..
        }
    ));

    // Cache: the second verification is served without the registry (it is shut down first).
    let cache = VerificationCache::default();
    let compiled = policy.compile().unwrap();
    let reference = fx.reference("charts/multi");
    let sources = Sources {
        registry: &fx.client,
        mode: ReferrersMode::Legacy,
    };
    cache
        .verify(&digest, &reference, &compiled, &sources)
        .await
        .unwrap();
    let Fixture { reg, client, .. } = fx;
    drop(reg);
    let sources = Sources {
        registry: &client,
        mode: ReferrersMode::Legacy,
    };
    let warm = cache
        .verify(&digest, &reference, &compiled, &sources)
        .await
        .unwrap();
    assert_eq!(warm.digest, digest);
    // A different policy is a different key: it must go to the (now absent) registry and fail.
    let other = key_policy(&[&p1]).compile().unwrap();
    let r = cache.verify(&digest, &reference, &other, &sources).await;
    expect_reason(r, "RegistryError");
}

/// OCI 1.1 referrers (`COSIGN_EXPERIMENTAL=1 cosign sign --registry-referrers-mode=oci-1-1`;
/// this registry has no referrers API, so the fallback tag is used), and a key-signed Sigstore
/// bundle from `cosign attest --new-bundle-format`, refused as the attestation it is.
#[tokio::test]
async fn referrers_and_bundles() {
    let Some(fx) = Fixture::new() else { return };
    let (key, public) = fx.keypair("r1");
    let digest = fx.push("charts/refs:1.0", "referrers");
    let image = fx.image(&format!("charts/refs@{digest}"));
    fx.cosign_sign(
        &key,
        &image,
        &["--registry-referrers-mode=oci-1-1"],
        &[("COSIGN_EXPERIMENTAL", "1")],
    );
    let policy = key_policy(&[&public]);
    let v = fx
        .verify("charts/refs", &digest, &policy, ReferrersMode::Oci11)
        .await
        .unwrap();
    assert!(
        v.signers[0].location.contains("referrer"),
        "{:?}",
        v.signers
    );
    fx.verify("charts/refs", &digest, &policy, ReferrersMode::All)
        .await
        .unwrap();
    // Legacy mode only looks at the .sig tag, where there is nothing.
    fx.verify_fails(
        "charts/refs",
        &digest,
        &policy,
        ReferrersMode::Legacy,
        "NoSignatures",
    )
    .await;
    let out = fx.signet_verify_key(
        &fx.reg.oci("charts/refs:1.0"),
        &public,
        &["--registry-referrers-mode", "oci-1-1"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("interop: cosign sign --registry-referrers-mode=oci-1-1 -> signet verify: ok");

    // cosign attest --new-bundle-format: a DSSE bundle (key-signed) stored as a referrer, where
    // cosign v3 keeps signatures. Its predicate is not cosign's "signed": it is an attestation,
    // which `cosign verify` does not count as a signature, and neither does Signet.
    let att = fx.push("charts/att:1.0", "attested");
    std::fs::write(fx.path("predicate.json"), r#"{"scan":"clean"}"#).unwrap();
    let mut c = fx.cosign_cmd();
    c.args([
        "attest",
        "--new-bundle-format",
        "--type",
        "custom",
        "--predicate",
        "predicate.json",
        "--tlog-upload=false",
        "--key",
    ])
    .arg(&key);
    fx.cosign_registry_flags(&mut c);
    c.arg(fx.image(&format!("charts/att@{att}")));
    tools::run_ok(&mut c);
    fx.verify_fails(
        "charts/att",
        &att,
        &policy,
        ReferrersMode::All,
        "NotASignature",
    )
    .await;
    eprintln!("interop: cosign attest --new-bundle-format (key) -> signet verify: not a signature");
}

/// Malformed and oversized signature manifests/layers, and a registry serving corrupted bytes.
#[tokio::test]
async fn malformed_oversized_and_corrupted() {
    let Some(fx) = Fixture::new() else { return };
    let (key, public) = fx.keypair("m1");
    let policy = key_policy(&[&public]);
    let simple = "application/vnd.dev.cosign.simplesigning.v1+json";

    // Oversized: a `.sig` layer larger than the limit.
    let big = fx.push("charts/bad:big", "big");
    let huge = vec![b'x'; (signet::verify::MAX_SIGNATURE_LAYER_BYTES + 1) as usize];
    fx.push_raw(
        &format!("charts/bad:{}.sig", big.replace(':', "-")),
        &huge,
        simple,
        None,
    );
    fx.verify_fails(
        "charts/bad",
        &big,
        &policy,
        ReferrersMode::Legacy,
        "OversizedSignature",
    )
    .await;

    // Malformed: a `.sig` layer without the signature annotation.
    let bare = fx.push("charts/bad:bare", "bare");
    fx.push_raw(
        &format!("charts/bad:{}.sig", bare.replace(':', "-")),
        b"{}",
        simple,
        None,
    );
    fx.verify_fails(
        "charts/bad",
        &bare,
        &policy,
        ReferrersMode::Legacy,
        "MalformedSignature",
    )
    .await;

    // Malformed: a signature annotation that is not base64.
    let junk = fx.push("charts/bad:junk", "junk");
    // oras keys per-file annotations by file name.
    let file = format!("raw-junk-{}", rand_suffix());
    std::fs::write(fx.path(&file), b"{}").unwrap();
    let ann_path = fx.path("junk-ann.json");
    std::fs::write(
        &ann_path,
        format!(r#"{{"{file}": {{"dev.cosignproject.cosign/signature": "%%%not base64%%%"}}}}"#),
    )
    .unwrap();
    let mut c = fx.oras_cmd();
    c.arg("push");
    fx.registry_flags_oras(&mut c);
    c.arg("--annotation-file").arg(&ann_path);
    c.arg(fx.image(&format!("charts/bad:{}.sig", junk.replace(':', "-"))))
        .arg(format!("{file}:{simple}"));
    tools::run_ok(&mut c);
    fx.verify_fails(
        "charts/bad",
        &junk,
        &policy,
        ReferrersMode::Legacy,
        "MalformedSignature",
    )
    .await;

    // Registry serving bytes that do not match the digest: corrupt the signed payload blob.
    let good = fx.push("charts/bad:good", "good");
    fx.cosign_sign(&key, &fx.image(&format!("charts/bad@{good}")), &[], &[]);
    fx.verify("charts/bad", &good, &policy, ReferrersMode::Legacy)
        .await
        .unwrap();
    let sig_manifest = fx
        .client
        .fetch_manifest(&fx.reference(&format!("charts/bad:{}.sig", good.replace(':', "-"))))
        .await
        .unwrap();
    let manifest: signet::registry::ImageManifest =
        serde_json::from_slice(&sig_manifest.bytes).unwrap();
    assert!(fx.reg.corrupt_blob(&manifest.layers[0].digest));
    fx.verify_fails(
        "charts/bad",
        &good,
        &policy,
        ReferrersMode::Legacy,
        "ContentDigestMismatch",
    )
    .await;
}

// ---- bring-your-own certificates: a test CA with Fulcio-style extensions ----

/// One DER element, encoded by the `der` crate the library's X.509 parsing uses.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    use x509_cert::der::{Decode, Encode, Tag, asn1::AnyRef};
    let tag = Tag::from_der(&[tag]).unwrap();
    AnyRef::new(tag, content).unwrap().to_der().unwrap()
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

fn ext(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![der(0x06, oid)];
    if critical {
        parts.push(der(0x01, &[0xff]));
    }
    parts.push(der(0x04, value));
    seq(&parts)
}

fn name(cn: &str) -> Vec<u8> {
    seq(&[der(
        0x31,
        &seq(&[der(0x06, &[0x55, 0x04, 0x03]), der(0x0c, cn.as_bytes())]),
    )])
}

const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// A certificate: TBS fields → signed by `signer`.
#[allow(clippy::too_many_arguments)]
fn certificate(
    serial: u8,
    issuer: &str,
    subject: Option<&str>,
    not_before: &str,
    not_after: &str,
    spki: &[u8],
    extensions: Vec<Vec<u8>>,
    signer: &aws_lc_rs::signature::EcdsaKeyPair,
) -> Vec<u8> {
    let alg = seq(&[der(0x06, ECDSA_SHA256)]);
    let tbs = seq(&[
        der(0xa0, &der(0x02, &[2])),
        der(0x02, &[serial]),
        alg.clone(),
        name(issuer),
        seq(&[
            der(0x18, not_before.as_bytes()),
            der(0x18, not_after.as_bytes()),
        ]),
        subject.map(name).unwrap_or_else(|| seq(&[])),
        spki.to_vec(),
        der(0xa3, &seq(&extensions)),
    ]);
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let sig = signer.sign(&rng, &tbs).unwrap();
    let mut bits = vec![0u8];
    bits.extend_from_slice(sig.as_ref());
    seq(&[tbs, alg, der(0x03, &bits)])
}

fn ec_spki(point: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(point);
    seq(&[
        seq(&[
            der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
            der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
        ]),
        der(0x03, &bits),
    ])
}

fn pem(label: &str, der_bytes: &[u8]) -> String {
    signet::verify::keys::pem::encode(label, der_bytes)
}

struct TestCa {
    key: aws_lc_rs::signature::EcdsaKeyPair,
    root_der: Vec<u8>,
    name: String,
}

impl TestCa {
    fn new(cn: &str) -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let spki = ec_spki(key.public_key().as_ref());
        let root_der = certificate(
            1,
            cn,
            Some(cn),
            "20000101000000Z",
            "20991231000000Z",
            &spki,
            vec![
                ext(&[0x55, 0x1d, 0x13], true, &seq(&[der(0x01, &[0xff])])),
                ext(&[0x55, 0x1d, 0x0f], true, &der(0x03, &[0x01, 0x06])),
            ],
            &key,
        );
        Self {
            key,
            root_der,
            name: cn.to_string(),
        }
    }

    /// A Fulcio-style leaf for `public_pem` with a URI or email SAN and the issuer extensions.
    fn leaf(
        &self,
        public_pem: &str,
        san: &str,
        oidc_issuer: &str,
        not_before: &str,
        not_after: &str,
    ) -> Vec<u8> {
        let spki = signet::verify::keys::pem::parse_first(public_pem.as_bytes())
            .unwrap()
            .contents;
        let san_entry = if san.contains('@') && !san.contains("://") {
            der(0x81, san.as_bytes())
        } else {
            der(0x86, san.as_bytes())
        };
        certificate(
            2,
            &self.name,
            None,
            not_before,
            not_after,
            &spki,
            vec![
                ext(&[0x55, 0x1d, 0x0f], true, &der(0x03, &[0x07, 0x80])),
                ext(
                    &[0x55, 0x1d, 0x25],
                    false,
                    &seq(&[der(0x06, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03])]),
                ),
                ext(&[0x55, 0x1d, 0x11], true, &seq(&[san_entry])),
                ext(
                    &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, 0x01],
                    false,
                    oidc_issuer.as_bytes(),
                ),
                ext(
                    &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, 0x08],
                    false,
                    &der(0x0c, oidc_issuer.as_bytes()),
                ),
            ],
            &self.key,
        )
    }

    fn trusted_root(&self) -> String {
        serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [],
            "certificateAuthorities": [{
                "subject": {"organization": "signet-test", "commonName": self.name},
                "uri": "https://ca.invalid",
                "certChain": {"certificates": [{"rawBytes": base64::engine::general_purpose::STANDARD.encode(&self.root_der)}]},
                "validFor": {"start": "2000-01-01T00:00:00Z"}
            }],
            "ctlogs": [],
            "timestampAuthorities": []
        })
        .to_string()
    }
}

fn identity_policy(trusted_root: String, subject: Matcher, issuer: Matcher) -> Policy {
    Policy {
        authorities: vec![Authority::keyless(
            "test-ca",
            vec![Identity { issuer, subject }],
        )],
        trusted_root_json: Some(trusted_root),
        require_tlog: false,
        require_sct: false,
        threshold: 1,
        ..Policy::default()
    }
}

/// cosign sign with `--certificate`/`--certificate-chain` from a test CA → signet verify by
/// identity + trust root; untrusted chain, identity mismatch and expired certificate fail.
#[tokio::test]
async fn bring_your_own_certificates() {
    let Some(fx) = Fixture::new() else { return };
    let ca = TestCa::new("signet test root");
    let (key, public) = fx.keypair("c1");
    let public_pem = std::fs::read_to_string(&public).unwrap();
    let subject =
        "https://github.com/signet-dev/charts/.github/workflows/release.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    std::fs::write(fx.path("root.pem"), pem("CERTIFICATE", &ca.root_der)).unwrap();
    let sign_with = |leaf: &[u8], image: &str| {
        let name = format!("leaf-{}.pem", rand_suffix());
        std::fs::write(fx.path(&name), pem("CERTIFICATE", leaf)).unwrap();
        fx.cosign_sign(
            &key,
            image,
            &["--certificate", &name, "--certificate-chain", "root.pem"],
            &[],
        );
    };

    let digest = fx.push("charts/byo:1.0", "byo");
    sign_with(
        &ca.leaf(
            &public_pem,
            subject,
            issuer,
            "20200101000000Z",
            "20990101000000Z",
        ),
        &fx.image(&format!("charts/byo@{digest}")),
    );
    let good = identity_policy(
        ca.trusted_root(),
        Matcher::Exact(subject.into()),
        Matcher::Exact(issuer.into()),
    );
    let v = fx
        .verify("charts/byo", &digest, &good, ReferrersMode::All)
        .await
        .unwrap();
    assert!(v.signers[0].description.contains(subject));
    let regexp = identity_policy(
        ca.trusted_root(),
        Matcher::Regexp(r"https://github\.com/signet-dev/.*".into()),
        Matcher::Regexp(r"https://token\.actions\..*".into()),
    );
    fx.verify("charts/byo", &digest, &regexp, ReferrersMode::All)
        .await
        .unwrap();
    std::fs::write(fx.path("trusted_root.json"), ca.trusted_root()).unwrap();
    let out = fx.signet(&[
        "verify",
        &fx.reg.oci("charts/byo:1.0"),
        "--certificate-identity",
        subject,
        "--certificate-oidc-issuer",
        issuer,
        "--trusted-root",
        fx.path("trusted_root.json").to_str().unwrap(),
        "--insecure-ignore-tlog",
        "--insecure-ignore-sct",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "interop: cosign sign --certificate/--certificate-chain (test CA) -> signet verify: ok"
    );

    // The key alone also verifies it, as `cosign verify --key` does (the certificate is ignored).
    fx.verify(
        "charts/byo",
        &digest,
        &key_policy(&[&public]),
        ReferrersMode::All,
    )
    .await
    .unwrap();

    // Identity mismatch (subject, then issuer), and an untrusted chain: the trust root names a
    // different CA.
    let stranger = TestCa::new("some other root");
    for (root, want_subject, want_issuer, reason) in [
        (&ca, "https://evil.example/x", issuer, "IdentityMismatch"),
        (
            &ca,
            subject,
            "https://accounts.google.com",
            "IdentityMismatch",
        ),
        (&stranger, subject, issuer, "UntrustedCertificateChain"),
    ] {
        let policy = identity_policy(
            root.trusted_root(),
            Matcher::Exact(want_subject.into()),
            Matcher::Exact(want_issuer.into()),
        );
        fx.verify_fails("charts/byo", &digest, &policy, ReferrersMode::All, reason)
            .await;
    }

    // Expired certificate and no timestamp or log proof of signing time.
    let old = fx.push("charts/byo:old", "old");
    sign_with(
        &ca.leaf(
            &public_pem,
            subject,
            issuer,
            "20200101000000Z",
            "20200101001000Z",
        ),
        &fx.image(&format!("charts/byo@{old}")),
    );
    fx.verify_fails(
        "charts/byo",
        &old,
        &good,
        ReferrersMode::All,
        "CertificateExpired",
    )
    .await;

    // Email subjects work too.
    let mail = fx.push("charts/byo:mail", "mail");
    sign_with(
        &ca.leaf(
            &public_pem,
            "release@signet.dev",
            "https://accounts.google.com",
            "20200101000000Z",
            "20990101000000Z",
        ),
        &fx.image(&format!("charts/byo@{mail}")),
    );
    let by_mail = identity_policy(
        ca.trusted_root(),
        Matcher::Exact("release@signet.dev".into()),
        Matcher::Exact("https://accounts.google.com".into()),
    );
    fx.verify("charts/byo", &mail, &by_mail, ReferrersMode::All)
        .await
        .unwrap();
}

/// The same over TLS with basic auth (credentials from a docker config file).
#[tokio::test]
async fn tls_registry_with_auth() {
    let Some(reg) = TestRegistry::tls_with_auth("signer", "s3cret-pass") else {
        return;
    };
    let Some(fx) = Fixture::with(reg) else { return };
    let (key, public) = fx.keypair("s1");
    let digest = fx.push("charts/secure:1.0", "secure");
    fx.cosign_sign(
        &key,
        &fx.image(&format!("charts/secure@{digest}")),
        &[],
        &[],
    );
    fx.verify(
        "charts/secure",
        &digest,
        &key_policy(&[&public]),
        ReferrersMode::All,
    )
    .await
    .unwrap();
    let out = fx.signet_verify_key(&fx.reg.oci("charts/secure:1.0"), &public, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("interop: cosign sign over TLS+auth -> signet verify: ok");
}

// ---- keyless: local Fulcio/Rekor (tests/support/sigstore-mock.js) ----

/// Keyless end to end without the internet: `signet sign` with an OIDC token against the local
/// Fulcio and Rekor, then `signet verify` by identity with the mock's trusted root, requiring the
/// Rekor SET and the certificate's SCT.
#[tokio::test]
async fn keyless_with_local_sigstore() {
    let Some(fx) = Fixture::new() else { return };
    let Some(mock) = SigstoreMock::start(&fx.path("mock")) else {
        return;
    };
    let digest = fx.push("charts/keyless:1.0", "keyless");
    let subject =
        "https://github.com/signet-dev/charts/.github/workflows/release.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    let token = identity_token(issuer, subject);
    let out = fx.signet(&[
        "sign",
        &fx.reg.oci("charts/keyless:1.0"),
        "--identity-token",
        &token,
        "--fulcio-url",
        &mock.url,
        "--rekor-url",
        &mock.url,
        "--tlog-upload",
    ]);
    assert!(
        out.status.success(),
        "signet sign (keyless): {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let trusted_root = std::fs::read_to_string(&mock.trusted_root).unwrap();
    let policy = Policy {
        authorities: vec![Authority::keyless(
            "keyless",
            vec![Identity {
                issuer: Matcher::Exact(issuer.into()),
                subject: Matcher::Exact(subject.into()),
            }],
        )],
        trusted_root_json: Some(trusted_root.clone()),
        require_tlog: true,
        require_sct: true,
        threshold: 1,
        ..Policy::default()
    };
    let v = fx
        .verify("charts/keyless", &digest, &policy, ReferrersMode::All)
        .await
        .unwrap();
    assert_eq!(v.log_indexes.len(), 1, "{v:?}");
    let out = fx.signet(&[
        "verify",
        &fx.reg.oci("charts/keyless:1.0"),
        "--certificate-identity",
        subject,
        "--certificate-oidc-issuer",
        issuer,
        "--trusted-root",
        mock.trusted_root.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("interop: keyless (local Fulcio + Rekor) -> signet verify with tlog + SCT: ok");

    let mut wrong = policy.clone();
    wrong.authorities = vec![Authority::keyless(
        "keyless",
        vec![
            Identity {
                issuer: Matcher::Exact(issuer.into()),
                subject: Matcher::Regexp("https://github.com/someone-else/.*".into()),
            },
            Identity {
                issuer: Matcher::Exact("https://accounts.google.com".into()),
                subject: Matcher::Exact(subject.into()),
            },
        ],
    )];
    fx.verify_fails(
        "charts/keyless",
        &digest,
        &wrong,
        ReferrersMode::All,
        "IdentityMismatch",
    )
    .await;
    // cosign sign --key with an upload to the local Rekor: its Rekor bundle annotation (SET) is
    // verified against the mock's log key, with the transparency log required.
    let root_doc: serde_json::Value = serde_json::from_str(&trusted_root).unwrap();
    let rekor_key = base64::engine::general_purpose::STANDARD
        .decode(
            root_doc["tlogs"][0]["publicKey"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    std::fs::write(fx.path("rekor.pub"), pem("PUBLIC KEY", &rekor_key)).unwrap();
    let (key, public) = fx.keypair("rk");
    let logged = fx.push("charts/keyless:logged", "logged");
    fx.cosign_sign_logged(
        &key,
        &fx.image(&format!("charts/keyless@{logged}")),
        &mock.url,
    );
    let logged_policy = Policy {
        require_tlog: true,
        trusted_root_json: Some(trusted_root.clone()),
        ..key_policy(&[&public])
    };
    let v = fx
        .verify(
            "charts/keyless",
            &logged,
            &logged_policy,
            ReferrersMode::All,
        )
        .await
        .unwrap();
    assert_eq!(v.log_indexes.len(), 1, "{v:?}");
    eprintln!("interop: cosign sign --key with Rekor upload -> signet verify (SET required): ok");
    fx.verify_fails(
        "charts/keyless",
        &logged,
        &Policy {
            trusted_root_json: None,
            ..logged_policy.clone()
        },
        ReferrersMode::All,
        "TransparencyLogInvalid",
    )
    .await;

    // The trust root without its CAs, its logs or its CT logs: each missing part fails.
    for (part, reason) in [
        ("certificateAuthorities", "UntrustedCertificateChain"),
        ("tlogs", "TransparencyLogInvalid"),
        ("ctlogs", "SctInvalid"),
    ] {
        let mut root: serde_json::Value = serde_json::from_str(&trusted_root).unwrap();
        root[part] = serde_json::json!([]);
        let without = Policy {
            trusted_root_json: Some(root.to_string()),
            ..policy.clone()
        };
        fx.verify_fails(
            "charts/keyless",
            &digest,
            &without,
            ReferrersMode::All,
            reason,
        )
        .await;
    }
}

/// The VerifiedChart token binds chart bytes to the verified digest: right bytes pass, altered
/// bytes or another manifest do not.
#[tokio::test]
async fn verified_chart_token() {
    let Some(fx) = Fixture::new() else { return };
    let (key, public) = fx.keypair("v1");
    let chart = b"\x1f\x8b pretend chart archive".to_vec();
    let helm_layer = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
    fx.push_raw("charts/tok:1.0", &chart, helm_layer, None);
    let digest = fx
        .client
        .resolve(&fx.reference("charts/tok:1.0"))
        .await
        .unwrap();
    fx.cosign_sign(&key, &fx.image(&format!("charts/tok@{digest}")), &[], &[]);
    let v = fx
        .verify(
            "charts/tok",
            &digest,
            &key_policy(&[&public]),
            ReferrersMode::All,
        )
        .await
        .unwrap();
    let manifest = fx
        .client
        .fetch_manifest(&fx.reference("charts/tok").with_digest(&digest))
        .await
        .unwrap();
    let ok = v.token.chart(&manifest.bytes, chart.clone()).unwrap();
    assert_eq!(ok.chart_tgz(), &chart[..]);
    assert_eq!(ok.verified().digest(), digest);
    let mut altered = chart.clone();
    altered[3] ^= 1;
    let e = v.token.chart(&manifest.bytes, altered).unwrap_err();
    assert_eq!(e.reason(), "ContentDigestMismatch");
    let other = fx.push("charts/tok:2.0", "other");
    let other_manifest = fx
        .client
        .fetch_manifest(&fx.reference("charts/tok").with_digest(&other))
        .await
        .unwrap();
    let e = v.token.chart(&other_manifest.bytes, chart).unwrap_err();
    assert_eq!(e.reason(), "ContentDigestMismatch");
}
