//! What an apply would change, without writing: each object's server-side dry-run result compared
//! with the live object (created / changed fields / unchanged), the CRDs under the CRD policy, and
//! what prune would delete under the ownership rules. `signet diff` prints it.

use std::collections::HashSet;

use kube::api::DynamicObject;
use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::applier::{Applier, check_stored_versions};
use super::error::ApplyError;
use super::objects::{DesiredObject, is_crd};
use super::prune::{Removal, identity, would_remove};
use super::takeover;
use super::{FIELD_MANAGER, ReleaseOwner};
use crate::api::{CrdPolicy, InventoryEntry};

/// What would happen to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeAction {
    /// It does not exist yet.
    Create,
    /// Some fields would change.
    Update,
    /// Nothing would change.
    Unchanged,
    /// The chart no longer renders it; prune would delete it.
    Prune,
}

/// One field that would change: `before` absent for an added field, `after` absent for a
/// removed one. Secret data values are masked as `***`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldChange {
    /// Dotted path: `spec.replicas`, `metadata.labels["app.kubernetes.io/name"]`, `spec.ports[0].port`.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Json>,
}

/// What would happen to one object, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectChange {
    pub action: ChangeAction,
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// The template it is rendered from (none for pruned objects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The fields that would change (for a created object: every field it sets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Anything else worth knowing (a CRD left alone by the policy, Helm's fields taken over).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ObjectChange {
    fn new(action: ChangeAction, e: &InventoryEntry, source: Option<&str>) -> Self {
        ObjectChange {
            action,
            api_version: e.api_version.clone(),
            kind: e.kind.clone(),
            namespace: e.namespace.clone(),
            name: e.name.clone(),
            source: source.map(str::to_owned),
            fields: Vec::new(),
            note: None,
        }
    }

    /// `Kind namespace/name`.
    pub fn describe(&self) -> String {
        super::describe(&self.kind, self.namespace.as_deref(), &self.name)
    }
}

/// The inputs of [`Applier::plan`]: what the next apply would get.
pub struct PlanInput<'a> {
    /// The chart's `crds/`, prepared (empty when `spec.crds: Skip`).
    pub crds: &'a [DesiredObject],
    pub crd_policy: CrdPolicy,
    /// The rendered objects, prepared.
    pub objects: &'a [DesiredObject],
    /// The release's inventory (what prune compares against), and whether it prunes at all.
    pub previous: &'a [InventoryEntry],
    /// The objects of an adopted Helm revision (see [`super::adopted_inventory`]).
    pub adopted: &'a [InventoryEntry],
    pub prune: bool,
    pub owner: &'a ReleaseOwner,
}

impl Applier {
    /// Per object, what applying `input` would change, in apply order (CRDs first), then what
    /// prune would delete. Writes nothing: reads and server-side dry-runs only. A CRD replacement
    /// that `apply_crds` would refuse is the same error here.
    pub async fn plan(&self, input: &PlanInput<'_>) -> Result<Vec<ObjectChange>, ApplyError> {
        let mut out = Vec::new();
        if input.crd_policy != CrdPolicy::Skip {
            for crd in input.crds {
                out.push(self.plan_crd(crd, input.crd_policy).await?);
            }
        }
        for o in input.objects {
            out.push(self.plan_object(o).await?);
        }
        if input.prune {
            let current: Vec<InventoryEntry> = input.objects.iter().map(|o| o.entry()).collect();
            let keep: HashSet<_> = current.iter().map(identity).collect();
            let seen: HashSet<_> = current.iter().chain(input.previous).map(identity).collect();
            let ours = input
                .previous
                .iter()
                .filter(|e| !keep.contains(&identity(e)))
                .map(|e| (e, Removal::Ours));
            let adopted = input
                .adopted
                .iter()
                .filter(|e| !seen.contains(&identity(e)))
                .map(|e| (e, Removal::Adopted));
            for (entry, rule) in ours.chain(adopted) {
                if let Some(mut change) = self.plan_prune(entry, input.owner, rule).await? {
                    mask_secret(&mut change);
                    out.push(change);
                }
            }
        }
        Ok(out)
    }

    async fn live(&self, o: &DesiredObject) -> Result<Option<DynamicObject>, ApplyError> {
        let name = o.object.metadata.name.as_deref().unwrap_or_default();
        self.api(&o.kind, o.object.metadata.namespace.as_deref())
            .get_opt(name)
            .await
            .map_err(|e| ApplyError::from_kube(e, "get", &o.describe(), false))
    }

