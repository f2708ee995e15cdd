//! Remediation under the controller, end to end in process: the API server double with its
//! workload runner (a Deployment annotated `test.signet.dev/outcome: hang` never becomes
//! available), a real `docker-registry`, signed charts, and real `helm history` reading the story.
//!
//! Run: `SIGNET_TOOLS=$PWD/.tools/bin cargo test --test controller_remediation`.

#[path = "controller_hooks/env.rs"]
mod env;
mod support;

use std::time::Duration;

use env::{Env, NS, condition};
use serde_json::{Value, json};

const CONFIG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  version: {{ .Chart.Version | quote }}\n";

/// Rollback hooks: Helm runs the rolled-back-to revision's around a rollback.
const ROLLBACK_HOOKS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-before-rollback\n  annotations:\n    helm.sh/hook: pre-rollback\ndata:\n  rendered-for: {{ .Release.Revision | quote }}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-after-rollback\n  annotations:\n    helm.sh/hook: post-rollback\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: notify\n        image: example.invalid/notify:1\n";

/// A Deployment; `outcome` goes on its pod template for the workload runner.
fn deployment(outcome: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ .Release.Name }}}}-app\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: demo}}\n  template:\n    metadata:\n      labels: {{app: demo}}\n      annotations:\n        test.signet.dev/outcome: {outcome}\n    spec:\n      containers:\n      - name: app\n        image: example.invalid/app:{{{{ .Chart.Version }}}}\n"
    )
}

