//! `signet template` against `helm template` as users run them: whole processes (start-up,
//! loading, rendering, printing), over every corpus chart case (`charts/INDEX.json`). Prints the
//! median wall time of each per case, the ratio, whether the case generates RSA keys (its chart
//! calls `genCA`/`genSignedCert`/`genSelfSignedCert`/`genPrivateKey`, and helm's output for the
//! case holds a PEM block: key generation costs both tools random time), and the totals. Targets (issue 12 §5): ≥ 10× on every case without key generation,
//! ≥ 2× on the key-generating ones; the summary line says which cases miss them.
//!
//! Env: `SIGNET_CORPUS` (default `../shared/corpus`), `SIGNET_TOOLS` (default `.tools/bin`),
//! `SIGNET_BENCH_RUNS` (runs per tool per case, interleaved, default 9; the median counts),
//! `SIGNET_BENCH_CHART` (only this chart id).
//!
//! Run: `cargo bench --bench template_process` (a release build of the `signet` binary).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/support/corpus.rs"]
mod corpus;
use corpus::{corpus_dir, json_strings, load_case_file, tools_dir};

/// One timed run of `program args` in `dir`: its wall time and whether it succeeded.
fn timed_run(program: &Path, dir: &Path, args: &[String]) -> (Duration, bool) {
    let start = Instant::now();
    let ok = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (start.elapsed(), ok)
}

/// Median wall times of `runs` runs of each of `programs` with `args` in `dir`, interleaved (on
/// a shared machine, load comes and goes: each tool sees the same moments), after one untimed
/// run of each (page cache); and whether each one's last run succeeded.
fn median_runs<const N: usize>(
    programs: [&Path; N],
    dir: &Path,
    args: &[String],
    runs: usize,
) -> [(Duration, bool); N] {
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    let mut ok = [false; N];
    for p in programs {
        timed_run(p, dir, args);
    }
    for _ in 0..runs {
        for (i, p) in programs.iter().enumerate() {
            let (t, success) = timed_run(p, dir, args);
            times[i].push(t);
            ok[i] = success;
        }
    }
    std::array::from_fn(|i| {
        times[i].sort();
        (times[i][times[i].len() / 2], ok[i])
    })
}

/// Whether any template of the chart generates RSA keys.
fn generates_keys(chart_dir: &Path) -> bool {
    fn walk(dir: &Path) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.flatten().any(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                std::fs::read_to_string(&path).is_ok_and(|text| {
                    [
                        "genCA",
                        "genSignedCert",
                        "genSelfSignedCert",
                        "genPrivateKey",
                    ]
                    .iter()
                    .any(|f| text.contains(f))
                })
            }
        })
    }
    walk(chart_dir)
}

/// Whether helm's output for `args` holds a PEM block, as text or base64 (`b64enc` of one): the
/// generator calls the chart's templates make run with these values.
fn prints_pem(helm: &Path, dir: &Path, args: &[String]) -> bool {
    Command::new(helm)
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| {
            let text = String::from_utf8_lossy(&out.stdout);
            text.contains("-----BEGIN ") || text.contains("LS0tLS1CRUdJTi")
        })
}

fn main() {
    let dir = corpus_dir();
    let Some(index) = load_case_file("bench template_process", &dir.join("charts/INDEX.json"))
    else {
        return;
    };
    let helm = tools_dir().join("helm");
    if !helm.exists() {
        eprintln!(
            "bench template_process: {} not found (run `make tools`)",
            helm.display()
        );
        return;
    }
    let signet = Path::new(env!("CARGO_BIN_EXE_signet"));
    let runs: usize = std::env::var("SIGNET_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(9)
        .max(1);
    let only = std::env::var("SIGNET_BENCH_CHART").ok();
    println!(
        "{:<60} {:>10} {:>10} {:>8} {:>4}",
        "case", "signet ms", "helm ms", "ratio", "rsa"
    );
    let (mut total_signet, mut total_helm) = (Duration::ZERO, Duration::ZERO);
    let mut misses = Vec::new();
    let mut cases = 0;
    for chart in index["charts"].as_array().into_iter().flatten() {
        let id = chart["id"].as_str().unwrap_or_default();
        if only.as_deref().is_some_and(|o| o != id) {
            continue;
        }
        // INDEX.json's `dir` is relative to `charts/` (the cases' arguments say `charts/<dir>`).
        let chart_dir = dir
            .join("charts")
            .join(chart["dir"].as_str().unwrap_or_default());
        let calls_generators = generates_keys(&chart_dir);
        for case in chart["cases"].as_array().into_iter().flatten() {
            let args = json_strings(&case["args"]);
            let rsa = calls_generators && prints_pem(&helm, &dir, &args);
            let name = format!("{id}/{}", case["variant"].as_str().unwrap_or_default());
            let [(s, s_ok), (h, h_ok)] = median_runs([signet, &helm], &dir, &args, runs);
            let ratio = h.as_secs_f64() / s.as_secs_f64().max(1e-9);
            total_signet += s;
            total_helm += h;
            cases += 1;
            let target = if rsa { 2.0 } else { 10.0 };
            if ratio < target {
                misses.push(format!("{name} {ratio:.1}x"));
            }
            println!(
                "{:<60} {:>10.1} {:>10.1} {:>7.1}x {:>4}{}",
                name,
                s.as_secs_f64() * 1e3,
                h.as_secs_f64() * 1e3,
                ratio,
                if rsa { "yes" } else { "" },
                if s_ok == h_ok {
                    ""
                } else {
                    "  (signet and helm disagree on success)"
                }
            );
        }
    }
    println!(
        "total over {cases} cases (median of {runs} runs each): signet {:.1} ms, helm {:.1} ms, ratio {:.1}x",
        total_signet.as_secs_f64() * 1e3,
        total_helm.as_secs_f64() * 1e3,
        total_helm.as_secs_f64() / total_signet.as_secs_f64().max(1e-9)
    );
    if misses.is_empty() {
        println!("targets met: >=10x without key generation, >=2x with it, on every case");
    } else {
        println!("below target ({}): {}", misses.len(), misses.join(", "));
    }
}
