//! Deleting (or orphaning) a release's objects under the ownership rules: an object is ours only
//! while it carries our `signet.dev/owner` mark and `signet` still manages some of its fields; a
//! `helm.sh/resource-policy: keep` object and every CRD are never deleted.
//!
//! Adoption extends the rule once: on the first apply of a release that took over a Helm release,
//! the objects of the revision it superseded (listed in that revision's manifest) are pruned when
//! the chart no longer renders them, if they carry Helm's marks for this same release
//! (`meta.helm.sh/release-name` and `-namespace`) and no other SignedChartRelease's mark.

use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use serde_json::json;
use tokio::time::Instant;

use super::applier::{Applier, POLL};
use super::error::{ApplyError, is_not_found};
use super::history::{ReleaseStatus, load_history};
use super::kinds::Kinds;
use super::kinds::split_api_version;
use super::objects::{describe, is_crd, parse_document, uninstall_order};
use super::takeover::{HELM_MANAGER, transfer};
use super::{
    FIELD_MANAGER, OWNER_ANNOTATION, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION,
    RESOURCE_POLICY_ANNOTATION, ReleaseOwner,
};
use crate::api::{DeletionPolicy, InventoryEntry};

/// What prune or uninstall did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Objects deleted (or, for Orphan, released from this release), including ones already gone.
    pub deleted: Vec<InventoryEntry>,
    /// Objects left alone, with why.
    pub skipped: Vec<(InventoryEntry, String)>,
}

/// Why an existing object must not be deleted by `owner`; `None` when it may be.
pub(crate) fn keep_reason(object: &DynamicObject, owner: &ReleaseOwner) -> Option<String> {
    let annotations = object.metadata.annotations.as_ref();
    let annotation = |k: &str| annotations.and_then(|a| a.get(k)).map(String::as_str);
    let mark = owner.owner_mark();
    match annotation(OWNER_ANNOTATION) {
        Some(m) if m == mark => {}
        Some(other) => return Some(format!("owned by {other}, not {mark}")),
        None => {
            return Some(format!(
                "no {OWNER_ANNOTATION} annotation: not applied by {mark}"
            ));
        }
    }
    let managed = object.metadata.managed_fields.as_ref().is_some_and(|m| {
        m.iter()
            .any(|f| f.manager.as_deref() == Some(FIELD_MANAGER))
    });
    if !managed {
        return Some(format!(
            "field manager {FIELD_MANAGER} no longer manages it: taken over"
        ));
    }
    if annotation(RESOURCE_POLICY_ANNOTATION) == Some("keep") {
        return Some(format!("annotated {RESOURCE_POLICY_ANNOTATION}: keep"));
    }
    None
}

/// Why an existing object listed in an adopted Helm revision must not be deleted by `owner`;
/// `None` when it may be: it carries Helm's marks for the same release, and no other owner's mark.
pub(crate) fn adopted_keep_reason(object: &DynamicObject, owner: &ReleaseOwner) -> Option<String> {
    let annotations = object.metadata.annotations.as_ref();
    let annotation = |k: &str| annotations.and_then(|a| a.get(k)).map(String::as_str);
    let same_release = annotation(RELEASE_NAME_ANNOTATION) == Some(owner.release_name.as_str())
        && annotation(RELEASE_NAMESPACE_ANNOTATION) == Some(owner.release_namespace.as_str());
    if !same_release {
        return Some(format!(
            "not marked as an object of Helm release {}/{}",
            owner.release_namespace, owner.release_name
        ));
    }
    let mark = owner.owner_mark();
    if let Some(other) = annotation(OWNER_ANNOTATION).filter(|m| *m != mark) {
        return Some(format!("owned by {other}, not {mark}"));
    }
    if annotation(RESOURCE_POLICY_ANNOTATION) == Some("keep") {
        return Some(format!("annotated {RESOURCE_POLICY_ANNOTATION}: keep"));
    }
    None
}

/// Which ownership rule decides whether an entry may be removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Applied by this release: [`keep_reason`].
    Ours,
    /// Listed in the Helm revision this release adopted: [`adopted_keep_reason`].
    Adopted,
}

