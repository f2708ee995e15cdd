//! The reconciler's stories, end to end in process: `signet::controller::run` against the API
//! server test double (tests/support/apiserver), a real `docker-registry`, and charts pushed and
//! signed with Signet's own registry and signing libraries (cosign's format; tests/cosign_interop.rs
//! proves cosign verifies the same signatures). Short intervals (1–2 s) keep the stories quick.

#[path = "support/sigstore_mock.rs"]
mod sigstore_mock;
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};
use signet::api::SignedChartRelease;
use signet::registry::{ChartArtifact, OciReference, RegistryClient, helm_annotations};
use signet::verify::keys::{KeyAlgorithm, SigningKey};
use support::apiserver::{ApiServer, Rule};
use support::registry::TestRegistry;

const NS: &str = "default";

/// A cluster (the double), a registry, a signing key and a running controller.
struct Env {
    api: ApiServer,
    reg: TestRegistry,
    registry: RegistryClient,
    key: SigningKey,
    dir: tempfile::TempDir,
    controller: Option<Running>,
    metrics: std::sync::Arc<signet::controller::metrics::Metrics>,
}

struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Env {
    async fn new() -> Option<Env> {
        signet::tls::install_crypto_provider();
        Self::with(TestRegistry::plain()?).await
    }

    async fn with(reg: TestRegistry) -> Option<Env> {
        let api = ApiServer::start().await;
        let crds: Api<CustomResourceDefinition> = Api::all(api.client());
        crds.create(&PostParams::default(), &signet::api::crd().unwrap())
            .await
            .unwrap();
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let env = Env {
            registry: RegistryClient::new(reg.options()).unwrap(),
            api,
            reg,
            key,
            dir: tempfile::tempdir().unwrap(),
            controller: None,
            metrics: std::sync::Arc::new(signet::controller::metrics::Metrics::new()),
        };
        env.put_secret(
            "signer",
            "cosign.pub",
            &env.key.public_key().to_pem(),
            false,
        )
        .await;
        Some(env)
    }

    fn client(&self) -> kube::Client {
        self.api.client()
    }

    fn releases(&self) -> Api<SignedChartRelease> {
        Api::namespaced(self.client(), NS)
    }

    fn config_maps(&self, ns: &str) -> Api<ConfigMap> {
        Api::namespaced(self.client(), ns)
    }

    fn start(&mut self) {
        self.start_scoped(None, None);
    }

    /// Starts the controller watching one namespace and/or a label selector.
    fn start_scoped(&mut self, namespace: Option<&str>, selector: Option<&str>) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = signet::controller::Config {
            concurrency: 4,
            watch_namespace: namespace.map(str::to_owned),
            label_selector: selector.map(str::to_owned),
            max_history: 10,
            metrics: self.metrics.clone(),
            tuf: None,
        };
        let task = tokio::spawn(signet::controller::run(
            self.api.kube_config(),
            config,
            async move {
                let _ = stopped.await;
            },
        ));
        self.controller = Some(Running { stop, task });
    }

    async fn stop(&mut self) {
        if let Some(r) = self.controller.take() {
            let _ = r.stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(20), r.task).await;
        }
    }

    /// Kills the controller where it stands, like a crashed pod (no graceful shutdown).
    async fn kill(&mut self) {
        if let Some(r) = self.controller.take() {
            r.task.abort();
            let _ = r.task.await;
        }
    }

    async fn put_secret(&self, name: &str, key: &str, value: &str, watched: bool) {
        let mut labels = BTreeMap::new();
        if watched {
            labels.insert("signet.dev/watch".to_string(), "true".to_string());
        }
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": NS, "labels": labels},
            "stringData": {},
            "data": {key: base64(value)},
        });
        let api: Api<Secret> = Api::namespaced(self.client(), NS);
        api.patch(
            name,
            &PatchParams::apply("test").force(),
            &Patch::Apply(&secret),
        )
        .await
        .unwrap();
    }

    async fn put_config_map(&self, name: &str, data: &[(&str, &str)], watched: bool) {
        let labels: BTreeMap<&str, &str> = if watched {
            [("signet.dev/watch", "true")].into()
        } else {
            BTreeMap::new()
        };
        let data: BTreeMap<&str, &str> = data.iter().copied().collect();
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": NS, "labels": labels},
            "data": data,
        });
        self.config_maps(NS)
            .patch(
                name,
                &PatchParams::apply("test").force(),
                &Patch::Apply(&cm),
            )
            .await
            .unwrap();
    }

    /// Writes, packages and pushes chart `demo` at `version` with `templates`; signs it with
    /// `signer` when given. Returns the manifest digest.
    async fn push(
        &self,
        version: &str,
        values: &str,
        templates: &[(&str, &str)],
        signer: Option<&SigningKey>,
    ) -> String {
        let root = self
            .dir
            .path()
            .join(format!("src-{version}-{}", rand_suffix()));
        let dir = root.join("demo");
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::write(
            dir.join("Chart.yaml"),
            format!("apiVersion: v2\nname: demo\nversion: {version}\n"),
        )
        .unwrap();
        std::fs::write(dir.join("values.yaml"), values).unwrap();
        for (name, text) in templates {
            // `crds/...` entries go to the chart's crds/ directory, the rest to templates/.
            let path = match name.strip_prefix("crds/") {
                Some(file) => {
                    std::fs::create_dir_all(dir.join("crds")).unwrap();
                    dir.join("crds").join(file)
                }
                None => dir.join("templates").join(name),
            };
            std::fs::write(path, text).unwrap();
        }
        let source = signet::package::load_chart_dir(&dir).unwrap();
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
        if let Some(key) = signer {
            signet::sign::sign(
                &self.registry,
                &pushed.reference,
                key,
                &signet::sign::SignOptions::default(),
            )
            .await
            .unwrap();
        }
        pushed.digest
    }

    /// [`Env::push`], signed with the key the `signer` Secret holds.
    async fn push_signed(&self, version: &str, values: &str, templates: &[(&str, &str)]) -> String {
        self.push(version, values, templates, Some(&self.key)).await
    }

    /// Chart `demo` at `version` with the one ConfigMap of [`CONFIG_TEMPLATE`] and
    /// `greeting: hello`, signed with the `signer` Secret's key.
    async fn push_config(&self, version: &str) -> String {
        self.push_signed(
            version,
            "greeting: hello\n",
            &[("config.yaml", CONFIG_TEMPLATE)],
        )
        .await
    }

    /// A release of chart `demo` verified by the `signer` Secret's key, interval 1s.
    fn release(&self, name: &str, version: &str, extra: Value) -> Value {
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

    async fn create(&self, release: Value) {
        let r: SignedChartRelease = serde_json::from_value(release).unwrap();
        self.releases()
            .create(&PostParams::default(), &r)
            .await
            .unwrap();
    }

    async fn patch_spec(&self, name: &str, spec: Value) {
        self.releases()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"spec": spec})),
            )
            .await
            .unwrap();
    }

    /// Polls `check` on the release until it returns true.
    async fn wait_release(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&SignedChartRelease) -> bool,
    ) -> SignedChartRelease {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
        loop {
            if let Ok(Some(r)) = self.releases().get_opt(name).await {
                if check(&r) {
                    return r;
                }
                if tokio::time::Instant::now() > deadline {
                    panic!(
                        "timed out waiting for {name} {what}; status: {}",
                        serde_json::to_string_pretty(&r.status).unwrap()
                    );
                }
            } else if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {name} {what}: it does not exist");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_ready(&self, name: &str) -> SignedChartRelease {
        self.wait_release(name, "to be Ready", |r| {
            condition_is(r, "Ready", "True")
                && r.status.as_ref().and_then(|s| s.observed_generation) == r.metadata.generation
        })
        .await
    }

    /// Polls the release until its condition `type_` has `status`.
    async fn wait_condition(
        &self,
        name: &str,
        what: &str,
        type_: &str,
        status: &str,
    ) -> SignedChartRelease {
        self.wait_release(name, what, |r| condition_is(r, type_, status))
            .await
    }

    async fn wait_until(&self, what: &str, mut check: impl AsyncFnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
        while !check().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn config_map(&self, name: &str) -> Option<ConfigMap> {
        self.config_maps(NS).get_opt(name).await.unwrap()
    }

    async fn helm_records(&self, release: &str) -> Vec<Secret> {
        let api: Api<Secret> = Api::namespaced(self.client(), NS);
        let list = api
            .list(&kube::api::ListParams::default().labels(&format!("owner=helm,name={release}")))
            .await
            .unwrap();
        list.items
    }
}

/// The sum of a metric's series whose line starts with `prefix` (name and labels).
fn metric(metrics: &signet::controller::metrics::Metrics, prefix: &str) -> f64 {
    metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn condition(r: &SignedChartRelease, type_: &str) -> Option<(String, String, String)> {
    r.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Whether the release's condition `type_` has `status`.
fn condition_is(r: &SignedChartRelease, type_: &str, status: &str) -> bool {
    condition(r, type_).is_some_and(|(s, _, _)| s == status)
}

fn base64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
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

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn data(cm: &ConfigMap, key: &str) -> Option<String> {
    cm.data.as_ref()?.get(key).cloned()
}

const CONFIG_TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  revision: {{ .Release.Revision | quote }}\n";
const EXTRA_TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  a: b\n";

/// Install, values change, upgrade with prune, an unsigned version refused with the old revision
/// untouched, a wrong-key version refused, and delete uninstalling.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn install_upgrade_refuse_and_uninstall() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let v1 = env
        .push_signed(
            "1.0.0",
            "greeting: hello\n",
            &[
                ("config.yaml", CONFIG_TEMPLATE),
                ("extra.yaml", EXTRA_TEMPLATE),
            ],
        )
        .await;
    env.start();
    env.create(env.release("web", "1.0.0", json!({}))).await;

    // Install: Ready, objects applied with Helm's and Signet's marks, a Helm record.
    let r = env.wait_ready("web").await;
    let status = r.status.clone().unwrap();
    let applied = status.last_applied_revision.clone().unwrap();
    assert_eq!(
        (applied.version.as_str(), applied.digest.as_str()),
        ("1.0.0", v1.as_str())
    );
    assert_eq!(status.verified_signers.len(), 1);
    assert_eq!(status.verified_signers[0].authority, "ci");
    assert!(
        status.verified_signers[0]
            .key_fingerprint
            .as_deref()
            .is_some_and(|f| f.starts_with("sha256:")),
        "{:?}",
        status.verified_signers
    );
    assert_eq!(status.inventory.len(), 2, "{:?}", status.inventory);
    assert!(r.finalizers().iter().any(|f| f == "signet.dev/finalizer"));
    let cm = env
        .config_map("web-config")
        .await
        .expect("web-config applied");
    assert_eq!(data(&cm, "greeting").as_deref(), Some("hello"));
    assert_eq!(data(&cm, "revision").as_deref(), Some("1"));
    assert_eq!(
        cm.labels()
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("Helm")
    );
    assert_eq!(
        cm.annotations()
            .get("meta.helm.sh/release-name")
            .map(String::as_str),
        Some("web")
    );
    assert_eq!(
        cm.annotations().get("signet.dev/owner").map(String::as_str),
        Some("default/web")
    );
    assert!(env.config_map("web-extra").await.is_some());
    let records = env.helm_records("web").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].name_any(), "sh.helm.release.v1.web.v1");
    assert_eq!(
        records[0].labels().get("status").map(String::as_str),
        Some("deployed")
    );

    // Values change: re-rendered and re-applied as revision 2.
    env.patch_spec("web", json!({"values": {"greeting": "bonjour"}}))
        .await;
    env.wait_until("greeting bonjour", async || {
        env.config_map("web-config")
            .await
            .and_then(|c| data(&c, "greeting"))
            .as_deref()
            == Some("bonjour")
    })
    .await;
    env.wait_ready("web").await;
    assert_eq!(
        data(&env.config_map("web-config").await.unwrap(), "revision").as_deref(),
        Some("2")
    );

    // Upgrade to 1.1.0 without the extra ConfigMap: pruned.
    let v2 = env.push_config("1.1.0").await;
    env.patch_spec("web", json!({"chart": {"version": "1.1.0"}}))
        .await;
    let r = env
        .wait_release("web", "to apply 1.1.0", |r| {
            r.status
                .as_ref()
                .and_then(|s| s.last_applied_revision.as_ref())
                .is_some_and(|a| a.digest == v2)
        })
        .await;
    env.wait_until("extra pruned", async || {
        env.config_map("web-extra").await.is_none()
    })
    .await;
    assert_eq!(r.status.unwrap().inventory.len(), 1);
    let records = env.helm_records("web").await;
    let deployed: Vec<String> = records
        .iter()
        .filter(|s| s.labels().get("status").map(String::as_str) == Some("deployed"))
        .map(|s| s.name_any())
        .collect();
    assert_eq!(
        deployed,
        ["sh.helm.release.v1.web.v3"],
        "one deployed revision"
    );

    // An unsigned 1.2.0 is refused; 1.1.0 stays applied and untouched.
    let before = env.config_map("web-config").await.unwrap();
    env.push(
        "1.2.0",
        "greeting: evil\n",
        &[("config.yaml", CONFIG_TEMPLATE)],
        None,
    )
    .await;
    env.patch_spec("web", json!({"chart": {"version": "1.2.0"}}))
        .await;
    let r = env
        .wait_release("web", "to refuse 1.2.0", |r| {
            condition(r, "SourceVerified")
                .is_some_and(|(s, reason, _)| s == "False" && reason == "VerificationFailed")
                && r.status.as_ref().and_then(|s| s.observed_generation) == r.metadata.generation
        })
        .await;
    let (_, _, message) = condition(&r, "SourceVerified").unwrap();
    assert!(message.starts_with("NoSignatures"), "{message}");
    let (ready, reason, _) = condition(&r, "Ready").unwrap();
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", "VerificationFailed")
    );
    assert_eq!(condition(&r, "Stalled").unwrap().0, "True");
    let status = r.status.unwrap();
    assert_eq!(status.last_applied_revision.unwrap().digest, v2);
    assert_eq!(status.last_attempted_revision.unwrap().version, "1.2.0");
    let after = env.config_map("web-config").await.unwrap();
    assert_eq!(
        after.resource_version(),
        before.resource_version(),
        "untouched"
    );
    assert_eq!(data(&after, "greeting").as_deref(), Some("bonjour"));

    // Signed by another key: refused with the key mismatch named.
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    env.push(
        "1.3.0",
        "greeting: evil\n",
        &[("config.yaml", CONFIG_TEMPLATE)],
        Some(&other),
    )
    .await;
    env.patch_spec("web", json!({"chart": {"version": "1.3.0"}}))
        .await;
    let r = env
        .wait_release("web", "to refuse 1.3.0", |r| {
            r.status
                .as_ref()
                .and_then(|s| s.last_attempted_revision.as_ref())
                .is_some_and(|a| a.version == "1.3.0")
                && condition_is(r, "SourceVerified", "False")
        })
        .await;
    let (_, reason, message) = condition(&r, "SourceVerified").unwrap();
    assert_eq!(reason, "VerificationFailed");
    assert!(
        !message.starts_with("NoSignatures"),
        "a signature exists: {message}"
    );
    assert_eq!(
        env.config_map("web-config")
            .await
            .unwrap()
            .resource_version(),
        before.resource_version()
    );

    // Each transition left an Event with its reason (published right after the status).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = env.api.list("events.k8s.io/v1", "Event", Some(NS));
    let has = |reason: &str, action: &str| {
        events
            .iter()
            .any(|e| e["reason"] == reason && e["action"] == action)
    };
    assert!(has("Succeeded", "Verify"), "{events:?}");
    assert!(has("Succeeded", "Apply"), "{events:?}");
    assert!(has("Succeeded", "Prune"), "{events:?}");
    assert!(has("VerificationFailed", "Verify"), "{events:?}");

    // Delete: uninstalled, history gone, finalizer released.
    env.releases()
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_until("release gone", async || {
        env.releases().get_opt("web").await.unwrap().is_none()
    })
    .await;
    assert!(env.config_map("web-config").await.is_none());
    assert!(env.helm_records("web").await.is_empty());
    env.stop().await;
}

