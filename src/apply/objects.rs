//! Rendered documents as objects to apply: parsing, namespace defaulting, the ownership marks, and
//! Helm's uninstall order. Pure; the client-facing steps are in `applier` and `prune`.

use kube::api::{DynamicObject, TypeMeta};
use serde_json::Value as Json;

use super::error::ApplyError;
use super::kinds::ResolvedKind;
use super::{
    MANAGED_BY_HELM, MANAGED_BY_LABEL, OWNER_ANNOTATION, RELEASE_NAME_ANNOTATION,
    RELEASE_NAMESPACE_ANNOTATION, ReleaseOwner,
};
use crate::api::InventoryEntry;

/// An object ready to apply: parsed, namespace defaulted, ownership marks added.
#[derive(Clone, Debug)]
pub struct DesiredObject {
    /// The object as it will be sent (apiVersion and kind set).
    pub object: DynamicObject,
    /// Its resource and scope.
    pub kind: ResolvedKind,
    /// The template path it was rendered from, for messages.
    pub source: String,
    /// The kind is not served yet: a CRD of this release defines it. The dry-run skips the object
    /// and [`super::Applier::apply`] waits for the kind to be served before applying it.
    pub pending_kind: bool,
}

impl DesiredObject {
    /// The inventory entry naming this object.
    pub fn entry(&self) -> InventoryEntry {
        InventoryEntry {
            api_version: self.kind.resource.api_version.clone(),
            kind: self.kind.resource.kind.clone(),
            namespace: self.object.metadata.namespace.clone(),
            name: self.object.metadata.name.clone().unwrap_or_default(),
        }
    }

    /// `Kind namespace/name (template)`, for messages.
    pub fn describe(&self) -> String {
        let e = self.entry();
        format!(
            "{} ({})",
            describe(&e.kind, e.namespace.as_deref(), &e.name),
            self.source
        )
    }
}

