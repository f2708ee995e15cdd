//! Applying a rendered release to a cluster: server-side apply with server-side dry-run first,
//! ownership marks, prune, health (kstatus), uninstall, live `lookup`, and the Helm release records
//! (`helm.sh/release.v1` Secrets). One of the two modules that hold a Kubernetes client.
//!
//! Files: `kinds` (discovery, cached), `objects` (parsing rendered documents, ownership marks, Helm's
//! orders), `applier` (dry-run, apply, CRDs), `prune` (prune and uninstall under the ownership
//! rules), `health` (kstatus readiness), `lookup` (the render crate's `lookup` over the client),
//! `history` (Helm release records), `hooks` (Helm hooks: order, delete policies, waiting for Jobs
//! and Pods), `plan` (what an apply would change, for `signet diff`), `takeover` (field ownership
//! handed between Helm and Signet on adoption and orphaning), `error` (the typed errors at this
//! boundary).

mod applier;
mod error;
pub mod health;
pub mod history;
pub mod hooks;
mod kinds;
mod lookup;
mod objects;
mod plan;
mod prune;
mod takeover;

pub use applier::{Applier, ApplyReport, DryRunReport};
pub use error::ApplyError;
pub use health::HealthError;
pub use history::{ReleaseRecord, ReleaseStatus, delete_history, load_history, record};
pub use hooks::{Hook, HookError, HookEvent, HookPhase};
pub use kinds::{Kinds, ResolvedKind};
pub use lookup::ClusterLookup;
pub use objects::{DesiredObject, UNINSTALL_ORDER, describe, uninstall_order};
pub use plan::{ChangeAction, FieldChange, MASK, ObjectChange, PlanInput};
pub use prune::{PruneReport, adoptable_inventory, adopted_inventory};

/// The field manager of every server-side apply Signet makes.
pub const FIELD_MANAGER: &str = "signet";

/// Annotation naming the `SignedChartRelease` (`namespace/name`) that owns an object.
pub const OWNER_ANNOTATION: &str = "signet.dev/owner";
/// Helm's label marking objects it manages; Helm refuses to adopt objects without it.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`] Helm writes and checks.
pub const MANAGED_BY_HELM: &str = "Helm";
/// Helm's annotation naming the release an object belongs to.
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
/// Helm's annotation naming the namespace of the release an object belongs to.
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";
/// Helm's resource policy annotation; `keep` means never delete the object.
pub const RESOURCE_POLICY_ANNOTATION: &str = "helm.sh/resource-policy";

/// Whose objects these are; written as marks on every applied object and checked before prune.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseOwner {
    /// Helm release name (`.Release.Name`).
    pub release_name: String,
    /// Target namespace (`.Release.Namespace`, Helm's release namespace).
    pub release_namespace: String,
    /// Namespace of the SignedChartRelease.
    pub owner_namespace: String,
    /// Name of the SignedChartRelease.
    pub owner_name: String,
}

impl ReleaseOwner {
    /// The value of [`OWNER_ANNOTATION`]: `owner_namespace/owner_name`.
    pub fn owner_mark(&self) -> String {
        format!("{}/{}", self.owner_namespace, self.owner_name)
    }

    /// The unit tests' owner: release `web` in `apps`, of the SignedChartRelease
    /// `signet/<owner_name>`.
    #[cfg(test)]
    pub(crate) fn for_test(owner_name: &str) -> Self {
        ReleaseOwner {
            release_name: "web".into(),
            release_namespace: "apps".into(),
            owner_namespace: "signet".into(),
            owner_name: owner_name.into(),
        }
    }
}
