//! Handing field ownership between Helm and Signet, so neither side meets a server-side-apply
//! conflict or leaves stale fields behind when a release changes hands.
//!
//! Adoption (a SignedChartRelease takes over a release `helm install` made): the fields Helm's
//! field manager `helm` owns (Helm 4 applies with SSA, operation `Apply`; Helm 3 wrote with
//! client-side patches, operation `Update`) become Signet's one `Apply` entry before Signet's first
//! apply. Signet's apply then owns exactly what Helm owned, so a field the new chart no longer sets
//! is removed, as `helm upgrade` would remove it. This is the documented way to transfer ownership
//! between managers (rewriting `metadata.managedFields`; client-go's `csaupgrade` does the same).
//! Only objects that carry Helm's release marks for this very release are touched.
//!
//! Orphaning (the SignedChartRelease is deleted with `deletionPolicy: Orphan`) hands the fields
//! back to `helm`, so a later `helm upgrade` (SSA without `--force-conflicts`) changes them
//! without conflicts.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, Time};
use kube::api::DynamicObject;
use serde_json::Value as Json;

use super::{RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION};

/// The field manager Helm 3 and 4 write with.
pub const HELM_MANAGER: &str = "helm";

/// Whether `entry` is a main-resource entry (not `/status` or `/scale`) of `manager`.
fn is_main_entry_of(entry: &ManagedFieldsEntry, manager: &str) -> bool {
    entry.manager.as_deref() == Some(manager)
        && entry.subresource.as_deref().unwrap_or("").is_empty()
}

/// The union of two `fieldsV1` sets (nested maps of `f:`/`k:`/`v:`/`.` keys).
fn union(into: &mut Json, from: &Json) {
    match (into, from) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(existing) => union(existing, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (into @ Json::Null, from) => *into = from.clone(),
        _ => {}
    }
}

/// `managed` with every main-resource entry of manager `from` folded into the `Apply` entry of
/// `to` (created when missing, at `api_version`); `None` when `from` owns nothing.
pub(crate) fn transfer(
    managed: &[ManagedFieldsEntry],
    from: &str,
    to: &str,
    api_version: &str,
) -> Option<Vec<ManagedFieldsEntry>> {
    if !managed.iter().any(|e| is_main_entry_of(e, from)) {
        return None;
    }
    let mut fields = Json::Object(Default::default());
    let mut out = Vec::with_capacity(managed.len());
    let mut target: Option<usize> = None;
    for entry in managed {
        if is_main_entry_of(entry, from) {
            if let Some(f) = &entry.fields_v1 {
                union(&mut fields, &f.0);
            }
            continue;
        }
        if is_main_entry_of(entry, to) && entry.operation.as_deref() == Some("Apply") {
            target = Some(out.len());
        }
        out.push(entry.clone());
    }
    match target {
        Some(i) => {
            let entry = &mut out[i];
            let mut merged = entry
                .fields_v1
                .take()
                .map(|f| f.0)
                .unwrap_or(Json::Object(Default::default()));
            union(&mut merged, &fields);
            entry.fields_v1 = Some(FieldsV1(merged));
        }
        None => out.push(ManagedFieldsEntry {
            api_version: Some(api_version.to_owned()),
            fields_type: Some("FieldsV1".to_owned()),
            fields_v1: Some(FieldsV1(fields)),
            manager: Some(to.to_owned()),
            operation: Some("Apply".to_owned()),
            subresource: None,
            time: Some(Time(k8s_openapi::jiff::Timestamp::now())),
        }),
    }
    Some(out)
}

/// Whether `live` carries Helm's marks naming the same release as `desired` (whose marks
/// `objects::add_marks` wrote).
pub(crate) fn same_helm_release(live: &DynamicObject, desired: &DynamicObject) -> bool {
    let mark = |o: &DynamicObject, key: &str| -> Option<String> {
        o.metadata.annotations.as_ref()?.get(key).cloned()
    };
    [RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION]
        .iter()
        .all(|k| mark(live, k).is_some() && mark(live, k) == mark(desired, k))
}

/// The managedFields to write before Signet's first apply of `desired` over `live`, when `live`
/// belongs to the same Helm release and Helm still owns fields of it.
pub(crate) fn adoption(
    live: &DynamicObject,
    desired: &DynamicObject,
) -> Option<Vec<ManagedFieldsEntry>> {
    if !same_helm_release(live, desired) {
        return None;
    }
    let api_version = desired
        .types
        .as_ref()
        .map(|t| t.api_version.as_str())
        .unwrap_or_default();
    transfer(
        live.metadata.managed_fields.as_deref()?,
        HELM_MANAGER,
        super::FIELD_MANAGER,
        api_version,
    )
}

/// The map-key paths (`["data", "old"]`) of a `fieldsV1` set's leaves; paths through list items
/// (`k:`, `v:`, `i:`) are left out.
fn leaf_paths(fields: &Json, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let Some(map) = fields.as_object() else {
        return;
    };
    let children: Vec<(&String, &Json)> = map.iter().filter(|(k, _)| *k != ".").collect();
    if children.is_empty() {
        if !path.is_empty() {
            out.push(path.clone());
        }
        return;
    }
    for (k, v) in children {
        if let Some(name) = k.strip_prefix("f:") {
            path.push(name.to_owned());
            leaf_paths(v, path, out);
            path.pop();
        }
    }
}

