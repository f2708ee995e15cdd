//! Signing interop with the real cosign (2.5, from `make tools`) against real registries
//! (Debian's docker-registry, plain HTTP and TLS + htpasswd): key formats both ways, `signet
//! sign` → `cosign verify`, signatures appended by several signers, OCI 1.1 referrers with the
//! fallback tag, bring-your-own certificate chains, and keyless signing against local
//! Fulcio/Rekor services (`tests/support/sigstore-mock.js`). The cosign → `signet verify`
//! direction lives with the verification tests.

#[path = "support/sigstore_mock.rs"]
mod sigstore_mock;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use signet::registry::manifest::{Descriptor, ImageIndex, ImageManifest, OCI_MANIFEST_MEDIA_TYPE};
use signet::registry::{OciReference, RegistryClient};
use signet::sign::manifest::{SIGNATURE_ANNOTATION, SIGNATURE_ARTIFACT_TYPE};
use signet::verify::keys::{PublicKey, SigningKey};
use sigstore_mock::{SigstoreMock, identity_token};
use support::registry::TestRegistry;
use support::tools::{run, run_ok, run_with_stdin, temp_dir, tool};

const PASSWORD: &str = "interop-pw";

fn runtime() -> tokio::runtime::Runtime {
    signet::tls::install_crypto_provider();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// What most interop tests start from: cosign, a running registry, a runtime and a work dir;
/// `None` (the test skips) when cosign is not installed or the registry cannot start. The
/// registry is only started once cosign is known to be there.
fn interop(
    registry: impl FnOnce() -> Option<TestRegistry>,
) -> Option<(
    PathBuf,
    TestRegistry,
    tokio::runtime::Runtime,
    tempfile::TempDir,
)> {
    let cosign_bin = tool("cosign")?;
    let reg = registry()?;
    Some((cosign_bin, reg, runtime(), temp_dir()))
}

/// Pushes a small OCI artifact to `repo:tag` and returns its manifest digest.
fn push_artifact(
    rt: &tokio::runtime::Runtime,
    reg: &TestRegistry,
    repo: &str,
    tag: &str,
) -> String {
    let client = RegistryClient::new(reg.options()).expect("client");
    let reference = OciReference::parse(&format!("{}:{tag}", reg.oci(repo))).expect("reference");
    rt.block_on(async {
        let config = b"{}".to_vec();
        let layer = format!("artifact {repo}:{tag}").into_bytes();
        let config = client
            .push_blob(&reference, "application/vnd.oci.empty.v1+json", config)
            .await
            .expect("push config");
        let layer = client
            .push_blob(&reference, "application/vnd.signet.test.v1", layer)
            .await
            .expect("push layer");
        let manifest = ImageManifest::new(config, vec![layer]);
        client
            .push_manifest(&reference, manifest.to_bytes(), OCI_MANIFEST_MEDIA_TYPE)
            .await
            .expect("push manifest")
    })
}

/// The manifest at `oci://…:tag`, or `None` when the tag does not exist.
fn fetch_manifest(
    rt: &tokio::runtime::Runtime,
    reg: &TestRegistry,
    reference: &str,
) -> Option<Vec<u8>> {
    let client = RegistryClient::new(reg.options()).expect("client");
    let reference = OciReference::parse(reference).expect("reference");
    rt.block_on(client.fetch_manifest(&reference))
        .ok()
        .map(|m| m.bytes)
}

fn sig_tag(reg: &TestRegistry, repo: &str, digest: &str) -> String {
    format!("{}:{}.sig", reg.oci(repo), digest.replace(':', "-"))
}

fn signet(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_signet"));
    cmd.current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env_remove("SIGSTORE_ID_TOKEN")
        .stdin(Stdio::null());
    cmd
}

/// `cosign` set up to reach `reg`: HTTP allowed for plain registries; for TLS, the test CA as
/// the system trust (Go reads SSL_CERT_FILE) and the registry's docker config for auth.
fn cosign(cosign: &Path, reg: &TestRegistry, dir: &Path) -> Command {
    let mut cmd = Command::new(cosign);
    cmd.current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("HOME", dir)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .env("TUF_ROOT", dir.join("tuf"))
        .stdin(Stdio::null());
    if let Some(ca) = &reg.ca_file {
        cmd.env("SSL_CERT_FILE", ca);
    }
    if let Some(config) = &reg.docker_config
        && let Some(parent) = config.parent()
    {
        cmd.env("DOCKER_CONFIG", parent);
    }
    cmd
}

/// `host/repo@digest`, how cosign names an artifact.
fn cosign_ref(reg: &TestRegistry, repo: &str, digest: &str) -> String {
    format!("{}/{repo}@{digest}", reg.host)
}

fn registry_flags(reg: &TestRegistry, cosign_sign: bool) -> Vec<String> {
    if reg.is_plain_http() {
        let mut flags = vec!["--allow-http-registry".to_string()];
        if cosign_sign {
            flags.push("--allow-insecure-registry".into());
        }
        flags
    } else {
        Vec::new()
    }
}

/// `cosign verify --key public --insecure-ignore-tlog` of `repo@digest`, with `extra` flags.
fn cosign_verify_key_cmd(
    cosign_bin: &Path,
    reg: &TestRegistry,
    dir: &Path,
    public: &Path,
    repo: &str,
    digest: &str,
    extra: &[&str],
) -> Command {
    let mut cmd = cosign(cosign_bin, reg, dir);
    cmd.args(["verify", "--key"])
        .arg(public)
        .arg("--insecure-ignore-tlog")
        .args(registry_flags(reg, false))
        .args(extra)
        .arg(cosign_ref(reg, repo, digest));
    cmd
}

/// `cosign verify --key public --insecure-ignore-tlog` of `repo@digest`.
fn cosign_verify_key(
    cosign_bin: &Path,
    reg: &TestRegistry,
    dir: &Path,
    public: &Path,
    repo: &str,
    digest: &str,
) -> std::process::Output {
    run(&mut cosign_verify_key_cmd(
        cosign_bin,
        reg,
        dir,
        public,
        repo,
        digest,
        &[],
    ))
}

/// [`cosign_verify_key`] finding the signature through OCI 1.1 referrers (an experimental flag).
fn cosign_verify_key_oci11(
    cosign_bin: &Path,
    reg: &TestRegistry,
    dir: &Path,
    public: &Path,
    repo: &str,
    digest: &str,
) -> std::process::Output {
    let mut cmd = cosign_verify_key_cmd(
        cosign_bin,
        reg,
        dir,
        public,
        repo,
        digest,
        &["--experimental-oci11"],
    );
    cmd.env("COSIGN_EXPERIMENTAL", "1");
    run(&mut cmd)
}

/// `cosign sign` of `repo@digest` with the `cosign.key` in `keys`, without the transparency log.
fn cosign_sign_key(cosign_bin: &Path, reg: &TestRegistry, keys: &Path, repo: &str, digest: &str) {
    let mut cmd = cosign(cosign_bin, reg, keys);
    cmd.args(["sign", "--key", "cosign.key", "--tlog-upload=false", "-y"])
        .args(registry_flags(reg, true))
        .arg(cosign_ref(reg, repo, digest));
    run_ok(&mut cmd);
}

fn assert_success(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_failure(out: &std::process::Output, what: &str) {
    assert!(
        !out.status.success(),
        "{what} unexpectedly succeeded:\nstdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Layers of the signature manifest at `reference`.
fn signature_layers(
    rt: &tokio::runtime::Runtime,
    reg: &TestRegistry,
    reference: &str,
) -> Vec<Descriptor> {
    let bytes = fetch_manifest(rt, reg, reference)
        .unwrap_or_else(|| panic!("no signature manifest at {reference}"));
    let manifest: ImageManifest = serde_json::from_slice(&bytes).expect("signature manifest");
    manifest.layers
}

fn signet_sign(
    dir: &Path,
    reg: &TestRegistry,
    reference: &str,
    key: &Path,
    extra: &[&str],
) -> String {
    let mut cmd = signet(dir);
    cmd.arg("sign")
        .arg(reference)
        .arg("--key")
        .arg(key)
        .args(reg.cli_flags())
        .args(extra);
    run_ok(&mut cmd)
}

fn cosign_generate_key_pair(cosign_bin: &Path, reg: &TestRegistry, dir: &Path) {
    std::fs::create_dir_all(dir).expect("key dir");
    let mut cmd = cosign(cosign_bin, reg, dir);
    cmd.arg("generate-key-pair");
    run_ok(&mut cmd);
}

fn signet_generate_key_pair(dir: &Path) {
    std::fs::create_dir_all(dir).expect("key dir");
    let mut cmd = signet(dir);
    cmd.arg("generate-key-pair");
    run_ok(&mut cmd);
}

#[test]
fn signet_key_pair_is_used_by_cosign() {
    let Some((cosign_bin, reg, rt, work)) = interop(TestRegistry::plain) else {
        return;
    };
    let keys = work.path().join("signet-keys");
    signet_generate_key_pair(&keys);
    let key_text = std::fs::read_to_string(keys.join("cosign.key")).unwrap();
    assert!(key_text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    // A second run never overwrites the key.
    let out = run(signet(&keys).arg("generate-key-pair"));
    assert_failure(&out, "generate-key-pair over an existing key");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    // Without COSIGN_PASSWORD and without a terminal, the password is read from stdin.
    let piped = work.path().join("piped");
    std::fs::create_dir_all(&piped).unwrap();
    let out = run_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .current_dir(&piped)
            .env_remove("COSIGN_PASSWORD")
            .arg("generate-key-pair"),
        b"from-stdin\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let piped_key = std::fs::read(piped.join("cosign.key")).unwrap();
    SigningKey::from_pem(&piped_key, || {
        Ok(zeroize::Zeroizing::new(b"from-stdin".to_vec()))
    })
    .expect("key sealed with the password read from stdin");

    let digest = push_artifact(&rt, &reg, "charts/a", "1.0.0");
    cosign_sign_key(&cosign_bin, &reg, &keys, "charts/a", &digest);
    let out = cosign_verify_key(
        &cosign_bin,
        &reg,
        &keys,
        &keys.join("cosign.pub"),
        "charts/a",
        &digest,
    );
    assert_success(&out, "cosign verify with signet's cosign.pub");

    // And our key module reads what cosign stored: the signature verifies with cosign.pub.
    let public = PublicKey::from_pem(&std::fs::read(keys.join("cosign.pub")).unwrap()).unwrap();
    let layers = signature_layers(&rt, &reg, &sig_tag(&reg, "charts/a", &digest));
    assert_eq!(layers.len(), 1);
    let client = RegistryClient::new(reg.options()).unwrap();
    let repo = OciReference::parse(&reg.oci("charts/a")).unwrap();
    let payload = rt
        .block_on(client.fetch_blob(&repo, &layers[0], 1 << 20))
        .expect("payload");
    let signature = STANDARD
        .decode(&layers[0].annotations.as_ref().unwrap()[SIGNATURE_ANNOTATION])
        .unwrap();
    public
        .verify(&payload, &signature)
        .expect("cosign signature verifies");
}

#[test]
fn cosign_key_pair_signs_with_signet_and_cosign_verifies_plain() {
    let Some((cosign_bin, reg, rt, work)) = interop(TestRegistry::plain) else {
        return;
    };
    let keys = work.path().join("cosign-keys");
    cosign_generate_key_pair(&cosign_bin, &reg, &keys);
    let digest = push_artifact(&rt, &reg, "charts/b", "1.0.0");

    // Signing the tag signs the digest it resolves to.
    let out = signet_sign(
        work.path(),
        &reg,
        &format!("{}:1.0.0", reg.oci("charts/b")),
        &keys.join("cosign.key"),
        &[],
    );
    assert!(out.contains(&digest), "{out}");
    let out = cosign_verify_key(
        &cosign_bin,
        &reg,
        work.path(),
        &keys.join("cosign.pub"),
        "charts/b",
        &digest,
    );
    assert_success(&out, "cosign verify of signet's signature");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("\"docker-manifest-digest\":\"{digest}\"")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("\"docker-reference\":\"{}/charts/b\"", reg.host)),
        "{stdout}"
    );

    // Another key does not verify.
    let other = work.path().join("other");
    cosign_generate_key_pair(&cosign_bin, &reg, &other);
    let out = cosign_verify_key(
        &cosign_bin,
        &reg,
        work.path(),
        &other.join("cosign.pub"),
        "charts/b",
        &digest,
    );
    assert_failure(&out, "cosign verify with an unrelated key");

    // A wrong password is a clear error and pushes nothing new.
    let mut cmd = signet(work.path());
    cmd.env("COSIGN_PASSWORD", "wrong")
        .args(["sign", &reg.oci("charts/b:1.0.0"), "--key"])
        .arg(keys.join("cosign.key"))
        .args(reg.cli_flags());
    let out = run(&mut cmd);
    assert_failure(&out, "signing with a wrong password");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrong password"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        signature_layers(&rt, &reg, &sig_tag(&reg, "charts/b", &digest)).len(),
        1
    );
}

#[test]
fn signet_sign_cosign_verify_tls_with_auth() {
    let Some((cosign_bin, reg, rt, work)) =
        interop(|| TestRegistry::tls_with_auth("alice", "s3cret-pw"))
    else {
        return;
    };
    let keys = work.path().join("keys");
    signet_generate_key_pair(&keys);
    let digest = push_artifact(&rt, &reg, "charts/c", "2.0.0");
    signet_sign(
        work.path(),
        &reg,
        &format!("{}@{digest}", reg.oci("charts/c")),
        &keys.join("cosign.key"),
        &[],
    );
    let out = cosign_verify_key(
        &cosign_bin,
        &reg,
        work.path(),
        &keys.join("cosign.pub"),
        "charts/c",
        &digest,
    );
    assert_success(&out, "cosign verify over TLS with auth");

    // Referrers mode over TLS with auth too (the fallback tag: this registry has no API).
    signet_sign(
        work.path(),
        &reg,
        &format!("{}@{digest}", reg.oci("charts/c")),
        &keys.join("cosign.key"),
        &["--registry-referrers-mode", "oci-1-1"],
    );
    let out = cosign_verify_key_oci11(
        &cosign_bin,
        &reg,
        work.path(),
        &keys.join("cosign.pub"),
        "charts/c",
        &digest,
    );
    assert_success(
        &out,
        "cosign verify --experimental-oci11 over TLS with auth",
    );

    // Without credentials the registry refuses, and signet says so.
    let mut cmd = signet(work.path());
    cmd.args([
        "sign",
        &format!("{}@{digest}", reg.oci("charts/c")),
        "--key",
    ])
    .arg(keys.join("cosign.key"))
    .arg("--ca-file")
    .arg(reg.ca_file.as_ref().unwrap())
    .arg("--registry-config")
    .arg(work.path().join("empty-docker-config.json"));
    let out = run(&mut cmd);
    assert_failure(&out, "signing without credentials");
}

#[test]
fn signatures_from_several_signers_are_appended() {
    let Some((cosign_bin, reg, rt, work)) = interop(TestRegistry::plain) else {
        return;
    };
    let (k1, k2, k3) = (
        work.path().join("k1"),
        work.path().join("k2"),
        work.path().join("k3"),
    );
    signet_generate_key_pair(&k1);
    cosign_generate_key_pair(&cosign_bin, &reg, &k2);
    cosign_generate_key_pair(&cosign_bin, &reg, &k3);
    let digest = push_artifact(&rt, &reg, "charts/d", "1.0.0");
    let by_digest = format!("{}@{digest}", reg.oci("charts/d"));

    signet_sign(work.path(), &reg, &by_digest, &k1.join("cosign.key"), &[]);
    // cosign appends to what signet wrote…
    cosign_sign_key(&cosign_bin, &reg, &k2, "charts/d", &digest);
    // …and signet appends to what cosign wrote.
    signet_sign(work.path(), &reg, &by_digest, &k3.join("cosign.key"), &[]);
    let sig = sig_tag(&reg, "charts/d", &digest);
    assert_eq!(signature_layers(&rt, &reg, &sig).len(), 3);

    // Signing again with the same key changes nothing.
    let out = signet_sign(
        work.path(),
        &reg,
        &by_digest,
        &k1.join("cosign.key"),
        &["-o", "json"],
    );
    let json: serde_json::Value = serde_json::from_str(out.trim()).expect("json output");
    assert_eq!(json["alreadySigned"], true, "{out}");
    assert_eq!(signature_layers(&rt, &reg, &sig).len(), 3);

    for keys in [&k1, &k2, &k3] {
        let out = cosign_verify_key(
            &cosign_bin,
            &reg,
            work.path(),
            &keys.join("cosign.pub"),
            "charts/d",
            &digest,
        );
        assert_success(&out, &format!("cosign verify with {}", keys.display()));
    }
}

#[test]
fn referrers_mode_uses_the_fallback_tag_on_registries_without_the_api() {
    let Some((cosign_bin, reg, rt, work)) = interop(TestRegistry::plain) else {
        return;
    };
    let (k1, k2) = (work.path().join("k1"), work.path().join("k2"));
    signet_generate_key_pair(&k1);
    signet_generate_key_pair(&k2);
    let digest = push_artifact(&rt, &reg, "charts/e", "1.0.0");
    let by_tag = format!("{}:1.0.0", reg.oci("charts/e"));
    for keys in [&k1, &k2] {
        signet_sign(
            work.path(),
            &reg,
            &by_tag,
            &keys.join("cosign.key"),
            &["--registry-referrers-mode", "oci-1-1"],
        );
    }
    assert!(
        fetch_manifest(&rt, &reg, &sig_tag(&reg, "charts/e", &digest)).is_none(),
        "referrers mode must not write the .sig tag"
    );
    let fallback = format!("{}:{}", reg.oci("charts/e"), digest.replace(':', "-"));
    let index: ImageIndex =
        serde_json::from_slice(&fetch_manifest(&rt, &reg, &fallback).expect("fallback tag index"))
            .expect("fallback tag holds an index");
    assert_eq!(index.manifests.len(), 2, "{index:?}");
    for entry in &index.manifests {
        assert_eq!(
            entry.artifact_type.as_deref(),
            Some(SIGNATURE_ARTIFACT_TYPE)
        );
        let referrer: ImageManifest = serde_json::from_slice(
            &fetch_manifest(
                &rt,
                &reg,
                &format!("{}@{}", reg.oci("charts/e"), entry.digest),
            )
            .expect("referrer manifest"),
        )
        .unwrap();
        assert_eq!(
            referrer.subject.as_ref().map(|s| s.digest.as_str()),
            Some(digest.as_str())
        );
    }

    for keys in [&k1, &k2] {
        let out = cosign_verify_key_oci11(
            &cosign_bin,
            &reg,
            work.path(),
            &keys.join("cosign.pub"),
            "charts/e",
            &digest,
        );
        assert_success(
            &out,
            &format!("cosign verify --experimental-oci11 ({})", keys.display()),
        );
    }
}

#[test]
fn plain_pem_keys_of_every_supported_type_verify_in_cosign() {
    use signet::verify::keys::KeyAlgorithm;
    let Some((cosign_bin, reg, rt, work)) = interop(TestRegistry::plain) else {
        return;
    };
    for (name, algorithm) in [
        ("p256", KeyAlgorithm::EcdsaP256),
        ("p384", KeyAlgorithm::EcdsaP384),
        ("ed25519", KeyAlgorithm::Ed25519),
        ("rsa", KeyAlgorithm::Rsa),
    ] {
        let key = SigningKey::generate(algorithm).unwrap();
        let key_path = work.path().join(format!("{name}.pem"));
        let pub_path = work.path().join(format!("{name}.pub"));
        std::fs::write(&key_path, key.to_pkcs8_pem().as_bytes()).unwrap();
        std::fs::write(&pub_path, key.public_key().to_pem()).unwrap();
        let repo = format!("charts/keys-{name}");
        let digest = push_artifact(&rt, &reg, &repo, "1.0.0");
        signet_sign(
            work.path(),
            &reg,
            &format!("{}@{digest}", reg.oci(&repo)),
            &key_path,
            &[],
        );
        let out = cosign_verify_key(&cosign_bin, &reg, work.path(), &pub_path, &repo, &digest);
        assert_success(&out, &format!("cosign verify of a {name} signature"));
    }
}

#[test]
fn signing_fails_closed_on_missing_artifacts_and_foreign_signature_tags() {
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let rt = runtime();
    let work = temp_dir();
    let keys = work.path().join("keys");
    signet_generate_key_pair(&keys);

    // A tag that does not exist: nothing to sign, and the error names it.
    let mut cmd = signet(work.path());
    cmd.args(["sign", &reg.oci("charts/h:9.9.9"), "--key"])
        .arg(keys.join("cosign.key"))
        .args(reg.cli_flags());
    let out = run(&mut cmd);
    assert_failure(&out, "signing a missing tag");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("charts/h:9.9.9"), "{stderr}");

    // Something that is not a signature manifest sits on the .sig tag: it is never replaced.
    let digest = push_artifact(&rt, &reg, "charts/h", "1.0.0");
    let client = RegistryClient::new(reg.options()).unwrap();
    let sig_ref = OciReference::parse(&sig_tag(&reg, "charts/h", &digest)).unwrap();
    let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    rt.block_on(client.push_manifest(
        &sig_ref,
        index.to_vec(),
        "application/vnd.oci.image.index.v1+json",
    ))
    .expect("push foreign manifest");
    let mut cmd = signet(work.path());
    cmd.args([
        "sign",
        &format!("{}@{digest}", reg.oci("charts/h")),
        "--key",
    ])
    .arg(keys.join("cosign.key"))
    .args(reg.cli_flags());
    let out = run(&mut cmd);
    assert_failure(&out, "signing over a foreign .sig manifest");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be extended"), "{stderr}");
    assert_eq!(
        fetch_manifest(&rt, &reg, &sig_tag(&reg, "charts/h", &digest)).as_deref(),
        Some(&index[..]),
        "the foreign manifest must be left alone"
    );
}

/// A test PKI like Fulcio's: root → intermediate → leaf for `public`, with a URI SAN and the
/// OIDC issuer in extension 1.3.6.1.4.1.57264.1.1. Returns (leaf PEM, chain PEM, root PEM).
fn test_pki(public: &PublicKey, identity: &str, issuer: &str) -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType,
        ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
        SignatureAlgorithm,
    };
    /// A P-256 public key rcgen can certify without holding the private key.
    struct P256Point(Vec<u8>);
    impl PublicKeyData for P256Point {
        fn der_bytes(&self) -> &[u8] {
            &self.0
        }
        fn algorithm(&self) -> &'static SignatureAlgorithm {
            &rcgen::PKCS_ECDSA_P256_SHA256
        }
    }
    let ca_params = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "signet test");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
    };
    let root =
        CertifiedIssuer::self_signed(ca_params("test root"), KeyPair::generate().unwrap()).unwrap();
    let intermediate = CertifiedIssuer::signed_by(
        ca_params("test intermediate"),
        KeyPair::generate().unwrap(),
        &root,
    )
    .unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.subject_alt_names = vec![SanType::URI(identity.try_into().unwrap())];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    leaf.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 57264, 1, 1],
        issuer.as_bytes().to_vec(),
    )];
    // A P-256 SubjectPublicKeyInfo ends with the 65-byte uncompressed point.
    let der = public.spki_der();
    let spki = P256Point(der[der.len() - 65..].to_vec());
    let leaf = leaf.signed_by(&spki, &intermediate).unwrap();
    (
        leaf.pem(),
        format!("{}{}", intermediate.pem(), root.pem()),
        root.pem(),
    )
}

