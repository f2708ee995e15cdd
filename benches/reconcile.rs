//! Reconcile throughput and idle cost of `signet-controller`, run as its own process against the
//! in-process API-server test double and a real local registry with a cosign-signed chart.
//!
//! Throughput: N SignedChartReleases of one small chart (a Deployment scaled to zero, a
//! ServiceAccount, a Service, an Ingress) from not-yet-reconciled to Ready; prints the time to
//! all-Ready and the controller's peak RSS (VmHWM of its process). A stand-in for
//! kube-controller-manager marks each Deployment rolled out as soon as it is written.
//! Idle cost: one interval of one unchanged, Ready release; prints registry requests and blob
//! downloads (counted by an HTTP proxy in front of the registry, through which the chart is also
//! pushed and signed, so the signed repository is the one the controller reads), signature
//! verifications (the controller's verification-cache misses) and API writes that changed an
//! object (the double's statistics). The same figures for the release's first reconcile are
//! printed first, to show that the counters count.
//!
//! `cargo bench --bench reconcile`; `SIGNET_BENCH_RELEASES=100,1000` (default 100),
//! `SIGNET_BENCH_CONCURRENT` (default 8), `SIGNET_BENCH_TIMEOUT` in seconds (default 600).
//! Skips with a message when the tools are missing.

#[path = "../tests/support/mod.rs"]
mod support;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::apiserver::ApiServer;
use support::registry::{CountingProxy, TestRegistry};
use support::tools;

const CHART_VERSION: &str = "1.0.0";
const SCR: &str = "signet.dev/v1alpha1";
/// The idle phase's release interval: short, so the bench measures one whole interval quickly.
const IDLE_INTERVAL_SECS: u64 = 10;

fn main() {
    signet::tls::install_crypto_provider();
    let Some(cosign) = tools::tool("cosign") else {
        return;
    };
    let Some(oras) = tools::tool("oras") else {
        return;
    };
    let Some(registry) = TestRegistry::plain() else {
        return;
    };
    let sizes: Vec<usize> = std::env::var("SIGNET_BENCH_RELEASES")
        .unwrap_or_else(|_| "100".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("SIGNET_BENCH_RELEASES: numbers, comma-separated")
        })
        .collect();
    let concurrent = env_number("SIGNET_BENCH_CONCURRENT", 8);
    let timeout = Duration::from_secs(env_number("SIGNET_BENCH_TIMEOUT", 600));

    let proxy = CountingProxy::start(registry.addr);
    let dir = tools::temp_dir();
    let chart = publish_signed_chart(dir.path(), &proxy.host, &cosign, &oras);
    let public_key = std::fs::read_to_string(dir.path().join("cosign.pub")).expect("cosign.pub");

    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    for n in sizes {
        let server = runtime.block_on(start_double());
        seed_namespace(&server, "bench", &public_key);
        for i in 0..n {
            server.put(release("bench", &format!("r{i:04}"), &chart, "10m"));
        }
        let kubeconfig = dir.path().join(format!("kubeconfig-{n}"));
        std::fs::write(&kubeconfig, server.kubeconfig_yaml()).expect("write kubeconfig");

        let started = Instant::now();
        let controller = ControllerProcess::start(&kubeconfig, concurrent, None);
        if !controller.has_reconciler() {
            controller.stop();
            println!(
                "reconcile: skipped, this signet-controller build has no reconciler (stand-in run())"
            );
            return;
        }
        let ready = with_fake_deployment_controller(&server, || {
            wait_all_ready(&server, "bench", n, timeout, &controller)
        });
        let elapsed = started.elapsed();
        let peak_rss = controller.peak_rss_kib();
        controller.stop();
        match ready {
            Ok(()) => println!(
                "reconcile throughput (API-server double, --concurrent={concurrent}): {n} releases Ready in {:.1} s ({:.1}/s), controller peak RSS {:.1} MiB",
                elapsed.as_secs_f64(),
                n as f64 / elapsed.as_secs_f64(),
                peak_rss as f64 / 1024.0
            ),
            Err(ready) => println!(
                "reconcile throughput (API-server double, --concurrent={concurrent}): only {ready}/{n} releases Ready after {:.0} s, controller peak RSS {:.1} MiB",
                elapsed.as_secs_f64(),
                peak_rss as f64 / 1024.0
            ),
        }
    }

    idle_cost(&runtime, dir.path(), &proxy, &chart, &public_key, timeout);
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: a number")))
        .unwrap_or(default)
}

