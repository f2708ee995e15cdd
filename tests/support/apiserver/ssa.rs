//! Server-side apply and managedFields: field sets in the real `fieldsV1` format (`f:`, `k:`,
//! `v:` path elements, `.` for a member that also has children), ownership per (manager,
//! operation, subresource), conflicts (409 with causes), forced ownership moves, removal of
//! fields an applier stopped sending, and Update entries for every other write.
//!
//! Lists are atomic unless known: a CRD schema's `x-kubernetes-list-type` (`map` with
//! `x-kubernetes-list-map-keys`, or `set`), or for builtin kinds the usual merge keys
//! (containers/env/volumes/imagePullSecrets by `name`, volumeMounts by `mountPath`, container
//! ports by `containerPort`+`protocol`, Service ports by `port`+`protocol`, conditions by `type`,
//! `metadata.finalizers` as a set, `metadata.ownerReferences` by `uid`). Key fields missing from
//! an item are left out of its key (a real server would default them first).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::discovery::KindSpec;
use super::errors::ApiError;

/// Member paths; each element is a fieldsV1 key (`f:spec`, `k:{"name":"a"}`, `v:"x"`).
pub type FieldSet = BTreeSet<Vec<String>>;

#[derive(Debug, Clone, PartialEq)]
pub enum ListType {
    Atomic,
    Map(Vec<String>),
    Set,
}

/// Which part of an object a write addresses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scope {
    /// The main endpoint; `status_subresource` makes it ignore status.
    Main { status_subresource: bool },
    /// The `/status` subresource: only status.
    Status,
}

/// List semantics for paths of one kind.
pub struct Schema<'a> {
    pub kind: &'a KindSpec,
}

impl Schema<'_> {
    /// The list type of the field at `fields` (field names from the root, no list positions).
    pub fn list_type(&self, fields: &[String]) -> ListType {
        let names: Vec<&str> = fields.iter().map(String::as_str).collect();
        match names.as_slice() {
            ["metadata", "finalizers"] => return ListType::Set,
            ["metadata", "ownerReferences"] => return ListType::Map(vec!["uid".into()]),
            ["metadata", ..] => return ListType::Atomic,
            _ => {}
        }
        if let Some(schema) = &self.kind.schema {
            return schema_list_type(schema, &names);
        }
        let last = names.last().copied().unwrap_or("");
        let parent = if names.len() >= 2 {
            names[names.len() - 2]
        } else {
            ""
        };
        let keys = |k: &[&str]| ListType::Map(k.iter().map(|s| s.to_string()).collect());
        match last {
            "containers"
            | "initContainers"
            | "ephemeralContainers"
            | "volumes"
            | "env"
            | "imagePullSecrets" => keys(&["name"]),
            "volumeMounts" => keys(&["mountPath"]),
            "volumeDevices" => keys(&["devicePath"]),
            "hostAliases" => keys(&["ip"]),
            "conditions" => keys(&["type"]),
            "topologySpreadConstraints" => keys(&["topologyKey", "whenUnsatisfiable"]),
            "ports"
                if matches!(
                    parent,
                    "containers" | "initContainers" | "ephemeralContainers"
                ) =>
            {
                keys(&["containerPort", "protocol"])
            }
            "ports" if self.kind.kind == "Service" && names == ["spec", "ports"] => {
                keys(&["port", "protocol"])
            }
            _ => ListType::Atomic,
        }
    }
}