/// `(status, description)` per revision, from the records.
async fn story(env: &Env, release: &str) -> Vec<(String, String)> {
    env.records(release)
        .await
        .iter()
        .map(|r| {
            (
                r["info"]["status"].as_str().unwrap_or_default().to_owned(),
                r["info"]["description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// A version whose Deployment never becomes available fails its health check, is retried once,
/// then rolled back to the last deployed revision; `helm history` reads superseded / failed /
/// deployed ("Rollback to 1"); the release is Ready=False (RolledBack) and not retried until a new
/// version arrives, which then deploys.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn health_timeout_rolls_back_and_helm_history_tells_it() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    env.push(
        "1.0.0",
        &[
            ("config.yaml", CONFIG),
            ("app.yaml", &deployment("succeed")),
            ("rollback.yaml", ROLLBACK_HOOKS),
        ],
    )
    .await;
    env.push(
        "2.0.0",
        &[("config.yaml", CONFIG), ("app.yaml", &deployment("hang"))],
    )
    .await;
    env.start();
    env.create(
        "shop",
        "1.0.0",
        json!({"timeout": "3s", "upgrade": {"remediation": {"retries": 1}}}),
    )
    .await;
    env.wait_ready("shop").await;

    env.patch_spec("shop", json!({"chart": {"version": "2.0.0"}}))
        .await;
    let r = env.wait_not_ready("shop", "RolledBack").await;
    let (_, _, message) = condition(&r, "Ready").unwrap();
    assert!(
        message.contains("revision 2 (2.0.0) failed and was rolled back to 1.0.0"),
        "{message}"
    );
    assert!(
        message.contains("Deployment default/shop-app is not ready: 0 of 1 replicas available"),
        "{message}"
    );
    let (stalled, _, _) = condition(&r, "Stalled").unwrap();
    assert_eq!(stalled, "True");
    let status = r.status.as_ref().unwrap();
    assert_eq!(
        status.last_applied_revision.as_ref().unwrap().version,
        "1.0.0"
    );
    assert_eq!(
        status.last_attempted_revision.as_ref().unwrap().version,
        "2.0.0"
    );

    // The cluster is back at 1.0.0.
    let app = env.object("apps/v1", "Deployment", "shop-app").unwrap();
    assert_eq!(
        app["spec"]["template"]["spec"]["containers"][0]["image"],
        "example.invalid/app:1.0.0"
    );
    assert_eq!(
        env.object("v1", "ConfigMap", "shop-config").unwrap()["data"]["version"],
        "1.0.0"
    );

    let expected = |s: &[(String, String)]| {
        s.len() == 3
            && s[0].0 == "superseded"
            && s[0].1 == "Install complete"
            && s[1].0 == "failed"
            && s[1].1.starts_with("Upgrade \"shop\" failed: ")
            && s[2] == ("deployed".to_owned(), "Rollback to 1".to_owned())
    };
    let s = story(&env, "shop").await;
    assert!(expected(&s), "{s:#?}");
    let records = env.records("shop").await;
    let failed = records[1].clone();
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(env.client(), NS);
    let v2 = secrets.get("sh.helm.release.v1.shop.v2").await.unwrap();
    assert_eq!(
        v2.metadata.annotations.unwrap_or_default()["signet.dev/attempts"],
        "2",
        "retries: 1 means two attempts before the rollback"
    );
    // The rollback ran revision 1's rollback hooks and recorded their runs.
    assert!(
        env.object("v1", "ConfigMap", "shop-before-rollback")
            .is_some()
    );
    assert!(
        env.object("batch/v1", "Job", "shop-after-rollback")
            .is_some()
    );
    let phases: Vec<(&str, &str)> = records[2]["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap(),
                h["last_run"]["phase"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            ("shop-before-rollback", "Succeeded"),
            ("shop-after-rollback", "Succeeded")
        ]
    );
    assert_eq!(
        failed["chart"]["metadata"]["version"], "2.0.0",
        "the failed revision is the 2.0.0 attempt"
    );

    // Held: several intervals later nothing more was attempted.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let s = story(&env, "shop").await;
    assert!(expected(&s), "not retried: {s:#?}");
    let r = env.releases().get_opt("shop").await.unwrap().unwrap();
    assert_eq!(condition(&r, "Ready").unwrap().1, "RolledBack");

    if let Some(out) = env.helm(&["history", "shop", "-n", NS, "-o", "json"]) {
        let history: Value = serde_json::from_str(&out).unwrap();
        let rows: Vec<(i64, &str, &str, &str)> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["revision"].as_i64().unwrap(),
                    h["status"].as_str().unwrap(),
                    h["chart"].as_str().unwrap(),
                    h["description"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(rows.len(), 3, "{out}");
        assert_eq!(
            rows[0],
            (1, "superseded", "demo-1.0.0", "Install complete"),
            "{out}"
        );
        assert_eq!(
            (rows[1].0, rows[1].1, rows[1].2),
            (2, "failed", "demo-2.0.0")
        );
        assert!(rows[1].3.contains("0 of 1 replicas available"), "{out}");
        assert_eq!(
            rows[2],
            (3, "deployed", "demo-1.0.0", "Rollback to 1"),
            "{out}"
        );
        let table = env.helm(&["history", "shop", "-n", NS]).unwrap();
        println!("helm history shop:\n{table}");
        let list = env.helm(&["list", "-n", NS]).unwrap();
        println!("helm list:\n{list}");
    }

    // A new version is a new input: it upgrades.
    env.push(
        "3.0.0",
        &[
            ("config.yaml", CONFIG),
            ("app.yaml", &deployment("succeed")),
        ],
    )
    .await;
    env.patch_spec("shop", json!({"chart": {"version": "3.0.0"}}))
        .await;
    env.wait_ready("shop").await;
    let s = story(&env, "shop").await;
    let statuses: Vec<&str> = s.iter().map(|(st, _)| st.as_str()).collect();
    assert_eq!(
        statuses,
        ["superseded", "failed", "superseded", "deployed"],
        "{s:#?}"
    );
    assert_eq!(s[3].1, "Upgrade complete");
    if let Some(table) = env.helm(&["history", "shop", "-n", NS]) {
        println!("helm history shop, after 3.0.0:\n{table}");
        assert!(table.contains("Upgrade complete"), "{table}");
    }
    env.stop().await;
}

/// A first install that fails (its Deployment never becomes available) is uninstalled after the
/// retries, its history kept as `uninstalled`; the release is Ready=False (Uninstalled) and held.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_first_install_is_uninstalled() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let goodbye = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-goodbye\n  annotations:\n    helm.sh/hook: pre-delete\ndata: {}\n";
    env.push(
        "1.0.0",
        &[
            ("config.yaml", CONFIG),
            ("app.yaml", &deployment("hang")),
            ("goodbye.yaml", goodbye),
        ],
    )
    .await;
    env.start();
    env.create(
        "once",
        "1.0.0",
        json!({"timeout": "2s", "install": {"remediation": {"retries": 0}}}),
    )
    .await;
    let r = env.wait_not_ready("once", "Uninstalled").await;
    let (_, _, message) = condition(&r, "Ready").unwrap();
    assert!(
        message.contains("failed and was uninstalled")
            && message.contains("Release \"once\" failed: ")
            && message.contains("0 of 1 replicas available"),
        "{message}"
    );
    assert!(env.object("apps/v1", "Deployment", "once-app").is_none());
    assert!(env.object("v1", "ConfigMap", "once-config").is_none());
    assert!(
        env.object("v1", "ConfigMap", "once-goodbye").is_some(),
        "the uninstall ran the pre-delete hook, as helm uninstall does"
    );
    assert!(r.status.as_ref().unwrap().inventory.is_empty());
    let s = story(&env, "once").await;
    assert_eq!(
        s,
        [(
            "uninstalled".to_owned(),
            "Uninstallation complete".to_owned()
        )]
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(story(&env, "once").await, s, "not retried");
    assert!(env.object("apps/v1", "Deployment", "once-app").is_none());
    if let Some(out) = env.helm(&["list", "--uninstalled", "-n", NS, "-o", "json"]) {
        let list: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(list[0]["status"], "uninstalled", "{out}");
    }
    env.stop().await;
}

/// A pre-upgrade hook Job that fails fails the upgrade before any object of the new version is
/// touched; with `retries: 0` it is rolled back at once, and `helm history` names the hook.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_pre_upgrade_hook_rolls_back_without_touching_the_release() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let hook = |outcome: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{{{ .Release.Name }}}}-migrate\n  annotations:\n    helm.sh/hook: pre-upgrade\n    test.signet.dev/outcome: {outcome}\n    test.signet.dev/message: schema migration 7 failed\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: example.invalid/migrate:{{{{ .Chart.Version }}}}\n"
        )
    };
    env.push(
        "1.0.0",
        &[("config.yaml", CONFIG), ("migrate.yaml", &hook("succeed"))],
    )
    .await;
    env.push(
        "2.0.0",
        &[("config.yaml", CONFIG), ("migrate.yaml", &hook("fail"))],
    )
    .await;
    env.start();
    env.create(
        "db",
        "1.0.0",
        json!({"upgrade": {"remediation": {"retries": 0, "strategy": "rollback"}}}),
    )
    .await;
    env.wait_ready("db").await;
    let before = env.object("v1", "ConfigMap", "db-config").unwrap();

    env.patch_spec("db", json!({"chart": {"version": "2.0.0"}}))
        .await;
    let r = env.wait_not_ready("db", "RolledBack").await;
    let (_, _, message) = condition(&r, "Ready").unwrap();
    assert!(
        message.contains("pre-upgrade hooks failed: pre-upgrade hook Job default/db-migrate")
            && message.contains("schema migration 7 failed"),
        "{message}"
    );
    let after = env.object("v1", "ConfigMap", "db-config").unwrap();
    assert_eq!(after["data"]["version"], "1.0.0");
    assert_eq!(
        after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"],
        "the 2.0.0 manifests never touched the release's objects"
    );
    let s = story(&env, "db").await;
    assert_eq!(s.len(), 3, "{s:#?}");
    assert_eq!(s[0].0, "superseded");
    assert_eq!(s[1].0, "failed");
    assert!(
        s[1].1.starts_with("Upgrade \"db\" failed: pre-upgrade hooks failed: pre-upgrade hook Job default/db-migrate (demo/templates/migrate.yaml) failed: BackoffLimitExceeded: Job has reached the specified backoff limit; pod db-migrate-")
            && s[1].1.ends_with("container m exited with code 1 (Error): schema migration 7 failed"),
        "{s:#?}"
    );
    assert_eq!(s[2], ("deployed".to_owned(), "Rollback to 1".to_owned()));
    env.stop().await;
}

/// `strategy: uninstall` removes a release whose upgrade failed; the next version installs it
/// afresh (pre-install hooks, "Install complete").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upgrade_strategy_uninstall_then_a_new_version_installs() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    for (version, outcome) in [
        ("1.0.0", "succeed"),
        ("2.0.0", "hang"),
        ("3.0.0", "succeed"),
    ] {
        env.push(
            version,
            &[("config.yaml", CONFIG), ("app.yaml", &deployment(outcome))],
        )
        .await;
    }
    env.start();
    env.create(
        "gone",
        "1.0.0",
        json!({"timeout": "2s", "upgrade": {"remediation": {"strategy": "uninstall"}}}),
    )
    .await;
    env.wait_ready("gone").await;
    env.patch_spec("gone", json!({"chart": {"version": "2.0.0"}}))
        .await;
    let r = env.wait_not_ready("gone", "Uninstalled").await;
    assert!(r.status.as_ref().unwrap().inventory.is_empty());
    assert!(env.object("apps/v1", "Deployment", "gone-app").is_none());
    assert!(env.object("v1", "ConfigMap", "gone-config").is_none());
    let statuses =
        |s: Vec<(String, String)>| -> Vec<String> { s.into_iter().map(|(st, _)| st).collect() };
    assert_eq!(
        statuses(story(&env, "gone").await),
        ["superseded", "uninstalled"]
    );

    env.patch_spec("gone", json!({"chart": {"version": "3.0.0"}}))
        .await;
    env.wait_ready("gone").await;
    let s = story(&env, "gone").await;
    assert_eq!(s.len(), 3, "{s:#?}");
    assert_eq!(s[2], ("deployed".to_owned(), "Install complete".to_owned()));
    assert_eq!(
        env.object("v1", "ConfigMap", "gone-config").unwrap()["data"]["version"],
        "3.0.0"
    );
    env.stop().await;
}