/// Drift is corrected at the next interval without re-rendering: a randAlphaNum value stays the
/// same across intervals, and across a controller restart (manifests from the Helm record).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drift_corrected_random_values_stable_across_restart() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let random = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-random\ndata:\n  password: {{ randAlphaNum 16 | quote }}\n";
    env.push_signed(
        "1.0.0",
        "greeting: hello\n",
        &[("config.yaml", CONFIG_TEMPLATE), ("random.yaml", random)],
    )
    .await;
    env.start();
    env.create(env.release("db", "1.0.0", json!({}))).await;
    env.wait_ready("db").await;
    let password = data(&env.config_map("db-random").await.unwrap(), "password").unwrap();
    assert_eq!(password.len(), 16);

    // Someone edits an owned field: put back at the next interval.
    let mut cm = env.config_map("db-config").await.unwrap();
    cm.data
        .get_or_insert_default()
        .insert("greeting".into(), "hacked".into());
    cm.metadata.managed_fields = None;
    env.config_maps(NS)
        .replace("db-config", &PostParams::default(), &cm)
        .await
        .unwrap();
    env.wait_until("drift corrected", async || {
        data(&env.config_map("db-config").await.unwrap(), "greeting").as_deref() == Some("hello")
    })
    .await;
    // Several intervals later the random value has not rotated, and no new revision was made.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        data(&env.config_map("db-random").await.unwrap(), "password").as_deref(),
        Some(password.as_str())
    );
    assert_eq!(env.helm_records("db").await.len(), 1);

    // Restart: the new controller re-applies the recorded manifest, not a new render.
    env.stop().await;
    env.start();
    tokio::time::sleep(Duration::from_secs(3)).await;
    env.wait_ready("db").await;
    assert_eq!(
        data(&env.config_map("db-random").await.unwrap(), "password").as_deref(),
        Some(password.as_str())
    );
    assert_eq!(env.helm_records("db").await.len(), 1);
    env.stop().await;
}

