//! Interop with the real `helm` binary (v4, from the tools folder) and a real registry:
//! Helm pulls what `signet push` pushed and `signet pull` fetches what `helm push` pushed —
//! byte-identical archives, plain HTTP and TLS + auth — and `helm lint`/`helm template`
//! accept a `signet package` archive.

use std::io::Write;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::registry::TestRegistry;
use support::tools::{run_ok, run_with_stdin, temp_dir, tool, workspace_root};

fn signet() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
    c.env("DOCKER_CONFIG", "/nonexistent-signet-test-docker-config")
        .env(
            "HELM_REGISTRY_CONFIG",
            "/nonexistent-signet-test-helm-registry-config",
        );
    c
}

/// `helm` with its config, cache and data isolated under `home`.
fn helm(bin: &Path, home: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("HELM_REGISTRY_CONFIG", home.join("registry.json"))
        .env("DOCKER_CONFIG", home.join("docker"));
    c
}

/// `helm registry login host -u user --password-stdin --ca-file ca`, into helm's registry config.
fn helm_login(bin: &Path, home: &Path, host: &str, user: &str, password: &str, ca: &str) -> Output {
    let mut login = helm(bin, home);
    login.args([
        "registry",
        "login",
        host,
        "-u",
        user,
        "--password-stdin",
        "--ca-file",
        ca,
    ]);
    run_with_stdin(&mut login, password.as_bytes())
}

