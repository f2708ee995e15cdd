//! The build-side CLI (`signet lint|package|push|pull|registry`) against a real registry:
//! Debian's `docker-registry`, plain HTTP and TLS + htpasswd auth. Also the bad-input paths:
//! each must fail with a one-line message naming the file/reference and leave nothing behind.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use support::registry::TestRegistry;
use support::tools::{run, run_ok, run_with_stdin, temp_dir, workspace_root};

fn signet() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
    // Never read the developer's own docker credentials.
    c.env("DOCKER_CONFIG", "/nonexistent-signet-test-docker-config")
        .env(
            "HELM_REGISTRY_CONFIG",
            "/nonexistent-signet-test-helm-registry-config",
        );
    c
}

fn hello_chart() -> PathBuf {
    workspace_root().join("examples/hello")
}

fn package(chart: &Path, out: &Path) -> PathBuf {
    let json = run_ok(
        signet()
            .args(["package", "-o", "json", "-d"])
            .arg(out)
            .arg(chart),
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    PathBuf::from(v["path"].as_str().unwrap())
}

fn push(reg: &TestRegistry, archive: &Path, repo: &str) -> serde_json::Value {
    let json = run_ok(
        signet()
            .arg("push")
            .arg(archive)
            .arg(reg.oci(repo))
            .args(["-o", "json"])
            .args(reg.cli_flags()),
    );
    serde_json::from_str(&json).unwrap()
}

/// `signet registry login host <user_flag> alice --password-stdin` over TLS (`ca`), writing
/// `config`; the password is fed on stdin as a user would pipe it.
fn login_with_stdin_password(
    host: &str,
    user_flag: &str,
    ca: &Path,
    config: &Path,
    password: &str,
) -> Output {
    let mut login = signet();
    login
        .args([
            "registry",
            "login",
            host,
            user_flag,
            "alice",
            "--password-stdin",
        ])
        .arg("--ca-file")
        .arg(ca)
        .arg("--registry-config")
        .arg(config);
    run_with_stdin(&mut login, format!("{password}\n").as_bytes())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a failed run with a single-line error containing every `needle`.
fn assert_fails(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected a one-line error, got:\n{err}");
    for n in needles {
        assert!(err.contains(n), "error {err:?} should mention {n:?}");
    }
}

/// The process umask (read without changing it, from /proc).
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

fn dir_is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

#[test]
fn plain_http_push_then_pull_by_version_range_tag_and_digest() {
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let work = temp_dir();
    let archive = package(&hello_chart(), work.path());
    let original = std::fs::read(&archive).unwrap();
    let pushed = push(&reg, &archive, "charts");
    assert_eq!(pushed["ok"], true);
    let digest = pushed["digest"].as_str().unwrap().to_string();
    assert!(digest.starts_with("sha256:"), "{pushed}");
    assert_eq!(
        pushed["ref"].as_str().unwrap(),
        format!("{}:0.1.0", reg.oci("charts/hello"))
    );
    // Pushing the same archive again gives the same manifest (helm's rule), so signatures made
    // for the first push still belong to the tag.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = push(&reg, &archive, "charts");
    assert_eq!(
        again["digest"], pushed["digest"],
        "re-push changed the digest"
    );

    for (n, how) in [
        vec!["--version".to_string(), "0.1.0".to_string()],
        vec!["--version".to_string(), ">=0.1.0 <1.0.0".to_string()],
        vec![],
        vec![],
    ]
    .into_iter()
    .enumerate()
    {
        let dest = work.path().join(format!("pull{n}"));
        let reference = match n {
            2 => format!("{}:0.1.0", reg.oci("charts/hello")),
            3 => format!("{}@{digest}", reg.oci("charts/hello")),
            _ => reg.oci("charts/hello"),
        };
        let json = run_ok(
            signet()
                .arg("pull")
                .arg(&reference)
                .args(&how)
                .arg("-d")
                .arg(&dest)
                .args(["-o", "json"])
                .args(reg.cli_flags()),
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["digest"].as_str().unwrap(), digest, "{reference} {how:?}");
        let pulled = std::fs::read(dest.join("hello-0.1.0.tgz")).unwrap();
        assert_eq!(
            pulled, original,
            "pulled bytes differ for {reference} {how:?}"
        );
        // Only the archive: no staging leftovers; readable by all, like helm's 0644.
        assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dest.join("hello-0.1.0.tgz"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0o044 & !umask(),
            "pulled archive mode {mode:o}"
        );
    }

    // A range nothing satisfies: clear error listing what exists.
    let dest = work.path().join("none");
    let out = run(signet()
        .arg("pull")
        .arg(reg.oci("charts/hello"))
        .args(["--version", "^2"])
        .arg("-d")
        .arg(&dest)
        .args(reg.cli_flags()));
    assert_fails(&out, &["no version", "^2", "0.1.0"]);
    assert!(dir_is_empty(&dest));
    // The same failure as one JSON document on stdout, like every command's --output json.
    let out = run(signet()
        .arg("pull")
        .arg(reg.oci("charts/hello"))
        .args(["--version", "^2", "-o", "json", "-d"])
        .arg(&dest)
        .args(reg.cli_flags()));
    assert!(!out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["reason"], "NoMatchingVersion");
    assert!(doc["message"].as_str().unwrap().contains("^2"), "{doc}");

    // Without a version, the latest stable one, as helm: a later pre-release is not picked.
    let rc_src = work.path().join("rc/hello");
    std::fs::create_dir_all(rc_src.join("templates")).unwrap();
    for f in ["values.yaml", "templates/configmap.yaml"] {
        std::fs::copy(hello_chart().join(f), rc_src.join(f)).unwrap();
    }
    let chart_yaml = std::fs::read_to_string(hello_chart().join("Chart.yaml")).unwrap();
    std::fs::write(
        rc_src.join("Chart.yaml"),
        chart_yaml.replace("version: 0.1.0", "version: 0.2.0-rc.1"),
    )
    .unwrap();
    push(
        &reg,
        &package(&rc_src, &work.path().join("rc-pkg")),
        "charts",
    );
    let latest = work.path().join("latest");
    let json = run_ok(
        signet()
            .arg("pull")
            .arg(reg.oci("charts/hello"))
            .arg("-d")
            .arg(&latest)
            .args(["-o", "json"])
            .args(reg.cli_flags()),
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["digest"].as_str().unwrap(), digest, "{json}");
    assert!(latest.join("hello-0.1.0.tgz").exists());

    // A plain-HTTP registry without --plain-http: Go's wording, not rustls's.
    let out = run(signet()
        .arg("pull")
        .arg(reg.oci("charts/hello"))
        .args(["--version", "0.1.0", "-d"])
        .arg(&dest));
    assert_fails(
        &out,
        &["server gave HTTP response to HTTPS client", "--plain-http"],
    );
}

#[test]
fn tls_and_auth_push_pull_login_and_wrong_credentials() {
    let Some(reg) = TestRegistry::tls_with_auth("alice", "correct-horse") else {
        return;
    };
    let work = temp_dir();
    let archive = package(&hello_chart(), work.path());
    let original = std::fs::read(&archive).unwrap();
    let ca = reg.ca_file.clone().unwrap();

    // Log in through the CLI into a fresh docker config, then push and pull with it.
    let config = work.path().join("docker/config.json");
    let out = login_with_stdin_password(&reg.host, "--username", &ca, &config, "correct-horse");
    assert!(out.status.success(), "login failed: {}", stderr(&out));
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(saved.contains(&reg.host), "{saved}");

    let flags = |cfg: &Path| -> Vec<String> {
        vec![
            "--ca-file".into(),
            ca.display().to_string(),
            "--registry-config".into(),
            cfg.display().to_string(),
        ]
    };
    let json = run_ok(
        signet()
            .arg("push")
            .arg(&archive)
            .arg(reg.oci("secure"))
            .args(["-o", "json"])
            .args(flags(&config)),
    );
    let pushed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let dest = work.path().join("pulled");
    run_ok(
        signet()
            .arg("pull")
            .arg(reg.oci("secure/hello"))
            .args(["--version", "0.1.0", "-d"])
            .arg(&dest)
            .args(flags(&config)),
    );
    assert_eq!(
        std::fs::read(dest.join("hello-0.1.0.tgz")).unwrap(),
        original
    );
    assert!(pushed["digest"].as_str().unwrap().starts_with("sha256:"));

    // Wrong password: login refuses and writes nothing.
    let bad_config = work.path().join("bad/config.json");
    let out = login_with_stdin_password(&reg.host, "-u", &ca, &bad_config, "wrong");
    assert_fails(&out, &["401 Unauthorized", &reg.host, "user \"alice\""]);
    assert!(
        !stderr(&out).contains("wrong"),
        "password echoed: {}",
        stderr(&out)
    );
    assert!(!bad_config.exists());

    // A config with the wrong password, and no config at all: pull and push are refused.
    signet::registry::login(&bad_config, &reg.host, "alice", "wrong").unwrap();
    for (cfg, sent) in [
        (bad_config.clone(), "the password of user \"alice\" from"),
        (work.path().join("missing/config.json"), "no credentials"),
    ] {
        let dest = work.path().join("denied");
        let out = run(signet()
            .arg("pull")
            .arg(reg.oci("secure/hello"))
            .args(["--version", "0.1.0", "-d"])
            .arg(&dest)
            .args(flags(&cfg)));
        assert_fails(&out, &["401 Unauthorized", &reg.host, sent]);
        assert!(dir_is_empty(&dest));
        let out = run(signet()
            .arg("push")
            .arg(&archive)
            .arg(reg.oci("secure"))
            .args(flags(&cfg)));
        assert_fails(&out, &["401 Unauthorized", sent]);
    }

    // helm's --username/--password, with no stored credentials at all.
    let dest = work.path().join("with-flags");
    run_ok(
        signet()
            .arg("pull")
            .arg(reg.oci("secure/hello"))
            .args(["--version", "0.1.0", "--username", "alice", "--password"])
            .arg("correct-horse")
            .arg("-d")
            .arg(&dest)
            .args(flags(&work.path().join("missing/config.json"))),
    );
    assert!(dest.join("hello-0.1.0.tgz").exists());

    // Without the CA the certificate is rejected; --insecure-skip-tls-verify gets through.
    let out = run(signet()
        .arg("pull")
        .arg(reg.oci("secure/hello"))
        .args(["--version", "0.1.0", "-d"])
        .arg(work.path().join("noca"))
        .arg("--registry-config")
        .arg(&config));
    assert_fails(&out, &["cannot reach registry", &reg.host]);
    run_ok(
        signet()
            .arg("pull")
            .arg(reg.oci("secure/hello"))
            .args(["--version", "0.1.0", "--insecure-skip-tls-verify", "-d"])
            .arg(work.path().join("insecure"))
            .arg("--registry-config")
            .arg(&config),
    );

    // Logout removes the entry; a second logout says so.
    run_ok(
        signet()
            .args(["registry", "logout", &reg.host, "--registry-config"])
            .arg(&config),
    );
    assert!(
        !std::fs::read_to_string(&config)
            .unwrap()
            .contains(&reg.host)
    );
    let out = run(signet()
        .args(["registry", "logout", &reg.host, "--registry-config"])
        .arg(&config));
    assert_fails(&out, &["not logged in", &reg.host]);
}

#[test]
fn unreachable_registry_is_a_clear_error() {
    let work = temp_dir();
    let archive = package(&hello_chart(), work.path());
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(signet()
        .arg("push")
        .arg(&archive)
        .arg(format!("oci://127.0.0.1:{port}/charts"))
        .arg("--plain-http"));
    assert_fails(
        &out,
        &["cannot reach registry", &format!("127.0.0.1:{port}")],
    );
    let dest = work.path().join("dest");
    let out = run(signet()
        .arg("pull")
        .arg(format!("oci://127.0.0.1:{port}/charts/hello"))
        .args(["--version", "1.0.0", "--plain-http", "-d"])
        .arg(&dest));
    assert_fails(&out, &["cannot reach registry"]);
    assert!(dir_is_empty(&dest));
}

#[test]
fn digest_mismatch_on_pull_leaves_nothing_behind() {
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let work = temp_dir();
    let archive = package(&hello_chart(), work.path());
    let pushed = push(&reg, &archive, "corrupt");
    let layer = pushed["layerDigest"].as_str().unwrap();
    assert!(
        reg.corrupt_blob(layer),
        "blob {layer} not found in registry storage"
    );
    let dest = work.path().join("dest");
    let out = run(signet()
        .arg("pull")
        .arg(reg.oci("corrupt/hello"))
        .args(["--version", "0.1.0", "-d"])
        .arg(&dest)
        .args(reg.cli_flags()));
    assert_fails(&out, &["digest mismatch", layer]);
    assert!(dir_is_empty(&dest), "files left in {}", dest.display());

    // A digest that does not exist is "not found", naming the reference.
    let missing = format!("sha256:{}", "0".repeat(64));
    let out = run(signet()
        .arg("pull")
        .arg(format!("{}@{missing}", reg.oci("corrupt/hello")))
        .arg("-d")
        .arg(&dest)
        .args(reg.cli_flags()));
    assert_fails(&out, &["not found", &missing]);
}

/// Writes a chart directory named `name` with the given Chart.yaml.
fn write_chart(root: &Path, name: &str, chart_yaml: Option<&str>) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    if let Some(y) = chart_yaml {
        std::fs::write(dir.join("Chart.yaml"), y).unwrap();
    }
    std::fs::write(dir.join("values.yaml"), "a: 1\n").unwrap();
    std::fs::write(dir.join("templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    dir
}

#[test]
fn bad_charts_are_refused_with_the_file_named() {
    let work = temp_dir();
    let out_dir = work.path().join("out");
    let ok = "apiVersion: v2\nname: demo\nversion: 1.0.0\n";
    let cases: Vec<(PathBuf, Vec<&str>)> = vec![
        (
            write_chart(work.path(), "nochart", None),
            vec!["Chart.yaml is missing", "nochart"],
        ),
        (
            write_chart(
                work.path(),
                "malformed",
                Some("apiVersion: v2\nname: [unclosed\n"),
            ),
            vec!["malformed/Chart.yaml"],
        ),
        (
            write_chart(
                work.path(),
                "badver",
                Some("apiVersion: v2\nname: badver\nversion: one\n"),
            ),
            vec!["badver/Chart.yaml", "version", "\"one\""],
        ),
        (
            write_chart(
                work.path(),
                "v3chart",
                Some("apiVersion: v3\nname: v3chart\nversion: 1.0.0\n"),
            ),
            vec!["v3chart/Chart.yaml", "apiVersion", "\"v3\""],
        ),
    ];
    let escape = write_chart(
        work.path(),
        "escape",
        Some("apiVersion: v2\nname: escape\nversion: 1.0.0\n"),
    );
    std::os::unix::fs::symlink("/etc/passwd", escape.join("templates/passwd")).unwrap();
    let big = write_chart(
        work.path(),
        "big",
        Some("apiVersion: v2\nname: big\nversion: 1.0.0\n"),
    );
    std::fs::write(big.join("huge.bin"), vec![0u8; 6 * 1024 * 1024]).unwrap();
    let mut cases = cases;
    cases.push((escape, vec!["escape/templates/passwd", "outside the chart"]));
    cases.push((big, vec!["big/huge.bin", "limit"]));

    for (dir, needles) in &cases {
        let out = run(signet().arg("package").arg("-d").arg(&out_dir).arg(dir));
        assert_fails(&out, needles);
        let lint = run(signet().arg("lint").arg(dir));
        assert!(!lint.status.success(), "lint accepted {}", dir.display());
    }
    assert!(dir_is_empty(&out_dir), "package left files behind");

    // A directory named unlike its chart (`chart/`, `helm/`) is fine, as for helm: the archive is
    // named after Chart.yaml, and lint takes the directory and the archive alike.
    let renamed = write_chart(work.path(), "chart", Some(ok));
    let json = run_ok(
        signet()
            .args(["package", "-o", "json", "-d"])
            .arg(work.path().join("renamed"))
            .arg(&renamed),
    );
    let packaged: serde_json::Value = serde_json::from_str(&json).unwrap();
    let archive = PathBuf::from(packaged["path"].as_str().unwrap());
    assert_eq!(archive.file_name().unwrap(), "demo-1.0.0.tgz");
    let from_dir = run(signet().arg("lint").arg(&renamed));
    let from_archive = run(signet().args(["lint", "-o", "json"]).arg(&archive));
    assert_eq!(
        from_dir.status.success(),
        from_archive.status.success(),
        "dir: {}\narchive: {}",
        String::from_utf8_lossy(&from_dir.stdout),
        String::from_utf8_lossy(&from_archive.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&from_archive.stdout).unwrap();
    assert_eq!(report["charts"][0]["chart"], archive.display().to_string());
    assert_eq!(report["ok"], from_dir.status.success());
    let corrupt = work.path().join("corrupt.tgz");
    std::fs::write(&corrupt, b"not an archive").unwrap();
    let out = run(signet().arg("lint").arg(&corrupt));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("corrupt.tgz"));

    // Lint renders the chart: unparsable values.yaml fails it; a template error is reported.
    let bad_values = write_chart(
        work.path(),
        "badvalues",
        Some("apiVersion: v2\nname: badvalues\nversion: 1.0.0\n"),
    );
    std::fs::write(bad_values.join("values.yaml"), "a: [1\n").unwrap();
    let out = run(signet().arg("lint").arg(&bad_values));
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[ERROR]") && text.contains("values.yaml"),
        "{text}"
    );
    let bad_tpl = write_chart(
        work.path(),
        "badtpl",
        Some("apiVersion: v2\nname: badtpl\nversion: 1.0.0\n"),
    );
    std::fs::write(bad_tpl.join("templates/x.yaml"), "x: {{ .Values.a \n").unwrap();
    let json = run(signet().args(["lint", "-o", "json"]).arg(&bad_tpl));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["charts"][0]["ok"], false);
    let messages = report["charts"][0]["messages"].as_array().unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m["message"].as_str().unwrap().contains("templates/x.yaml")),
        "{report}"
    );

    // A symlink that stays inside the chart is followed; .helmignore is honoured.
    let good = write_chart(
        work.path(),
        "good",
        Some("apiVersion: v2\nname: good\nversion: 1.0.0+b.1\n"),
    );
    std::os::unix::fs::symlink("cm.yaml", good.join("templates/alias.yaml")).unwrap();
    std::fs::write(good.join(".helmignore"), "*.secret\n").unwrap();
    std::fs::write(good.join("key.secret"), "x").unwrap();
    let archive = package(&good, &out_dir);
    assert!(archive.ends_with("good-1.0.0+b.1.tgz"));
    let listing = run_ok(Command::new("tar").arg("tzf").arg(&archive));
    assert!(listing.contains("good/templates/alias.yaml"), "{listing}");
    assert!(!listing.contains("key.secret"), "{listing}");
    run_ok(signet().arg("lint").arg(&good));
}

