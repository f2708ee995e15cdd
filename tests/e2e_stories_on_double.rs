//! `e2e/stories.sh` and `e2e/stories-hooks.sh` are written for a real cluster and no cluster can
//! run here, so this runs the very same scripts, unchanged, against the in-process API-server double: real `kubectl`, real `helm`,
//! the `signet` and `signet-controller` binaries, a real registry. It proves the script's own
//! commands and expectations hold end to end; it does not make the double a cluster (the script
//! must not depend on anything the double does differently — see tests/support/apiserver).

mod support;

use std::path::Path;
use std::process::Command;

use support::apiserver::ApiServer;
use support::tools::{temp_dir, tool, workspace_root};

#[tokio::test(flavor = "multi_thread")]
async fn e2e_stories_pass_against_the_api_server_double() {
    run_story_script("e2e/stories.sh", false).await;
}

/// The hooks story with the double's workload runner on: its failing hook Job fails as on a
/// cluster with nodes (the script also accepts a timeout, which is what a node-less cluster does).
#[tokio::test(flavor = "multi_thread")]
async fn e2e_hook_stories_pass_against_the_api_server_double() {
    run_story_script("e2e/stories-hooks.sh", true).await;
}

async fn run_story_script(script: &'static str, run_workloads: bool) {
    let Some(kubectl) = tool("kubectl") else {
        return;
    };
    if tool("docker-registry").is_none() {
        return;
    }
    let server = ApiServer::start().await;
    let _runner = run_workloads.then(|| server.run_workloads());
    let work = temp_dir();
    let kubeconfig = work.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig_yaml()).expect("write kubeconfig");
    let signet = Path::new(env!("CARGO_BIN_EXE_signet"));
    let controller = Path::new(env!("CARGO_BIN_EXE_signet-controller"));
    assert_eq!(
        signet.parent(),
        controller.parent(),
        "both binaries in one dir"
    );
    let bin_dir = signet.parent().expect("binary dir").to_path_buf();
    let path = workspace_root().join(script);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(path)
            .env("KUBECONFIG", &kubeconfig)
            .env("KUBECTL", &kubectl)
            .env("SIGNET_BIN_DIR", &bin_dir)
            .output()
            .expect("run the story script")
    })
    .await
    .expect("join");
    let log = String::from_utf8_lossy(&out.stderr);
    eprintln!("{log}");
    assert!(
        out.status.success(),
        "{script} failed against the double:\n{log}"
    );
    assert!(log.contains(" 0 failed"), "{log}");
    drop(server);
}
