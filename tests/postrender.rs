//! `spec.postRenderers` against the reference: real charts from the corpus rendered by
//! `helm template`, then post-rendered by Signet and by real `kubectl kustomize` (kustomize v5, a
//! kustomization per post-renderer, nested to chain them) given the same patches. The objects must
//! be equal field for field (parsed, not compared as text), and each case also checks the change it
//! is about happened, so an empty transformation cannot pass. Failing patches fail in both.
//!
//! Run: `SIGNET_TOOLS=$PWD/.tools/bin cargo test --test postrender`.

mod support;

use serde_json::{Value, json};
use signet::api::PostRenderer;
use signet::postrender::post_render;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::tools::{corpus_dir, run, run_ok, temp_dir, tool};

/// The tools and the corpus, or `None` after saying which is missing.
struct Reference {
    helm: PathBuf,
    kubectl: PathBuf,
    charts: PathBuf,
}

fn reference() -> Option<Reference> {
    Some(Reference {
        helm: tool("helm")?,
        kubectl: tool("kubectl")?,
        charts: corpus_dir()?.join("charts"),
    })
}

impl Reference {
    /// `helm template` of a corpus chart, hooks left out (the controller applies them apart).
    fn template(&self, chart: &str, release: &str, namespace: &str) -> String {
        run_ok(
            Command::new(&self.helm)
                .args(["template", release])
                .arg(self.charts.join(chart))
                .args(["--namespace", namespace, "--no-hooks"]),
        )
    }

    /// `kubectl kustomize` of `manifests` through one kustomization per post-renderer, each
    /// taking the previous one as its resource. `Err` with kubectl's message when it refuses.
    fn kustomize(&self, manifests: &str, renderers: &[PostRenderer]) -> Result<String, String> {
        let dir = temp_dir();
        let base = dir.path().join("rendered");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("all.yaml"), manifests).unwrap();
        write_kustomization(&base, json!({"resources": ["all.yaml"]}));
        let mut last = base;
        for (i, r) in renderers.iter().enumerate() {
            let next = dir.path().join(format!("post-renderer-{i}"));
            std::fs::create_dir_all(&next).unwrap();
            let mut k = serde_json::to_value(&r.kustomize).unwrap();
            k["resources"] = json!([format!(
                "../{}",
                last.file_name().unwrap().to_string_lossy()
            )]);
            write_kustomization(&next, k);
            last = next;
        }
        let out = run(Command::new(&self.kubectl).arg("kustomize").arg(&last));
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

/// JSON is YAML: the kustomization is written as the API types serialise.
fn write_kustomization(dir: &Path, k: Value) {
    std::fs::write(
        dir.join("kustomization.yaml"),
        serde_json::to_string_pretty(&k).unwrap(),
    )
    .unwrap();
}

fn renderers(v: Value) -> Vec<PostRenderer> {
    let list: Vec<PostRenderer> = serde_json::from_value(v).expect("post-renderers deserialise");
    let errors = signet::api::postrender::validate(&list);
    assert!(
        errors.is_empty(),
        "the test's post-renderers are invalid: {errors:?}"
    );
    list
}

/// `helm template` output as `(template path, document)`, as the renderer hands them on.
fn documents(text: &str) -> Vec<(String, String)> {
    signet::render::render::manifests::split_manifests(text)
        .into_iter()
        .map(|doc| {
            let source = doc
                .lines()
                .find_map(|l| l.strip_prefix("# Source: "))
                .unwrap_or_default()
                .to_owned();
            (source, doc)
        })
        .collect()
}

/// Documents as objects keyed `apiVersion kind namespace/name`, read as the applier reads them.
fn objects<'a>(docs: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for doc in docs {
        let value = signet::render::yaml::parse_yaml(doc).expect("YAML");
        let value: Value =
            serde_json::from_str(&signet::render::yaml::to_json(&value).unwrap()).unwrap();
        if value.is_null() {
            continue;
        }
        let mut value = value;
        drop_null_fields(&mut value);
        let key = format!(
            "{} {} {}/{}",
            value["apiVersion"].as_str().unwrap_or_default(),
            value["kind"].as_str().unwrap_or_default(),
            value["metadata"]["namespace"].as_str().unwrap_or_default(),
            value["metadata"]["name"].as_str().unwrap_or_default(),
        );
        assert!(out.insert(key.clone(), value).is_none(), "duplicate {key}");
    }
    out
}