/// Crafts a gzip tar with raw entry names (so `..` survives).
fn raw_tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

#[test]
fn bad_archives_are_refused_before_anything_is_pushed() {
    let work = temp_dir();
    let chart = b"apiVersion: v2\nname: demo\nversion: 1.0.0\n";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot.tgz",
            raw_tgz(&[("demo/Chart.yaml", chart), ("demo/../../evil", b"x")]),
            "escapes",
        ),
        (
            "mismatch.tgz",
            raw_tgz(&[("other/Chart.yaml", chart)]),
            "does not match",
        ),
        ("plain.tgz", b"just text".to_vec(), "not a gzip"),
    ];
    // The registry address is unreachable on purpose: the archive must be refused first.
    for (name, bytes, needle) in cases {
        let path = work.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = run(signet()
            .arg("push")
            .arg(&path)
            .args(["oci://127.0.0.1:9/charts", "--plain-http"]));
        assert_fails(&out, &[name, needle]);
    }
    let out = run(signet().args(["push", "/nonexistent/x.tgz", "oci://127.0.0.1:9/c"]));
    assert_fails(&out, &["/nonexistent/x.tgz"]);
    let out = run(signet().args(["pull", "127.0.0.1:9/c", "--version", "1.0.0"]));
    assert_fails(&out, &["oci://"]);
}

