//! Real-world charts (`charts/` + `charts-golden/` of the shared corpus): every recorded
//! `helm template` invocation replayed with signet and compared with helm v4.1.4's output line by
//! line, except the lines helm itself randomises (`volatile_lines`). Cases listed in
//! `known-differences/charts.txt` are expected to fail; one that passes fails the test.

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{CaseTally, corpus_dir, known_differences_file, load_case_file};
#[path = "support/template_case.rs"]
mod template_case;
use template_case::run_case;

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
