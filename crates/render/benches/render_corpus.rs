//! Renders every corpus chart case (`charts/INDEX.json`) with signet (in process: load, values,
//! render, format) and with `helm template` (the real binary), and prints per-case and total time
//! ratios plus signet's peak memory. Target: signet ≥10× faster than helm over the corpus.
//!
//! Env: `SIGNET_CORPUS` (default `../shared/corpus`), `SIGNET_TOOLS` (default `.tools/bin`),
//! `SIGNET_BENCH_ITERS` (signet repetitions per case, default 3; the best run counts),
//! `SIGNET_BENCH_CHART` (only this chart id), `SIGNET_BENCH_NO_HELM=1` (time signet only).

// The allocator the `signet` and `signet-controller` binaries use, so the figures are theirs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::{Duration, Instant};

use signet_render::render::TemplateInvocation;

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{corpus_dir, json_strings, load_case_file, tools_dir};

/// Peak resident memory of this process (kB), from /proc; `None` off Linux.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak-RSS counter so each case's peak is its own (Linux ≥ 4.0).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn time_signet(dir: &Path, args: &[String], iters: usize) -> (Duration, bool) {
    let mut best = Duration::MAX;
    let mut ok = true;
    for _ in 0..iters {
        let start = Instant::now();
        let result = TemplateInvocation::parse(args).and_then(|inv| inv.run(dir));
        let elapsed = start.elapsed();
        ok &= result.is_ok();
        best = best.min(elapsed);
    }
    (best, ok)
}

fn time_helm(helm: &Path, dir: &Path, args: &[String]) -> Option<Duration> {
    let start = Instant::now();
    std::process::Command::new(helm)
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    Some(start.elapsed())
}

fn main() {
    let dir = corpus_dir();
    let Some(index) = load_case_file("bench render_corpus", &dir.join("charts/INDEX.json")) else {
        return;
    };
    let helm = tools_dir().join("helm");
    let have_helm = helm.exists() && std::env::var("SIGNET_BENCH_NO_HELM").is_err();
    let only = std::env::var("SIGNET_BENCH_CHART").ok();
    if !helm.exists() {
        eprintln!(
            "bench render_corpus: {} not found, timing signet only",
            helm.display()
        );
    }
    let iters: usize = std::env::var("SIGNET_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let (mut total_signet, mut total_helm) = (Duration::ZERO, Duration::ZERO);
    let mut peak_overall = 0u64;
    println!(
        "{:<60} {:>11} {:>11} {:>8} {:>10}",
        "case", "signet ms", "helm ms", "ratio", "peak MiB"
    );
    for chart in index["charts"].as_array().into_iter().flatten() {
        let id = chart["id"].as_str().unwrap_or_default();
        if only.as_deref().is_some_and(|o| o != id) {
            continue;
        }
        for case in chart["cases"].as_array().into_iter().flatten() {
            let args: Vec<String> = json_strings(&case["args"]);
            let name = format!("{id}/{}", case["variant"].as_str().unwrap_or_default());
            reset_peak_rss();
            let (signet, ok) = time_signet(&dir, &args, iters);
            let peak = peak_rss_kb().unwrap_or(0);
            peak_overall = peak_overall.max(peak);
            total_signet += signet;
            let helm_time = if have_helm {
                time_helm(&helm, &dir, &args)
            } else {
                None
            };
            if let Some(h) = helm_time {
                total_helm += h;
            }
            let ratio = helm_time.map(|h| h.as_secs_f64() / signet.as_secs_f64().max(1e-9));
            println!(
                "{:<60} {:>11.2} {:>11} {:>8} {:>10.1}{}",
                name,
                signet.as_secs_f64() * 1e3,
                helm_time
                    .map(|h| format!("{:.2}", h.as_secs_f64() * 1e3))
                    .unwrap_or_else(|| "-".into()),
                ratio
                    .map(|r| format!("{r:.1}x"))
                    .unwrap_or_else(|| "-".into()),
                peak as f64 / 1024.0,
                if ok != case["expect_error"].as_bool().unwrap_or(false) {
                    ""
                } else {
                    "  (unexpected result)"
                }
            );
        }
    }
    println!(
        "total: signet {:.1} ms, helm {:.1} ms, ratio {}, signet peak memory {:.1} MiB",
        total_signet.as_secs_f64() * 1e3,
        total_helm.as_secs_f64() * 1e3,
        if have_helm {
            format!(
                "{:.1}x",
                total_helm.as_secs_f64() / total_signet.as_secs_f64().max(1e-9)
            )
        } else {
            "-".into()
        },
        peak_overall as f64 / 1024.0
    );
}