/// Logs helm in to the TLS registry `reg` (helm's `--ca-file`), then runs [`both_directions`]
/// with signet reading the very file helm wrote: the docker config format is shared.
fn helm_login_then_both_directions(
    helm_bin: &Path,
    reg: &TestRegistry,
    home: &Path,
    user: &str,
    password: &str,
) {
    let ca = reg.ca_file.clone().unwrap().display().to_string();
    let out = helm_login(helm_bin, home, &reg.host, user, password, &ca);
    assert!(
        out.status.success(),
        "helm registry login failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let helm_config = home.join("registry.json").display().to_string();
    let signet_flags = vec![
        "--ca-file".to_string(),
        ca.clone(),
        "--registry-config".to_string(),
        helm_config,
    ];
    let helm_flags = vec!["--ca-file".to_string(), ca.clone()];
    both_directions(helm_bin, reg, home, &helm_flags, &signet_flags);

    // Without --registry-config signet reads helm's registry config where helm keeps it
    // ($HELM_REGISTRY_CONFIG), after an empty docker config, as helm itself does.
    let dest = temp_dir();
    run_ok(
        signet()
            .env("HELM_REGISTRY_CONFIG", home.join("registry.json"))
            .env("DOCKER_CONFIG", home.join("empty-docker"))
            .args(["pull", &reg.oci("from-signet/hello"), "--version", "0.1.0"])
            .args(["--ca-file", &ca, "-d"])
            .arg(dest.path()),
    );
    assert!(dest.path().join("hello-0.1.0.tgz").exists());
}

fn hello() -> PathBuf {
    workspace_root().join("examples/hello")
}

fn signet_package(out: &Path) -> PathBuf {
    let json = run_ok(
        signet()
            .args(["package", "-o", "json", "-d"])
            .arg(out)
            .arg(hello()),
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    PathBuf::from(v["path"].as_str().unwrap())
}

/// Both directions against one registry. `helm_flags`/`signet_flags` say how each tool reaches
/// it (and with which credentials).
fn both_directions(
    helm_bin: &Path,
    reg: &TestRegistry,
    home: &Path,
    helm_flags: &[String],
    signet_flags: &[String],
) {
    let work = temp_dir();
    // signet package + push → helm pull: identical bytes.
    let ours = signet_package(&work.path().join("ours"));
    run_ok(
        signet()
            .arg("push")
            .arg(&ours)
            .arg(reg.oci("from-signet"))
            .args(signet_flags),
    );
    let helm_dest = work.path().join("helm-pulled");
    std::fs::create_dir_all(&helm_dest).unwrap();
    run_ok(
        helm(helm_bin, home)
            .args([
                "pull",
                &reg.oci("from-signet/hello"),
                "--version",
                "0.1.0",
                "-d",
            ])
            .arg(&helm_dest)
            .args(helm_flags),
    );
    assert_eq!(
        std::fs::read(helm_dest.join("hello-0.1.0.tgz")).unwrap(),
        std::fs::read(&ours).unwrap(),
        "helm pull of a signet push is not byte-identical"
    );

    // helm package + push → signet pull: identical bytes.
    let helm_pkg = work.path().join("theirs");
    run_ok(
        helm(helm_bin, home)
            .arg("package")
            .arg(hello())
            .arg("-d")
            .arg(&helm_pkg),
    );
    let theirs = helm_pkg.join("hello-0.1.0.tgz");
    run_ok(
        helm(helm_bin, home)
            .arg("push")
            .arg(&theirs)
            .arg(reg.oci("from-helm"))
            .args(helm_flags),
    );
    let dest = work.path().join("signet-pulled");
    let json = run_ok(
        signet()
            .arg("pull")
            .arg(reg.oci("from-helm/hello"))
            .args(["--version", "^0.1", "-o", "json", "-d"])
            .arg(&dest)
            .args(signet_flags),
    );
    assert_eq!(
        std::fs::read(dest.join("hello-0.1.0.tgz")).unwrap(),
        std::fs::read(&theirs).unwrap(),
        "signet pull of a helm push is not byte-identical"
    );
    // Helm's manifest digest is what signet reports.
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let again = work.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    let helm_out = helm(helm_bin, home)
        .args([
            "pull",
            &reg.oci("from-helm/hello"),
            "--version",
            "0.1.0",
            "-d",
        ])
        .arg(&again)
        .args(helm_flags)
        .output()
        .unwrap();
    assert!(helm_out.status.success());
    let helm_said = String::from_utf8_lossy(&helm_out.stderr).into_owned()
        + &String::from_utf8_lossy(&helm_out.stdout);
    let digest = v["digest"].as_str().unwrap();
    assert!(
        helm_said.contains(digest),
        "helm reports a different digest than signet ({digest}): {helm_said}"
    );
}

#[test]
fn helm_and_signet_interoperate_over_plain_http() {
    let Some(helm_bin) = tool("helm") else { return };
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let home = temp_dir();
    let flags = vec!["--plain-http".to_string()];
    both_directions(&helm_bin, &reg, home.path(), &flags, &flags);
}

#[test]
fn helm_and_signet_interoperate_over_tls_with_auth() {
    let Some(helm_bin) = tool("helm") else { return };
    let Some(reg) = TestRegistry::tls_with_auth("bob", "hunter2-but-longer") else {
        return;
    };
    let home = temp_dir();
    helm_login_then_both_directions(&helm_bin, &reg, home.path(), "bob", "hunter2-but-longer");

    // helm with --insecure-skip-tls-verify (no CA) also pulls what signet pushed.
    let work = temp_dir();
    run_ok(
        helm(&helm_bin, home.path())
            .args(["pull", &reg.oci("from-signet/hello"), "--version", "0.1.0"])
            .args(["--insecure-skip-tls-verify", "-d"])
            .arg(work.path()),
    );
    assert!(work.path().join("hello-0.1.0.tgz").is_file());
}

#[test]
fn helm_lint_and_template_accept_a_signet_package() {
    let Some(helm_bin) = tool("helm") else { return };
    let home = temp_dir();
    let work = temp_dir();
    let archive = signet_package(work.path());
    let lint = run_ok(helm(&helm_bin, home.path()).arg("lint").arg(&archive));
    assert!(lint.contains("0 chart(s) failed"), "{lint}");
    // Rendering the archive gives exactly what rendering the source directory gives.
    let from_archive = run_ok(
        helm(&helm_bin, home.path())
            .args(["template", "demo"])
            .arg(&archive),
    );
    let from_dir = run_ok(
        helm(&helm_bin, home.path())
            .args(["template", "demo"])
            .arg(hello()),
    );
    assert_eq!(from_archive, from_dir);
    assert!(from_archive.contains("kind: Deployment"));
    // And our lint agrees with helm's on the same chart.
    run_ok(signet().arg("lint").arg(hello()));
}

/// `signet template oci://…` renders what it pulls exactly as `helm template` renders the same
/// reference, by exact version and by range.
#[test]
fn template_from_a_registry_matches_helm() {
    let Some(helm_bin) = tool("helm") else { return };
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let home = temp_dir();
    let work = temp_dir();
    let archive = signet_package(work.path());
    run_ok(
        signet()
            .arg("push")
            .arg(&archive)
            .arg(reg.oci("charts"))
            .arg("--plain-http"),
    );
    let reference = reg.oci("charts/hello");
    let theirs = run_ok(
        helm(&helm_bin, home.path())
            .args([
                "template",
                "demo",
                &reference,
                "--version",
                "0.1.0",
                "--plain-http",
            ])
            .args(["--namespace", "apps", "--set", "replicaCount=3"]),
    );
    for version in ["0.1.0", "~0.1"] {
        let ours = run_ok(
            signet()
                .args([
                    "template",
                    "demo",
                    &reference,
                    "--version",
                    version,
                    "--plain-http",
                ])
                .args(["--namespace", "apps", "--set", "replicaCount=3"]),
        );
        assert_eq!(ours, theirs, "--version {version}");
    }
    assert!(theirs.contains("replicas: 3"), "{theirs}");
}

/// A bad `--kube-version` is refused while parsing flags, before any registry is contacted.
#[test]
fn template_refuses_a_bad_kube_version_before_fetching() {
    let out = signet()
        .args([
            "template",
            "demo",
            "oci://127.0.0.1:1/charts/hello",
            "--version",
            "1.0.0",
        ])
        .args(["--kube-version", "banana"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--kube-version"), "{stderr}");
    assert!(stderr.contains("invalid kube version 'banana'"), "{stderr}");
    assert!(
        !stderr.contains("127.0.0.1"),
        "contacted the registry: {stderr}"
    );
}

/// Compares helm output with a golden file, accepting any content on `volatile` (1-based) lines.
fn matches_golden(actual: &str, expected: &str, volatile: &[u64]) -> Result<(), String> {
    let a: Vec<&str> = actual.lines().collect();
    let e: Vec<&str> = expected.lines().collect();
    if a.len() != e.len() {
        return Err(format!("{} lines, expected {}", a.len(), e.len()));
    }
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        if x != y && !volatile.contains(&(i as u64 + 1)) {
            return Err(format!("line {}: {x:?} != {y:?}", i + 1));
        }
    }
    Ok(())
}

/// Every real-world corpus chart, packaged by `signet package`, renders under `helm template`
/// exactly like the source directory did (the corpus' golden output from helm v4.1.4).
#[test]
fn corpus_charts_packaged_by_signet_render_identically_in_helm() {
    let Some(helm_bin) = tool("helm") else { return };
    let Some(corpus) = support::tools::corpus_dir() else {
        return;
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(corpus.join("charts/INDEX.json")).unwrap()).unwrap();
    let home = temp_dir();
    let out = temp_dir();
    let mut total = 0;
    let mut passed = 0;
    let mut failures = Vec::new();
    for chart in index["charts"].as_array().unwrap() {
        let id = chart["id"].as_str().unwrap();
        let dir = corpus.join("charts").join(chart["dir"].as_str().unwrap());
        // helm lint accepts every corpus chart; so must signet lint.
        let lint = signet().arg("lint").arg(&dir).output().unwrap();
        if !lint.status.success() {
            failures.push(format!(
                "{id}: signet lint failed: {}",
                String::from_utf8_lossy(&lint.stdout)
            ));
        }
        let packaged = signet()
            .args(["package", "-o", "json", "-d"])
            .arg(out.path())
            .arg(&dir)
            .output()
            .unwrap();
        let archive = if packaged.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&packaged.stdout).unwrap();
            Some(PathBuf::from(v["path"].as_str().unwrap()))
        } else {
            None
        };
        for case in chart["cases"].as_array().unwrap() {
            total += 1;
            let Some(archive) = &archive else {
                failures.push(format!(
                    "{id}: signet package failed: {}",
                    String::from_utf8_lossy(&packaged.stderr).trim()
                ));
                continue;
            };
            let chart_arg = format!("charts/{}", chart["dir"].as_str().unwrap());
            let args: Vec<String> = case["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .map(|a| {
                    if a == chart_arg {
                        archive.display().to_string()
                    } else {
                        a
                    }
                })
                .collect();
            let rendered = helm(&helm_bin, home.path())
                .args(&args)
                .current_dir(&corpus)
                .output()
                .unwrap();
            let expected =
                std::fs::read_to_string(corpus.join(case["expected_file"].as_str().unwrap()))
                    .unwrap_or_default();
            let ok = if case["expect_error"].as_bool().unwrap_or(false) {
                // The same Error: line as helm printed for the directory.
                let err = String::from_utf8_lossy(&rendered.stderr);
                let want = expected
                    .lines()
                    .find(|l| l.starts_with("Error:"))
                    .unwrap_or("Error:");
                (!rendered.status.success() && err.lines().any(|l| l == want))
                    .then_some(())
                    .ok_or_else(|| format!("expected {want:?}, got {err:?}"))
            } else {
                let volatile: Vec<u64> = case["volatile_lines"]
                    .as_array()
                    .map(|v| v.iter().filter_map(|n| n.as_u64()).collect())
                    .unwrap_or_default();
                if rendered.status.success() {
                    matches_golden(
                        &String::from_utf8_lossy(&rendered.stdout),
                        &expected,
                        &volatile,
                    )
                } else {
                    Err(String::from_utf8_lossy(&rendered.stderr).into_owned())
                }
            };
            match ok {
                Ok(()) => passed += 1,
                Err(e) => failures.push(format!("{id} {}: {e}", case["variant"])),
            }
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "corpus charts-package: {passed}/{total} passed"
    );
    assert!(total > 0, "no corpus cases found");
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn helm_and_signet_interoperate_over_bearer_token_auth() {
    let Some(helm_bin) = tool("helm") else { return };
    let Some(reg) = TestRegistry::tls_with_token_auth("frank", "bearer-pass") else {
        return;
    };
    let home = temp_dir();
    helm_login_then_both_directions(&helm_bin, &reg, home.path(), "frank", "bearer-pass");
}

/// `signet template --output-dir` writes the same files and prints the same lines as helm's,
/// including a template with two documents (appended to one file).
#[test]
fn template_output_dir_matches_helm() {
    let Some(helm_bin) = tool("helm") else { return };
    let home = temp_dir();
    let multi = temp_dir();
    std::fs::create_dir(multi.path().join("templates")).unwrap();
    std::fs::write(
        multi.path().join("Chart.yaml"),
        "apiVersion: v2\nname: multi\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        multi.path().join("templates/two.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
    )
    .unwrap();
    let files = |root: &Path| -> Vec<(PathBuf, String)> {
        let mut found = Vec::new();
        let mut pending = vec![root.join("out")];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let text = std::fs::read_to_string(&path).unwrap();
                    found.push((path.strip_prefix(root).unwrap().to_path_buf(), text));
                }
            }
        }
        found.sort();
        found
    };
    for (chart, name) in [(hello(), "hello"), (multi.path().to_path_buf(), "multi")] {
        let (ours, theirs) = (temp_dir(), temp_dir());
        let args = ["template", "demo", "--output-dir", "out"];
        let printed_ours = run_ok(signet().args(args).arg(&chart).current_dir(ours.path()));
        let printed_theirs = run_ok(
            helm(&helm_bin, home.path())
                .args(args)
                .arg(&chart)
                .current_dir(theirs.path()),
        );
        assert_eq!(printed_ours, printed_theirs, "{name}");
        assert!(
            printed_ours.contains(&format!("wrote out/{name}/templates/")),
            "{printed_ours}"
        );
        let written = files(ours.path());
        assert!(!written.is_empty(), "{name}");
        assert_eq!(written, files(theirs.path()), "{name}");
    }
}

