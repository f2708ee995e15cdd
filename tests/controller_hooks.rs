//! Helm hooks under the controller, end to end in process: the API server double with its workload
//! runner (Jobs and Pods finish as their `test.signet.dev/outcome` annotation asks), a real
//! `docker-registry`, signed charts, and real `helm` reading the recorded hooks.
//!
//! Run: `SIGNET_TOOLS=$PWD/.tools/bin cargo test --test controller_hooks`.

#[path = "controller_hooks/env.rs"]
mod env;
mod support;

use env::{Env, NS, condition};
use kube::api::DeleteParams;
use serde_json::Value;
use support::apiserver::KindSpec;

const CONFIG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting | quote }}\n";

/// A Job hook; `extra` adds annotation lines (indented 4).
fn job(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{{{ .Release.Name }}}}-{name}\n  annotations:\n{annotations}spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: run\n        image: busybox:1.36\n        command: [\"true\"]\n"
    )
}

fn config_hook(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ .Release.Name }}}}-{name}\n  annotations:\n{annotations}data:\n  revision: {{{{ .Release.Revision | quote }}}}\n"
    )
}

fn pod(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{{{ .Release.Name }}}}-{name}\n  annotations:\n{annotations}spec:\n  restartPolicy: Never\n  containers:\n  - name: run\n    image: busybox:1.36\n    command: [\"true\"]\n"
    )
}

/// Every kind of hook the controller runs, with weights and each delete policy.
fn hooks_chart() -> String {
    [
        job(
            "migrate",
            "    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"-5\"\n    helm.sh/hook-delete-policy: hook-succeeded\n",
        ),
        config_hook("pre-config", "    helm.sh/hook: pre-install,pre-upgrade\n"),
        // Same weight and kind as pre-config, later in the file: the name orders them.
        config_hook(
            "a-config",
            "    helm.sh/hook: pre-install\n    helm.sh/hook-delete-policy: hook-succeeded\n",
        ),
        job(
            "pre-job",
            "    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-delete-policy: hook-failed\n",
        ),
        pod(
            "pre-pod",
            "    helm.sh/hook: pre-install\n    helm.sh/hook-weight: \"5\"\n",
        ),
        job(
            "post",
            "    helm.sh/hook: post-install,post-upgrade\n    helm.sh/hook-delete-policy: hook-succeeded,before-hook-creation\n",
        ),
        config_hook("pre-delete", "    helm.sh/hook: pre-delete\n"),
        config_hook("post-delete", "    helm.sh/hook: post-delete\n"),
        pod("test", "    helm.sh/hook: test\n"),
    ]
    .join("---\n")
}

/// The hooks of a decoded record, by object name.
fn hook<'a>(record: &'a Value, name: &str) -> &'a Value {
    record["hooks"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["name"] == name))
        .unwrap_or_else(|| panic!("no hook {name} in {record:#}"))
}

