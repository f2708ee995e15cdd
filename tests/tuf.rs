//! The trust root through TUF (`signet::verify::tuf`) against a real TUF repository, built and
//! changed by python-tuf (`tests/tuf_repo.py`, PyPI's `tuf` installed by `make tools` into
//! `.tools/python-tuf`) and served over HTTP on 127.0.0.1: first fetch, cached start with the
//! server down, root key rotation, and the refusals (expired timestamp, rollback, tampered target,
//! a new root not signed by the old keys); and a keyless signature from the local Sigstore
//! services verified by `signet verify` with the trust root it obtained through TUF.
//! Without python-tuf these skip with a note (and fail under CI=true).

#[path = "support/sigstore_mock.rs"]
mod sigstore_mock;
mod support;

use signet::verify::tuf::{Fetched, TufConfig, TufError, fetch_trusted_root};
use sigstore_mock::{SigstoreMock, identity_token};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::registry::TestRegistry;
use support::tools;

/// An HTTP server on 127.0.0.1 serving a directory (switchable, to serve an older copy), counting
/// requests; stopped on drop or by [`Mirror::stop`] (its runtime goes, with every connection).
struct Mirror {
    url: String,
    dir: Arc<Mutex<PathBuf>>,
    hits: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Mirror {
    fn start(dir: &Path) -> Self {
        let shared = Arc::new(Mutex::new(dir.to_path_buf()));
        let hits = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, addr) = std::sync::mpsc::channel();
        let (d, h) = (shared.clone(), hits.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
                    let (d, h) = (d.clone(), h.clone());
                    async move { serve_file(&d, &h, uri.path()) }
                });
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        let addr = addr.recv().expect("server address");
        Self {
            url: format!("http://{addr}"),
            dir: shared,
            hits,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn serve(&self, dir: &Path) {
        *self.dir.lock().unwrap() = dir.to_path_buf();
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve_file(
    dir: &Mutex<PathBuf>,
    hits: &AtomicUsize,
    path: &str,
) -> (axum::http::StatusCode, Vec<u8>) {
    hits.fetch_add(1, Ordering::SeqCst);
    let rel = path.trim_start_matches('/');
    if rel.split('/').any(|p| p == "..") {
        return (axum::http::StatusCode::BAD_REQUEST, Vec::new());
    }
    let file = dir.lock().unwrap().join(rel);
    match std::fs::read(&file) {
        Ok(bytes) => (axum::http::StatusCode::OK, bytes),
        Err(_) => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
    }
}

/// `tests/tuf_repo.py STATE ...` with python-tuf; `None` (and a note) when it is not installed.
struct RepoTool {
    python: PathBuf,
    pythonpath: PathBuf,
    state: PathBuf,
}

impl RepoTool {
    fn new(state: &Path) -> Option<Self> {
        let pythonpath = tools::tools_dir()
            .parent()
            .map(|p| p.join("python-tuf"))
            .unwrap_or_default();
        let python = tools::tool("python3")?;
        let probe = Command::new(&python)
            .env("PYTHONPATH", &pythonpath)
            .args(["-c", "import tuf.api.metadata, securesystemslib.signer"])
            .output();
        if !probe.is_ok_and(|o| o.status.success()) {
            support::corpus::skip(
                "python-tuf",
                &format!("not found in {} (run `make tools`)", pythonpath.display()),
            );
            return None;
        }
        Some(Self {
            python,
            pythonpath,
            state: state.to_path_buf(),
        })
    }

    fn run(&self, args: &[&str]) {
        let mut c = Command::new(&self.python);
        c.env("PYTHONPATH", &self.pythonpath)
            .arg(tools::workspace_root().join("tests/tuf_repo.py"))
            .arg(&self.state)
            .args(args);
        tools::run_ok(&mut c);
    }

    /// The served directory.
    fn repo(&self) -> PathBuf {
        self.state.join("repo")
    }

    /// The repository's first root, the client's initial trusted root.
    fn first_root(&self) -> PathBuf {
        self.repo().join("1.root.json")
    }
}

/// A small trusted_root.json that tells its versions apart.
fn trusted_root(dir: &Path, label: &str) -> (PathBuf, String) {
    let text = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [], "certificateAuthorities": [], "ctlogs": [], "timestampAuthorities": [],
        "x-test-label": label,
    })
    .to_string();
    let path = dir.join(format!("trusted_root-{label}.json"));
    std::fs::write(&path, &text).unwrap();
    (path, text)
}

struct Fixture {
    work: tempfile::TempDir,
    tool: RepoTool,
    mirror: Mirror,
}

impl Fixture {
    /// A repository (root v1) whose target is the trusted root labelled `first`, served.
    fn new() -> Option<(Self, String)> {
        let work = tools::temp_dir();
        let tool = RepoTool::new(&work.path().join("state"))?;
        let (target, text) = trusted_root(work.path(), "first");
        tool.run(&["init", "--target", target.to_str().unwrap()]);
        let mirror = Mirror::start(&tool.repo());
        Some((Self { work, tool, mirror }, text))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// A client of the served repository trusting its first root, caching in `cache`.
    fn config(&self, cache: &str) -> TufConfig {
        let mut config =
            TufConfig::new(Some(&self.mirror.url), Some(&self.tool.first_root())).expect("config");
        config.cache_dir = Some(self.path(cache));
        config
    }

    fn publish(&self, label: &str) -> String {
        let (target, text) = trusted_root(self.work.path(), label);
        self.tool
            .run(&["publish", "--target", target.to_str().unwrap()]);
        text
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn fetch(config: &TufConfig) -> Result<Fetched, TufError> {
    runtime().block_on(fetch_trusted_root(config))
}

fn now_refresh(mut config: TufConfig) -> TufConfig {
    config.refresh_after = Duration::ZERO;
    config
}

#[test]
fn first_fetch_then_cached_start_with_the_server_down() {
    let Some((mut fx, first)) = Fixture::new() else {
        return;
    };
    let config = fx.config("cache");
    let got = fetch(&config).expect("first fetch");
    assert_eq!(got.trusted_root_json, first);
    assert!(!got.from_cache);
    assert_eq!(got.root_version, 1);
    assert!(got.expires > chrono::Utc::now());
    let dir = config.repository_dir().unwrap();
    assert!(dir.join("current/root.json").is_file(), "{}", dir.display());
    assert!(dir.join("current/metadata/timestamp.json").is_file());

    // A fresh cache is re-verified offline: no request at all.
    let hits = fx.mirror.hits();
    let again = fetch(&config).expect("cached start");
    assert!(again.from_cache);
    assert_eq!(again.trusted_root_json, first);
    assert_eq!(fx.mirror.hits(), hits, "a cached start asked the mirror");

    // Server down: the cache still serves, both when fresh and when due for a refresh.
    fx.mirror.stop();
    let down = fetch(&config).expect("cached start, server down");
    assert!(down.from_cache && down.refresh_error.is_none());
    let due = fetch(&now_refresh(config.clone())).expect("refresh due, server down");
    assert!(due.from_cache);
    assert_eq!(due.trusted_root_json, first);
    let why = due
        .refresh_error
        .expect("the failed refresh is reported")
        .to_string();
    assert!(why.contains(&fx.mirror.url), "{why}");

    // No cache and no server: a clear failure naming the mirror.
    let err = fetch(&fx.config("empty-cache")).expect_err("nothing to serve");
    assert!(matches!(err, TufError::Update { .. }), "{err}");
    assert!(err.to_string().contains(&fx.mirror.url), "{err}");
    eprintln!("tuf: first fetch, offline cached start, server down: ok");
}

#[test]
fn a_changed_target_is_picked_up_when_the_cache_is_due() {
    let Some((fx, first)) = Fixture::new() else {
        return;
    };
    let config = fx.config("cache");
    assert_eq!(fetch(&config).unwrap().trusted_root_json, first);
    let second = fx.publish("second");
    // Within the refresh interval the cache answers; once due, the update brings the new target.
    assert_eq!(fetch(&config).unwrap().trusted_root_json, first);
    let got = fetch(&now_refresh(config.clone())).unwrap();
    assert!(!got.from_cache);
    assert_eq!(got.trusted_root_json, second);
    assert_eq!(fetch(&config).unwrap().trusted_root_json, second);
}

#[test]
fn root_key_rotation_is_followed_and_an_unchained_root_refused() {
    let Some((fx, first)) = Fixture::new() else {
        return;
    };
    let config = fx.config("cache");
    assert_eq!(fetch(&config).unwrap().root_version, 1);

    // Root v2 with new root and timestamp keys, signed by the old and the new root keys.
    fx.tool.run(&["rotate-root"]);
    let second = fx.publish("second");
    let got = fetch(&now_refresh(config.clone())).expect("rotation");
    assert_eq!(got.root_version, 2);
    assert_eq!(got.trusted_root_json, second);
    // The cache now starts from root v2 (offline start verifies with the new keys).
    let cached = fetch(&config).unwrap();
    assert!(cached.from_cache);
    assert_eq!(cached.root_version, 2);
    // A new client that only knows root v1 walks to v2.
    let fresh = fetch(&fx.config("fresh-cache")).expect("1 -> 2");
    assert_eq!(
        (fresh.root_version, fresh.trusted_root_json),
        (2, second.clone())
    );

    // Root v3 signed by the new keys only: not trusted, whatever else it brings.
    fx.tool.run(&["rotate-root", "--unsigned-by-old"]);
    fx.publish("third");
    let kept = fetch(&now_refresh(config.clone())).expect("cache kept");
    assert_eq!(kept.root_version, 2);
    assert_eq!(kept.trusted_root_json, second);
    let why = kept.refresh_error.expect("refused").to_string();
    assert!(why.to_lowercase().contains("root"), "{why}");
    let err = fetch(&fx.config("another-cache")).expect_err("v3 not chained to v1/v2");
    assert!(matches!(err, TufError::Update { .. }), "{err}");
    eprintln!("tuf: root rotation followed; root not signed by the old keys refused: {err}");
    let _ = first;
}

#[test]
fn expired_timestamp_is_refused() {
    let Some((fx, first)) = Fixture::new() else {
        return;
    };
    let config = fx.config("cache");
    assert_eq!(fetch(&config).unwrap().trusted_root_json, first);
    fx.tool.run(&["timestamp", "--expires-in", "-60"]);
    let err = fetch(&fx.config("fresh-cache")).expect_err("expired timestamp");
    let text = err.to_string();
    assert!(
        text.contains("timestamp") && text.contains("expired"),
        "{text}"
    );
    // A client with an unexpired cache keeps it and reports the refusal.
    let kept = fetch(&now_refresh(config)).expect("cache kept");
    assert!(kept.from_cache);
    let why = kept.refresh_error.unwrap().to_string();
    assert!(why.contains("expired"), "{why}");
    eprintln!("tuf: expired timestamp refused: {text}");
}

#[test]
fn rollback_to_older_metadata_is_refused() {
    let Some((fx, first)) = Fixture::new() else {
        return;
    };
    // Keep the repository as it is now (timestamp v1), then move it on and fetch (v2).
    let old = fx.path("old-repo");
    copy_dir(&fx.tool.repo(), &old);
    let second = fx.publish("second");
    let config = fx.config("cache");
    assert_eq!(fetch(&config).unwrap().trusted_root_json, second);
    // The mirror now serves the older, validly signed, unexpired copy.
    fx.mirror.serve(&old);
    let kept = fetch(&now_refresh(config)).expect("cache kept");
    assert_eq!(kept.trusted_root_json, second, "rolled back to {first}");
    let why = kept.refresh_error.expect("rollback reported").to_string();
    assert!(why.contains("previously fetched version"), "{why}");
    eprintln!("tuf: rollback refused: {why}");
}

#[test]
fn tampered_target_is_refused_and_a_tampered_cache_refetched() {
    let Some((fx, first)) = Fixture::new() else {
        return;
    };
    // A tampered cached target is caught by the offline re-verification: fetched again.
    let config = fx.config("cache");
    fetch(&config).unwrap();
    let cached_targets = config.repository_dir().unwrap().join("current/targets");
    for entry in std::fs::read_dir(&cached_targets).unwrap() {
        std::fs::write(entry.unwrap().path(), first.replace("first", "fiRST")).unwrap();
    }
    let got = fetch(&config).expect("refetched");
    assert!(!got.from_cache);
    assert_eq!(got.trusted_root_json, first);

    // A tampered target on the mirror is refused.
    for entry in std::fs::read_dir(fx.tool.repo().join("targets")).unwrap() {
        std::fs::write(entry.unwrap().path(), first.replace("first", "evil!")).unwrap();
    }
    let err = fetch(&fx.config("fresh-cache")).expect_err("tampered target");
    let text = err.to_string();
    assert!(text.to_lowercase().contains("hash mismatch"), "{text}");
    eprintln!("tuf: tampered target refused: {text}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn keyless_signature_verifies_with_the_trust_root_from_tuf() {
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let Some(oras) = tools::tool("oras") else {
        return;
    };
    let work = tools::temp_dir();
    let Some(tool) = RepoTool::new(&work.path().join("state")) else {
        return;
    };
    let Some(mock) = SigstoreMock::start(&work.path().join("mock")) else {
        return;
    };
    // The TUF repository's target is the trusted root describing the local Sigstore services.
    tool.run(&["init", "--target", mock.trusted_root.to_str().unwrap()]);
    let mut mirror = Mirror::start(&tool.repo());

    let image = format!("{}/charts/keyless:1.0", reg.host);
    std::fs::write(work.path().join("artifact.txt"), "signed keyless").unwrap();
    tools::run_ok(Command::new(&oras).current_dir(work.path()).args([
        "push",
        "--plain-http",
        &image,
        "artifact.txt",
    ]));
    let subject =
        "https://github.com/signet-dev/charts/.github/workflows/release.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    let token = identity_token(issuer, subject);
    let cache = work.path().join("tuf-cache");
    let signet = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
        c.env("SIGNET_TUF_CACHE", &cache)
            .args(args)
            .args(reg.cli_flags());
        tools::run(&mut c)
    };
    let out = signet(&[
        "sign",
        &reg.oci("charts/keyless:1.0"),
        "--identity-token",
        &token,
        "--fulcio-url",
        &mock.url,
        "--rekor-url",
        &mock.url,
        "--tlog-upload",
    ]);
    assert!(
        out.status.success(),
        "signet sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let root = tool.first_root();
    let mirror_url = mirror.url.clone();
    let verify = |identity: &str, tuf_flags: bool| {
        let reference = reg.oci("charts/keyless:1.0");
        let mut args = vec![
            "verify",
            reference.as_str(),
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
        ];
        if tuf_flags {
            args.extend([
                "--tuf-mirror",
                &mirror_url,
                "--tuf-root",
                root.to_str().unwrap(),
            ]);
        }
        signet(&args)
    };
    // No --trusted-root: the trust root comes through TUF from the local mirror.
    let out = verify(subject, true);
    assert!(
        out.status.success(),
        "signet verify through TUF: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(mirror.hits() > 0, "the mirror was not asked");
    let out = verify("https://github.com/someone/else", true);
    assert!(!out.status.success(), "wrong identity accepted");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("IdentityMismatch"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `signet initialize --mirror --root` makes that repository the default for later runs.
    let out = tools::run(
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .env("SIGNET_TUF_CACHE", &cache)
            .args(["initialize", "--mirror", &mirror.url, "--root"])
            .arg(&root),
    );
    assert!(
        out.status.success(),
        "initialize: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("root version 1"), "{text}");
    let out = verify(subject, false);
    assert!(
        out.status.success(),
        "signet verify after initialize: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The mirror goes down: the CLI's cache still serves; without a cache, a clear failure.
    mirror.stop();
    let out = verify(subject, true);
    assert!(
        out.status.success(),
        "signet verify, mirror down, cached: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tools::run(
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .env("SIGNET_TUF_CACHE", work.path().join("empty-cache"))
            .args(["verify", &reg.oci("charts/keyless:1.0")])
            .args(["--certificate-identity", subject])
            .args(["--certificate-oidc-issuer", issuer])
            .args(["--tuf-mirror", &mirror_url, "--tuf-root"])
            .arg(&root)
            .args(reg.cli_flags()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "verified with no trust root");
    assert!(
        stderr.contains("through TUF") && stderr.contains("--trusted-root"),
        "{stderr}"
    );
    eprintln!(
        "tuf: signet verify with the mirror down and no cache: {}",
        stderr.trim()
    );
    eprintln!(
        "tuf: keyless signature (local Fulcio + Rekor) verified with the trust root from TUF: ok"
    );
}

/// `config/samples/*keyless.yaml` as written — keyless GitHub Actions identity, transparency log
/// required, no trustRoot — verifies in the controller with the trust root it obtains through TUF
/// (here from the local mirror whose target describes the local Sigstore services; in a cluster,
/// the public-good repository). Only the chart's location is changed, to the local registry.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn controller_verifies_the_keyless_sample_through_tuf() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, PostParams};
    use signet::api::SignedChartRelease;
    use signet::registry::{ChartArtifact, OciReference, RegistryClient, helm_annotations};

    signet::tls::install_crypto_provider();
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let work = tools::temp_dir();
    let Some(tool) = RepoTool::new(&work.path().join("state")) else {
        return;
    };
    let Some(mock) = SigstoreMock::start(&work.path().join("mock")) else {
        return;
    };
    tokio::task::block_in_place(|| {
        tool.run(&["init", "--target", mock.trusted_root.to_str().unwrap()])
    });
    let mirror = Mirror::start(&tool.repo());

    // The sample's chart (cert-manager 1.16.2), pushed to the local registry.
    let sample_path = tools::workspace_root()
        .join("config/samples/signet_v1alpha1_signedchartrelease_keyless.yaml");
    let mut sample: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&sample_path).unwrap()).unwrap();
    let chart_dir = work.path().join("cert-manager");
    std::fs::create_dir_all(chart_dir.join("templates")).unwrap();
    std::fs::write(
        chart_dir.join("Chart.yaml"),
        "apiVersion: v2\nname: cert-manager\nversion: 1.16.2\n",
    )
    .unwrap();
    std::fs::write(chart_dir.join("values.yaml"), "installCRDs: true\n").unwrap();
    std::fs::write(
        chart_dir.join("templates/config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  crds: {{ .Values.installCRDs | quote }}\n",
    )
    .unwrap();
    let source = signet::package::load_chart_dir(&chart_dir).unwrap();
    let artifact = ChartArtifact {
        name: source.metadata.name.clone(),
        version: source.metadata.version.clone(),
        config_json: serde_json::to_vec(&source.metadata).unwrap(),
        annotations: helm_annotations(&source.metadata, "2026-01-01T00:00:00Z"),
        archive: signet::package::write_archive(&source).unwrap(),
    };
    let registry = RegistryClient::new(reg.options()).unwrap();
    let pushed = registry
        .push_chart(
            &OciReference::parse(&reg.oci("charts")).unwrap(),
            &artifact,
            None,
        )
        .await
        .unwrap();

    // Signed keyless by the identity the sample asks for: the release workflow on main.
    let subject =
        "https://github.com/example-org/charts/.github/workflows/release.yaml@refs/heads/main";
    let token = identity_token("https://token.actions.githubusercontent.com", subject);
    let chart = format!("{}:1.16.2", reg.oci("charts/cert-manager"));
    let out = tokio::task::block_in_place(|| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
        c.args(["sign", &chart, "--identity-token", &token])
            .args([
                "--fulcio-url",
                &mock.url,
                "--rekor-url",
                &mock.url,
                "--tlog-upload",
            ])
            .args(reg.cli_flags());
        tools::run(&mut c)
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let api = support::apiserver::ApiServer::start().await;
    Api::<CustomResourceDefinition>::all(api.client())
        .create(&PostParams::default(), &signet::api::crd().unwrap())
        .await
        .unwrap();
    let mut tuf = TufConfig::new(Some(&mirror.url), Some(&tool.first_root())).unwrap();
    tuf.cache_dir = Some(work.path().join("tuf-cache"));
    let config = signet::controller::Config {
        concurrency: 2,
        watch_namespace: None,
        label_selector: None,
        max_history: 10,
        metrics: Arc::new(signet::controller::metrics::Metrics::new()),
        tuf: Some(Arc::new(
            signet::verify::tuf::TufTrustRoot::new(tuf).unwrap(),
        )),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(signet::controller::run(
        api.kube_config(),
        config,
        async move {
            let _ = stopped.await;
        },
    ));

    assert!(
        sample["spec"]["verify"].get("trustRoot").is_none(),
        "{sample}"
    );
    sample["spec"]["chart"]["repository"] = reg.oci("charts/cert-manager").into();
    sample["spec"]["chart"]["digest"] = pushed.digest.clone().into();
    sample["spec"]["chart"]["registry"] = serde_json::json!({"plainHTTP": true});
    let namespace = sample["metadata"]["namespace"].as_str().unwrap().to_owned();
    let name = sample["metadata"]["name"].as_str().unwrap().to_owned();
    // The sample's namespace exists, as it would in the cluster.
    let ns: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}})).unwrap();
    Api::all(api.client())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let releases: Api<SignedChartRelease> = Api::namespaced(api.client(), &namespace);
    releases
        .create(
            &PostParams::default(),
            &serde_json::from_value(sample).unwrap(),
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let condition = |r: &SignedChartRelease, type_: &str| {
        r.status.as_ref().and_then(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == type_)
                .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
        })
    };
    let release = loop {
        let r = releases.get(&name).await.unwrap();
        if condition(&r, "Ready").is_some_and(|(status, ..)| status == "True") {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not Ready: {}",
            serde_json::to_string_pretty(&r.status).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (_, _, message) = condition(&release, "SourceVerified").unwrap();
    assert!(message.contains("github-release-workflow"), "{message}");
    let signers = release.status.unwrap().verified_signers;
    assert_eq!(signers[0].subject.as_deref(), Some(subject));
    assert!(
        mirror.hits() > 0,
        "the controller did not ask the TUF mirror"
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(20), controller).await;
    eprintln!("tuf: config/samples keyless release verified by the controller through TUF: ok");
}