#[test]
fn package_is_reproducible() {
    let work = temp_dir();
    let a = package(&hello_chart(), &work.path().join("a"));
    // Different mtimes on a copy must not change the bytes.
    let copy = work.path().join("copy/hello");
    std::fs::create_dir_all(work.path().join("copy")).unwrap();
    run_ok(Command::new("cp").arg("-r").arg(hello_chart()).arg(&copy));
    run_ok(
        Command::new("touch")
            .args(["-d", "2001-02-03"])
            .arg(copy.join("values.yaml")),
    );
    let b = package(&copy, &work.path().join("b"));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn bench_package_and_push_one_megabyte_chart() {
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let work = temp_dir();
    let chart = write_chart(
        work.path(),
        "big",
        Some("apiVersion: v2\nname: big\nversion: 1.0.0\n"),
    );
    // 1 MiB of incompressible-ish content across 8 files.
    let mut state: u64 = 0x9e3779b97f4a7c15;
    for i in 0..8 {
        let data: Vec<u8> = (0..128 * 1024)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                b'a' + (state % 26) as u8
            })
            .collect();
        std::fs::write(chart.join(format!("files-{i}.txt")), data).unwrap();
    }
    let start = Instant::now();
    let archive = package(&chart, work.path());
    let packaged = start.elapsed();
    push(&reg, &archive, "bench");
    let total = start.elapsed();
    eprintln!(
        "bench: signet package+push of a 1 MiB chart ({} bytes compressed): package {:?}, total {:?}",
        std::fs::metadata(&archive).unwrap().len(),
        packaged,
        total
    );
    // The same job done by helm, for scale.
    if let Some(helm) = support::tools::tool("helm") {
        let home = temp_dir();
        let helm_out = work.path().join("helm");
        let start = Instant::now();
        let helm_cmd = |args: &[&std::ffi::OsStr]| {
            run_ok(
                Command::new(&helm)
                    .env("HELM_CONFIG_HOME", home.path().join("c"))
                    .env("HELM_CACHE_HOME", home.path().join("k"))
                    .env("HELM_DATA_HOME", home.path().join("d"))
                    .args(args),
            )
        };
        helm_cmd(&[
            "package".as_ref(),
            chart.as_os_str(),
            "-d".as_ref(),
            helm_out.as_os_str(),
        ]);
        let helm_archive = helm_out.join("big-1.0.0.tgz");
        helm_cmd(&[
            "push".as_ref(),
            helm_archive.as_os_str(),
            reg.oci("bench-helm").as_ref(),
            "--plain-http".as_ref(),
        ]);
        eprintln!(
            "bench: helm package+push of the same chart: {:?}",
            start.elapsed()
        );
    }
    assert!(total.as_secs() < 30, "package+push took {total:?}");
}

