//! Adopting a Helm release and handing it back, with real `helm` against the API-server double
//! and `signet::controller::run` in process: a SignedChartRelease named like a release that
//! `helm install` made continues its history (next revision = last + 1), takes over Helm's fields
//! (a field the new chart dropped goes, as `helm upgrade` would remove it), prunes the objects the
//! new chart no longer renders (not `keep` ones, not another owner's); deleted with
//! `deletionPolicy: Orphan`, it leaves the history and hands the fields back, and `helm upgrade`
//! manages the release again without conflicts. Also a Helm 3 release (client-side writes by the
//! `helm` field manager, operation Update).

#[path = "support/release_env.rs"]
mod release_env;
mod support;

use std::collections::BTreeMap;

use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use release_env::{Env, NS, managers, run_ok};
use serde_json::{Value, json};

/// 1.0.0 (installed by helm): a ConfigMap with a field 2.0.0 drops, one 2.0.0 drops entirely, one
/// 2.0.0 drops but that is annotated `keep`, and a Service.
const CONFIG_V1: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  old: \"only in 1.0.0\"\n";
const EXTRA_V1: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  a: b\n";
const KEPT_V1: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-kept\n  annotations:\n    helm.sh/resource-policy: keep\ndata:\n  a: b\n";
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  ports:\n  - port: 80\n    name: http\n  selector:\n    app: demo\n";
/// 2.0.0 and later: the ConfigMap without `old`, the revision in it, and an object of its own.
const CONFIG_V2: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  revision: {{ .Release.Revision | quote }}\n";
const SIGNET_ONLY: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-v2\ndata:\n  a: b\n";

fn data(obj: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(obj["data"].clone()).unwrap_or_default()
}

