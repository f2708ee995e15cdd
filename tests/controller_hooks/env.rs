//! The cluster of the hook and remediation stories: the API server double with its workload
//! runner (Jobs, Pods and Deployments finish as their `test.signet.dev/outcome` annotation asks),
//! a real `docker-registry`, charts pushed and signed with Signet's libraries, a running
//! controller, and real `helm` against the double's kubeconfig to read the history.

#![allow(dead_code)] // each test binary uses a different part
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use signet::api::SignedChartRelease;
use signet::registry::{ChartArtifact, OciReference, RegistryClient, helm_annotations};
use signet::verify::keys::{KeyAlgorithm, SigningKey};

use crate::support;
use support::apiserver::{ApiServer, WorkloadRunner};
use support::registry::TestRegistry;

pub const NS: &str = "default";

pub struct Env {
    pub api: ApiServer,
    pub reg: TestRegistry,
    registry: RegistryClient,
    key: SigningKey,
    pub dir: tempfile::TempDir,
    controller: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
    _runner: WorkloadRunner,
}

impl Env {
    /// `None` (with a message) when `docker-registry` is not installed.
    pub async fn new() -> Option<Env> {
        signet::tls::install_crypto_provider();
        let reg = TestRegistry::plain()?;
        let api = ApiServer::start().await;
        let crds: Api<CustomResourceDefinition> = Api::all(api.client());
        crds.create(&PostParams::default(), &signet::api::crd().unwrap())
            .await
            .unwrap();
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let env = Env {
            registry: RegistryClient::new(reg.options()).unwrap(),
            _runner: api.run_workloads(),
            api,
            reg,
            key,
            dir: tempfile::tempdir().unwrap(),
            controller: None,
        };
        let pem = env.key.public_key().to_pem();
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "signer", "namespace": NS},
            "stringData": {"cosign.pub": pem},
        });
        let secrets: Api<Secret> = Api::namespaced(env.client(), NS);
        secrets
            .patch(
                "signer",
                &PatchParams::apply("test").force(),
                &Patch::Apply(&secret),
            )
            .await
            .unwrap();
        Some(env)
    }

    pub fn client(&self) -> kube::Client {
        self.api.client()
    }

    pub fn releases(&self) -> Api<SignedChartRelease> {
        Api::namespaced(self.client(), NS)
    }

    pub fn start(&mut self) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = signet::controller::Config {
            concurrency: 2,
            watch_namespace: None,
            label_selector: None,
            max_history: 10,
            metrics: std::sync::Arc::new(signet::controller::metrics::Metrics::new()),
            tuf: None,
        };
        let task = tokio::spawn(signet::controller::run(
            self.api.kube_config(),
            config,
            async move {
                let _ = stopped.await;
            },
        ));
        self.controller = Some((stop, task));
    }

    /// Kills the controller where it stands, like a crashed pod (no graceful shutdown).
    pub async fn kill(&mut self) {
        if let Some((_, task)) = self.controller.take() {
            task.abort();
            let _ = task.await;
        }
    }

    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.controller.take() {
            let _ = stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
        }
    }

    /// Packages chart `demo` at `version` with `templates` (file name → text), pushes and signs
    /// it.
    pub async fn push(&self, version: &str, templates: &[(&str, &str)]) {
        let dir = self.dir.path().join(format!("src-{version}")).join("demo");
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::write(
            dir.join("Chart.yaml"),
            format!("apiVersion: v2\nname: demo\nversion: {version}\n"),
        )
        .unwrap();
        std::fs::write(dir.join("values.yaml"), "greeting: hello\n").unwrap();
        for (name, text) in templates {
            std::fs::write(dir.join("templates").join(name), text).unwrap();
        }
        self.push_dir(&dir).await;
    }

    /// Packages the chart directory `dir` as it is, pushes it to `charts/<name>` and signs it.
    pub async fn push_dir(&self, dir: &std::path::Path) {
        let source = signet::package::load_chart_dir(dir).unwrap();
        let archive = signet::package::write_archive(&source).unwrap();
        let artifact = ChartArtifact {
            name: source.metadata.name.clone(),
            version: source.metadata.version.clone(),
            config_json: serde_json::to_vec(&source.metadata).unwrap(),
            annotations: helm_annotations(&source.metadata, "2026-01-01T00:00:00Z"),
            archive,
        };
        let target = OciReference::parse(&self.reg.oci("charts")).unwrap();
        let pushed = self
            .registry
            .push_chart(&target, &artifact, None)
            .await
            .unwrap();
        signet::sign::sign(
            &self.registry,
            &pushed.reference,
            &self.key,
            &signet::sign::SignOptions::default(),
        )
        .await
        .unwrap();
    }

    /// A release of chart `demo` at `version`, interval 1s, with `extra` merged into the spec.
    pub async fn create(&self, name: &str, version: &str, extra: Value) {
        let mut spec = json!({
            "chart": {
                "repository": self.reg.oci("charts/demo"),
                "version": version,
                "registry": {"plainHTTP": self.reg.is_plain_http()},
            },
            "verify": {
                "authorities": [{"name": "ci", "key": {"secretRef": {"name": "signer", "key": "cosign.pub"}}}],
                "requireTransparencyLog": false,
            },
            "interval": "1s",
            "timeout": "20s",
        });
        merge(&mut spec, extra);
        let r: SignedChartRelease = serde_json::from_value(json!({
            "apiVersion": "signet.dev/v1alpha1",
            "kind": "SignedChartRelease",
            "metadata": {"name": name, "namespace": NS},
            "spec": spec,
        }))
        .unwrap();
        self.releases()
            .create(&PostParams::default(), &r)
            .await
            .unwrap();
    }

    pub async fn patch_spec(&self, name: &str, spec: Value) {
        self.releases()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"spec": spec})),
            )
            .await
            .unwrap();
    }

    /// Polls the release until `check` holds (45 s at most).
    pub async fn wait_release(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&SignedChartRelease) -> bool,
    ) -> SignedChartRelease {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
        loop {
            let r = self.releases().get_opt(name).await.unwrap();
            if let Some(r) = &r
                && check(r)
            {
                return r.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {name} {what}; status: {}",
                r.map(|r| serde_json::to_string_pretty(&r.status).unwrap())
                    .unwrap_or_else(|| "gone".into())
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until Ready is True for the current generation.
    pub async fn wait_ready(&self, name: &str) -> SignedChartRelease {
        self.wait_release(name, "to be Ready", |r| {
            condition(r, "Ready").is_some_and(|(s, _, _)| s == "True")
                && r.status.as_ref().and_then(|s| s.observed_generation) == r.metadata.generation
        })
        .await
    }

    /// Waits until Ready is False with `reason` for the current generation.
    pub async fn wait_not_ready(&self, name: &str, reason: &str) -> SignedChartRelease {
        self.wait_release(name, &format!("to be Ready=False ({reason})"), |r| {
            condition(r, "Ready").is_some_and(|(s, re, _)| s == "False" && re == reason)
                && r.status.as_ref().and_then(|s| s.observed_generation) == r.metadata.generation
        })
        .await
    }

    pub async fn wait_until(&self, what: &str, mut check: impl AsyncFnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
        while !check().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The decoded Helm release records of `release`, by revision.
    pub async fn records(&self, release: &str) -> Vec<Value> {
        let api: Api<Secret> = Api::namespaced(self.client(), NS);
        let list = api
            .list(&kube::api::ListParams::default().labels(&format!("owner=helm,name={release}")))
            .await
            .unwrap();
        let mut out: Vec<Value> = list
            .items
            .iter()
            .map(|s| {
                let data = &s.data.as_ref().unwrap()["release"].0;
                signet::apply::history::decode_release(data).unwrap()
            })
            .collect();
        out.sort_by_key(|r| r["version"].as_i64());
        out
    }

    /// The stored object, if any.
    pub fn object(&self, api_version: &str, kind: &str, name: &str) -> Option<Value> {
        self.api.get(api_version, kind, Some(NS), name)
    }

    /// `helm ARGS` against the double; `None` when helm is not installed (the caller skips).
    pub fn helm(&self, args: &[&str]) -> Option<String> {
        let bin = support::tools::tool("helm")?;
        let kubeconfig = self.dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, self.api.kubeconfig_yaml()).unwrap();
        let home = self.dir.path();
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", home)
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env_remove("HELM_DRIVER")
            .env_remove("HELM_NAMESPACE");
        Some(tokio::task::block_in_place(|| {
            support::tools::run_ok(&mut cmd)
        }))
    }
}

/// `(status, reason, message)` of the release's condition `type_`.
pub fn condition(r: &SignedChartRelease, type_: &str) -> Option<(String, String, String)> {
    r.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}