    async fn plan_crd(
        &self,
        crd: &DesiredObject,
        policy: CrdPolicy,
    ) -> Result<ObjectChange, ApplyError> {
        let Some(live) = self.live(crd).await? else {
            return Ok(created(crd, None));
        };
        if policy == CrdPolicy::Create {
            let mut c = ObjectChange::new(ChangeAction::Unchanged, &crd.entry(), Some(&crd.source));
            c.note = Some("exists; spec.crds: Create leaves existing CRDs as they are".into());
            return Ok(c);
        }
        check_stored_versions(crd, &live)?;
        let after = self.dry_run_one(crd).await?;
        Ok(compared(crd, &live, &after))
    }

    async fn plan_object(&self, o: &DesiredObject) -> Result<ObjectChange, ApplyError> {
        if o.pending_kind {
            return Ok(created(
                o,
                Some("its kind is defined by a CRD of this release, not installed yet".into()),
            ));
        }
        let Some(live) = self.live(o).await? else {
            return Ok(created(o, None));
        };
        let mut after = self.dry_run_one(o).await?;
        // The dry-run cannot see the ownership handover adoption makes first: remove what it
        // will remove (fields only Helm owned that the chart no longer sets).
        for path in takeover::dropped_by_adoption(&live, &o.object) {
            remove_path(&mut after.data, &path);
            if path.first().is_some_and(|p| p == "metadata") {
                remove_metadata_path(&mut after, &path);
            }
        }
        let mut change = compared(o, &live, &after);
        if takeover::adoption(&live, &o.object).is_some() {
            change.note = Some(
                "adopted from Helm: the fields Helm's manager owns become signet's, so fields the \
                 chart no longer sets are removed too"
                    .into(),
            );
            if change.action == ChangeAction::Unchanged {
                change.action = ChangeAction::Update;
            }
        }
        Ok(change)
    }

    async fn dry_run_one(&self, o: &DesiredObject) -> Result<DynamicObject, ApplyError> {
        let name = o.object.metadata.name.as_deref().unwrap_or_default();
        let api = self.api(&o.kind, o.object.metadata.namespace.as_deref());
        let params = kube::api::PatchParams::apply(FIELD_MANAGER)
            .force()
            .dry_run();
        api.patch(name, &params, &kube::api::Patch::Apply(&o.object))
            .await
            .map_err(|e| ApplyError::from_kube(e, "apply", &o.describe(), true))
    }

    async fn plan_prune(
        &self,
        entry: &InventoryEntry,
        owner: &ReleaseOwner,
        rule: Removal,
    ) -> Result<Option<ObjectChange>, ApplyError> {
        if is_crd(&entry.api_version, &entry.kind) {
            return Ok(None);
        }
        match would_remove(self, entry, owner, rule).await? {
            // Gone already, or not ours to delete: prune leaves it, nothing changes.
            None | Some(Err(_)) => Ok(None),
            Some(Ok(live)) => {
                let mut c = ObjectChange::new(ChangeAction::Prune, entry, None);
                let before = normalized(&live);
                c.fields = leaves(&before)
                    .into_iter()
                    .map(|(path, v)| FieldChange {
                        path,
                        before: Some(v),
                        after: None,
                    })
                    .collect();
                if rule == Removal::Adopted {
                    c.note = Some("an object of the adopted Helm revision".into());
                }
                Ok(Some(c))
            }
        }
    }
}

/// Removes the field at `path` from `v`, if it is there.
fn remove_path(v: &mut Json, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let parent = parents.iter().try_fold(v, |v, k| v.get_mut(k));
    if let Some(Json::Object(m)) = parent {
        m.remove(last);
    }
}

/// [`remove_path`] for `metadata.labels.x` / `metadata.annotations.x`, which live outside `data`.
fn remove_metadata_path(o: &mut DynamicObject, path: &[String]) {
    let map = match path.get(1).map(String::as_str) {
        Some("labels") => o.metadata.labels.as_mut(),
        Some("annotations") => o.metadata.annotations.as_mut(),
        _ => None,
    };
    if let (Some(map), Some(key), 3) = (map, path.get(2), path.len()) {
        map.remove(key);
    }
}

fn created(o: &DesiredObject, note: Option<String>) -> ObjectChange {
    let mut c = ObjectChange::new(ChangeAction::Create, &o.entry(), Some(&o.source));
    let after = normalized(&o.object);
    c.fields = leaves(&after)
        .into_iter()
        .map(|(path, v)| FieldChange {
            path,
            before: None,
            after: Some(v),
        })
        .collect();
    c.note = note;
    mask_secret(&mut c);
    c
}

fn compared(o: &DesiredObject, live: &DynamicObject, after: &DynamicObject) -> ObjectChange {
    let mut fields = Vec::new();
    diff(&normalized(live), &normalized(after), "", &mut fields);
    let action = if fields.is_empty() {
        ChangeAction::Unchanged
    } else {
        ChangeAction::Update
    };
    let mut c = ObjectChange::new(action, &o.entry(), Some(&o.source));
    c.fields = fields;
    mask_secret(&mut c);
    c
}

