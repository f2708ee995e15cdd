//! `spec.postRenderers` through the reconciler: `signet::controller::run` against the API-server
//! double and a real `docker-registry`, with a chart signed by Signet's own signing library (the
//! shared release environment of tests/support/release_env.rs). The applied objects, the hook the
//! install ran and the Helm release record carry the patched manifests; a changed patch
//! re-renders; a patch that cannot apply leaves the release not Ready, naming the post-renderer
//! and the patch.

#[path = "support/release_env.rs"]
mod release_env;
mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use release_env::{Env, NS};
use serde_json::{Value, json};
use signet::api::SignedChartRelease;

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app
spec:
  replicas: 1
  selector:
    matchLabels: {app: demo}
  template:
    metadata:
      labels: {app: demo}
    spec:
      containers:
      - name: app
        image: example.invalid/app:1
        env:
        - name: FROM_CHART
          value: chart
";
const CONFIG: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  greeting: hello
";

/// A pre-install hook: Helm 4 post-renders hooks with the manifests, so the ConfigMap patch and
/// the labels reach it too.
const HOOK: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-hook
  annotations:
    helm.sh/hook: pre-install
data:
  greeting: hello
";

fn post_renderers(greeting: &str) -> Value {
    json!([{"kustomize": {
        "patches": [
            {
                "target": {"kind": "Deployment", "name": ".*-app"},
                "patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n      - name: log-shipper\n        image: example.invalid/shipper:1\n      - name: app\n        env:\n        - name: FROM_PATCH\n          value: patch\n"
            },
            {
                "target": {"kind": "ConfigMap"},
                "patch": format!("- op: replace\n  path: /data/greeting\n  value: {greeting}\n")
            }
        ],
        "images": [{"name": "example.invalid/app", "newTag": "2"}],
        "labels": [{"pairs": {"team": "storefront"}}]
    }}])
}

fn ready(r: &SignedChartRelease) -> Option<(String, String)> {
    let c = r
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")?;
    Some((c.status.clone(), c.message.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_release_applies_its_post_rendered_objects() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let chart = env.write_chart(
        "1.0.0",
        "{}\n",
        &[
            ("deployment.yaml", DEPLOYMENT),
            ("config.yaml", CONFIG),
            ("hook.yaml", HOOK),
        ],
    );
    env.push_signed(&chart).await;
    env.start();
    let client = env.client();
    let release = env.release(
        "pr",
        "1.0.0",
        // The double runs no Deployment controller: nothing would ever become ready.
        json!({"health": {"wait": false}, "postRenderers": post_renderers("patched")}),
    );
    let parsed: SignedChartRelease = serde_json::from_value(release.clone()).unwrap();
    parsed.validate().expect("the release is valid");
    env.create(release).await;
    let releases = env.releases();

    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let greeting = async |want: &str| {
        config_maps
            .get_opt("pr-config")
            .await
            .unwrap()
            .and_then(|cm| cm.data?.get("greeting").cloned())
            .as_deref()
            == Some(want)
    };
    env.wait_until("the patched ConfigMap", async || greeting("patched").await)
        .await;
    // The status is written after the objects are applied: wait for it too.
    env.wait_until("Ready=True", async || {
        let r = releases.get("pr").await.unwrap();
        ready(&r).is_some_and(|(status, _)| status == "True")
    })
    .await;

    // The Deployment as the post-renderer made it: the sidecar first (a strategic merge puts the
    // patch's new items first), the chart's container merged by name, the image retagged, labels.
    let deployment = Api::<Deployment>::namespaced(client.clone(), NS)
        .get("pr-app")
        .await
        .unwrap();
    let pod = deployment.spec.template.spec.unwrap();
    let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["log-shipper", "app"]);
    let app = &pod.containers[1];
    assert_eq!(app.image.as_deref(), Some("example.invalid/app:2"));
    let env_names: Vec<&str> = app.env.iter().flatten().map(|e| e.name.as_str()).collect();
    assert_eq!(env_names, ["FROM_PATCH", "FROM_CHART"]);
    let labels = deployment.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("storefront"));

    // The pre-install hook ran post-rendered: patched and labelled like the manifests.
    let hook = config_maps.get("pr-hook").await.unwrap();
    assert_eq!(
        hook.data
            .unwrap_or_default()
            .get("greeting")
            .map(String::as_str),
        Some("patched")
    );
    let hook_labels = hook.metadata.labels.unwrap_or_default();
    assert_eq!(
        hook_labels.get("team").map(String::as_str),
        Some("storefront")
    );

    // The Helm release record holds the post-rendered manifest, as Helm records a post-renderer's.
    let history = signet::apply::load_history(&client, NS, "pr")
        .await
        .unwrap();
    let latest = history.iter().max_by_key(|r| r.version).unwrap();
    assert!(
        latest.manifest.contains("example.invalid/app:2")
            && latest.manifest.contains("log-shipper"),
        "{}",
        latest.manifest
    );
    let hooks = serde_json::to_string(&latest.hooks).unwrap();
    assert!(hooks.contains("greeting: patched"), "{hooks}");

    // A changed patch is a new generation, so a new render: the ConfigMap follows.
    env.patch_spec("pr", json!({"postRenderers": post_renderers("changed")}))
        .await;
    env.wait_until("the ConfigMap from the changed patch", async || {
        greeting("changed").await
    })
    .await;

    // A patch that cannot apply: not Ready, the message names the post-renderer and the patch,
    // and what was applied stays.
    let mut broken = post_renderers("changed");
    broken[0]["kustomize"]["patches"][1]["patch"] = json!("- op: remove\n  path: /data/missing\n");
    env.patch_spec("pr", json!({"postRenderers": broken})).await;
    env.wait_until("Ready=False naming the patch", async || {
        let r = releases.get("pr").await.unwrap();
        ready(&r).is_some_and(|(status, message)| {
            status == "False" && message.contains("spec.postRenderers[0].kustomize.patches[1]")
        })
    })
    .await;
    assert!(greeting("changed").await);

    env.stop().await;
}
