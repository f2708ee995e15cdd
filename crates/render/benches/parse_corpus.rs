//! Parses the template files of every corpus chart (`charts/<id>/**/templates/*`, subcharts
//! included) with Helm's function set, and prints each chart's parse time and throughput and the
//! total. Parsing is a quarter of a render's CPU on action-dense charts; this isolates it.
//!
//! Env: `SIGNET_CORPUS` (default `../shared/corpus`), `SIGNET_BENCH_ITERS` (parses of each chart,
//! default 20; the best counts), `SIGNET_BENCH_CHART` (only this chart id).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::{Duration, Instant};

use signet_render::render::Engine;

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::corpus_dir;

/// Every file under a `templates/` folder below `dir`, as (path, text).
fn template_files(dir: &Path, inside_templates: bool, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            let is_templates = path.file_name().is_some_and(|n| n == "templates");
            template_files(&path, inside_templates || is_templates, out);
        } else if inside_templates && let Ok(text) = std::fs::read_to_string(&path) {
            out.push((path.display().to_string(), text));
        }
    }
}

fn main() {
    let charts = corpus_dir().join("charts");
    let Ok(entries) = std::fs::read_dir(&charts) else {
        eprintln!(
            "bench parse_corpus: no corpus at {}, skipped",
            charts.display()
        );
        return;
    };
    let iters: usize = std::env::var("SIGNET_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .max(1);
    let only = std::env::var("SIGNET_BENCH_CHART").ok();
    let mut ids: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|id| only.as_ref().is_none_or(|o| o == id))
        .collect();
    ids.sort();
    let env = Engine::default().parse_env();
    println!(
        "{:<28} {:>6} {:>9} {:>9} {:>8}",
        "chart", "files", "KB", "best ms", "MB/s"
    );
    let (mut total_bytes, mut total_time) = (0usize, Duration::ZERO);
    for id in ids {
        let mut files = Vec::new();
        template_files(&charts.join(&id), false, &mut files);
        let bytes: usize = files.iter().map(|(_, text)| text.len()).sum();
        let mut best = Duration::MAX;
        let mut failed = 0;
        for _ in 0..iters {
            let start = Instant::now();
            failed = files
                .iter()
                .filter(|(name, text)| env.parse(name, text).is_err())
                .count();
            best = best.min(start.elapsed());
        }
        total_bytes += bytes;
        total_time += best;
        let failures = if failed > 0 {
            format!("  ({failed} failed to parse)")
        } else {
            String::new()
        };
        println!(
            "{id:<28} {:>6} {:>9.1} {:>9.3} {:>8.1}{failures}",
            files.len(),
            bytes as f64 / 1e3,
            best.as_secs_f64() * 1e3,
            bytes as f64 / best.as_secs_f64() / 1e6,
        );
    }
    println!(
        "{:<28} {:>6} {:>9.1} {:>9.3} {:>8.1}",
        "total",
        "",
        total_bytes as f64 / 1e3,
        total_time.as_secs_f64() * 1e3,
        total_bytes as f64 / total_time.as_secs_f64() / 1e6,
    );
}