fn schema_list_type(schema: &Value, names: &[&str]) -> ListType {
    let mut node = schema;
    for (i, name) in names.iter().enumerate() {
        let next = node["properties"]
            .get(*name)
            .or_else(|| node.get("additionalProperties").filter(|v| v.is_object()));
        let Some(next) = next else {
            return ListType::Atomic;
        };
        node = next;
        if i + 1 < names.len() && node["type"] == "array" {
            node = &node["items"];
        }
    }
    match node["x-kubernetes-list-type"].as_str() {
        Some("map") => ListType::Map(
            node["x-kubernetes-list-map-keys"]
                .as_array()
                .map(|ks| {
                    ks.iter()
                        .filter_map(|k| k.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Some("set") => ListType::Set,
        _ => ListType::Atomic,
    }
}

/// The key of an associative list item: its key fields present, in sorted order.
pub fn item_key(item: &Value, keys: &[String]) -> Value {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    let mut m = Map::new();
    for k in sorted {
        if let Some(v) = item.get(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m)
}

const SERVER_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// The part of `obj` a write in `scope` owns fields of (without server-set metadata).
pub fn strip(obj: &Value, scope: Scope) -> Value {
    let mut out = Map::new();
    let Some(m) = obj.as_object() else {
        return Value::Object(out);
    };
    for (k, v) in m {
        match (k.as_str(), scope) {
            ("apiVersion" | "kind", _) => {}
            (
                "status",
                Scope::Main {
                    status_subresource: true,
                },
            ) => {}
            ("status", Scope::Status) => {
                out.insert(k.clone(), v.clone());
            }
            (_, Scope::Status) => {}
            ("metadata", _) => {
                let mut meta = v.as_object().cloned().unwrap_or_default();
                for f in SERVER_META {
                    meta.remove(*f);
                }
                if !meta.is_empty() {
                    out.insert(k.clone(), Value::Object(meta));
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// Every member path of a (stripped) object.
pub fn field_set(obj: &Value, schema: &Schema<'_>) -> FieldSet {
    let mut out = FieldSet::new();
    if let Value::Object(m) = obj {
        for (k, v) in m {
            let mut fields = vec![k.clone()];
            let mut path = vec![format!("f:{k}")];
            collect(v, schema, &mut fields, &mut path, &mut out);
        }
    }
    out
}

fn collect(
    v: &Value,
    schema: &Schema<'_>,
    fields: &mut Vec<String>,
    path: &mut Vec<String>,
    out: &mut FieldSet,
) {
    match v {
        Value::Array(items) => match schema.list_type(fields) {
            ListType::Map(keys) => {
                for item in items {
                    path.push(format!("k:{}", item_key(item, &keys)));
                    out.insert(path.clone());
                    if let Value::Object(m) = item {
                        for (k, c) in m {
                            fields.push(k.clone());
                            path.push(format!("f:{k}"));
                            collect(c, schema, fields, path, out);
                            path.pop();
                            fields.pop();
                        }
                    }
                    path.pop();
                }
            }
            ListType::Set => {
                for item in items {
                    path.push(format!("v:{item}"));
                    out.insert(path.clone());
                    path.pop();
                }
            }
            ListType::Atomic => {
                out.insert(path.clone());
            }
        },
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                fields.push(k.clone());
                path.push(format!("f:{k}"));
                collect(c, schema, fields, path, out);
                path.pop();
                fields.pop();
            }
        }
        _ => {
            out.insert(path.clone());
        }
    }
}

fn key_matches(item: &Value, key: &Value) -> bool {
    key.as_object()
        .is_some_and(|k| k.iter().all(|(f, v)| item.get(f) == Some(v)))
}

/// The value at a member path.
pub fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for pe in path {
        cur = if let Some(f) = pe.strip_prefix("f:") {
            cur.as_object()?.get(f)?
        } else if let Some(k) = pe.strip_prefix("k:") {
            let key: Value = serde_json::from_str(k).ok()?;
            cur.as_array()?.iter().find(|it| key_matches(it, &key))?
        } else if let Some(x) = pe.strip_prefix("v:") {
            let val: Value = serde_json::from_str(x).ok()?;
            cur.as_array()?.iter().find(|it| **it == val)?
        } else {
            return None;
        };
    }
    Some(cur)
}

fn remove_path(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for pe in parents {
        let next = if let Some(f) = pe.strip_prefix("f:") {
            cur.as_object_mut().and_then(|m| m.get_mut(f))
        } else if let Some(k) = pe.strip_prefix("k:") {
            let key: Value = serde_json::from_str(k).unwrap_or(Value::Null);
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|it| key_matches(it, &key)))
        } else if let Some(x) = pe.strip_prefix("v:") {
            let val: Value = serde_json::from_str(x).unwrap_or(Value::Null);
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|it| **it == val))
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(k) = last.strip_prefix("k:") {
        let key: Value = serde_json::from_str(k).unwrap_or(Value::Null);
        if let Some(a) = cur.as_array_mut() {
            a.retain(|it| !key_matches(it, &key));
        }
    } else if let Some(x) = last.strip_prefix("v:") {
        let val: Value = serde_json::from_str(x).unwrap_or(Value::Null);
        if let Some(a) = cur.as_array_mut() {
            a.retain(|it| *it != val);
        }
    }
}

/// Whether `path` is a key field of an associative list item (which lives as long as the item).
fn is_key_field(path: &[String]) -> bool {
    let [.., item, field] = path else {
        return false;
    };
    let (Some(key), Some(field)) = (item.strip_prefix("k:"), field.strip_prefix("f:")) else {
        return false;
    };
    serde_json::from_str::<Value>(key).is_ok_and(|k| k.get(field).is_some())
}

/// `.spec.containers[name="app"].image`, as a real server names fields in conflicts.
pub fn path_string(path: &[String]) -> String {
    let mut s = String::new();
    for pe in path {
        if let Some(f) = pe.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = pe.strip_prefix("k:") {
            let key: Value = serde_json::from_str(k).unwrap_or(Value::Null);
            let parts: Vec<String> = key
                .as_object()
                .map(|m| m.iter().map(|(f, v)| format!("{f}={v}")).collect())
                .unwrap_or_default();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(x) = pe.strip_prefix("v:") {
            s.push_str(&format!("[={x}]"));
        }
    }
    s
}

/// fieldsV1 JSON of a set.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Value::Object(Map::new());
    for path in set {
        let mut node = &mut root;
        for pe in path {
            node = node
                .as_object_mut()
                .expect("fieldsV1 nodes are objects")
                .entry(pe.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        node.as_object_mut()
            .expect("fieldsV1 nodes are objects")
            .insert(".".into(), json!({}));
    }
    drop_lone_dots(&mut root);
    root
}

fn drop_lone_dots(node: &mut Value) {
    if let Value::Object(m) = node {
        if m.len() == 1 && m.contains_key(".") {
            m.clear();
            return;
        }
        for (_, c) in m.iter_mut() {
            drop_lone_dots(c);
        }
    }
}

pub fn from_fields_v1(v: &Value) -> FieldSet {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut FieldSet) {
        let Some(m) = v.as_object() else { return };
        if m.is_empty() && !path.is_empty() {
            out.insert(path.clone());
        }
        for (k, c) in m {
            if k == "." {
                out.insert(path.clone());
                continue;
            }
            path.push(k.clone());
            walk(c, path, out);
            path.pop();
        }
    }
    let mut out = FieldSet::new();
    walk(v, &mut vec![], &mut out);
    out
}

/// One managedFields entry.
#[derive(Clone, Debug)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub set: FieldSet,
}

impl Entry {
    fn is(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }
}

pub fn read_managed(obj: &Value) -> Vec<Entry> {
    let Some(list) = obj["metadata"]["managedFields"].as_array() else {
        return vec![];
    };
    list.iter()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or_default().into(),
            operation: e["operation"].as_str().unwrap_or_default().into(),
            api_version: e["apiVersion"].as_str().unwrap_or_default().into(),
            time: e["time"].as_str().unwrap_or_default().into(),
            subresource: e["subresource"].as_str().unwrap_or_default().into(),
            set: from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

pub fn write_managed(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(&e.set),
            });
            if !e.subresource.is_empty() {
                v["subresource"] = json!(e.subresource);
            }
            v
        })
        .collect();
    if let Some(meta) = obj["metadata"].as_object_mut() {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Whether the values at `path` differ (list items themselves never do; their fields may).
fn differs(a: Option<&Value>, b: Option<&Value>, path: &[String]) -> bool {
    if path.last().is_some_and(|pe| pe.starts_with("k:")) {
        return a.is_some() != b.is_some();
    }
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) if x.is_empty() || y.is_empty() => false,
        (a, b) => a != b,
    }
}

/// What a write is done as.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: &'a str,
    pub now: &'a str,
}

/// Records an Update-operation write (create, update, non-apply patch) in `new`'s managedFields:
/// fields it changed move to `writer`; fields it removed leave every manager.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    schema: &Schema<'_>,
    scope: Scope,
    w: &Writer<'_>,
) {
    let mut entries = old.map(read_managed).unwrap_or_default();
    let old_stripped = old.map(|o| strip(o, scope));
    let new_stripped = strip(new, scope);
    let old_set = old_stripped
        .as_ref()
        .map(|o| field_set(o, schema))
        .unwrap_or_default();
    let new_set = field_set(&new_stripped, schema);
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| match &old_stripped {
            None => true,
            Some(o) => differs(lookup(o, p), lookup(&new_stripped, p), p) || !old_set.contains(*p),
        })
        .cloned()
        .collect();
    let removed: FieldSet = old_set.difference(&new_set).cloned().collect();
    for e in &mut entries {
        e.set
            .retain(|p| !changed.contains(p) && !removed.contains(p));
    }
    if !changed.is_empty() {
        match entries
            .iter_mut()
            .find(|e| e.is(w.manager, "Update", w.subresource))
        {
            Some(e) => {
                e.set.extend(changed);
                e.time = w.now.into();
                e.api_version = w.api_version.into();
            }
            None => entries.push(Entry {
                manager: w.manager.into(),
                operation: "Update".into(),
                api_version: w.api_version.into(),
                time: w.now.into(),
                subresource: w.subresource.into(),
                set: changed,
            }),
        }
    }
    write_managed(new, &entries);
}