/// valuesFrom: a watched ConfigMap's change reconciles at once (well before the interval).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn values_from_change_reconciles_at_once() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    env.push_config("1.0.0").await;
    env.put_config_map(
        "web-values",
        &[("values.yaml", "greeting: from-configmap\n")],
        true,
    )
    .await;
    env.start();
    let mut release = env.release(
        "vf",
        "1.0.0",
        json!({"valuesFrom": [{"kind": "ConfigMap", "name": "web-values"}]}),
    );
    // A long interval: only the watch can explain a quick reconcile.
    release["spec"]["interval"] = json!("10m");
    env.create(release).await;
    env.wait_ready("vf").await;
    assert_eq!(
        data(&env.config_map("vf-config").await.unwrap(), "greeting").as_deref(),
        Some("from-configmap")
    );
    env.put_config_map(
        "web-values",
        &[("values.yaml", "greeting: changed\n")],
        true,
    )
    .await;
    env.wait_until("values from the changed ConfigMap", async || {
        data(&env.config_map("vf-config").await.unwrap(), "greeting").as_deref() == Some("changed")
    })
    .await;
    env.stop().await;
}

/// A moved tag (1.0.0 re-pushed, unsigned) is refused; suspend stops all work; dependsOn waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moved_tag_suspend_and_depends_on() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let v1 = env.push_config("1.0.0").await;
    env.start();
    // dependsOn: "app" waits for "base", which is created later.
    env.create(env.release("app", "1.0.0", json!({"dependsOn": [{"name": "base"}]})))
        .await;
    let r = env
        .wait_release("app", "to wait for base", |r| {
            condition(r, "Reconciling").is_some_and(|(_, reason, _)| reason == "DependencyNotReady")
        })
        .await;
    let (ready, reason, _) = condition(&r, "Ready").unwrap();
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("Unknown", "DependencyNotReady")
    );
    assert!(
        env.config_map("app-config").await.is_none(),
        "nothing applied before base"
    );
    env.create(env.release("base", "1.0.0", json!({}))).await;
    env.wait_ready("base").await;
    env.wait_ready("app").await;
    assert!(env.config_map("app-config").await.is_some());

    // Suspend: a values change is not applied.
    env.patch_spec(
        "app",
        json!({"suspend": true, "values": {"greeting": "ignored"}}),
    )
    .await;
    env.wait_release("app", "to be suspended", |r| {
        condition(r, "Reconciling").is_some_and(|(_, reason, _)| reason == "Suspended")
            && condition(r, "Ready")
                .is_some_and(|(status, reason, _)| status == "True" && reason == "Suspended")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        data(&env.config_map("app-config").await.unwrap(), "greeting").as_deref(),
        Some("hello")
    );
    env.patch_spec("app", json!({"suspend": false})).await;
    env.wait_until("resumed", async || {
        data(&env.config_map("app-config").await.unwrap(), "greeting").as_deref() == Some("ignored")
    })
    .await;

    // Moved tag: 1.0.0 now points at unsigned content; base refuses it and keeps v1 applied.
    let before = env.config_map("base-config").await.unwrap();
    let moved = env
        .push(
            "1.0.0",
            "greeting: moved\n",
            &[("config.yaml", CONFIG_TEMPLATE)],
            None,
        )
        .await;
    assert_ne!(moved, v1);
    let r = env
        .wait_condition("base", "to refuse the moved tag", "SourceVerified", "False")
        .await;
    let status = r.status.unwrap();
    assert_eq!(status.last_attempted_revision.unwrap().digest, moved);
    assert_eq!(status.last_applied_revision.unwrap().digest, v1);
    assert_eq!(
        env.config_map("base-config")
            .await
            .unwrap()
            .resource_version(),
        before.resource_version()
    );

    // A digest pin is immune to the moved tag; its version must satisfy spec.chart.version.
    env.create(env.release("pinned", "^1", json!({"chart": {"digest": v1}})))
        .await;
    let r = env.wait_ready("pinned").await;
    let applied = r.status.unwrap().last_applied_revision.unwrap();
    assert_eq!(
        (applied.version.as_str(), applied.digest.as_str()),
        ("1.0.0", v1.as_str())
    );
    env.create(env.release("mismatch", ">=2", json!({"chart": {"digest": v1}})))
        .await;
    let r = env
        .wait_condition(
            "mismatch",
            "to refuse the pinned version",
            "SourceVerified",
            "False",
        )
        .await;
    let (_, reason, message) = condition(&r, "SourceVerified").unwrap();
    assert_eq!(reason, "ChartNotFound");
    assert!(message.contains("does not satisfy"), "{message}");
    env.stop().await;
}

