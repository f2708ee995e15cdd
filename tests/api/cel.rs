//! Every CEL rule parses, compiles against its schema node, uses only allowed variables and stays
//! within the cost budget.

use crate::support::{crd_json, root_schema};
use serde_json::{Value, json};

fn all_rules(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(rules) = map
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
            {
                out.extend(
                    rules
                        .iter()
                        .filter_map(|r| r["rule"].as_str().map(str::to_owned)),
                );
            }
            map.values().for_each(|v| all_rules(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| all_rules(v, out)),
        _ => {}
    }
}

/// Static analysis of every rule in the scope of the schema node that carries it: only the
/// variables a CRD rule may use, and a cost estimate within the API server's budget (which needs
/// maxItems/maxLength on what the rule iterates or matches).
fn rule_warnings(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(rules) = map
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
            {
                let compiled = kube_cel::compile_schema(node);
                // The scope check also reports the iteration variables of macros such as
                // `list.exists(x, ...)`; those are bound by the macro, not free.
                let macro_variable = regex::Regex::new(
                    r"\.(?:all|exists|exists_one|map|filter)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,",
                )
                .expect("regex");
                for rule in rules.iter().filter_map(|r| r["rule"].as_str()) {
                    let bound: Vec<String> = macro_variable
                        .captures_iter(rule)
                        .map(|c| format!("variable '{}'", &c[1]))
                        .collect();
                    let scope = kube_cel::ScopeContext::CrdValidation;
                    out.extend(
                        kube_cel::analyze_rule(rule, &compiled, scope)
                            .into_iter()
                            .filter(|w| !bound.iter().any(|b| w.message.starts_with(b.as_str())))
                            .map(|w| format!("{rule}: {:?}: {}", w.kind, w.message)),
                    );
                }
            }
            map.values().for_each(|v| rule_warnings(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| rule_warnings(v, out)),
        _ => {}
    }
}

#[test]
fn every_cel_rule_compiles() {
    let crd = crd_json();
    let root = root_schema(&crd);
    let mut rules = Vec::new();
    all_rules(root, &mut rules);
    assert!(
        rules.len() >= 12,
        "expected the documented rules, found {}: {rules:#?}",
        rules.len()
    );
    for rule in &rules {
        if let Err(err) = kube_cel::cel::Program::compile(rule) {
            panic!("CEL rule does not parse: {rule}\n{err}");
        }
    }
    let compiled = kube_cel::compile_schema(root);
    let mut warnings = Vec::new();
    rule_warnings(root, &mut warnings);
    assert!(
        warnings.is_empty(),
        "CEL rules the API server may refuse: {warnings:#?}"
    );
    let errors: Vec<String> = compiled
        .compilation_errors()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "CEL compilation errors: {errors:#?}");
}

#[test]
fn the_rule_analysis_catches_unbounded_and_out_of_scope_rules() {
    let schema = json!({
        "type": "object",
        "properties": {
            "names": {"type": "array", "items": {"type": "string"}},
        },
        "x-kubernetes-validations": [
            {"rule": "self.names.all(n, n.matches('^[a-z]+$'))", "message": "m"},
            {"rule": "object.spec == self", "message": "m"}
        ]
    });
    let mut warnings = Vec::new();
    rule_warnings(&schema, &mut warnings);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("MissingBounds") || w.contains("CostExceeded")),
        "{warnings:#?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("variable 'object'")),
        "{warnings:#?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("variable 'n'")),
        "{warnings:#?}"
    );
}
