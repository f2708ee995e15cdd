//! The kinds the server knows (builtin ones and those registered by CRDs or tests) and the
//! discovery documents built from them: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/{g}`,
//! `/apis/{g}/{v}`.

use serde_json::{Value, json};

/// One served group/version/kind and its resource.
#[derive(Clone, Debug, PartialEq)]
pub struct KindSpec {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The resource name in URLs, e.g. `deployments`.
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    /// Has a `/status` subresource (the main endpoint then ignores status changes).
    pub status: bool,
    pub short_names: Vec<String>,
    /// The CRD's `openAPIV3Schema` of this version, read for server-side apply's list types.
    pub schema: Option<Value>,
    /// The CRD that registered it (`plural.group`), removed with it.
    pub crd: Option<String>,
}

impl KindSpec {
    /// `api_version` like `apps/v1` or `v1`; `plural` like `deployments`.
    pub fn new(api_version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        let (group, version) = split_api_version(api_version);
        KindSpec {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_ascii_lowercase(),
            namespaced,
            status: false,
            short_names: vec![],
            schema: None,
            crd: None,
        }
    }

    /// Declares the `/status` subresource.
    pub fn with_status(mut self) -> Self {
        self.status = true;
        self
    }

    pub fn with_short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// The registry of served kinds.
#[derive(Default)]
pub struct Kinds {
    list: Vec<KindSpec>,
}

impl Kinds {
    pub fn builtin() -> Self {
        let mut kinds = Kinds::default();
        for k in builtin_kinds() {
            kinds.register(k);
        }
        kinds
    }

    /// Adds or replaces (same group, version, plural).
    pub fn register(&mut self, kind: KindSpec) {
        self.list.retain(|k| {
            !(k.group == kind.group && k.version == kind.version && k.plural == kind.plural)
        });
        self.list.push(kind);
    }

    pub fn unregister_crd(&mut self, crd: &str) {
        self.list.retain(|k| k.crd.as_deref() != Some(crd));
    }

    pub fn by_resource(&self, group: &str, version: &str, plural: &str) -> Option<&KindSpec> {
        self.list
            .iter()
            .find(|k| k.group == group && k.version == version && k.plural == plural)
    }

    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<&KindSpec> {
        let (group, version) = split_api_version(api_version);
        self.list
            .iter()
            .find(|k| k.group == group && k.version == version && k.kind == kind)
    }

    /// Any served version of a group's resource (objects are stored per group and resource).
    pub fn any_version(&self, group: &str, plural: &str) -> Option<&KindSpec> {
        self.list
            .iter()
            .find(|k| k.group == group && k.plural == plural)
    }

    /// Groups in registration order, each with its versions by priority.
    fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = vec![];
        for k in &self.list {
            if k.group.is_empty() {
                continue;
            }
            match groups.iter_mut().find(|(g, _)| *g == k.group) {
                Some((_, versions)) => {
                    if !versions.contains(&k.version) {
                        versions.push(k.version.clone());
                    }
                }
                None => groups.push((k.group.clone(), vec![k.version.clone()])),
            }
        }
        for (_, versions) in &mut groups {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        groups
    }

    pub fn api_versions_doc(&self) -> Value {
        json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
        })
    }

    pub fn group_list_doc(&self) -> Value {
        let groups: Vec<Value> = self
            .groups()
            .iter()
            .map(|(g, vs)| group_doc(g, vs))
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    pub fn group_doc(&self, group: &str) -> Option<Value> {
        let groups = self.groups();
        let (g, vs) = groups.iter().find(|(g, _)| g == group)?;
        let mut doc = group_doc(g, vs);
        doc["kind"] = json!("APIGroup");
        doc["apiVersion"] = json!("v1");
        Some(doc)
    }

    pub fn resource_list_doc(&self, group: &str, version: &str) -> Option<Value> {
        let kinds: Vec<&KindSpec> = self
            .list
            .iter()
            .filter(|k| k.group == group && k.version == version)
            .collect();
        if kinds.is_empty() {
            return None;
        }
        let mut resources = vec![];
        for k in kinds {
            let mut r = json!({
                "name": k.plural,
                "singularName": k.singular,
                "namespaced": k.namespaced,
                "kind": k.kind,
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            });
            if !k.short_names.is_empty() {
                r["shortNames"] = json!(k.short_names);
            }
            resources.push(r);
            if k.status {
                resources.push(json!({
                    "name": format!("{}/status", k.plural),
                    "singularName": "",
                    "namespaced": k.namespaced,
                    "kind": k.kind,
                    "verbs": ["get", "patch", "update"],
                }));
            }
        }
        let group_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        Some(json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": resources,
        }))
    }
}