/// One unchanged Ready release over one interval: what does the controller cost at rest?
fn idle_cost(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    registry: &CountingProxy,
    chart: &str,
    public_key: &str,
    timeout: Duration,
) {
    let server = runtime.block_on(start_double());
    seed_namespace(&server, "idle", public_key);
    let interval = format!("{IDLE_INTERVAL_SECS}s");
    server.put(release("idle", "steady", chart, &interval));
    let kubeconfig = dir.join("kubeconfig-idle");
    std::fs::write(&kubeconfig, server.kubeconfig_yaml()).expect("write kubeconfig");
    // Before the controller starts: its first reconcile begins as soon as it is up.
    let start = Snapshot::baseline(&server, registry);
    let controller = ControllerProcess::start(&kubeconfig, 2, Some("idle"));
    if !controller.has_reconciler() {
        controller.stop();
        println!("idle cost: skipped, this signet-controller build has no reconciler");
        return;
    }
    let measured = with_fake_deployment_controller(&server, || {
        wait_all_ready(&server, "idle", 1, timeout, &controller)?;
        // Let the first reconcile's trailing writes (status, Events) land before the baseline.
        std::thread::sleep(Duration::from_secs(2));
        let before = Snapshot::take(&server, registry, &controller);
        print_costs("first reconcile of the release", &start, &before);
        // One interval plus the controller's jitter and the reconcile itself.
        std::thread::sleep(Duration::from_secs(IDLE_INTERVAL_SECS * 3 / 2));
        Ok::<_, usize>((before, Snapshot::take(&server, registry, &controller)))
    });
    controller.stop();
    let (before, after) = match measured {
        Ok(snapshots) => snapshots,
        Err(ready) => {
            println!("idle cost: skipped, the release did not become Ready ({ready}/1)");
            return;
        }
    };
    let reconciles =
        after.metric_sum("signet_reconcile_total") - before.metric_sum("signet_reconcile_total");
    print_costs(
        &format!(
            "idle cost: one {interval} interval of a Ready release, {reconciles} reconcile(s)"
        ),
        &before,
        &after,
    );
}

fn print_costs(what: &str, before: &Snapshot, after: &Snapshot) {
    let changed: BTreeMap<_, _> = after
        .writes
        .iter()
        .map(|(resource, n)| {
            let was = before.writes.get(resource).copied().unwrap_or(0);
            (resource.clone(), n - was)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let verifications = "signet_cache_misses_total{cache=\"verification\"}";
    println!(
        "{what}: registry requests {}, blob downloads {}, signature verifications {}, API writes that changed an object {} {changed:?}",
        after.registry_requests - before.registry_requests,
        after.blob_downloads - before.blob_downloads,
        after.metric(verifications) - before.metric(verifications),
        changed.values().sum::<usize>(),
    );
}

/// A chart with the four objects, packaged and pushed with `signet`, signed with `cosign`;
/// returns its `oci://` repository.
fn publish_signed_chart(dir: &Path, host: &str, cosign: &Path, oras: &Path) -> String {
    let chart = dir.join("bench");
    std::fs::create_dir_all(chart.join("templates")).expect("chart dir");
    let files = [
        (
            "Chart.yaml",
            format!("apiVersion: v2\nname: bench\nversion: {CHART_VERSION}\n"),
        ),
        (
            "values.yaml",
            "image: registry.example/bench:1\n".to_owned(),
        ),
        (
            "templates/deployment.yaml",
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: {app: {{ .Release.Name }}}
spec:
  replicas: 0
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      serviceAccountName: {{ .Release.Name }}
      containers:
        - name: app
          image: {{ .Values.image }}
          ports: [{containerPort: 8080}]
"#
            .to_owned(),
        ),
        (
            "templates/serviceaccount.yaml",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}\n"
                .to_owned(),
        ),
        (
            "templates/service.yaml",
            r#"apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app: {{ .Release.Name }}}
  ports: [{port: 80, targetPort: 8080}]
"#
            .to_owned(),
        ),
        (
            "templates/ingress.yaml",
            r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .Release.Name }}
spec:
  rules:
    - host: {{ .Release.Name }}.bench.example
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: {{ .Release.Name }}, port: {number: 80}}
"#
            .to_owned(),
        ),
    ];
    for (name, text) in files {
        std::fs::write(chart.join(name), text).expect("chart file");
    }
    let signet = env!("CARGO_BIN_EXE_signet");
    tools::run_ok(
        Command::new(signet)
            .current_dir(dir)
            .args(["package", "bench", "-d", "dist"]),
    );
    let repository = format!("oci://{host}/charts");
    tools::run_ok(Command::new(signet).current_dir(dir).args([
        "push",
        &format!("dist/bench-{CHART_VERSION}.tgz"),
        &repository,
        "--plain-http",
    ]));
    let image = format!("{host}/charts/bench");
    let digest = tools::run_ok(Command::new(oras).args([
        "resolve",
        "--plain-http",
        &format!("{image}:{CHART_VERSION}"),
    ]))
    .trim()
    .to_owned();
    let cosign_cmd = || {
        let mut c = Command::new(cosign);
        c.current_dir(dir)
            .env("COSIGN_PASSWORD", "bench")
            .env("HOME", dir);
        c
    };
    tools::run_ok(cosign_cmd().arg("generate-key-pair"));
    tools::run_ok(
        cosign_cmd()
            .args([
                "sign",
                "--key",
                "cosign.key",
                "--tlog-upload=false",
                "--allow-http-registry",
                "-y",
            ])
            .arg(format!("{image}@{digest}")),
    );
    format!("{repository}/bench")
}

