//! A cluster for release stories that also run real `helm` and `kubectl`: the API-server double
//! with the SignedChartRelease CRD, a real `docker-registry`, a signing key (in the Secret
//! `signer`), chart directories written on disk (so `helm install DIR` and Signet install the very
//! same chart), and `signet::controller::run` in process. Used by tests/controller_adoption.rs,
//! tests/controller_adoption_crds.rs, tests/postrender_controller.rs and tests/cli_diff.rs with
//! `#[path = "support/release_env.rs"] mod release_env;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use signet::api::SignedChartRelease;
use signet::registry::{ChartArtifact, OciReference, RegistryClient, helm_annotations};
use signet::verify::keys::{KeyAlgorithm, SigningKey};

use crate::support::apiserver::ApiServer;
use crate::support::registry::TestRegistry;
use crate::support::tools::{temp_dir, tool};

/// The namespace of every story.
pub const NS: &str = "default";

pub struct Env {
    pub api: ApiServer,
    pub reg: TestRegistry,
    pub registry: RegistryClient,
    pub key: SigningKey,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub helm: PathBuf,
    pub kubectl: PathBuf,
    controller: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
}

impl Env {
    /// `None` (the test skips, with a line saying why) without docker-registry, helm or kubectl;
    /// under CI=true they are required.
    pub async fn new() -> Option<Env> {
        signet::tls::install_crypto_provider();
        let tools = (tool("helm"), tool("kubectl"), TestRegistry::plain());
        let (Some(helm), Some(kubectl), Some(reg)) = tools else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "helm, kubectl and docker-registry are required under CI"
            );
            return None;
        };
        let api = ApiServer::start().await;
        let crds: Api<CustomResourceDefinition> = Api::all(api.client());
        crds.create(&PostParams::default(), &signet::api::crd().unwrap())
            .await
            .unwrap();
        let dir = temp_dir();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, api.kubeconfig_yaml()).unwrap();
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let env = Env {
            registry: RegistryClient::new(reg.options()).unwrap(),
            api,
            reg,
            key,
            dir,
            kubeconfig,
            helm,
            kubectl,
            controller: None,
        };
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "signer", "namespace": NS},
            "stringData": {"cosign.pub": env.key.public_key().to_pem()},
        });
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(env.client(), NS)
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

    /// `helm ARGS` against the double, with its own config, cache and data homes.
    pub fn helm(&self, args: &[&str]) -> Command {
        let home = self.dir.path();
        let mut c = Command::new(&self.helm);
        c.env("KUBECONFIG", &self.kubeconfig)
            .env("HELM_CONFIG_HOME", home.join("helm-config"))
            .env("HELM_CACHE_HOME", home.join("helm-cache"))
            .env("HELM_DATA_HOME", home.join("helm-data"))
            .env_remove("HELM_DRIVER")
            .env_remove("HELM_NAMESPACE")
            .args(args);
        c
    }

    /// `kubectl ARGS` against the double.
    pub fn kubectl(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.env("KUBECONFIG", &self.kubeconfig).args(args);
        c
    }

    /// Writes chart `demo` at `version` under the temp dir: `templates` are `(file, text)`,
    /// `crds/x` entries go to the chart's crds/. Returns the chart directory.
    pub fn write_chart(&self, version: &str, values: &str, templates: &[(&str, &str)]) -> PathBuf {
        let dir = self
            .dir
            .path()
            .join(format!("chart-{version}"))
            .join("demo");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::write(
            dir.join("Chart.yaml"),
            format!("apiVersion: v2\nname: demo\nversion: {version}\n"),
        )
        .unwrap();
        std::fs::write(dir.join("values.yaml"), values).unwrap();
        for (name, text) in templates {
            let path = match name.strip_prefix("crds/") {
                Some(file) => {
                    std::fs::create_dir_all(dir.join("crds")).unwrap();
                    dir.join("crds").join(file)
                }
                None => dir.join("templates").join(name),
            };
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    /// Packages the chart directory `dir`, pushes it to `charts/demo` and signs it with the key
    /// of the `signer` Secret. Returns the manifest digest.
    pub async fn push_signed(&self, dir: &Path) -> String {
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
        pushed.digest
    }

    /// A SignedChartRelease of chart `demo` at `version`, verified by the `signer` key, with
    /// `extra` merged into its spec.
    pub fn release(&self, name: &str, version: &str, extra: Value) -> Value {
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
            "timeout": "30s",
        });
        merge(&mut spec, extra);
        json!({
            "apiVersion": "signet.dev/v1alpha1",
            "kind": "SignedChartRelease",
            "metadata": {"name": name, "namespace": NS},
            "spec": spec,
        })
    }

    pub async fn create(&self, release: Value) {
        let r: SignedChartRelease = serde_json::from_value(release).unwrap();
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

    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.controller.take() {
            let _ = stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
        }
    }

    /// Polls the release until `check` holds; panics with its status after 45 s.
    pub async fn wait_release(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&SignedChartRelease) -> bool,
    ) -> SignedChartRelease {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
        loop {
            let current = self.releases().get_opt(name).await.unwrap();
            if let Some(r) = &current
                && check(r)
            {
                return r.clone();
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "timed out waiting for {name} {what}; status: {}",
                    current
                        .map(|r| serde_json::to_string_pretty(&r.status).unwrap())
                        .unwrap_or_else(|| "gone".into())
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls until the release is Ready for its current generation and the chart `version`.
    pub async fn wait_ready(&self, name: &str, version: &str) -> SignedChartRelease {
        self.wait_release(name, &format!("to be Ready at {version}"), |r| {
            condition_is(r, "Ready", "True")
                && r.status.as_ref().and_then(|s| s.observed_generation) == r.metadata.generation
                && r.status
                    .as_ref()
                    .and_then(|s| s.last_applied_revision.as_ref())
                    .is_some_and(|a| a.version == version)
        })
        .await
    }

    /// Polls until `check` holds; panics after 45 s.
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

    /// The stored object, if any.
    pub fn get(&self, api_version: &str, kind: &str, name: &str) -> Option<Value> {
        self.api.get(api_version, kind, Some(NS), name)
    }

    /// `helm history NAME -o json` as (revision, status, chart) rows.
    pub fn helm_history(&self, release: &str) -> Vec<(i64, String, String)> {
        let out = run_ok(self.helm(&["history", release, "-n", NS, "-o", "json"]));
        let rows: Value = serde_json::from_str(&out).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["revision"].as_i64().unwrap_or_default(),
                    r["status"].as_str().unwrap_or_default().to_owned(),
                    r["chart"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

/// Whether the release's condition `type_` has `status`.
pub fn condition_is(r: &SignedChartRelease, type_: &str, status: &str) -> bool {
    r.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == type_ && c.status == status)
    })
}

/// Runs `cmd` (blocking: the double serves from its own thread) and returns stdout; panics with
/// both streams on failure.
pub fn run_ok(mut cmd: Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The field managers of a stored object.
pub fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|e| e["manager"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}