impl Kinds {
    /// `/openapi/v3`: one entry per served group/version.
    pub fn openapi_v3_root(&self) -> Value {
        let mut paths = serde_json::Map::new();
        for k in &self.list {
            let gv = if k.group.is_empty() {
                format!("api/{}", k.version)
            } else {
                format!("apis/{}/{}", k.group, k.version)
            };
            let url = format!("/openapi/v3/{gv}?hash=0");
            paths.insert(gv, json!({"serverRelativeURL": url}));
        }
        json!({"paths": paths})
    }

    /// `/openapi/v3/apis/{g}/{v}`: only the PATCH operations and their query parameters, which
    /// is what kubectl reads to decide that the server validates fields itself (no schemas).
    pub fn openapi_v3_group_version(&self, group: &str, version: &str) -> Option<Value> {
        let mut paths = serde_json::Map::new();
        for k in self
            .list
            .iter()
            .filter(|k| k.group == group && k.version == version)
        {
            let prefix = if group.is_empty() {
                format!("/api/{version}")
            } else {
                format!("/apis/{group}/{version}")
            };
            let scope = if k.namespaced {
                "/namespaces/{namespace}"
            } else {
                ""
            };
            let params: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
                .iter()
                .map(|p| json!({"name": p, "in": "query", "schema": {"type": "string"}}))
                .collect();
            paths.insert(
                format!("{prefix}{scope}/{}/{{name}}", k.plural),
                json!({"patch": {
                    "operationId": format!("patch{}", k.kind),
                    "parameters": params,
                    "responses": {"200": {"description": "OK"}},
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": {"group": k.group, "version": k.version, "kind": k.kind},
                }}),
            );
        }
        if paths.is_empty() {
            return None;
        }
        Some(json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.34.1"},
            "paths": paths,
            "components": {"schemas": {}},
        }))
    }
}

fn group_doc(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": vs, "preferredVersion": vs[0]})
}

/// Kubernetes version priority: GA > beta > alpha, higher numbers first; others last.
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let Ok(major) = digits.parse::<u32>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    let (stage, minor) = if tail.is_empty() {
        (3, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n.parse().unwrap_or(0))
    } else {
        return (0, 0, 0);
    };
    (stage, major, minor)
}

pub fn version_doc() -> Value {
    json!({
        "major": "1",
        "minor": "34",
        "emulationMajor": "1",
        "emulationMinor": "34",
        "gitVersion": "v1.34.1",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-09-09T00:00:00Z",
        "goVersion": "go1.24.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn builtin_kinds() -> Vec<KindSpec> {
    let k = KindSpec::new;
    vec![
        k("v1", "Namespace", "namespaces", false)
            .with_status()
            .with_short_names(&["ns"]),
        k("v1", "ConfigMap", "configmaps", true).with_short_names(&["cm"]),
        k("v1", "Secret", "secrets", true),
        k("v1", "Service", "services", true)
            .with_status()
            .with_short_names(&["svc"]),
        k("v1", "ServiceAccount", "serviceaccounts", true).with_short_names(&["sa"]),
        k("v1", "Pod", "pods", true)
            .with_status()
            .with_short_names(&["po"]),
        k(
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
        )
        .with_status()
        .with_short_names(&["pvc"]),
        k("v1", "Event", "events", true).with_short_names(&["ev"]),
        k("apps/v1", "Deployment", "deployments", true)
            .with_status()
            .with_short_names(&["deploy"]),
        k("apps/v1", "StatefulSet", "statefulsets", true)
            .with_status()
            .with_short_names(&["sts"]),
        k("apps/v1", "DaemonSet", "daemonsets", true)
            .with_status()
            .with_short_names(&["ds"]),
        k("apps/v1", "ReplicaSet", "replicasets", true)
            .with_status()
            .with_short_names(&["rs"]),
        k("batch/v1", "Job", "jobs", true).with_status(),
        k("networking.k8s.io/v1", "Ingress", "ingresses", true)
            .with_status()
            .with_short_names(&["ing"]),
        k("rbac.authorization.k8s.io/v1", "Role", "roles", true),
        k(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            "rolebindings",
            true,
        ),
        k(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "clusterroles",
            false,
        ),
        k(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
        ),
        k(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
        )
        .with_status()
        .with_short_names(&["crd", "crds"]),
        k("coordination.k8s.io/v1", "Lease", "leases", true),
        k("events.k8s.io/v1", "Event", "events", true).with_short_names(&["ev"]),
    ]
}