async fn start_double() -> ApiServer {
    let server = ApiServer::start().await;
    let crd = serde_json::to_value(signet::api::crd().expect("the CRD")).expect("CRD as JSON");
    server.install_crd(&crd).await;
    server
}

/// The namespace and the Secret with the public key (seeded directly: not counted in stats).
fn seed_namespace(server: &ApiServer, namespace: &str, public_key: &str) {
    use base64::Engine as _;
    server.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}));
    server.put(json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "bench-key", "namespace": namespace},
        "data": {"cosign.pub": base64::engine::general_purpose::STANDARD.encode(public_key)},
    }));
}

fn release(namespace: &str, name: &str, repository: &str, interval: &str) -> Value {
    json!({
        "apiVersion": SCR, "kind": "SignedChartRelease",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "chart": {"repository": repository, "version": CHART_VERSION, "registry": {"plainHTTP": true}},
            "verify": {
                "authorities": [{"name": "bench", "key": {"secretRef": {"name": "bench-key", "key": "cosign.pub"}}}],
                // Signed with --tlog-upload=false: no transparency log in a bench.
                "requireTransparencyLog": false,
            },
            "interval": interval,
            "timeout": "2m",
        },
    })
}

/// Ok when all `n` releases of `namespace` are Ready for their generation, else the count Ready
/// at the timeout (or when the controller died).
fn wait_all_ready(
    server: &ApiServer,
    namespace: &str,
    n: usize,
    timeout: Duration,
    controller: &ControllerProcess,
) -> Result<(), usize> {
    let deadline = Instant::now() + timeout;
    let mut last_report = Instant::now();
    loop {
        let ready = server
            .list(SCR, "SignedChartRelease", Some(namespace))
            .iter()
            .filter(|r| is_ready(r))
            .count();
        if ready >= n {
            return Ok(());
        }
        if Instant::now() > deadline || !controller.is_running() {
            return Err(ready);
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("  {ready}/{n} Ready");
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn is_ready(release: &Value) -> bool {
    let generation = &release["metadata"]["generation"];
    release["status"]["observedGeneration"] == *generation
        && release["status"]["conditions"]
            .as_array()
            .is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
}

/// Runs `phase` while a stand-in for kube-controller-manager's Deployment controller marks every
/// Deployment whose status is behind its generation as rolled out (scaled to zero: nothing to
/// wait for).
fn with_fake_deployment_controller<R>(server: &ApiServer, phase: impl FnOnce() -> R) -> R {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                for deployment in server.list("apps/v1", "Deployment", None) {
                    let generation = deployment["metadata"]["generation"].as_i64().unwrap_or(1);
                    if deployment["status"]["observedGeneration"].as_i64() == Some(generation) {
                        continue;
                    }
                    let replicas = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
                    server.set_status(
                        "apps/v1",
                        "Deployment",
                        deployment["metadata"]["namespace"].as_str(),
                        deployment["metadata"]["name"].as_str().unwrap_or_default(),
                        json!({
                            "observedGeneration": generation,
                            "replicas": replicas, "updatedReplicas": replicas,
                            "readyReplicas": replicas, "availableReplicas": replicas,
                            "conditions": [
                                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                            ],
                        }),
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let result = phase();
        stop.store(true, Ordering::SeqCst);
        result
    })
}

/// The controller process, its log drained on a thread, `/metrics` reachable.
struct ControllerProcess {
    child: Child,
    metrics_addr: String,
    no_reconciler: bool,
}

impl ControllerProcess {
    fn start(kubeconfig: &Path, concurrent: u64, namespace: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_signet-controller"));
        command
            .args([
                "--health-addr=127.0.0.1:0",
                "--metrics-addr=127.0.0.1:0",
                "--log-format=json",
            ])
            .arg(format!("--concurrent={concurrent}"))
            .env("KUBECONFIG", kubeconfig)
            .env("SIGNET_LOG", "info")
            .env_remove("SIGNET_LEADER_ELECT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(namespace) = namespace {
            command.arg(format!("--watch-namespace={namespace}"));
        }
        let mut child = command.spawn().expect("start signet-controller");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel::<Value>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if entry["level"] == "ERROR" || entry["level"] == "WARN" {
                    eprintln!("  controller: {}", entry["fields"]["message"]);
                }
                let _ = tx.send(entry);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut metrics_addr = None;
        let mut no_reconciler = false;
        // The start line carries the addresses; the stand-in run() says so right after.
        while Instant::now() < deadline {
            let Ok(entry) = rx.recv_timeout(Duration::from_millis(500)) else {
                if metrics_addr.is_some() {
                    break;
                }
                continue;
            };
            if let Some(addr) = entry["fields"]["metrics_addr"].as_str() {
                metrics_addr = Some(addr.to_owned());
            }
            let message = entry["fields"]["message"].as_str().unwrap_or_default();
            if message.contains("reconciler is not part of this build") {
                no_reconciler = true;
                break;
            }
        }
        Self {
            child,
            metrics_addr: metrics_addr.expect("the controller logged its metrics address"),
            no_reconciler,
        }
    }

    fn has_reconciler(&self) -> bool {
        !self.no_reconciler
    }

    fn is_running(&self) -> bool {
        Path::new(&format!("/proc/{}", self.child.id())).exists()
    }

    /// VmHWM: the process's peak resident set, in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn metrics(&self) -> BTreeMap<String, f64> {
        let mut stream =
            std::net::TcpStream::connect(&self.metrics_addr).expect("connect /metrics");
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.metrics_addr
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read /metrics");
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' '))
            .filter_map(|(series, value)| Some((series.to_owned(), value.parse().ok()?)))
            .collect()
    }

    fn stop(mut self) {
        let _ = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", self.child.id())])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Counters at one moment: the double's changing writes, the registry's access log, the
/// controller's metrics.
struct Snapshot {
    writes: BTreeMap<String, usize>,
    registry_requests: usize,
    blob_downloads: usize,
    metrics: BTreeMap<String, f64>,
}

impl Snapshot {
    fn take(server: &ApiServer, registry: &CountingProxy, controller: &ControllerProcess) -> Self {
        let (registry_requests, blob_downloads) = registry.counts();
        Self {
            writes: server.stats().writes,
            registry_requests,
            blob_downloads,
            metrics: controller.metrics(),
        }
    }

    /// Before the controller runs: its metrics are all zero.
    fn baseline(server: &ApiServer, registry: &CountingProxy) -> Self {
        let (registry_requests, blob_downloads) = registry.counts();
        Self {
            writes: server.stats().writes,
            registry_requests,
            blob_downloads,
            metrics: BTreeMap::new(),
        }
    }

    fn metric(&self, series: &str) -> f64 {
        self.metrics.get(series).copied().unwrap_or(0.0)
    }

    fn metric_sum(&self, name: &str) -> f64 {
        self.metrics
            .iter()
            .filter(|(series, _)| series.split('{').next() == Some(name))
            .map(|(_, v)| v)
            .sum()
    }
}