/// How `template` names the release, as helm does: `--name-template`, `--generate-name`, and
/// helm's words for the argument mistakes.
#[test]
fn template_release_naming_matches_helm() {
    let Some(helm_bin) = tool("helm") else { return };
    let home = temp_dir();
    let chart = hello().display().to_string();
    // A deterministic name template renders identically.
    let template = r#"{{ "Demo" | lower }}-{{ add 40 2 }}"#;
    let ours = run_ok(signet().args(["template", &chart, "--name-template", template]));
    let theirs = run_ok(helm(&helm_bin, home.path()).args([
        "template",
        &chart,
        "--name-template",
        template,
    ]));
    assert_eq!(ours, theirs);
    assert!(ours.contains("demo-42"), "{ours}");
    // A generated name is the chart's base name and the Unix time.
    let generated = run_ok(signet().args(["template", &chart, "--generate-name"]));
    let name = regex::Regex::new(r"name: (hello-[0-9]{10})")
        .unwrap()
        .captures(&generated)
        .map(|c| c[1].to_string());
    assert!(name.is_some(), "no generated name in {generated}");
    // Mistakes: the same words as helm's.
    for args in [
        vec!["template", "demo", &chart, "--generate-name"],
        vec!["template", "demo", &chart, "--name-template", "x"],
        vec!["template", "demo", &chart, "extra"],
    ] {
        let ours = signet().args(&args).output().unwrap();
        let theirs = helm(&helm_bin, home.path()).args(&args).output().unwrap();
        assert!(
            !ours.status.success() && !theirs.status.success(),
            "{args:?}"
        );
        let ours = String::from_utf8_lossy(&ours.stderr).to_string();
        let theirs = String::from_utf8_lossy(&theirs.stderr).to_string();
        let helm_error = theirs
            .lines()
            .find_map(|l| l.strip_prefix("Error: "))
            .unwrap_or_default()
            .to_string();
        assert!(!helm_error.is_empty(), "{args:?}: {theirs}");
        assert!(
            ours.contains(&helm_error),
            "{args:?}: helm says {helm_error:?}, signet {ours:?}"
        );
    }
    let out = signet().arg("template").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("\"signet template\" requires at least 1 argument"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
