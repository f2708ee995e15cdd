//! `signet-controller` against the API-server test double: leader election on its Lease (one of
//! two candidates wins, a standby takes over after the lease duration or at once after a release,
//! the leader steps down when it cannot renew), and the binary itself (probes, `/metrics`, leader
//! lease held while running and released on a clean SIGTERM exit, so a second replica takes over).

#[path = "../support/apiserver/mod.rs"]
mod apiserver;

use apiserver::{ApiServer, Matcher};
use serde_json::{Value, json};
use signet::controller::leader::{self, LeaderConfig, LeaderElector, LeaderError};
use std::time::{Duration, Instant};

const NS: &str = "signet-system";

async fn server() -> ApiServer {
    let server = ApiServer::start().await;
    server.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}));
    server
}

/// 2 s lease: renew every ~0.67 s, step down after ~1.33 s without renewal, retry every ~0.27 s.
fn candidate(server: &ApiServer, lease: &str, identity: &str) -> LeaderElector {
    let mut config = LeaderConfig::new(NS, identity).with_lease_duration(Duration::from_secs(2));
    config.name = lease.to_owned();
    LeaderElector::new(server.client(), config).expect("valid leader config")
}

fn lease(server: &ApiServer, name: &str) -> Value {
    server
        .get("coordination.k8s.io/v1", "Lease", Some(NS), name)
        .unwrap_or_else(|| panic!("Lease {name} exists"))
}

fn holder(server: &ApiServer, name: &str) -> Option<String> {
    lease(server, name)["spec"]["holderIdentity"]
        .as_str()
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
}

/// Runs one election round of each candidate at the same time; returns who won.
async fn race(candidates: &mut [LeaderElector]) -> Vec<usize> {
    let rounds = candidates.iter_mut().map(|c| c.try_acquire_or_renew());
    let results = futures::future::join_all(rounds).await;
    let mut winners = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        if result.expect("election round") {
            winners.push(i);
        }
    }
    winners
}

