//! Helm release records written by `signet::apply::history` on the API-server test double: the
//! revision chain (superseded, failed, trimmed) through our reader, and real `helm list`,
//! `helm history` and `helm get manifest|values|notes` reading what we wrote.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use signet::apply::{ReleaseRecord, ReleaseStatus, delete_history, load_history, record};
use support::apiserver::ApiServer;

const MANIFEST: &str = "---\n# Source: web/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  greeting: hello\n";

fn revision(version: i32, status: ReleaseStatus) -> ReleaseRecord {
    ReleaseRecord {
        name: "web".into(),
        namespace: "apps".into(),
        version,
        status,
        chart_metadata: json!({"apiVersion": "v2", "name": "web", "version": format!("1.0.{version}"), "appVersion": "2.4.0", "type": "application"}),
        chart_values: json!({"greeting": "hi", "replicas": 1}),
        config: json!({"greeting": format!("hello {version}")}),
        manifest: MANIFEST.into(),
        hooks: vec![],
        notes: format!("Release web revision {version} is up."),
        description: if status == ReleaseStatus::Failed {
            "Upgrade \"web\" failed: deadline exceeded".into()
        } else {
            "Upgrade complete".into()
        },
        first_deployed: Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap(),
        last_deployed: Utc
            .with_ymd_and_hms(2026, 1, 1, 10, version as u32, 0)
            .unwrap(),
        annotations: BTreeMap::from([("signet.dev/revision".into(), format!("sha256:{version}"))]),
    }
}

async fn setup() -> ApiServer {
    signet::tls::install_crypto_provider();
    let server = ApiServer::start().await;
    server.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}));
    server
}