/// The object as JSON without what the server maintains (status, resourceVersion,
/// managedFields, uid, timestamps, generation).
fn normalized(o: &DynamicObject) -> Json {
    let mut v = serde_json::to_value(o).unwrap_or(Json::Null);
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    if let Some(meta) = v.get_mut("metadata").and_then(Json::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            meta.remove(k);
        }
    }
    v
}

/// `path` extended by an object key: `.key`, or `["key"]` when it is not a plain word.
fn child(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Json::String(key.to_owned())),
    }
}

/// The fields that differ between `a` and `b`: maps key by key, lists element by element when
/// their lengths match (else the whole list), anything else by value.
fn diff(a: &Json, b: &Json, path: &str, out: &mut Vec<FieldChange>) {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = child(path, k);
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => diff(u, v, &p, out),
                    (Some(u), None) => out.push(FieldChange {
                        path: p,
                        before: Some(u.clone()),
                        after: None,
                    }),
                    (None, Some(v)) => out.push(FieldChange {
                        path: p,
                        before: None,
                        after: Some(v.clone()),
                    }),
                    (None, None) => {}
                }
            }
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                diff(u, v, &format!("{path}[{i}]"), out);
            }
        }
        (u, v) if u != v => out.push(FieldChange {
            path: path.to_owned(),
            before: Some(u.clone()),
            after: Some(v.clone()),
        }),
        _ => {}
    }
}

/// Every field of `v` with its value (maps flattened; lists and scalars are leaves).
fn leaves(v: &Json) -> Vec<(String, Json)> {
    fn walk(v: &Json, path: &str, out: &mut Vec<(String, Json)>) {
        match v {
            Json::Object(m) if !m.is_empty() => {
                for (k, c) in m {
                    walk(c, &child(path, k), out);
                }
            }
            other => out.push((path.to_owned(), other.clone())),
        }
    }
    let mut out = Vec::new();
    let empty = Map::new();
    for (k, c) in v.as_object().unwrap_or(&empty) {
        if k == "apiVersion" || k == "kind" {
            continue;
        }
        walk(c, &child("", k), &mut out);
    }
    out
}

/// The value every Secret data value is shown as.
pub const MASK: &str = "***";

/// Replaces a Secret's `data`/`stringData` values by [`MASK`] (a changed value stays a change:
/// before and after are both masked, as `kubectl diff` does).
fn mask_secret(c: &mut ObjectChange) {
    if c.kind != "Secret" || c.api_version != "v1" {
        return;
    }
    for f in &mut c.fields {
        let secret_field = ["data", "stringData"].iter().any(|k| {
            f.path == *k
                || f.path.starts_with(&format!("{k}."))
                || f.path.starts_with(&format!("{k}["))
        });
        if secret_field {
            let mask = |v: &mut Option<Json>| {
                if let Some(v) = v.as_mut() {
                    *v = mask_value(v);
                }
            };
            mask(&mut f.before);
            mask(&mut f.after);
        }
    }
}

fn mask_value(v: &Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, _)| (k.clone(), Json::String(MASK.into())))
                .collect(),
        ),
        _ => Json::String(MASK.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diffs_name_the_fields() {
        let a = json!({"metadata": {"labels": {"app.kubernetes.io/name": "a", "x": "1"}}, "spec": {"replicas": 1, "ports": [{"port": 80}], "args": ["a"]}});
        let b = json!({"metadata": {"labels": {"app.kubernetes.io/name": "b"}}, "spec": {"replicas": 2, "ports": [{"port": 81}], "args": ["a", "b"], "new": true}});
        let mut out = Vec::new();
        diff(&a, &b, "", &mut out);
        let paths: Vec<&str> = out.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "metadata.labels[\"app.kubernetes.io/name\"]",
                "metadata.labels.x",
                "spec.args",
                "spec.new",
                "spec.ports[0].port",
                "spec.replicas"
            ]
        );
        assert_eq!(out[1].after, None);
        assert_eq!(out[3].before, None);
    }

    #[test]
    fn secret_values_are_masked() {
        let mut c = ObjectChange {
            action: ChangeAction::Update,
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: None,
            name: "s".into(),
            source: None,
            fields: vec![
                FieldChange {
                    path: "data.password".into(),
                    before: Some(json!("c2VjcmV0")),
                    after: Some(json!("b3RoZXI=")),
                },
                FieldChange {
                    path: "metadata.labels.a".into(),
                    before: None,
                    after: Some(json!("b")),
                },
            ],
            note: None,
        };
        mask_secret(&mut c);
        assert_eq!(c.fields[0].before, Some(json!(MASK)));
        assert_eq!(c.fields[0].after, Some(json!(MASK)));
        assert_eq!(c.fields[1].after, Some(json!("b")));
        let text = serde_json::to_string(&c).unwrap();
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("b3RoZXI="),
            "{text}"
        );
    }
}