fn started(record: &Value, name: &str) -> chrono::DateTime<chrono::Utc> {
    let h = hook(record, name);
    chrono::DateTime::parse_from_rfc3339(h["last_run"]["started_at"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}: {h}"))
        .with_timezone(&chrono::Utc)
}

fn uid(obj: &Value) -> String {
    obj["metadata"]["uid"].as_str().unwrap().to_owned()
}

/// Install runs the pre-install hooks in Helm's order (weight, kind, name) before the release and
/// the post-install ones after, each delete policy doing what Helm's does; an upgrade runs the
/// upgrade hooks; deleting the release runs pre-delete and post-delete. `test` hooks never run,
/// hook objects are not marked or inventoried, and `helm get hooks` shows the recorded hooks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hooks_run_in_helm_order_with_their_delete_policies() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let hooks = hooks_chart();
    env.push("1.0.0", &[("config.yaml", CONFIG), ("hooks.yaml", &hooks)])
        .await;
    env.start();
    env.create("web", "1.0.0", serde_json::json!({})).await;
    let r = env.wait_ready("web").await;

    let records = env.records("web").await;
    assert_eq!(records.len(), 1);
    let v1 = &records[0];
    assert_eq!(v1["info"]["status"], "deployed");
    assert_eq!(
        v1["hooks"].as_array().unwrap().len(),
        9,
        "every hook is recorded"
    );
    let pre = [
        "web-migrate",
        "web-a-config",
        "web-pre-config",
        "web-pre-job",
        "web-pre-pod",
    ];
    for name in pre.iter().chain(&["web-post"]) {
        assert_eq!(hook(v1, name)["last_run"]["phase"], "Succeeded", "{name}");
    }
    for name in ["web-pre-delete", "web-post-delete", "web-test"] {
        assert_eq!(hook(v1, name)["last_run"]["phase"], "", "{name} never ran");
    }
    for pair in pre.windows(2) {
        assert!(
            started(v1, pair[0]) < started(v1, pair[1]),
            "{} runs before {}",
            pair[0],
            pair[1]
        );
    }
    assert!(started(v1, "web-pre-pod") < started(v1, "web-post"));
    assert_eq!(hook(v1, "web-migrate")["weight"], -5);
    assert_eq!(
        hook(v1, "web-post")["delete_policies"],
        serde_json::json!(["hook-succeeded", "before-hook-creation"])
    );

    // hook-succeeded deletes, hook-failed keeps a succeeded hook, the default keeps it too.
    assert!(env.object("batch/v1", "Job", "web-migrate").is_none());
    assert!(env.object("v1", "ConfigMap", "web-a-config").is_none());
    assert!(env.object("batch/v1", "Job", "web-post").is_none());
    let pre_config = env.object("v1", "ConfigMap", "web-pre-config").unwrap();
    assert_eq!(pre_config["data"]["revision"], "1");
    let pre_job = env.object("batch/v1", "Job", "web-pre-job").unwrap();
    let pre_pod = env.object("v1", "Pod", "web-pre-pod").unwrap();
    assert!(
        env.object("v1", "Pod", "web-test").is_none(),
        "test hooks are not run"
    );
    assert!(env.object("v1", "ConfigMap", "web-pre-delete").is_none());
    assert!(env.object("v1", "ConfigMap", "web-config").is_some());
    // Hooks are Helm's: no release marks, not in the inventory.
    assert!(
        pre_config["metadata"]["labels"]["app.kubernetes.io/managed-by"].is_null(),
        "{pre_config:#}"
    );
    let inventory = &r.status.as_ref().unwrap().inventory;
    assert_eq!(inventory.len(), 1, "{inventory:?}");
    assert_eq!(inventory[0].name, "web-config");

    if let Some(out) = env.helm(&["get", "hooks", "web", "-n", NS]) {
        assert!(out.contains("# Source: demo/templates/hooks.yaml"), "{out}");
        assert!(out.contains("name: web-migrate"), "{out}");
        assert!(out.contains("helm.sh/hook: pre-delete"), "{out}");
    }

    // An upgrade runs the upgrade hooks: before-hook-creation replaces pre-config;
    // pre-install-only hooks stay as they were.
    env.patch_spec("web", serde_json::json!({"values": {"greeting": "hi"}}))
        .await;
    env.wait_until("revision 2 to be deployed", async || {
        let records = env.records("web").await;
        records.len() == 2 && records[1]["info"]["status"] == "deployed"
    })
    .await;
    env.wait_ready("web").await;
    let records = env.records("web").await;
    assert_eq!(records[0]["info"]["status"], "superseded");
    let v2 = &records[1];
    for name in ["web-migrate", "web-pre-config", "web-pre-job", "web-post"] {
        assert_eq!(hook(v2, name)["last_run"]["phase"], "Succeeded", "{name}");
    }
    for name in ["web-a-config", "web-pre-pod"] {
        assert_eq!(hook(v2, name)["last_run"]["phase"], "", "{name}");
    }
    let pre_config2 = env.object("v1", "ConfigMap", "web-pre-config").unwrap();
    assert_eq!(pre_config2["data"]["revision"], "2");
    assert_ne!(uid(&pre_config2), uid(&pre_config), "recreated");
    // Without before-hook-creation the finished Job is applied again as it is (Helm 4 creates
    // hooks with server-side apply), not deleted and re-run.
    let pre_job2 = env.object("batch/v1", "Job", "web-pre-job").unwrap();
    assert_eq!(uid(&pre_job2), uid(&pre_job), "kept");
    assert_eq!(
        uid(&env.object("v1", "Pod", "web-pre-pod").unwrap()),
        uid(&pre_pod),
        "a pre-install hook does not run on upgrade"
    );
    assert!(env.object("batch/v1", "Job", "web-migrate").is_none());

    // Delete: pre-delete, the objects, post-delete. Hook objects outlive the release.
    env.releases()
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_until("the release to be gone", async || {
        env.releases().get_opt("web").await.unwrap().is_none()
    })
    .await;
    assert!(env.object("v1", "ConfigMap", "web-config").is_none());
    let pre_delete = env.object("v1", "ConfigMap", "web-pre-delete").unwrap();
    assert_eq!(pre_delete["data"]["revision"], "2");
    assert!(env.object("v1", "ConfigMap", "web-post-delete").is_some());
    assert!(env.object("v1", "ConfigMap", "web-pre-config").is_some());
    assert!(env.records("web").await.is_empty());
    env.stop().await;
}

