//! The write path: prepare rendered documents, server-side dry-run them, install CRDs, and apply.
//!
//! Every write is a server-side apply with field manager [`FIELD_MANAGER`] and `force: true`. Force
//! is deliberate: the chart is the source of truth for every field it sets, and a conflict with
//! another manager (a `kubectl edit`, an earlier `helm upgrade` with client-side apply) is exactly
//! the drift the controller exists to correct. Fields the chart does not set stay with their
//! managers (an HPA's `replicas` when the chart leaves it out).
//!
//! Adoption: before the first apply over an object of the same Helm release that Helm's field
//! manager still owns fields of, those fields are handed to `signet` (see `takeover`), so the apply
//! also removes what the chart no longer sets, as `helm upgrade` would.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value as Json;
use tokio::time::Instant;

use super::error::{ApplyError, is_not_found};
use super::kinds::{Kinds, ResolvedKind};
use super::objects::{self, DesiredObject};
use super::prune::PruneReport;
use super::takeover;
use super::{FIELD_MANAGER, ReleaseOwner};
use crate::api::{CrdPolicy, DeletionPolicy, HealthCheckReference, InventoryEntry};

/// How often to poll while waiting for CRDs to be Established or kinds to be served.
pub(crate) const POLL: Duration = Duration::from_millis(250);
/// How long [`Applier::apply`] waits for a kind defined by a CRD applied in the same call.
const KIND_WAIT: Duration = Duration::from_secs(60);
/// Concurrent requests of the dry-run (order does not matter there, the first refusal still wins).
const DRY_RUN_CONCURRENCY: usize = 8;

/// What [`Applier::apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// The applied objects, in apply order.
    pub inventory: Vec<InventoryEntry>,
    /// How many objects the apply created or changed (their resourceVersion moved).
    pub changed: usize,
}

/// What [`Applier::dry_run`] checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DryRunReport {
    /// Objects accepted by the dry-run.
    pub accepted: usize,
    /// Objects that cannot be dry-run before the apply, with why: their kind comes from a CRD of
    /// this release not installed yet, or their namespace from a Namespace of this release.
    pub skipped: Vec<(InventoryEntry, String)>,
}

/// All cluster writes and reads for one release, through one client (impersonating
/// `spec.serviceAccountName` when set: the caller passes the impersonating client).
#[derive(Clone)]
pub struct Applier {
    pub(crate) client: kube::Client,
    pub(crate) kinds: Arc<Kinds>,
}

impl Applier {
    /// An applier writing through `client`, resolving kinds through `kinds`.
    pub fn new(client: kube::Client, kinds: Arc<Kinds>) -> Self {
        Applier { client, kinds }
    }

    /// The discovery cache this applier resolves kinds through.
    pub fn kinds(&self) -> &Arc<Kinds> {
        &self.kinds
    }