/// Server-side apply of `config` onto `live` (or onto nothing: create). Returns the new object.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    schema: &Schema<'_>,
    scope: Scope,
    force: bool,
    w: &Writer<'_>,
) -> Result<Value, ApiError> {
    let mut obj = match live {
        Some(l) => l.clone(),
        None => json!({
            "apiVersion": config["apiVersion"],
            "kind": config["kind"],
            "metadata": {"name": config["metadata"]["name"]},
        }),
    };
    let mut entries = read_managed(&obj);
    let cfg = strip(config, scope);
    let applied = field_set(&cfg, schema);
    let live_stripped = strip(&obj, scope);

    // Conflicts: a field another manager owns, set here to a different value.
    // (field, index of the owning entry)
    let mut conflicts: Vec<(Vec<String>, usize)> = vec![];
    for (i, e) in entries.iter().enumerate() {
        if e.is(w.manager, "Apply", w.subresource) {
            continue;
        }
        for p in applied.intersection(&e.set) {
            if differs(lookup(&live_stripped, p), lookup(&cfg, p), p) {
                conflicts.push((p.clone(), i));
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflict_error(&conflicts, &entries));
        }
        for (p, i) in &conflicts {
            entries[*i].set.remove(p);
        }
    }

    // Fields this applier owned before and no longer sends, unless someone else holds them.
    let previous = entries
        .iter()
        .find(|e| e.is(w.manager, "Apply", w.subresource))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let mut others = FieldSet::new();
    for e in entries
        .iter()
        .filter(|e| !e.is(w.manager, "Apply", w.subresource))
    {
        others.extend(e.set.iter().cloned());
    }
    for p in previous.difference(&applied) {
        let held = others.iter().any(|o| o.starts_with(p));
        if held || is_key_field(p) {
            continue;
        }
        remove_path(&mut obj, p);
        // Containers emptied by the removal go too, unless some manager names them.
        for n in (1..p.len()).rev() {
            let parent = &p[..n];
            let empty = match lookup(&obj, parent) {
                Some(Value::Object(m)) => m.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                _ => false,
            };
            if empty
                && !others.iter().any(|o| o.starts_with(parent))
                && !applied.iter().any(|o| o.starts_with(parent))
            {
                remove_path(&mut obj, parent);
            } else {
                break;
            }
        }
    }

    merge(&mut obj, &cfg, schema, &mut vec![]);

    match entries
        .iter_mut()
        .find(|e| e.is(w.manager, "Apply", w.subresource))
    {
        Some(e) => {
            if e.set != applied || e.api_version != w.api_version {
                e.time = w.now.into();
            }
            e.set = applied;
            e.api_version = w.api_version.into();
        }
        None => entries.push(Entry {
            manager: w.manager.into(),
            operation: "Apply".into(),
            api_version: w.api_version.into(),
            time: w.now.into(),
            subresource: w.subresource.into(),
            set: applied,
        }),
    }
    write_managed(&mut obj, &entries);
    Ok(obj)
}