/// A failing pre-install hook fails the attempt naming the hook and the Job's failure; nothing of
/// the release is applied, later hooks do not run, and the revision is recorded failed. A fixed
/// chart then installs as the next revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_pre_install_hook_leaves_nothing_applied() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let failing = [
        job(
            "migrate",
            "    helm.sh/hook: pre-install\n    test.signet.dev/outcome: fail\n    test.signet.dev/message: 'relation \"users\" already exists'\n",
        ),
        config_hook(
            "after",
            "    helm.sh/hook: pre-install\n    helm.sh/hook-weight: \"10\"\n",
        ),
    ]
    .join("---\n");
    env.push(
        "1.0.0",
        &[("config.yaml", CONFIG), ("hooks.yaml", &failing)],
    )
    .await;
    env.start();
    env.create("bad", "1.0.0", serde_json::json!({})).await;
    let r = env.wait_not_ready("bad", "HookFailed").await;
    let (_, _, message) = condition(&r, "Ready").unwrap();
    assert!(
        message.contains(
            "pre-install hook Job default/bad-migrate (demo/templates/hooks.yaml) failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
        ) && message.contains(
            "container run exited with code 1 (Error): relation \"users\" already exists"
        ),
        "{message}"
    );
    assert!(env.object("v1", "ConfigMap", "bad-config").is_none());
    assert!(env.object("v1", "ConfigMap", "bad-after").is_none());
    assert!(
        env.object("batch/v1", "Job", "bad-migrate").is_some(),
        "no hook-failed policy: the failed Job stays for inspection"
    );
    let records = env.records("bad").await;
    assert_eq!(records.len(), 1, "retries reuse the failed revision");
    assert_eq!(records[0]["info"]["status"], "failed");
    let description = records[0]["info"]["description"].as_str().unwrap();
    assert!(
        description.starts_with(
            "Release \"bad\" failed: failed pre-install: pre-install hook Job default/bad-migrate"
        ),
        "{description}"
    );
    assert_eq!(
        hook(&records[0], "bad-migrate")["last_run"]["phase"],
        "Failed"
    );
    assert!(r.status.as_ref().unwrap().inventory.is_empty());

    let fixed = job("migrate", "    helm.sh/hook: pre-install\n");
    env.push("1.0.1", &[("config.yaml", CONFIG), ("hooks.yaml", &fixed)])
        .await;
    env.patch_spec("bad", serde_json::json!({"chart": {"version": "1.0.1"}}))
        .await;
    env.wait_ready("bad").await;
    let records = env.records("bad").await;
    let statuses: Vec<&str> = records
        .iter()
        .map(|r| r["info"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "deployed"]);
    assert_eq!(records[1]["info"]["description"], "Install complete");
    assert!(env.object("v1", "ConfigMap", "bad-config").is_some());
    env.stop().await;
}