// ---- The library client directly (what sign/verify/the controller use) ----

fn runtime() -> tokio::runtime::Runtime {
    signet::tls::install_crypto_provider();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn hello_artifact(version: &str) -> signet::registry::ChartArtifact {
    use signet::package::{ChartSource, load_chart_dir, write_archive};
    let mut source: ChartSource = load_chart_dir(&hello_chart()).unwrap();
    source.metadata.version = version.to_string();
    let chart_yaml = format!("apiVersion: v2\nname: hello\nversion: {version}\n");
    for f in &mut source.files {
        if f.path == "Chart.yaml" {
            f.data = chart_yaml.clone().into_bytes();
        }
    }
    signet::registry::ChartArtifact {
        name: "hello".into(),
        version: version.into(),
        config_json: serde_json::to_vec(&source.metadata).unwrap(),
        annotations: signet::registry::helm_annotations(&source.metadata, "2024-01-01T00:00:00Z"),
        archive: write_archive(&source).unwrap(),
    }
}

/// What a controller pays every interval: resolving a tag is one request, also against a registry
/// that wants no credentials (oci-client alone asks `GET /v2/` first, every time).
#[test]
fn resolving_a_tag_costs_one_request() {
    use signet::registry::*;
    use support::registry::CountingProxy;
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let proxy = CountingProxy::start(reg.addr);
    runtime().block_on(async {
        let client = RegistryClient::new(reg.options()).unwrap();
        let target = OciReference::parse(&format!("oci://{}/cost", proxy.host)).unwrap();
        let pushed = client
            .push_chart(&target, &hello_artifact("1.0.0"), None)
            .await
            .unwrap();
        let tagged =
            OciReference::parse(&format!("oci://{}/cost/hello:1.0.0", proxy.host)).unwrap();
        for _ in 0..3 {
            let before = proxy.counts().0;
            assert_eq!(client.resolve(&tagged).await.unwrap(), pushed.digest);
            assert_eq!(proxy.counts().0 - before, 1, "requests for one resolve");
        }
        // A digest reference resolves to itself; a missing tag or digest is NotFound.
        let pinned = tagged.with_digest(&pushed.digest);
        assert_eq!(client.resolve(&pinned).await.unwrap(), pushed.digest);
        let missing =
            OciReference::parse(&format!("oci://{}/cost/hello:9.9.9", proxy.host)).unwrap();
        assert_eq!(
            client.resolve(&missing).await.unwrap_err().reason(),
            "NotFound"
        );
        let unknown = tagged.with_digest(&format!("sha256:{}", "0".repeat(64)));
        assert_eq!(
            client.resolve(&unknown).await.unwrap_err().reason(),
            "NotFound"
        );
    });
}

/// A registry that wants a token even from anonymous pullers (ghcr.io, Docker Hub) refuses the
/// anonymous HEAD once; after that the client goes straight to the token path, instead of paying
/// a refused HEAD on every resolve.
#[test]
fn a_token_registry_is_not_sent_the_anonymous_head_again() {
    use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
    use signet::registry::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let heads = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = heads.clone();
    runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let challenge = format!("Bearer realm=\"http://{host}/token\",service=\"test\"");
        // Every request is refused with a token challenge; the token endpoint refuses too.
        let app = axum::Router::new().fallback(move |method: Method| {
            let challenge = challenge.clone();
            let counted = counted.clone();
            async move {
                if method == Method::HEAD {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                let mut headers = HeaderMap::new();
                headers.insert(
                    "www-authenticate",
                    HeaderValue::from_str(&challenge).unwrap(),
                );
                (StatusCode::UNAUTHORIZED, headers)
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = RegistryClient::new(RegistryOptions {
            plain_http: true,
            credentials: Credentials::Anonymous,
            ..RegistryOptions::default()
        })
        .unwrap();
        let reference = OciReference::parse(&format!("oci://{host}/charts/app:1.0.0")).unwrap();
        let mut per_resolve = Vec::new();
        for _ in 0..3 {
            let before = heads.load(Ordering::SeqCst);
            let err = client.resolve(&reference).await.unwrap_err();
            assert_eq!(err.reason(), "Unauthorized", "{err}");
            per_resolve.push(heads.load(Ordering::SeqCst) - before);
        }
        // The first resolve tries the anonymous HEAD and then oci-client's; later ones only the latter.
        assert_eq!(per_resolve[1..], [per_resolve[0] - 1, per_resolve[0] - 1]);
    });
}

#[test]
fn client_resolves_ranges_bounds_blobs_and_finds_referrers() {
    use signet::registry::*;
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    runtime().block_on(async {
        let client = RegistryClient::new(reg.options()).unwrap();
        let target = OciReference::parse(&reg.oci("lib")).unwrap();
        let first = client
            .push_chart(&target, &hello_artifact("0.1.0"), None)
            .await
            .unwrap();
        let second = client
            .push_chart(&target, &hello_artifact("0.2.0+build.1"), None)
            .await
            .unwrap();
        assert_eq!(second.reference.tag.as_deref(), Some("0.2.0_build.1"));

        let repo = target.join("hello").unwrap();
        let mut tags = client.list_tags(&repo).await.unwrap();
        tags.sort();
        assert_eq!(tags, vec!["0.1.0", "0.2.0_build.1"]);
        let (v, r) = client.resolve_version(&repo, "^0.2").await.unwrap();
        assert_eq!(v.to_string(), "0.2.0+build.1");
        assert_eq!(client.resolve(&r).await.unwrap(), second.digest);
        let (v, _) = client.resolve_version(&repo, "~0.1").await.unwrap();
        assert_eq!(v.to_string(), "0.1.0");
        let err = client.resolve_version(&repo, ">=1").await.unwrap_err();
        assert_eq!(err.reason(), "NoMatchingVersion");
        assert!(
            err.to_string()
                .ends_with("matches \">=1\" (available: 0.1.0, 0.2.0+build.1)"),
            "{err}"
        );
        assert!(!err.is_permanent());

        // Manifest: bytes hash to the digest; with both tag and digest the digest wins.
        let chart = client
            .fetch_chart_manifest(&repo.with_tag("0.1.0"))
            .await
            .unwrap();
        assert_eq!(chart.fetched.digest, first.digest);
        assert_eq!(sha256_digest(&chart.fetched.bytes), first.digest);
        assert_eq!(chart.fetched.media_type, OCI_MANIFEST_MEDIA_TYPE);
        let pinned = repo.with_tag("0.1.0").with_digest(&second.digest);
        assert_eq!(
            client.fetch_manifest(&pinned).await.unwrap().digest,
            second.digest
        );

        // Blobs: bounded by the caller's limit before any byte is read.
        let layer = &chart.chart_layer;
        let err = client
            .fetch_blob(&repo, layer, layer.size - 1)
            .await
            .unwrap_err();
        assert_eq!(err.reason(), "TooLarge", "{err}");
        let bytes = client.fetch_blob(&repo, layer, layer.size).await.unwrap();
        assert_eq!(sha256_digest(&bytes), layer.digest);

        // Not a chart: a manifest with another config type is rejected as such.
        let cfg = client
            .push_blob(&repo, OCI_EMPTY_MEDIA_TYPE, b"{}".to_vec())
            .await
            .unwrap();
        let other = ImageManifest::new(cfg.clone(), vec![layer.clone()]);
        client
            .push_manifest(
                &repo.with_tag("not-a-chart"),
                other.to_bytes(),
                OCI_MANIFEST_MEDIA_TYPE,
            )
            .await
            .unwrap();
        let err = client
            .fetch_chart_manifest(&repo.with_tag("not-a-chart"))
            .await
            .unwrap_err();
        assert_eq!(err.reason(), "InvalidArtifact");
        assert!(err.to_string().contains("not a Helm chart"), "{err}");

        // Referrers: distribution 2.8 has no referrers API, so the tag schema is used.
        let subject = repo.with_digest(&first.digest);
        let none = client.referrers(&subject, None).await.unwrap();
        assert!(!none.api_supported);
        assert!(none.manifests.is_empty());
        let mut sig = ImageManifest::new(cfg, vec![]);
        sig.artifact_type = Some("application/vnd.dev.sigstore.bundle.v0.3+json".into());
        sig.subject = Some(chart.fetched.descriptor());
        let sig_bytes = sig.to_bytes();
        let sig_digest = client
            .push_manifest(&repo, sig_bytes.clone(), OCI_MANIFEST_MEDIA_TYPE)
            .await
            .unwrap();
        let mut entry = Descriptor::for_bytes(OCI_MANIFEST_MEDIA_TYPE, &sig_bytes);
        entry.artifact_type = sig.artifact_type.clone();
        let index = ImageIndex {
            schema_version: 2,
            media_type: Some(OCI_INDEX_MEDIA_TYPE.into()),
            manifests: vec![entry],
            annotations: None,
        };
        let tag = first.digest.replace(':', "-");
        client
            .push_manifest(
                &repo.with_tag(&tag),
                serde_json::to_vec(&index).unwrap(),
                OCI_INDEX_MEDIA_TYPE,
            )
            .await
            .unwrap();
        let found = client.referrers(&subject, None).await.unwrap();
        assert_eq!(found.manifests.len(), 1);
        assert_eq!(found.manifests[0].digest, sig_digest);
        let filtered = client
            .referrers(&subject, Some("application/other"))
            .await
            .unwrap();
        assert!(filtered.manifests.is_empty());

        // Unknown repository: NotFound, transient (it may be pushed later).
        let missing = OciReference::parse(&reg.oci("nothing/here:1.0.0")).unwrap();
        let err = client.fetch_manifest(&missing).await.unwrap_err();
        assert_eq!(err.reason(), "NotFound", "{err}");
    });
}

#[test]
fn client_uses_docker_config_json_credentials_over_tls() {
    use signet::registry::*;
    let Some(reg) = TestRegistry::tls_with_auth("carol", "pa55word") else {
        return;
    };
    let config = std::fs::read(reg.docker_config.as_ref().unwrap()).unwrap();
    runtime().block_on(async {
        let options = RegistryOptions {
            ca_pem: Some(std::fs::read(reg.ca_file.as_ref().unwrap()).unwrap()),
            credentials: Credentials::DockerConfigJson(config),
            ..RegistryOptions::default()
        };
        let client = RegistryClient::new(options.clone()).unwrap();
        let target = OciReference::parse(&reg.oci("k8s")).unwrap();
        let pushed = client
            .push_chart(&target, &hello_artifact("1.0.0"), None)
            .await
            .unwrap();
        assert_eq!(
            client.resolve(&pushed.reference).await.unwrap(),
            pushed.digest
        );
        client.check_login(&reg.host).await.unwrap();

        let anonymous = RegistryClient::new(RegistryOptions {
            credentials: Credentials::Anonymous,
            ..options.clone()
        })
        .unwrap();
        let err = anonymous.resolve(&pushed.reference).await.unwrap_err();
        assert_eq!(err.reason(), "Unauthorized", "{err}");
        assert!(err.is_permanent());
        let wrong = RegistryClient::new(RegistryOptions {
            credentials: Credentials::Basic {
                username: "carol".into(),
                password: "nope".into(),
            },
            ..options
        })
        .unwrap();
        let err = wrong.check_login(&reg.host).await.unwrap_err();
        assert_eq!(err.reason(), "Unauthorized");
        assert!(!err.to_string().contains("nope"), "password leaked: {err}");
    });
}

#[test]
fn bearer_token_flow_push_pull_and_login() {
    let Some(reg) = TestRegistry::tls_with_token_auth("dave", "t0ken-pass") else {
        return;
    };
    let work = temp_dir();
    let archive = package(&hello_chart(), work.path());
    let ca = reg.ca_file.clone().unwrap();
    let login = |password: &str, config: &Path| -> Output {
        let mut cmd = signet();
        cmd.args([
            "registry",
            "login",
            &reg.host,
            "-u",
            "dave",
            "--password-stdin",
            "--ca-file",
        ])
        .arg(&ca)
        .arg("--registry-config")
        .arg(config);
        run_with_stdin(&mut cmd, password.as_bytes())
    };
    let bad = work.path().join("bad.json");
    assert_fails(&login("wrong", &bad), &["401 Unauthorized", &reg.host]);
    assert!(!bad.exists());
    let config = work.path().join("config.json");
    let out = login("t0ken-pass", &config);
    assert!(out.status.success(), "{}", stderr(&out));

    let flags = [
        "--ca-file".to_string(),
        ca.display().to_string(),
        "--registry-config".to_string(),
        config.display().to_string(),
    ];
    run_ok(
        signet()
            .arg("push")
            .arg(&archive)
            .arg(reg.oci("tok"))
            .args(&flags),
    );
    let dest = work.path().join("out");
    run_ok(
        signet()
            .arg("pull")
            .arg(reg.oci("tok/hello"))
            .args(["--version", "0.1.0", "-d"])
            .arg(&dest)
            .args(&flags),
    );
    assert_eq!(
        std::fs::read(dest.join("hello-0.1.0.tgz")).unwrap(),
        std::fs::read(&archive).unwrap()
    );
    let issued = reg
        .token_server
        .as_ref()
        .unwrap()
        .issued
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        issued >= 2,
        "the bearer flow did not run ({issued} tokens issued)"
    );

    // Anonymous pull from a token registry is refused.
    let out = run(signet()
        .arg("pull")
        .arg(reg.oci("tok/hello"))
        .args(["--version", "0.1.0", "-d"])
        .arg(work.path().join("anon"))
        .arg("--ca-file")
        .arg(&ca));
    assert_fails(&out, &["401 Unauthorized", "no credentials"]);
}

#[test]
fn docker_credential_helpers_supply_credentials() {
    let Some(reg) = TestRegistry::tls_with_auth("erin", "from-helper") else {
        return;
    };
    let work = temp_dir();
    let archive = package(&hello_chart(), work.path());
    // A credential helper as docker defines them: `docker-credential-<name> get`, server URL on
    // stdin, JSON on stdout. It records that it was asked.
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-signettest");
    let asked = work.path().join("asked");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho \"$server\" > {}\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"erin\",\"Secret\":\"from-helper\"}}' \"$server\"\n",
            asked.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = work.path().join("config.json");
    std::fs::write(
        &config,
        format!(r#"{{"credHelpers":{{"{}":"signettest"}}}}"#, reg.host),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Push with only the credential helper (on PATH) to supply credentials.
    let push_with_helper = || {
        run(signet()
            .env("PATH", &path)
            .arg("push")
            .arg(&archive)
            .arg(reg.oci("helped"))
            .arg("--ca-file")
            .arg(reg.ca_file.as_ref().unwrap())
            .arg("--registry-config")
            .arg(&config))
    };
    let out = push_with_helper();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&asked).unwrap().trim(), reg.host);

    // A failing helper is reported by name, without echoing its output.
    std::fs::write(&helper, "#!/bin/sh\necho 'secret-ish output'; exit 3\n").unwrap();
    let out = push_with_helper();
    assert_fails(&out, &["docker-credential-signettest failed", &reg.host]);
    assert!(!stderr(&out).contains("secret-ish"));
}

/// An empty password is refused before any request, and the error says which flag gave it.
#[test]
fn login_refuses_an_empty_password_naming_its_source() {
    let login = ["registry", "login", "registry.example", "-u", "user"];
    let out = run(signet().args(login).args(["--password", ""]));
    assert_fails(&out, &["--password is empty", "--password-stdin"]);
    let out = run_with_stdin(signet().args(login).arg("--password-stdin"), b"\n");
    assert_fails(&out, &["the password read from stdin is empty"]);
}
