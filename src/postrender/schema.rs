//! The list merge keys of the built-in kinds, for strategic-merge patches.
//!
//! A strategic-merge patch merges a list item by item only where the Kubernetes API declares a
//! patch strategy for that field (`patchStrategy:"merge"` and `patchMergeKey` in the Go types,
//! `x-kubernetes-patch-strategy`/`x-kubernetes-patch-merge-key` in the OpenAPI document); every
//! other list is replaced whole. This table is written from those declarations in
//! `k8s.io/api` (core/v1 `PodSpec`, `Container`, `ServiceSpec`, `ServiceAccount`, meta/v1
//! `ObjectMeta`, admissionregistration/v1 webhook configurations). It covers the fields charts
//! render; status-only lists (conditions) are left out because post-renderers patch desired state.
//! Where a list also declares `x-kubernetes-list-map-keys` (ports, topology spread constraints),
//! kustomize matches items on all those keys, and so does this table.
//!
//! As in kustomize, an object whose kind is not built in (a custom resource) has no schema: its
//! lists are replaced whole, `metadata.finalizers` included.

/// How a list field merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListMerge {
    /// Replaced whole by the patch's list.
    Replace,
    /// A set of scalars (`metadata.finalizers`): the patch's items, then the others.
    Scalars,
    /// Items are objects merged by this key field (`patchMergeKey`). The result lists the patch's
    /// items in the patch's order, then the object's other items in theirs.
    Key(&'static str),
    /// Items are objects merged by several key fields (`x-kubernetes-list-map-keys`), each with
    /// the default the API server gives it when missing. kustomize orders these lists differently:
    /// the patch's new items first, then the object's items, merged in place.
    MapKeys(&'static [(&'static str, Option<&'static str>)]),
}

/// `protocol` defaults to TCP on the API server, so a port patched without it is the TCP port.
const CONTAINER_PORT_KEYS: &[(&str, Option<&str>)] =
    &[("containerPort", None), ("protocol", Some("TCP"))];
const SERVICE_PORT_KEYS: &[(&str, Option<&str>)] = &[("port", None), ("protocol", Some("TCP"))];
const SPREAD_KEYS: &[(&str, Option<&str>)] = &[("topologyKey", None), ("whenUnsatisfiable", None)];

/// Where in a built-in object's schema a walk is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// No schema (custom resources) or a part of the schema without merge keys below it.
    Plain,
    /// The top of a built-in object of this kind.
    Root(&'static str),
    ObjectMeta,
    /// A spec holding `template` (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, ...).
    WorkloadSpec,
    CronJobSpec,
    JobTemplate,
    PodTemplate,
    PodSpec,
    Container,
    ServiceSpec,
}

/// The API groups of the built-in kinds: their objects get at least the `ObjectMeta` merge keys.
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "extensions",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "resource.k8s.io",
];

/// The schema node at the top of an object of `group`/`kind`.
pub fn root(group: &str, kind: &str) -> Node {
    if !BUILTIN_GROUPS.contains(&group) {
        return Node::Plain;
    }
    let known = match (group, kind) {
        ("", "Pod") => "Pod",
        ("", "PodTemplate") => "PodTemplate",
        ("", "ReplicationController") => "ReplicationController",
        ("", "Service") => "Service",
        ("", "ServiceAccount") => "ServiceAccount",
        ("apps" | "extensions", "Deployment") => "Deployment",
        ("apps" | "extensions", "DaemonSet") => "DaemonSet",
        ("apps" | "extensions", "ReplicaSet") => "ReplicaSet",
        ("apps", "StatefulSet") => "StatefulSet",
        ("batch", "Job") => "Job",
        ("batch", "CronJob") => "CronJob",
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => {
            "MutatingWebhookConfiguration"
        }
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => {
            "ValidatingWebhookConfiguration"
        }
        _ => "",
    };
    Node::Root(known)
}

