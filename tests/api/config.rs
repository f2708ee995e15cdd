//! `config/`: complete kustomizations, a locked-down Deployment, a narrow controller ClusterRole.

use crate::support::{read_yaml, workspace_root};
use serde_json::Value;

#[test]
fn kustomizations_list_every_manifest_and_nothing_missing() {
    for dir in [
        "config/default",
        "config/manager",
        "config/rbac",
        "config/samples",
        "crds",
    ] {
        let kustomization: Value = read_yaml(&format!("{dir}/kustomization.yaml"));
        let resources: Vec<&str> = kustomization["resources"]
            .as_array()
            .unwrap_or_else(|| panic!("{dir}: no resources"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for resource in &resources {
            let path = workspace_root().join(dir).join(resource);
            assert!(
                path.exists(),
                "{dir}/kustomization.yaml lists missing {resource}"
            );
            if path.is_dir() {
                assert!(
                    path.join("kustomization.yaml").exists(),
                    "{dir}: {resource} has no kustomization"
                );
            }
        }
        for entry in std::fs::read_dir(workspace_root().join(dir)).expect("list dir") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".yaml") && name != "kustomization.yaml" {
                assert!(
                    resources.contains(&name.as_str()),
                    "{dir}/{name} is not in its kustomization"
                );
            }
        }
    }
    let default: Value = read_yaml("config/default/kustomization.yaml");
    let resources = default["resources"].as_array().expect("resources");
    for needed in ["../../crds", "../manager", "../rbac"] {
        assert!(
            resources.iter().any(|r| r == needed),
            "config/default misses {needed}"
        );
    }
}

#[test]
fn manager_deployment_is_locked_down_and_probes_the_controller() {
    use k8s_openapi::api::apps::v1::Deployment;
    let deployment: Deployment = read_yaml("config/manager/manager.yaml");
    let pod = deployment.spec.template.spec.expect("pod spec");
    let pod_security = pod.security_context.expect("pod securityContext");
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert_eq!(
        pod_security.seccomp_profile.expect("seccomp").type_,
        "RuntimeDefault"
    );
    assert_eq!(
        pod.service_account_name.as_deref(),
        Some("signet-controller")
    );
    let [container] = pod.containers.as_slice() else {
        panic!("one container")
    };
    let security = container
        .security_context
        .as_ref()
        .expect("container securityContext");
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(security.run_as_non_root, Some(true));
    let drop = security
        .capabilities
        .as_ref()
        .and_then(|c| c.drop.clone())
        .unwrap_or_default();
    assert_eq!(drop, ["ALL"]);
    let requests = container
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .expect("requests");
    assert!(requests.contains_key("cpu") && requests.contains_key("memory"));

    // The probes hit the paths the controller serves, on the port it listens on.
    let port = container
        .ports
        .as_ref()
        .expect("ports")
        .iter()
        .find(|p| p.name.as_deref() == Some("health"));
    let port = port.expect("health port").container_port;
    let args = container.args.clone().unwrap_or_default();
    assert!(
        args.contains(&format!("--health-addr=0.0.0.0:{port}")),
        "{args:?}"
    );
    let probe_path = |probe: &Option<k8s_openapi::api::core::v1::Probe>| {
        probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|h| h.path.clone())
    };
    assert_eq!(
        probe_path(&container.liveness_probe).as_deref(),
        Some("/healthz")
    );
    assert_eq!(
        probe_path(&container.readiness_probe).as_deref(),
        Some("/readyz")
    );
}

#[test]
fn controller_role_grants_what_the_controller_needs_and_no_wildcards() {
    use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
    let grants = |rules: &[PolicyRule], group: &str, resource: &str, verb: &str| {
        rules.iter().any(|r| {
            r.api_groups
                .as_ref()
                .is_some_and(|g| g.iter().any(|x| x == group))
                && r.resources
                    .as_ref()
                    .is_some_and(|x| x.iter().any(|x| x == resource))
                && r.verbs.iter().any(|v| v == verb)
        })
    };
    let role: ClusterRole = read_yaml("config/rbac/role.yaml");
    let rules = role.rules.expect("rules");
    for (group, resource, verb) in [
        ("signet.dev", "signedchartreleases", "watch"),
        ("signet.dev", "signedchartreleases", "patch"),
        ("signet.dev", "signedchartreleases/status", "patch"),
        ("", "secrets", "get"),
        ("", "configmaps", "get"),
        ("", "serviceaccounts", "impersonate"),
        ("", "events", "create"),
    ] {
        assert!(
            grants(&rules, group, resource, verb),
            "role.yaml lacks {verb} {group}/{resource}"
        );
    }
    // Secrets: read by name; list/watch (always with a label selector: `signet.dev/watch` for
    // values and keys, `owner=helm,name=…` for Helm release records); create/patch/delete of the
    // release records. Nothing more: no update, no deletecollection.
    let secret_verbs: std::collections::BTreeSet<&str> = rules
        .iter()
        .filter(|r| {
            r.api_groups
                .as_ref()
                .is_some_and(|g| g.iter().any(|x| x.is_empty()))
                && r.resources
                    .as_ref()
                    .is_some_and(|x| x.iter().any(|x| x == "secrets"))
        })
        .flat_map(|r| r.verbs.iter().map(String::as_str))
        .collect();
    assert_eq!(
        secret_verbs,
        ["create", "delete", "get", "list", "patch", "watch"].into(),
        "Secrets verbs beyond what the controller uses"
    );
    let wildcard = rules.iter().any(|r| {
        r.verbs.iter().any(|v| v == "*")
            || r.resources
                .as_ref()
                .is_some_and(|x| x.iter().any(|x| x == "*"))
    });
    assert!(
        !wildcard,
        "role.yaml must stay narrow; wildcards belong in apply_role.yaml"
    );

    let leader: Role = read_yaml("config/rbac/leader_election_role.yaml");
    let leader_rules = leader.rules.expect("rules");
    assert!(grants(
        &leader_rules,
        "coordination.k8s.io",
        "leases",
        "update"
    ));
}