fn has_path(v: &Json, path: &[String]) -> bool {
    path.iter().try_fold(v, |v, k| v.get(k)).is_some()
}

/// The fields adopting `live` would remove: those only Helm's manager owns (no other manager but
/// Signet) and `desired` does not set (map keys only). A preview of what the first apply after
/// [`adoption`] deletes.
pub(crate) fn dropped_by_adoption(
    live: &DynamicObject,
    desired: &DynamicObject,
) -> Vec<Vec<String>> {
    if adoption(live, desired).is_none() {
        return Vec::new();
    }
    let managed = live.metadata.managed_fields.as_deref().unwrap_or_default();
    let paths_of = |keep: &dyn Fn(&ManagedFieldsEntry) -> bool| {
        let mut out = Vec::new();
        for e in managed.iter().filter(|e| keep(e)) {
            if let Some(f) = &e.fields_v1 {
                leaf_paths(&f.0, &mut Vec::new(), &mut out);
            }
        }
        out
    };
    let helms = paths_of(&|e| is_main_entry_of(e, HELM_MANAGER));
    let others = paths_of(&|e| {
        !is_main_entry_of(e, HELM_MANAGER) && !is_main_entry_of(e, super::FIELD_MANAGER)
    });
    let desired = serde_json::to_value(desired).unwrap_or(Json::Null);
    helms
        .into_iter()
        .filter(|p| !others.contains(p) && !has_path(&desired, p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(manager: &str, operation: &str, fields: Json) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            api_version: Some("v1".into()),
            fields_type: Some("FieldsV1".into()),
            fields_v1: Some(FieldsV1(fields)),
            manager: Some(manager.into()),
            operation: Some(operation.into()),
            subresource: None,
            time: None,
        }
    }

    #[test]
    fn helms_fields_become_signets_apply_entry() {
        let managed = vec![
            entry("helm", "Apply", json!({"f:data": {"f:a": {}, "f:old": {}}})),
            entry(
                "helm",
                "Update",
                json!({"f:metadata": {"f:labels": {"f:x": {}}}}),
            ),
            entry("kubectl-edit", "Update", json!({"f:data": {"f:b": {}}})),
            entry("signet", "Apply", json!({"f:data": {"f:c": {}}})),
        ];
        let out = transfer(&managed, "helm", "signet", "v1").unwrap();
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].manager.as_deref(), Some("kubectl-edit"));
        assert_eq!(out[1].manager.as_deref(), Some("signet"));
        assert_eq!(
            out[1].fields_v1.as_ref().unwrap().0,
            json!({"f:data": {"f:a": {}, "f:old": {}, "f:c": {}}, "f:metadata": {"f:labels": {"f:x": {}}}})
        );
        // Nothing of `helm`: nothing to do.
        assert!(transfer(&out, "helm", "signet", "v1").is_none());
        // No Apply entry of the receiver yet: one is made.
        let back = transfer(&out, "signet", "helm", "v1").unwrap();
        assert_eq!(back[1].manager.as_deref(), Some("helm"));
        assert_eq!(back[1].operation.as_deref(), Some("Apply"));
        // A status entry stays where it is.
        let mut status = entry("helm", "Update", json!({"f:status": {}}));
        status.subresource = Some("status".into());
        assert!(transfer(&[status], "helm", "signet", "v1").is_none());
    }

    #[test]
    fn adoption_drops_what_only_helm_owned() {
        let marks = json!({RELEASE_NAME_ANNOTATION: "web", RELEASE_NAMESPACE_ANNOTATION: "apps"});
        let live: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "annotations": marks, "managedFields": [
                {"manager": "helm", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:data": {"f:keep": {}, "f:old": {}, "f:shared": {}}, "f:spec": {"f:ports": {"k:{\"port\":80}": {".": {}}}}}},
                {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:data": {"f:shared": {}}}},
            ]},
            "data": {"keep": "1", "old": "2", "shared": "3"},
        }))
        .unwrap();
        let desired: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "annotations": marks}, "data": {"keep": "1"},
        }))
        .unwrap();
        assert_eq!(
            dropped_by_adoption(&live, &desired),
            vec![vec!["data".to_owned(), "old".to_owned()]]
        );
    }

    #[test]
    fn only_the_same_release_is_adopted() {
        let obj = |name: &str, ns: &str| -> DynamicObject {
            serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c", "annotations": {
                    RELEASE_NAME_ANNOTATION: name, RELEASE_NAMESPACE_ANNOTATION: ns}}
            }))
            .unwrap()
        };
        assert!(same_helm_release(&obj("web", "apps"), &obj("web", "apps")));
        assert!(!same_helm_release(
            &obj("web", "other"),
            &obj("web", "apps")
        ));
        assert!(!same_helm_release(&obj("api", "apps"), &obj("web", "apps")));
        let bare: DynamicObject = serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
        )
        .unwrap();
        assert!(!same_helm_release(&bare, &obj("web", "apps")));
    }
}