/// Orphan keeps the objects (without our marks); impersonation denied names the verb and object.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orphan_and_impersonation_denied() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    env.push_config("1.0.0").await;
    env.start();
    env.create(env.release(
        "kept",
        "1.0.0",
        json!({"uninstall": {"deletionPolicy": "Orphan"}}),
    ))
    .await;
    env.wait_ready("kept").await;
    env.releases()
        .delete("kept", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_until("release gone", async || {
        env.releases().get_opt("kept").await.unwrap().is_none()
    })
    .await;
    let cm = env
        .config_map("kept-config")
        .await
        .expect("orphaned object kept");
    assert!(
        !cm.annotations().contains_key("signet.dev/owner"),
        "{:?}",
        cm.annotations()
    );

    // The ServiceAccount may read ConfigMaps but not write them.
    env.api.authorizer().allow(Rule::user(
        "system:serviceaccount:default:deployer",
        &["get", "list", "watch"],
        &[""],
        &["configmaps"],
    ));
    env.create(env.release(
        "limited",
        "1.0.0",
        json!({"serviceAccountName": "deployer"}),
    ))
    .await;
    let r = env
        .wait_condition("limited", "to fail to apply", "Applied", "False")
        .await;
    let (_, reason, message) = condition(&r, "Applied").unwrap();
    assert_eq!(reason, "ApplyFailed");
    assert!(message.contains("forbidden"), "{message}");
    assert!(
        message.contains("ConfigMap") && message.contains("limited-config"),
        "{message}"
    );
    assert!(message.contains("patch"), "names the verb: {message}");
    eprintln!("impersonation denied: {message}");
    assert!(env.config_map("limited-config").await.is_none());
    env.stop().await;
}

