//! `signet mirror` against real tools: charts packaged (and signed with a throwaway GnuPG key)
//! by `helm package --sign`, indexed by `helm repo index`, served by a small HTTP(S) server on
//! 127.0.0.1 (optionally with basic auth), mirrored into a real `docker-registry`. Then
//! `helm pull` from OCI must give the source archives byte for byte, `cosign verify` must accept
//! the signatures, a second run must push nothing, and tampered archives, bad provenance and
//! conflicting tags must be refused with messages naming the chart and version.

mod mirror_support;
#[path = "support/sigstore_mock.rs"]
mod sigstore_mock;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mirror_support::repo::{GpgKey, Tools, package, repo_index, sha256_hex, tools};
use mirror_support::server::RepoServer;
use serde_json::Value;
use support::registry::TestRegistry;
use support::tools::{run, run_ok, temp_dir};

const PASSWORD: &str = "mirror-test";

// ---------------------------------------------------------------------------------------------
// Running signet, helm and cosign against the registry.

fn signet(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_signet"));
    cmd.current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("HOME", dir)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .env_remove("SIGSTORE_ID_TOKEN")
        .env_remove("SIGNET_REPO_PASSWORD")
        .stdin(Stdio::null());
    cmd
}

fn mirror(dir: &Path, source: &str, reg: &TestRegistry, extra: &[&str]) -> Output {
    let mut cmd = signet(dir);
    cmd.arg("mirror")
        .arg(source)
        .arg(reg.oci("mirror"))
        .args(target_flags(reg))
        .args(extra);
    run(&mut cmd)
}

/// `--plain-http`, or the registry's CA and docker config under mirror's target flag names.
fn target_flags(reg: &TestRegistry) -> Vec<String> {
    let mut flags = Vec::new();
    match &reg.ca_file {
        None => flags.push("--plain-http".to_string()),
        Some(ca) => {
            flags.push("--registry-ca-file".into());
            flags.push(ca.display().to_string());
        }
    }
    if let Some(config) = &reg.docker_config {
        flags.push("--registry-config".into());
        flags.push(config.display().to_string());
    }
    flags
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn describe(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The outcome of `name` `version` in a mirror JSON document.
fn chart<'a>(doc: &'a Value, name: &str, version: &str) -> &'a Value {
    doc["charts"]
        .as_array()
        .and_then(|charts| {
            charts
                .iter()
                .find(|c| c["name"] == name && c["version"] == version)
        })
        .unwrap_or_else(|| panic!("no outcome for {name} {version} in {doc:#}"))
}

/// `helm pull oci://…/mirror/<name> --version V` into a fresh folder; the archive's bytes.
fn helm_pull(t: &Tools, reg: &TestRegistry, dir: &Path, name: &str, version: &str) -> Vec<u8> {
    let dest = dir.join(format!("pulled-{name}-{version}"));
    std::fs::create_dir_all(&dest).expect("pull dir");
    let mut cmd = Command::new(&t.helm);
    cmd.env("HOME", dir)
        .args(["pull", &format!("{}/{name}", reg.oci("mirror"))])
        .args(["--version", version, "-d"])
        .arg(&dest);
    if reg.is_plain_http() {
        cmd.arg("--plain-http");
    }
    run_ok(&mut cmd);
    let file = std::fs::read_dir(&dest)
        .expect("pull dir")
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "tgz"))
        .unwrap_or_else(|| panic!("helm pull wrote no archive in {}", dest.display()));
    std::fs::read(file.path()).expect("pulled archive")
}

fn cosign_verify(
    t: &Tools,
    reg: &TestRegistry,
    dir: &Path,
    public: &Path,
    repo: &str,
    digest: &str,
) -> Output {
    let mut cmd = Command::new(&t.cosign);
    cmd.current_dir(dir)
        .env("HOME", dir)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .env("TUF_ROOT", dir.join("tuf"))
        .stdin(Stdio::null())
        .args(["verify", "--key"])
        .arg(public)
        .arg("--insecure-ignore-tlog");
    if reg.is_plain_http() {
        cmd.arg("--allow-http-registry");
    }
    cmd.arg(format!("{}/mirror/{repo}@{digest}", reg.host));
    run(&mut cmd)
}

