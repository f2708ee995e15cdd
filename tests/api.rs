//! The SignedChartRelease API, offline: the committed CRD matches the types, is a structural schema
//! whose CEL rules compile, the samples pass every rule the API server applies (OpenAPI, CEL, no
//! unknown fields) and the Rust mirror `validate()`, invalid specs are rejected by both with the
//! field named, `Ready` is summarised correctly, and the controller placeholder serves its probes
//! and stops cleanly on SIGTERM.

use serde_json::{Value, json};
use signet::api::conditions::{reasons, set_condition, summarize_ready, types};
use signet::api::{SignedChartRelease, crd, crd_yaml};
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn crd_json() -> Value {
    serde_json::to_value(crd().expect("CRD generates")).expect("CRD serialises")
}

/// The `openAPIV3Schema` of the only version.
fn root_schema(crd: &Value) -> &Value {
    let versions = crd["spec"]["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 1, "one served version");
    &versions[0]["schema"]["openAPIV3Schema"]
}

// ---------------------------------------------------------------------------------------------
// The committed CRD

#[test]
fn committed_crd_matches_the_types() {
    let path = workspace_root().join(signet::api::CRD_PATH);
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `make crds`", path.display()));
    let generated = crd_yaml().expect("CRD YAML");
    assert!(
        committed == generated,
        "{} is out of date with src/api; run `make crds` and commit the result",
        path.display()
    );
    // And it is YAML that means the same as the typed CRD.
    let reparsed: Value = serde_saphyr::from_str(&committed).expect("committed CRD parses");
    assert_eq!(reparsed, crd_json(), "YAML round trip changes the CRD");
}

#[test]
fn crd_names_scope_columns_and_subresources() {
    let crd = crd_json();
    let spec = &crd["spec"];
    assert_eq!(crd["metadata"]["name"], "signedchartreleases.signet.dev");
    assert_eq!(spec["group"], "signet.dev");
    assert_eq!(spec["scope"], "Namespaced");
    assert_eq!(spec["names"]["kind"], "SignedChartRelease");
    assert_eq!(spec["names"]["shortNames"], json!(["scr"]));
    let version = &spec["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert_eq!(version["served"], true);
    assert_eq!(version["storage"], true);
    assert_eq!(version["subresources"]["status"], json!({}));
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .expect("printer columns")
        .iter()
        .map(|c| c["name"].as_str().expect("column name"))
        .collect();
    assert_eq!(columns, ["Ready", "Status", "Version", "Digest", "Age"]);
}

// ---------------------------------------------------------------------------------------------
// Structural schema

/// Walks a schema node and collects violations of the rules the API server applies to CRD
/// schemas (structural schema, x-kubernetes-* extensions, descriptions for users).
fn check_structural(node: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        problems.push(format!("{path}: schema node is not an object"));
        return;
    };
    let preserve = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
    let int_or_string = obj.get("x-kubernetes-int-or-string") == Some(&json!(true));
    let embedded = obj.get("x-kubernetes-embedded-resource") == Some(&json!(true));
    for forbidden in [
        "$ref",
        "definitions",
        "$defs",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
    ] {
        // Value validations under anyOf/allOf are allowed by Kubernetes but carry no types; our
        // types never need them, so any occurrence means a derive produced a non-structural shape.
        if obj.contains_key(forbidden) {
            problems.push(format!(
                "{path}: uses {forbidden}, which a structural schema cannot"
            ));
        }
    }
    let ty = obj.get("type").and_then(Value::as_str);
    match ty {
        Some("object" | "array" | "string" | "integer" | "number" | "boolean") => {}
        Some(other) => problems.push(format!("{path}: unknown type {other:?}")),
        None if int_or_string || (preserve && path.is_empty()) => {}
        None => problems.push(format!("{path}: has no type")),
    }
    if int_or_string && ty.is_some() {
        problems.push(format!(
            "{path}: x-kubernetes-int-or-string must not have a type"
        ));
    }
    if path.contains(".properties.") && !obj.contains_key("description") {
        problems.push(format!(
            "{path}: has no description (it is the user documentation)"
        ));
    }
    if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
        problems.push(format!(
            "{path}: properties and additionalProperties together"
        ));
    }
    if (preserve || embedded) && ty != Some("object") {
        problems.push(format!(
            "{path}: preserve-unknown-fields/embedded-resource on a non-object"
        ));
    }
    if let Some(required) = obj.get("required").and_then(Value::as_array) {
        for name in required {
            let name = name.as_str().unwrap_or_default();
            if obj.get("properties").and_then(|p| p.get(name)).is_none() {
                problems.push(format!("{path}: required {name:?} is not a property"));
            }
        }
    }
    if let Some(list_type) = obj.get("x-kubernetes-list-type") {
        if ty != Some("array") {
            problems.push(format!("{path}: x-kubernetes-list-type on a non-array"));
        }
        match list_type.as_str() {
            Some("atomic" | "set") => {
                if obj.contains_key("x-kubernetes-list-map-keys") {
                    problems.push(format!("{path}: list-map-keys need list-type map"));
                }
            }
            Some("map") => {
                let items = &obj["items"];
                let keys = obj
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array);
                match keys {
                    None => problems.push(format!("{path}: list-type map without list-map-keys")),
                    Some(keys) => {
                        for key in keys {
                            let key = key.as_str().unwrap_or_default();
                            let required = items["required"]
                                .as_array()
                                .is_some_and(|r| r.iter().any(|k| k == key));
                            let defaulted = items["properties"][key].get("default").is_some();
                            if !required && !defaulted {
                                problems.push(format!(
                                    "{path}: list-map key {key:?} must be required or defaulted"
                                ));
                            }
                            let key_type = items["properties"][key]["type"].as_str();
                            if !matches!(key_type, Some("string" | "integer" | "boolean")) {
                                problems
                                    .push(format!("{path}: list-map key {key:?} is not scalar"));
                            }
                        }
                    }
                }
                if items["type"] != "object" {
                    problems.push(format!("{path}: list-type map items must be objects"));
                }
            }
            _ => problems.push(format!(
                "{path}: unknown x-kubernetes-list-type {list_type}"
            )),
        }
    }
    if let Some(map_type) = obj.get("x-kubernetes-map-type")
        && (ty != Some("object") || !matches!(map_type.as_str(), Some("atomic" | "granular")))
    {
        problems.push(format!("{path}: bad x-kubernetes-map-type {map_type}"));
    }
    if let Some(rules) = obj.get("x-kubernetes-validations") {
        let Some(rules) = rules.as_array() else {
            problems.push(format!("{path}: x-kubernetes-validations is not a list"));
            return;
        };
        for rule in rules {
            if !rule["rule"].is_string() {
                problems.push(format!("{path}: validation rule without a rule string"));
            }
            if !rule["message"].is_string() {
                problems.push(format!(
                    "{path}: rule {} has no message for users",
                    rule["rule"]
                ));
            }
        }
    }
    for key in obj.keys() {
        if key.starts_with("x-kubernetes-")
            && ![
                "x-kubernetes-preserve-unknown-fields",
                "x-kubernetes-int-or-string",
                "x-kubernetes-embedded-resource",
                "x-kubernetes-list-type",
                "x-kubernetes-list-map-keys",
                "x-kubernetes-map-type",
                "x-kubernetes-validations",
            ]
            .contains(&key.as_str())
        {
            problems.push(format!("{path}: unknown extension {key}"));
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            check_structural(child, &format!("{path}.properties.{name}"), problems);
        }
    }
    if ty == Some("array") {
        match obj.get("items") {
            Some(items) => check_structural(items, &format!("{path}.items"), problems),
            None => problems.push(format!("{path}: array without items")),
        }
    }
    if let Some(additional) = obj.get("additionalProperties").filter(|a| a.is_object()) {
        check_structural(
            additional,
            &format!("{path}.additionalProperties"),
            problems,
        );
    }
}

