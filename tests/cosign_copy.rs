//! Signatures that travel with a chart: signed at `registry-a/charts/app`, copied to
//! `registry-b/…` (the chart is examples/hello, so `charts/hello`) with the real `cosign copy` (the `.sig` tag) and `oras cp -r` (OCI 1.1
//! referrers, through the fallback tag on docker-registry). As in cosign, the signature binds the
//! digest, so `signet verify` accepts the copy at the mirror by default; with
//! `--signed-repository[-regexp]` it accepts only signatures made for that repository.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::registry::TestRegistry;
use support::tools::{run, run_ok, temp_dir, tool, workspace_root};

const PASSWORD: &str = "copy-test-pw";

fn signet(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_signet"));
    cmd.current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env_remove("SIGSTORE_ID_TOKEN")
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .stdin(Stdio::null());
    cmd
}

/// cosign (or oras) kept away from the user's configuration and the network.
fn isolated(bin: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("HOME", dir)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .env("TUF_ROOT", dir.join("tuf"))
        .stdin(Stdio::null());
    cmd
}

/// Packages examples/hello and pushes it to `oci://host/charts`; returns the manifest digest.
fn push_chart(dir: &Path, reg: &TestRegistry, repo: &str) -> String {
    run_ok(
        signet(dir)
            .args(["package"])
            .arg(workspace_root().join("examples/hello"))
            .args(["-d", "dist"]),
    );
    let archive = std::fs::read_dir(dir.join("dist"))
        .expect("dist")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .expect("packaged chart");
    let out = run_ok(
        signet(dir)
            .arg("push")
            .arg(&archive)
            .arg(reg.oci(repo))
            .args(reg.cli_flags())
            .args(["-o", "json"]),
    );
    let json: serde_json::Value = serde_json::from_str(out.trim()).expect("push json");
    json["digest"].as_str().expect("digest").to_string()
}

/// `signet verify oci://…@digest --key cosign.pub --insecure-ignore-tlog EXTRA…`.
fn signet_verify(
    dir: &Path,
    reg: &TestRegistry,
    repo: &str,
    digest: &str,
    extra: &[&str],
) -> Output {
    run(signet(dir)
        .arg("verify")
        .arg(format!("{}@{digest}", reg.oci(repo)))
        .args([
            "--key",
            "cosign.pub",
            "--insecure-ignore-tlog",
            "-o",
            "json",
        ])
        .args(reg.cli_flags())
        .args(extra))
}

fn assert_verified(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: expected success ({})\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The failure's reason from `--output json`.
fn refused_reason(out: &Output, what: &str) -> String {
    assert!(
        !out.status.success(),
        "{what}: expected a refusal\nstdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: output is not JSON ({e}): {out:?}"));
    json["reason"].as_str().unwrap_or_default().to_string()
}

/// The three cases for a copy at `mirror_repo` of a chart signed at `origin`.
fn check_mirror(dir: &Path, mirror: &TestRegistry, mirror_repo: &str, digest: &str, origin: &str) {
    assert_verified(
        &signet_verify(dir, mirror, mirror_repo, digest, &[]),
        "signet verify at the mirror (digest binding, as cosign)",
    );
    let here = format!("{}/{mirror_repo}", mirror.host);
    let out = signet_verify(
        dir,
        mirror,
        mirror_repo,
        digest,
        &["--signed-repository", &here],
    );
    assert_eq!(
        refused_reason(&out, "--signed-repository naming the mirror"),
        "RepositoryMismatch"
    );
    let message = String::from_utf8_lossy(&out.stdout);
    assert!(message.contains(origin), "names what was signed: {message}");
    assert_verified(
        &signet_verify(
            dir,
            mirror,
            mirror_repo,
            digest,
            &["--signed-repository", origin],
        ),
        "--signed-repository naming the origin",
    );
    let (_, origin_path) = origin.split_once('/').expect("HOST/REPO");
    assert_verified(
        &signet_verify(
            dir,
            mirror,
            mirror_repo,
            digest,
            &[
                "--signed-repository-regexp",
                &format!(r"127\.0\.0\.1:[0-9]+/{origin_path}"),
            ],
        ),
        "--signed-repository-regexp matching the origin",
    );
    let out = signet_verify(
        dir,
        mirror,
        mirror_repo,
        digest,
        &["--signed-repository-regexp", ".*/other/app"],
    );
    assert_eq!(
        refused_reason(&out, "--signed-repository-regexp matching something else"),
        "RepositoryMismatch"
    );
}

#[test]
fn cosign_copy_to_a_mirror_verifies_by_digest_and_by_signed_repository_on_request() {
    let Some(cosign) = tool("cosign") else { return };
    let Some(a) = TestRegistry::plain() else {
        return;
    };
    let Some(b) = TestRegistry::plain() else {
        return;
    };
    let work = temp_dir();
    let dir = work.path();
    run_ok(signet(dir).arg("generate-key-pair"));
    let digest = push_chart(dir, &a, "charts");
    let origin = format!("{}/charts/hello", a.host);
    run_ok(
        signet(dir)
            .arg("sign")
            .arg(format!("{}@{digest}", a.oci("charts/hello")))
            .args(["--key", "cosign.key"])
            .args(a.cli_flags()),
    );

    run_ok(
        isolated(&cosign, dir)
            .args(["copy", "--allow-http-registry", "--allow-insecure-registry"])
            .arg(format!("{origin}@{digest}"))
            .arg(format!("{}/mirror/app", b.host)),
    );
    // cosign accepts the copy at the mirror…
    let out = run(isolated(&cosign, dir)
        .args(["verify", "--key", "cosign.pub", "--insecure-ignore-tlog"])
        .arg("--allow-http-registry")
        .arg(format!("{}/mirror/app@{digest}", b.host)));
    assert_verified(&out, "cosign verify at the mirror");
    // …and so does signet, unless the policy asks for another signed repository.
    check_mirror(dir, &b, "mirror/app", &digest, &origin);
}

#[test]
fn oras_recursive_copy_carries_referrer_signatures_to_the_mirror() {
    let Some(oras) = tool("oras") else { return };
    let Some(a) = TestRegistry::plain() else {
        return;
    };
    let Some(b) = TestRegistry::plain() else {
        return;
    };
    let work = temp_dir();
    let dir = work.path();
    run_ok(signet(dir).arg("generate-key-pair"));
    let digest = push_chart(dir, &a, "charts");
    let origin = format!("{}/charts/hello", a.host);
    run_ok(
        signet(dir)
            .arg("sign")
            .arg(format!("{}@{digest}", a.oci("charts/hello")))
            .args([
                "--key",
                "cosign.key",
                "--registry-referrers-mode",
                "oci-1-1",
            ])
            .args(a.cli_flags()),
    );
    run_ok(
        isolated(&oras, dir)
            .args(["cp", "-r", "--from-plain-http", "--to-plain-http"])
            .arg(format!("{origin}@{digest}"))
            .arg(format!("{}/oras/app:0.1.0", b.host)),
    );
    // Only the referrer came along (no `.sig` tag was written), and it verifies at the mirror.
    let out = signet_verify(
        dir,
        &b,
        "oras/app",
        &digest,
        &["--registry-referrers-mode", "legacy"],
    );
    assert_eq!(
        refused_reason(&out, "no .sig tag at the mirror"),
        "NoSignatures"
    );
    check_mirror(dir, &b, "oras/app", &digest, &origin);
}