const DEPLOYMENT_TEMPLATE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-app\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: demo}\n  template:\n    metadata:\n      labels: {app: demo}\n    spec:\n      containers:\n      - name: app\n        image: example.invalid/app:1\n";

/// Killed while waiting for a Deployment to roll out, a new controller converges from the
/// recorded revision (no second render, no second revision); `helm` reads the records.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_mid_release_converges_and_helm_reads_the_records() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    env.push_signed(
        "1.0.0",
        "greeting: hello\n",
        &[
            ("config.yaml", CONFIG_TEMPLATE),
            ("deploy.yaml", DEPLOYMENT_TEMPLATE),
        ],
    )
    .await;
    env.start();
    env.create(env.release("mid", "1.0.0", json!({}))).await;
    let r = env
        .wait_condition(
            "mid",
            "to be applied and waiting for health",
            "Applied",
            "True",
        )
        .await;
    let (ready, reason, _) = condition(&r, "Ready").unwrap();
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("Unknown", "Progressing")
    );
    env.kill().await;

    env.start();
    tokio::time::sleep(Duration::from_secs(1)).await;
    env.api.set_status(
        "apps/v1",
        "Deployment",
        Some(NS),
        "mid-app",
        json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
               "readyReplicas": 1, "availableReplicas": 1}),
    );
    let r = env.wait_ready("mid").await;
    let (_, reason, _) = condition(&r, "Healthy").unwrap();
    assert_eq!(reason, "Succeeded");
    let records = env.helm_records("mid").await;
    assert_eq!(
        records.len(),
        1,
        "the restart did not render a second revision"
    );
    env.stop().await;

    let Some(helm) = support::tools::tool("helm") else {
        return;
    };
    let kubeconfig = env.dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, env.api.kubeconfig_yaml()).unwrap();
    let home = env.dir.path().to_path_buf();
    let helm_run = move |args: &[&str]| {
        let mut cmd = std::process::Command::new(&helm);
        cmd.args(args)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .env("HOME", &home)
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"));
        support::tools::run_ok(&mut cmd)
    };
    let out = tokio::task::block_in_place(|| helm_run(&["list", "-n", NS, "-o", "json"]));
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["name"], "mid", "{out}");
    assert_eq!(list[0]["status"], "deployed", "{out}");
    assert_eq!(list[0]["chart"], "demo-1.0.0", "{out}");
    let out = tokio::task::block_in_place(|| helm_run(&["get", "manifest", "mid", "-n", NS]));
    assert!(
        out.contains("# Source: demo/templates/deploy.yaml"),
        "{out}"
    );
    assert!(
        out.contains("name: mid-app") && out.contains("name: mid-config"),
        "{out}"
    );
}

