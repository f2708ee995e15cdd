//! `spec.postRenderers` through the reconciler: `signet::controller::run` against the API-server
//! double and a real `docker-registry`, with a chart signed by Signet's own signing library (the
//! set-up of tests/controller_stories.rs, cut to what this story needs). The applied objects, the
//! hook the install ran and the Helm release record carry the patched manifests; a changed patch
//! re-renders; a patch that cannot apply leaves the release not Ready, naming the post-renderer
//! and the patch.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use signet::api::SignedChartRelease;
use signet::registry::{ChartArtifact, OciReference, RegistryClient, helm_annotations};
use signet::verify::keys::{KeyAlgorithm, SigningKey};
use support::apiserver::ApiServer;
use support::registry::TestRegistry;

const NS: &str = "default";

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

/// Pushes chart `demo` 1.0.0 with the three templates and signs it with `key`.
async fn push_chart(registry: &RegistryClient, reg: &TestRegistry, key: &SigningKey) {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("demo");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "{}\n").unwrap();
    std::fs::write(chart.join("templates/deployment.yaml"), DEPLOYMENT).unwrap();
    std::fs::write(chart.join("templates/config.yaml"), CONFIG).unwrap();
    std::fs::write(chart.join("templates/hook.yaml"), HOOK).unwrap();
    let source = signet::package::load_chart_dir(&chart).unwrap();
    let artifact = ChartArtifact {
        name: source.metadata.name.clone(),
        version: source.metadata.version.clone(),
        config_json: serde_json::to_vec(&source.metadata).unwrap(),
        annotations: helm_annotations(&source.metadata, "2026-01-01T00:00:00Z"),
        archive: signet::package::write_archive(&source).unwrap(),
    };
    let target = OciReference::parse(&reg.oci("charts")).unwrap();
    let pushed = registry.push_chart(&target, &artifact, None).await.unwrap();
    signet::sign::sign(
        registry,
        &pushed.reference,
        key,
        &signet::sign::SignOptions::default(),
    )
    .await
    .unwrap();
}

async fn put_public_key(client: &Client, key: &SigningKey) {
    use base64::Engine;
    let pem = key.public_key().to_pem();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "signer", "namespace": NS},
        "data": {"cosign.pub": base64::engine::general_purpose::STANDARD.encode(pem)},
    });
    Api::<Secret>::namespaced(client.clone(), NS)
        .patch(
            "signer",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&secret),
        )
        .await
        .unwrap();
}

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

/// Polls `check` until it holds, for up to 45 s.
async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    signet::tls::install_crypto_provider();
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let api = ApiServer::start().await;
    let client = api.client();
    Api::<CustomResourceDefinition>::all(client.clone())
        .create(&PostParams::default(), &signet::api::crd().unwrap())
        .await
        .unwrap();
    let registry = RegistryClient::new(reg.options()).unwrap();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    put_public_key(&client, &key).await;
    push_chart(&registry, &reg, &key).await;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = signet::controller::Config {
        concurrency: 2,
        watch_namespace: None,
        label_selector: None,
        max_history: 10,
        metrics: std::sync::Arc::new(signet::controller::metrics::Metrics::new()),
        tuf: None,
    };
    let controller = tokio::spawn(signet::controller::run(
        api.kube_config(),
        config,
        async move {
            let _ = stopped.await;
        },
    ));

    let release: SignedChartRelease = serde_json::from_value(json!({
        "apiVersion": "signet.dev/v1alpha1",
        "kind": "SignedChartRelease",
        "metadata": {"name": "pr", "namespace": NS},
        "spec": {
            "chart": {
                "repository": reg.oci("charts/demo"),
                "version": "1.0.0",
                "registry": {"plainHTTP": reg.is_plain_http()},
            },
            "verify": {
                "authorities": [{"name": "ci", "key": {"secretRef": {"name": "signer", "key": "cosign.pub"}}}],
                "requireTransparencyLog": false,
            },
            // The double runs no Deployment controller: nothing would ever become ready.
            "health": {"wait": false},
            "interval": "1s",
            "timeout": "30s",
            "postRenderers": post_renderers("patched"),
        },
    }))
    .unwrap();
    release.validate().expect("the release is valid");
    let releases: Api<SignedChartRelease> = Api::namespaced(client.clone(), NS);
    releases
        .create(&PostParams::default(), &release)
        .await
        .unwrap();

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
    wait_for("the patched ConfigMap", async || greeting("patched").await).await;
    // The status is written after the objects are applied: wait for it too.
    wait_for("Ready=True", async || {
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
    let env: Vec<&str> = app.env.iter().flatten().map(|e| e.name.as_str()).collect();
    assert_eq!(env, ["FROM_PATCH", "FROM_CHART"]);
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
    releases
        .patch(
            "pr",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"postRenderers": post_renderers("changed")}})),
        )
        .await
        .unwrap();
    wait_for("the ConfigMap from the changed patch", async || {
        greeting("changed").await
    })
    .await;

    // A patch that cannot apply: not Ready, the message names the post-renderer and the patch,
    // and what was applied stays.
    let mut broken = post_renderers("changed");
    broken[0]["kustomize"]["patches"][1]["patch"] = json!("- op: remove\n  path: /data/missing\n");
    releases
        .patch(
            "pr",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"postRenderers": broken}})),
        )
        .await
        .unwrap();
    wait_for("Ready=False naming the patch", async || {
        let r = releases.get("pr").await.unwrap();
        ready(&r).is_some_and(|(status, message)| {
            status == "False" && message.contains("spec.postRenderers[0].kustomize.patches[1]")
        })
    })
    .await;
    assert!(greeting("changed").await);

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(20), controller).await;
}
