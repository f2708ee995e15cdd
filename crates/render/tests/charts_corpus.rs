//! Real-world charts (`charts/` + `charts-golden/` of the shared corpus): every recorded
//! `helm template` invocation replayed with signet and compared with helm v4.1.4's output line by
//! line, except the lines helm itself randomises (`volatile_lines`). Cases listed in
//! `known-differences/charts.txt` are expected to fail; one that passes fails the test.

use serde_json::Value as Json;
use signet_render::render::TemplateInvocation;

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{CaseTally, corpus_dir, json_strings, known_differences_file, load_case_file};

/// Compares line by line, accepting anything on volatile (1-based) lines; reports the first
/// differing line with context.
fn compare(got: &str, want: &str, volatile: &[usize]) -> Result<(), String> {
    let g: Vec<&str> = got.split('\n').collect();
    let w: Vec<&str> = want.split('\n').collect();
    for i in 0..g.len().max(w.len()) {
        if volatile.contains(&(i + 1)) && i < g.len() && i < w.len() {
            continue;
        }
        if g.get(i) != w.get(i) {
            let mut out = format!(
                "first difference at line {} (got {} lines, want {}):\n",
                i + 1,
                g.len(),
                w.len()
            );
            for j in i.saturating_sub(3)..i {
                out.push_str(&format!("    {}\n", w.get(j).unwrap_or(&"")));
            }
            out.push_str(&format!("  - {:?}\n  + {:?}", w.get(i), g.get(i)));
            return Err(out);
        }
    }
    Ok(())
}

fn run_case(dir: &std::path::Path, case: &Json) -> Result<(), String> {
    let args: Vec<String> = json_strings(&case["args"]);
    let expected =
        std::fs::read_to_string(dir.join(case["expected_file"].as_str().unwrap_or_default()))
            .map_err(|e| format!("expected file: {e}"))?;
    let volatile: Vec<usize> = case["volatile_lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_u64().map(|v| v as usize))
        .collect();
    let result = TemplateInvocation::parse(&args).and_then(|inv| inv.run(dir));
    match (result, case["expect_error"].as_bool().unwrap_or(false)) {
        (Ok(out), false) => compare(&out, &expected, &volatile),
        (Err(e), true) => {
            let want = expected
                .split("\n\nUse --debug flag")
                .next()
                .unwrap_or("")
                .trim_end();
            compare(&format!("Error: {e}"), want, &[])
        }
        (Ok(_), true) => Err("rendered, but helm fails".into()),
        (Err(e), false) => Err(format!("error: {e}")),
    }
}

#[test]
fn charts_corpus_cases() {
    let dir = corpus_dir();
    let Some(doc) = load_case_file("corpus charts", &dir.join("charts/INDEX.json")) else {
        return;
    };
    let only = std::env::var("SIGNET_CHART").ok();
    let mut tally = CaseTally::new("charts", &known_differences_file("charts.txt"));
    for chart in doc["charts"].as_array().into_iter().flatten() {
        let id = chart["id"].as_str().unwrap_or_default();
        if only.as_deref().is_some_and(|o| o != id) {
            continue;
        }
        for case in chart["cases"].as_array().into_iter().flatten() {
            let name = format!("{id}/{}", case["variant"].as_str().unwrap_or_default());
            tally.record(&name, &run_case(&dir, case));
        }
    }
    if only.is_some() {
        tally.only_some_cases_ran();
    }
    tally.finish();
}
