//! `signet diff` (the binary, with `--kubeconfig`) against the API-server double, after the
//! controller installed a release and was stopped: no change (exit 0), a values change and a new
//! chart version that drops an object (`-f release.yaml`, exit 1), drift made by real
//! `kubectl patch` and `kubectl edit`, Secret data masked, nothing written, and an error (exit 2).
//! Also `signet get` and `signet status` on the same release.

#[path = "support/release_env.rs"]
mod release_env;
mod support;

use std::process::Command;

use release_env::{Env, NS, run_ok};
use serde_json::{Value, json};

const CONFIG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting | quote }}\n";
const EXTRA: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  a: b\n";
const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-secret\nstringData:\n  password: {{ .Values.password | quote }}\n";

struct Diff {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Diff {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

fn signet(env: &Env, args: &[&str]) -> Diff {
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(args)
        .arg("--kubeconfig")
        .arg(&env.kubeconfig)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run signet");
    Diff {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write_release(env: &Env, file: &str, release: &Value) -> String {
    let path = env.dir.path().join(file);
    std::fs::write(&path, serde_json::to_string_pretty(release).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The change to `kind` `name` in a `--output json` document.
fn object<'a>(doc: &'a Value, kind: &str, name: &str) -> &'a Value {
    doc["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == kind && o["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {doc}"))
}

fn field<'a>(change: &'a Value, path: &str) -> &'a Value {
    change["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no field {path} in {change}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn diff_shows_what_the_next_reconcile_would_change() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let templates = [
        ("config.yaml", CONFIG),
        ("extra.yaml", EXTRA),
        ("secret.yaml", SECRET),
    ];
    let v1 = env.write_chart(
        "1.0.0",
        "greeting: hello\npassword: s3cret-one\n",
        &templates,
    );
    env.push_signed(&v1).await;
    let v2 = env.write_chart(
        "2.0.0",
        "greeting: hello\npassword: s3cret-one\n",
        &[("config.yaml", CONFIG), ("secret.yaml", SECRET)],
    );
    env.push_signed(&v2).await;
    let release = env.release("web", "1.0.0", json!({}));
    env.create(release.clone()).await;
    env.start();
    env.wait_ready("web", "1.0.0").await;
    // Stopped, so that nothing corrects the drift made below before diff sees it.
    env.stop().await;
    let writes = env.api.stats().total_writes();

    // No change.
    let d = signet(&env, &["diff", "web", "-n", NS]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(
        d.stdout
            .contains("0 to create, 0 to change, 0 to prune, 3 unchanged"),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("re-applies revision 1"), "{}", d.stdout);
    let doc = signet(&env, &["diff", "web", "-n", NS, "-o", "json"]).json();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["changed"], false);
    assert_eq!(doc["version"], "1.0.0");

    // A values change, from a file: the ConfigMap's field and the Secret's (masked).
    let mut changed = release.clone();
    changed["spec"]["values"] = json!({"greeting": "bonjour", "password": "s3cret-two"});
    let file = write_release(&env, "values.json", &changed);
    let d = signet(&env, &["diff", "-f", &file]);
    assert_eq!(d.code, 1, "{}\n{}", d.stdout, d.stderr);
    eprintln!("{}", d.stdout);
    assert!(
        d.stdout
            .contains("~ data.greeting: \"hello\" -> \"bonjour\""),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("renders revision 2"), "{}", d.stdout);
    let d = signet(&env, &["diff", "-f", &file, "-o", "json"]);
    assert_eq!(d.code, 1);
    let doc = d.json();
    let cm = object(&doc, "ConfigMap", "web-config");
    assert_eq!(cm["action"], "update");
    assert_eq!(field(cm, "data.greeting")["before"], "hello");
    assert_eq!(field(cm, "data.greeting")["after"], "bonjour");
    let secret = object(&doc, "Secret", "web-secret");
    assert_eq!(secret["action"], "update", "{secret}");
    let password = field(secret, "data.password");
    assert_eq!(password["before"], "***");
    assert_eq!(password["after"], "***");
    for plain in ["s3cret", "czNjcmV0"] {
        assert!(
            !d.stdout.contains(plain),
            "Secret data leaked: {}",
            d.stdout
        );
    }
    assert_eq!(
        object(&doc, "ConfigMap", "web-extra")["action"],
        "unchanged"
    );

    // A new chart version that drops an object.
    let mut upgraded = release.clone();
    upgraded["spec"]["chart"]["version"] = json!("2.0.0");
    let file = write_release(&env, "v2.json", &upgraded);
    let d = signet(&env, &["diff", "-f", &file]);
    assert_eq!(d.code, 1, "{}\n{}", d.stdout, d.stderr);
    assert!(
        d.stdout.contains("- ConfigMap default/web-extra: pruned"),
        "{}",
        d.stdout
    );
    let doc = signet(&env, &["diff", "-f", &file, "-o", "json"]).json();
    assert_eq!(object(&doc, "ConfigMap", "web-extra")["action"], "prune");
    assert_eq!(
        object(&doc, "ConfigMap", "web-config")["action"],
        "unchanged"
    );
    assert_eq!(doc["version"], "2.0.0");

    // Drift: kubectl patch, then kubectl edit.
    run_ok(env.kubectl(&[
        "patch",
        "configmap",
        "web-config",
        "-n",
        NS,
        "--type=merge",
        "-p",
        r#"{"data":{"greeting":"patched","added":"by kubectl"}}"#,
    ]));
    let doc = signet(&env, &["diff", "web", "-n", NS, "-o", "json"]).json();
    let cm = object(&doc, "ConfigMap", "web-config");
    assert_eq!(cm["action"], "update", "{cm}");
    assert_eq!(field(cm, "data.greeting")["before"], "patched");
    assert_eq!(field(cm, "data.greeting")["after"], "hello");
    // A field another manager added stays: server-side apply leaves it (so does the controller).
    assert!(
        cm["fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["path"] != "data.added"),
        "{cm}"
    );
    let mut edit = env.kubectl(&["edit", "configmap", "web-extra", "-n", NS]);
    edit.env("KUBE_EDITOR", "sed -i -e s/a:\\ b/a:\\ edited/");
    run_ok(edit);
    let d = signet(&env, &["diff", "web", "-n", NS]);
    assert_eq!(d.code, 1, "{}\n{}", d.stdout, d.stderr);
    assert!(
        d.stdout.contains("~ data.a: \"edited\" -> \"b\""),
        "{}",
        d.stdout
    );

    // Nothing was written by any diff (the kubectl writes aside).
    let after = env.api.stats().total_writes();
    assert_eq!(after - writes, 2, "diff wrote to the cluster");

    // Errors: exit 2, with the message.
    let d = signet(&env, &["diff", "missing", "-n", NS]);
    assert_eq!(d.code, 2, "{}\n{}", d.stdout, d.stderr);
    assert!(d.stderr.contains("missing"), "{}", d.stderr);
    let mut unsigned = release.clone();
    unsigned["spec"]["chart"]["version"] = json!("9.9.9");
    let file = write_release(&env, "missing-version.json", &unsigned);
    let d = signet(&env, &["diff", "-f", &file, "-o", "json"]);
    assert_eq!(d.code, 2, "{}\n{}", d.stdout, d.stderr);
    assert_eq!(d.json()["ok"], false);

    // get and status.
    let d = signet(&env, &["get", "-n", NS]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    eprintln!("{}", d.stdout);
    let line = d.stdout.lines().find(|l| l.starts_with("web ")).unwrap();
    for want in ["True", "1.0.0", "sha256:", "ci"] {
        assert!(line.contains(want), "{want}: {line}");
    }
    let doc = signet(&env, &["get", "-A", "-o", "json"]).json();
    let r = &doc["releases"][0];
    assert_eq!(
        (r["namespace"].as_str(), r["name"].as_str()),
        (Some(NS), Some("web"))
    );
    assert_eq!(r["ready"], "True");
    assert_eq!(r["version"], "1.0.0");
    assert_eq!(r["signers"][0]["authority"], "ci");
    let d = signet(&env, &["status", "web", "-n", NS]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    eprintln!("{}", d.stdout);
    for want in [
        "Ready:       True",
        "SourceVerified",
        "Healthy",
        "ConfigMap default/web-config",
        "applied 3 objects",
    ] {
        assert!(d.stdout.contains(want), "{want}: {}", d.stdout);
    }
    let doc = signet(&env, &["status", "web", "-n", NS, "-o", "json"]).json();
    assert!(
        doc["events"].as_array().is_some_and(|e| !e.is_empty()),
        "{doc}"
    );
    assert_eq!(doc["inventory"].as_array().unwrap().len(), 3);
}
