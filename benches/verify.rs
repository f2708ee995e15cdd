//! Verification time per artifact against a real local registry with cosign signatures:
//! cold (fetch the `.sig` manifest and payload, verify) and warm (same digest and policy again,
//! answered by the verification cache without touching the registry).
//! Run with `cargo bench --bench verify`; skips with a message when the tools are missing.

#[path = "../tests/support/mod.rs"]
mod support;

use signet::registry::{OciReference, RegistryClient};
use signet::verify::{Authority, Policy, ReferrersMode, Sources, VerificationCache};
use std::process::Command;
use std::time::{Duration, Instant};
use support::registry::TestRegistry;
use support::tools;

const ARTIFACTS: usize = 20;
const WARM_ROUNDS: usize = 1000;

fn main() {
    signet::tls::install_crypto_provider();
    let (Some(cosign), Some(oras)) = (tools::tool("cosign"), tools::tool("oras")) else {
        return;
    };
    let Some(reg) = TestRegistry::plain() else {
        return;
    };
    let dir = tools::temp_dir();
    let cosign_cmd = || {
        let mut c = Command::new(&cosign);
        c.current_dir(dir.path())
            .env("COSIGN_PASSWORD", "bench")
            .env("HOME", dir.path());
        c
    };
    tools::run_ok(cosign_cmd().arg("generate-key-pair"));
    let mut digests = Vec::new();
    for i in 0..ARTIFACTS {
        let file = format!("artifact-{i}.txt");
        std::fs::write(dir.path().join(&file), format!("artifact {i}")).unwrap();
        let image = format!("{}/bench/chart:{i}", reg.host);
        tools::run_ok(Command::new(&oras).current_dir(dir.path()).args([
            "push",
            "--plain-http",
            &image,
            &file,
        ]));
        let digest = tools::run_ok(Command::new(&oras).args(["resolve", "--plain-http", &image]))
            .trim()
            .to_string();
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
                .arg(format!("{}/bench/chart@{digest}", reg.host)),
        );
        digests.push(digest);
    }
    let policy = Policy {
        authorities: vec![Authority::key(
            "bench",
            std::fs::read_to_string(dir.path().join("cosign.pub")).unwrap(),
        )],
        require_tlog: false,
        threshold: 1,
        ..Policy::default()
    }
    .compile()
    .unwrap();
    let client = RegistryClient::new(reg.options()).unwrap();
    let repository = OciReference::parse(&reg.oci("bench/chart")).unwrap();
    let sources = Sources {
        registry: &client,
        mode: ReferrersMode::Legacy,
    };
    let cache = VerificationCache::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let mut cold = Duration::ZERO;
    for digest in &digests {
        let start = Instant::now();
        rt.block_on(cache.verify(digest, &repository, &policy, &sources))
            .expect("cold verify");
        cold += start.elapsed();
    }
    // The registry goes away: warm hits must not need it.
    drop(reg);
    let mut warm = Duration::ZERO;
    for _ in 0..WARM_ROUNDS {
        for digest in &digests {
            let start = Instant::now();
            rt.block_on(cache.verify(digest, &repository, &policy, &sources))
                .expect("warm verify");
            warm += start.elapsed();
        }
    }
    let per_cold = cold / ARTIFACTS as u32;
    let per_warm = warm / (ARTIFACTS * WARM_ROUNDS) as u32;
    println!(
        "verify bench: {ARTIFACTS} artifacts, cosign key signatures (.sig tag), local docker-registry"
    );
    println!(
        "verify cold (fetch + verify): {:.3} ms per artifact",
        per_cold.as_secs_f64() * 1e3
    );
    println!(
        "verify warm (cache, registry stopped): {:.3} µs per artifact",
        per_warm.as_secs_f64() * 1e6
    );
}
