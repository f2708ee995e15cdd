//! Replaying one recorded `helm template` case of the shared corpus (`args`, `expected_file`,
//! `expect_error`, optional `volatile_lines`) with signet, for the test crates that hold such cases
//! (`charts_corpus`, `helm_golden`), which include this file with `#[path]`.

use serde_json::Value as Json;
use signet_render::render::TemplateInvocation;

use super::corpus::json_strings;

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

/// Runs `case` in `dir` and compares with helm's recorded output (or, for an expected error, with
/// helm's error text up to its `--debug` hint).
pub fn run_case(dir: &std::path::Path, case: &Json) -> Result<(), String> {
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