/// Where `a` and `b` differ, as JSON paths with both values, for failure messages.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let null = Value::Null;
                let (u, v) = (x.get(key).unwrap_or(&null), y.get(key).unwrap_or(&null));
                differences(u, v, &format!("{path}.{key}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                differences(u, v, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: signet {a} / kubectl {b}")),
        _ => {}
    }
}

fn assert_same(chart: &str, key: &str, ours: &Value, theirs: &Value) {
    let mut diff = Vec::new();
    differences(ours, theirs, "", &mut diff);
    assert!(
        diff.is_empty(),
        "{chart}: {key} differs from kubectl kustomize's:\n{}",
        diff.join("\n")
    );
}

/// Removes map fields whose value is null. kustomize drops a field a template left empty
/// (`key:` and nothing) from the objects it patches or labels, and keeps one written `key: null`;
/// both are null once parsed, and the API server takes a null field in an applied object as
/// absent, so the comparison does too.
fn drop_null_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_null_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_fields),
        _ => {}
    }
}

/// Post-renders chart `chart` with Signet and with kubectl; asserts equal objects and returns them.
fn compare(
    r: &Reference,
    chart: &str,
    namespace: &str,
    list: &[PostRenderer],
) -> BTreeMap<String, Value> {
    let text = r.template(chart, chart, namespace);
    let docs = documents(&text);
    let ours =
        post_render(docs.clone(), list, namespace).unwrap_or_else(|e| panic!("{chart}: {e}"));
    let theirs = r
        .kustomize(&text, list)
        .unwrap_or_else(|e| panic!("{chart}: kubectl kustomize refused: {e}"));
    let ours = objects(ours.iter().map(|(_, d)| d.as_str()));
    let theirs = objects(split(&theirs).iter().map(String::as_str));
    let names = |m: &BTreeMap<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs), "{chart}: the objects differ");
    for (key, value) in &ours {
        assert_same(chart, key, value, &theirs[key]);
    }
    let before = objects(docs.iter().map(|(_, d)| d.as_str()));
    assert_ne!(before, ours, "{chart}: the post-renderers changed nothing");
    ours
}

fn split(text: &str) -> Vec<String> {
    signet::render::render::manifests::split_manifests(text)
}