fn rows(history: &[(i64, String, String)]) -> Vec<(i64, &str, &str)> {
    history
        .iter()
        .map(|(r, s, c)| (*r, s.as_str(), c.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn adopts_a_helm_install_and_hands_it_back_to_helm() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let v1 = env.write_chart(
        "1.0.0",
        "greeting: hi\n",
        &[
            ("config.yaml", CONFIG_V1),
            ("extra.yaml", EXTRA_V1),
            ("kept.yaml", KEPT_V1),
            ("service.yaml", SERVICE),
        ],
    );
    run_ok(env.helm(&[
        "install",
        "web",
        v1.to_str().unwrap(),
        "-n",
        NS,
        "--set",
        "greeting=from helm",
    ]));
    let cm = env.get("v1", "ConfigMap", "web-config").unwrap();
    assert!(managers(&cm).contains(&"helm".to_owned()), "{cm}");

    // Signet takes over with 2.0.0.
    let v2 = env.write_chart(
        "2.0.0",
        "greeting: hi\n",
        &[
            ("config.yaml", CONFIG_V2),
            ("service.yaml", SERVICE),
            ("v2.yaml", SIGNET_ONLY),
        ],
    );
    env.push_signed(&v2).await;
    let release = env.release(
        "web",
        "2.0.0",
        json!({"values": {"greeting": "from signet"}, "uninstall": {"deletionPolicy": "Orphan"}}),
    );

    // `signet diff -f` first: the adoption's changes, nothing written.
    let file = env.dir.path().join("web.json");
    std::fs::write(&file, release.to_string()).unwrap();
    let writes = env.api.stats().total_writes();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["diff", "-o", "json", "--kubeconfig"])
        .arg(&env.kubeconfig)
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("{diff:#}");
    let change = |kind: &str, name: &str| {
        diff["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == kind && o["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} {name}: {diff}"))
    };
    assert_eq!(change("ConfigMap", "web-extra")["action"], "prune");
    assert!(
        diff["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["name"] != "web-kept")
    );
    let config = change("ConfigMap", "web-config");
    assert_eq!(config["action"], "update");
    let paths: Vec<&str> = config["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    for want in ["data.greeting", "data.old", "data.revision"] {
        assert!(paths.contains(&want), "{want}: {config}");
    }
    assert_eq!(change("ConfigMap", "web-v2")["action"], "create");
    assert_eq!(env.api.stats().total_writes(), writes, "diff wrote");

    env.start();
    env.create(release).await;
    let r = env.wait_ready("web", "2.0.0").await;
    eprintln!("adopted: {:?}", r.status.as_ref().map(|s| &s.conditions));

    // The history goes on: revision 2 supersedes helm's revision 1.
    assert_eq!(
        rows(&env.helm_history("web")),
        [
            (1, "superseded", "demo-1.0.0"),
            (2, "deployed", "demo-2.0.0")
        ]
    );
    // Helm's fields became Signet's: the dropped field is gone, no conflict, no helm manager.
    let cm = env.get("v1", "ConfigMap", "web-config").unwrap();
    assert_eq!(
        data(&cm),
        BTreeMap::from([
            ("greeting".into(), "from signet".into()),
            ("revision".into(), "2".into())
        ]),
        "{cm}"
    );
    assert!(!managers(&cm).contains(&"helm".to_owned()), "{cm}");
    assert_eq!(
        cm["metadata"]["annotations"]["signet.dev/owner"],
        "default/web"
    );
    // Pruned: what 2.0.0 no longer renders; kept: the `keep` one.
    assert!(
        env.get("v1", "ConfigMap", "web-extra").is_none(),
        "web-extra not pruned"
    );
    assert!(
        env.get("v1", "ConfigMap", "web-kept").is_some(),
        "keep was pruned"
    );
    assert!(env.get("v1", "Service", "web").is_some());
    assert!(env.get("v1", "ConfigMap", "web-v2").is_some());
    let manifest = run_ok(env.helm(&["get", "manifest", "web", "-n", NS]));
    assert!(manifest.contains("name: web-v2"), "{manifest}");

    // Deleted with Orphan: objects and history stay, the fields go back to helm.
    env.releases()
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_until("the release to be gone", async || {
        env.releases().get_opt("web").await.unwrap().is_none()
    })
    .await;
    env.stop().await;
    let cm = env.get("v1", "ConfigMap", "web-config").unwrap();
    let owns_data = |manager: &str| {
        cm["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["manager"] == manager && !e["fieldsV1"]["f:data"]["f:greeting"].is_null())
    };
    assert!(owns_data("helm") && !owns_data("signet"), "{cm}");
    assert_eq!(
        rows(&env.helm_history("web")),
        [
            (1, "superseded", "demo-1.0.0"),
            (2, "deployed", "demo-2.0.0")
        ]
    );

    // helm upgrade manages it again: changes Signet's values without conflicts, and deletes
    // what its chart no longer has (web-v2, from Signet's manifest).
    run_ok(env.helm(&[
        "upgrade",
        "web",
        v1.to_str().unwrap(),
        "-n",
        NS,
        "--set",
        "greeting=helm again",
    ]));
    let cm = env.get("v1", "ConfigMap", "web-config").unwrap();
    assert_eq!(data(&cm)["greeting"], "helm again", "{cm}");
    assert_eq!(data(&cm)["old"], "only in 1.0.0", "{cm}");
    assert!(
        !data(&cm).contains_key("revision"),
        "helm removed the field it took over: {cm}"
    );
    assert!(
        env.get("v1", "ConfigMap", "web-v2").is_none(),
        "helm did not prune web-v2"
    );
    assert!(env.get("v1", "ConfigMap", "web-extra").is_some());
    let history = env.helm_history("web");
    eprintln!("helm history after the hand-back: {history:?}");
    assert_eq!(
        rows(&history),
        [
            (1, "superseded", "demo-1.0.0"),
            (2, "superseded", "demo-2.0.0"),
            (3, "deployed", "demo-1.0.0")
        ]
    );
    let list = run_ok(env.helm(&["list", "-n", NS]));
    eprintln!("{list}");

    // And Signet can adopt it again: revision 4, Helm's objects of revision 3 pruned again.
    env.start();
    env.create(env.release("web", "2.0.0", json!({}))).await;
    env.wait_ready("web", "2.0.0").await;
    let cm = env.get("v1", "ConfigMap", "web-config").unwrap();
    assert_eq!(
        data(&cm),
        BTreeMap::from([
            ("greeting".into(), "hi".into()),
            ("revision".into(), "4".into())
        ]),
        "{cm}"
    );
    assert!(
        env.get("v1", "ConfigMap", "web-extra").is_none(),
        "web-extra not pruned again"
    );
    assert_eq!(
        rows(&env.helm_history("web")),
        [
            (1, "superseded", "demo-1.0.0"),
            (2, "superseded", "demo-2.0.0"),
            (3, "superseded", "demo-1.0.0"),
            (4, "deployed", "demo-2.0.0")
        ]
    );
    env.stop().await;
}

/// A release Helm 3 made: its writes are client-side (`helm` manager, operation Update) and its
/// record is in the same Secret format. Signet adopts it the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn adopts_a_helm3_client_side_release_and_spares_other_owners() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let marks = json!({
        "labels": {"app.kubernetes.io/managed-by": "Helm"},
        "annotations": {"meta.helm.sh/release-name": "old", "meta.helm.sh/release-namespace": NS},
    });
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(env.client(), NS);
    let create = |name: &str, extra_annotations: Value| {
        let mut meta = marks.clone();
        release_env::merge(
            &mut meta,
            json!({"name": name, "annotations": extra_annotations}),
        );
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"greeting": "helm3", "old": "x"}})
    };
    let pp = kube::api::PostParams {
        field_manager: Some("helm".into()),
        ..Default::default()
    };
    for (name, ann) in [
        ("old-config", json!({})),
        ("old-extra", json!({})),
        (
            "old-claimed",
            json!({"signet.dev/owner": "default/someone-else"}),
        ),
    ] {
        cms.create(&pp, &serde_json::from_value(create(name, ann)).unwrap())
            .await
            .unwrap();
    }
    // Helm 3 patches with the `helm` manager (operation Update).
    cms.patch(
        "old-config",
        &PatchParams {
            field_manager: Some("helm".into()),
            ..Default::default()
        },
        &Patch::Merge(json!({"data": {"greeting": "helm3 upgraded"}})),
    )
    .await
    .unwrap();
    let manifest = ["old-config", "old-extra", "old-claimed"]
        .iter()
        .map(|n| format!("---\n# Source: demo/templates/{n}.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n"))
        .collect::<String>();
    let now = chrono::Utc::now();
    signet::apply::record(
        &env.client(),
        &signet::apply::ReleaseRecord {
            name: "old".into(),
            namespace: NS.into(),
            version: 4,
            status: signet::apply::ReleaseStatus::Deployed,
            chart_metadata: json!({"apiVersion": "v2", "name": "demo", "version": "0.9.0"}),
            chart_values: json!({}),
            config: json!({}),
            manifest,
            hooks: vec![],
            notes: String::new(),
            description: "Upgrade complete".into(),
            first_deployed: now,
            last_deployed: now,
            annotations: BTreeMap::new(),
        },
        10,
    )
    .await
    .unwrap();

    let v2 = env.write_chart("2.0.0", "greeting: hi\n", &[("config.yaml", CONFIG_V2)]);
    env.push_signed(&v2).await;
    env.start();
    env.create(env.release("old", "2.0.0", json!({}))).await;
    env.wait_ready("old", "2.0.0").await;
    let cm = env.get("v1", "ConfigMap", "old-config").unwrap();
    assert_eq!(
        data(&cm),
        BTreeMap::from([
            ("greeting".into(), "hi".into()),
            ("revision".into(), "5".into())
        ]),
        "{cm}"
    );
    assert!(!managers(&cm).contains(&"helm".to_owned()), "{cm}");
    assert!(
        env.get("v1", "ConfigMap", "old-extra").is_none(),
        "old-extra not pruned"
    );
    assert!(
        env.get("v1", "ConfigMap", "old-claimed").is_some(),
        "another owner's object was pruned"
    );
    assert_eq!(
        rows(&env.helm_history("old")),
        [
            (4, "superseded", "demo-0.9.0"),
            (5, "deployed", "demo-2.0.0")
        ]
    );
    env.stop().await;
}
