//! The API server's own validation of a CustomResourceDefinition (apiextensions), offline: the
//! rules a real API server applies when the CRD is created, beyond "is it structural". A real
//! v1.34 API server refused our first CRD for a `description` on the root `metadata` schema, which
//! the structural walk in `schema.rs` did not know about; each rule here is one the API server
//! enforces, and `bad_crds_are_refused_for_the_right_reason` proves the checker catches each one.
//!
//! Covered (apiextensions-apiserver `pkg/apiserver/schema/validation.go` and
//! `pkg/apis/apiextensions/validation/validation.go`):
//! - the root is `type: object` without `additionalProperties`; root `apiVersion`/`kind` are strings;
//! - the root `metadata` (and the `metadata` of an `x-kubernetes-embedded-resource`) carries only
//!   `type: object` and `name`/`generateName` properties: no description, title, default, value
//!   validation or extension;
//! - `x-kubernetes-*` placement: preserve-unknown-fields only `true`; embedded-resource and
//!   map-type only on objects; int-or-string without a type; list-type only on arrays, `set` of
//!   scalars, `map` of objects with list-map-keys that are required-or-defaulted scalar properties;
//!   `x-kubernetes-validations` with a rule, a known `reason`, and a `fieldPath` that exists;
//! - defaults: only where the API server allows them (not in root metadata), valid against the
//!   schema node they sit on (type, enum, pattern, bounds) and free of unknown fields (the API
//!   server prunes them and refuses a default that changes under pruning);
//! - every `pattern` compiles.
//!
//! CEL cost estimates are checked by `cel.rs` with kube-cel's analyser.

use crate::support::{crd_json, root_schema, unknown_fields};
use serde_json::{Value, json};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Field,
}

/// Every violation of the API server's CRD schema rules in `schema` (an `openAPIV3Schema`).
fn apiserver_violations(schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    walk(schema, "openAPIV3Schema", Level::Root, &mut problems);
    problems
}

fn walk(node: &Value, path: &str, level: Level, problems: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        problems.push(format!("{path}: schema node is not an object"));
        return;
    };
    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
    let flag = |key: &str| obj.get(key) == Some(&json!(true));
    let embedded = flag("x-kubernetes-embedded-resource");

    if level == Level::Root {
        if ty != "object" {
            problems.push(format!("{path}.type: must be object at the root"));
        }
        if obj.contains_key("additionalProperties") {
            problems.push(format!(
                "{path}.additionalProperties: must not be used at the root"
            ));
        }
    }
    if level == Level::Root || embedded {
        check_metadata_root(obj, path, problems);
    }

    if obj.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(false)) {
        problems.push(format!(
            "{path}.x-kubernetes-preserve-unknown-fields: must be true or undefined"
        ));
    }
    if embedded && ty != "object" {
        problems.push(format!(
            "{path}.type: must be object if x-kubernetes-embedded-resource is true"
        ));
    }
    if flag("x-kubernetes-int-or-string") && !ty.is_empty() {
        problems.push(format!(
            "{path}.type: must be empty if x-kubernetes-int-or-string is true"
        ));
    }
    if obj.contains_key("x-kubernetes-map-type") && ty != "object" {
        problems.push(format!(
            "{path}.x-kubernetes-map-type: must only be used if type is object"
        ));
    }
    if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
        problems.push(format!(
            "{path}.additionalProperties: additionalProperties and properties are mutual exclusive"
        ));
    }
    check_list_extensions(obj, ty, path, problems);
    check_validation_rules(node, path, problems);
    if let Some(pattern) = obj.get("pattern").and_then(Value::as_str)
        && let Err(e) = regex::Regex::new(pattern)
    {
        problems.push(format!(
            "{path}.pattern: must be a valid regular expression, but isn't: {e}"
        ));
    }
    if let Some(default) = obj.get("default") {
        check_default(node, default, path, problems);
    }

    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            let child_path = format!("{path}.properties[{name}]");
            if level == Level::Root
                && (name == "apiVersion" || name == "kind")
                && child["type"] != "string"
            {
                problems.push(format!("{child_path}.type: must be string"));
            }
            walk(child, &child_path, Level::Field, problems);
        }
    }
    if let Some(items) = obj.get("items") {
        walk(items, &format!("{path}.items"), Level::Field, problems);
    }
    if let Some(additional) = obj.get("additionalProperties").filter(|a| a.is_object()) {
        walk(
            additional,
            &format!("{path}.additionalProperties"),
            Level::Field,
            problems,
        );
    }
}