/// The identity of an object across apiVersions of its kind (`apps/v1beta1` → `apps/v1` is the same
/// Deployment).
pub(crate) fn identity(e: &InventoryEntry) -> (&str, &str, Option<&str>, &str) {
    (
        split_api_version(&e.api_version).0,
        e.kind.as_str(),
        e.namespace.as_deref().filter(|n| !n.is_empty()),
        e.name.as_str(),
    )
}

fn entry_name(e: &InventoryEntry) -> String {
    describe(&e.kind, e.namespace.as_deref(), &e.name)
}

enum Outcome {
    /// Deleted or already gone; the uid to wait for (None when already gone).
    Deleted(Option<String>),
    Skipped(String),
}

/// Whether `entry` would be removed under `rule`: `None` when it is gone (or its kind is not
/// served: it cannot be read), `Some(Err(why))` when it must be left alone, `Some(Ok(object))`
/// (the live object) when it may be removed. CRDs are never removed.
pub(crate) async fn would_remove(
    applier: &Applier,
    entry: &InventoryEntry,
    owner: &ReleaseOwner,
    rule: Removal,
) -> Result<Option<Result<DynamicObject, String>>, ApplyError> {
    if is_crd(&entry.api_version, &entry.kind) {
        return Ok(Some(Err(
            "CustomResourceDefinitions are never deleted (their custom resources would go with them)"
                .to_owned(),
        )));
    }
    let kind = match applier.kinds.resolve(&entry.api_version, &entry.kind).await {
        Ok(k) => k,
        // The apiVersion is no longer served (its CRD was removed, or an old apiVersion of a
        // builtin kind): the object cannot be read, so it is not touched.
        Err(ApplyError::UnknownKind { .. }) => {
            return Ok(Some(Err(format!(
                "{} {} is not served: cannot check or delete it",
                entry.api_version, entry.kind
            ))));
        }
        Err(e) => return Err(e),
    };
    let what = entry_name(entry);
    let api = applier.api(&kind, entry.namespace.as_deref());
    let Some(object) = api
        .get_opt(&entry.name)
        .await
        .map_err(|e| ApplyError::from_kube(e, "get", &what, false))?
    else {
        return Ok(None);
    };
    let why = match rule {
        Removal::Ours => keep_reason(&object, owner),
        Removal::Adopted => adopted_keep_reason(&object, owner),
    };
    Ok(Some(match why {
        Some(why) => Err(why),
        None => Ok(object),
    }))
}

