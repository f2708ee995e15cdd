//! Strategic-merge patches, with the semantics `kubectl kustomize` (kyaml's merge) gives them:
//! maps merge field by field and `null` removes a field; a list with a merge key (see [`schema`])
//! merges item by item — the patch's items first, in the patch's order, then the object's other
//! items in theirs (for lists keyed on several fields, such as ports: the patch's new items, then
//! the object's in place) — and every other list is replaced. Directives: `$patch: delete` removes
//! the map it is in (a list item, a field, or the whole object) and `$patch: replace` replaces the
//! map, or, as a list item of its own, the list, with the rest of the patch.

use super::schema::{self, ListMerge, Node};
use serde_json::{Map, Value as Json};

const DIRECTIVE: &str = "$patch";

/// What a merge did to the value it was given.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The value is merged (possibly unchanged).
    Kept,
    /// `$patch: delete`: the value is to be removed.
    Deleted,
}

/// Merges `patch` into the object `target` of `group`/`kind`. `Deleted` means the patch deletes
/// the whole object.
pub fn apply(target: &mut Json, patch: &Json, group: &str, kind: &str) -> Result<Outcome, String> {
    merge_value(target, patch, schema::root(group, kind), "")
}

fn directive(map: &Map<String, Json>, path: &str) -> Result<Option<&'static str>, String> {
    match map.get(DIRECTIVE) {
        None => Ok(None),
        Some(Json::String(s)) if s == "delete" => Ok(Some("delete")),
        Some(Json::String(s)) if s == "replace" => Ok(Some("replace")),
        Some(Json::String(s)) if s == "merge" => Ok(None),
        Some(other) => Err(format!(
            "{}: unknown directive $patch: {other} (expected delete, replace or merge)",
            at(path)
        )),
    }
}

fn at(path: &str) -> &str {
    if path.is_empty() {
        "the top level"
    } else {
        path
    }
}

/// Merges `patch` into `target` (both maps at `path`).
fn merge_value(target: &mut Json, patch: &Json, node: Node, path: &str) -> Result<Outcome, String> {
    let Json::Object(p) = patch else {
        *target = clean(patch, path)?.unwrap_or(Json::Null);
        return Ok(Outcome::Kept);
    };
    match directive(p, path)? {
        Some("delete") => return Ok(Outcome::Deleted),
        Some(_) => {
            *target = clean(patch, path)?.unwrap_or(Json::Object(Map::new()));
            return Ok(Outcome::Kept);
        }
        None => {}
    }
    let Json::Object(t) = target else {
        *target = clean(patch, path)?.unwrap_or(Json::Object(Map::new()));
        return Ok(Outcome::Kept);
    };
    for (key, pv) in p {
        if key == DIRECTIVE {
            continue;
        }
        let child_path = format!("{path}.{key}");
        check_key(key, &child_path)?;
        let (child, merge) = schema::field(node, key);
        if pv.is_null() {
            t.shift_remove(key);
            continue;
        }
        let Some(tv) = t.get_mut(key) else {
            if let Some(v) = clean(pv, &child_path)? {
                t.insert(key.clone(), v);
            }
            continue;
        };
        match (tv, pv) {
            (tv @ Json::Object(_), Json::Object(_)) => {
                if merge_value(tv, pv, child, &child_path)? == Outcome::Deleted {
                    t.shift_remove(key);
                }
            }
            (Json::Array(items), Json::Array(patch_items)) => {
                *items = merge_list(items, patch_items, child, merge, &child_path)?;
            }
            (tv, pv) => match clean(pv, &child_path)? {
                Some(v) => *tv = v,
                None => {
                    t.shift_remove(key);
                }
            },
        }
    }
    Ok(Outcome::Kept)
}

/// apimachinery's other directives (`$setElementOrder/…`, `$retainKeys`,
/// `$deleteFromPrimitiveList/…`) are not implemented: a patch using one is refused rather than
/// applied half-way or with the directive left in the object.
fn check_key(key: &str, path: &str) -> Result<(), String> {
    if key.starts_with('$') {
        return Err(format!(
            "{path}: the directive {key} is not supported (only $patch: delete and $patch: replace are)"
        ));
    }
    Ok(())
}