/// `metadata` at the root (or in an embedded resource) may say nothing but `type: object` and the
/// `name`/`generateName` properties; the API server fills in ObjectMeta's schema itself.
fn check_metadata_root(
    obj: &serde_json::Map<String, Value>,
    path: &str,
    problems: &mut Vec<String>,
) {
    let Some(metadata) = obj
        .get("properties")
        .and_then(|p| p.get("metadata"))
        .and_then(Value::as_object)
    else {
        return;
    };
    let mpath = format!("{path}.properties[metadata]");
    if metadata.get("type").and_then(Value::as_str) != Some("object") {
        problems.push(format!("{mpath}.type: must be object"));
    }
    for key in metadata.keys() {
        match key.as_str() {
            "type" => {}
            "properties" => {
                let names: Vec<&String> = metadata["properties"]
                    .as_object()
                    .map(|p| p.keys().collect())
                    .unwrap_or_default();
                if let Some(other) = names
                    .iter()
                    .find(|n| n.as_str() != "name" && n.as_str() != "generateName")
                {
                    problems.push(format!(
                        "{mpath}: must not specify anything other than name and generateName, \
                         but metadata is implicitly specified (property {other:?})"
                    ));
                }
            }
            other => problems.push(format!(
                "{mpath}: must not specify anything other than name and generateName, but \
                 metadata is implicitly specified ({other:?} is set)"
            )),
        }
    }
}

fn check_list_extensions(
    obj: &serde_json::Map<String, Value>,
    ty: &str,
    path: &str,
    problems: &mut Vec<String>,
) {
    let list_type = obj.get("x-kubernetes-list-type").and_then(Value::as_str);
    let map_keys = obj
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array);
    if list_type.is_some() && ty != "array" {
        problems.push(format!(
            "{path}.x-kubernetes-list-type: must only be used if type is array"
        ));
    }
    if map_keys.is_some() && list_type != Some("map") {
        problems.push(format!(
            "{path}.x-kubernetes-list-map-keys: must only be used if x-kubernetes-list-type is map"
        ));
    }
    let items = obj.get("items").unwrap_or(&Value::Null);
    match list_type {
        None | Some("atomic") => {}
        Some("set") => {
            let item_type = items["type"].as_str().unwrap_or("");
            let atomic_object = item_type == "object" && items["x-kubernetes-map-type"] == "atomic";
            if !matches!(item_type, "string" | "integer" | "number" | "boolean") && !atomic_object
            {
                problems.push(format!(
                    "{path}.items.type: must be a scalar or an atomic map for x-kubernetes-list-type set"
                ));
            }
        }
        Some("map") => {
            if items["type"] != "object" {
                problems.push(format!(
                    "{path}.items.type: must be object if x-kubernetes-list-type is map"
                ));
            }
            match map_keys {
                None => problems.push(format!(
                    "{path}.x-kubernetes-list-map-keys: must not be empty if x-kubernetes-list-type is map"
                )),
                Some(keys) => {
                    for key in keys.iter().map(|k| k.as_str().unwrap_or_default()) {
                        let prop = &items["properties"][key];
                        if prop.is_null() {
                            problems.push(format!(
                                "{path}.x-kubernetes-list-map-keys: entry {key:?} must be a property of the items"
                            ));
                            continue;
                        }
                        if !matches!(prop["type"].as_str(), Some("string" | "integer" | "boolean"))
                        {
                            problems.push(format!(
                                "{path}.items.properties[{key}].type: must be a scalar type if used as an x-kubernetes-list-map-keys key"
                            ));
                        }
                        let required = items["required"]
                            .as_array()
                            .is_some_and(|r| r.iter().any(|k| k == key));
                        if !required && prop.get("default").is_none() {
                            problems.push(format!(
                                "{path}.items.properties[{key}]: must be required or have a default if used as an x-kubernetes-list-map-keys key"
                            ));
                        }
                    }
                }
            }
        }
        Some(other) => problems.push(format!(
            "{path}.x-kubernetes-list-type: Unsupported value {other:?}: supported values: \"atomic\", \"map\", \"set\""
        )),
    }
}