/// One interval of an unchanged, Ready release: no registry downloads, no verification, no API
/// write that changes an object; at most one registry request (the tag's HEAD).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_interval_costs_one_head_and_changes_nothing() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    env.push_config("1.0.0").await;
    env.start();
    env.create(env.release("idle", "1.0.0", json!({}))).await;
    env.wait_ready("idle").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let m = &env.metrics;
    let reconciles = || metric(m, "signet_reconcile_total{result=\"success\"}");
    let before = (
        env.api.stats().writes.clone(),
        metric(m, "signet_registry_requests_total"),
        metric(m, "signet_registry_requests_total{operation=\"pull\"}"),
        metric(m, "signet_cache_misses_total{cache=\"verification\"}"),
        reconciles(),
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let intervals = reconciles() - before.4;
    let writes = env.api.stats().writes.clone();
    let requests = metric(m, "signet_registry_requests_total") - before.1;
    let pulls = metric(m, "signet_registry_requests_total{operation=\"pull\"}") - before.2;
    let verifications = metric(m, "signet_cache_misses_total{cache=\"verification\"}") - before.3;
    eprintln!(
        "idle: {intervals} intervals, {requests} registry requests, {pulls} blob downloads, \
         {verifications} verifications, writes before {:?} after {writes:?}",
        before.0
    );
    assert!(
        intervals >= 2.0,
        "the release was re-reconciled at its interval"
    );
    assert!(
        requests <= intervals,
        "at most one registry request per interval"
    );
    assert_eq!(pulls, 0.0);
    assert_eq!(verifications, 0.0);
    assert_eq!(writes, before.0, "no API write changed an object");
    env.stop().await;
}

/// A spec the API server accepted but the controller cannot use is Stalled with the field path.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invalid_spec_stalls_naming_the_field() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    env.start();
    let mut bad = env.release("bad", "1.0.0", json!({}));
    bad["spec"]["verify"]["authorities"] = json!([{"name": "gh", "keyless": {"identities": [
        {"issuer": "https://token.actions.githubusercontent.com", "subjectRegExp": "(unclosed"}
    ]}}]);
    bad["spec"]["verify"]["requireTransparencyLog"] = json!(true);
    env.create(bad).await;
    let r = env
        .wait_condition("bad", "to stall", "Stalled", "True")
        .await;
    let (_, reason, message) = condition(&r, "Stalled").unwrap();
    assert_eq!(reason, "InvalidSpec");
    assert!(message.contains("spec.verify.authorities[0]"), "{message}");
    let (ready, reason, _) = condition(&r, "Ready").unwrap();
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "InvalidSpec"));
    // The Event follows the status write.
    env.wait_until("an InvalidSpec Warning Event", async || {
        env.api
            .list("events.k8s.io/v1", "Event", Some(NS))
            .iter()
            .any(|e| e["reason"] == "InvalidSpec" && e["type"] == "Warning")
    })
    .await;
    env.stop().await;
}

/// Failures end in a specific condition and recover once fixed: a `required` value missing
/// (RenderFailed), a values Secret missing (ReferenceNotFound, or skipped when optional), the
/// API server answering 500 (ApplyFailed, retried), the registry down (PullFailed, not stalled).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_end_in_specific_conditions_and_recover() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let required = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-req\ndata:\n  name: {{ required \"name is required\" .Values.name | quote }}\n";
    env.push_signed("1.0.0", "{}\n", &[("req.yaml", required)])
        .await;
    env.start();

    env.create(env.release("req", "1.0.0", json!({}))).await;
    let r = env
        .wait_condition("req", "to fail rendering", "Applied", "False")
        .await;
    let (_, reason, message) = condition(&r, "Applied").unwrap();
    assert_eq!(reason, "RenderFailed");
    assert!(message.contains("name is required"), "{message}");
    assert_eq!(condition(&r, "Stalled").unwrap().0, "False", "retried");
    env.patch_spec(
        "req",
        json!({"valuesFrom": [{"kind": "Secret", "name": "missing", "valuesKey": "v"}],
               "values": {"name": "x"}}),
    )
    .await;
    let r = env
        .wait_release("req", "to miss the Secret", |r| {
            condition(r, "Applied").is_some_and(|(_, reason, _)| reason == "ReferenceNotFound")
        })
        .await;
    let (_, _, message) = condition(&r, "Applied").unwrap();
    assert!(
        message.contains("Secret default/missing not found"),
        "{message}"
    );
    env.patch_spec(
        "req",
        json!({"valuesFrom": [{"kind": "Secret", "name": "missing", "valuesKey": "v", "optional": true}]}),
    )
    .await;
    env.wait_ready("req").await;

    // 500s on apply, more than the client retries: ApplyFailed (retryable), then Ready.
    env.api.fail_next(
        support::apiserver::Matcher::new("patch", "configmaps"),
        500,
        8,
    );
    env.create(env.release("flaky", "1.0.0", json!({"values": {"name": "y"}})))
        .await;
    let r = env
        .wait_condition("flaky", "to fail applying", "Applied", "False")
        .await;
    let (_, reason, message) = condition(&r, "Applied").unwrap();
    assert_eq!(reason, "ApplyFailed");
    assert!(message.contains("retryable"), "{message}");
    env.wait_ready("flaky").await;
    assert!(env.config_map("flaky-req").await.is_some());

    // The registry is unreachable: PullFailed, not Stalled.
    let mut down = env.release("down", "1.0.0", json!({}));
    down["spec"]["chart"]["repository"] = json!("oci://127.0.0.1:1/charts/demo");
    env.create(down).await;
    let r = env
        .wait_condition("down", "to fail to resolve", "SourceVerified", "False")
        .await;
    assert_eq!(condition(&r, "SourceVerified").unwrap().1, "PullFailed");
    assert_eq!(condition(&r, "Stalled").unwrap().0, "False");
    env.stop().await;
}

