//! Helm's own engine test cases (`helm-engine-cases.json` of the shared corpus): the function map,
//! rendering chart trees with subcharts, include/tpl/required/fail, error formats, template order.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use signet_gotemplate::Value;
use signet_render::chart::{Chart, ChartFile, ChartMetadata};
use signet_render::render::Engine;
use signet_render::render::engine::sort_templates;
use signet_render::values::ValuesTree;

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{CaseTally, corpus_dir, json_strings, known_differences_file, load_case_file};

fn chart_from_json(j: &Json) -> Chart {
    let md = &j["metadata"];
    let metadata = ChartMetadata {
        name: md["name"].as_str().unwrap_or_default().to_string(),
        version: md["version"].as_str().unwrap_or_default().to_string(),
        api_version: "v2".into(),
        ..Default::default()
    };
    let files = |key: &str| -> Vec<ChartFile> {
        j[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| ChartFile {
                        name: f["name"].as_str().unwrap_or_default().to_string(),
                        data: f["data"].as_str().unwrap_or_default().as_bytes().to_vec(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Chart {
        metadata,
        values_yaml: j
            .get("values")
            .map(|v| serde_json::to_string(v).unwrap())
            .unwrap_or_default(),
        templates: files("templates"),
        files: files("files"),
        dependencies: j["dependencies"]
            .as_array()
            .map(|a| a.iter().map(chart_from_json).collect())
            .unwrap_or_default(),
        ..Default::default()
    }
}

fn values_tree(j: &Json) -> ValuesTree {
    ValuesTree {
        name: j["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        defaults: j
            .get("values")
            .map(Value::from_json)
            .unwrap_or_else(Value::empty_map),
        schema: None,
        subcharts: j["dependencies"]
            .as_array()
            .map(|a| a.iter().map(values_tree).collect())
            .unwrap_or_default(),
    }
}

fn check_error(case: &Json, err: &str) -> Result<(), String> {
    if let Some(e) = case["expected_error_exact"].as_str() {
        return (err == e)
            .then_some(())
            .ok_or(format!("error {err:?}, want exactly {e:?}"));
    }
    if let Some(e) = case["expected_error_suffix"].as_str() {
        return err
            .ends_with(e)
            .then_some(())
            .ok_or(format!("error {err:?}, want suffix {e:?}"));
    }
    if let Some(e) = case["expected_error"].as_str() {
        return err
            .contains(e)
            .then_some(())
            .ok_or(format!("error {err:?}, want it to contain {e:?}"));
    }
    Err(format!("unexpected error: {err}"))
}

/// Whether the case states the error its render must end with.
fn expects_error(case: &Json) -> bool {
    [
        "expected_error_exact",
        "expected_error_suffix",
        "expected_error",
    ]
    .iter()
    .any(|k| case.get(*k).is_some_and(|v| !v.is_null()))
}

fn check_outputs(case: &Json, out: &BTreeMap<String, String>) -> Result<(), String> {
    if let Some(n) = case["expected_output_count"].as_u64()
        && out.len() as u64 != n
    {
        return Err(format!("{} outputs, want {n}", out.len()));
    }
    for (k, v) in case["expected"].as_object().into_iter().flatten() {
        let want = v.as_str().unwrap_or_default();
        match out.get(k) {
            Some(got) if got == want => {}
            Some(got) => return Err(format!("{k}: got {got:?}, want {want:?}")),
            None => {
                return Err(format!(
                    "{k}: missing from output {:?}",
                    out.keys().collect::<Vec<_>>()
                ));
            }
        }
    }
    Ok(())
}

fn run_case(case: &Json) -> Result<(), String> {
    let engine = Engine {
        strict: case["strict"].as_bool().unwrap_or(false),
        lint_mode: case["lint_mode"].as_bool().unwrap_or(false),
        ..Engine::default()
    };
    match case["kind"].as_str().unwrap_or_default() {
        "funcmap" => {
            let data = Value::from_json(&case["data"]);
            let tpl = case["template"].as_str().unwrap_or_default();
            let got = engine
                .execute_text("test", tpl, &data)
                .map_err(|e| e.to_string())?;
            let want = case["expected"].as_str().unwrap_or_default();
            (got == want)
                .then_some(())
                .ok_or(format!("got {got:?}, want {want:?}"))
        }
        "funcmap_names" => {
            let names = Engine::function_names();
            for n in case["must_contain"].as_array().into_iter().flatten() {
                let n = n.as_str().unwrap_or_default();
                if !names.iter().any(|x| x == n) {
                    return Err(format!("missing function {n}"));
                }
            }
            for n in case["must_not_contain"].as_array().into_iter().flatten() {
                let n = n.as_str().unwrap_or_default();
                if names.iter().any(|x| x == n) {
                    return Err(format!("function {n} must not exist"));
                }
            }
            Ok(())
        }
        "sort_templates" => {
            let mut names: Vec<String> = json_strings(&case["input"]);
            sort_templates(&mut names);
            let want: Vec<String> = json_strings(&case["expected"]);
            (names == want)
                .then_some(())
                .ok_or(format!("got {names:?}, want {want:?}"))
        }
        "render_internal" => {
            let templates = case["templates"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, t)| {
                    (
                        name.clone(),
                        t["tpl"].as_str().unwrap_or_default().to_string(),
                        Value::from_json(&t["vals"]),
                    )
                })
                .collect();
            match engine.render_named(templates) {
                Ok(out) if expects_error(case) => Err(format!(
                    "rendered {:?}, but an error was expected",
                    out.keys().collect::<Vec<_>>()
                )),
                Ok(out) => check_outputs(case, &out),
                Err(e) => check_error(case, &e.to_string()),
            }
        }
        "render" => {
            let chart = chart_from_json(&case["chart"]);
            let tree = values_tree(&case["chart"]);
            let mut top = Value::from_json(&case["render_values"]);
            if let Some(user) = case.get("user_values") {
                let (vals, _) =
                    signet_render::values::coalesce_values(&tree, &Value::from_json(user))
                        .map_err(|e| e.to_string())?;
                if let Value::Map(m) = &top {
                    m.borrow_mut().insert("Values".into(), vals);
                }
            } else {
                // Helm's test hands the engine CoalesceValues(chart, renderValues).
                top = signet_render::values::coalesce_values(&tree, &top)
                    .map_err(|e| e.to_string())?
                    .0;
            }
            match engine.render(&chart, &top) {
                Ok(out) => {
                    if expects_error(case) || case.get("expected").is_none() {
                        return Err("rendered, but an error was expected".into());
                    }
                    check_outputs(case, &out)
                }
                Err(e) => check_error(case, &e.to_string()),
            }
        }
        other => Err(format!("unknown case kind {other}")),
    }
}

#[test]
fn helm_engine_cases() {
    let path = corpus_dir().join("helm-engine-cases.json");
    let Some(doc) = load_case_file("corpus helm-engine", &path) else {
        return;
    };
    let cases = doc["cases"].as_array().expect("cases array");
    let mut tally = CaseTally::new("helm-engine", &known_differences_file("helm-engine.txt"));
    for case in cases {
        let id = case["id"].as_str().unwrap_or_default();
        let name = case["name"].as_str().unwrap_or_default();
        tally.record(id, &run_case(case).map_err(|e| format!("{name}: {e}")));
    }
    tally.finish();
}