fn check_validation_rules(node: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(rules) = node.get("x-kubernetes-validations") else {
        return;
    };
    let Some(rules) = rules.as_array() else {
        problems.push(format!("{path}.x-kubernetes-validations: must be a list"));
        return;
    };
    for (i, rule) in rules.iter().enumerate() {
        let rpath = format!("{path}.x-kubernetes-validations[{i}]");
        if rule["rule"].as_str().is_none_or(|r| r.trim().is_empty()) {
            problems.push(format!("{rpath}.rule: Required value"));
        }
        if let Some(reason) = rule.get("reason").and_then(Value::as_str)
            && !matches!(
                reason,
                "FieldValueInvalid"
                    | "FieldValueForbidden"
                    | "FieldValueRequired"
                    | "FieldValueDuplicate"
            )
        {
            problems.push(format!("{rpath}.reason: Unsupported value {reason:?}"));
        }
        if let Some(field_path) = rule.get("fieldPath").and_then(Value::as_str)
            && let Err(e) = resolve_field_path(node, field_path)
        {
            problems.push(format!(
                "{rpath}.fieldPath: Invalid value {field_path:?}: {e}"
            ));
        }
    }
}

/// Follows a rule's `fieldPath` (`.a.b`, `.list[0]`, `['key']`) through the schema, as the API
/// server does when the CRD is created: every step must name an existing property.
fn resolve_field_path(schema: &Value, field_path: &str) -> Result<(), String> {
    if !field_path.starts_with('.') && !field_path.starts_with('[') {
        return Err("must be a relative path starting with '.'".into());
    }
    let mut node = schema;
    let mut rest = field_path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            node = node["properties"]
                .get(name)
                .ok_or_else(|| format!("does not refer to a valid field ({name:?} is unknown)"))?;
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(|| "unclosed '['".to_string())?;
            let inner = &after[..end];
            node = if inner.starts_with('\'') {
                let name = inner.trim_matches('\'');
                node["properties"].get(name).ok_or_else(|| {
                    format!("does not refer to a valid field ({name:?} is unknown)")
                })?
            } else {
                node.get("items")
                    .ok_or_else(|| "indexes a field that is not a list".to_string())?
            };
            rest = &after[end + 1..];
        } else {
            return Err(format!("cannot parse {rest:?}"));
        }
    }
    Ok(())
}

/// A default must survive pruning unchanged and satisfy the schema node it sits on.
fn check_default(node: &Value, default: &Value, path: &str, problems: &mut Vec<String>) {
    if default.is_null() && node["nullable"] != true {
        problems.push(format!(
            "{path}.default: must not be null for a non-nullable field"
        ));
        return;
    }
    let mut unknown = Vec::new();
    unknown_fields(node, default, "", &mut unknown);
    for field in unknown {
        problems.push(format!(
            "{path}.default: must not have unknown fields (pruned: {field})"
        ));
    }
    let mut bare = node.clone();
    if let Some(map) = bare.as_object_mut() {
        map.remove("default");
    }
    match jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(false)
        .build(&bare)
    {
        Ok(validator) => {
            for error in validator.iter_errors(default) {
                problems.push(format!("{path}.default: invalid: {error}"));
            }
        }
        Err(e) => problems.push(format!("{path}: schema does not compile: {e}")),
    }
}

