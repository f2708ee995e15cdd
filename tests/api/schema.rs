//! The CRD is a structural schema with correctly used `x-kubernetes-*` extensions.

use crate::support::{crd_json, root_schema};
use serde_json::{Value, json};

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
    // The root `metadata` is the exception: the API server refuses a description there.
    if path.contains(".properties.")
        && path != ".properties.metadata"
        && !obj.contains_key("description")
    {
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

    // A CRD schema may constrain only metadata.name and metadata.generateName.
    let metadata = &root["properties"]["metadata"];
    let constrained: Vec<&String> = metadata["properties"]
        .as_object()
        .map(|p| p.keys().collect())
        .unwrap_or_default();
    assert!(
        constrained
            .iter()
            .all(|k| *k == "name" || *k == "generateName"),
        "metadata constrains {constrained:?}"
    );
    assert_eq!(metadata["properties"]["name"]["maxLength"], 253);
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