/// A TLS registry with basic auth, reached through the dockerconfigjson Secret and the CA Secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn private_tls_registry_through_secrets() {
    signet::tls::install_crypto_provider();
    let Some(reg) = TestRegistry::tls_with_auth("alice", "s3cret") else {
        return;
    };
    let docker_config = std::fs::read_to_string(reg.docker_config.clone().unwrap()).unwrap();
    let ca = std::fs::read_to_string(reg.ca_file.clone().unwrap()).unwrap();
    let Some(mut env) = Env::with(reg).await else {
        return;
    };
    env.push_signed(
        "1.0.0",
        "greeting: tls\n",
        &[("config.yaml", CONFIG_TEMPLATE)],
    )
    .await;
    env.put_secret("ca", "ca.crt", &ca, false).await;
    env.start();
    let mut release = env.release("tls", "1.0.0", json!({}));
    release["spec"]["chart"]["registry"] = json!({"caSecretRef": {"name": "ca"}});
    env.create(release).await;
    let r = env
        .wait_condition(
            "tls",
            "to be refused without credentials",
            "SourceVerified",
            "False",
        )
        .await;
    let (_, reason, message) = condition(&r, "SourceVerified").unwrap();
    assert_eq!(reason, "PullFailed", "{message}");
    env.put_secret("pull", ".dockerconfigjson", &docker_config, false)
        .await;
    env.patch_spec(
        "tls",
        json!({"chart": {"registry": {"caSecretRef": {"name": "ca"}, "secretRef": {"name": "pull"}}}}),
    )
    .await;
    env.wait_ready("tls").await;
    assert_eq!(
        data(&env.config_map("tls-config").await.unwrap(), "greeting").as_deref(),
        Some("tls")
    );
    env.stop().await;
}

const WIDGET_CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names:\n    kind: Widget\n    plural: widgets\n    singular: widget\n    listKind: WidgetList\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n";
const WIDGET: &str = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {{ .Release.Name }}-widget\nspec:\n  size: 3\n";

/// A chart's crds/ are installed first (Established before its custom resources are applied);
/// `health.wait: false` reports HealthCheckSkipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crds_first_then_custom_resources() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    env.api.set_crd_establish_delay(Duration::from_millis(500));
    env.push_signed(
        "1.0.0",
        "{}\n",
        &[("crds/widgets.yaml", WIDGET_CRD), ("widget.yaml", WIDGET)],
    )
    .await;
    env.start();
    env.create(env.release("w", "1.0.0", json!({"health": {"wait": false}})))
        .await;
    let r = env.wait_ready("w").await;
    let (_, reason, _) = condition(&r, "Healthy").unwrap();
    assert_eq!(reason, "HealthCheckSkipped");
    assert!(
        env.api
            .get(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                "widgets.example.com"
            )
            .is_some()
    );
    let widget = env
        .api
        .get("example.com/v1", "Widget", Some(NS), "w-widget");
    assert_eq!(widget.expect("widget applied")["spec"]["size"], 3);
    let inventory = r.status.unwrap().inventory;
    assert!(
        inventory.iter().any(|e| e.kind == "Widget"),
        "{inventory:?}"
    );
    env.stop().await;
}

/// `--watch-namespace` and `--watch-label-selector`: releases outside the scope are left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watch_scope_namespace_and_label_selector() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    env.push_config("1.0.0").await;
    env.start_scoped(Some(NS), Some("shard=a"));
    let mut in_shard = env.release("mine", "1.0.0", json!({}));
    in_shard["metadata"]["labels"] = json!({"shard": "a"});
    env.create(in_shard).await;
    let mut other_shard = env.release("theirs", "1.0.0", json!({}));
    other_shard["metadata"]["labels"] = json!({"shard": "b"});
    env.create(other_shard).await;
    let mut elsewhere = env.release("elsewhere", "1.0.0", json!({}));
    elsewhere["metadata"]["labels"] = json!({"shard": "a"});
    elsewhere["metadata"]["namespace"] = json!("kube-system");
    let elsewhere: SignedChartRelease = serde_json::from_value(elsewhere).unwrap();
    let system: Api<SignedChartRelease> = Api::namespaced(env.client(), "kube-system");
    system
        .create(&PostParams::default(), &elsewhere)
        .await
        .unwrap();
    env.wait_ready("mine").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let theirs = env.releases().get("theirs").await.unwrap();
    assert!(
        theirs.status.is_none(),
        "another shard's release is not touched"
    );
    assert!(theirs.finalizers().is_empty());
    assert!(env.config_map("theirs-config").await.is_none());
    let elsewhere = system.get("elsewhere").await.unwrap();
    assert!(
        elsewhere.status.is_none(),
        "another namespace's release is not touched"
    );
    env.stop().await;
}

/// Keyless: a chart signed through a local Fulcio and Rekor verifies by OIDC identity against the
/// trust root read from a ConfigMap, requiring the transparency log; the signer's issuer and
/// subject are in the status. Another identity is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keyless_identity_with_a_private_trust_root() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let Some(mock) = sigstore_mock::SigstoreMock::start(&env.dir.path().join("mock")) else {
        return;
    };
    env.push(
        "1.0.0",
        "greeting: keyless\n",
        &[("config.yaml", CONFIG_TEMPLATE)],
        None,
    )
    .await;
    let subject =
        "https://github.com/signet-dev/charts/.github/workflows/release.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    let token = sigstore_mock::identity_token(issuer, subject);
    let chart = format!("{}:1.0.0", env.reg.oci("charts/demo"));
    let out = tokio::task::block_in_place(|| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_signet"));
        c.args(["sign", &chart, "--identity-token", &token])
            .args([
                "--fulcio-url",
                &mock.url,
                "--rekor-url",
                &mock.url,
                "--tlog-upload",
            ])
            .args(env.reg.cli_flags());
        support::tools::run(&mut c)
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = std::fs::read_to_string(&mock.trusted_root).unwrap();
    env.put_config_map("sigstore-root", &[("trusted_root.json", &root)], false)
        .await;
    env.start();
    let keyless = |name: &str, subject: &str| {
        let mut r = env.release(name, "1.0.0", json!({}));
        r["spec"]["verify"] = json!({
            "authorities": [{"name": "release-ci", "keyless": {"identities": [
                {"issuer": issuer, "subject": subject}]}}],
            "trustRoot": {"kind": "ConfigMap", "name": "sigstore-root", "key": "trusted_root.json"},
            "requireTransparencyLog": true,
        });
        r
    };
    env.create(keyless("kl", subject)).await;
    let r = env.wait_ready("kl").await;
    let signers = r.status.unwrap().verified_signers;
    assert_eq!(signers.len(), 1, "{signers:?}");
    assert_eq!(signers[0].authority, "release-ci");
    assert_eq!(signers[0].issuer.as_deref(), Some(issuer));
    assert_eq!(signers[0].subject.as_deref(), Some(subject));

    env.create(keyless("kl-other", "https://github.com/someone/else"))
        .await;
    let r = env
        .wait_condition(
            "kl-other",
            "to refuse another identity",
            "SourceVerified",
            "False",
        )
        .await;
    let (_, reason, message) = condition(&r, "SourceVerified").unwrap();
    assert_eq!(reason, "VerificationFailed");
    assert!(message.starts_with("IdentityMismatch"), "{message}");
    assert!(env.config_map("kl-other-config").await.is_none());
    env.stop().await;
}