fn find<'a>(objects: &'a BTreeMap<String, Value>, kind: &str) -> &'a Value {
    objects
        .iter()
        .find(|(k, _)| k.split(' ').nth(1) == Some(kind))
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {kind} in {:?}", objects.keys()))
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|items| items.iter().filter_map(|i| i["name"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn strategic_merge_patches_merge_lists_by_key_and_honour_directives() {
    let Some(r) = reference() else { return };
    let list = renderers(json!([{"kustomize": {"patches": [
        {
            "target": {"kind": "Deployment", "labelSelector": "app.kubernetes.io/name=podinfo"},
            "patch": r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ignored-with-a-target
spec:
  strategy: null
  template:
    metadata:
      annotations:
        $patch: replace
        replaced: "true"
    spec:
      containers:
        - name: log-shipper
          image: busybox:1.36
          resources:
            limits: {cpu: null}
            requests: {cpu: 10m}
        - name: podinfo
          env:
            - name: ADDED
              value: "yes"
            - name: PODINFO_UI_COLOR
              value: "#000000"
          volumeMounts:
            - mountPath: /tmp
              name: tmp
          ports:
            - containerPort: 8080
              protocol: TCP
              name: extra
            - containerPort: 9797
              protocol: TCP
              name: metrics
          resources:
            requests: {cpu: null}
      volumes:
        - name: data
          $patch: delete
        - name: tmp
          emptyDir: {}
"##
        },
        {
            "patch": "apiVersion: v1\nkind: Service\nmetadata:\n  name: podinfo\n  namespace: apps\n$patch: delete\n"
        },
        {
            "target": {"kind": "Secret", "name": "no-such-.*"},
            "patch": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData: {a: b}\n"
        }
    ]}}]));
    let out = compare(&r, "podinfo", "apps", &list);
    assert!(
        !out.keys().any(|k| k.contains(" Service ")),
        "the Service is deleted"
    );
    let deploy = find(&out, "Deployment");
    let pod = &deploy["spec"]["template"]["spec"];
    assert_eq!(names(&pod["containers"]), ["log-shipper", "podinfo"]);
    let app = &pod["containers"][1];
    assert_eq!(names(&app["env"]), ["ADDED", "PODINFO_UI_COLOR"]);
    assert_eq!(app["env"][1]["value"], "#000000");
    assert_eq!(app["volumeMounts"][0]["mountPath"], "/tmp");
    // Ports merge on (containerPort, protocol); kustomize puts new ones first there.
    assert_eq!(names(&app["ports"]), ["extra", "http", "metrics", "grpc"]);
    assert_eq!(names(&pod["volumes"]), ["tmp"]);
    assert_eq!(
        deploy["spec"]["template"]["metadata"]["annotations"],
        json!({"replaced": "true"})
    );
    assert!(deploy["spec"].get("strategy").is_none());
}

#[test]
fn json6902_patches_add_replace_and_remove() {
    let Some(r) = reference() else { return };
    let list = renderers(json!([{"kustomize": {"patches": [
        {
            "target": {"group": "apps", "version": "v1", "kind": "Deployment", "name": "graf.*"},
            "patch": r#"
- op: replace
  path: /spec/replicas
  value: 3
- op: add
  path: /spec/template/spec/priorityClassName
  value: business-critical
- op: add
  path: /metadata/labels/patched
  value: "true"
- op: remove
  path: /spec/template/spec/securityContext
- op: add
  path: /spec/template/spec/containers/0/args
  value: ["--verbose"]
"#
        },
        {
            "target": {"kind": "ConfigMap", "namespace": "mon"},
            "patch": "[{\"op\": \"add\", \"path\": \"/data/extra.ini\", \"value\": \"[x]\\n\"}]"
        },
        {
            "target": {"kind": "ConfigMap", "annotationSelector": "no-such-annotation"},
            "patch": "- op: remove\n  path: /data\n"
        }
    ]}}]));
    let out = compare(&r, "grafana", "mon", &list);
    let deploy = find(&out, "Deployment");
    assert_eq!(deploy["spec"]["replicas"], 3);
    assert_eq!(
        deploy["spec"]["template"]["spec"]["priorityClassName"],
        "business-critical"
    );
    assert!(
        deploy["spec"]["template"]["spec"]
            .get("securityContext")
            .is_none()
    );
    assert_eq!(find(&out, "ConfigMap")["data"]["extra.ini"], "[x]\n");
}

#[test]
fn images_get_new_names_tags_and_digests() {
    let Some(r) = reference() else { return };
    let digest = format!("sha256:{}", "ab".repeat(32));
    let list = renderers(json!([{"kustomize": {"images": [
        {"name": "registry.k8s.io/ingress-nginx/controller", "newTag": "v9.9.9"},
        {"name": "registry.k8s.io/ingress-nginx/controller", "newName": "mirror.example.com/ingress/controller"},
        {"name": "no.such/image", "newTag": "1"}
    ]}}]));
    let out = compare(&r, "ingress-nginx", "ing", &list);
    let image = find(&out, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_owned();
    // The chart pins tag and digest; a new tag drops the digest, as kustomize does.
    assert_eq!(image, "mirror.example.com/ingress/controller:v9.9.9");

    let list = renderers(json!([{"kustomize": {"images": [
        {"name": "ghcr.io/stefanprodan/podinfo", "newName": "mirror.example.com/podinfo", "digest": digest},
    ]}}]));
    let out = compare(&r, "podinfo", "apps", &list);
    let pod = &find(&out, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["image"].as_str().unwrap(),
        format!("mirror.example.com/podinfo@{digest}")
    );
}

#[test]
fn labels_and_annotations_reach_every_object_and_the_pod_templates() {
    let Some(r) = reference() else { return };
    let list = renderers(json!([{"kustomize": {
        "labels": [
            {"pairs": {"team": "observability", "app.kubernetes.io/part-of": "monitoring"}, "includeTemplates": true},
            {"pairs": {"cost-center": "c42"}}
        ],
        "commonAnnotations": {"example.com/owner": "observability", "example.com/yes": "yes"}
    }}]));
    let out = compare(&r, "grafana", "mon", &list);
    assert!(out.len() >= 6, "{:?}", out.keys());
    for (key, object) in &out {
        assert_eq!(
            object["metadata"]["labels"]["team"], "observability",
            "{key}"
        );
        assert_eq!(object["metadata"]["labels"]["cost-center"], "c42", "{key}");
        assert_eq!(
            object["metadata"]["annotations"]["example.com/yes"], "yes",
            "{key}: a string that YAML 1.1 reads as a boolean stays a string"
        );
    }
    let template = &find(&out, "Deployment")["spec"]["template"]["metadata"];
    assert_eq!(template["labels"]["team"], "observability");
    assert!(template["labels"].get("cost-center").is_none());
    assert_eq!(
        template["annotations"]["example.com/owner"],
        "observability"
    );
    let selector = &find(&out, "Deployment")["spec"]["selector"]["matchLabels"];
    assert!(
        selector.get("team").is_none(),
        "selectors are never changed"
    );
}

#[test]
fn post_renderers_chain_and_built_in_kinds_merge_by_their_own_keys() {
    let Some(r) = reference() else { return };
    let list = renderers(json!([
        {"kustomize": {"patches": [{
            "patch": r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: ingress-nginx-admission
webhooks:
  - name: validate.nginx.ingress.kubernetes.io
    failurePolicy: Ignore
    timeoutSeconds: 5
"#
        }, {
            "target": {"kind": "Deployment"},
            "patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n        - name: controller\n          env:\n            - name: EXTRA\n              value: one\n"
        }, {
            "target": {"kind": "Service", "name": ".*-controller"},
            "patch": "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - port: 8443\n      protocol: TCP\n      name: alt\n      targetPort: https\n    - port: 80\n      protocol: TCP\n      targetPort: 8080\n"
        }]}},
        {"kustomize": {
            "patches": [{
                "target": {"kind": "Deployment", "labelSelector": "team=edge"},
                "patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n        - name: controller\n          env:\n            - name: SECOND\n              value: two\n"
            }],
            "labels": [{"pairs": {"team": "edge"}}]
        }}
    ]));
    let out = compare(&r, "ingress-nginx", "ing", &list);
    let webhook = &find(&out, "ValidatingWebhookConfiguration")["webhooks"][0];
    assert_eq!(webhook["failurePolicy"], "Ignore");
    assert!(
        webhook.get("rules").is_some(),
        "the webhook merged, not replaced"
    );
    let service = out
        .iter()
        .find(|(k, _)| k.ends_with("/ingress-nginx-controller") && k.contains(" Service "))
        .map(|(_, v)| v)
        .expect("controller Service");
    assert_eq!(names(&service["spec"]["ports"]), ["alt", "http", "https"]);
    assert_eq!(service["spec"]["ports"][1]["targetPort"], 8080);
    // The second post-renderer's patch runs before its labels: it selects nothing.
    let env = &find(&out, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"];
    let env_names = names(env);
    assert!(env_names.contains(&"EXTRA") && !env_names.contains(&"SECOND"));
}

#[test]
fn failing_patches_fail_in_both_and_name_the_post_renderer_and_the_patch() {
    let Some(r) = reference() else { return };
    let text = r.template("podinfo", "podinfo", "apps");
    let docs = documents(&text);
    let cases = [
        (
            "remove of a path that does not exist",
            json!({"target": {"kind": "Deployment"}, "patch": "- op: remove\n  path: /spec/no/such/field\n"}),
            "cannot apply it to Deployment apps/podinfo",
        ),
        (
            "untargeted patch naming an object the chart does not render",
            json!({"patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: not-rendered\nspec:\n  replicas: 2\n"}),
            "no rendered object is apps/v1 Deployment not-rendered",
        ),
        (
            "strategic-merge patch without metadata.name",
            json!({"target": {"kind": "Deployment"}, "patch": "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n"}),
            "needs apiVersion, kind and metadata.name",
        ),
        (
            "patch that is not YAML",
            json!({"target": {"kind": "Deployment"}, "patch": "apiVersion: apps/v1\nkind: [unclosed\n"}),
            "the patch is not YAML",
        ),
        (
            "unknown JSON 6902 operation",
            json!({"target": {"kind": "Deployment"}, "patch": "- op: frobnicate\n  path: /spec\n"}),
            "not a valid JSON 6902 patch",
        ),
    ];
    for (what, patch, expected) in cases {
        let list: Vec<PostRenderer> = serde_json::from_value(json!([
            {"kustomize": {"labels": [{"pairs": {"a": "b"}}]}},
            {"kustomize": {"patches": [patch]}}
        ]))
        .unwrap();
        let err = post_render(docs.clone(), &list, "apps")
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"))
            .to_string();
        assert!(
            err.starts_with("spec.postRenderers[1].kustomize.patches[0] ("),
            "{what}: {err}"
        );
        assert!(err.contains(expected), "{what}: {err}");
        assert!(
            r.kustomize(&text, &list).is_err(),
            "{what}: kubectl kustomize accepts it"
        );
    }
}

#[test]
fn untouched_documents_keep_their_rendered_text() {
    let Some(r) = reference() else { return };
    let text = r.template("grafana", "grafana", "mon");
    let docs = documents(&text);
    let list = renderers(json!([{"kustomize": {"patches": [{
        "target": {"kind": "ConfigMap"},
        "patch": "- op: add\n  path: /metadata/labels/x\n  value: y\n"
    }]}}]));
    let out = post_render(docs.clone(), &list, "mon").unwrap();
    assert_eq!(out.len(), docs.len());
    for ((path, before), (out_path, after)) in docs.iter().zip(&out) {
        assert_eq!(path, out_path);
        let is_config_map = before.contains("\nkind: ConfigMap\n");
        assert_eq!(before == after, !is_config_map, "{path}");
    }
}

/// One set of post-renderers over every chart of the corpus (default values, as the golden files
/// render them): workload patches by a kind regex, a JSON patch on Services, labels with pod
/// templates, annotations. Every chart must come out as kubectl kustomize makes it.
#[test]
fn every_corpus_chart_post_renders_as_kustomize_does() {
    let Some(r) = reference() else { return };
    let list = renderers(json!([{"kustomize": {
        "patches": [
            {
                "target": {"group": "apps", "kind": "Deployment|StatefulSet|DaemonSet"},
                "patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\nspec:\n  template:\n    spec:\n      priorityClassName: sweep\n      tolerations:\n        - key: sweep\n          operator: Exists\n      volumes:\n        - name: sweep\n          emptyDir: {}\n      initContainers:\n        - name: sweep-init\n          image: busybox:1.36\n      securityContext:\n        $patch: delete\n"
            },
            {
                "target": {"version": "v1", "kind": "Service"},
                "patch": "- op: add\n  path: /spec/sessionAffinity\n  value: ClientIP\n"
            }
        ],
        "labels": [{"pairs": {"sweep": "templates"}, "includeTemplates": true}, {"pairs": {"plain": "metadata"}}],
        "commonAnnotations": {"example.com/sweep": "true"}
    }}]));
    let mut charts: Vec<String> = std::fs::read_dir(&r.charts)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Chart.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    charts.sort();
    let mut compared = Vec::new();
    let (mut spent, mut documents_seen) = (std::time::Duration::ZERO, 0);
    for chart in &charts {
        let out = run(Command::new(&r.helm)
            .args(["template", chart])
            .arg(r.charts.join(chart))
            .args([
                "--namespace",
                "signet-test",
                "--kube-version",
                "v1.33.0",
                "--no-hooks",
            ]));
        if !out.status.success() {
            // A chart whose default values helm refuses (the corpus has such cases on purpose).
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let docs = documents(&text);
        let started = std::time::Instant::now();
        let ours = post_render(docs.clone(), &list, "signet-test")
            .unwrap_or_else(|e| panic!("{chart}: {e}"));
        spent += started.elapsed();
        documents_seen += docs.len();
        let theirs = r
            .kustomize(&text, &list)
            .unwrap_or_else(|e| panic!("{chart}: kubectl kustomize refused: {e}"));
        let ours = objects(ours.iter().map(|(_, d)| d.as_str()));
        let theirs = objects(split(&theirs).iter().map(String::as_str));
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{chart}"
        );
        for (key, value) in &ours {
            assert_same(chart, key, value, &theirs[key]);
        }
        compared.push(chart.clone());
    }
    eprintln!(
        "{} of {} charts compared; post-rendering their {documents_seen} documents took {spent:?}",
        compared.len(),
        charts.len()
    );
    assert!(
        compared.len() >= 20,
        "only {} of {} charts rendered: {compared:?}",
        compared.len(),
        charts.len()
    );
}

/// The post-renderers of config/samples/ do to the chart they name (podinfo, from the corpus)
/// what kubectl kustomize does, and each of their patches takes effect.
#[test]
fn the_sample_post_renders_podinfo() {
    let Some(r) = reference() else { return };
    let path = support::tools::workspace_root()
        .join("config/samples/signet_v1alpha1_signedchartrelease_postrender.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let sample = objects([text.as_str()]);
    let release = sample.values().next().expect("the sample release");
    let release_name = release["metadata"]["name"].as_str().unwrap();
    let namespace = release["metadata"]["namespace"].as_str().unwrap();
    let list = renderers(release["spec"]["postRenderers"].clone());

    let rendered = run_ok(
        Command::new(&r.helm)
            .args(["template", release_name])
            .arg(r.charts.join("podinfo"))
            .args(["--namespace", namespace, "--no-hooks"]),
    );
    let ours = post_render(documents(&rendered), &list, namespace).expect("the sample applies");
    let theirs = r.kustomize(&rendered, &list).expect("kubectl accepts it");
    let ours = objects(ours.iter().map(|(_, d)| d.as_str()));
    let theirs = objects(split(&theirs).iter().map(String::as_str));
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (key, value) in &ours {
        assert_same("sample", key, value, &theirs[key]);
    }
    let deploy = find(&ours, "Deployment");
    let pod = &deploy["spec"]["template"]["spec"];
    // The patch lists podinfo first, so it stays first.
    assert_eq!(names(&pod["containers"]), ["podinfo", "log-shipper"]);
    assert_eq!(pod["priorityClassName"], "business-critical");
    assert!(
        pod["containers"][0]["image"]
            .as_str()
            .unwrap()
            .starts_with("registry.example.com/mirror/podinfo:")
    );
    assert!(
        deploy["spec"]["template"]["metadata"]["annotations"]
            .get("prometheus.io/scrape")
            .is_none()
    );
    let service = find(&ours, "Service");
    assert_eq!(
        service["metadata"]["annotations"]["example.com/exposure"],
        "internal"
    );
    assert_eq!(service["metadata"]["labels"]["team"], "storefront");
}

/// Where Signet differs from kustomize on purpose: a patch without a namespace names an object in
/// the release namespace (written there or left without one, as charts often do), where kustomize
/// would look in `default` only.
#[test]
fn untargeted_patches_without_a_namespace_name_objects_in_the_release_namespace() {
    let docs = vec![
        (
            "c/templates/a.yaml".to_string(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: apps\ndata:\n  k: v\n"
                .to_string(),
        ),
        (
            "c/templates/b.yaml".to_string(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  k: v\n".to_string(),
        ),
    ];
    let patch = |name: &str, ns: &str| {
        renderers(json!([{"kustomize": {"patches": [{"patch": format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{ns}data:\n  k: patched\n"
        )}]}}]))
    };
    for (name, ns) in [
        ("a", ""),
        ("b", ""),
        ("a", "  namespace: apps\n"),
        ("b", "  namespace: apps\n"),
    ] {
        let out = post_render(docs.clone(), &patch(name, ns), "apps").unwrap();
        let patched = objects(out.iter().map(|(_, d)| d.as_str()));
        let key = |n: &str| {
            if n == "a" {
                "v1 ConfigMap apps/a"
            } else {
                "v1 ConfigMap /b"
            }
        };
        assert_eq!(patched[key(name)]["data"]["k"], "patched", "{name} {ns:?}");
    }
    let err = post_render(docs.clone(), &patch("a", "  namespace: other\n"), "apps").unwrap_err();
    assert!(
        err.to_string()
            .contains("no rendered object is v1 ConfigMap other/a"),
        "{err}"
    );
}