fn merge(live: &mut Value, cfg: &Value, schema: &Schema<'_>, fields: &mut Vec<String>) {
    let Value::Object(c) = cfg else {
        *live = cfg.clone();
        return;
    };
    if !live.is_object() {
        *live = Value::Object(Map::new());
    }
    let l = live.as_object_mut().expect("made an object above");
    for (k, v) in c {
        if v.is_null() {
            l.remove(k);
            continue;
        }
        fields.push(k.clone());
        let slot = l.entry(k.clone()).or_insert(Value::Null);
        match v {
            Value::Array(items) => match schema.list_type(fields) {
                ListType::Map(keys) => {
                    if !slot.is_array() {
                        *slot = json!([]);
                    }
                    let arr = slot.as_array_mut().expect("made an array above");
                    for item in items {
                        let key = item_key(item, &keys);
                        match arr.iter_mut().find(|x| item_key(x, &keys) == key) {
                            Some(existing) => merge(existing, item, schema, fields),
                            None => arr.push(item.clone()),
                        }
                    }
                }
                ListType::Set => {
                    if !slot.is_array() {
                        *slot = json!([]);
                    }
                    let arr = slot.as_array_mut().expect("made an array above");
                    for item in items {
                        if !arr.contains(item) {
                            arr.push(item.clone());
                        }
                    }
                }
                ListType::Atomic => *slot = v.clone(),
            },
            Value::Object(_) => merge(slot, v, schema, fields),
            _ => *slot = v.clone(),
        }
        fields.pop();
    }
}