#[tokio::test(flavor = "multi_thread")]
async fn of_racing_candidates_exactly_one_leads() {
    let server = server().await;
    for round in 0..10 {
        // A fresh Lease: all try to create it.
        let name = format!("race-{round}");
        let mut candidates: Vec<_> = (0..8)
            .map(|i| candidate(&server, &name, &format!("c{i}")))
            .collect();
        let winners = race(&mut candidates).await;
        let [winner] = winners[..] else {
            panic!("round {round}: winners {winners:?}")
        };
        assert_eq!(holder(&server, &name), Some(format!("c{winner}")));
        // The others stay out while the winner renews.
        let winners = race(&mut candidates).await;
        assert_eq!(winners, [winner], "round {round}, renewal");

        // A released Lease: all try to replace it at once; the resourceVersion precondition
        // lets only one write through.
        assert!(candidates[winner].release().await.expect("release"));
        let mut fresh: Vec<_> = (0..8)
            .map(|i| candidate(&server, &name, &format!("d{i}")))
            .collect();
        let winners = race(&mut fresh).await;
        let [winner] = winners[..] else {
            panic!("round {round} after release: winners {winners:?}")
        };
        assert_eq!(holder(&server, &name), Some(format!("d{winner}")));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standby_takes_over_a_lease_duration_after_the_leader_stops_renewing() {
    let server = server().await;
    let mut a = candidate(&server, "expiry", "a");
    let mut b = candidate(&server, "expiry", "b");
    assert!(a.try_acquire_or_renew().await.expect("a acquires"));
    let stopped_renewing = Instant::now();
    drop(a);
    assert!(!b.try_acquire_or_renew().await.expect("b observes"));

    tokio::time::timeout(Duration::from_secs(10), b.acquire())
        .await
        .expect("b takes over within 10 s");
    let waited = stopped_renewing.elapsed();
    assert!(
        waited >= Duration::from_secs(2),
        "took over after {waited:?}, before the 2 s lease ran out"
    );
    assert!(waited < Duration::from_secs(4), "took {waited:?}");
    let lease = lease(&server, "expiry");
    assert_eq!(lease["spec"]["holderIdentity"], "b");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_released_lease_is_taken_over_at_once() {
    let server = server().await;
    let mut a = candidate(&server, "handover", "a");
    let mut b = candidate(&server, "handover", "b");
    assert!(a.try_acquire_or_renew().await.expect("a acquires"));
    assert!(!b.try_acquire_or_renew().await.expect("b observes"));
    assert!(a.release().await.expect("a releases"));
    assert_eq!(holder(&server, "handover"), None);
    // Releasing what is no longer ours changes nothing.
    assert!(!a.release().await.expect("second release"));

    let started = Instant::now();
    assert!(b.try_acquire_or_renew().await.expect("b acquires"));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(holder(&server, "handover").as_deref(), Some("b"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_leader_renews_and_steps_down_when_renewals_fail_past_the_deadline() {
    let server = server().await;
    let mut a = candidate(&server, "renewal", "a");
    assert!(a.try_acquire_or_renew().await.expect("a acquires"));
    let first = lease(&server, "renewal")["spec"]["renewTime"].clone();

    // Renewals succeed: hold() keeps going and renewTime moves.
    let held = tokio::time::timeout(Duration::from_millis(1500), a.hold()).await;
    assert!(
        held.is_err(),
        "stepped down while renewals worked: {held:?}"
    );
    let renewed = lease(&server, "renewal")["spec"]["renewTime"].clone();
    assert_ne!(first, renewed, "no renewal in 1.5 s");

    // Every write to the Lease fails from now on: it steps down after the 1.33 s deadline.
    server.fail_next(Matcher::new("update", "leases").name("renewal"), 500, 1000);
    let started = Instant::now();
    let lost = tokio::time::timeout(Duration::from_secs(5), a.hold())
        .await
        .expect("stepped down within 5 s");
    assert!(matches!(lost, LeaderError::Lost { .. }), "{lost}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_leader_steps_down_at_once_when_another_replica_took_the_lease() {
    let server = server().await;
    let mut a = candidate(&server, "takeover", "a");
    assert!(a.try_acquire_or_renew().await.expect("a acquires"));
    let mut taken = lease(&server, "takeover");
    taken["spec"]["holderIdentity"] = json!("intruder");
    server.put(taken);
    let started = Instant::now();
    let lost = tokio::time::timeout(Duration::from_secs(5), a.hold())
        .await
        .expect("stepped down");
    assert!(lost.to_string().contains("another replica"), "{lost}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_as_leader_runs_the_controller_only_while_leading_and_releases_on_shutdown() {
    let server = server().await;
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let standby = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let standby_flag = standby.clone();
    let run = tokio::spawn(leader::run_as_leader(
        candidate(&server, "run", "a"),
        async {
            let _ = shutdown_rx.await;
        },
        move || standby_flag.store(true, std::sync::atomic::Ordering::SeqCst),
        |stop| async move {
            let _ = started_tx.send(());
            stop.await;
            let _ = stopped_tx.send(());
            Ok::<(), anyhow::Error>(())
        },
    ));
    tokio::time::timeout(Duration::from_secs(5), started_rx)
        .await
        .expect("controller started")
        .expect("started signal");
    assert!(standby.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(holder(&server, "run").as_deref(), Some("a"));

    let _ = shutdown_tx.send(());
    let result = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("run_as_leader returns")
        .expect("task");
    assert!(result.is_ok(), "{result:?}");
    stopped_rx.await.expect("the controller was told to stop");
    assert_eq!(holder(&server, "run"), None, "lease not released");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_as_leader_stops_the_controller_when_the_lease_is_lost() {
    let server = server().await;
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(leader::run_as_leader(
        candidate(&server, "lose", "a"),
        std::future::pending::<()>(),
        || {},
        |stop| async move {
            let _ = started_tx.send(());
            stop.await;
            Ok::<(), anyhow::Error>(())
        },
    ));
    started_rx.await.expect("controller started");
    let mut taken = lease(&server, "lose");
    taken["spec"]["holderIdentity"] = json!("intruder");
    server.put(taken);
    let result = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("run_as_leader returns after losing the lease")
        .expect("task");
    assert!(
        matches!(result, Err(LeaderError::Lost { .. })),
        "{result:?}"
    );
    // It does not release a lease that is someone else's.
    assert_eq!(holder(&server, "lose").as_deref(), Some("intruder"));
}

/// One `signet-controller` process, its stderr lines on a channel.
struct Controller {
    child: std::process::Child,
    logs: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
    health: String,
    metrics: String,
}

impl Controller {
    fn start(kubeconfig: &std::path::Path, extra: &[&str]) -> Controller {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_signet-controller"))
            .args([
                "--health-addr=127.0.0.1:0",
                "--metrics-addr=127.0.0.1:0",
                "--log-format=json",
            ])
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAMESPACE", NS)
            .env_remove("SIGNET_HEALTH_ADDR")
            .env_remove("SIGNET_METRICS_ADDR")
            .env_remove("SIGNET_LEADER_ELECT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start signet-controller");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, logs) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut controller = Controller {
            child,
            logs,
            seen: Vec::new(),
            health: String::new(),
            metrics: String::new(),
        };
        // It logs the addresses it bound (port 0 = any free port).
        let started = controller.wait_for_log(|entry| entry["fields"]["health_addr"].is_string());
        controller.health = started["fields"]["health_addr"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        controller.metrics = started["fields"]["metrics_addr"]
            .as_str()
            .expect("metrics_addr logged")
            .to_owned();
        controller
    }

    fn wait_for_log(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let Ok(line) = self
                .logs
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            else {
                let _ = self.child.kill();
                panic!("no such log line within 30 s; saw {:#?}", self.seen);
            };
            self.seen.push(line.clone());
            if let Ok(entry) = serde_json::from_str::<Value>(&line)
                && want(&entry)
            {
                return entry;
            }
        }
    }

    fn get(addr: &str, path: &str) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read response");
        response
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !Self::get(&self.health, "/readyz").starts_with("HTTP/1.1 200") {
            assert!(Instant::now() < deadline, "not ready within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM (the shell's builtin kill: no signal crate, no procps), then the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = std::process::Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", self.child.id())])
            .status()
            .expect("run sh");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(exit) = self.child.try_wait().expect("wait") {
                self.seen.extend(self.logs.try_iter());
                return exit;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                self.seen.extend(self.logs.try_iter());
                panic!(
                    "controller did not exit within 20 s of SIGTERM; its log: {:#?}",
                    self.seen
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SignedChartRelease CRD, installed and Established, so the controller's watches start.
async fn install_crd(server: &ApiServer) {
    let crd = serde_json::to_value(signet::api::crd().expect("the CRD")).expect("CRD as JSON");
    server.install_crd(&crd).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn controller_serves_probes_and_metrics_and_hands_its_lease_over_on_sigterm() {
    let server = std::sync::Arc::new(server().await);
    install_crd(&server).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig_yaml()).expect("write kubeconfig");
    let lease_name = leader::DEFAULT_LEASE_NAME;
    // A short stop timeout: a replica told to stop while its caches still sync cannot stop
    // gracefully (kube-runtime waits for them forever) and is abandoned after it.
    let args = ["--leader-elect", "--concurrent=2", "--shutdown-timeout=3s"];

    // The probes and the lease, from blocking code: run it off the async workers.
    let double = server.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut first = Controller::start(&kubeconfig, &args);
        let healthz = Controller::get(&first.health, "/healthz");
        assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
        assert!(healthz.ends_with("ok\n"), "{healthz}");
        first.wait_ready();
        assert!(Controller::get(&first.health, "/nope").starts_with("HTTP/1.1 404"));
        let metrics = Controller::get(&first.metrics, "/metrics");
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        assert!(
            metrics.contains("content-type: application/openmetrics-text"),
            "{metrics}"
        );
        assert!(metrics.ends_with("# EOF\n"), "{metrics}");
        first.wait_for_log(|e| e["fields"]["message"] == "became the leader");
        // The leader runs the reconciler: it watches SignedChartReleases.
        let deadline = Instant::now() + Duration::from_secs(10);
        while double.stats().requests("watch", "signedchartreleases") == 0 {
            assert!(Instant::now() < deadline, "no watch on SignedChartReleases");
            std::thread::sleep(Duration::from_millis(50));
        }

        // A second replica stands by (and is ready) while the first leads.
        let mut second = Controller::start(&kubeconfig, &args);
        second.wait_ready();
        second.wait_for_log(|e| {
            e["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("standing by"))
        });

        // SIGTERM: the first exits 0 having released the lease, and the second takes over well
        // before the 15 s lease would have run out.
        let stopped = Instant::now();
        let exit = first.terminate();
        assert!(exit.success(), "controller exited with {exit}");
        assert!(
            first.seen.iter().any(|l| l.contains("received SIGTERM")),
            "{:#?}",
            first.seen
        );
        assert!(
            first
                .seen
                .iter()
                .any(|l| l.contains("released the leader lease")),
            "{:#?}",
            first.seen
        );
        second.wait_for_log(|e| e["fields"]["message"] == "became the leader");
        let took_over = stopped.elapsed();
        assert!(took_over < Duration::from_secs(10), "took {took_over:?}");
        let exit = second.terminate();
        assert!(exit.success(), "second controller exited with {exit}");
    })
    .await;
    if let Err(err) = result {
        std::panic::resume_unwind(err.into_panic());
    }
    assert_eq!(
        holder(&server, lease_name),
        None,
        "the last replica released the lease"
    );
    assert!(
        lease_transitions(&server, lease_name) >= 1,
        "{}",
        lease(&server, lease_name)
    );
}

fn lease_transitions(server: &ApiServer, name: &str) -> i64 {
    lease(server, name)["spec"]["leaseTransitions"]
        .as_i64()
        .unwrap_or_default()
}

#[test]
fn controller_without_a_cluster_fails_with_a_clear_message() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_signet-controller"))
        .args(["--health-addr=127.0.0.1:0", "--metrics-addr=127.0.0.1:0"])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env("HOME", "/nonexistent")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("SIGNET_HEALTH_ADDR")
        .env_remove("SIGNET_METRICS_ADDR")
        .output()
        .expect("run signet-controller");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot find the cluster"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_controller_that_does_not_stop_is_abandoned_and_the_lease_released() {
    let server = server().await;
    let mut elector = candidate(&server, "stuck", "a");
    // Built by hand: candidate() cannot set the stop timeout after construction.
    let mut config = elector.config().clone();
    config.stop_timeout = Duration::from_secs(1);
    elector = LeaderElector::new(server.client(), config).expect("config");
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(leader::run_as_leader(
        elector,
        async {
            let _ = shutdown_rx.await;
        },
        || {},
        |_stop| async move {
            let _ = started_tx.send(());
            // Ignores the stop signal, like kube-runtime before its caches synced.
            std::future::pending::<anyhow::Result<()>>().await
        },
    ));
    started_rx.await.expect("controller started");
    let _ = shutdown_tx.send(());
    let stopping = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("run_as_leader gives up on the controller")
        .expect("task");
    assert!(result.is_ok(), "{result:?}");
    let waited = stopping.elapsed();
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert_eq!(holder(&server, "stuck"), None, "lease not released");
}