/// The schema node of field `name` under `node`, and how that field merges if it is a list.
pub fn field(node: Node, name: &str) -> (Node, ListMerge) {
    use ListMerge::{Key, MapKeys, Replace, Scalars};
    match (node, name) {
        (Node::Root(_), "metadata") => (Node::ObjectMeta, Replace),
        (Node::Root("Pod"), "spec") => (Node::PodSpec, Replace),
        (
            Node::Root(
                "Deployment"
                | "DaemonSet"
                | "ReplicaSet"
                | "StatefulSet"
                | "Job"
                | "ReplicationController",
            ),
            "spec",
        ) => (Node::WorkloadSpec, Replace),
        (Node::Root("CronJob"), "spec") => (Node::CronJobSpec, Replace),
        (Node::Root("Service"), "spec") => (Node::ServiceSpec, Replace),
        (Node::Root("PodTemplate"), "template") => (Node::PodTemplate, Replace),
        (Node::Root("ServiceAccount"), "secrets") => (Node::Plain, Key("name")),
        (
            Node::Root("MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"),
            "webhooks",
        ) => (Node::Plain, Key("name")),
        (Node::ObjectMeta, "finalizers") => (Node::Plain, Scalars),
        (Node::ObjectMeta, "ownerReferences") => (Node::Plain, Key("uid")),
        (Node::WorkloadSpec, "template") => (Node::PodTemplate, Replace),
        (Node::CronJobSpec, "jobTemplate") => (Node::JobTemplate, Replace),
        (Node::JobTemplate, "metadata") | (Node::PodTemplate, "metadata") => {
            (Node::ObjectMeta, Replace)
        }
        (Node::JobTemplate, "spec") => (Node::WorkloadSpec, Replace),
        (Node::PodTemplate, "spec") => (Node::PodSpec, Replace),
        (Node::PodSpec, "containers" | "initContainers" | "ephemeralContainers") => {
            (Node::Container, Key("name"))
        }
        (Node::PodSpec, "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates") => {
            (Node::Plain, Key("name"))
        }
        (Node::PodSpec, "hostAliases") => (Node::Plain, Key("ip")),
        (Node::PodSpec, "topologySpreadConstraints") => (Node::Plain, MapKeys(SPREAD_KEYS)),
        (Node::Container, "env") => (Node::Plain, Key("name")),
        (Node::Container, "ports") => (Node::Plain, MapKeys(CONTAINER_PORT_KEYS)),
        (Node::Container, "volumeMounts") => (Node::Plain, Key("mountPath")),
        (Node::Container, "volumeDevices") => (Node::Plain, Key("devicePath")),
        (Node::ServiceSpec, "ports") => (Node::Plain, MapKeys(SERVICE_PORT_KEYS)),
        _ => (Node::Plain, Replace),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(group: &str, kind: &str, path: &[&str]) -> ListMerge {
        let mut node = root(group, kind);
        let mut merge = ListMerge::Replace;
        for name in path {
            (node, merge) = field(node, name);
        }
        merge
    }

    #[test]
    fn pod_lists_merge_by_their_keys_in_every_workload() {
        let pod = ["spec", "template", "spec"];
        for kind in ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"] {
            let containers: Vec<&str> = pod.iter().copied().chain(["containers"]).collect();
            assert_eq!(walk("apps", kind, &containers), ListMerge::Key("name"));
            let env: Vec<&str> = containers.iter().copied().chain(["env"]).collect();
            assert_eq!(walk("apps", kind, &env), ListMerge::Key("name"));
        }
        let cron = [
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "spec",
            "initContainers",
            "volumeMounts",
        ];
        assert_eq!(walk("batch", "CronJob", &cron), ListMerge::Key("mountPath"));
        assert_eq!(
            walk("", "Pod", &["spec", "volumes"]),
            ListMerge::Key("name")
        );
        assert_eq!(
            walk("", "Service", &["spec", "ports"]),
            ListMerge::MapKeys(SERVICE_PORT_KEYS)
        );
        assert_eq!(
            walk("", "ConfigMap", &["metadata", "finalizers"]),
            ListMerge::Scalars
        );
        // Tolerations and args have no patch strategy; custom resources have no schema.
        assert_eq!(
            walk("", "Pod", &["spec", "tolerations"]),
            ListMerge::Replace
        );
        assert_eq!(
            walk("example.com", "Widget", &["metadata", "finalizers"]),
            ListMerge::Replace
        );
        assert_eq!(
            walk(
                "example.com",
                "Deployment",
                &["spec", "template", "spec", "containers"]
            ),
            ListMerge::Replace
        );
    }
}