#[test]
fn crd_passes_the_api_servers_own_crd_validation() {
    let crd = crd_json();
    let problems = apiserver_violations(root_schema(&crd));
    assert!(
        problems.is_empty(),
        "a real API server would refuse this CRD:\n{}",
        problems.join("\n")
    );
}

#[test]
fn bad_crds_are_refused_for_the_right_reason() {
    // Each case breaks one rule of the API server; the checker must report exactly that rule.
    // The first is the one a real v1.34 API server refused (a description on root metadata).
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "description": "Standard object metadata."}}}),
            "properties[metadata]: must not specify anything other than name and generateName",
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}}),
            "properties[metadata]: must not specify anything other than name and generateName",
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "default": {}}}}),
            "properties[metadata]: must not specify anything other than name and generateName",
        ),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            "openAPIV3Schema.additionalProperties: must not be used at the root",
        ),
        (
            json!({"type": "object", "properties": {"kind": {"type": "integer"}}}),
            "properties[kind].type: must be string",
        ),
        (
            json!({"type": "object", "properties": {"x": {"type": "object", "x-kubernetes-preserve-unknown-fields": false}}}),
            "x-kubernetes-preserve-unknown-fields: must be true or undefined",
        ),
        (
            json!({"type": "object", "properties": {"x": {"type": "string", "x-kubernetes-map-type": "atomic"}}}),
            "x-kubernetes-map-type: must only be used if type is object",
        ),
        (
            json!({"type": "object", "properties": {"x": {"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "set"}}}),
            "must be a scalar or an atomic map for x-kubernetes-list-type set",
        ),
        (
            json!({"type": "object", "properties": {"x": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"]}}}),
            "must be required or have a default if used as an x-kubernetes-list-map-keys key",
        ),
        (
            json!({"type": "object", "properties": {"x": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true, "properties": {"metadata": {"type": "object", "description": "d"}}}}}),
            "properties[x].properties[metadata]: must not specify anything other than name and generateName",
        ),
        (
            json!({"type": "object", "properties": {"x": {"type": "string", "x-kubernetes-validations": [{"rule": "true", "reason": "Bad"}]}}}),
            ".reason: Unsupported value",
        ),
        (
            json!({"type": "object", "properties": {"x": {"type": "object", "properties": {"a": {"type": "string"}}, "x-kubernetes-validations": [{"rule": "true", "fieldPath": ".b"}]}}}),
            ".fieldPath: Invalid value \".b\"",
        ),
        (
            json!({"type": "object", "properties": {"x": {"type": "string", "pattern": "^[a-z$"}}}),
            "pattern: must be a valid regular expression",
        ),
        (
            json!({"type": "object", "properties": {"x": {"type": "string", "enum": ["a", "b"], "default": "c"}}}),
            "properties[x].default: invalid",
        ),
        (
            json!({"type": "object", "properties": {"x": {"type": "object", "properties": {"a": {"type": "string"}}, "default": {"a": "ok", "b": 1}}}}),
            "properties[x].default: must not have unknown fields",
        ),
        (
            json!({"type": "object", "properties": {"x": {"type": "integer", "default": null}}}),
            "properties[x].default: must not be null",
        ),
    ];
    for (schema, expected) in cases {
        let problems = apiserver_violations(&schema);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem containing {expected:?} for {schema}, got {problems:#?}"
        );
    }
    // And a schema that follows every rule passes (the checker does not refuse everything).
    let good = json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 63}}},
            "spec": {
                "type": "object",
                "x-kubernetes-validations": [{"rule": "true", "fieldPath": ".list[0].k", "reason": "FieldValueInvalid", "message": "m"}],
                "properties": {
                    "mode": {"type": "string", "enum": ["A", "B"], "default": "A"},
                    "list": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"],
                             "items": {"type": "object", "required": ["k"], "properties": {"k": {"type": "string"}}}}
                }
            }
        }
    });
    let problems = apiserver_violations(&good);
    assert!(problems.is_empty(), "good schema refused: {problems:#?}");
}
