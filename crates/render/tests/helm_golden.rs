//! Helm's own `helm template` command tests (`helm-golden/` of the shared corpus): recorded
//! invocations over Helm's test charts, compared byte for byte with helm v4.1.4's output.
//! Cases listed in `known-differences/helm-golden.txt` are expected to fail; if one passes, the test
//! fails so the list stays honest.

use serde_json::Value as Json;
use signet_render::render::TemplateInvocation;

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{CaseTally, corpus_dir, json_strings, known_differences_file, load_case_file};

/// The first differing line with two lines of context, or `None` when equal.
fn first_difference(got: &str, want: &str) -> Option<String> {
    if got == want {
        return None;
    }
    let g: Vec<&str> = got.split('\n').collect();
    let w: Vec<&str> = want.split('\n').collect();
    let i = (0..g.len().max(w.len()))
        .find(|&i| g.get(i) != w.get(i))
        .unwrap_or(0);
    let from = i.saturating_sub(2);
    let mut out = format!("first difference at line {}:\n", i + 1);
    for j in from..i {
        out.push_str(&format!("    {}\n", w.get(j).unwrap_or(&"")));
    }
    out.push_str(&format!("  - {:?}\n  + {:?}", w.get(i), g.get(i)));
    Some(out)
}

fn run_case(dir: &std::path::Path, case: &Json) -> Result<(), String> {
    let args: Vec<String> = json_strings(&case["args"]);
    let expected =
        std::fs::read_to_string(dir.join(case["expected_file"].as_str().unwrap_or_default()))
            .map_err(|e| format!("expected file: {e}"))?;
    let result = TemplateInvocation::parse(&args).and_then(|inv| inv.run(dir));
    match (result, case["expect_error"].as_bool().unwrap_or(false)) {
        (Ok(out), false) => first_difference(&out, &expected).map_or(Ok(()), Err),
        (Err(e), true) => {
            let want = expected
                .split("\n\nUse --debug flag")
                .next()
                .unwrap_or("")
                .trim_end();
            let got = format!("Error: {e}");
            first_difference(&got, want).map_or(Ok(()), Err)
        }
        (Ok(_), true) => Err("rendered, but helm fails".into()),
        (Err(e), false) => Err(format!("error: {e}")),
    }
}

#[test]
fn helm_golden_cases() {
    let dir = corpus_dir().join("helm-golden");
    let Some(doc) = load_case_file("corpus helm-golden", &dir.join("cases.json")) else {
        return;
    };
    let cases = doc["cases"].as_array().expect("cases");
    let mut tally = CaseTally::new("helm-golden", &known_differences_file("helm-golden.txt"));
    for case in cases {
        let name = case["name"].as_str().unwrap_or_default();
        tally.record(name, &run_case(&dir, case));
    }
    tally.finish();
}
