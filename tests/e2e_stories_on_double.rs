//! `e2e/stories.sh` is written for a real cluster and no cluster can run here, so this runs the very
//! same script, unchanged, against the in-process API-server double: real `kubectl`, real `helm`,
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
    let Some(kubectl) = tool("kubectl") else {
        return;
    };
    if tool("docker-registry").is_none() {
        return;
    }
    let server = ApiServer::start().await;
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
    let script = workspace_root().join("e2e/stories.sh");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(script)
            .env("KUBECONFIG", &kubeconfig)
            .env("KUBECTL", &kubectl)
            .env("SIGNET_BIN_DIR", &bin_dir)
            .output()
            .expect("run e2e/stories.sh")
    })
    .await
    .expect("join");
    let log = String::from_utf8_lossy(&out.stderr);
    eprintln!("{log}");
    assert!(
        out.status.success(),
        "e2e/stories.sh failed against the double:\n{log}"
    );
    assert!(log.contains(" 0 failed"), "{log}");
    drop(server);
}
