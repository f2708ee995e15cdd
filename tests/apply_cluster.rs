//! `signet::apply` against the API-server test double: prepare + dry-run + apply with ownership
//! marks, idempotent re-apply, refusals that apply nothing, CRDs before their custom resources,
//! Forbidden under impersonation, retryable faults, prune and uninstall under the ownership rules,
//! kstatus health waits, and live `lookup`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use signet::api::{CrdPolicy, DeletionPolicy, HealthCheckReference, InventoryEntry};
use signet::apply::{
    Applier, ApplyError, ClusterLookup, DesiredObject, HealthError, Kinds, OWNER_ANNOTATION,
    PruneReport, ReleaseOwner,
};
use signet::render::render::Lookup;
use support::apiserver::{ApiServer, Matcher, Rule};
use tokio::time::Instant;

fn owner() -> ReleaseOwner {
    ReleaseOwner {
        release_name: "web".into(),
        release_namespace: "apps".into(),
        owner_namespace: "signet".into(),
        owner_name: "web-release".into(),
    }
}

async fn setup() -> (ApiServer, Applier) {
    signet::tls::install_crypto_provider();
    let server = ApiServer::start().await;
    server.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}));
    let client = server.client();
    let applier = Applier::new(client.clone(), Arc::new(Kinds::new(client)));
    (server, applier)
}

fn doc(path: &str, yaml: &str) -> (String, String) {
    (path.to_owned(), yaml.to_owned())
}

/// [`chart_docs`] prepared for [`owner`].
async fn prepare_chart(applier: &Applier, greeting: &str) -> Vec<DesiredObject> {
    applier
        .prepare(&chart_docs(greeting), &owner())
        .await
        .unwrap()
}

/// The ConfigMap `name` in the release namespace, if there is one.
fn config_map(server: &ApiServer, name: &str) -> Option<Value> {
    server.get("v1", "ConfigMap", Some("apps"), name)
}

/// The chart's ClusterRole `web-reader`, if there is one.
fn cluster_role(server: &ApiServer) -> Option<Value> {
    server.get(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        None,
        "web-reader",
    )
}

/// The chart's Deployment `web`, if there is one.
fn web_deployment(server: &ApiServer) -> Option<Value> {
    server.get("apps/v1", "Deployment", Some("apps"), "web")
}

/// Uninstalls [`owner`]'s `inventory` with `policy`, giving up after `within`.
async fn uninstall(
    applier: &Applier,
    inventory: &[InventoryEntry],
    policy: DeletionPolicy,
    within: Duration,
) -> Result<PruneReport, ApplyError> {
    applier
        .uninstall(inventory, &owner(), policy, Instant::now() + within)
        .await
}

fn chart_docs(greeting: &str) -> Vec<(String, String)> {
    vec![
        doc(
            "web/templates/configmap.yaml",
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  labels:\n    app: web\ndata:\n  greeting: {greeting}\n"
            ),
        ),
        doc(
            "web/templates/clusterrole.yaml",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: web-reader\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get]\n",
        ),
        doc(
            "web/templates/service.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n",
        ),
        doc(
            "web/templates/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 0\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n",
        ),
    ]
}

fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["manager"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_marked_objects_and_reapply_is_a_noop() {
    let (server, applier) = setup().await;
    let objects = prepare_chart(&applier, "hello").await;
    assert_eq!(objects.len(), 4);

    let dry = applier.dry_run(&objects).await.unwrap();
    assert_eq!(dry.accepted, 4);
    assert!(dry.skipped.is_empty());
    assert!(
        config_map(&server, "web-config").is_none(),
        "the dry-run wrote nothing"
    );

    let report = applier.apply(&objects).await.unwrap();
    assert_eq!(report.changed, 4);
    assert_eq!(
        report.inventory[1],
        InventoryEntry {
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: "ClusterRole".into(),
            namespace: None,
            name: "web-reader".into(),
        }
    );
    let cm =
        config_map(&server, "web-config").expect("configmap applied into the release namespace");
    assert_eq!(cm["data"]["greeting"], "hello");
    assert_eq!(cm["metadata"]["labels"]["app"], "web");
    assert_eq!(
        cm["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    let ann = &cm["metadata"]["annotations"];
    assert_eq!(ann["meta.helm.sh/release-name"], "web");
    assert_eq!(ann["meta.helm.sh/release-namespace"], "apps");
    assert_eq!(ann[OWNER_ANNOTATION], "signet/web-release");
    assert_eq!(managers(&cm), ["signet"]);
    assert!(cluster_role(&server).is_some());

    // The same objects again: nothing changes, not even a resourceVersion; the cost is one GET and
    // one apply per object.
    let before = server.stats();
    let again = applier.apply(&objects).await.unwrap();
    assert_eq!(again.changed, 0);
    let after = server.stats();
    assert_eq!(after.total_writes(), before.total_writes());
    assert_eq!(
        after.total_requests() - before.total_requests(),
        2 * objects.len()
    );
    assert_eq!(
        after.requests("patch", "configmaps") - before.requests("patch", "configmaps"),
        1
    );

    // One value changed: one object changed.
    let changed = prepare_chart(&applier, "bye").await;
    let report = applier.apply(&changed).await.unwrap();
    assert_eq!(report.changed, 1);
    let cm = config_map(&server, "web-config").unwrap();
    assert_eq!(cm["data"]["greeting"], "bye");
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_is_corrected_by_reapplying() {
    let (server, applier) = setup().await;
    let objects = prepare_chart(&applier, "hello").await;
    applier.apply(&objects).await.unwrap();
    let mut cm = config_map(&server, "web-config").unwrap();
    cm["data"]["greeting"] = json!("edited by hand");
    server.put(cm);
    let report = applier.apply(&objects).await.unwrap();
    assert_eq!(report.changed, 1);
    let cm = config_map(&server, "web-config").unwrap();
    assert_eq!(cm["data"]["greeting"], "hello");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_refusal_names_the_object_and_applies_nothing() {
    let (server, applier) = setup().await;
    server.reject(
        Matcher::new("patch", "deployments").name("web"),
        "images must be pinned by digest",
    );
    let objects = prepare_chart(&applier, "hello").await;
    let err = applier.dry_run(&objects).await.unwrap_err();
    assert!(
        matches!(err, ApplyError::Rejected { dry_run: true, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("Deployment apps/web (web/templates/deployment.yaml)"),
        "{msg}"
    );
    assert!(msg.contains("images must be pinned by digest"), "{msg}");
    assert!(!err.is_transient());
    assert_eq!(err.reason(), "ApplyFailed");
    assert_eq!(server.stats().total_writes(), 0);
    assert!(config_map(&server, "web-config").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_documents_and_unknown_kinds_name_the_template() {
    let (_server, applier) = setup().await;
    let docs = vec![doc(
        "web/templates/widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
    )];
    let err = applier.prepare(&docs, &owner()).await.unwrap_err();
    assert!(matches!(err, ApplyError::UnknownKind { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("Widget") && msg.contains("web/templates/widget.yaml"),
        "{msg}"
    );

    let docs = vec![
        doc("web/templates/empty.yaml", "# nothing here\n"),
        doc(
            "web/templates/nameless.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
        ),
    ];
    let err = applier.prepare(&docs, &owner()).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("web/templates/nameless.yaml") && msg.contains("metadata.name"),
        "{msg}"
    );
}

fn widget_crd() -> (String, String) {
    doc(
        "web/crds/widgets.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names:\n    kind: Widget\n    plural: widgets\n    singular: widget\n    listKind: WidgetList\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n",
    )
}

/// The CRD of [`widget_crd`] as the server has it.
fn widget_crd_object(server: &ApiServer) -> Option<Value> {
    server.get(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        "widgets.example.com",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn crds_are_established_before_their_custom_resources() {
    let (server, applier) = setup().await;
    server.set_crd_establish_delay(Duration::from_millis(400));
    let crds = applier.prepare(&[widget_crd()], &owner()).await.unwrap();
    let docs = vec![
        doc(
            "web/templates/widget.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n",
        ),
        chart_docs("x").remove(0),
    ];
    let objects = applier
        .prepare_with_crds(&docs, &owner(), &crds)
        .await
        .unwrap();
    assert!(objects[0].pending_kind);
    assert_eq!(objects[0].entry().namespace.as_deref(), Some("apps"));

    // The custom resource cannot be dry-run yet; it is reported as skipped, not failed.
    let dry = applier.dry_run(&objects).await.unwrap();
    assert_eq!(dry.accepted, 1);
    assert_eq!(dry.skipped.len(), 1);
    assert_eq!(dry.skipped[0].0.name, "w");

    let deadline = Instant::now() + Duration::from_secs(10);
    let installed = applier
        .apply_crds(&crds, CrdPolicy::Create, deadline)
        .await
        .unwrap();
    assert_eq!(installed.len(), 1);
    let crd = widget_crd_object(&server).unwrap();
    let established = crd["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "Established" && c["status"] == "True");
    assert!(established, "apply_crds returned before Established: {crd}");

    let report = applier.apply(&objects).await.unwrap();
    assert_eq!(report.changed, 2);
    let w = server
        .get("example.com/v1", "Widget", Some("apps"), "w")
        .unwrap();
    assert_eq!(w["spec"]["size"], 3);
    assert!(
        applier
            .kinds()
            .api_versions()
            .await
            .unwrap()
            .contains(&"example.com/v1/Widget".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn crd_policy_create_never_touches_an_existing_crd() {
    let (server, applier) = setup().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let crds = applier.prepare(&[widget_crd()], &owner()).await.unwrap();
    applier
        .apply_crds(&crds, CrdPolicy::Create, deadline)
        .await
        .unwrap();

    // Someone edits the CRD; Create leaves it, CreateReplace applies the chart's definition.
    let mut crd = widget_crd_object(&server).unwrap();
    crd["spec"]["names"]["shortNames"] = json!(["wd"]);
    crd["metadata"]["annotations"]["edited"] = json!("yes");
    server.put(crd);
    let writes = server.stats().total_writes();
    applier
        .apply_crds(&crds, CrdPolicy::Create, deadline)
        .await
        .unwrap();
    assert_eq!(
        server.stats().total_writes(),
        writes,
        "Create wrote to an existing CRD"
    );
    applier
        .apply_crds(&crds, CrdPolicy::Skip, deadline)
        .await
        .unwrap();
    assert_eq!(server.stats().total_writes(), writes, "Skip wrote");

    applier
        .apply_crds(&crds, CrdPolicy::CreateReplace, deadline)
        .await
        .unwrap();
    let crd = widget_crd_object(&server).unwrap();
    assert_eq!(
        crd["metadata"]["annotations"][OWNER_ANNOTATION],
        "signet/web-release"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_under_impersonation_names_verb_and_object() {
    let (server, _) = setup().await;
    let user = "system:serviceaccount:apps:deployer";
    let auth = server.authorizer();
    auth.allow(Rule::user(
        user,
        &["get", "list", "patch"],
        &[""],
        &["configmaps"],
    ));
    auth.allow(Rule::user(
        user,
        &["get", "list"],
        &["apps"],
        &["deployments"],
    ));
    let client = server.client_as(user, &[]);
    // Discovery through the admin client: the service account may not read discovery in every
    // cluster, and the controller shares one discovery cache.
    let kinds = Arc::new(Kinds::new(server.client()));
    let applier = Applier::new(client, kinds);
    let docs = chart_docs("hello");
    let objects = applier
        .prepare(&[docs[0].clone(), docs[3].clone()], &owner())
        .await
        .unwrap();
    let err = applier.apply(&objects).await.unwrap_err();
    assert!(matches!(err, ApplyError::Forbidden { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("cannot apply Deployment apps/web"), "{msg}");
    assert!(
        msg.contains(user),
        "the API server's message names the user: {msg}"
    );
    assert!(!err.is_transient());
    // The ConfigMap before it was allowed.
    assert!(config_map(&server, "web-config").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn conflicts_throttling_and_server_errors_are_transient() {
    let (server, _) = setup().await;
    // kube's client retries 429/503/504 itself, with backoff growing to minutes over 15 attempts;
    // without that layer each fault reaches us at once.
    let mut config = server.kube_config();
    config.default_retry = false;
    let client = kube::Client::try_from(config).unwrap();
    let applier = Applier::new(client.clone(), Arc::new(Kinds::new(client)));
    let objects = prepare_chart(&applier, "hello").await;
    for (code, times) in [(409, 1), (500, 1), (429, 100), (503, 100)] {
        server.fail_next(Matcher::new("patch", "configmaps"), code, times);
        let err = applier.apply(&objects).await.unwrap_err();
        assert!(err.is_transient(), "{code}: {err:?}");
        assert!(
            matches!(err, ApplyError::Transient { code: c, .. } if c == code),
            "{err:?}"
        );
        server.clear_policies();
    }
    // Once the faults are gone the next attempt succeeds.
    applier.apply(&objects).await.unwrap();
}

fn entry(api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> InventoryEntry {
    InventoryEntry {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: ns.map(Into::into),
        name: name.into(),
    }
}

fn configmaps(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| {
            doc(
                &format!("web/templates/{n}.yaml"),
                &format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\ndata:\n  k: v\n"
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_deletes_only_what_is_still_ours() {
    let (server, applier) = setup().await;
    let all = applier
        .prepare(
            &configmaps(&["keep", "taken", "pinned", "adopted", "stale"]),
            &owner(),
        )
        .await
        .unwrap();
    let previous = applier.apply(&all).await.unwrap().inventory;

    // taken: another manager took every field over (managedFields no longer name signet).
    let mut o = config_map(&server, "taken").unwrap();
    o["metadata"]["managedFields"] =
        json!([{"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1"}]);
    server.put(o);
    // pinned: helm.sh/resource-policy: keep.
    let mut o = config_map(&server, "pinned").unwrap();
    o["metadata"]["annotations"]["helm.sh/resource-policy"] = json!("keep");
    server.put(o);
    // adopted: another release's mark.
    let mut o = config_map(&server, "adopted").unwrap();
    o["metadata"]["annotations"][OWNER_ANNOTATION] = json!("signet/other");
    server.put(o);

    let mut previous = previous;
    previous.push(entry("v1", "ConfigMap", Some("apps"), "already-gone"));
    previous.push(entry(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        "widgets.example.com",
    ));
    let current = applier
        .prepare(&configmaps(&["keep"]), &owner())
        .await
        .unwrap();
    let current = applier.apply(&current).await.unwrap().inventory;
    let report = applier.prune(&previous, &current, &owner()).await.unwrap();

    let deleted: Vec<_> = report.deleted.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(deleted, ["stale", "already-gone"]);
    let why = |name: &str| {
        report
            .skipped
            .iter()
            .find(|(e, _)| e.name == name)
            .map(|(_, w)| w.clone())
            .unwrap_or_else(|| panic!("{name} not skipped: {report:?}"))
    };
    assert!(why("taken").contains("taken over"));
    assert!(why("pinned").contains("keep"));
    assert!(why("adopted").contains("signet/other"));
    assert!(why("widgets.example.com").contains("never deleted"));
    for name in ["keep", "taken", "pinned", "adopted"] {
        assert!(config_map(&server, name).is_some(), "{name} deleted");
    }
    assert!(config_map(&server, "stale").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn uninstall_delete_waits_for_finalizers_and_orphan_removes_marks() {
    let (server, applier) = setup().await;
    let objects = prepare_chart(&applier, "hello").await;
    let inventory = applier.apply(&objects).await.unwrap().inventory;

    // Orphan: objects stay, our mark goes, Helm's marks and the chart's own labels stay (the
    // release goes back to Helm).
    let report = uninstall(
        &applier,
        &inventory,
        DeletionPolicy::Orphan,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(report.deleted.len(), 4);
    let cm = config_map(&server, "web-config").unwrap();
    assert_eq!(cm["metadata"]["labels"]["app"], "web");
    assert_eq!(
        cm["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm",
        "{cm}"
    );
    let ann = cm["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(!ann.contains_key(OWNER_ANNOTATION), "{cm}");
    assert_eq!(ann["meta.helm.sh/release-name"], "web", "{cm}");
    assert_eq!(
        cm["data"]["greeting"], "hello",
        "orphaning changed the object"
    );
    // Orphaned objects are no longer ours: a second uninstall deletes nothing.
    let again = uninstall(
        &applier,
        &inventory,
        DeletionPolicy::Delete,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(again.deleted.is_empty(), "{again:?}");
    assert_eq!(again.skipped.len(), 4);

    // Delete: re-apply, hold one object with a finalizer, and the wait names it.
    let inventory = applier.apply(&objects).await.unwrap().inventory;
    let mut cm = config_map(&server, "web-config").unwrap();
    cm["metadata"]["finalizers"] = json!(["example.com/hold"]);
    server.put(cm);
    let err = uninstall(
        &applier,
        &inventory,
        DeletionPolicy::Delete,
        Duration::from_millis(800),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ApplyError::Timeout { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("ConfigMap apps/web-config") && msg.contains("example.com/hold"),
        "{msg}"
    );
    assert!(err.is_transient());
    assert!(web_deployment(&server).is_none());

    // The finalizer goes; the next uninstall finishes.
    let mut cm = config_map(&server, "web-config").unwrap();
    cm["metadata"]["finalizers"] = json!([]);
    server.put(cm);
    uninstall(
        &applier,
        &inventory,
        DeletionPolicy::Delete,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    for e in &inventory {
        assert!(
            server
                .get(&e.api_version, &e.kind, e.namespace.as_deref(), &e.name)
                .is_none(),
            "{e:?} still there"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_waits_for_a_rollout() {
    let (server, applier) = setup().await;
    let docs = chart_docs("hello");
    let mut deployment = docs[3].clone();
    deployment.1 = deployment.1.replace("replicas: 0", "replicas: 2");
    let objects = applier.prepare(&[deployment], &owner()).await.unwrap();
    let inventory = applier.apply(&objects).await.unwrap().inventory;

    // Nothing reports a status: not ready at the deadline, naming the object and why.
    let err = applier
        .wait_healthy(
            &inventory,
            &[],
            "apps",
            Instant::now() + Duration::from_millis(600),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, HealthError::NotReady { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("Deployment apps/web is not ready"),
        "{err}"
    );
    assert_eq!(err.reason(), "HealthCheckFailed");

    // A "controller" rolls it out while we wait.
    let generation = web_deployment(&server).unwrap()["metadata"]["generation"]
        .as_i64()
        .unwrap();
    let waiting = {
        let applier = applier.clone();
        let inventory = inventory.clone();
        tokio::spawn(async move {
            applier
                .wait_healthy(
                    &inventory,
                    &[],
                    "apps",
                    Instant::now() + Duration::from_secs(10),
                )
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.set_status(
        "apps/v1",
        "Deployment",
        Some("apps"),
        "web",
        json!({"observedGeneration": generation, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "ready with 1 of 2 available");
    server.set_status(
        "apps/v1",
        "Deployment",
        Some("apps"),
        "web",
        json!({"observedGeneration": generation, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
    );
    waiting.await.unwrap().unwrap();

    // An extra check on an object that does not exist (yet) is waited for, in the default
    // namespace, and a failed Job fails at once rather than at the deadline.
    let extra = [HealthCheckReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: "migrate".into(),
        namespace: None,
    }];
    let err = applier
        .wait_healthy(
            &inventory,
            &extra,
            "apps",
            Instant::now() + Duration::from_millis(500),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Job apps/migrate is not ready: not found"),
        "{err}"
    );
    server.put(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "apps"},
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}
    }));
    let started = std::time::Instant::now();
    let err = applier
        .wait_healthy(
            &inventory,
            &extra,
            "apps",
            Instant::now() + Duration::from_secs(30),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, HealthError::Failed { .. }), "{err:?}");
    assert!(err.to_string().contains("BackoffLimitExceeded"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A cluster-scoped extra check ignores the default namespace.
    let missing = [HealthCheckReference {
        api_version: "rbac.authorization.k8s.io/v1".into(),
        kind: "ClusterRole".into(),
        name: "nope".into(),
        namespace: None,
    }];
    let err = applier
        .wait_healthy(
            &[],
            &missing,
            "apps",
            Instant::now() + Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "ClusterRole nope is not ready: not found");
}

#[tokio::test(flavor = "multi_thread")]
async fn lookup_reads_live_objects_like_helm() {
    let (server, applier) = setup().await;
    let objects = applier
        .prepare(&configmaps(&["one", "two"]), &owner())
        .await
        .unwrap();
    applier.apply(&objects).await.unwrap();
    let kinds = Arc::new(Kinds::new(server.client()));
    let lookup = ClusterLookup::new(
        server.client(),
        kinds.clone(),
        tokio::runtime::Handle::current(),
    );

    // The renderer calls lookup from a blocking thread.
    let as_json =
        |api_version: &'static str, kind: &'static str, ns: &'static str, name: &'static str| {
            let lookup = lookup.clone();
            tokio::task::spawn_blocking(move || {
                lookup
                    .lookup(api_version, kind, ns, name)
                    .map(|v| signet::render::yaml::to_json(&v).unwrap())
            })
        };
    let one: Value = serde_json::from_str(
        &as_json("v1", "ConfigMap", "apps", "one")
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(one["data"]["k"], "v");
    assert_eq!(one["kind"], "ConfigMap");
    let missing = as_json("v1", "ConfigMap", "apps", "nope")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(missing, "{}");
    let list: Value = serde_json::from_str(
        &as_json("v1", "ConfigMap", "apps", "")
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let names: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        names.contains(&"one".into()) && names.contains(&"two".into()),
        "{list}"
    );
    // Across namespaces when the namespace is empty.
    let all: Value =
        serde_json::from_str(&as_json("v1", "Namespace", "", "").await.unwrap().unwrap()).unwrap();
    assert!(all["items"].as_array().unwrap().len() >= 2, "{all}");

    // Forbidden under impersonation is an error, not an empty map.
    let denied = ClusterLookup::new(
        server.client_as("system:serviceaccount:apps:nobody", &[]),
        kinds,
        tokio::runtime::Handle::current(),
    );
    let err =
        tokio::task::spawn_blocking(move || denied.lookup("v1", "Secret", "apps", "x").map(|_| ()))
            .await
            .unwrap()
            .unwrap_err();
    assert!(err.contains("forbidden"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_feeds_capabilities() {
    let (server, _) = setup().await;
    let kinds = Kinds::new(server.client());
    let versions = kinds.api_versions().await.unwrap();
    for want in [
        "v1",
        "v1/ConfigMap",
        "apps/v1",
        "apps/v1/Deployment",
        "batch/v1/Job",
    ] {
        assert!(
            versions.contains(&want.to_owned()),
            "{want} missing from {versions:?}"
        );
    }
    assert!(
        !versions.iter().any(|v| v.contains("/status")),
        "subresources listed"
    );
    let version = kinds.server_version().await.unwrap();
    assert!(version.starts_with('v'), "{version}");
    let deployment = kinds.resolve("apps/v1", "Deployment").await.unwrap();
    assert_eq!(deployment.resource.plural, "deployments");
    assert!(deployment.namespaced);
    let err = kinds.resolve("example.com/v1", "Widget").await.unwrap_err();
    assert!(matches!(err, ApplyError::UnknownKind { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_in_a_namespace_the_release_creates_are_skipped_by_the_dry_run() {
    let (server, applier) = setup().await;
    let docs = vec![
        doc(
            "web/templates/namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n",
        ),
        doc(
            "web/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: team\n",
        ),
        doc(
            "web/templates/other.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: elsewhere\n",
        ),
    ];
    let objects = applier.prepare(&docs, &owner()).await.unwrap();
    // A namespace nobody creates is a refusal.
    let err = applier.dry_run(&objects).await.unwrap_err();
    assert!(err.to_string().contains("ConfigMap elsewhere/c"), "{err}");

    let dry = applier.dry_run(&objects[..2]).await.unwrap();
    assert_eq!(dry.accepted, 1);
    assert_eq!(dry.skipped.len(), 1, "{dry:?}");
    assert!(dry.skipped[0].1.contains("Namespace team"), "{dry:?}");
    applier.apply(&objects[..2]).await.unwrap();
    assert!(server.get("v1", "ConfigMap", Some("team"), "c").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn uninstall_goes_in_helms_uninstall_order() {
    let (server, applier) = setup().await;
    // Install order: ConfigMap, ClusterRole, Service, Deployment. Helm uninstalls Service,
    // Deployment, ClusterRole, ConfigMap: a failure deleting the Deployment leaves exactly the
    // Service deleted.
    let objects = prepare_chart(&applier, "hello").await;
    let inventory = applier.apply(&objects).await.unwrap().inventory;
    server.fail_next(Matcher::new("delete", "deployments"), 500, 1);
    let err = uninstall(
        &applier,
        &inventory,
        DeletionPolicy::Delete,
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot delete Deployment apps/web"),
        "{err}"
    );
    assert!(server.get("v1", "Service", Some("apps"), "web").is_none());
    assert!(web_deployment(&server).is_some());
    assert!(cluster_role(&server).is_some());
    assert!(config_map(&server, "web-config").is_some());
}