#[test]
fn crd_schema_is_structural() {
    let crd = crd_json();
    let root = root_schema(&crd);
    let mut problems = Vec::new();
    check_structural(root, "", &mut problems);
    assert!(
        problems.is_empty(),
        "non-structural schema:\n{}",
        problems.join("\n")
    );

    // metadata is left to the API server's ObjectMeta validation.
    assert!(
        root["properties"]
            .get("metadata")
            .is_none_or(|m| m == &json!({"type": "object"}))
    );
    // Spot-check that the walk sees what we rely on.
    let spec = &root["properties"]["spec"]["properties"];
    assert_eq!(spec["values"]["x-kubernetes-preserve-unknown-fields"], true);
    let authorities = &spec["verify"]["properties"]["authorities"];
    assert_eq!(authorities["x-kubernetes-list-type"], "map");
    assert_eq!(authorities["x-kubernetes-list-map-keys"], json!(["name"]));
    let conditions = &root["properties"]["status"]["properties"]["conditions"];
    assert_eq!(conditions["x-kubernetes-list-map-keys"], json!(["type"]));
}

#[test]
fn the_structural_check_catches_bad_schemas() {
    // Guard against a walk that accepts anything.
    let bad = json!({
        "type": "object",
        "properties": {
            "untyped": {"description": "no type"},
            "both": {"type": "object", "description": "d", "properties": {}, "additionalProperties": {"type": "string"}},
            "list": {"type": "array", "description": "d", "items": {"type": "string"}, "x-kubernetes-list-type": "map"},
            "rule": {"type": "string", "description": "d", "x-kubernetes-validations": [{"rule": "true"}]},
            "undocumented": {"type": "string"}
        }
    });
    let mut problems = Vec::new();
    check_structural(&bad, "", &mut problems);
    for expected in [
        ".properties.untyped: has no type",
        ".properties.both: properties and additionalProperties together",
        ".properties.list: list-type map without list-map-keys",
        ".properties.rule: rule \"true\" has no message",
        ".properties.undocumented: has no description",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "missed {expected:?} in {problems:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// CEL rules

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

// ---------------------------------------------------------------------------------------------
// Server-side rules, offline

/// Fields the API server would drop or, with strict field validation, reject.
fn unknown_fields(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if schema["x-kubernetes-preserve-unknown-fields"] == true {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema["properties"].as_object();
            for (key, child) in map {
                // metadata is validated by the API server's ObjectMeta handling, not this schema.
                if path.is_empty() && (key == "metadata" || key == "apiVersion" || key == "kind") {
                    continue;
                }
                match props.and_then(|p| p.get(key)) {
                    Some(child_schema) => {
                        unknown_fields(child_schema, child, &format!("{path}.{key}"), out)
                    }
                    None => out.push(format!("{path}.{key}")),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                unknown_fields(&schema["items"], item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Everything the API server checks on create, as one list of messages (empty = accepted).
fn server_side_errors(object: &Value) -> Vec<String> {
    let crd = crd_json();
    let root = root_schema(&crd);
    let mut errors = Vec::new();
    unknown_fields(root, object, "", &mut errors);
    let errors: Vec<String> = errors
        .into_iter()
        .map(|f| format!("unknown field {f}"))
        .collect();

    // OpenAPI v3 value validation (types, patterns, lengths, enums, required).
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(false)
        .build(root)
        .expect("openAPIV3Schema is a valid JSON schema");
    let mut errors = errors;
    errors.extend(
        validator
            .iter_errors(object)
            .map(|e| format!("{}: {e}", e.instance_path())),
    );

    // CEL rules, after the schema's defaults are applied, like the API server does.
    if let Err(cel_errors) = kube_cel::Validator::new().validate(root, object, None) {
        errors.extend(cel_errors.iter().map(|e| e.to_string()));
    }
    errors
}

fn sample_files() -> Vec<PathBuf> {
    let dir = workspace_root().join("config/samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "kustomization.yaml"))
        .collect();
    files.sort();
    files
}

fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read sample");
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()))
        .into_iter()
        .filter(|doc| !doc.is_null())
        .collect()
}

#[test]
fn samples_deserialise_and_pass_every_rule() {
    let files = sample_files();
    assert!(
        files.len() >= 3,
        "expected key-based, keyless and valuesFrom samples"
    );
    let mut releases = 0;
    let (mut key, mut keyless, mut values_from) = (false, false, false);
    for path in &files {
        let name = path.display();
        for doc in yaml_documents(path) {
            let kind = doc["kind"].as_str().unwrap_or_default();
            match kind {
                "SignedChartRelease" => {}
                "ConfigMap" | "Secret" => {
                    assert_eq!(doc["apiVersion"], "v1", "{name}: {kind} apiVersion");
                    continue;
                }
                other => panic!("{name}: unexpected kind {other:?} in samples"),
            }
            releases += 1;
            assert_eq!(doc["apiVersion"], "signet.dev/v1alpha1", "{name}");
            let release: SignedChartRelease = serde_json::from_value(doc.clone())
                .unwrap_or_else(|e| panic!("{name}: does not deserialise: {e}"));
            if let Err(e) = release.validate() {
                panic!("{name}: validate() rejects the sample: {e}");
            }
            let server = server_side_errors(&doc);
            assert!(
                server.is_empty(),
                "{name}: the API server would reject it: {server:#?}"
            );
            key |= release
                .spec
                .verify
                .authorities
                .iter()
                .any(|a| a.key.is_some());
            keyless |= release
                .spec
                .verify
                .authorities
                .iter()
                .any(|a| a.keyless.is_some());
            values_from |= !release.spec.values_from.is_empty();
        }
    }
    assert!(
        releases >= 3,
        "found {releases} SignedChartReleases in the samples"
    );
    assert!(
        key && keyless && values_from,
        "samples must cover key, keyless and valuesFrom"
    );
}

#[test]
fn samples_kustomization_lists_every_sample() {
    let text = std::fs::read_to_string(workspace_root().join("config/samples/kustomization.yaml"))
        .expect("config/samples/kustomization.yaml");
    let kustomization: Value = serde_saphyr::from_str(&text).expect("kustomization parses");
    let listed: Vec<&str> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for path in sample_files() {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name");
        assert!(
            listed.contains(&file),
            "config/samples/kustomization.yaml misses {file}"
        );
    }
}

fn base_release() -> Value {
    json!({
        "apiVersion": "signet.dev/v1alpha1",
        "kind": "SignedChartRelease",
        "metadata": {"name": "demo", "namespace": "default"},
        "spec": {
            "chart": {"repository": "oci://registry.example.com/charts/demo", "version": "1.2.3"},
            "verify": {
                "authorities": [
                    {"name": "team", "key": {"secretRef": {"name": "keys", "key": "cosign.pub"}}},
                    {"name": "ci", "keyless": {"identities": [
                        {"issuer": "https://token.actions.githubusercontent.com", "subjectRegExp": "^https://github.com/example/.*$"}
                    ]}}
                ]
            }
        }
    })
}

/// Sets the JSON pointer `pointer` (creating objects on the way) to `value`.
fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    let mut target = doc;
    for part in parent.split('/').filter(|p| !p.is_empty()) {
        target = match target {
            Value::Array(items) => &mut items[part.parse::<usize>().expect("index")],
            other => other
                .as_object_mut()
                .expect("object on the way")
                .entry(part)
                .or_insert_with(|| json!({})),
        };
    }
    match target {
        Value::Array(items) => items[key.parse::<usize>().expect("index")] = value,
        other => {
            other
                .as_object_mut()
                .expect("object")
                .insert(key.to_owned(), value);
        }
    }
}

fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    if let Some(obj) = doc.pointer_mut(parent).and_then(Value::as_object_mut) {
        obj.remove(key);
    }
}

/// Whether a server-side error is about `field` (or a parent object of it). JSON-schema errors
/// use JSON pointers (`/spec/a/0/b`), CEL errors dotted paths (`spec.a[0].b`, `.spec.a`).
fn names_field(error: &str, field: &str) -> bool {
    let Some((path, _)) = error.split_once(": ") else {
        return false;
    };
    let dotted = if path.starts_with('/') {
        path.split('/')
            .filter(|p| !p.is_empty())
            .fold(String::new(), |acc, part| match part.parse::<usize>() {
                Ok(index) => format!("{acc}[{index}]"),
                Err(_) if acc.is_empty() => part.to_owned(),
                Err(_) => format!("{acc}.{part}"),
            })
    } else {
        path.trim_start_matches('.').to_owned()
    };
    !dotted.is_empty() && field.starts_with(&dotted)
}

/// Changes a valid release into the case under test.
type Edit = fn(&mut Value);

/// A broken spec, the field `validate()` must name, and whether the API server rejects it too
/// (some checks, like regexp syntax, only exist in the Rust mirror).
struct Case {
    what: &'static str,
    edit: Edit,
    field: &'static str,
    server_rejects: bool,
}

#[test]
fn invalid_specs_are_rejected_naming_the_field() {
    let cases = [
        Case {
            what: "authority with key and keyless",
            edit: |d| {
                set(
                    d,
                    "/spec/verify/authorities/0/keyless",
                    json!({"identities": [{"issuer": "https://i", "subject": "s"}]}),
                )
            },
            field: "spec.verify.authorities[0]",
            server_rejects: true,
        },
        Case {
            what: "authority with neither key nor keyless",
            edit: |d| remove(d, "/spec/verify/authorities/0/key"),
            field: "spec.verify.authorities[0]",
            server_rejects: true,
        },
        Case {
            what: "short digest",
            edit: |d| set(d, "/spec/chart/digest", json!("sha256:abc123")),
            field: "spec.chart.digest",
            server_rejects: true,
        },
        Case {
            what: "uppercase digest",
            edit: |d| {
                set(
                    d,
                    "/spec/chart/digest",
                    json!(format!("sha256:{}", "A".repeat(64))),
                )
            },
            field: "spec.chart.digest",
            server_rejects: true,
        },
        Case {
            what: "https repository",
            edit: |d| {
                set(
                    d,
                    "/spec/chart/repository",
                    json!("https://registry.example.com/charts/demo"),
                )
            },
            field: "spec.chart.repository",
            server_rejects: true,
        },
        Case {
            what: "repository with a tag",
            edit: |d| {
                set(
                    d,
                    "/spec/chart/repository",
                    json!("oci://registry.example.com/charts/demo:1.2.3"),
                )
            },
            field: "spec.chart.repository",
            server_rejects: true,
        },
        Case {
            what: "interval in words",
            edit: |d| set(d, "/spec/interval", json!("10 minutes")),
            field: "spec.interval",
            server_rejects: true,
        },
        Case {
            what: "interval below 1s",
            edit: |d| set(d, "/spec/interval", json!("500ms")),
            field: "spec.interval",
            server_rejects: true,
        },
        Case {
            what: "zero timeout",
            edit: |d| set(d, "/spec/timeout", json!("0s")),
            field: "spec.timeout",
            server_rejects: true,
        },
        Case {
            what: "threshold above the number of authorities",
            edit: |d| set(d, "/spec/verify/threshold", json!(3)),
            field: "spec.verify.threshold",
            server_rejects: true,
        },
        Case {
            what: "keyless without transparency log",
            edit: |d| set(d, "/spec/verify/requireTransparencyLog", json!(false)),
            field: "spec.verify.requireTransparencyLog",
            server_rejects: true,
        },
        Case {
            what: "issuer and issuerRegExp together",
            edit: |d| {
                set(
                    d,
                    "/spec/verify/authorities/1/keyless/identities/0/issuerRegExp",
                    json!(".*"),
                )
            },
            field: "spec.verify.authorities[1].keyless.identities[0]",
            server_rejects: true,
        },
        Case {
            what: "identity without subject",
            edit: |d| {
                remove(
                    d,
                    "/spec/verify/authorities/1/keyless/identities/0/subjectRegExp",
                )
            },
            field: "spec.verify.authorities[1].keyless.identities[0]",
            server_rejects: true,
        },
        Case {
            what: "no authorities",
            edit: |d| set(d, "/spec/verify/authorities", json!([])),
            field: "spec.verify.authorities",
            server_rejects: true,
        },
        Case {
            what: "CA with plain HTTP",
            edit: |d| {
                set(
                    d,
                    "/spec/chart/registry",
                    json!({"plainHTTP": true, "caSecretRef": {"name": "ca"}}),
                )
            },
            field: "spec.chart.registry",
            server_rejects: true,
        },
        Case {
            what: "bad values target path",
            edit: |d| {
                set(
                    d,
                    "/spec/valuesFrom",
                    json!([{"kind": "Secret", "name": "s", "targetPath": "a b"}]),
                )
            },
            field: "spec.valuesFrom[0].targetPath",
            server_rejects: true,
        },
        Case {
            what: "release name too long",
            edit: |d| set(d, "/spec/releaseName", json!("a".repeat(54))),
            field: "spec.releaseName",
            server_rejects: true,
        },
        Case {
            what: "object name too long for a default release name",
            edit: |d| set(d, "/metadata/name", json!("a".repeat(60))),
            field: "spec.releaseName",
            server_rejects: true,
        },
        Case {
            what: "release depending on itself",
            edit: |d| set(d, "/spec/dependsOn", json!([{"name": "demo"}])),
            field: "spec.dependsOn[0]",
            server_rejects: true,
        },
        Case {
            what: "uppercase target namespace",
            edit: |d| set(d, "/spec/targetNamespace", json!("Prod")),
            field: "spec.targetNamespace",
            server_rejects: true,
        },
        Case {
            what: "duplicate authority names",
            edit: |d| set(d, "/spec/verify/authorities/1/name", json!("team")),
            field: "spec.verify.authorities[1].name",
            // The API server enforces list-map key uniqueness itself, outside OpenAPI and CEL.
            server_rejects: false,
        },
        Case {
            what: "version that is neither a version nor a range",
            edit: |d| set(d, "/spec/chart/version", json!("latest")),
            field: "spec.chart.version",
            server_rejects: false,
        },
        Case {
            what: "subject regexp that does not compile",
            edit: |d| {
                set(
                    d,
                    "/spec/verify/authorities/1/keyless/identities/0/subjectRegExp",
                    json!("(unclosed"),
                )
            },
            field: "spec.verify.authorities[1].keyless.identities[0].subjectRegExp",
            server_rejects: false,
        },
    ];

    let base = base_release();
    let release: SignedChartRelease = serde_json::from_value(base.clone()).expect("base parses");
    release.validate().expect("the base release is valid");
    assert_eq!(
        server_side_errors(&base),
        Vec::<String>::new(),
        "base accepted server-side"
    );

    let mut failures = Vec::new();
    for case in &cases {
        let mut doc = base.clone();
        (case.edit)(&mut doc);
        match serde_json::from_value::<SignedChartRelease>(doc.clone()) {
            Err(e) => failures.push(format!("{}: does not even deserialise: {e}", case.what)),
            Ok(release) => match release.validate() {
                Ok(()) => failures.push(format!("{}: validate() accepted it", case.what)),
                Err(errors) => {
                    if !errors.fields().contains(&case.field) {
                        failures.push(format!(
                            "{}: expected an error on {}, got: {errors}",
                            case.what, case.field
                        ));
                    }
                    let text = errors.to_string();
                    assert!(text.contains(case.field), "message names the field: {text}");
                }
            },
        }
        let server = server_side_errors(&doc);
        if case.server_rejects && !server.iter().any(|e| names_field(e, case.field)) {
            failures.push(format!(
                "{}: the CRD rules do not reject {}: {server:?}",
                case.what, case.field
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_edge_cases_are_accepted_by_both() {
    let cases: [(&str, Edit); 7] = [
        ("range version", |d| {
            set(d, "/spec/chart/version", json!(">=1.2.0 <2.0.0 || ^3"))
        }),
        ("digest pin", |d| {
            set(
                d,
                "/spec/chart/digest",
                json!(format!("sha256:{}", "ab".repeat(32))),
            )
        }),
        ("registry port", |d| {
            set(
                d,
                "/spec/chart/repository",
                json!("oci://localhost:5000/a/b_c/d--e"),
            )
        }),
        ("compound interval", |d| {
            set(d, "/spec/interval", json!("1h30m"))
        }),
        ("fractional interval", |d| {
            set(d, "/spec/interval", json!("1.5s"))
        }),
        ("threshold = all", |d| {
            set(d, "/spec/verify/threshold", json!(2))
        }),
        ("values path with index", |d| {
            set(
                d,
                "/spec/valuesFrom",
                json!([{"kind": "ConfigMap", "name": "v", "targetPath": "ingress.tls[0].secretName"}]),
            )
        }),
    ];
    for (what, edit) in cases {
        let mut doc = base_release();
        edit(&mut doc);
        let release: SignedChartRelease = serde_json::from_value(doc.clone()).expect(what);
        if let Err(e) = release.validate() {
            panic!("{what}: validate() rejects it: {e}");
        }
        let server = server_side_errors(&doc);
        assert!(
            server.is_empty(),
            "{what}: server-side rules reject it: {server:#?}"
        );
    }
}

#[test]
fn unknown_fields_are_detected() {
    let mut doc = base_release();
    set(&mut doc, "/spec/chart/tag", json!("1.2.3"));
    set(
        &mut doc,
        "/spec/values",
        json!({"anything": {"goes": true}}),
    );
    let errors = server_side_errors(&doc);
    assert_eq!(errors, ["unknown field .spec.chart.tag"]);
}

// ---------------------------------------------------------------------------------------------
// Ready summary

fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    generation: i64,
) -> signet::api::conditions::Condition {
    signet::api::conditions::Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: format!("{type_} is {status}"),
        observed_generation: Some(generation),
        last_transition_time: signet::api::conditions::Time(
            "2026-01-01T00:00:00Z".parse().expect("timestamp"),
        ),
    }
}

#[test]
fn ready_is_summarised_from_the_other_conditions() {
    let all_true = vec![
        condition(types::SOURCE_VERIFIED, "True", reasons::SUCCEEDED, 2),
        condition(types::APPLIED, "True", reasons::SUCCEEDED, 2),
        condition(types::HEALTHY, "True", reasons::SUCCEEDED, 2),
    ];
    let ready = summarize_ready(&all_true, Some(2));
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        ("True", reasons::SUCCEEDED)
    );

    // A newer generation makes every step stale.
    let stale = summarize_ready(&all_true, Some(3));
    assert_eq!(
        (stale.status, stale.reason.as_str()),
        ("Unknown", reasons::AWAITING_STEP)
    );
    assert!(
        stale.message.contains(types::SOURCE_VERIFIED),
        "{}",
        stale.message
    );

    let mut failing = all_true.clone();
    set_condition(
        &mut failing,
        condition(types::APPLIED, "False", reasons::APPLY_FAILED, 2),
    );
    let ready = summarize_ready(&failing, Some(2));
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        ("False", reasons::APPLY_FAILED)
    );
    assert_eq!(ready.message, "Applied is False");

    let mut reconciling = all_true[..1].to_vec();
    reconciling.push(condition(
        types::RECONCILING,
        "True",
        reasons::PROGRESSING,
        2,
    ));
    let ready = summarize_ready(&reconciling, Some(2));
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        ("Unknown", reasons::PROGRESSING)
    );

    // Stalled wins over everything.
    let mut stalled = all_true.clone();
    stalled.push(condition(
        types::STALLED,
        "True",
        reasons::VERIFICATION_FAILED,
        2,
    ));
    let ready = summarize_ready(&stalled, Some(2));
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        ("False", reasons::VERIFICATION_FAILED)
    );

    let ready = summarize_ready(&[], Some(1));
    assert_eq!(ready.status, "Unknown");
}

#[test]
fn set_condition_keeps_the_transition_time_while_status_is_unchanged() {
    let mut conditions = vec![condition(types::APPLIED, "True", reasons::SUCCEEDED, 1)];
    let original = conditions[0].last_transition_time.clone();
    let mut later = condition(types::APPLIED, "True", reasons::SUCCEEDED, 2);
    later.last_transition_time =
        signet::api::conditions::Time("2026-02-01T00:00:00Z".parse().expect("timestamp"));
    set_condition(&mut conditions, later.clone());
    assert_eq!(conditions.len(), 1);
    assert_eq!(conditions[0].observed_generation, Some(2));
    assert_eq!(conditions[0].last_transition_time, original);

    let mut flipped = later;
    flipped.status = "False".to_owned();
    set_condition(&mut conditions, flipped.clone());
    assert_eq!(
        conditions[0].last_transition_time,
        flipped.last_transition_time
    );
}

// ---------------------------------------------------------------------------------------------
// Controller placeholder

#[test]
fn controller_serves_health_and_exits_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let mut child = Command::new(env!("CARGO_BIN_EXE_signet-controller"))
        .args(["--health-addr", "127.0.0.1:0", "--log-format", "json"])
        .env_remove("SIGNET_HEALTH_ADDR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start signet-controller");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    // The controller logs the address it bound (port 0 = any free port).
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("controller did not log its start-up within 30s")
            });
        let Ok(entry) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if let Some(addr) = entry["fields"]["health_addr"].as_str() {
            break addr.to_owned();
        }
    };

    let get = |path: &str| -> String {
        let mut stream = std::net::TcpStream::connect(&addr).expect("connect to health port");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read response");
        response
    };
    let healthz = get("/healthz");
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    assert!(healthz.ends_with("ok\n"), "{healthz}");
    assert!(get("/readyz").starts_with("HTTP/1.1 200"));
    assert!(get("/nope").starts_with("HTTP/1.1 404"));

    // The shell's builtin kill: no signal crate needed, and no dependency on procps.
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .expect("run sh");
    assert!(status.success(), "kill -TERM failed");
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("controller did not exit within 20s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "controller exited with {exit}");
    let logs: Vec<String> = rx.try_iter().collect();
    assert!(
        logs.iter().any(|l| l.contains("received SIGTERM")),
        "no shutdown log line in {logs:#?}"
    );
}