fn statuses(history: &[ReleaseRecord]) -> Vec<(i32, ReleaseStatus)> {
    history.iter().map(|r| (r.version, r.status)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn revisions_supersede_fail_and_trim_like_helm() {
    use ReleaseStatus::*;
    let server = setup().await;
    let client = server.client();
    record(&client, &revision(1, Deployed), 3).await.unwrap();
    record(&client, &revision(2, Deployed), 3).await.unwrap();
    let history = load_history(&client, "apps", "web").await.unwrap();
    assert_eq!(statuses(&history), [(1, Superseded), (2, Deployed)]);
    assert_eq!(history[1], revision(2, Deployed), "read back as written");
    let secret = server
        .get("v1", "Secret", Some("apps"), "sh.helm.release.v1.web.v1")
        .unwrap();
    assert_eq!(secret["type"], "helm.sh/release.v1");
    assert_eq!(secret["metadata"]["labels"]["status"], "superseded");
    assert_eq!(secret["metadata"]["labels"]["owner"], "helm");
    assert!(secret["metadata"]["labels"]["modifiedAt"].is_string());

    // A failed upgrade leaves the deployed revision deployed (Helm does the same).
    record(&client, &revision(3, Failed), 3).await.unwrap();
    let history = load_history(&client, "apps", "web").await.unwrap();
    assert_eq!(
        statuses(&history),
        [(1, Superseded), (2, Deployed), (3, Failed)]
    );

    // Beyond max_history the oldest go, never the last deployed one.
    record(&client, &revision(4, Failed), 3).await.unwrap();
    record(&client, &revision(5, Failed), 3).await.unwrap();
    let history = load_history(&client, "apps", "web").await.unwrap();
    assert_eq!(
        statuses(&history),
        [(2, Deployed), (4, Failed), (5, Failed)]
    );

    // Recording the same revision again (a retried status write) is idempotent.
    record(&client, &revision(5, Failed), 3).await.unwrap();
    assert_eq!(load_history(&client, "apps", "web").await.unwrap().len(), 3);

    delete_history(&client, "apps", "web").await.unwrap();
    assert!(
        load_history(&client, "apps", "web")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Real helm against the double: the helm binary, the double, and a temporary home holding a
/// kubeconfig for the double.
struct HelmEnv {
    bin: PathBuf,
    server: ApiServer,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl HelmEnv {
    /// `None` (the test skips) without helm; under CI helm is required.
    async fn new() -> Option<HelmEnv> {
        let Some(bin) = support::tools::tool("helm") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "helm is required under CI"
            );
            return None;
        };
        let server = setup().await;
        let dir = support::tools::temp_dir();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, server.kubeconfig_yaml()).unwrap();
        Some(HelmEnv {
            bin,
            server,
            dir,
            kubeconfig,
        })
    }

    /// `helm ARGS` against the double, with its own config, cache and data homes.
    fn helm(&self, args: &[&str]) -> Command {
        let home = self.dir.path();
        let mut c = Command::new(&self.bin);
        c.env("KUBECONFIG", &self.kubeconfig)
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env_remove("HELM_DRIVER")
            .env_remove("HELM_NAMESPACE")
            .args(args);
        c
    }
}

fn run(mut cmd: Command) -> String {
    let out = cmd.output().expect("run helm");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("helm prints UTF-8")
}

#[tokio::test(flavor = "multi_thread")]
async fn real_helm_reads_signets_release_records() {
    let Some(env) = HelmEnv::new().await else {
        return;
    };
    let client = env.server.client();
    use ReleaseStatus::*;
    record(&client, &revision(1, Deployed), 10).await.unwrap();
    record(&client, &revision(2, Deployed), 10).await.unwrap();

    let h = |args: &[&str]| env.helm(args);
    // helm blocks; the double serves from its own thread.
    let list: Value = serde_json::from_str(&run(h(&["list", "-n", "apps", "-o", "json"]))).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["name"], "web");
    assert_eq!(list[0]["namespace"], "apps");
    assert_eq!(list[0]["revision"].to_string().trim_matches('"'), "2");
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart"], "web-1.0.2");
    assert_eq!(list[0]["app_version"], "2.4.0");

    let history: Value =
        serde_json::from_str(&run(h(&["history", "web", "-n", "apps", "-o", "json"]))).unwrap();
    let rows: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].to_string(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("1".to_owned(), "superseded".to_owned()),
            ("2".to_owned(), "deployed".to_owned())
        ]
    );
    assert_eq!(history[1]["description"], "Upgrade complete");

    let manifest = run(h(&["get", "manifest", "web", "-n", "apps"]));
    assert_eq!(manifest.trim(), MANIFEST.trim());
    let values: Value = serde_json::from_str(&run(h(&[
        "get", "values", "web", "-n", "apps", "-o", "json",
    ])))
    .unwrap();
    assert_eq!(values, json!({"greeting": "hello 2"}));
    let all: Value = serde_json::from_str(&run(h(&[
        "get", "values", "web", "-n", "apps", "--all", "-o", "json",
    ])))
    .unwrap();
    assert_eq!(all, json!({"greeting": "hello 2", "replicas": 1}));
    let notes = run(h(&["get", "notes", "web", "-n", "apps"]));
    assert!(notes.contains("Release web revision 2 is up."), "{notes}");
    let old = run(h(&[
        "get",
        "manifest",
        "web",
        "-n",
        "apps",
        "--revision",
        "1",
    ]));
    assert_eq!(old.trim(), MANIFEST.trim());

    // A failed upgrade shows as failed, the deployed one stays deployed in history.
    record(&client, &revision(3, Failed), 10).await.unwrap();
    let list: Value = serde_json::from_str(&run(h(&["list", "-n", "apps", "-o", "json"]))).unwrap();
    assert_eq!(list[0]["status"], "failed", "{list}");
    assert_eq!(list[0]["revision"].to_string().trim_matches('"'), "3");
}

