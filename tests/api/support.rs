//! Shared helpers: paths, the generated CRD as JSON, YAML reading, edits of a base release, and
//! the offline mirror of what the API server checks on create.

use serde_json::{Value, json};
use signet::api::crd;
use std::path::{Path, PathBuf};

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn crd_json() -> Value {
    serde_json::to_value(crd().expect("CRD generates")).expect("CRD serialises")
}

/// The `openAPIV3Schema` of the only version.
pub fn root_schema(crd: &Value) -> &Value {
    let versions = crd["spec"]["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 1, "one served version");
    &versions[0]["schema"]["openAPIV3Schema"]
}

/// Fields the API server would drop or, with strict field validation, reject.
pub fn unknown_fields(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
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
                // A map's values are checked against `additionalProperties`, as the API server does.
                let additional = schema["additionalProperties"]
                    .is_object()
                    .then(|| &schema["additionalProperties"]);
                match props.and_then(|p| p.get(key)).or(additional) {
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
pub fn server_side_errors(object: &Value) -> Vec<String> {
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

pub fn base_release() -> Value {
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
pub fn set(doc: &mut Value, pointer: &str, value: Value) {
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

pub fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    if let Some(obj) = doc.pointer_mut(parent).and_then(Value::as_object_mut) {
        obj.remove(key);
    }
}

/// Whether a server-side error is about `field` (or a parent object of it). JSON-schema errors
/// use JSON pointers (`/spec/a/0/b`), CEL errors dotted paths (`spec.a[0].b`, `.spec.a`).
pub fn names_field(error: &str, field: &str) -> bool {
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

pub fn read_yaml<T: serde::de::DeserializeOwned>(relative: &str) -> T {
    let path = workspace_root().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

pub fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read sample");
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()))
        .into_iter()
        .filter(|doc| !doc.is_null())
        .collect()
}