#[test]
fn bring_your_own_certificate_chain_verifies_by_identity() {
    let Some((cosign_bin, reg, rt, work)) = interop(TestRegistry::plain) else {
        return;
    };
    let keys = work.path().join("keys");
    signet_generate_key_pair(&keys);
    let key = SigningKey::from_pem(&std::fs::read(keys.join("cosign.key")).unwrap(), || {
        Ok(zeroize::Zeroizing::new(PASSWORD.as_bytes().to_vec()))
    })
    .unwrap();
    let identity = "https://ci.example.com/signet/release@refs/heads/main";
    let issuer = "https://issuer.example.com";
    let (leaf, chain, _root) = test_pki(key.public_key(), identity, issuer);
    std::fs::write(work.path().join("leaf.pem"), &leaf).unwrap();
    std::fs::write(work.path().join("chain.pem"), &chain).unwrap();
    let digest = push_artifact(&rt, &reg, "charts/f", "1.0.0");
    let by_digest = format!("{}@{digest}", reg.oci("charts/f"));
    let leaf_path = work.path().join("leaf.pem").display().to_string();
    let chain_path = work.path().join("chain.pem").display().to_string();
    signet_sign(
        work.path(),
        &reg,
        &by_digest,
        &keys.join("cosign.key"),
        &[
            "--certificate",
            &leaf_path,
            "--certificate-chain",
            &chain_path,
        ],
    );

    let verify = |identity: &str, issuer: &str| {
        let mut cmd = cosign(&cosign_bin, &reg, work.path());
        cmd.args(["verify", "--insecure-ignore-tlog", "--insecure-ignore-sct"])
            .args(["--certificate-identity", identity])
            .args(["--certificate-oidc-issuer", issuer])
            .args(["--certificate-chain", &chain_path])
            .args(registry_flags(&reg, false))
            .arg(cosign_ref(&reg, "charts/f", &digest));
        run(&mut cmd)
    };
    assert_success(
        &verify(identity, issuer),
        "cosign verify by certificate identity",
    );
    assert_failure(
        &verify("https://ci.example.com/someone-else", issuer),
        "wrong identity",
    );
    assert_failure(
        &verify(identity, "https://other-issuer.example.com"),
        "wrong issuer",
    );

    // A certificate for another key is refused before anything is pushed.
    let other = SigningKey::generate(signet::verify::keys::KeyAlgorithm::EcdsaP256).unwrap();
    let (other_leaf, _, _) = test_pki(other.public_key(), identity, issuer);
    std::fs::write(work.path().join("other-leaf.pem"), other_leaf).unwrap();
    let digest2 = push_artifact(&rt, &reg, "charts/f", "2.0.0");
    let mut cmd = signet(work.path());
    cmd.args([
        "sign",
        &format!("{}@{digest2}", reg.oci("charts/f")),
        "--key",
    ])
    .arg(keys.join("cosign.key"))
    .arg("--certificate")
    .arg(work.path().join("other-leaf.pem"))
    .args(reg.cli_flags());
    let out = run(&mut cmd);
    assert_failure(&out, "signing with a certificate for another key");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("certifies key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fetch_manifest(&rt, &reg, &sig_tag(&reg, "charts/f", &digest2)).is_none());
}

#[test]
fn keyless_signing_with_local_fulcio_and_rekor() {
    let Some(cosign_bin) = tool("cosign") else {
        return;
    };
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let work = temp_dir();
    let Some(mock) = SigstoreMock::start(&work.path().join("mock")) else {
        return;
    };
    let rt = runtime();
    let digest = push_artifact(&rt, &reg, "charts/g", "1.0.0");
    let subject =
        "https://github.com/signet-dev/charts/.github/workflows/release.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    let token = identity_token(issuer, subject);

    // Keyless with default flags logs to Rekor, as cosign does (no --tlog-upload given).
    let mut cmd = signet(work.path());
    cmd.args(["sign", &format!("{}:1.0.0", reg.oci("charts/g"))])
        .args(["--identity-token", &token])
        .args(["--fulcio-url", &mock.url, "--rekor-url", &mock.url])
        .args(["-o", "json"])
        .args(reg.cli_flags());
    let out = run_ok(&mut cmd);
    let json: serde_json::Value = serde_json::from_str(out.trim()).expect("json output");
    assert!(json["tlogIndex"].as_i64().is_some(), "{out}");
    let layers = signature_layers(&rt, &reg, &sig_tag(&reg, "charts/g", &digest));
    let annotations: &BTreeMap<String, String> = layers[0].annotations.as_ref().unwrap();
    for key in [
        "dev.cosignproject.cosign/signature",
        "dev.sigstore.cosign/certificate",
        "dev.sigstore.cosign/chain",
        "dev.sigstore.cosign/bundle",
    ] {
        assert!(
            annotations.contains_key(key),
            "missing {key}: {annotations:?}"
        );
    }

    // cosign accepts it by identity, trusting only the mock's trusted root.
    let verify = |identity: &str| {
        let mut cmd = cosign(&cosign_bin, &reg, work.path());
        // cosign 2.5 still asks TUF for Rekor keys with --trusted-root, so hand it the mock's
        // keys through its environment overrides instead (no network).
        let dir = mock.trusted_root.parent().expect("mock dir");
        cmd.env("SIGSTORE_ROOT_FILE", dir.join("fulcio_root.pem"))
            .env("SIGSTORE_REKOR_PUBLIC_KEY", dir.join("rekor.pub"))
            .env("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE", dir.join("ctlog.pub"))
            .arg("verify")
            .args(["--certificate-identity", identity])
            .args(["--certificate-oidc-issuer", issuer])
            .args(registry_flags(&reg, false))
            .arg(cosign_ref(&reg, "charts/g", &digest));
        run(&mut cmd)
    };
    assert_success(&verify(subject), "cosign verify of a keyless signature");
    assert_failure(
        &verify("https://github.com/someone/else"),
        "keyless verify, wrong identity",
    );

    // And signet's own verifier accepts it by identity with the mock's trusted_root.json alone.
    let signet_verify = |identity: &str| {
        let mut cmd = signet(work.path());
        cmd.args(["verify", &format!("{}:1.0.0", reg.oci("charts/g"))])
            .arg("--trusted-root")
            .arg(&mock.trusted_root)
            .args(["--certificate-identity", identity])
            .args(["--certificate-oidc-issuer", issuer])
            .args(reg.cli_flags());
        run(&mut cmd)
    };
    assert_success(
        &signet_verify(subject),
        "signet verify of a keyless signature",
    );
    assert_failure(
        &signet_verify("https://github.com/someone/else"),
        "signet verify, wrong identity",
    );

    // Told not to log (and without a timestamp), the signature has no proof of when the
    // short-lived certificate was used: a policy that requires the log refuses it.
    let digest4 = push_artifact(&rt, &reg, "charts/g", "4.0.0");
    let mut cmd = signet(work.path());
    cmd.args(["sign", &format!("{}@{digest4}", reg.oci("charts/g"))])
        .args(["--identity-token", &token, "--fulcio-url", &mock.url])
        .args(["--rekor-url", &mock.url, "--tlog-upload=false"])
        .args(reg.cli_flags());
    run_ok(&mut cmd);
    let layers = signature_layers(&rt, &reg, &sig_tag(&reg, "charts/g", &digest4));
    let annotations = layers[0].annotations.as_ref().unwrap();
    assert!(!annotations.contains_key("dev.sigstore.cosign/bundle"));
    let mut cmd = signet(work.path());
    cmd.args(["verify", &format!("{}@{digest4}", reg.oci("charts/g"))])
        .arg("--trusted-root")
        .arg(&mock.trusted_root)
        .args(["--certificate-identity", subject])
        .args(["--certificate-oidc-issuer", issuer, "-o", "json"])
        .args(reg.cli_flags());
    let out = run(&mut cmd);
    assert_failure(
        &out,
        "signet verify (log required) of an unlogged keyless signature",
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["reason"], "TransparencyLogInvalid", "{json}");

    // Keyless without a log but with an RFC 3161 timestamp: cosign checks the timestamp
    // against the mock TSA's chain instead.
    let digest3 = push_artifact(&rt, &reg, "charts/g", "3.0.0");
    let mut cmd = signet(work.path());
    cmd.args(["sign", &format!("{}@{digest3}", reg.oci("charts/g"))])
        .args(["--identity-token", &token, "--fulcio-url", &mock.url])
        .arg("--tlog-upload=false")
        .args([
            "--timestamp-server-url",
            &format!("{}/api/v1/timestamp", mock.url),
        ])
        .args(reg.cli_flags());
    run_ok(&mut cmd);
    let layers = signature_layers(&rt, &reg, &sig_tag(&reg, "charts/g", &digest3));
    let annotations = layers[0].annotations.as_ref().unwrap();
    assert!(annotations.contains_key("dev.sigstore.cosign/rfc3161timestamp"));
    assert!(!annotations.contains_key("dev.sigstore.cosign/bundle"));
    let mock_dir = mock.trusted_root.parent().expect("mock dir");
    let mut cmd = cosign(&cosign_bin, &reg, work.path());
    cmd.env("SIGSTORE_ROOT_FILE", mock_dir.join("fulcio_root.pem"))
        .env(
            "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
            mock_dir.join("ctlog.pub"),
        )
        .args([
            "verify",
            "--insecure-ignore-tlog",
            "--use-signed-timestamps",
        ])
        .arg("--timestamp-certificate-chain")
        .arg(mock_dir.join("tsa_chain.pem"))
        .args([
            "--certificate-identity",
            subject,
            "--certificate-oidc-issuer",
            issuer,
        ])
        .args(registry_flags(&reg, false))
        .arg(cosign_ref(&reg, "charts/g", &digest3));
    assert_success(
        &run(&mut cmd),
        "cosign verify of a timestamped keyless signature",
    );

    // Key-based signing can log to the same Rekor; cosign then checks the entry's signed
    // timestamp against the log key instead of being told to ignore the log.
    let keys = work.path().join("keys");
    signet_generate_key_pair(&keys);
    let digest2 = push_artifact(&rt, &reg, "charts/g", "2.0.0");
    let by_digest = format!("{}@{digest2}", reg.oci("charts/g"));
    signet_sign(
        work.path(),
        &reg,
        &by_digest,
        &keys.join("cosign.key"),
        &["--tlog-upload", "--rekor-url", &mock.url],
    );
    let mut cmd = cosign(&cosign_bin, &reg, work.path());
    cmd.env("SIGSTORE_REKOR_PUBLIC_KEY", mock_dir.join("rekor.pub"))
        .args(["verify", "--key"])
        .arg(keys.join("cosign.pub"))
        .args(registry_flags(&reg, false))
        .arg(cosign_ref(&reg, "charts/g", &digest2));
    assert_success(
        &run(&mut cmd),
        "cosign verify of a key signature with its Rekor bundle",
    );

    // A token that is not a JWT is refused before any service is called.
    let mut cmd = signet(work.path());
    cmd.args(["sign", &format!("{}:1.0.0", reg.oci("charts/g"))])
        .args(["--identity-token", "not-a-jwt.x", "--fulcio-url", &mock.url])
        .args(reg.cli_flags());
    let out = run(&mut cmd);
    assert_failure(&out, "keyless signing with a malformed token");
}

/// The referrer manifests of `digest` in `repo` whose artifact type is `artifact_type`.
fn referrers_of(
    rt: &tokio::runtime::Runtime,
    reg: &TestRegistry,
    repo: &str,
    digest: &str,
    artifact_type: &str,
) -> Vec<ImageManifest> {
    let client = RegistryClient::new(reg.options()).expect("client");
    let subject = OciReference::parse(&format!("{}@{digest}", reg.oci(repo))).expect("reference");
    rt.block_on(async {
        let referrers = client
            .referrers(&subject, Some(artifact_type))
            .await
            .expect("referrers");
        let mut out = Vec::new();
        for d in referrers.manifests {
            let m = client
                .fetch_manifest(&subject.with_digest(&d.digest))
                .await
                .expect("referrer manifest");
            out.push(serde_json::from_slice(&m.bytes).expect("image manifest"));
        }
        out
    })
}

/// `signet sign --new-bundle-format`: cosign v3's Sigstore bundle (DSSE, in-toto statement with
/// cosign's sign predicate) stored as an OCI 1.1 referrer, key-signed and keyless (logged as a
/// `dsse` entry by default). The real cosign 2.5 accepts it as the attestation it is (its
/// `verify --new-bundle-format` for image signatures says "not yet implemented"; `verify-attestation
/// --new-bundle-format --type https://sigstore.dev/cosign/sign/v1` runs the same sigstore-go
/// check cosign v3's `verify` does), and `signet verify` finds and verifies it among the referrers.
#[test]
fn new_bundle_format_signatures_are_bundle_referrers_that_cosign_and_signet_accept() {
    use signet::sign::bundle::{BUNDLE_MEDIA_TYPE, PREDICATE_TYPE_ANNOTATION, SIGN_PREDICATE_TYPE};
    let Some((cosign_bin, reg, rt, work)) = interop(TestRegistry::plain) else {
        return;
    };
    let Some(mock) = SigstoreMock::start(&work.path().join("mock")) else {
        return;
    };
    let dir = work.path();
    signet_generate_key_pair(dir);
    let digest = push_artifact(&rt, &reg, "charts/nb", "1.0.0");
    let by_digest = format!("{}@{digest}", reg.oci("charts/nb"));
    let out = signet_sign(
        dir,
        &reg,
        &by_digest,
        &dir.join("cosign.key"),
        &["--new-bundle-format", "-o", "json"],
    );
    let json: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert!(
        json["tlogIndex"].is_null(),
        "key signing logs only when asked: {json}"
    );

    // Stored as cosign v3 stores it: a referrer, no `.sig` tag.
    assert!(fetch_manifest(&rt, &reg, &sig_tag(&reg, "charts/nb", &digest)).is_none());
    let referrers = referrers_of(&rt, &reg, "charts/nb", &digest, BUNDLE_MEDIA_TYPE);
    assert_eq!(referrers.len(), 1, "{referrers:?}");
    let m = &referrers[0];
    assert_eq!(m.artifact_type.as_deref(), Some(BUNDLE_MEDIA_TYPE));
    assert_eq!(m.config.media_type, "application/vnd.oci.empty.v1+json");
    assert_eq!(m.layers.len(), 1);
    assert_eq!(m.layers[0].media_type, BUNDLE_MEDIA_TYPE);
    assert_eq!(
        m.subject.as_ref().map(|s| s.digest.as_str()),
        Some(digest.as_str())
    );
    assert_eq!(
        m.annotations.as_ref().unwrap()[PREDICATE_TYPE_ANNOTATION],
        SIGN_PREDICATE_TYPE
    );

    let cosign_verify_attestation = |extra: &[&str]| {
        let mut cmd = cosign(&cosign_bin, &reg, dir);
        cmd.args(["verify-attestation", "--new-bundle-format"])
            .args(["--type", SIGN_PREDICATE_TYPE])
            .args(registry_flags(&reg, false))
            .args(extra)
            .arg(cosign_ref(&reg, "charts/nb", &digest));
        run(&mut cmd)
    };
    assert_success(
        &cosign_verify_attestation(&[
            "--key",
            "cosign.pub",
            "--insecure-ignore-tlog",
            // Without it cosign 2.5 asks the public TUF repository for a trust root.
            "--trusted-root",
            mock.trusted_root.to_str().unwrap(),
        ]),
        "cosign verify-attestation --new-bundle-format of a key-signed bundle",
    );
    let signet_verify = |reference: &str, extra: &[&str]| {
        let mut cmd = signet(dir);
        cmd.args(["verify", reference, "-o", "json"])
            .args(reg.cli_flags())
            .args(extra);
        run(&mut cmd)
    };
    let key_flags = ["--key", "cosign.pub", "--insecure-ignore-tlog"];
    let out = signet_verify(&by_digest, &key_flags);
    assert_success(&out, "signet verify of a bundle referrer");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        v["signers"][0]["location"]
            .as_str()
            .unwrap_or_default()
            .contains("referrer"),
        "{v}"
    );
    let reason = |out: &std::process::Output| -> String {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["reason"].as_str().unwrap_or_default().to_string()
    };
    let legacy = signet_verify(
        &by_digest,
        &[&key_flags[..], &["--registry-referrers-mode", "legacy"]].concat(),
    );
    assert_failure(&legacy, "a bundle is not where the legacy mode looks");
    assert_eq!(reason(&legacy), "NoSignatures");
    // A bundle names only the digest: a policy that wants a signed repository refuses it.
    let host_repo = format!("{}/charts/nb", reg.host);
    let named = signet_verify(
        &by_digest,
        &[&key_flags[..], &["--signed-repository", &host_repo]].concat(),
    );
    assert_failure(&named, "a bundle cannot satisfy --signed-repository");
    assert_eq!(reason(&named), "RepositoryMismatch");

    // Keyless with defaults: Fulcio certificate, logged to Rekor as a `dsse` entry.
    let subject =
        "https://github.com/signet-dev/charts/.github/workflows/release.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    let token = identity_token(issuer, subject);
    let keyless = push_artifact(&rt, &reg, "charts/nb", "2.0.0");
    let keyless_ref = format!("{}@{keyless}", reg.oci("charts/nb"));
    let mut cmd = signet(dir);
    cmd.args(["sign", &keyless_ref, "--new-bundle-format", "-o", "json"])
        .args(["--identity-token", &token])
        .args(["--fulcio-url", &mock.url, "--rekor-url", &mock.url])
        .args(reg.cli_flags());
    let out = run_ok(&mut cmd);
    let json: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert!(json["tlogIndex"].as_i64().is_some(), "{json}");
    let trusted_root = mock.trusted_root.to_str().unwrap();
    let identity_flags = |who: &str| {
        vec![
            "--trusted-root".to_string(),
            trusted_root.to_string(),
            "--certificate-identity".into(),
            who.to_string(),
            "--certificate-oidc-issuer".into(),
            issuer.into(),
        ]
    };
    let good = identity_flags(subject);
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let out = signet_verify(&keyless_ref, &good);
    assert_success(&out, "signet verify (log required) of a keyless bundle");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["logIndexes"].as_array().map(Vec::len), Some(1), "{v}");
    let bad = identity_flags("https://github.com/someone/else");
    let bad: Vec<&str> = bad.iter().map(String::as_str).collect();
    let out = signet_verify(&keyless_ref, &bad);
    assert_failure(&out, "signet verify of a keyless bundle, wrong identity");
    assert_eq!(reason(&out), "IdentityMismatch");

    // cosign 2.5 still asks TUF for the Fulcio roots next to --trusted-root; its environment
    // overrides hand it the mock's instead (no network).
    let mock_dir = mock.trusted_root.parent().expect("mock dir");
    let mut cmd = cosign(&cosign_bin, &reg, dir);
    cmd.env("SIGSTORE_ROOT_FILE", mock_dir.join("fulcio_root.pem"))
        .env("SIGSTORE_REKOR_PUBLIC_KEY", mock_dir.join("rekor.pub"))
        .env(
            "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
            mock_dir.join("ctlog.pub"),
        )
        .args(["verify-attestation", "--new-bundle-format"])
        .args(["--type", SIGN_PREDICATE_TYPE])
        .args(&good)
        .args(registry_flags(&reg, false))
        .arg(cosign_ref(&reg, "charts/nb", &keyless));
    assert_success(
        &run(&mut cmd),
        "cosign verify-attestation --new-bundle-format of a keyless bundle",
    );
    let mut cmd = cosign(&cosign_bin, &reg, dir);
    cmd.env("SIGSTORE_ROOT_FILE", mock_dir.join("fulcio_root.pem"))
        .env("SIGSTORE_REKOR_PUBLIC_KEY", mock_dir.join("rekor.pub"))
        .env(
            "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
            mock_dir.join("ctlog.pub"),
        )
        .args(["verify-attestation", "--new-bundle-format"])
        .args(["--type", SIGN_PREDICATE_TYPE])
        .args(&bad)
        .args(registry_flags(&reg, false))
        .arg(cosign_ref(&reg, "charts/nb", &keyless));
    assert_failure(&run(&mut cmd), "cosign verify-attestation, wrong identity");

    // Keyless told not to log, with an RFC 3161 timestamp instead: the timestamp is the proof
    // of when the certificate signed. Accepted when the policy does not require the log (by
    // signet and by cosign), refused when it does.
    let stamped = push_artifact(&rt, &reg, "charts/nb", "3.0.0");
    let stamped_ref = format!("{}@{stamped}", reg.oci("charts/nb"));
    let mut cmd = signet(dir);
    cmd.args([
        "sign",
        &stamped_ref,
        "--new-bundle-format",
        "--tlog-upload=false",
    ])
    .args(["--identity-token", &token, "--fulcio-url", &mock.url])
    .args([
        "--timestamp-server-url",
        &format!("{}/api/v1/timestamp", mock.url),
    ])
    .args(reg.cli_flags());
    run_ok(&mut cmd);
    let ignore_tlog = [&good[..], &["--insecure-ignore-tlog"]].concat();
    assert_success(
        &signet_verify(&stamped_ref, &ignore_tlog),
        "signet verify of a timestamped, unlogged keyless bundle",
    );
    let out = signet_verify(&stamped_ref, &good);
    assert_failure(&out, "signet verify (log required) of an unlogged bundle");
    assert_eq!(reason(&out), "TransparencyLogInvalid");
    let mut cmd = cosign(&cosign_bin, &reg, dir);
    cmd.env("SIGSTORE_ROOT_FILE", mock_dir.join("fulcio_root.pem"))
        .env(
            "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
            mock_dir.join("ctlog.pub"),
        )
        .args(["verify-attestation", "--new-bundle-format"])
        .args(["--type", SIGN_PREDICATE_TYPE])
        .args(&ignore_tlog)
        .args(registry_flags(&reg, false))
        .arg(cosign_ref(&reg, "charts/nb", &stamped));
    assert_success(
        &run(&mut cmd),
        "cosign verify-attestation --new-bundle-format of a timestamped, unlogged bundle",
    );
}