#[test]
fn e2e_invalid_examples_are_rejected_offline_too() {
    // e2e/run.sh expects the API server to reject each of these with the `# expect:` text; here
    // the same files must fail the offline mirror of the server rules and `validate()`.
    let dir = workspace_root().join("e2e/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the invalid examples, found {}",
        files.len()
    );
    for path in &files {
        let name = path.display();
        let text = std::fs::read_to_string(path).expect("read");
        let header = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
                .unwrap_or_else(|| panic!("{name}: no `# {key}:` header"))
                .to_owned()
        };
        let (field, expect) = (header("field"), header("expect"));
        let doc: Value = serde_saphyr::from_str(&text).expect("YAML");
        let server = server_side_errors(&doc);
        if expect == "unknown field" {
            assert!(
                server
                    .iter()
                    .any(|e| e.starts_with("unknown field .spec.chart.")),
                "{name}: {server:?}"
            );
            continue;
        }
        assert!(
            server.iter().any(|e| names_field(e, &field)),
            "{name}: the CRD rules do not reject {field}: {server:?}"
        );
        let release: SignedChartRelease = serde_json::from_value(doc).expect("deserialises");
        let errors = release
            .validate()
            .expect_err(&format!("{name}: validate() accepts it"));
        assert!(
            errors.fields().contains(&field.as_str()),
            "{name}: {errors}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// config/

fn read_yaml<T: serde::de::DeserializeOwned>(relative: &str) -> T {
    let path = workspace_root().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

#[test]
fn kustomizations_list_every_manifest_and_nothing_missing() {
    for dir in [
        "config/default",
        "config/manager",
        "config/rbac",
        "config/samples",
        "crds",
    ] {
        let kustomization: Value = read_yaml(&format!("{dir}/kustomization.yaml"));
        let resources: Vec<&str> = kustomization["resources"]
            .as_array()
            .unwrap_or_else(|| panic!("{dir}: no resources"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for resource in &resources {
            let path = workspace_root().join(dir).join(resource);
            assert!(
                path.exists(),
                "{dir}/kustomization.yaml lists missing {resource}"
            );
            if path.is_dir() {
                assert!(
                    path.join("kustomization.yaml").exists(),
                    "{dir}: {resource} has no kustomization"
                );
            }
        }
        for entry in std::fs::read_dir(workspace_root().join(dir)).expect("list dir") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".yaml") && name != "kustomization.yaml" {
                assert!(
                    resources.contains(&name.as_str()),
                    "{dir}/{name} is not in its kustomization"
                );
            }
        }
    }
    let default: Value = read_yaml("config/default/kustomization.yaml");
    let resources = default["resources"].as_array().expect("resources");
    for needed in ["../../crds", "../manager", "../rbac"] {
        assert!(
            resources.iter().any(|r| r == needed),
            "config/default misses {needed}"
        );
    }
}

#[test]
fn manager_deployment_is_locked_down_and_probes_the_controller() {
    use k8s_openapi::api::apps::v1::Deployment;
    let deployment: Deployment = read_yaml("config/manager/manager.yaml");
    let pod = deployment.spec.template.spec.expect("pod spec");
    let pod_security = pod.security_context.expect("pod securityContext");
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert_eq!(
        pod_security.seccomp_profile.expect("seccomp").type_,
        "RuntimeDefault"
    );
    assert_eq!(
        pod.service_account_name.as_deref(),
        Some("signet-controller")
    );
    let [container] = pod.containers.as_slice() else {
        panic!("one container")
    };
    let security = container
        .security_context
        .as_ref()
        .expect("container securityContext");
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(security.run_as_non_root, Some(true));
    let drop = security
        .capabilities
        .as_ref()
        .and_then(|c| c.drop.clone())
        .unwrap_or_default();
    assert_eq!(drop, ["ALL"]);
    let requests = container
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .expect("requests");
    assert!(requests.contains_key("cpu") && requests.contains_key("memory"));

    // The probes hit the paths the controller serves, on the port it listens on.
    let port = container
        .ports
        .as_ref()
        .expect("ports")
        .iter()
        .find(|p| p.name.as_deref() == Some("health"));
    let port = port.expect("health port").container_port;
    let args = container.args.clone().unwrap_or_default();
    assert!(
        args.contains(&format!("--health-addr=0.0.0.0:{port}")),
        "{args:?}"
    );
    let probe_path = |probe: &Option<k8s_openapi::api::core::v1::Probe>| {
        probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|h| h.path.clone())
    };
    assert_eq!(
        probe_path(&container.liveness_probe).as_deref(),
        Some("/healthz")
    );
    assert_eq!(
        probe_path(&container.readiness_probe).as_deref(),
        Some("/readyz")
    );
}

#[test]
fn controller_role_grants_what_the_controller_needs_and_no_wildcards() {
    use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
    let grants = |rules: &[PolicyRule], group: &str, resource: &str, verb: &str| {
        rules.iter().any(|r| {
            r.api_groups
                .as_ref()
                .is_some_and(|g| g.iter().any(|x| x == group))
                && r.resources
                    .as_ref()
                    .is_some_and(|x| x.iter().any(|x| x == resource))
                && r.verbs.iter().any(|v| v == verb)
        })
    };
    let role: ClusterRole = read_yaml("config/rbac/role.yaml");
    let rules = role.rules.expect("rules");
    for (group, resource, verb) in [
        ("signet.dev", "signedchartreleases", "watch"),
        ("signet.dev", "signedchartreleases", "patch"),
        ("signet.dev", "signedchartreleases/status", "patch"),
        ("", "secrets", "get"),
        ("", "configmaps", "get"),
        ("", "serviceaccounts", "impersonate"),
        ("", "events", "create"),
    ] {
        assert!(
            grants(&rules, group, resource, verb),
            "role.yaml lacks {verb} {group}/{resource}"
        );
    }
    assert!(
        !grants(&rules, "", "secrets", "list"),
        "the controller must not list all Secrets"
    );
    let wildcard = rules.iter().any(|r| {
        r.verbs.iter().any(|v| v == "*")
            || r.resources
                .as_ref()
                .is_some_and(|x| x.iter().any(|x| x == "*"))
    });
    assert!(
        !wildcard,
        "role.yaml must stay narrow; wildcards belong in apply_role.yaml"
    );

    let leader: Role = read_yaml("config/rbac/leader_election_role.yaml");
    let leader_rules = leader.rules.expect("rules");
    assert!(grants(
        &leader_rules,
        "coordination.k8s.io",
        "leases",
        "update"
    ));
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

#[test]
fn effective_values_follow_the_documented_defaults() {
    use std::time::Duration;
    let mut release: SignedChartRelease = serde_json::from_value(base_release()).expect("parses");
    assert_eq!(release.effective_release_name(), "demo");
    assert_eq!(
        release.effective_target_namespace().as_deref(),
        Some("default")
    );
    assert_eq!(release.interval(), Ok(Duration::from_secs(600)));
    assert_eq!(release.timeout(), Ok(Duration::from_secs(300)));
    assert_eq!(release.uninstall_timeout(), Ok(Duration::from_secs(300)));
    assert!(release.waits_for_health());
    assert_eq!(release.signer_threshold(), 1);

    release.spec.release_name = Some("web".into());
    release.spec.target_namespace = Some("prod".into());
    release.spec.interval = "1h30m".into();
    release.spec.timeout = "1.5s".into();
    release.spec.verify.threshold = Some(2);
    assert_eq!(release.effective_release_name(), "web");
    assert_eq!(
        release.effective_target_namespace().as_deref(),
        Some("prod")
    );
    assert_eq!(release.interval(), Ok(Duration::from_secs(5400)));
    assert_eq!(release.timeout(), Ok(Duration::from_millis(1500)));
    assert_eq!(release.signer_threshold(), 2);

    release.spec.interval = "10 minutes".into();
    let error = release.interval().expect_err("not a duration");
    assert_eq!(error.field, "spec.interval");
}

#[test]
fn version_constraints_follow_helm_syntax() {
    use signet::api::validate::check_version_constraint;
    let accepted = [
        "1.2.3",
        "v1.2.3",
        "1.2.3-rc.1+build.5",
        ">=1.2.0 <2",
        ">= 1.2, < 2.0",
        "~1.4",
        "^1",
        "1.x",
        "*",
        "1.2 - 1.4.5",
        "^1 || ^2",
        ">=1.0.0, !=1.3.0",
    ];
    for version in accepted {
        assert!(
            check_version_constraint(version).is_ok(),
            "{version} should be accepted"
        );
        let mut doc = base_release();
        set(&mut doc, "/spec/chart/version", json!(version));
        assert!(
            server_side_errors(&doc).is_empty(),
            "{version}: server-side rules reject it"
        );
    }
    for version in ["latest", ">=", "1.2.3.4.5", "^1 ||", "~>1.2"] {
        let error = check_version_constraint(version).expect_err(version);
        assert!(
            error.contains(version),
            "the error quotes the input: {error}"
        );
    }
}
