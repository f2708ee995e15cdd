//! One entry of `patches`: told apart as kustomize does (a list of operations is a JSON 6902
//! patch, maps are strategic-merge patches, several may be given as YAML documents), then applied
//! to the objects its target selects — or, without a target, to the object a strategic-merge patch
//! names, which must exist. A target that selects nothing is not an error.

use super::select::Selector;
use super::{Entry, Object, read_yaml, smp};
use crate::api::KustomizePatch;
use crate::render::render::manifests::split_manifests;
use serde_json::Value as Json;

/// A parsed patch.
pub enum Patch {
    Strategic {
        docs: Vec<Json>,
        target: Option<Selector>,
    },
    Json6902 {
        ops: json_patch::Patch,
        target: Selector,
    },
}

impl Patch {
    pub fn parse(p: &KustomizePatch) -> Result<Patch, String> {
        let target = p.target.as_ref().map(Selector::new).transpose()?;
        let mut docs = Vec::new();
        for doc in split_manifests(&p.patch) {
            let value = read_yaml(&doc).map_err(|e| format!("the patch is not YAML: {e}"))?;
            if !value.is_null() {
                docs.push(value);
            }
        }
        if docs.is_empty() {
            return Err("the patch is empty".into());
        }
        if let [ops @ Json::Array(_)] = docs.as_slice() {
            let ops: json_patch::Patch = serde_json::from_value(ops.clone())
                .map_err(|e| format!("not a valid JSON 6902 patch: {e}"))?;
            let target = target
                .ok_or("a JSON 6902 patch needs a target to say which objects it applies to")?;
            return Ok(Patch::Json6902 { ops, target });
        }
        for doc in &docs {
            if !doc.is_object() {
                return Err(
                    "a patch must be a strategic-merge patch (YAML maps) or a JSON 6902 patch \
                     (one list of operations)"
                        .into(),
                );
            }
            let named = ["apiVersion", "kind"]
                .iter()
                .all(|f| doc[*f].as_str().is_some_and(|s| !s.is_empty()))
                && doc["metadata"]["name"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty());
            if !named {
                return Err(
                    "a strategic-merge patch needs apiVersion, kind and metadata.name, as in \
                     kustomize (with a target they only identify the patch: the selected objects \
                     are patched whatever their names)"
                        .into(),
                );
            }
        }
        Ok(Patch::Strategic { docs, target })
    }

    /// Applies the patch to `entries`, removing the objects a `$patch: delete` deletes.
    pub fn apply(&self, entries: &mut Vec<Entry>, release_namespace: &str) -> Result<(), String> {
        let mut deleted = vec![false; entries.len()];
        match self {
            Patch::Json6902 { ops, target } => {
                for entry in entries.iter_mut() {
                    let Entry::Object(o) = entry else { continue };
                    if !target.selects(o, release_namespace) {
                        continue;
                    }
                    let before = o.value.clone();
                    json_patch::patch(&mut o.value, ops)
                        .map_err(|e| format!("cannot apply it to {}: {e}", o.describe()))?;
                    finish(o, &before);
                }
            }
            Patch::Strategic { docs, target } => {
                for doc in docs {
                    let body = without_identity(doc);
                    let mut found = false;
                    for (i, entry) in entries.iter_mut().enumerate() {
                        let Entry::Object(o) = entry else { continue };
                        let selected = match target {
                            Some(t) => t.selects(o, release_namespace),
                            None => names(doc, o, release_namespace),
                        };
                        if !selected || deleted[i] {
                            continue;
                        }
                        found = true;
                        let before = o.value.clone();
                        let outcome = smp::apply(&mut o.value, &body, &o.group, &o.kind)
                            .map_err(|e| format!("cannot apply it to {}: {e}", o.describe()))?;
                        if outcome == smp::Outcome::Deleted {
                            deleted[i] = true;
                        } else {
                            finish(o, &before);
                        }
                    }
                    if !found && target.is_none() {
                        return Err(format!(
                            "no rendered object is {} {} {}{}: a patch without a target must name \
                             an object the chart renders (with a target, selecting nothing is \
                             not an error)",
                            doc["apiVersion"].as_str().unwrap_or_default(),
                            doc["kind"].as_str().unwrap_or_default(),
                            doc["metadata"]["namespace"]
                                .as_str()
                                .map(|ns| format!("{ns}/"))
                                .unwrap_or_default(),
                            doc["metadata"]["name"].as_str().unwrap_or_default(),
                        ));
                    }
                }
            }
        }
        let mut index = 0;
        entries.retain(|_| {
            let keep = !deleted[index];
            index += 1;
            keep
        });
        Ok(())
    }
}

fn finish(o: &mut Object, before: &Json) {
    if o.value != *before {
        o.changed = true;
        o.identify();
    }
}

/// Whether an untargeted strategic-merge patch `doc` names object `o`: the same group, version,
/// kind and name, and the same namespace when the patch gives one (an object without a namespace
/// is in the release namespace); without one, an object in the release namespace or in none.
fn names(doc: &Json, o: &Object, release_namespace: &str) -> bool {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let same_namespace = match doc["metadata"]["namespace"].as_str() {
        Some(ns) if !ns.is_empty() => o.namespace().unwrap_or(release_namespace) == ns,
        _ => o.namespace().is_none_or(|ns| ns == release_namespace),
    };
    o.group == group
        && o.version == version
        && doc["kind"].as_str() == Some(o.kind.as_str())
        && doc["metadata"]["name"].as_str() == Some(o.name.as_str())
        && same_namespace
}

/// The patch without what identifies it: kustomize never renames, moves or re-kinds the patched
/// object with a strategic-merge patch.
fn without_identity(doc: &Json) -> Json {
    let mut body = doc.clone();
    if let Json::Object(map) = &mut body {
        map.shift_remove("apiVersion");
        map.shift_remove("kind");
        if let Some(Json::Object(meta)) = map.get_mut("metadata") {
            meta.shift_remove("name");
            meta.shift_remove("namespace");
        }
    }
    body
}