/// ingress-nginx from the corpus installs: its admission-webhook certificate is made by a
/// pre-install Job and patched into the webhook by a post-install Job (with RBAC hooks around
/// them, deleted once they succeed), as on a cluster where Jobs run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ingress_nginx_installs_with_its_admission_hooks() {
    let Some(corpus) = support::tools::corpus_dir() else {
        return;
    };
    let Some(mut env) = Env::new().await else {
        return;
    };
    // Kinds the chart uses that the double does not register by default.
    env.api.register_kind(KindSpec::new(
        "networking.k8s.io/v1",
        "IngressClass",
        "ingressclasses",
        false,
    ));
    env.api.register_kind(KindSpec::new(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ));
    let chart = corpus.join("charts/ingress-nginx");
    let version = std::fs::read_to_string(chart.join("Chart.yaml"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("version: ").map(|v| v.trim().to_owned()))
        .unwrap();
    env.push_dir(&chart).await;
    env.start();
    env.create(
        "edge",
        &version,
        serde_json::json!({
            "chart": {"repository": env.reg.oci("charts/ingress-nginx")},
            "values": {"controller": {"service": {"type": "ClusterIP"}}},
        }),
    )
    .await;
    env.wait_ready("edge").await;
    let records = env.records("edge").await;
    assert_eq!(records[0]["info"]["status"], "deployed");
    let hooks = records[0]["hooks"].as_array().unwrap();
    let ran: Vec<(&str, &str, &str)> = hooks
        .iter()
        .filter(|h| h["last_run"]["phase"] != "")
        .map(|h| {
            (
                h["kind"].as_str().unwrap(),
                h["name"].as_str().unwrap(),
                h["last_run"]["phase"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        ran.contains(&("Job", "edge-ingress-nginx-admission-create", "Succeeded"))
            && ran.contains(&("Job", "edge-ingress-nginx-admission-patch", "Succeeded")),
        "{ran:?}"
    );
    assert!(
        ran.iter().all(|(_, _, phase)| *phase == "Succeeded"),
        "{ran:?}"
    );
    // before-hook-creation,hook-succeeded: the hook Jobs are gone once they succeeded.
    assert!(
        env.object("batch/v1", "Job", "edge-ingress-nginx-admission-create")
            .is_none()
    );
    assert!(
        env.api
            .get(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                None,
                "edge-ingress-nginx-admission"
            )
            .is_some()
    );
    env.stop().await;
}

/// A controller killed while a post-install hook runs leaves the revision pending-install; the
/// next one finishes that revision: the pre-install hooks that succeeded are not run again, the
/// post-install hook is, and the revision is recorded deployed — one revision in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_mid_hooks_finishes_the_pending_revision() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let hooks = [
        config_hook("pre", "    helm.sh/hook: pre-install\n"),
        job(
            "post",
            "    helm.sh/hook: post-install\n    test.signet.dev/outcome: hang\n",
        ),
    ]
    .join("---\n");
    env.push("1.0.0", &[("config.yaml", CONFIG), ("hooks.yaml", &hooks)])
        .await;
    env.start();
    env.create("mid", "1.0.0", serde_json::json!({})).await;
    env.wait_until("the post-install hook to run", async || {
        env.object("batch/v1", "Job", "mid-post").is_some()
    })
    .await;
    let records = env.records("mid").await;
    assert_eq!(records[0]["info"]["status"], "pending-install");
    assert_eq!(
        hook(&records[0], "mid-pre")["last_run"]["phase"],
        "Succeeded"
    );
    let pre = uid(&env.object("v1", "ConfigMap", "mid-pre").unwrap());
    let first_post = uid(&env.object("batch/v1", "Job", "mid-post").unwrap());
    env.kill().await;

    env.start();
    // The post-install hook runs again (before-hook-creation: a new Job); complete it.
    let mut post = String::new();
    env.wait_until("the post-install hook to run again", async || {
        match env.object("batch/v1", "Job", "mid-post") {
            Some(j) if uid(&j) != first_post => {
                post = uid(&j);
                true
            }
            _ => false,
        }
    })
    .await;
    assert!(!post.is_empty());
    env.api.set_status(
        "batch/v1",
        "Job",
        Some(NS),
        "mid-post",
        serde_json::json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
    );
    env.wait_ready("mid").await;
    let records = env.records("mid").await;
    assert_eq!(records.len(), 1, "no second revision");
    assert_eq!(records[0]["info"]["status"], "deployed");
    assert_eq!(records[0]["info"]["description"], "Install complete");
    assert_eq!(
        hook(&records[0], "mid-post")["last_run"]["phase"],
        "Succeeded"
    );
    assert_eq!(
        uid(&env.object("v1", "ConfigMap", "mid-pre").unwrap()),
        pre,
        "the pre-install hook that succeeded did not run again"
    );
    env.stop().await;
}
