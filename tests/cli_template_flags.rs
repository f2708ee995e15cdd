//! `signet template`'s `--debug`, `--devel` and `--dependency-update`, each run beside real
//! `helm template` with the same flag on the same chart (helm from the tools folder; the registry
//! cases with a real `docker-registry`).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::registry::TestRegistry;
use support::tools::{run, run_ok, temp_dir, tool};

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

/// Writes `files` (path, content) under `dir`.
fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

fn chart_yaml(name: &str, version: &str) -> String {
    format!("apiVersion: v2\nname: {name}\nversion: {version}\n")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The documents of a `--debug` dump, as a set: helm walks a Go map, so its order varies.
fn documents(stdout: &str) -> BTreeSet<String> {
    stdout
        .split("---\n")
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect()
}

/// A chart whose second template renders invalid YAML, and one whose template fails.
fn broken_charts(root: &Path) -> (PathBuf, PathBuf) {
    let yaml = root.join("badyaml");
    write_tree(
        &yaml,
        &[
            ("Chart.yaml", &chart_yaml("bad", "0.1.0")),
            (
                "templates/a.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"1\"\n",
            ),
            (
                "templates/b.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  bad: [\n",
            ),
            (
                "templates/c.yaml",
                "kind: ConfigMap\nmetadata:\n  name: c\n",
            ),
            ("templates/empty.yaml", "{{- /* nothing */ -}}\n"),
            ("templates/_helpers.tpl", "{{ define \"x\" }}x{{ end }}\n"),
        ],
    );
    let failing = root.join("failing");
    write_tree(
        &failing,
        &[
            ("Chart.yaml", &chart_yaml("failing", "0.1.0")),
            ("templates/a.yaml", "kind: ConfigMap\n"),
            ("templates/b.yaml", "{{ fail \"boom\" }}\n"),
        ],
    );
    (yaml, failing)
}

#[test]
fn debug_prints_the_rendered_manifests_on_a_render_error_as_helm_does() {
    let Some(helm_bin) = tool("helm") else { return };
    let home = temp_dir();
    let work = temp_dir();
    let (yaml, failing) = broken_charts(work.path());
    let hint = "Use --debug flag to render out invalid YAML";
    for chart in [&yaml, &failing] {
        let theirs = run(helm(&helm_bin, home.path()).arg("template").arg(chart));
        let ours = run(signet().arg("template").arg(chart));
        // Without --debug: nothing on stdout, the error with the hint.
        for (who, out) in [("helm", &theirs), ("signet", &ours)] {
            assert!(!out.status.success(), "{who} {}", chart.display());
            assert!(out.stdout.is_empty(), "{who}: {}", text(&out.stdout));
            assert!(
                text(&out.stderr).contains(hint),
                "{who}: {}",
                text(&out.stderr)
            );
        }
        let theirs = run(helm(&helm_bin, home.path())
            .args(["template", "--debug"])
            .arg(chart));
        let ours = run(signet().args(["template", "--debug"]).arg(chart));
        assert!(!theirs.status.success() && !ours.status.success());
        // With it: what was rendered on stdout (the same documents, whatever helm's order),
        // then the error — now without the hint, which would send the user round in circles.
        assert_eq!(
            documents(&text(&ours.stdout)),
            documents(&text(&theirs.stdout)),
            "{}\nsignet stdout:\n{}\nhelm stdout:\n{}",
            chart.display(),
            text(&ours.stdout),
            text(&theirs.stdout)
        );
        assert!(text(&ours.stdout).ends_with('\n'));
        assert_eq!(
            text(&ours.stdout).len(),
            text(&theirs.stdout).len(),
            "same bytes, maybe in another order"
        );
        for (who, out) in [("helm", &theirs), ("signet", &ours)] {
            let stderr = text(&out.stderr);
            assert!(!stderr.contains(hint), "{who}: {stderr}");
            let error = stderr
                .lines()
                .find(|l| l.starts_with("Error: "))
                .unwrap_or("");
            let expected = if chart == &yaml {
                "Error: YAML parse error on bad/templates/b.yaml: "
            } else {
                "Error: execution error at (failing/templates/b.yaml:1:3): boom"
            };
            assert!(error.starts_with(expected), "{who}: {stderr}");
        }
    }
    // The YAML case dumps every non-blank rendered file, partials and blank ones left out.
    let ours = run(signet().args(["template", "--debug"]).arg(&yaml));
    let docs = documents(&text(&ours.stdout));
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert!(
        docs.iter()
            .any(|d| d.starts_with("# Source: bad/templates/b.yaml"))
    );
    // On success --debug changes nothing on stdout.
    let ok = work.path().join("ok");
    write_tree(
        &ok,
        &[
            ("Chart.yaml", &chart_yaml("ok", "0.1.0")),
            (
                "templates/a.yaml",
                "kind: ConfigMap\nmetadata:\n  name: a\n",
            ),
        ],
    );
    let plain = run_ok(signet().arg("template").arg(&ok));
    let debug = run_ok(signet().args(["template", "--debug"]).arg(&ok));
    let helm_debug = run_ok(
        helm(&helm_bin, home.path())
            .args(["template", "--debug"])
            .arg(&ok),
    );
    assert_eq!(plain, debug);
    assert_eq!(debug, helm_debug);
}

/// Packages `name` at `version` (one ConfigMap naming its version) and pushes it to `reg`.
fn push_chart(reg: &TestRegistry, work: &Path, name: &str, version: &str) {
    let dir = work.join(format!("src-{name}-{version}"));
    write_tree(
        &dir,
        &[
            ("Chart.yaml", &chart_yaml(name, version)),
            (
                "templates/cm.yaml",
                "kind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}-{{ .Values.x }}\ndata:\n  version: {{ .Chart.Version | quote }}\n",
            ),
            ("values.yaml", "x: one\n"),
        ],
    );
    let out = work.join("packages");
    run_ok(signet().args(["package", "-d"]).arg(&out).arg(&dir));
    let archive = out.join(format!("{name}-{version}.tgz"));
    run_ok(
        signet()
            .arg("push")
            .arg(&archive)
            .arg(reg.oci("charts"))
            .arg("--plain-http"),
    );
}

#[test]
fn devel_admits_pre_releases_as_helm_does() {
    let Some(helm_bin) = tool("helm") else { return };
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let home = temp_dir();
    let work = temp_dir();
    for version in ["0.1.0", "0.2.0", "0.3.0-rc.1"] {
        push_chart(&reg, work.path(), "app", version);
    }
    let reference = reg.oci("charts/app");
    for (devel, expected) in [(false, "0.2.0"), (true, "0.3.0-rc.1")] {
        let mut args = vec!["template", "demo", &reference, "--plain-http"];
        if devel {
            args.push("--devel");
        }
        let theirs = run_ok(helm(&helm_bin, home.path()).args(&args));
        let ours = run_ok(signet().args(&args));
        assert_eq!(ours, theirs, "--devel {devel}");
        assert!(
            ours.contains(&format!("version: \"{expected}\"")),
            "--devel {devel}: {ours}"
        );
    }
    // With --version, --devel changes nothing: the range decides, as in helm.
    let args = [
        "template",
        "demo",
        &reference,
        "--plain-http",
        "--devel",
        "--version",
        "~0.1",
    ];
    let theirs = run_ok(helm(&helm_bin, home.path()).args(args));
    let ours = run_ok(signet().args(args));
    assert_eq!(ours, theirs);
    assert!(ours.contains("version: \"0.1.0\""), "{ours}");

    // `pull --devel` picks the same version as helm's.
    for (devel, expected) in [(false, "0.2.0"), (true, "0.3.0-rc.1")] {
        let theirs_dir = temp_dir();
        let ours_dir = temp_dir();
        let mut args = vec!["pull", reference.as_str(), "--plain-http"];
        if devel {
            args.push("--devel");
        }
        run_ok(
            helm(&helm_bin, home.path())
                .args(&args)
                .arg("-d")
                .arg(theirs_dir.path()),
        );
        run_ok(signet().args(&args).arg("-d").arg(ours_dir.path()));
        let file = format!("app-{expected}.tgz");
        assert!(
            theirs_dir.path().join(&file).is_file(),
            "helm pull --devel {devel}: no {file}"
        );
        assert_eq!(
            std::fs::read(ours_dir.path().join(&file)).expect("signet pulled the same version"),
            std::fs::read(theirs_dir.path().join(&file)).expect("helm's archive"),
            "pull --devel {devel}"
        );
    }
}

/// A parent chart depending on `child` (file://) and, when `oci` is given, on `app` there.
fn parent_chart(dir: &Path, oci: Option<&str>) {
    let mut chart = chart_yaml("parent", "1.0.0");
    chart.push_str(
        "dependencies:\n  - name: child\n    version: \">=0.1.0 <1.0.0\"\n    repository: file://../child\n",
    );
    if let Some(repo) = oci {
        chart.push_str(&format!(
            "  - name: app\n    version: ^0.1.0\n    repository: {repo}\n    alias: web\n"
        ));
    }
    write_tree(
        dir,
        &[
            ("Chart.yaml", &chart),
            (
                "templates/cm.yaml",
                "kind: ConfigMap\nmetadata:\n  name: parent\n",
            ),
            ("values.yaml", "child:\n  x: 2\n"),
        ],
    );
}

fn child_chart(dir: &Path) {
    write_tree(
        dir,
        &[
            ("Chart.yaml", &chart_yaml("child", "0.2.0")),
            (
                "templates/cm.yaml",
                "kind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}-{{ .Values.x }}\n",
            ),
            ("values.yaml", "x: 1\n"),
        ],
    );
}

/// Chart.lock without its `generated` time.
fn lock_without_time(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("Chart.lock"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("generated:"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn file_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn both(
    helm_bin: &Path,
    home: &Path,
    args: &[&str],
    theirs: &Path,
    ours: &Path,
) -> (Output, Output) {
    let h = run(helm(helm_bin, home).args(args).arg(theirs));
    let s = run(signet().args(args).arg(ours));
    (h, s)
}

#[test]
fn dependency_update_fetches_file_and_oci_dependencies_as_helm_does() {
    let Some(helm_bin) = tool("helm") else { return };
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let home = temp_dir();
    let work = temp_dir();
    push_chart(&reg, work.path(), "app", "0.1.0");
    push_chart(&reg, work.path(), "app", "0.1.5");
    push_chart(&reg, work.path(), "app", "0.2.0");
    let repo = reg.oci("charts");
    // Each tool gets its own copy: the update writes into the chart directory.
    let mut roots = Vec::new();
    for who in ["helm", "signet"] {
        let root = work.path().join(who);
        child_chart(&root.join("child"));
        parent_chart(&root.join("parent"), Some(&repo));
        roots.push(root);
    }
    let (theirs_dir, ours_dir) = (roots[0].join("parent"), roots[1].join("parent"));

    // Without the flag both refuse the chart with missing dependencies.
    let (h, s) = both(
        &helm_bin,
        home.path(),
        &["template"],
        &theirs_dir,
        &ours_dir,
    );
    assert!(!h.status.success() && !s.status.success());
    assert!(
        text(&s.stderr).contains("missing in charts/ directory: child, app"),
        "{}",
        text(&s.stderr)
    );

    let args = ["template", "--plain-http", "--dependency-update"];
    let (h, s) = both(&helm_bin, home.path(), &args, &theirs_dir, &ours_dir);
    assert!(h.status.success(), "helm: {}", text(&h.stderr));
    assert!(s.status.success(), "signet: {}", text(&s.stderr));
    // helm's progress lines, then the manifests: the same stdout byte for byte.
    assert_eq!(text(&s.stdout), text(&h.stdout));
    assert!(
        text(&s.stdout).starts_with("Saving 2 charts\n"),
        "{}",
        text(&s.stdout)
    );
    assert!(
        text(&s.stdout).contains("name: child-2"),
        "{}",
        text(&s.stdout)
    );
    // The same archives in charts/ and the same Chart.lock (digest included).
    assert_eq!(
        file_names(&ours_dir.join("charts")),
        file_names(&theirs_dir.join("charts"))
    );
    assert_eq!(
        file_names(&ours_dir.join("charts")),
        ["app-0.1.5.tgz", "child-0.2.0.tgz"]
            .map(String::from)
            .into()
    );
    assert_eq!(lock_without_time(&ours_dir), lock_without_time(&theirs_dir));

    // Once the dependencies are there, a second run fetches nothing and prints no progress.
    let (h, s) = both(&helm_bin, home.path(), &args, &theirs_dir, &ours_dir);
    assert_eq!(text(&s.stdout), text(&h.stdout));
    assert!(text(&s.stdout).starts_with("---\n"), "{}", text(&s.stdout));
}

#[test]
fn dependency_update_refuses_what_it_cannot_resolve() {
    let Some(helm_bin) = tool("helm") else { return };
    let home = temp_dir();
    let work = temp_dir();
    // A version constraint the file:// chart does not satisfy: helm's words.
    for who in ["helm", "signet"] {
        let root = work.path().join(who);
        child_chart(&root.join("child"));
        let parent = root.join("parent");
        write_tree(
            &parent,
            &[
                (
                    "Chart.yaml",
                    &format!(
                        "{}dependencies:\n  - name: child\n    version: ^1.0.0\n    repository: file://../child\n",
                        chart_yaml("parent", "1.0.0")
                    ),
                ),
                ("templates/cm.yaml", "kind: ConfigMap\n"),
            ],
        );
    }
    let args = ["template", "--dependency-update"];
    let (h, s) = both(
        &helm_bin,
        home.path(),
        &args,
        &work.path().join("helm/parent"),
        &work.path().join("signet/parent"),
    );
    assert!(!h.status.success() && !s.status.success());
    let expected = "can't get a valid version for 1 subchart(s): \"child\" (repository \"file://../child\", version \"^1.0.0\")";
    assert!(
        text(&h.stderr).contains(expected),
        "helm: {}",
        text(&h.stderr)
    );
    assert!(
        text(&s.stderr).contains(expected),
        "signet: {}",
        text(&s.stderr)
    );
    assert!(!work.path().join("signet/parent/Chart.lock").exists());

    // An HTTP chart repository: helm needs its repositories.yaml entry; signet says it only
    // fetches from file:// and oci://, and writes nothing.
    let parent = work.path().join("http");
    write_tree(
        &parent,
        &[
            (
                "Chart.yaml",
                &format!(
                    "{}dependencies:\n  - name: redis\n    version: 1.x\n    repository: https://charts.example.invalid/stable\n",
                    chart_yaml("http", "1.0.0")
                ),
            ),
            ("templates/cm.yaml", "kind: ConfigMap\n"),
        ],
    );
    let h = run(helm(&helm_bin, home.path()).args(args).arg(&parent));
    let s = run(signet().args(args).arg(&parent));
    assert!(!h.status.success(), "helm: {}", text(&h.stdout));
    assert!(!s.status.success());
    let stderr = text(&s.stderr);
    assert!(
        stderr.contains("https://charts.example.invalid/stable"),
        "{stderr}"
    );
    assert!(stderr.contains("file:// and oci://"), "{stderr}");
    assert!(!parent.join("charts").exists() && !parent.join("Chart.lock").exists());
}
