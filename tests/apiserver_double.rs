//! The API-server test double behaves like a real API server where it implements something:
//! kube-rs CRUD and errors, server-side apply ownership, dry-run, status subresource,
//! finalizers, watches, CRD discovery, impersonation, fault injection, and real kubectl/helm.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};
use support::apiserver::{ApiServer, Matcher, Rule};

fn init() {
    signet::tls::install_crypto_provider();
}

/// The Status of an API error, or a panic naming what came instead.
fn status(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn cm(name: &str, labels: Value, data: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "data": data}))
        .unwrap()
}

fn deployment(name: &str, replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn crud_errors_and_selectors() {
    init();
    let server = ApiServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let created = cms
        .create(
            &PostParams::default(),
            &cm("one", json!({"app": "a", "tier": "web"}), json!({"k": "v"})),
        )
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    cms.create(
        &PostParams::default(),
        &cm("two", json!({"app": "b"}), json!({})),
    )
    .await
    .unwrap();
    cms.create(&PostParams::default(), &cm("three", json!({}), json!({})))
        .await
        .unwrap();

    let s = status(
        cms.create(&PostParams::default(), &cm("one", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(s.message, "configmaps \"one\" already exists");

    // Update with a stale resourceVersion.
    let mut stale = created.clone();
    let mut fresh = created.clone();
    fresh.data = Some([("k".to_string(), "w".to_string())].into());
    let updated = cms
        .replace("one", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_ne!(
        updated.metadata.resource_version,
        created.metadata.resource_version
    );
    assert_eq!(updated.metadata.generation, Some(2), "data changed");
    stale.data = Some([("k".to_string(), "x".to_string())].into());
    let s = status(
        cms.replace("one", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
    assert!(
        s.message.starts_with(
            "Operation cannot be fulfilled on configmaps \"one\": the object has been modified"
        ),
        "{}",
        s.message
    );

    // Label and field selectors.
    let names = |l: Vec<ConfigMap>| {
        l.into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect::<Vec<_>>()
    };
    let sel = |s: &str| ListParams::default().labels(s);
    assert_eq!(names(cms.list(&sel("app=a")).await.unwrap().items), ["one"]);
    assert_eq!(
        names(cms.list(&sel("app!=a")).await.unwrap().items),
        ["three", "two"]
    );
    assert_eq!(
        names(cms.list(&sel("app in (a,b)")).await.unwrap().items),
        ["one", "two"]
    );
    assert_eq!(
        names(cms.list(&sel("app notin (a)")).await.unwrap().items),
        ["three", "two"]
    );
    assert_eq!(
        names(cms.list(&sel("app")).await.unwrap().items),
        ["one", "two"]
    );
    assert_eq!(
        names(cms.list(&sel("!app")).await.unwrap().items),
        ["three"]
    );
    assert_eq!(
        names(cms.list(&sel("app=a,tier=web")).await.unwrap().items),
        ["one"]
    );
    let by_name = ListParams::default().fields("metadata.name=two");
    assert_eq!(names(cms.list(&by_name).await.unwrap().items), ["two"]);
    let bad = status(
        cms.list(&ListParams::default().fields("data.k=v"))
            .await
            .unwrap_err(),
    );
    assert_eq!(bad.code, 400);

    // Missing namespace, invalid names, wrong kind in the body.
    let elsewhere: Api<ConfigMap> = Api::namespaced(server.client(), "nowhere");
    let s = status(
        elsewhere
            .create(&PostParams::default(), &cm("x", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (s.code, s.reason.as_str(), s.message.as_str()),
        (404, "NotFound", "namespaces \"nowhere\" not found")
    );
    let s = status(
        cms.create(
            &PostParams::default(),
            &cm("Bad_Name", json!({}), json!({})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    assert!(s.message.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{}", s.message);
    let nameless: ConfigMap =
        serde_json::from_value(json!({"metadata": {"generateName": "gen-"}})).unwrap();
    let generated = cms.create(&PostParams::default(), &nameless).await.unwrap();
    let generated_name = generated.metadata.name.unwrap();
    assert!(
        generated_name.starts_with("gen-") && generated_name.len() == 9,
        "{generated_name}"
    );
    let s = status(
        cms.create(&PostParams::default(), &ConfigMap::default())
            .await
            .unwrap_err(),
    );
    assert!(
        s.message
            .contains("metadata.name: Required value: name or generateName is required"),
        "{}",
        s.message
    );

    // Delete: gone, then 404.
    cms.delete("two", &DeleteParams::default()).await.unwrap();
    let s = status(cms.get("two").await.unwrap_err());
    assert_eq!(
        (s.code, s.reason.as_str(), s.message.as_str()),
        (404, "NotFound", "configmaps \"two\" not found")
    );
    let s = status(
        cms.delete("two", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(s.code, 404);

    // Cluster-scoped kinds and unknown kinds.
    let nss: Api<Namespace> = Api::all(server.client());
    let all: Vec<String> = names_of(nss.list(&ListParams::default()).await.unwrap().items);
    assert!(all.contains(&"default".to_string()) && all.contains(&"kube-system".to_string()));
    let unknown = kube::api::ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Nope"),
        "nopes",
    );
    let nopes: Api<DynamicObject> = Api::namespaced_with(server.client(), "default", &unknown);
    assert_eq!(
        status(nopes.list(&ListParams::default()).await.unwrap_err()).code,
        404
    );
}

fn names_of<K: kube::Resource>(items: Vec<K>) -> Vec<String> {
    items
        .into_iter()
        .map(|i| i.meta().name.clone().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn patches_merge_json_and_strategic() {
    init();
    let server = ApiServer::start().await;
    let deploys: Api<Deployment> = Api::namespaced(server.client(), "default");
    let d: Deployment = serde_json::from_value(deployment("web", 1, "nginx:1")).unwrap();
    deploys.create(&PostParams::default(), &d).await.unwrap();
    let pp = PatchParams::default();
    let merged = deploys
        .patch("web", &pp, &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .unwrap();
    assert_eq!(merged.spec.replicas, Some(3));
    assert_eq!(merged.metadata.generation, Some(2));
    let ops = json!([{"op": "test", "path": "/spec/replicas", "value": 3}, {"op": "replace", "path": "/spec/replicas", "value": 4}]);
    let path = "/apis/apps/v1/namespaces/default/deployments/web";
    let patched: Deployment = raw_json_patch(&server, path, &ops).await.unwrap();
    assert_eq!(patched.spec.replicas, Some(4));
    let failing = json!([{"op": "test", "path": "/spec/replicas", "value": 3}]);
    assert_eq!(
        status(
            raw_json_patch::<Deployment>(&server, path, &failing)
                .await
                .unwrap_err()
        )
        .code,
        422
    );
    // Strategic merge adds a container by name instead of replacing the list.
    let smp = json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox"}]}}}});
    let patched = deploys
        .patch("web", &pp, &Patch::Strategic(smp))
        .await
        .unwrap();
    let containers = patched.spec.template.spec.unwrap().containers;
    assert_eq!(
        containers
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["app", "sidecar"]
    );
    // A merge patch replaces the list.
    let mp = json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "busybox"}]}}}});
    let patched = deploys.patch("web", &pp, &Patch::Merge(mp)).await.unwrap();
    assert_eq!(patched.spec.template.spec.unwrap().containers.len(), 1);
    let s = status(
        deploys
            .patch("absent", &pp, &Patch::Merge(json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (s.code, s.message.as_str()),
        (404, "deployments.apps \"absent\" not found")
    );
}

/// A JSON patch (RFC 6902) through the kube client (kube's own Patch::Json needs the json-patch
/// crate, which this package does not depend on).
async fn raw_json_patch<K: serde::de::DeserializeOwned>(
    server: &ApiServer,
    path: &str,
    ops: &Value,
) -> Result<K, kube::Error> {
    let request = axum::http::Request::patch(path)
        .header("content-type", "application/json-patch+json")
        .body(ops.to_string().into_bytes())
        .unwrap();
    server.client().request(request).await
}

fn managers(obj: &Deployment) -> Vec<(String, String)> {
    obj.metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn fields_of(obj: &Deployment, manager: &str) -> Value {
    let entry = obj
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .find(|m| m.manager.as_deref() == Some(manager))
        .unwrap();
    entry.fields_v1.as_ref().unwrap().0.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn server_side_apply_ownership_conflicts_force_and_removal() {
    init();
    let server = ApiServer::start().await;
    let deploys: Api<Deployment> = Api::namespaced(server.client(), "default");
    let mut config = deployment("web", 2, "nginx:1");
    config["metadata"]["labels"]["extra"] = json!("yes");
    let a = PatchParams::apply("alpha");
    let created = deploys
        .patch("web", &a, &Patch::Apply(&config))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(
        managers(&created),
        [("alpha".to_string(), "Apply".to_string())]
    );
    let fields = fields_of(&created, "alpha");
    assert_eq!(fields["f:spec"]["f:replicas"], json!({}));
    assert_eq!(
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"],
        json!({".": {}, "f:image": {}, "f:name": {}})
    );
    assert!(fields.get("f:status").is_none() && fields["f:metadata"].get("f:name").is_none());

    // Another manager setting a field alpha owns to another value conflicts.
    let other = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}});
    let s = status(
        deploys
            .patch("web", &PatchParams::apply("beta"), &Patch::Apply(&other))
            .await
            .unwrap_err(),
    );
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        s.message,
        "Apply failed with 1 conflict: conflict with \"alpha\" using apps/v1: .spec.replicas"
    );
    let cause = &s.details.unwrap().causes[0];
    assert_eq!(
        (cause.reason.as_str(), cause.field.as_str()),
        ("FieldManagerConflict", ".spec.replicas")
    );

    // The same value is shared ownership, not a conflict.
    let same = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}});
    deploys
        .patch("web", &PatchParams::apply("beta"), &Patch::Apply(&same))
        .await
        .unwrap();

    // force moves ownership to beta.
    let forced = deploys
        .patch(
            "web",
            &PatchParams::apply("beta").force(),
            &Patch::Apply(&other),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.replicas, Some(5));
    assert!(
        fields_of(&forced, "alpha")["f:spec"]
            .get("f:replicas")
            .is_none(),
        "alpha lost replicas"
    );
    assert_eq!(
        fields_of(&forced, "beta")["f:spec"]["f:replicas"],
        json!({})
    );

    // alpha stops sending the label and replicas: the label goes, replicas stay (beta owns them).
    let mut config2 = deployment("web", 2, "nginx:2");
    config2["spec"].as_object_mut().unwrap().remove("replicas");
    let after = deploys
        .patch("web", &a, &Patch::Apply(&config2))
        .await
        .unwrap();
    let labels = after.metadata.labels.clone().unwrap();
    assert!(!labels.contains_key("extra"), "{labels:?}");
    assert_eq!(after.spec.replicas, Some(5));
    let image = after.spec.template.spec.as_ref().unwrap().containers[0]
        .image
        .clone();
    assert_eq!(image.as_deref(), Some("nginx:2"));

    // A client-side update takes ownership of what it changed as an Update manager.
    let mp = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:3"}]}}}});
    let updated = deploys
        .patch(
            "web",
            &PatchParams {
                field_manager: Some("kubectl-edit".into()),
                ..Default::default()
            },
            &Patch::Strategic(mp),
        )
        .await
        .unwrap();
    assert!(managers(&updated).contains(&("kubectl-edit".to_string(), "Update".to_string())));
    let s = status(
        deploys
            .patch("web", &a, &Patch::Apply(&config2))
            .await
            .unwrap_err(),
    );
    assert!(
        s.message.contains("conflict with \"kubectl-edit\""),
        "{}",
        s.message
    );
    assert!(
        s.message
            .ends_with(".spec.template.spec.containers[name=\"app\"].image"),
        "{}",
        s.message
    );

    // fieldManager is required.
    let s = status(
        deploys
            .patch("web", &PatchParams::default(), &Patch::Apply(&config2))
            .await
            .unwrap_err(),
    );
    assert_eq!(s.code, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn noop_apply_is_not_a_write() {
    init();
    let server = ApiServer::start().await;
    let deploys: Api<Deployment> = Api::namespaced(server.client(), "default");
    let config = deployment("web", 1, "nginx:1");
    let pp = PatchParams::apply("signet").force();
    let first = deploys
        .patch("web", &pp, &Patch::Apply(&config))
        .await
        .unwrap();
    let rv = server.resource_version();
    let second = deploys
        .patch("web", &pp, &Patch::Apply(&config))
        .await
        .unwrap();
    assert_eq!(
        first.metadata.resource_version,
        second.metadata.resource_version
    );
    assert_eq!(server.resource_version(), rv, "nothing was written");
    let stats = server.stats();
    assert_eq!(stats.requests("patch", "deployments"), 2);
    assert_eq!(stats.writes("deployments"), 1);
    // A real change is a write and bumps the generation.
    let third = deploys
        .patch("web", &pp, &Patch::Apply(deployment("web", 2, "nginx:1")))
        .await
        .unwrap();
    assert_eq!(third.metadata.generation, Some(2));
    assert_eq!(server.stats().writes("deployments"), 2);
    // A label change is a write but leaves the generation alone.
    let mut labelled = deployment("web", 2, "nginx:1");
    labelled["metadata"]["labels"]["new"] = json!("x");
    let fourth = deploys
        .patch("web", &pp, &Patch::Apply(&labelled))
        .await
        .unwrap();
    assert_eq!(fourth.metadata.generation, Some(2));
    assert_eq!(server.stats().writes("deployments"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_stores_nothing_but_validates_and_admits() {
    init();
    let server = ApiServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let rv = server.resource_version();
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let answer = cms
        .create(&dry, &cm("dry", json!({}), json!({"a": "b"})))
        .await
        .unwrap();
    assert_eq!(answer.data.unwrap()["a"], "b");
    assert!(
        server
            .get("v1", "ConfigMap", Some("default"), "dry")
            .is_none()
    );
    let apply_dry = PatchParams::apply("signet").dry_run();
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry2"}, "data": {"x": "y"}});
    cms.patch("dry2", &apply_dry, &Patch::Apply(&cfg))
        .await
        .unwrap();
    assert!(
        server
            .get("v1", "ConfigMap", Some("default"), "dry2")
            .is_none()
    );
    assert_eq!(server.resource_version(), rv);
    assert_eq!(server.stats().total_writes(), 0);
    // Validation and admission still answer under dry-run.
    let s = status(
        cms.create(&dry, &cm("Bad!", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(s.code, 422);
    server.reject(
        Matcher::new("*", "configmaps").object(|o| o["data"]["forbidden"].is_string()),
        "no forbidden keys",
    );
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry3"}, "data": {"forbidden": "1"}});
    let s = status(
        cms.patch("dry3", &apply_dry, &Patch::Apply(&cfg))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (s.code, s.message.as_str()),
        (
            400,
            "admission webhook \"double.test\" denied the request: no forbidden keys"
        )
    );
    // Delete under dry-run leaves the object.
    cms.create(&PostParams::default(), &cm("kept", json!({}), json!({})))
        .await
        .unwrap();
    cms.delete(
        "kept",
        &DeleteParams {
            dry_run: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        server
            .get("v1", "ConfigMap", Some("default"), "kept")
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_subresource_separates_status_from_the_rest() {
    init();
    let server = ApiServer::start().await;
    let deploys: Api<Deployment> = Api::namespaced(server.client(), "default");
    let mut with_status = deployment("web", 1, "nginx:1");
    with_status["status"] = json!({"replicas": 9});
    let created = deploys
        .patch("web", &PatchParams::apply("a"), &Patch::Apply(&with_status))
        .await
        .unwrap();
    assert!(created.status.is_none(), "the main endpoint ignores status");
    let patched = deploys
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"readyReplicas": 1}, "spec": {"replicas": 7}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.status.as_ref().unwrap().ready_replicas, Some(1));
    assert_eq!(patched.spec.replicas, Some(1), "/status ignores spec");
    assert_eq!(patched.metadata.generation, Some(1));
    let status_entry = patched
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .find(|m| m.subresource.as_deref() == Some("status"));
    assert!(
        status_entry.is_some(),
        "status writes are recorded with subresource status"
    );
    // Direct status (a simulated controller) and a status read.
    server.set_status(
        "apps/v1",
        "Deployment",
        Some("default"),
        "web",
        json!({"availableReplicas": 1}),
    );
    let got = deploys.get_status("web").await.unwrap();
    assert_eq!(got.status.unwrap().available_replicas, Some(1));
    // A main-endpoint write keeps the status.
    let replaced = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": null, "spec": {"replicas": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(replaced.status.unwrap().available_replicas, Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn finalizers_hold_deletion_until_removed() {
    init();
    let server = ApiServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let held: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "held", "finalizers": ["signet.dev/cleanup"]}}),
    )
    .unwrap();
    cms.create(&PostParams::default(), &held).await.unwrap();
    let answer = cms
        .delete("held", &DeleteParams::background())
        .await
        .unwrap();
    let deleting = answer
        .left()
        .expect("a held object is returned, not a Status");
    assert!(deleting.metadata.deletion_timestamp.is_some());
    assert_eq!(deleting.metadata.generation, Some(2));
    let add = json!([{"op": "add", "path": "/metadata/finalizers/-", "value": "new"}]);
    let s = status(
        raw_json_patch::<ConfigMap>(&server, "/api/v1/namespaces/default/configmaps/held", &add)
            .await
            .unwrap_err(),
    );
    assert_eq!(s.code, 422);
    assert!(
        s.message
            .contains("no new finalizers can be added if the object is being deleted"),
        "{}",
        s.message
    );
    assert!(cms.get("held").await.is_ok());
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert_eq!(status(cms.get("held").await.unwrap_err()).code, 404);
    // Without finalizers, delete answers a Success Status.
    cms.create(&PostParams::default(), &cm("plain", json!({}), json!({})))
        .await
        .unwrap();
    let gone = cms.delete("plain", &DeleteParams::default()).await.unwrap();
    assert_eq!(
        gone.right().expect("a Status").status,
        Some(kube::core::response::StatusSummary::Success)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kube_runtime_watcher_sees_create_modify_delete() {
    init();
    let server = ApiServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    cms.create(
        &PostParams::default(),
        &cm("before", json!({"w": "1"}), json!({})),
    )
    .await
    .unwrap();
    let config = kube::runtime::watcher::Config::default().labels("w=1");
    let mut stream = kube::runtime::watcher(cms.clone(), config).boxed();
    let mut seen = vec![];
    let cms2 = cms.clone();
    // Written once the watcher has listed (the stream is lazy), so the initial list is known.
    let writes = async move {
        cms2.create(
            &PostParams::default(),
            &cm("new", json!({"w": "1"}), json!({})),
        )
        .await
        .unwrap();
        cms2.create(
            &PostParams::default(),
            &cm("unwatched", json!({}), json!({})),
        )
        .await
        .unwrap();
        cms2.patch(
            "new",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"a": "b"}})),
        )
        .await
        .unwrap();
        cms2.delete("new", &DeleteParams::default()).await.unwrap();
    };
    let mut writes = Some(writes);
    let mut writer = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.len() < 6 {
        if seen.len() == 3
            && let Some(w) = writes.take()
        {
            writer = Some(tokio::spawn(w));
        }
        let ev = tokio::time::timeout_at(deadline, stream.try_next())
            .await
            .expect("watch events in time")
            .unwrap()
            .unwrap();
        let label = match ev {
            kube::runtime::watcher::Event::Init => "init".to_string(),
            kube::runtime::watcher::Event::InitApply(o) => {
                format!("initapply {}", o.metadata.name.unwrap())
            }
            kube::runtime::watcher::Event::InitDone => "initdone".to_string(),
            kube::runtime::watcher::Event::Apply(o) => {
                format!(
                    "apply {} {}",
                    o.metadata.name.unwrap(),
                    o.data.map(|d| d.len()).unwrap_or(0)
                )
            }
            kube::runtime::watcher::Event::Delete(o) => {
                format!("delete {}", o.metadata.name.unwrap())
            }
        };
        seen.push(label);
    }
    writer.expect("writes started").await.unwrap();
    assert_eq!(
        seen,
        [
            "init",
            "initapply before",
            "initdone",
            "apply new 0",
            "apply new 1",
            "delete new"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_history_selectors_bookmarks_and_expiry() {
    init();
    let server = ApiServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let start = server.resource_version().to_string();
    cms.create(
        &PostParams::default(),
        &cm("a", json!({"sel": "yes"}), json!({})),
    )
    .await
    .unwrap();
    // Leaving the selector is seen as DELETED.
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"sel": "no"}}})),
    )
    .await
    .unwrap();
    let wp = WatchParams {
        bookmarks: false,
        ..WatchParams::default()
    }
    .labels("sel=yes")
    .timeout(2);
    let events: Vec<WatchEvent<ConfigMap>> = cms
        .watch(&wp, &start)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => "BOOKMARK",
            WatchEvent::Error(_) => "ERROR",
        })
        .collect();
    assert_eq!(kinds, ["ADDED", "DELETED"]);
    // Bookmarks when asked for.
    let wp = WatchParams::default().timeout(3);
    let events: Vec<WatchEvent<ConfigMap>> = cms
        .watch(&wp, &server.resource_version().to_string())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| matches!(e, WatchEvent::Bookmark(_))),
        "{events:?}"
    );
    // A compacted history answers 410 Expired.
    server.compact();
    let events: Vec<WatchEvent<ConfigMap>> = cms
        .watch(&WatchParams::default().timeout(1), &start)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    match &events[..] {
        [WatchEvent::Error(e)] => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected one 410 ERROR event, got {other:?}"),
    }
}

fn crd(delay_name: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{delay_name}.example.com")},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": delay_name, "singular": "widget", "listKind": "WidgetList"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": {
                    "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"],
                              "items": {"type": "object", "properties": {"id": {"type": "string"}, "v": {"type": "string"}}}},
                }}}}},
            }],
        },
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn crd_registers_kind_in_discovery_once_established() {
    init();
    let server = ApiServer::start().await;
    server.set_crd_establish_delay(Duration::from_secs(2));
    let client = server.client();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    crds.create(
        &PostParams::default(),
        &serde_json::from_value(crd("widgets")).unwrap(),
    )
    .await
    .unwrap();
    assert!(
        kube::discovery::pinned_kind(&client, &gvk).await.is_err(),
        "not served before Established"
    );
    let established = kube::runtime::wait::await_condition(
        crds.clone(),
        "widgets.example.com",
        kube::runtime::wait::conditions::is_crd_established(),
    );
    tokio::time::timeout(Duration::from_secs(10), established)
        .await
        .expect("established in time")
        .unwrap();
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    let (resource, caps) = discovery
        .resolve_gvk(&gvk)
        .expect("the new kind is discovered");
    assert_eq!(resource.plural, "widgets");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(
        caps.subresources
            .iter()
            .any(|(r, _)| r.plural == "widgets/status" || r.plural == "status"),
        "{:?}",
        caps.subresources
    );

    // The schema's list-map keys drive server-side apply merging.
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource);
    let w1 = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"items": [{"id": "a", "v": "1"}]}});
    let w2 = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"items": [{"id": "b", "v": "2"}]}});
    widgets
        .patch("w", &PatchParams::apply("one"), &Patch::Apply(&w1))
        .await
        .unwrap();
    let both = widgets
        .patch("w", &PatchParams::apply("two"), &Patch::Apply(&w2))
        .await
        .unwrap();
    assert_eq!(
        both.data["spec"]["items"].as_array().unwrap().len(),
        2,
        "items merged by id: {}",
        both.data
    );
    assert!(
        server
            .get("example.com/v1", "Widget", Some("default"), "w")
            .is_some()
    );

    // Deleting the CRD removes the kind and its objects.
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    assert!(kube::discovery::pinned_kind(&client, &gvk).await.is_err());
    assert_eq!(status(widgets.get("w").await.unwrap_err()).code, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn impersonated_users_get_real_forbidden_messages() {
    init();
    let server = ApiServer::start().await;
    let sa = "system:serviceaccount:team:deployer";
    let as_sa: Api<Deployment> = Api::namespaced(server.client_as(sa, &[]), "default");
    let s = status(as_sa.get("web").await.unwrap_err());
    assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        s.message,
        "deployments.apps \"web\" is forbidden: User \"system:serviceaccount:team:deployer\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"default\""
    );
    let cms: Api<ConfigMap> = Api::namespaced(server.client_as(sa, &[]), "default");
    let s = status(cms.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(
        s.message,
        "configmaps is forbidden: User \"system:serviceaccount:team:deployer\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );
    let nss: Api<Namespace> = Api::all(server.client_as(sa, &[]));
    let s = status(nss.get("default").await.unwrap_err());
    assert!(
        s.message
            .ends_with("cannot get resource \"namespaces\" in API group \"\" at the cluster scope"),
        "{}",
        s.message
    );
    // Rules grant by user, group (service accounts get theirs), verb, resource and namespace.
    server.authorizer().allow(
        Rule::user(sa, &["get", "list"], &[""], &["configmaps"]).in_namespaces(&["default"]),
    );
    cms.list(&ListParams::default()).await.unwrap();
    let other_ns: Api<ConfigMap> = Api::namespaced(server.client_as(sa, &[]), "kube-system");
    assert_eq!(
        status(other_ns.list(&ListParams::default()).await.unwrap_err()).code,
        403
    );
    server.authorizer().allow(Rule::group(
        "system:serviceaccounts:team",
        &["*"],
        &["apps"],
        &["deployments"],
    ));
    assert_eq!(
        status(as_sa.get("web").await.unwrap_err()).code,
        404,
        "now allowed, and absent"
    );
    // The admin is never refused.
    Api::<Deployment>::namespaced(server.client(), "kube-system")
        .list(&ListParams::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn fault_injection_fails_the_next_matching_requests() {
    init();
    let server = ApiServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    cms.create(&PostParams::default(), &cm("x", json!({}), json!({})))
        .await
        .unwrap();
    server.fail_next(Matcher::new("get", "configmaps").name("x"), 500, 2);
    for _ in 0..2 {
        let s = status(cms.get("x").await.unwrap_err());
        assert_eq!((s.code, s.reason.as_str()), (500, "InternalError"));
    }
    cms.get("x").await.unwrap();
    server.fail_next(Matcher::new("patch", "configmaps"), 409, 1);
    let s = status(
        cms.patch("x", &PatchParams::default(), &Patch::Merge(json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
    assert!(
        s.message.starts_with(
            "Operation cannot be fulfilled on configmaps \"x\": the object has been modified"
        ),
        "{}",
        s.message
    );
    // kube retries 429 after Retry-After: the second request succeeds.
    server.fail_next(Matcher::new("list", "configmaps"), 429, 1);
    let before = server.stats().requests("list", "configmaps");
    cms.list(&ListParams::default()).await.unwrap();
    assert_eq!(server.stats().requests("list", "configmaps"), before + 2);
    // The raw answer carries Retry-After and a Status body.
    server.fail_next(Matcher::new("get", "configmaps"), 503, 1);
    let url = format!("{}/api/v1/namespaces/default/configmaps/x", server.url());
    let raw = tokio::task::spawn_blocking(move || curl(&url))
        .await
        .unwrap();
    if let Some((head, body)) = raw {
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 1"),
            "{head}"
        );
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (v["kind"].as_str(), v["code"].as_i64(), v["reason"].as_str()),
            (Some("Status"), Some(503), Some("ServiceUnavailable"))
        );
    }
}

/// Headers and body of a GET with curl, if curl is installed.
fn curl(url: &str) -> Option<(String, String)> {
    let out = Command::new("curl").args(["-s", "-i", url]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n")?;
    Some((head.to_string(), body.to_string()))
}

/// A tool for an interop test: `None` (skip, one line printed) when missing, except under
/// `CI=true`, where a missing tool fails the test.
fn interop_tool(name: &str) -> Option<PathBuf> {
    let found = support::tools::tool(name);
    if found.is_none() && std::env::var("CI").as_deref() == Ok("true") {
        panic!("{name} is required under CI=true");
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_get_apply_server_side_and_delete() {
    init();
    let Some(kubectl) = interop_tool("kubectl") else {
        return;
    };
    let server = ApiServer::start().await;
    let dir = support::tools::temp_dir();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig_yaml()).unwrap();
    let manifest = dir.path().join("cm.yaml");
    std::fs::write(&manifest, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-kubectl\n  namespace: default\ndata:\n  a: \"1\"\n").unwrap();
    let cache = dir.path().join("cache");
    let kubectl = move |args: &[&str]| {
        let mut cmd = Command::new(&kubectl);
        cmd.arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(&cache)
            .args(args);
        support::tools::run(&mut cmd)
    };
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "stdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let m = manifest.to_str().unwrap().to_string();
    let run = |args: Vec<String>| {
        let kubectl = kubectl.clone();
        tokio::task::spawn_blocking(move || {
            kubectl(&args.iter().map(String::as_str).collect::<Vec<_>>())
        })
    };
    let out = ok(run(vec![
        "apply".into(),
        "--server-side".into(),
        "-f".into(),
        m.clone(),
    ])
    .await
    .unwrap());
    assert!(
        out.contains("configmap/from-kubectl serverside-applied"),
        "{out}"
    );
    let stored = server
        .get("v1", "ConfigMap", Some("default"), "from-kubectl")
        .unwrap();
    assert_eq!(stored["data"]["a"], "1");
    assert_eq!(stored["metadata"]["managedFields"][0]["manager"], "kubectl");
    assert_eq!(stored["metadata"]["managedFields"][0]["operation"], "Apply");
    let out = ok(run(vec![
        "get".into(),
        "configmaps".into(),
        "-n".into(),
        "default".into(),
        "-o".into(),
        "json".into(),
    ])
    .await
    .unwrap());
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["items"][0]["metadata"]["name"], "from-kubectl");
    let out = ok(run(vec!["get".into(), "cm".into(), "from-kubectl".into()])
        .await
        .unwrap());
    assert!(out.contains("from-kubectl"), "{out}");
    let out = ok(run(vec![
        "delete".into(),
        "configmap".into(),
        "from-kubectl".into(),
    ])
    .await
    .unwrap());
    assert!(out.contains("configmap \"from-kubectl\" deleted"), "{out}");
    assert!(
        server
            .get("v1", "ConfigMap", Some("default"), "from-kubectl")
            .is_none()
    );
    let out = run(vec![
        "get".into(),
        "configmap".into(),
        "from-kubectl".into(),
    ])
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("configmaps \"from-kubectl\" not found"));

    // Typed kubectl writes come in protobuf.
    let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    ok(run(argv("create namespace team")).await.unwrap());
    let team = server.get("v1", "Namespace", None, "team").unwrap();
    assert_eq!(team["status"]["phase"], "Active");

    // A client-side apply, then a server-side apply changing its field: kubectl shows the conflict.
    ok(run(vec!["apply".into(), "-f".into(), m.clone()])
        .await
        .unwrap());
    std::fs::write(&manifest, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-kubectl\n  namespace: default\ndata:\n  a: \"2\"\n").unwrap();
    let out = run(vec![
        "apply".into(),
        "--server-side".into(),
        "-f".into(),
        m.clone(),
    ])
    .await
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: .data.a"),
        "{stderr}"
    );
    ok(run(vec![
        "apply".into(),
        "--server-side".into(),
        "--force-conflicts".into(),
        "-f".into(),
        m,
    ])
    .await
    .unwrap());
    let stored = server
        .get("v1", "ConfigMap", Some("default"), "from-kubectl")
        .unwrap();
    assert_eq!(stored["data"]["a"], "2");
}

/// A Helm release Secret as Helm's storage driver writes it.
fn helm_release_secret(name: &str, ns: &str, version: i32, status: &str, manifest: &str) -> Value {
    use base64::Engine as _;
    use std::io::Write as _;
    let release = json!({
        "name": name,
        "namespace": ns,
        "version": version,
        "info": {
            "first_deployed": "2026-01-01T00:00:00Z",
            "last_deployed": "2026-01-01T00:00:00Z",
            "deleted": "",
            "description": "Install complete",
            "status": status,
        },
        "chart": {"metadata": {"apiVersion": "v2", "name": "demo-chart", "version": "0.1.0", "appVersion": "1.0.0"}},
        "config": {},
        "manifest": manifest,
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(release.to_string().as_bytes()).unwrap();
    let helm_encoded = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": format!("sh.helm.release.v1.{name}.v{version}"),
            "namespace": ns,
            "labels": {"name": name, "owner": "helm", "status": status, "version": version.to_string()},
        },
        "data": {"release": base64::engine::general_purpose::STANDARD.encode(helm_encoded)},
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn helm_lists_and_reads_release_secrets() {
    init();
    let Some(helm) = interop_tool("helm") else {
        return;
    };
    let server = ApiServer::start().await;
    server.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}));
    let manifest = "---\n# Source: demo-chart/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n";
    server.put(helm_release_secret(
        "demo",
        "apps",
        1,
        "superseded",
        manifest,
    ));
    server.put(helm_release_secret("demo", "apps", 2, "deployed", manifest));
    let dir = support::tools::temp_dir();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig_yaml()).unwrap();
    let helm_run = move |args: &'static [&'static str]| {
        let helm = helm.clone();
        let kubeconfig = kubeconfig.clone();
        let home = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut cmd = Command::new(helm);
            cmd.args(args)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .env("HOME", &home)
                .env("HELM_CACHE_HOME", home.join("cache"))
                .env("HELM_CONFIG_HOME", home.join("config"))
                .env("HELM_DATA_HOME", home.join("data"));
            support::tools::run_ok(&mut cmd)
        })
    };
    let out = helm_run(&["list", "-n", "apps", "-o", "json"])
        .await
        .unwrap();
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["name"], "demo", "{out}");
    assert_eq!(list[0]["revision"], "2");
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart"], "demo-chart-0.1.0");
    let out = helm_run(&["history", "demo", "-n", "apps", "-o", "json"])
        .await
        .unwrap();
    let history: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2, "{out}");
    let out = helm_run(&["get", "manifest", "demo", "-n", "apps"])
        .await
        .unwrap();
    assert!(out.contains("name: demo"), "{out}");
    assert!(server.stats().requests("list", "secrets") >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn recorder_events_leases_and_secrets() {
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::Secret;
    use kube::Resource as _;
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    init();
    let server = ApiServer::start().await;
    let client = server.client();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let obj = cms
        .create(&PostParams::default(), &cm("subject", json!({}), json!({})))
        .await
        .unwrap();
    let reporter = Reporter {
        controller: "signet".into(),
        instance: Some("pod-1".into()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let ev = Event {
        type_: EventType::Normal,
        reason: "Reconciled".into(),
        note: Some("applied 3 objects".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    recorder.publish(&ev, &obj.object_ref(&())).await.unwrap();
    recorder.publish(&ev, &obj.object_ref(&())).await.unwrap();
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(client.clone(), "default");
    let list = events.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(list.len(), 1, "the repeat is a series on the same Event");
    assert_eq!(list[0].reason.as_deref(), Some("Reconciled"));
    assert_eq!(list[0].series.as_ref().map(|s| s.count), Some(2));

    // Leases: optimistic concurrency like leader election uses.
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": "signet-leader"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}})).unwrap();
    let held = leases.create(&PostParams::default(), &lease).await.unwrap();
    let mut taken = held.clone();
    taken.spec.as_mut().unwrap().holder_identity = Some("b".into());
    leases
        .replace("signet-leader", &PostParams::default(), &taken)
        .await
        .unwrap();
    let mut late = held.clone();
    late.spec.as_mut().unwrap().holder_identity = Some("c".into());
    assert_eq!(
        status(
            leases
                .replace("signet-leader", &PostParams::default(), &late)
                .await
                .unwrap_err()
        )
        .code,
        409
    );

    // Secrets: stringData is folded into data; data must be base64.
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let s: Secret = serde_json::from_value(
        json!({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}),
    )
    .unwrap();
    let stored = secrets.create(&PostParams::default(), &s).await.unwrap();
    assert!(stored.string_data.is_none());
    assert_eq!(stored.data.unwrap()["password"].0, b"hunter2");
    let bad = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bad"}, "data": {"k": "not base64!"}});
    let s = status(
        secrets
            .patch("bad", &PatchParams::apply("t"), &Patch::Apply(&bad))
            .await
            .unwrap_err(),
    );
    assert_eq!(s.code, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_namespace_deletes_its_objects() {
    init();
    let server = ApiServer::start().await;
    let client = server.client();
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap(),
    )
    .await
    .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    cms.create(&PostParams::default(), &cm("plain", json!({}), json!({})))
        .await
        .unwrap();
    let held: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "held", "finalizers": ["x/y"]}}))
            .unwrap();
    cms.create(&PostParams::default(), &held).await.unwrap();
    nss.delete("team", &DeleteParams::default()).await.unwrap();
    let ns = nss.get("team").await.unwrap();
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Terminating"));
    assert_eq!(status(cms.get("plain").await.unwrap_err()).code, 404);
    assert!(
        cms.get("held")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );
    let s = status(
        cms.create(&PostParams::default(), &cm("late", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(s.code, 403);
    assert!(
        s.message.contains("because it is being terminated"),
        "{}",
        s.message
    );
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": []}})),
    )
    .await
    .unwrap();
    assert_eq!(
        status(nss.get("team").await.unwrap_err()).code,
        404,
        "the namespace goes with its last object"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_project_crd_serves_signed_chart_releases_with_status() {
    use signet::api::SignedChartRelease;
    init();
    let server = ApiServer::start().await;
    let client = server.client();
    let root = support::tools::workspace_root();
    let crd_yaml =
        std::fs::read_to_string(root.join("crds/signet.dev_signedchartreleases.yaml")).unwrap();
    let crd: Value = serde_saphyr::from_str(&crd_yaml).unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd["metadata"]["name"].as_str().unwrap().to_string();
    crds.patch(
        &name,
        &PatchParams::apply("signet").force(),
        &Patch::Apply(&crd),
    )
    .await
    .unwrap();
    server.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "podinfo"}}));
    let sample_yaml = std::fs::read_to_string(
        root.join("config/samples/signet_v1alpha1_signedchartrelease_key.yaml"),
    )
    .unwrap();
    let sample: Value = serde_saphyr::from_str(&sample_yaml).unwrap();
    let releases: Api<SignedChartRelease> = Api::namespaced(client.clone(), "podinfo");
    let applied = releases
        .patch(
            "podinfo",
            &PatchParams::apply("kubectl").force(),
            &Patch::Apply(&sample),
        )
        .await
        .unwrap();
    assert_eq!(applied.metadata.generation, Some(1));
    // A controller's status apply, without metadata, as kube-rs examples write it.
    let condition = |status: &str, reason: &str| json!({"type": "Ready", "status": status, "reason": reason, "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1});
    let status_patch = json!({"apiVersion": "signet.dev/v1alpha1", "kind": "SignedChartRelease", "status": {"observedGeneration": 1, "conditions": [condition("False", "Progressing")]}});
    let pp = PatchParams::apply("signet-controller").force();
    releases
        .patch_status("podinfo", &pp, &Patch::Apply(&status_patch))
        .await
        .unwrap();
    let other = json!({"apiVersion": "signet.dev/v1alpha1", "kind": "SignedChartRelease", "status": {"conditions": [{"type": "Stalled", "status": "False", "reason": "R", "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
    releases
        .patch_status(
            "podinfo",
            &PatchParams::apply("other").force(),
            &Patch::Apply(&other),
        )
        .await
        .unwrap();
    let status_patch = json!({"apiVersion": "signet.dev/v1alpha1", "kind": "SignedChartRelease", "status": {"observedGeneration": 1, "conditions": [condition("True", "Succeeded")]}});
    let done = releases
        .patch_status("podinfo", &pp, &Patch::Apply(&status_patch))
        .await
        .unwrap();
    let raw = server
        .get(
            "signet.dev/v1alpha1",
            "SignedChartRelease",
            Some("podinfo"),
            "podinfo",
        )
        .unwrap();
    let types: Vec<&str> = raw["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["Ready", "Stalled"],
        "conditions are a list-map keyed by type"
    );
    assert_eq!(raw["status"]["conditions"][0]["status"], "True");
    assert_eq!(
        done.metadata.generation,
        Some(1),
        "status writes leave the generation"
    );
    assert_eq!(raw["spec"], sample["spec"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_only_requests_get_partial_object_metadata() {
    init();
    let server = ApiServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    cms.create(
        &PostParams::default(),
        &cm(
            "m",
            json!({"signet.dev/watch": "true"}),
            json!({"big": "data"}),
        ),
    )
    .await
    .unwrap();
    let meta = cms.get_metadata("m").await.unwrap();
    assert_eq!(meta.metadata.labels.unwrap()["signet.dev/watch"], "true");
    let list = cms
        .list_metadata(&ListParams::default().labels("signet.dev/watch=true"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    let metas: Api<kube::api::PartialObjectMeta<ConfigMap>> =
        Api::namespaced(server.client(), "default");
    let mut stream =
        kube::runtime::watcher(metas, kube::runtime::watcher::Config::default()).boxed();
    let mut names = vec![];
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match ev {
            kube::runtime::watcher::Event::InitApply(m) => names.push(m.metadata.name.unwrap()),
            kube::runtime::watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(names, ["m"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_and_immutable_fields() {
    init();
    let server = ApiServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for i in 0..5 {
        cms.create(
            &PostParams::default(),
            &cm(&format!("cm-{i}"), json!({}), json!({})),
        )
        .await
        .unwrap();
    }
    let first = cms.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(names_of(first.items), ["cm-0", "cm-1"]);
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    let token = first.metadata.continue_.unwrap();
    let second = cms
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(names_of(second.items), ["cm-2", "cm-3"]);
    let last = cms
        .list(
            &ListParams::default()
                .limit(2)
                .continue_token(&second.metadata.continue_.unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(names_of(last.items), ["cm-4"]);
    assert!(last.metadata.continue_.is_none());

    let deploys: Api<Deployment> = Api::namespaced(server.client(), "default");
    let pp = PatchParams::apply("t");
    deploys
        .patch("web", &pp, &Patch::Apply(deployment("web", 1, "nginx")))
        .await
        .unwrap();
    let mut moved = deployment("web", 1, "nginx");
    moved["spec"]["selector"]["matchLabels"]["app"] = json!("other");
    let s = status(
        deploys
            .patch("web", &pp, &Patch::Apply(&moved))
            .await
            .unwrap_err(),
    );
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    assert!(
        s.message
            .starts_with("Deployment.apps \"web\" is invalid: spec.selector: Invalid value: "),
        "{}",
        s.message
    );
    assert!(s.message.ends_with("field is immutable"), "{}", s.message);
    let frozen: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "frozen"}, "immutable": true, "data": {"a": "1"}}),
    )
    .unwrap();
    cms.create(&PostParams::default(), &frozen).await.unwrap();
    let s = status(
        cms.patch(
            "frozen",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"a": "2"}})),
        )
        .await
        .unwrap_err(),
    );
    assert!(
        s.message
            .contains("data: Forbidden: field is immutable when `immutable` is set"),
        "{}",
        s.message
    );
    // kube refuses force on non-apply patches itself; the server does too.
    let path = "/api/v1/namespaces/default/configmaps/frozen?force=true";
    let s = status(
        raw_json_patch::<ConfigMap>(&server, path, &json!([]))
            .await
            .unwrap_err(),
    );
    assert_eq!(s.code, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn kube_runtime_finalizer_helper_adds_and_removes_its_finalizer() {
    use kube::runtime::controller::Action;
    use kube::runtime::finalizer::{Event as Finalizing, finalizer};
    use std::sync::Arc;
    init();
    let server = ApiServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    cms.create(&PostParams::default(), &cm("f", json!({}), json!({})))
        .await
        .unwrap();
    let step = |seen: &'static str| {
        let cms = cms.clone();
        async move {
            let obj = Arc::new(cms.get("f").await.unwrap());
            finalizer(&cms, "signet.dev/cleanup", obj, |ev| async move {
                let what = match ev {
                    Finalizing::Apply(_) => "apply",
                    Finalizing::Cleanup(_) => "cleanup",
                };
                assert_eq!(what, seen);
                Ok::<_, std::convert::Infallible>(Action::await_change())
            })
            .await
            .unwrap()
        }
    };
    step("none: the first call only adds the finalizer").await;
    let finalizers = cms.get("f").await.unwrap().metadata.finalizers.unwrap();
    assert_eq!(finalizers, ["signet.dev/cleanup"]);
    step("apply").await;
    cms.delete("f", &DeleteParams::default()).await.unwrap();
    step("cleanup").await;
    assert_eq!(status(cms.get("f").await.unwrap_err()).code, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn helm_install_upgrade_and_uninstall_write_through_the_double() {
    init();
    let Some(helm) = interop_tool("helm") else {
        return;
    };
    let server = ApiServer::start().await;
    let dir = support::tools::temp_dir();
    let chart = dir.path().join("tiny");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  x: {{ .Values.x | default \"1\" | quote }}\n",
    )
    .unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig_yaml()).unwrap();
    let home = dir.path().to_path_buf();
    let helm_run = move |args: Vec<String>| {
        let (helm, kubeconfig, home) = (helm.clone(), kubeconfig.clone(), home.clone());
        tokio::task::spawn_blocking(move || {
            let mut cmd = Command::new(helm);
            cmd.args(&args)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .env("HOME", &home);
            support::tools::run_ok(&mut cmd)
        })
    };
    let chart_dir = chart.to_str().unwrap().to_string();
    let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    helm_run(args(&format!("install demo {chart_dir} -n default")))
        .await
        .unwrap();
    helm_run(args(&format!(
        "upgrade demo {chart_dir} -n default --set x=2"
    )))
    .await
    .unwrap();
    let cm = server
        .get("v1", "ConfigMap", Some("default"), "demo-cm")
        .unwrap();
    assert_eq!(cm["data"]["x"], "2");
    assert_eq!(
        cm["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    // Helm's release storage writes Secrets in protobuf; the double decodes them.
    let v1 = server
        .get(
            "v1",
            "Secret",
            Some("default"),
            "sh.helm.release.v1.demo.v1",
        )
        .unwrap();
    assert_eq!(v1["type"], "helm.sh/release.v1");
    assert_eq!(v1["metadata"]["labels"]["status"], "superseded");
    assert_eq!(v1["metadata"]["labels"]["owner"], "helm");
    let out = helm_run(args("history demo -n default -o json"))
        .await
        .unwrap();
    let history: Value = serde_json::from_str(&out).unwrap();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "deployed"]);
    helm_run(args("uninstall demo -n default")).await.unwrap();
    assert!(
        server
            .get("v1", "ConfigMap", Some("default"), "demo-cm")
            .is_none()
    );
    assert!(server.list("v1", "Secret", Some("default")).is_empty());
}