/// The emergency path of a GitOps release (suspend the controller, `helm rollback`): Helm rolls
/// back over Signet's records, which hold no chart templates, because a rollback re-applies the
/// recorded manifest and hooks. The revision it writes is one Signet's reader continues from.
#[tokio::test(flavor = "multi_thread")]
async fn helm_rollback_works_on_signets_records() {
    let Some(env) = HelmEnv::new().await else {
        return;
    };
    let client = env.server.client();
    use ReleaseStatus::*;
    record(&client, &revision(1, Superseded), 10).await.unwrap();
    let mut second = revision(2, Deployed);
    second.manifest = MANIFEST.replace("greeting: hello", "greeting: changed");
    record(&client, &second, 10).await.unwrap();

    let out = run(env.helm(&["rollback", "web", "1", "-n", "apps"]));
    assert!(out.contains("Rollback was a success"), "{out}");

    let history = load_history(&client, "apps", "web").await.unwrap();
    let rows: Vec<(i32, ReleaseStatus, &str)> = history
        .iter()
        .map(|r| (r.version, r.status, r.description.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (1, Superseded, "Upgrade complete"),
            (2, Superseded, "Upgrade complete"),
            (3, Deployed, "Rollback to 1"),
        ]
    );
    assert_eq!(history[2].manifest.trim(), MANIFEST.trim());
    // What helm applied is revision 1's ConfigMap.
    let config_maps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), "apps");
    let live = config_maps.get("web-config").await.unwrap();
    assert_eq!(live.data.unwrap_or_default()["greeting"], "hello");
}

#[tokio::test(flavor = "multi_thread")]
async fn records_written_by_helm_are_read_and_superseded() {
    let Some(env) = HelmEnv::new().await else {
        return;
    };
    let client = env.server.client();
    let chart = env.dir.path().join("web");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 0.9.0\nappVersion: \"2.3\"\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "greeting: hi\n").unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  greeting: {{ .Values.greeting }}\n",
    )
    .unwrap();
    std::fs::write(chart.join("templates/NOTES.txt"), "installed by helm\n").unwrap();
    run(env.helm(&[
        "install",
        "web",
        chart.to_str().unwrap(),
        "-n",
        "apps",
        "--set",
        "greeting=hello",
    ]));

    // Helm's own record reads as revision 1, deployed, with its values, manifest and notes.
    let history = load_history(&client, "apps", "web").await.unwrap();
    assert_eq!(history.len(), 1);
    let helms = &history[0];
    assert_eq!((helms.version, helms.status), (1, ReleaseStatus::Deployed));
    assert_eq!(helms.config, json!({"greeting": "hello"}));
    assert_eq!(helms.chart_metadata["version"], "0.9.0");
    assert!(
        helms.manifest.contains("greeting: hello"),
        "{}",
        helms.manifest
    );
    assert_eq!(helms.notes.trim(), "installed by helm");

    // Our revision 2 supersedes it, and helm still reads both.
    record(&client, &revision(2, ReleaseStatus::Deployed), 10)
        .await
        .unwrap();
    let history = load_history(&client, "apps", "web").await.unwrap();
    assert_eq!(
        statuses(&history),
        [(1, ReleaseStatus::Superseded), (2, ReleaseStatus::Deployed)]
    );
    let rows: Value = serde_json::from_str(&run(
        env.helm(&["history", "web", "-n", "apps", "-o", "json"])
    ))
    .unwrap();
    assert_eq!(rows[0]["status"], "superseded", "{rows}");
    assert_eq!(rows[0]["chart"], "web-0.9.0", "{rows}");
    assert_eq!(rows[1]["status"], "deployed", "{rows}");
    let h = env.helm(&[
        "get",
        "values",
        "web",
        "-n",
        "apps",
        "--revision",
        "1",
        "-o",
        "json",
    ]);
    let old: Value = serde_json::from_str(&run(h)).unwrap();
    assert_eq!(
        old,
        json!({"greeting": "hello"}),
        "superseding kept Helm's record intact"
    );
}
