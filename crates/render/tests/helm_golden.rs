//! Helm's own `helm template` command tests (`helm-golden/` of the shared corpus): recorded
//! invocations over Helm's test charts, compared byte for byte with helm v4.1.4's output.
//! Cases listed in `known-differences/helm-golden.txt` are expected to fail; if one passes, the test
//! fails so the list stays honest.

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{CaseTally, corpus_dir, known_differences_file, load_case_file};
#[path = "support/template_case.rs"]
mod template_case;
use template_case::run_case;

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