/// `Kind namespace/name`, or `Kind name` for a cluster-scoped object.
pub fn describe(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace.filter(|n| !n.is_empty()) {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// The head of a parsed document: what `prepare` needs before it can resolve the kind.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub api_version: String,
    pub kind: String,
    pub object: Json,
}

/// Parses one rendered YAML document. `Ok(None)` for an empty (or comment-only) document; an error
/// names the template and the missing or malformed field.
/// A rendered document as the JSON the API server receives from Helm or kubectl: they decode
/// manifests with `sigs.k8s.io/yaml` (YAML 1.1), so `defaultMode: 0644` is the octal 420 and an
/// unquoted `yes` or `on` is `true` — where a YAML 1.2 reading gives 644 and the string "yes", which
/// the API server would refuse or store differently from Helm. The render crate's reader has
/// exactly those semantics (it reads values files the same way).
fn manifest_json(doc: &str) -> Result<Json, String> {
    let value = crate::render::yaml::parse_yaml(doc).map_err(|e| e.to_string())?;
    let text = crate::render::yaml::to_json(&value)?;
    serde_json::from_str(&text).map_err(|e| format!("error converting YAML to JSON: {e}"))
}

pub(crate) fn parse_document(template: &str, doc: &str) -> Result<Option<Parsed>, ApplyError> {
    let invalid = |message: String| ApplyError::InvalidManifest {
        template: template.to_owned(),
        message,
    };
    let is_blank = doc
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
    if is_blank {
        return Ok(None);
    }
    let value = manifest_json(doc).map_err(invalid)?;
    let object = match value {
        Json::Null => return Ok(None),
        Json::Object(map) => map,
        other => {
            return Err(invalid(format!(
                "a document must be a mapping (a Kubernetes object), not {}",
                json_type(&other)
            )));
        }
    };
    let field = |name: &str| -> Result<String, ApplyError> {
        match object.get(name) {
            Some(Json::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Json::String(_)) | None | Some(Json::Null) => {
                Err(invalid(format!("field {name} is missing")))
            }
            Some(other) => Err(invalid(format!(
                "field {name} must be a string, not {}",
                json_type(other)
            ))),
        }
    };
    let api_version = field("apiVersion")?;
    let kind = field("kind")?;
    match object.get("metadata") {
        Some(Json::Object(meta)) => match meta.get("name") {
            Some(Json::String(s)) if !s.is_empty() => {}
            Some(Json::String(_)) | None | Some(Json::Null) => {
                return Err(invalid(format!(
                    "field metadata.name is missing ({kind} in {api_version}; generateName is not supported: an applied object needs a stable name)"
                )));
            }
            Some(other) => {
                return Err(invalid(format!(
                    "field metadata.name must be a string, not {}",
                    json_type(other)
                )));
            }
        },
        Some(other) if !other.is_null() => {
            return Err(invalid(format!(
                "field metadata must be a mapping, not {}",
                json_type(other)
            )));
        }
        _ => return Err(invalid("field metadata.name is missing".to_owned())),
    }
    Ok(Some(Parsed {
        api_version,
        kind,
        object: Json::Object(object),
    }))
}

/// Builds the object to apply: namespace defaulted (namespaced kinds) or cleared (cluster-scoped),
/// ownership marks merged into the labels and annotations the template set.
pub(crate) fn finish(
    template: &str,
    parsed: Parsed,
    kind: ResolvedKind,
    pending_kind: bool,
    owner: &ReleaseOwner,
) -> Result<DesiredObject, ApplyError> {
    let mut object: DynamicObject =
        serde_json::from_value(parsed.object).map_err(|e| ApplyError::InvalidManifest {
            template: template.to_owned(),
            message: format!("not a Kubernetes object: {e}"),
        })?;
    object.types = Some(TypeMeta {
        api_version: parsed.api_version,
        kind: parsed.kind,
    });
    if kind.namespaced {
        if object
            .metadata
            .namespace
            .as_deref()
            .is_none_or(str::is_empty)
        {
            object.metadata.namespace = Some(owner.release_namespace.clone());
        }
    } else {
        // The API server ignores a namespace on cluster-scoped objects; keeping it would put a
        // namespace in the inventory that the object does not have.
        object.metadata.namespace = None;
    }
    add_marks(&mut object, owner);
    Ok(DesiredObject {
        object,
        kind,
        source: template.to_owned(),
        pending_kind,
    })
}

/// Adds this release's marks: Helm's (so `helm` recognises and can adopt the object) and ours.
pub(crate) fn add_marks(object: &mut DynamicObject, owner: &ReleaseOwner) {
    let labels = object.metadata.labels.get_or_insert_with(Default::default);
    labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGED_BY_HELM.to_owned());
    let annotations = object
        .metadata
        .annotations
        .get_or_insert_with(Default::default);
    annotations.insert(
        RELEASE_NAME_ANNOTATION.to_owned(),
        owner.release_name.clone(),
    );
    annotations.insert(
        RELEASE_NAMESPACE_ANNOTATION.to_owned(),
        owner.release_namespace.clone(),
    );
    annotations.insert(OWNER_ANNOTATION.to_owned(), owner.owner_mark());
}

/// Whether `object` is a CustomResourceDefinition.
pub(crate) fn is_crd(api_version: &str, kind: &str) -> bool {
    kind == "CustomResourceDefinition" && api_version.starts_with("apiextensions.k8s.io/")
}