/// Checks ownership of one entry and then deletes (or orphans) it.
async fn remove_one(
    applier: &Applier,
    entry: &InventoryEntry,
    owner: &ReleaseOwner,
    policy: DeletionPolicy,
    rule: Removal,
) -> Result<Outcome, ApplyError> {
    let object = match would_remove(applier, entry, owner, rule).await? {
        None => return Ok(Outcome::Deleted(None)),
        Some(Err(why)) => return Ok(Outcome::Skipped(why)),
        Some(Ok(object)) => object,
    };
    let what = entry_name(entry);
    let kind = applier
        .kinds
        .resolve(&entry.api_version, &entry.kind)
        .await?;
    let api = applier.api(&kind, entry.namespace.as_deref());
    let uid = object.metadata.uid.clone();
    match policy {
        DeletionPolicy::Delete => {
            // The uid precondition: delete the object we checked, not one recreated since.
            let params = DeleteParams {
                preconditions: uid.clone().map(|uid| Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..DeleteParams::background()
            };
            match api.delete(&entry.name, &params).await {
                Ok(_) => Ok(Outcome::Deleted(uid)),
                Err(e) if is_not_found(&e) => Ok(Outcome::Deleted(None)),
                Err(e) => Err(ApplyError::from_kube(e, "delete", &what, false)),
            }
        }
        DeletionPolicy::Orphan => {
            // A merge patch, not an apply without the marks: an apply that leaves out fields
            // `signet` owns would delete them, and orphaning must leave the object as it is.
            // Only our mark goes: the release stays a Helm release (its history is kept), so
            // Helm's marks stay for `helm upgrade` and for whoever adopts it next.
            let mut patch = json!({
                "metadata": {
                    "annotations": { OWNER_ANNOTATION: null }
                }
            });
            // The uid acts as a precondition: a recreated object is not ours to touch.
            if let Some(uid) = uid {
                patch["metadata"]["uid"] = json!(uid);
            }
            // Hand our fields to Helm's manager: the release's history stays, and a later
            // `helm upgrade` (server-side apply) then changes them without conflicts.
            let api_version = object
                .types
                .as_ref()
                .map(|t| t.api_version.clone())
                .unwrap_or_else(|| entry.api_version.clone());
            if let Some(managed) = object
                .metadata
                .managed_fields
                .as_deref()
                .and_then(|m| transfer(m, FIELD_MANAGER, HELM_MANAGER, &api_version))
            {
                patch["metadata"]["managedFields"] = json!(managed);
            }
            let params = PatchParams {
                field_manager: Some(FIELD_MANAGER.to_owned()),
                ..PatchParams::default()
            };
            match api.patch(&entry.name, &params, &Patch::Merge(&patch)).await {
                Ok(_) => Ok(Outcome::Deleted(None)),
                Err(e) if is_not_found(&e) => Ok(Outcome::Deleted(None)),
                Err(e) => Err(ApplyError::from_kube(e, "patch", &what, false)),
            }
        }
    }
}

/// Removes `entries` in Helm's uninstall order; returns the report and the deleted objects' uids.
async fn remove_all(
    applier: &Applier,
    entries: &[InventoryEntry],
    owner: &ReleaseOwner,
    policy: DeletionPolicy,
    rule: Removal,
) -> Result<(PruneReport, Vec<(InventoryEntry, String)>), ApplyError> {
    let mut report = PruneReport::default();
    let mut pending = Vec::new();
    for entry in uninstall_order(entries) {
        match remove_one(applier, &entry, owner, policy, rule).await? {
            Outcome::Deleted(uid) => {
                if let Some(uid) = uid {
                    pending.push((entry.clone(), uid));
                }
                report.deleted.push(entry);
            }
            Outcome::Skipped(why) => report.skipped.push((entry, why)),
        }
    }
    Ok((report, pending))
}

pub(crate) async fn prune(
    applier: &Applier,
    previous: &[InventoryEntry],
    adopted: &[InventoryEntry],
    current: &[InventoryEntry],
    owner: &ReleaseOwner,
) -> Result<PruneReport, ApplyError> {
    let keep: std::collections::HashSet<_> = current.iter().map(identity).collect();
    let stale: Vec<InventoryEntry> = previous
        .iter()
        .filter(|e| !keep.contains(&identity(e)))
        .cloned()
        .collect();
    let mut report = remove_all(
        applier,
        &stale,
        owner,
        DeletionPolicy::Delete,
        Removal::Ours,
    )
    .await?
    .0;
    let seen: std::collections::HashSet<_> = current.iter().chain(previous).map(identity).collect();
    let stale_adopted: Vec<InventoryEntry> = adopted
        .iter()
        .filter(|e| !seen.contains(&identity(e)))
        .cloned()
        .collect();
    if !stale_adopted.is_empty() {
        let (more, _) = remove_all(
            applier,
            &stale_adopted,
            owner,
            DeletionPolicy::Delete,
            Removal::Adopted,
        )
        .await?;
        report.deleted.extend(more.deleted);
        report.skipped.extend(more.skipped);
    }
    Ok(report)
}

/// The objects a release adopted from Helm still has to prune: when `previous` (the release's
/// inventory) is empty, i.e. on its first apply, the objects listed in the manifest of the
/// revision its first deployed revision superseded (`helm install`'s, or an earlier owner's).
/// Empty, without a request, once the release has an inventory. Read through `client` (the
/// controller's own: the records are the controller's business, not the impersonated account's).
pub async fn adopted_inventory(
    client: &kube::Client,
    kinds: &Kinds,
    owner: &ReleaseOwner,
    previous: &[InventoryEntry],
) -> Result<Vec<InventoryEntry>, ApplyError> {
    if !previous.is_empty() {
        return Ok(Vec::new());
    }
    let history = load_history(client, &owner.release_namespace, &owner.release_name).await?;
    // The newest record is the revision being applied (recorded pending, or already deployed);
    // the one it takes over is the newest deployed or superseded revision before it.
    let Some(latest) = history.iter().map(|r| r.version).max() else {
        return Ok(Vec::new());
    };
    let Some(taken) = history
        .iter()
        .filter(|r| r.version < latest)
        .filter(|r| {
            matches!(
                r.status,
                ReleaseStatus::Superseded | ReleaseStatus::Deployed
            )
        })
        .max_by_key(|r| r.version)
    else {
        return Ok(Vec::new());
    };
    manifest_entries(kinds, &taken.manifest, &owner.release_namespace).await
}

/// What [`adopted_inventory`] will return after the next revision is recorded, read before it is:
/// when `previous` is empty, the objects of the release's latest deployed revision. For previews
/// (`signet diff`).
pub async fn adoptable_inventory(
    client: &kube::Client,
    kinds: &Kinds,
    owner: &ReleaseOwner,
    previous: &[InventoryEntry],
) -> Result<Vec<InventoryEntry>, ApplyError> {
    if !previous.is_empty() {
        return Ok(Vec::new());
    }
    let history = load_history(client, &owner.release_namespace, &owner.release_name).await?;
    match history
        .iter()
        .filter(|r| r.status == ReleaseStatus::Deployed)
        .max_by_key(|r| r.version)
    {
        Some(r) => manifest_entries(kinds, &r.manifest, &owner.release_namespace).await,
        None => Ok(Vec::new()),
    }
}

/// The objects a Helm release manifest (`---`-separated documents) lists. Documents that do not
/// parse or whose kind is not served are left out: nothing could be checked or deleted there.
pub(crate) async fn manifest_entries(
    kinds: &Kinds,
    manifest: &str,
    release_namespace: &str,
) -> Result<Vec<InventoryEntry>, ApplyError> {
    let mut out = Vec::new();
    for doc in split_manifest(manifest) {
        let Ok(Some(parsed)) = parse_document("release manifest", &doc) else {
            continue;
        };
        let kind = match kinds.resolve(&parsed.api_version, &parsed.kind).await {
            Ok(k) => k,
            Err(ApplyError::UnknownKind { .. }) => continue,
            Err(e) => return Err(e),
        };
        let meta = &parsed.object["metadata"];
        let name = meta["name"].as_str().unwrap_or_default().to_owned();
        let namespace = kind.namespaced.then(|| {
            meta["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or(release_namespace)
                .to_owned()
        });
        out.push(InventoryEntry {
            api_version: parsed.api_version,
            kind: parsed.kind,
            namespace,
            name,
        });
    }
    Ok(out)
}

/// The documents of a manifest, split at `---` lines.
fn split_manifest(manifest: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in manifest.lines() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push(String::new());
        } else if let Some(last) = docs.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    docs.retain(|d| !d.trim().is_empty());
    docs
}

pub(crate) async fn uninstall(
    applier: &Applier,
    inventory: &[InventoryEntry],
    owner: &ReleaseOwner,
    policy: DeletionPolicy,
    deadline: Instant,
) -> Result<PruneReport, ApplyError> {
    let (report, pending) = remove_all(applier, inventory, owner, policy, Removal::Ours).await?;
    for (entry, uid) in pending {
        wait_gone(applier, &entry, &uid, deadline).await?;
    }
    Ok(report)
}

/// Waits until the object with `uid` is gone (finalizers done), or fails at the deadline.
async fn wait_gone(
    applier: &Applier,
    entry: &InventoryEntry,
    uid: &str,
    deadline: Instant,
) -> Result<(), ApplyError> {
    let kind = applier
        .kinds
        .resolve(&entry.api_version, &entry.kind)
        .await?;
    let api = applier.api(&kind, entry.namespace.as_deref());
    let what = entry_name(entry);
    loop {
        let current = api
            .get_opt(&entry.name)
            .await
            .map_err(|e| ApplyError::from_kube(e, "get", &what, false))?;
        let Some(object) = current.filter(|o| o.metadata.uid.as_deref() == Some(uid)) else {
            return Ok(());
        };
        if Instant::now() + POLL > deadline {
            let finalizers = object.metadata.finalizers.unwrap_or_default();
            return Err(ApplyError::Timeout {
                what: format!(
                    "{what} to be deleted{}",
                    if finalizers.is_empty() {
                        String::new()
                    } else {
                        format!(" (finalizers: {})", finalizers.join(", "))
                    }
                ),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

    fn owner() -> ReleaseOwner {
        ReleaseOwner::for_test("web")
    }

    fn object(annotations: &[(&str, &str)], managers: &[&str]) -> DynamicObject {
        let mut o = DynamicObject {
            types: None,
            metadata: Default::default(),
            data: json!({}),
        };
        o.metadata.annotations = Some(
            annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        o.metadata.managed_fields = Some(
            managers
                .iter()
                .map(|m| ManagedFieldsEntry {
                    manager: Some((*m).to_owned()),
                    ..Default::default()
                })
                .collect(),
        );
        o
    }

    #[test]
    fn ownership_rules() {
        let ours = [(OWNER_ANNOTATION, "signet/web")];
        assert_eq!(keep_reason(&object(&ours, &["signet"]), &owner()), None);
        assert_eq!(
            keep_reason(&object(&ours, &["kubectl", "signet"]), &owner()),
            None
        );
        let why = keep_reason(&object(&ours, &["kubectl-edit"]), &owner()).unwrap();
        assert!(why.contains("taken over"), "{why}");
        let why = keep_reason(&object(&[], &["signet"]), &owner()).unwrap();
        assert!(why.contains("no signet.dev/owner"), "{why}");
        let why = keep_reason(
            &object(&[(OWNER_ANNOTATION, "signet/other")], &["signet"]),
            &owner(),
        )
        .unwrap();
        assert!(why.contains("owned by signet/other"), "{why}");
        let why = keep_reason(
            &object(
                &[
                    (OWNER_ANNOTATION, "signet/web"),
                    (RESOURCE_POLICY_ANNOTATION, "keep"),
                ],
                &["signet"],
            ),
            &owner(),
        )
        .unwrap();
        assert!(why.contains("keep"), "{why}");
    }

    #[test]
    fn adopted_objects_need_helms_marks_of_the_same_release() {
        let helm = [
            (RELEASE_NAME_ANNOTATION, "web"),
            (RELEASE_NAMESPACE_ANNOTATION, "apps"),
        ];
        // Helm's own object: no signet marks, any manager.
        assert_eq!(
            adopted_keep_reason(&object(&helm, &["helm"]), &owner()),
            None
        );
        let mut ours = helm.to_vec();
        ours.push((OWNER_ANNOTATION, "signet/web"));
        assert_eq!(
            adopted_keep_reason(&object(&ours, &["signet"]), &owner()),
            None
        );
        let mut other = helm.to_vec();
        other.push((OWNER_ANNOTATION, "signet/other"));
        let why = adopted_keep_reason(&object(&other, &["signet"]), &owner()).unwrap();
        assert!(why.contains("owned by signet/other"), "{why}");
        let why = adopted_keep_reason(
            &object(
                &[
                    (RELEASE_NAME_ANNOTATION, "web"),
                    (RELEASE_NAMESPACE_ANNOTATION, "elsewhere"),
                ],
                &["helm"],
            ),
            &owner(),
        )
        .unwrap();
        assert!(
            why.contains("not marked as an object of Helm release apps/web"),
            "{why}"
        );
        assert!(adopted_keep_reason(&object(&[], &["helm"]), &owner()).is_some());
        let mut keep = helm.to_vec();
        keep.push((RESOURCE_POLICY_ANNOTATION, "keep"));
        assert!(adopted_keep_reason(&object(&keep, &["helm"]), &owner()).is_some());
    }

    #[test]
    fn manifests_split_at_document_markers() {
        let docs = split_manifest(
            "---\n# Source: a.yaml\napiVersion: v1\nkind: ConfigMap\n---\n# Source: b.yaml\nx: 1\n--- \n\n",
        );
        assert_eq!(docs.len(), 2, "{docs:?}");
        assert!(docs[0].contains("kind: ConfigMap"));
        assert!(docs[1].contains("x: 1"));
    }

    #[test]
    fn identity_ignores_the_version() {
        let e = |api_version: &str, ns: Option<&str>| InventoryEntry {
            api_version: api_version.into(),
            kind: "Deployment".into(),
            namespace: ns.map(Into::into),
            name: "d".into(),
        };
        assert_eq!(
            identity(&e("apps/v1beta1", Some("a"))),
            identity(&e("apps/v1", Some("a")))
        );
        assert_ne!(
            identity(&e("apps/v1", Some("a"))),
            identity(&e("apps/v1", Some("b")))
        );
        assert_eq!(
            identity(&e("apps/v1", Some(""))),
            identity(&e("apps/v1", None))
        );
    }
}