/// `signet sign --signing-config` (cosign v3's service selection) with a Rekor v2 log: keyless,
/// the bundle's entry is `dsse` 0.0.2 with an inclusion proof and no integrated time, the
/// timestamp authority from the config supplies the signing time, and `signet verify` accepts it
/// with the log required. Rekor v2 outside a bundle, or keyless without a timestamp authority,
/// is refused before anything is signed.
/// `cosign attest --new-bundle-format` stores an attestation as a bundle referrer, just where
/// cosign v3 stores signatures, signed by the same key. `cosign verify` does not count it as a
/// signature (its statement's predicate is not cosign's "signed"), and neither does `signet
/// verify`: alone it fails, naming the predicate type; beside a real signature it is passed over.
#[test]
fn attestations_stored_as_bundles_are_not_signatures() {
    let Some((cosign_bin, reg, rt, work)) = interop(TestRegistry::plain) else {
        return;
    };
    let dir = work.path();
    signet_generate_key_pair(dir);
    let digest = push_artifact(&rt, &reg, "charts/attested", "1.0.0");
    let by_digest = format!("{}@{digest}", reg.oci("charts/attested"));
    std::fs::write(
        dir.join("provenance.json"),
        r#"{"buildType": "https://example.invalid/build", "builder": {"id": "ci"}}"#,
    )
    .expect("predicate");
    let mut attest = cosign(&cosign_bin, &reg, dir);
    attest
        .args(["attest", "--new-bundle-format", "--key", "cosign.key"])
        .args(["--type", "slsaprovenance", "--predicate", "provenance.json"])
        .args(["--tlog-upload=false", "--yes"])
        .args(registry_flags(&reg, true))
        .arg(cosign_ref(&reg, "charts/attested", &digest));
    assert_success(&run(&mut attest), "cosign attest --new-bundle-format");

    let verify = || {
        let mut cmd = signet(dir);
        cmd.args(["verify", &by_digest, "-o", "json"])
            .args(["--key", "cosign.pub", "--insecure-ignore-tlog"])
            .args(reg.cli_flags());
        run(&mut cmd)
    };
    let out = verify();
    assert_failure(&out, "signet verify of an attestation only");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["reason"], "NotASignature", "{v}");
    let message = v["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("https://slsa.dev/provenance/v0.2")
            && message.contains("https://sigstore.dev/cosign/sign/v1"),
        "{message}"
    );

    // A signature beside the attestation verifies; the attestation is not counted as a second.
    signet_sign(
        dir,
        &reg,
        &by_digest,
        &dir.join("cosign.key"),
        &["--new-bundle-format"],
    );
    let out = verify();
    assert_success(&out, "signet verify of a signature beside an attestation");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["signers"].as_array().map(Vec::len), Some(1), "{v}");
}

