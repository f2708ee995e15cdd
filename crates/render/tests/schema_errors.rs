//! `helm template`'s values-schema error, line for line: every traefik unit test in the corpus
//! that expects "values don't meet the specifications of the schema" is rendered with its `set:`
//! values by signet and by helm, and the error lines must be the same (as multisets: helm orders
//! sibling failures by Go map iteration, which is random).

use std::path::Path;
use std::process::Command;

use signet_gotemplate::Value;
use signet_render::render::TemplateInvocation;

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{corpus_dir, skip, tools_dir};

/// The `set:` values of each traefik test expecting a schema failure, with the test's name.
fn schema_cases(chart: &Path) -> Vec<(String, Value)> {
    let mut cases = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(chart.join("tests"))
        .expect("traefik tests")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("_test.yaml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("test file");
        let doc = signet_render::yaml::parse_yaml(&text).expect("test file is YAML");
        let Value::Map(doc) = doc else { continue };
        let Some(Value::List(tests)) = doc.borrow().get("tests").cloned() else {
            continue;
        };
        for test in tests.borrow().iter() {
            let Value::Map(t) = test else { continue };
            let t = t.borrow();
            let asserts =
                signet_gotemplate::fmt::sprint(&t.get("asserts").cloned().unwrap_or_default());
            if !asserts.contains("meet the specifications") {
                continue;
            }
            let name = format!(
                "{}: {}",
                file.file_name().unwrap_or_default().to_string_lossy(),
                signet_gotemplate::fmt::sprint(&t.get("it").cloned().unwrap_or_default())
            );
            cases.push((name, t.get("set").cloned().unwrap_or_else(Value::empty_map)));
        }
    }
    cases
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split("\n\nUse --debug flag")
        .next()
        .unwrap_or_default()
        .trim_end()
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn values_schema_errors_print_helms_lines() {
    let chart = corpus_dir().join("charts/traefik");
    if !chart.is_dir() {
        skip(
            "schema errors",
            &format!("corpus not found at {}", chart.display()),
        );
        return;
    }
    let helm = tools_dir().join("helm");
    if !helm.is_file() {
        skip(
            "schema errors",
            &format!("helm not found at {}", helm.display()),
        );
        return;
    }
    let cases = schema_cases(&chart);
    assert!(
        cases.len() >= 10,
        "expected the traefik schema cases, found {}",
        cases.len()
    );
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut failures = Vec::new();
    for (i, (name, set)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("case{i}.yaml"));
        let yaml = signet_render::yaml::to_yaml(set).expect("values as YAML");
        std::fs::write(&file, yaml).expect("write values");
        let args: Vec<String> = [
            "template",
            "rel",
            &chart.to_string_lossy(),
            "-f",
            &file.to_string_lossy(),
        ]
        .map(String::from)
        .to_vec();
        let ours = match TemplateInvocation::parse(&args).and_then(|inv| inv.run(dir.path())) {
            Ok(_) => "(rendered)".to_string(),
            Err(e) => format!("Error: {e}"),
        };
        let out = Command::new(&helm)
            .args(&args)
            .current_dir(dir.path())
            .output()
            .expect("helm runs");
        let theirs = String::from_utf8_lossy(&out.stderr).into_owned();
        if sorted_lines(&ours) != sorted_lines(&theirs) {
            failures.push(format!("{name}\n--- signet\n{ours}\n--- helm\n{theirs}"));
        }
    }
    eprintln!(
        "schema errors: {}/{} print helm's lines",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