fn conflict_error(conflicts: &[(Vec<String>, usize)], entries: &[Entry]) -> ApiError {
    let who = |i: &usize| {
        (
            entries[*i].manager.as_str(),
            entries[*i].api_version.as_str(),
        )
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(p, i)| {
            let (m, v) = who(i);
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\" using {v}"), "field": path_string(p)})
        })
        .collect();
    let n = conflicts.len();
    let message = if n == 1 {
        let (m, v) = who(&conflicts[0].1);
        format!(
            "Apply failed with 1 conflict: conflict with \"{m}\" using {v}: {}",
            path_string(&conflicts[0].0)
        )
    } else {
        let mut text = format!("Apply failed with {n} conflicts: ");
        let mut by_manager: Vec<(String, Vec<String>)> = vec![];
        for (p, i) in conflicts {
            let (m, v) = who(i);
            let label = format!("conflicts with \"{m}\" using {v}");
            match by_manager.iter_mut().find(|(l, _)| *l == label) {
                Some((_, ps)) => ps.push(path_string(p)),
                None => by_manager.push((label, vec![path_string(p)])),
            }
        }
        let parts: Vec<String> = by_manager
            .iter()
            .map(|(l, ps)| format!("{l}:\n- {}", ps.join("\n- ")))
            .collect();
        text.push_str(&parts.join("\n"));
        text
    };
    ApiError {
        code: 409,
        reason: "Conflict",
        message,
        details: Some(json!({"causes": causes})),
    }
}