/// The kind `kind` in `api_version` as one of `crds` (CustomResourceDefinition objects) defines it,
/// for objects whose CRD is part of the same release and not installed yet.
pub(crate) fn crd_defined_kind(
    crds: &[&DynamicObject],
    api_version: &str,
    kind: &str,
) -> Option<ResolvedKind> {
    let (group, version) = super::kinds::split_api_version(api_version);
    crds.iter().find_map(|crd| {
        let spec = crd.data.get("spec")?;
        let names = spec.get("names")?;
        let defines = spec.get("group")?.as_str()? == group
            && names.get("kind")?.as_str()? == kind
            && spec
                .get("versions")?
                .as_array()?
                .iter()
                .any(|v| v.get("name").and_then(Json::as_str) == Some(version));
        if !defines {
            return None;
        }
        Some(ResolvedKind {
            resource: kube::api::ApiResource {
                group: group.to_owned(),
                version: version.to_owned(),
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
                plural: names.get("plural")?.as_str()?.to_owned(),
            },
            namespaced: spec.get("scope").and_then(Json::as_str) != Some("Cluster"),
        })
    })
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

/// Kinds in the order Helm uninstalls them (`releaseutil.UninstallOrder`); unknown kinds go last,
/// sorted by kind name.
pub const UNINSTALL_ORDER: &[&str] = &[
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "Ingress",
    "IngressClass",
    "Service",
    "CronJob",
    "Job",
    "StatefulSet",
    "HorizontalPodAutoscaler",
    "Deployment",
    "ReplicaSet",
    "ReplicationController",
    "Pod",
    "DaemonSet",
    "RoleBindingList",
    "RoleBinding",
    "RoleList",
    "Role",
    "ClusterRoleBindingList",
    "ClusterRoleBinding",
    "ClusterRoleList",
    "ClusterRole",
    "CustomResourceDefinition",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "ConfigMap",
    "SecretList",
    "Secret",
    "ServiceAccount",
    "PodDisruptionBudget",
    "PodSecurityPolicy",
    "LimitRange",
    "ResourceQuota",
    "NetworkPolicy",
    "Namespace",
    "PriorityClass",
];

/// The entries in Helm's uninstall order; entries of equal rank keep their (install) order.
pub fn uninstall_order(entries: &[InventoryEntry]) -> Vec<InventoryEntry> {
    let rank = |kind: &str| UNINSTALL_ORDER.iter().position(|k| *k == kind);
    let mut sorted = entries.to_vec();
    sorted.sort_by(|a, b| match (rank(&a.kind), rank(&b.kind)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind),
    });
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ApiResource;

    fn kind(api_version: &str, kind: &str, plural: &str, namespaced: bool) -> ResolvedKind {
        let (group, version) = super::super::kinds::split_api_version(api_version);
        ResolvedKind {
            resource: ApiResource {
                group: group.into(),
                version: version.into(),
                api_version: api_version.into(),
                kind: kind.into(),
                plural: plural.into(),
            },
            namespaced,
        }
    }

    fn prepare_one(doc: &str, k: ResolvedKind) -> DesiredObject {
        let parsed = parse_document("c/templates/x.yaml", doc).unwrap().unwrap();
        finish(
            "c/templates/x.yaml",
            parsed,
            k,
            false,
            &ReleaseOwner::for_test("web-release"),
        )
        .unwrap()
    }

    #[test]
    fn manifests_are_read_as_helm_and_kubectl_read_them() {
        // YAML 1.1, as sigs.k8s.io/yaml: legacy octal, yes/on booleans; quoted strings stay strings.
        let doc = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  mode: 0644\n  \
                   flag: on\n  answer: yes\n  quoted: \"yes\"\n  ratio: 0.5\n  big: 1e3\n";
        let parsed = parse_document("t", doc).unwrap().unwrap();
        let spec = &parsed.object["spec"];
        assert_eq!(spec["mode"], serde_json::json!(420));
        assert_eq!(spec["flag"], serde_json::json!(true));
        assert_eq!(spec["answer"], serde_json::json!(true));
        assert_eq!(spec["quoted"], serde_json::json!("yes"));
        assert_eq!(spec["ratio"], serde_json::json!(0.5));
        assert_eq!(spec["big"], serde_json::json!(1000));
        let err = parse_document("c/templates/bad.yaml", "a: [1\n").unwrap_err();
        assert!(err.to_string().contains("c/templates/bad.yaml"), "{err}");
    }

    #[test]
    fn empty_documents_are_skipped() {
        for doc in ["", "  \n", "# only a comment\n", "---\n", "~", "null"] {
            assert!(parse_document("t", doc).unwrap().is_none(), "{doc:?}");
        }
    }

    #[test]
    fn missing_fields_name_template_and_field() {
        let cases = [
            (
                "kind: ConfigMap\nmetadata: {name: a}",
                "field apiVersion is missing",
            ),
            (
                "apiVersion: v1\nmetadata: {name: a}",
                "field kind is missing",
            ),
            (
                "apiVersion: v1\nkind: ConfigMap",
                "field metadata.name is missing",
            ),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: a-}",
                "field metadata.name is missing",
            ),
            (
                "apiVersion: 1\nkind: ConfigMap\nmetadata: {name: a}",
                "field apiVersion must be a string",
            ),
            ("- a\n- b", "a document must be a mapping"),
        ];
        for (doc, want) in cases {
            let err = parse_document("chart/templates/cm.yaml", doc).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("chart/templates/cm.yaml"), "{msg}");
            assert!(msg.contains(want), "{doc:?}: {msg}");
            assert!(matches!(err, ApplyError::InvalidManifest { .. }));
        }
        let err = parse_document("t", "a: [unclosed").unwrap_err();
        assert!(err.to_string().contains("YAML"), "{err}");
    }

    #[test]
    fn namespaced_objects_get_the_release_namespace() {
        let d = prepare_one(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: {k: v}",
            kind("v1", "ConfigMap", "configmaps", true),
        );
        assert_eq!(d.object.metadata.namespace.as_deref(), Some("apps"));
        assert_eq!(d.object.data["data"]["k"], "v");
        assert_eq!(d.describe(), "ConfigMap apps/a (c/templates/x.yaml)");
        assert_eq!(
            d.entry(),
            InventoryEntry {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("apps".into()),
                name: "a".into()
            }
        );
        // An explicit namespace is kept.
        let d = prepare_one(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: other}",
            kind("v1", "ConfigMap", "configmaps", true),
        );
        assert_eq!(d.object.metadata.namespace.as_deref(), Some("other"));
    }

    #[test]
    fn cluster_scoped_objects_have_no_namespace() {
        let d = prepare_one(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r, namespace: x}",
            kind(
                "rbac.authorization.k8s.io/v1",
                "ClusterRole",
                "clusterroles",
                false,
            ),
        );
        assert_eq!(d.object.metadata.namespace, None);
        assert_eq!(d.entry().namespace, None);
        assert_eq!(d.describe(), "ClusterRole r (c/templates/x.yaml)");
    }

    #[test]
    fn marks_merge_into_existing_labels_and_annotations() {
        let d = prepare_one(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {app: web, app.kubernetes.io/managed-by: someone}\n  annotations: {note: keep-me}",
            kind("v1", "ConfigMap", "configmaps", true),
        );
        let labels = d.object.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["app"], "web");
        assert_eq!(labels[MANAGED_BY_LABEL], "Helm");
        let ann = d.object.metadata.annotations.as_ref().unwrap();
        assert_eq!(ann["note"], "keep-me");
        assert_eq!(ann[RELEASE_NAME_ANNOTATION], "web");
        assert_eq!(ann[RELEASE_NAMESPACE_ANNOTATION], "apps");
        assert_eq!(ann[OWNER_ANNOTATION], "signet/web-release");
        let types = d.object.types.as_ref().unwrap();
        assert_eq!(
            (types.api_version.as_str(), types.kind.as_str()),
            ("v1", "ConfigMap")
        );
    }

    #[test]
    fn kinds_defined_by_crds_of_the_release() {
        let crd = prepare_one(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: [{name: v1, served: true, storage: true}]",
            kind(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
                false,
            ),
        );
        let crds = [&crd.object];
        let k = crd_defined_kind(&crds, "example.com/v1", "Widget").unwrap();
        assert_eq!(k.resource.plural, "widgets");
        assert!(k.namespaced);
        assert!(crd_defined_kind(&crds, "example.com/v2", "Widget").is_none());
        assert!(crd_defined_kind(&crds, "example.com/v1", "Gadget").is_none());
        assert!(crd_defined_kind(&crds, "other.com/v1", "Widget").is_none());
        assert!(is_crd(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition"
        ));
        assert!(!is_crd("v1", "ConfigMap"));
    }

    #[test]
    fn uninstall_order_is_helms() {
        let e = |kind: &str, name: &str| InventoryEntry {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: None,
            name: name.into(),
        };
        let install = vec![
            e("Namespace", "ns"),
            e("ServiceAccount", "sa"),
            e("ConfigMap", "c1"),
            e("ConfigMap", "c2"),
            e("Service", "svc"),
            e("Deployment", "d"),
            e("Widget", "w"),
            e("Gadget", "g"),
        ];
        let names: Vec<_> = uninstall_order(&install)
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["svc", "d", "c1", "c2", "sa", "ns", "g", "w"]);
    }
}