#[test]
fn signing_config_with_rekor_v2_logs_bundles_to_rekor_v2() {
    use signet::sign::bundle::BUNDLE_MEDIA_TYPE;
    let Some((_cosign_bin, reg, rt, work)) = interop(TestRegistry::plain) else {
        return;
    };
    let Some(mock) = SigstoreMock::start(&work.path().join("mock")) else {
        return;
    };
    let dir = work.path();
    let start = "2020-01-01T00:00:00Z";
    let config = |tsa: bool| {
        let mut c = serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [{"url": mock.url, "majorApiVersion": 1, "validFor": {"start": start}}],
            "rekorTlogUrls": [
                {"url": mock.url, "majorApiVersion": 1, "validFor": {"start": start}},
                {"url": mock.url, "majorApiVersion": 2, "validFor": {"start": start}},
            ],
            "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        });
        if tsa {
            c["tsaUrls"] = serde_json::json!([{
                "url": format!("{}/api/v1/timestamp", mock.url),
                "majorApiVersion": 1,
                "validFor": {"start": start},
            }]);
        }
        c.to_string()
    };
    std::fs::write(dir.join("signing-config.json"), config(true)).unwrap();
    std::fs::write(dir.join("no-tsa.json"), config(false)).unwrap();
    let subject =
        "https://github.com/signet-dev/charts/.github/workflows/release.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    let token = identity_token(issuer, subject);
    let digest = push_artifact(&rt, &reg, "charts/v2", "1.0.0");
    let by_digest = format!("{}@{digest}", reg.oci("charts/v2"));
    let sign = |config: &str, extra: &[&str]| {
        let mut cmd = signet(dir);
        cmd.args(["sign", &by_digest, "--signing-config", config])
            .args(["--identity-token", &token, "-o", "json"])
            .args(extra)
            .args(reg.cli_flags());
        run(&mut cmd)
    };

    let out = sign("no-tsa.json", &["--new-bundle-format"]);
    assert_failure(&out, "keyless Rekor v2 without a timestamp authority");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("timestamp"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = sign("signing-config.json", &[]);
    assert_failure(&out, "Rekor v2 without --new-bundle-format");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("--new-bundle-format"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(referrers_of(&rt, &reg, "charts/v2", &digest, BUNDLE_MEDIA_TYPE).is_empty());

    let out = sign("signing-config.json", &["--new-bundle-format"]);
    assert_success(&out, "keyless signing to Rekor v2");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(json["tlogIndex"].as_i64().is_some(), "{json}");

    // The stored bundle carries a Rekor v2 entry and the timestamp.
    let referrers = referrers_of(&rt, &reg, "charts/v2", &digest, BUNDLE_MEDIA_TYPE);
    assert_eq!(referrers.len(), 1);
    let client = RegistryClient::new(reg.options()).expect("client");
    let subject_ref = OciReference::parse(&by_digest).unwrap();
    let bundle = rt
        .block_on(client.fetch_blob(&subject_ref, &referrers[0].layers[0], 1 << 20))
        .expect("bundle blob");
    let bundle: serde_json::Value = serde_json::from_slice(&bundle).expect("bundle json");
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["kind"], "dsse");
    assert_eq!(entry["kindVersion"]["version"], "0.0.2");
    assert!(entry.get("inclusionPromise").is_none(), "{entry}");
    assert!(entry["inclusionProof"]["checkpoint"]["envelope"].is_string());
    assert!(bundle["verificationMaterial"]["timestampVerificationData"].is_object());

    let verify = |who: &str| {
        let mut cmd = signet(dir);
        cmd.args(["verify", &by_digest, "-o", "json"])
            .arg("--trusted-root")
            .arg(&mock.trusted_root)
            .args(["--certificate-identity", who])
            .args(["--certificate-oidc-issuer", issuer])
            .args(reg.cli_flags());
        run(&mut cmd)
    };
    let out = verify(subject);
    assert_success(&out, "signet verify (log required) of a Rekor v2 bundle");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["logIndexes"].as_array().map(Vec::len), Some(1), "{v}");
    assert_failure(
        &verify("https://github.com/someone/else"),
        "signet verify of a Rekor v2 bundle, wrong identity",
    );
}