fn merge_list(
    items: &[Json],
    patch: &[Json],
    node: Node,
    merge: ListMerge,
    path: &str,
) -> Result<Vec<Json>, String> {
    // `- $patch: replace` as an item of its own: the rest of the patch's list is the new list.
    let replace = patch.iter().any(is_replace_item);
    let keys: Vec<(&str, Option<&str>)> = match merge {
        ListMerge::Key(key) if !replace => vec![(key, None)],
        ListMerge::MapKeys(keys) if !replace => keys.to_vec(),
        ListMerge::Scalars if !replace => {
            let mut out: Vec<Json> = Vec::new();
            for item in patch.iter().chain(items) {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            return Ok(out);
        }
        _ => {
            let mut out = Vec::new();
            for (i, item) in patch.iter().enumerate() {
                if is_replace_item(item) {
                    continue;
                }
                if let Some(v) = clean(item, &format!("{path}[{i}]"))? {
                    out.push(v);
                }
            }
            return Ok(out);
        }
    };
    let key = keys[0].0;
    // An item's key: the values of the key fields, defaulted where the API server defaults them;
    // `None` when the first is missing.
    let key_of = |item: &Json| -> Option<Vec<Json>> {
        item.get(key).filter(|v| !v.is_null())?;
        Some(
            keys.iter()
                .map(|(k, default)| match (item.get(*k), default) {
                    (Some(v), _) if !v.is_null() => v.clone(),
                    (_, Some(d)) => Json::from(*d),
                    _ => Json::Null,
                })
                .collect(),
        )
    };
    let mut patch_keys: Vec<Vec<Json>> = Vec::new();
    for (i, item) in patch.iter().enumerate() {
        let Some(k) = key_of(item) else {
            return Err(format!(
                "{path}[{i}]: a list item of a strategic-merge patch needs its merge key {key:?}"
            ));
        };
        if !patch_keys.contains(&k) {
            patch_keys.push(k);
        }
    }
    let item_keys: Vec<Vec<Json>> = items.iter().filter_map(key_of).collect();
    // kustomize's order: for a `patchMergeKey` list, the patch's items then the object's others;
    // for a list-map-keys list, the patch's new items, then the object's items in place.
    let mut order: Vec<Vec<Json>> = if keys.len() > 1 {
        patch_keys
            .into_iter()
            .filter(|k| !item_keys.contains(k))
            .collect()
    } else {
        patch_keys
    };
    for k in item_keys {
        if !order.contains(&k) {
            order.push(k);
        }
    }
    let mut out = Vec::with_capacity(order.len());
    for k in &order {
        let existing = items.iter().find(|item| key_of(item).as_ref() == Some(k));
        let patched = patch
            .iter()
            .position(|item| key_of(item).as_ref() == Some(k));
        let item_path = format!("{path}[{key}={}]", display(&k[0]));
        match (existing, patched) {
            (Some(existing), Some(j)) => {
                let mut merged = existing.clone();
                if merge_value(&mut merged, &patch[j], node, &item_path)? == Outcome::Kept {
                    out.push(merged);
                }
            }
            (None, Some(j)) => {
                let deleted = patch[j]
                    .as_object()
                    .is_some_and(|m| directive(m, &item_path) == Ok(Some("delete")));
                if !deleted && let Some(v) = clean(&patch[j], &item_path)? {
                    out.push(v);
                }
            }
            (Some(existing), None) => out.push(existing.clone()),
            (None, None) => {}
        }
    }
    // Items of the object without the key are kept, after the keyed ones.
    out.extend(items.iter().filter(|item| key_of(item).is_none()).cloned());
    Ok(out)
}

/// `{$patch: replace}` alone, as a list item: replace the whole list.
fn is_replace_item(item: &Json) -> bool {
    item.as_object()
        .is_some_and(|m| m.len() == 1 && m.get(DIRECTIVE) == Some(&Json::from("replace")))
}

fn display(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A patch value as it lands where the object has nothing: without `null` fields, directives, or
/// items marked for deletion. `None` when the value itself is deleted.
fn clean(value: &Json, path: &str) -> Result<Option<Json>, String> {
    match value {
        Json::Null => Ok(None),
        Json::Object(map) => {
            if directive(map, path)? == Some("delete") {
                return Ok(None);
            }
            let mut out = Map::new();
            for (k, v) in map {
                if k == DIRECTIVE {
                    continue;
                }
                let child = format!("{path}.{k}");
                check_key(k, &child)?;
                if let Some(v) = clean(v, &child)? {
                    out.insert(k.clone(), v);
                }
            }
            Ok(Some(Json::Object(out)))
        }
        Json::Array(items) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                if is_replace_item(item) {
                    continue;
                }
                if let Some(v) = clean(item, &format!("{path}[{i}]"))? {
                    out.push(v);
                }
            }
            Ok(Some(Json::Array(out)))
        }
        other => Ok(Some(other.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Json {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {
                "containers": [
                    {"name": "app", "image": "a", "env": [{"name": "A", "value": "a"}, {"name": "B", "value": "b"}]},
                    {"name": "side", "image": "s"}
                ],
                "volumes": [{"name": "v", "emptyDir": {}}],
                "tolerations": [{"key": "k"}]
            }}}
        })
    }

    #[test]
    fn lists_merge_by_key_patch_items_first() {
        let mut d = deployment();
        let patch = json!({"spec": {"template": {"spec": {
            "containers": [
                {"name": "new", "image": "n"},
                {"name": "app", "env": [{"name": "C", "value": "c"}, {"name": "A", "$patch": "delete"}]}
            ],
            "tolerations": [{"key": "other"}]
        }}}});
        assert_eq!(
            apply(&mut d, &patch, "apps", "Deployment"),
            Ok(Outcome::Kept)
        );
        let spec = &d["spec"]["template"]["spec"];
        let names: Vec<&str> = spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["new", "app", "side"]);
        assert_eq!(
            spec["containers"][1]["env"],
            json!([{"name": "C", "value": "c"}, {"name": "B", "value": "b"}])
        );
        assert_eq!(spec["containers"][1]["image"], "a");
        assert_eq!(spec["tolerations"], json!([{"key": "other"}]));
    }

    #[test]
    fn directives_delete_and_replace() {
        let mut d = deployment();
        let patch = json!({"spec": {"template": {"spec": {
            "volumes": [{"$patch": "replace"}, {"name": "w", "configMap": {"name": "c"}}],
            "containers": [{"name": "side", "$patch": "delete"}]
        }}}, "metadata": {"$patch": "replace", "name": "d", "labels": {"a": "b"}}});
        apply(&mut d, &patch, "apps", "Deployment").unwrap();
        assert_eq!(
            d["spec"]["template"]["spec"]["volumes"],
            json!([{"name": "w", "configMap": {"name": "c"}}])
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(d["metadata"], json!({"name": "d", "labels": {"a": "b"}}));
        let mut d = deployment();
        assert_eq!(
            apply(&mut d, &json!({"$patch": "delete"}), "apps", "Deployment"),
            Ok(Outcome::Deleted)
        );
    }

    #[test]
    fn ports_merge_on_port_and_defaulted_protocol_new_ones_first() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "ports": [
            {"containerPort": 80, "protocol": "TCP", "name": "http"},
            {"containerPort": 53, "protocol": "UDP", "name": "dns"}
        ]}]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "ports": [
            {"containerPort": 53, "protocol": "UDP", "name": "dns2"},
            {"containerPort": 53, "name": "dns-tcp"},
            {"containerPort": 80, "name": "web"}
        ]}]}}}});
        apply(&mut d, &patch, "apps", "Deployment").unwrap();
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["ports"],
            json!([
                {"containerPort": 53, "name": "dns-tcp"},
                {"containerPort": 80, "protocol": "TCP", "name": "web"},
                {"containerPort": 53, "protocol": "UDP", "name": "dns2"}
            ])
        );
    }

    #[test]
    fn custom_resources_replace_lists_and_unknown_directives_are_refused() {
        let mut w = json!({"spec": {"items": [{"name": "a", "v": 1}]}});
        apply(
            &mut w,
            &json!({"spec": {"items": [{"name": "b"}]}}),
            "example.com",
            "Widget",
        )
        .unwrap();
        assert_eq!(w["spec"]["items"], json!([{"name": "b"}]));
        let err = apply(
            &mut w,
            &json!({"spec": {"$setElementOrder/items": []}}),
            "example.com",
            "Widget",
        )
        .unwrap_err();
        assert!(err.contains("$setElementOrder/items"), "{err}");
    }
}