    /// The client this applier uses.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    pub(crate) fn api(&self, kind: &ResolvedKind, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace.filter(|_| kind.namespaced) {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &kind.resource),
            None => Api::all_with(self.client.clone(), &kind.resource),
        }
    }

    /// Parses rendered YAML documents `(source path, document)` in install order; namespaced kinds
    /// without a namespace get `owner.release_namespace`; errors name the source and the field.
    /// CustomResourceDefinitions among `docs` define kinds for the other documents.
    pub async fn prepare(
        &self,
        docs: &[(String, String)],
        owner: &ReleaseOwner,
    ) -> Result<Vec<DesiredObject>, ApplyError> {
        self.prepare_with_crds(docs, owner, &[]).await
    }

    /// [`Self::prepare`], where the kinds the CRDs in `crds` (the chart's `crds/`, prepared
    /// first) define are accepted before they are installed: such objects are marked
    /// `pending_kind`, skipped by the dry-run and applied once the kind is served.
    pub async fn prepare_with_crds(
        &self,
        docs: &[(String, String)],
        owner: &ReleaseOwner,
        crds: &[DesiredObject],
    ) -> Result<Vec<DesiredObject>, ApplyError> {
        let mut parsed = Vec::with_capacity(docs.len());
        for (template, doc) in docs {
            if let Some(p) = objects::parse_document(template, doc)? {
                parsed.push((template, p));
            }
        }
        // CRDs in the set, as JSON objects, for kinds the API server does not serve yet.
        let in_set: Vec<DynamicObject> = parsed
            .iter()
            .filter(|(_, p)| objects::is_crd(&p.api_version, &p.kind))
            .filter_map(|(_, p)| serde_json::from_value(p.object.clone()).ok())
            .collect();
        let known_crds: Vec<&DynamicObject> = crds
            .iter()
            .map(|c| &c.object)
            .chain(in_set.iter())
            .collect();

        let mut out = Vec::with_capacity(parsed.len());
        for (template, p) in parsed {
            let (kind, pending) = match self.kinds.resolve(&p.api_version, &p.kind).await {
                Ok(kind) => (kind, false),
                Err(ApplyError::UnknownKind { .. }) => {
                    match objects::crd_defined_kind(&known_crds, &p.api_version, &p.kind) {
                        Some(kind) => (kind, true),
                        None => {
                            return Err(ApplyError::UnknownKind {
                                api_version: p.api_version,
                                kind: p.kind,
                                template: Some(template.clone()),
                            });
                        }
                    }
                }
                Err(e) => return Err(e),
            };
            out.push(objects::finish(template, p, kind, pending, owner)?);
        }
        Ok(out)
    }

    async fn server_side_apply(
        &self,
        object: &DesiredObject,
        dry_run: bool,
    ) -> Result<DynamicObject, ApplyError> {
        self.raw_apply(object, dry_run)
            .await
            .map_err(|e| ApplyError::from_kube(e, "apply", &object.describe(), dry_run))
    }

    async fn checked_dry_run<'a>(
        &self,
        object: &'a DesiredObject,
    ) -> (&'a DesiredObject, Result<DynamicObject, kube::Error>) {
        (object, self.raw_apply(object, true).await)
    }

    async fn raw_apply(
        &self,
        object: &DesiredObject,
        dry_run: bool,
    ) -> Result<DynamicObject, kube::Error> {
        let name = object.object.metadata.name.as_deref().unwrap_or_default();
        let api = self.api(&object.kind, object.object.metadata.namespace.as_deref());
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        if dry_run {
            params = params.dry_run();
        }
        api.patch(name, &params, &Patch::Apply(&object.object))
            .await
    }

    /// Server-side dry-run (SSA, dryRun=All) of the whole set; the first refusal (in the given
    /// order) names the object (kind namespace/name, source) and the API server's message. Writes
    /// nothing.
    ///
    /// Two kinds of object cannot be checked before the apply and are reported as skipped: those
    /// whose kind a CRD of this release defines (not installed yet), and those in a namespace that
    /// a Namespace object of this release creates (the API server answers 404 for it).
    pub async fn dry_run(&self, objects: &[DesiredObject]) -> Result<DryRunReport, ApplyError> {
        let mut report = DryRunReport::default();
        for o in objects.iter().filter(|o| o.pending_kind) {
            report.skipped.push((
                o.entry(),
                format!(
                    "{} {} is defined by a CRD of this release that is not installed yet",
                    o.kind.resource.api_version, o.kind.resource.kind
                ),
            ));
        }
        let created_namespaces: HashSet<&str> = objects
            .iter()
            .filter(|o| o.kind.resource.group.is_empty() && o.kind.resource.kind == "Namespace")
            .filter_map(|o| o.object.metadata.name.as_deref())
            .collect();
        // A stream of ready-made futures rather than a `map` closure over borrowed objects: the
        // closure form makes the whole future not `Send` (rust-lang/rust#102211).
        let checks: Vec<_> = objects
            .iter()
            .filter(|o| !o.pending_kind)
            .map(|o| self.checked_dry_run(o))
            .collect();
        let results: Vec<(&DesiredObject, Result<DynamicObject, kube::Error>)> =
            futures::stream::iter(checks)
                .buffered(DRY_RUN_CONCURRENCY)
                .collect()
                .await;
        for (o, result) in results {
            match result {
                Ok(_) => report.accepted += 1,
                Err(e) if is_not_found(&e) && in_created_namespace(o, &created_namespaces) => {
                    report.skipped.push((
                        o.entry(),
                        format!(
                            "its namespace is created by this release (Namespace {})",
                            o.object.metadata.namespace.as_deref().unwrap_or_default()
                        ),
                    ));
                }
                Err(e) => return Err(ApplyError::from_kube(e, "apply", &o.describe(), true)),
            }
        }
        Ok(report)
    }

    /// CRDs from the chart's `crds/` per policy (`Skip` / `Create`: only missing, never touching
    /// existing ones, like Helm / `CreateReplace`: create missing ones, replace existing ones only
    /// when the chart's definition differs, and refuse one that drops a version the live CRD's
    /// `status.storedVersions` still lists), then waits until each is Established (or the
    /// deadline passes). Returns the CRDs of the release present in the cluster. CRDs are never
    /// deleted, here or by prune and uninstall.
    pub async fn apply_crds(
        &self,
        crds: &[DesiredObject],
        policy: CrdPolicy,
        deadline: Instant,
    ) -> Result<Vec<InventoryEntry>, ApplyError> {
        if policy == CrdPolicy::Skip {
            return Ok(Vec::new());
        }
        // Every replacement is checked before any is written: a refusal leaves all CRDs as they were.
        let mut writes = Vec::with_capacity(crds.len());
        for crd in crds {
            let name = crd.object.metadata.name.as_deref().unwrap_or_default();
            let live = self
                .api(&crd.kind, None)
                .get_opt(name)
                .await
                .map_err(|e| ApplyError::from_kube(e, "get", &crd.describe(), false))?;
            let write = match (&live, policy) {
                (None, _) => true,
                (Some(_), CrdPolicy::Create | CrdPolicy::Skip) => false,
                (Some(live), CrdPolicy::CreateReplace) => {
                    check_stored_versions(crd, live)?;
                    self.crd_differs(crd, live).await?
                }
            };
            writes.push(write);
        }
        let mut entries = Vec::with_capacity(crds.len());
        for (crd, write) in crds.iter().zip(writes) {
            if write {
                self.server_side_apply(crd, false).await?;
            }
            entries.push(crd.entry());
        }
        for crd in crds {
            self.wait_established(crd, deadline).await?;
        }
        // The kinds these CRDs define are served now; forget the stale capability list.
        self.kinds.invalidate().await;
        Ok(entries)
    }

    /// Whether the chart's definition differs from the live CRD: its spec after a server-side
    /// dry-run (so defaulted fields and other managers' fields compare as they are), or a label or
    /// annotation the chart sets. Our ownership marks alone do not make a CRD worth replacing.
    async fn crd_differs(
        &self,
        crd: &DesiredObject,
        live: &DynamicObject,
    ) -> Result<bool, ApplyError> {
        let after = self.server_side_apply(crd, true).await?;
        let marks = [
            super::MANAGED_BY_LABEL,
            super::OWNER_ANNOTATION,
            super::RELEASE_NAME_ANNOTATION,
            super::RELEASE_NAMESPACE_ANNOTATION,
        ];
        type Map = Option<std::collections::BTreeMap<String, String>>;
        let differs = |want: &Map, have: &Map| {
            want.iter().flatten().any(|(k, v)| {
                !marks.contains(&k.as_str()) && have.as_ref().and_then(|h| h.get(k)) != Some(v)
            })
        };
        Ok(after.data.get("spec") != live.data.get("spec")
            || differs(&crd.object.metadata.labels, &live.metadata.labels)
            || differs(&crd.object.metadata.annotations, &live.metadata.annotations))
    }

    async fn wait_established(
        &self,
        crd: &DesiredObject,
        deadline: Instant,
    ) -> Result<(), ApplyError> {
        let name = crd.object.metadata.name.as_deref().unwrap_or_default();
        let api = self.api(&crd.kind, None);
        loop {
            let current = api
                .get_opt(name)
                .await
                .map_err(|e| ApplyError::from_kube(e, "get", &crd.describe(), false))?;
            let why = match current {
                None => "it does not exist".to_owned(),
                Some(obj) => match super::health::crd_status(&obj.data) {
                    super::health::Readiness::Ready => return Ok(()),
                    super::health::Readiness::InProgress(why)
                    | super::health::Readiness::Failed(why) => why,
                },
            };
            if Instant::now() + POLL > deadline {
                return Err(ApplyError::Timeout {
                    what: format!("{} to be Established: {why}", crd.describe()),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Server-side apply, field manager `signet`, force, in the given order. `changed` counts the
    /// objects whose resourceVersion moved (a no-op apply does not count).
    pub async fn apply(&self, objects: &[DesiredObject]) -> Result<ApplyReport, ApplyError> {
        let mut report = ApplyReport::default();
        for o in objects {
            if o.pending_kind {
                self.wait_served(o).await?;
            }
            let name = o.object.metadata.name.as_deref().unwrap_or_default();
            let api = self.api(&o.kind, o.object.metadata.namespace.as_deref());
            let live = api
                .get_opt(name)
                .await
                .map_err(|e| ApplyError::from_kube(e, "get", &o.describe(), false))?;
            // An object of the Helm release this release adopts: take over Helm's fields first, so
            // the apply owns (and removes, when the chart dropped them) what Helm owned.
            if let Some(managed) = live.as_ref().and_then(|l| takeover::adoption(l, &o.object)) {
                let uid = live.as_ref().and_then(|l| l.metadata.uid.clone());
                write_managed_fields(&api, name, uid, &managed)
                    .await
                    .map_err(|e| ApplyError::from_kube(e, "patch", &o.describe(), false))?;
            }
            let before = live.and_then(|obj| obj.metadata.resource_version);
            let after = self.server_side_apply(o, false).await?;
            if before.is_none() || after.metadata.resource_version != before {
                report.changed += 1;
            }
            report.inventory.push(o.entry());
        }
        Ok(report)
    }

    /// Waits until the API server serves the kind of `o` (its CRD was applied just before).
    async fn wait_served(&self, o: &DesiredObject) -> Result<(), ApplyError> {
        let until = Instant::now() + KIND_WAIT;
        let r = &o.kind.resource;
        loop {
            match self.kinds.resolve(&r.api_version, &r.kind).await {
                Ok(_) => return Ok(()),
                Err(ApplyError::UnknownKind { .. }) if Instant::now() + POLL < until => {
                    tokio::time::sleep(POLL).await;
                }
                Err(ApplyError::UnknownKind { .. }) => {
                    return Err(ApplyError::Timeout {
                        what: format!(
                            "{} {} to be served for {}",
                            r.api_version,
                            r.kind,
                            o.describe()
                        ),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Deletes `previous` minus `current`, only objects still carrying this owner's marks (and
    /// managed by `signet`), never ones annotated `helm.sh/resource-policy: keep`; never CRDs.
    pub async fn prune(
        &self,
        previous: &[InventoryEntry],
        current: &[InventoryEntry],
        owner: &ReleaseOwner,
    ) -> Result<PruneReport, ApplyError> {
        super::prune::prune(self, previous, &[], current, owner).await
    }

    /// [`Self::prune`], and also deletes `adopted` (from [`super::adopted_inventory`]: the objects
    /// of the Helm revision an adopted release took over) minus `current`, where they carry Helm's
    /// marks for this same release and no other owner's mark; same `keep` and CRD rules.
    pub async fn prune_adopting(
        &self,
        previous: &[InventoryEntry],
        adopted: &[InventoryEntry],
        current: &[InventoryEntry],
        owner: &ReleaseOwner,
    ) -> Result<PruneReport, ApplyError> {
        super::prune::prune(self, previous, adopted, current, owner).await
    }

    /// Uninstall: Delete (Helm's uninstall order, wait until gone or the deadline) or Orphan
    /// (remove our marks, leave the objects). Same ownership rules as prune.
    pub async fn uninstall(
        &self,
        inventory: &[InventoryEntry],
        owner: &ReleaseOwner,
        policy: DeletionPolicy,
        deadline: Instant,
    ) -> Result<PruneReport, ApplyError> {
        super::prune::uninstall(self, inventory, owner, policy, deadline).await
    }

    /// kstatus readiness of the inventory plus extra checks, polled until ready or the deadline.
    pub async fn wait_healthy(
        &self,
        inventory: &[InventoryEntry],
        extra: &[HealthCheckReference],
        default_namespace: &str,
        deadline: Instant,
    ) -> Result<(), super::HealthError> {
        super::health::wait_healthy(self, inventory, extra, default_namespace, deadline).await
    }
}

/// Refuses a CRD definition that leaves out a version the live CRD has stored objects in
/// (`status.storedVersions`): replacing it would make those objects unreadable, and the API
/// server refuses it too, in its own words.
pub(crate) fn check_stored_versions(
    crd: &DesiredObject,
    live: &DynamicObject,
) -> Result<(), ApplyError> {
    let names = |v: Option<&Json>, field: Option<&str>| -> Vec<String> {
        v.and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| match field {
                        Some(f) => x.get(f).and_then(Json::as_str),
                        None => x.as_str(),
                    })
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let stored = names(path(&live.data, &["status", "storedVersions"]), None);
    let offered = names(path(&crd.object.data, &["spec", "versions"]), Some("name"));
    let dropped: Vec<&String> = stored.iter().filter(|v| !offered.contains(v)).collect();
    if dropped.is_empty() {
        return Ok(());
    }
    let list = dropped
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Err(ApplyError::Rejected {
        object: crd.describe(),
        reason: "StoredVersionDropped".to_owned(),
        message: format!(
            "the chart's definition drops version {list}, which status.storedVersions of the live \
             CustomResourceDefinition still lists (objects may be stored in it); the CRD was not \
             replaced. Keep the version in the chart, or migrate the stored objects to a version \
             the chart keeps and remove {list} from status.storedVersions first"
        ),
        dry_run: false,
    })
}

/// Replaces the managedFields of `name` (a merge patch; the uid, when known, guards against a
/// recreated object). The API server takes managedFields from an update or patch that sets them.
pub(crate) async fn write_managed_fields(
    api: &Api<DynamicObject>,
    name: &str,
    uid: Option<String>,
    managed: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry],
) -> Result<DynamicObject, kube::Error> {
    let mut patch = serde_json::json!({"metadata": {"managedFields": managed}});
    if let Some(uid) = uid {
        patch["metadata"]["uid"] = serde_json::json!(uid);
    }
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    api.patch(name, &params, &Patch::Merge(&patch)).await
}

fn in_created_namespace(o: &DesiredObject, created: &HashSet<&str>) -> bool {
    o.kind.namespaced
        && o.object
            .metadata
            .namespace
            .as_deref()
            .is_some_and(|ns| created.contains(ns))
}

/// The value of a JSON path, for status fields.
pub(crate) fn path<'a>(v: &'a Json, keys: &[&str]) -> Option<&'a Json> {
    keys.iter().try_fold(v, |v, k| v.get(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send<T: Send>(_: &T) {}

    /// Compile-time only: every public future can run in a spawned task.
    #[allow(dead_code, clippy::too_many_arguments)]
    async fn public_futures_are_send(
        a: &Applier,
        docs: &[(String, String)],
        owner: &ReleaseOwner,
        objects: &[DesiredObject],
        entries: &[InventoryEntry],
        checks: &[HealthCheckReference],
        client: &kube::Client,
        record: &super::super::ReleaseRecord,
        lookup: &super::super::ClusterLookup,
    ) {
        let deadline = Instant::now();
        is_send(&a.prepare(docs, owner));
        is_send(&a.prepare_with_crds(docs, owner, objects));
        is_send(&a.dry_run(objects));
        is_send(&a.apply_crds(objects, CrdPolicy::Create, deadline));
        is_send(&a.apply(objects));
        is_send(&a.prune(entries, entries, owner));
        is_send(&a.uninstall(entries, owner, DeletionPolicy::Delete, deadline));
        is_send(&a.wait_healthy(entries, checks, "ns", deadline));
        is_send(&a.kinds.resolve("v1", "ConfigMap"));
        is_send(&a.kinds.api_versions());
        is_send(&a.kinds.server_version());
        is_send(&super::super::record(client, record, 10));
        is_send(&super::super::load_history(client, "ns", "r"));
        is_send(&super::super::delete_history(client, "ns", "r"));
        is_send(&lookup.lookup_json("v1", "ConfigMap", "ns", "n"));
    }
}