fn generate_key_pair(dir: &Path) -> (PathBuf, PathBuf) {
    run_ok(signet(dir).arg("generate-key-pair"));
    (dir.join("cosign.key"), dir.join("cosign.pub"))
}

// ---------------------------------------------------------------------------------------------

/// The whole story over HTTPS with basic auth: signed and unsigned charts, relative and absolute
/// URLs, a `+` in a version; byte-identical pulls, cosign-verifiable signatures, provenance
/// verified, then a second run that downloads and pushes nothing.
#[test]
fn mirrors_a_signed_https_repository_byte_for_byte_and_idempotently() {
    let Some(t) = tools() else { return };
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let work = temp_dir();
    let dir = work.path();
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let key = GpgKey::generate(&t.gpg, dir, "releaser");
    let mut sources = vec![
        (
            "alpha",
            "0.1.0",
            package(&t, dir, &repo, "alpha", "0.1.0", "a1", Some(&key)),
        ),
        (
            "alpha",
            "0.2.0",
            package(&t, dir, &repo, "alpha", "0.2.0", "a2", Some(&key)),
        ),
        (
            "beta",
            "1.0.0+build.1",
            package(&t, dir, &repo, "beta", "1.0.0+build.1", "b1", None),
        ),
    ];
    // A chart in a subfolder, to be listed with an absolute URL.
    let sub = repo.join("pool");
    std::fs::create_dir_all(&sub).unwrap();
    sources.push((
        "gamma",
        "2.0.0",
        package(&t, dir, &sub, "gamma", "2.0.0", "g1", None),
    ));
    repo_index(&t, dir, &repo);
    let server = RepoServer::start(&repo, Some(dir), Some(("mirror-user", "s3cret")));
    // `helm repo index` lists the subfolder chart relatively ("pool/gamma-2.0.0.tgz"); make it
    // absolute, as indexes generated with --url are.
    let index_path = repo.join("index.yaml");
    let index = std::fs::read_to_string(&index_path).unwrap();
    assert!(index.contains("- pool/gamma-2.0.0.tgz"), "{index}");
    std::fs::write(
        &index_path,
        index.replace(
            "- pool/gamma-2.0.0.tgz",
            &format!("- {}pool/gamma-2.0.0.tgz", server.url()),
        ),
    )
    .unwrap();
    let (cosign_key, cosign_pub) = generate_key_pair(dir);
    let ca = server.ca_file.clone().expect("TLS server CA");
    let source_flags = |extra: &[&str]| -> Vec<String> {
        let mut flags: Vec<String> = vec![
            "--username".into(),
            "mirror-user".into(),
            "--password".into(),
            "s3cret".into(),
            "--ca-file".into(),
            ca.display().to_string(),
        ];
        flags.extend(extra.iter().map(|s| s.to_string()));
        flags
    };

    // Without credentials the repository refuses, and signet says what to give.
    let out = mirror(
        dir,
        &server.url(),
        &reg,
        &["--ca-file", &ca.display().to_string()],
    );
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HTTP 401") && stderr.contains("--username"),
        "{stderr}"
    );
    // Without the CA the TLS handshake fails.
    let out = mirror(
        dir,
        &server.url(),
        &reg,
        &["--username", "mirror-user", "--password", "s3cret"],
    );
    assert!(!out.status.success(), "{}", describe(&out));

    let flags = source_flags(&[
        "--keyring",
        &key.pubring.display().to_string(),
        "--sign",
        "--key",
        &cosign_key.display().to_string(),
        "--output",
        "json",
    ]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let out = mirror(dir, &server.url(), &reg, &flags);
    assert!(out.status.success(), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["ok"], true, "{doc:#}");
    assert_eq!(doc["summary"]["pushed"], 4, "{doc:#}");
    assert_eq!(doc["summary"]["signed"], 4, "{doc:#}");
    assert_eq!(doc["summary"]["failed"], 0, "{doc:#}");
    for (name, version) in [("alpha", "0.1.0"), ("alpha", "0.2.0")] {
        let c = chart(&doc, name, version);
        assert_eq!(c["provenance"]["state"], "verified", "{c:#}");
        assert_eq!(c["provenance"]["signer"], key.uid.as_str(), "{c:#}");
    }
    assert_eq!(
        chart(&doc, "beta", "1.0.0+build.1")["provenance"]["state"],
        "absent"
    );
    // Relative URLs resolve below the repository; the absolute one is used as it is.
    assert_eq!(
        chart(&doc, "alpha", "0.1.0")["source"],
        format!("{}alpha-0.1.0.tgz", server.url())
    );
    assert_eq!(
        chart(&doc, "gamma", "2.0.0")["source"],
        format!("{}pool/gamma-2.0.0.tgz", server.url())
    );
    assert_eq!(
        chart(&doc, "beta", "1.0.0+build.1")["reference"],
        format!("{}/beta:1.0.0_build.1", reg.oci("mirror"))
    );
    let downloads = server.archive_downloads();

    for (name, version, archive) in &sources {
        let pulled = helm_pull(&t, &reg, dir, name, version);
        let original = std::fs::read(archive).unwrap();
        assert!(
            pulled == original,
            "helm pull of {name} {version} differs from the source archive"
        );
        let digest = chart(&doc, name, version)["digest"]
            .as_str()
            .expect("manifest digest")
            .to_string();
        let out = cosign_verify(&t, &reg, dir, &cosign_pub, name, &digest);
        assert!(
            out.status.success(),
            "cosign verify {name} {version}: {}",
            describe(&out)
        );
    }

    // The .prov travelled as helm push carries it, so helm verifies the mirrored chart itself.
    // (beta has none: helm refuses to verify it, which shows the check is real.)
    for (name, version) in [
        ("alpha", "0.1.0"),
        ("alpha", "0.2.0"),
        ("beta", "1.0.0+build.1"),
    ] {
        let dest = dir.join(format!("verified-{name}-{version}"));
        std::fs::create_dir_all(&dest).unwrap();
        let mut cmd = Command::new(&t.helm);
        cmd.env("HOME", dir)
            .args(["pull", &format!("{}/{name}", reg.oci("mirror"))])
            .args([
                "--version",
                version,
                "--plain-http",
                "--verify",
                "--keyring",
            ])
            .arg(&key.pubring)
            .arg("-d")
            .arg(&dest);
        let out = run(&mut cmd);
        assert_eq!(
            out.status.success(),
            name == "alpha",
            "helm pull --verify {name} {version}: {}",
            describe(&out)
        );
    }

    // A second run: everything is there already; nothing is downloaded, pushed or signed.
    let flags = source_flags(&["--sign", "--key", &cosign_key.display().to_string()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let out = mirror(dir, &server.url(), &reg, &flags);
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("second run:\n{stdout}");
    assert!(
        stdout.contains("4 chart version(s): 0 pushed, 4 skipped, 0 signed, 0 failed"),
        "{stdout}"
    );
    assert!(stdout.contains("already signed"), "{stdout}");
    assert_eq!(
        server.archive_downloads(),
        downloads,
        "the second run downloaded archives"
    );
}

/// What must be refused: an archive that is not what the index lists, provenance signed by an
/// unknown key, altered provenance, and provenance over another archive; the good version next
/// to them still goes through, and the failures name chart, version and reason. Without a
/// keyring, provenance is not looked at (shown with --dry-run, which pushes nothing).
#[test]
fn refuses_tampered_archives_and_bad_provenance() {
    let Some(t) = tools() else { return };
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let work = temp_dir();
    let dir = work.path();
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let trusted = GpgKey::generate(&t.gpg, dir, "trusted");
    let stranger = GpgKey::generate(&t.gpg, dir, "stranger");
    package(&t, dir, &repo, "good", "1.0.0", "g", Some(&trusted));
    package(&t, dir, &repo, "unsigned", "1.0.0", "n", None);
    let tampered = package(&t, dir, &repo, "tampered", "1.0.0", "t", Some(&trusted));
    package(&t, dir, &repo, "unknownkey", "1.0.0", "u", Some(&stranger));
    package(&t, dir, &repo, "altered", "1.0.0", "a", Some(&trusted));
    package(&t, dir, &repo, "swapped", "1.0.0", "s1", Some(&trusted));
    // The altered provenance claims another checksum (the signature no longer matches).
    let prov = repo.join("altered-1.0.0.tgz.prov");
    let text = std::fs::read_to_string(&prov).unwrap();
    let at = text.find("sha256:").expect("checksum in .prov") + "sha256:".len();
    let flipped = if &text[at..at + 1] == "0" { "1" } else { "0" };
    std::fs::write(
        &prov,
        format!("{}{flipped}{}", &text[..at], &text[at + 1..]),
    )
    .unwrap();
    // The swapped chart: repackaged (new bytes, which the index will list) with the .prov of
    // the first build kept: a valid signature over another archive's checksum.
    let old_prov = std::fs::read(repo.join("swapped-1.0.0.tgz.prov")).unwrap();
    package(&t, dir, &repo, "swapped", "1.0.0", "s2", None);
    std::fs::write(repo.join("swapped-1.0.0.tgz.prov"), old_prov).unwrap();
    repo_index(&t, dir, &repo);
    // After indexing, the tampered archive is replaced by other bytes of the same name.
    let listed = sha256_hex(&std::fs::read(&tampered).unwrap());
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let evil = package(&t, dir, &elsewhere, "tampered", "1.0.0", "evil", None);
    std::fs::copy(&evil, &tampered).unwrap();
    let server = RepoServer::start(&repo, None, None);

    let keyring = trusted.pubring.display().to_string();
    // --require-provenance refuses a version without a .prov (checked first: nothing is
    // mirrored yet, so it is downloaded and looked at).
    let out = mirror(
        dir,
        &server.url(),
        &reg,
        &[
            "--keyring",
            &keyring,
            "--require-provenance",
            "--chart",
            "unsigned",
            "--dry-run",
        ],
    );
    assert!(!out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("unsigned 1.0.0: provenance") && stdout.contains("--require-provenance"),
        "{stdout}"
    );
    let out = mirror(
        dir,
        &server.url(),
        &reg,
        &["--keyring", &keyring, "--output", "json"],
    );
    assert!(
        !out.status.success(),
        "failures must fail the run: {}",
        describe(&out)
    );
    let doc = json(&out);
    assert_eq!(doc["ok"], false, "{doc:#}");
    assert_eq!(doc["summary"]["pushed"], 2, "{doc:#}");
    assert_eq!(doc["summary"]["failed"], 4, "{doc:#}");
    assert_eq!(chart(&doc, "good", "1.0.0")["status"], "pushed");
    assert_eq!(
        chart(&doc, "unsigned", "1.0.0")["provenance"]["state"],
        "absent"
    );
    let failure = |name: &str, reason: &str, words: &[&str]| {
        let c = chart(&doc, name, "1.0.0");
        assert_eq!(c["status"], "failed", "{c:#}");
        assert_eq!(c["reason"], reason, "{c:#}");
        let message = c["error"].as_str().unwrap_or_default();
        assert!(message.starts_with(&format!("{name} 1.0.0: ")), "{message}");
        for word in words {
            assert!(message.contains(word), "{name}: {message:?} lacks {word:?}");
        }
    };
    failure(
        "tampered",
        "DigestMismatch",
        &[&format!("index.yaml says sha256:{listed}")],
    );
    failure("unknownkey", "ProvenanceFailed", &["not in the keyring"]);
    failure("altered", "ProvenanceFailed", &["does not verify"]);
    failure(
        "swapped",
        "ProvenanceFailed",
        &["signed checksum of swapped-1.0.0.tgz"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("4 of 6 chart version(s) failed"),
        "{stderr}"
    );
    // Nothing refused reached the registry.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = signet::registry::RegistryClient::new(reg.options()).unwrap();
    for name in ["tampered", "unknownkey", "altered", "swapped"] {
        let reference =
            signet::registry::OciReference::parse(&format!("{}/{name}:1.0.0", reg.oci("mirror")))
                .unwrap();
        let found = rt.block_on(client.resolve(&reference));
        assert!(found.is_err(), "{name} was pushed although refused");
    }

    // Text output names the same failures.
    let out = mirror(
        dir,
        &server.url(),
        &reg,
        &["--keyring", &keyring, "--chart", "unknownkey"],
    );
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAILED     unknownkey 1.0.0: provenance")
            && stdout.contains("signed by key"),
        "{stdout}"
    );

    // Without a keyring provenance is not checked: only the digest mismatch is refused.
    let out = mirror(dir, &server.url(), &reg, &["--dry-run", "--output", "json"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["summary"]["failed"], 1, "{doc:#}");
    assert_eq!(chart(&doc, "tampered", "1.0.0")["reason"], "DigestMismatch");
    assert_eq!(chart(&doc, "good", "1.0.0")["status"], "skipped");
    for name in ["unknownkey", "altered", "swapped"] {
        let c = chart(&doc, name, "1.0.0");
        assert_eq!(c["status"], "wouldPush", "{c:#}");
        assert_eq!(c["provenance"]["state"], "notChecked", "{c:#}");
        let reference =
            signet::registry::OciReference::parse(&format!("{}/{name}:1.0.0", reg.oci("mirror")))
                .unwrap();
        assert!(
            rt.block_on(client.resolve(&reference)).is_err(),
            "--dry-run pushed {name}"
        );
    }
}

/// A tag holding a different chart is an error naming both digests; `--force` overwrites it,
/// and a `--version` range and `--chart` pick what is mirrored.
#[test]
fn a_different_chart_at_the_tag_is_refused_unless_forced() {
    let Some(t) = tools() else { return };
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let work = temp_dir();
    let dir = work.path();
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    package(&t, dir, &repo, "app", "1.0.0", "one", None);
    package(&t, dir, &repo, "app", "1.1.0", "one", None);
    package(&t, dir, &repo, "app", "2.0.0", "one", None);
    package(&t, dir, &repo, "other", "1.0.0", "one", None);
    repo_index(&t, dir, &repo);
    let server = RepoServer::start(&repo, None, None);

    let out = mirror(
        dir,
        &server.url(),
        &reg,
        &[
            "--chart",
            "app",
            "--version",
            ">=1.1.0 <2",
            "--output",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["summary"]["total"], 1, "{doc:#}");
    assert_eq!(chart(&doc, "app", "1.1.0")["status"], "pushed");

    // The same version, rebuilt with other content, in the source.
    std::fs::remove_file(repo.join("app-1.1.0.tgz")).unwrap();
    let rebuilt = package(&t, dir, &repo, "app", "1.1.0", "two", None);
    std::fs::remove_file(repo.join("index.yaml")).unwrap();
    repo_index(&t, dir, &repo);
    let out = mirror(
        dir,
        &server.url(),
        &reg,
        &["--chart", "app", "--version", "1.1.0"],
    );
    assert!(!out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("already holds a different chart") && stdout.contains("--force"),
        "{stdout}"
    );
    let out = mirror(
        dir,
        &server.url(),
        &reg,
        &["--chart", "app", "--version", "1.1.0", "--force"],
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("overwrote"));
    assert!(helm_pull(&t, &reg, dir, "app", "1.1.0") == std::fs::read(&rebuilt).unwrap());

    // An unknown chart is a usage error naming the charts there are.
    let out = mirror(
        dir,
        &server.url(),
        &reg,
        &["--chart", "nope", "--output", "json"],
    );
    assert!(!out.status.success());
    let doc = json(&out);
    assert_eq!(doc["reason"], "NothingSelected", "{doc:#}");
    assert!(
        doc["message"]
            .as_str()
            .unwrap_or_default()
            .contains("app, other"),
        "{doc:#}"
    );
}

/// Keyless `--sign` through the local Fulcio and timestamp authority: each pushed version gets
/// its own certificate-backed signature that `cosign verify` accepts for the identity; a second
/// run pushes nothing and so signs nothing.
#[test]
fn keyless_signing_of_mirrored_charts() {
    let Some(t) = tools() else { return };
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let work = temp_dir();
    let dir = work.path();
    let Some(mock) = sigstore_mock::SigstoreMock::start(&dir.join("mock")) else {
        return;
    };
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    package(&t, dir, &repo, "kl", "1.0.0", "k1", None);
    package(&t, dir, &repo, "kl", "1.1.0", "k2", None);
    repo_index(&t, dir, &repo);
    let server = RepoServer::start(&repo, None, None);
    let subject =
        "https://github.com/signet-dev/charts/.github/workflows/mirror.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    let token = sigstore_mock::identity_token(issuer, subject);
    let tsa = format!("{}/api/v1/timestamp", mock.url);
    let keyless = [
        "--sign",
        "--identity-token",
        &token,
        "--fulcio-url",
        &mock.url,
        "--timestamp-server-url",
        &tsa,
        // Keyless signing logs by default, as cosign does: to the local log, not the public one.
        "--rekor-url",
        &mock.url,
    ];
    let mut flags = keyless.to_vec();
    flags.extend(["--output", "json"]);
    let out = mirror(dir, &server.url(), &reg, &flags);
    assert!(out.status.success(), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["summary"]["signed"], 2, "{doc:#}");
    let mock_dir = mock.trusted_root.parent().expect("mock dir");
    for version in ["1.0.0", "1.1.0"] {
        let digest = chart(&doc, "kl", version)["digest"]
            .as_str()
            .expect("digest")
            .to_string();
        let mut cmd = Command::new(&t.cosign);
        cmd.current_dir(dir)
            .env("HOME", dir)
            .env("DOCKER_CONFIG", dir.join("no-docker-config"))
            .env("TUF_ROOT", dir.join("tuf"))
            .env("SIGSTORE_ROOT_FILE", mock_dir.join("fulcio_root.pem"))
            .env(
                "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
                mock_dir.join("ctlog.pub"),
            )
            .stdin(Stdio::null())
            .args([
                "verify",
                "--insecure-ignore-tlog",
                "--use-signed-timestamps",
            ])
            .arg("--timestamp-certificate-chain")
            .arg(mock_dir.join("tsa_chain.pem"))
            .args(["--certificate-identity", subject])
            .args(["--certificate-oidc-issuer", issuer, "--allow-http-registry"])
            .arg(format!("{}/mirror/kl@{digest}", reg.host));
        let out = run(&mut cmd);
        assert!(
            out.status.success(),
            "cosign verify kl {version}: {}",
            describe(&out)
        );
    }
    let out = mirror(dir, &server.url(), &reg, &flags);
    assert!(out.status.success(), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["summary"]["skipped"], 2, "{doc:#}");
    assert_eq!(doc["summary"]["signed"], 0, "{doc:#}");
}

/// A source that wants a client certificate (`--cert-file/--key-file`, as `helm repo add`).
#[test]
fn a_client_certificate_reaches_a_mutual_tls_repository() {
    let Some(t) = tools() else { return };
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let work = temp_dir();
    let dir = work.path();
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let archive = package(&t, dir, &repo, "mtls", "1.0.0", "m", None);
    repo_index(&t, dir, &repo);
    let server = RepoServer::start_mutual_tls(&repo, dir);
    let ca = server.ca_file.clone().expect("CA").display().to_string();
    let out = mirror(dir, &server.url(), &reg, &["--ca-file", &ca]);
    assert!(
        !out.status.success(),
        "no client certificate: {}",
        describe(&out)
    );
    let cert = dir.join("client.pem").display().to_string();
    let key = dir.join("client.key").display().to_string();
    let out = mirror(
        dir,
        &server.url(),
        &reg,
        &["--ca-file", &ca, "--cert-file", &cert, "--key-file", &key],
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(helm_pull(&t, &reg, dir, "mtls", "1.0.0") == std::fs::read(&archive).unwrap());
}