/// A chart copied with its signature to a mirror repository by the real `cosign copy` verifies
/// there: the signature binds the digest, as in cosign. `verify.signedRepository` naming the
/// mirror refuses the copy (`RepositoryMismatch`, nothing applied); naming the original accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mirrored_chart_verifies_by_digest_and_by_signed_repository_on_request() {
    let Some(cosign) = support::tools::tool("cosign") else {
        return;
    };
    let Some(mut env) = Env::new().await else {
        return;
    };
    env.push_config("1.0.0").await;
    let host = env.reg.host.clone();
    let home = env.dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let mut c = std::process::Command::new(cosign);
        c.env("HOME", &home)
            .env("DOCKER_CONFIG", home.join("no-docker-config"))
            .env("TUF_ROOT", home.join("tuf"))
            .args(["copy", "--allow-http-registry", "--allow-insecure-registry"])
            .arg(format!("{host}/charts/demo:1.0.0"))
            .arg(format!("{host}/mirror/demo:1.0.0"));
        support::tools::run(&mut c)
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.start();
    let mirrored = |name: &str, signed_repository: Option<String>| {
        let mut r = env.release(name, "1.0.0", json!({}));
        r["spec"]["chart"]["repository"] = json!(env.reg.oci("mirror/demo"));
        if let Some(repo) = signed_repository {
            r["spec"]["verify"]["signedRepository"] = json!(repo);
        }
        r
    };
    env.create(mirrored("mirror-any", None)).await;
    env.wait_ready("mirror-any").await;
    env.create(mirrored(
        "mirror-origin",
        Some(format!("{}/charts/demo", env.reg.host)),
    ))
    .await;
    env.wait_ready("mirror-origin").await;
    env.create(mirrored(
        "mirror-here",
        Some(format!("{}/mirror/demo", env.reg.host)),
    ))
    .await;
    let r = env
        .wait_condition(
            "mirror-here",
            "to refuse the copy",
            "SourceVerified",
            "False",
        )
        .await;
    let (_, reason, message) = condition(&r, "SourceVerified").unwrap();
    assert_eq!(reason, "VerificationFailed");
    assert!(message.starts_with("RepositoryMismatch"), "{message}");
    assert!(env.config_map("mirror-here-config").await.is_none());
    env.stop().await;
}

/// Shutdown (SIGTERM, or a lost lease) does not wait out a health wait of spec.timeout: running
/// reconciles get a grace period, then the controller stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_does_not_wait_out_a_health_wait() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    env.push_signed("1.0.0", "{}\n", &[("deploy.yaml", DEPLOYMENT_TEMPLATE)])
        .await;
    env.start();
    let mut r = env.release("slow", "1.0.0", json!({}));
    r["spec"]["timeout"] = json!("5m");
    env.create(r).await;
    env.wait_condition("slow", "to wait for health", "Applied", "True")
        .await;
    let running = env.controller.take().unwrap();
    let started = std::time::Instant::now();
    let _ = running.stop.send(());
    let result = tokio::time::timeout(Duration::from_secs(30), running.task).await;
    assert!(result.is_ok(), "the controller stopped");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "stopped after {took:?}");
}

/// Not a story: N releases (SIGNET_SCALE_N, default 100) of one small signed chart to Ready,
/// printing the time. `cargo test --test controller_stories -- --ignored scale --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a measurement, not a check"]
async fn scale() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let n: usize = std::env::var("SIGNET_SCALE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    env.push_signed(
        "1.0.0",
        "greeting: hello\n",
        &[
            ("config.yaml", CONFIG_TEMPLATE),
            ("extra.yaml", EXTRA_TEMPLATE),
        ],
    )
    .await;
    let started = std::time::Instant::now();
    env.start();
    for i in 0..n {
        let mut r = env.release(&format!("r{i}"), "1.0.0", json!({}));
        r["spec"]["interval"] = json!("10m");
        env.create(r).await;
    }
    let created = started.elapsed();
    env.wait_until("all Ready", async || {
        let list = env.releases().list(&Default::default()).await.unwrap();
        list.items
            .iter()
            .filter(|r| condition_is(r, "Ready", "True"))
            .count()
            == n
    })
    .await;
    eprintln!(
        "scale: {n} releases created in {created:?}, all Ready after {:?}",
        started.elapsed()
    );
    env.stop().await;
}
