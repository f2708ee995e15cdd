//! Invalid specs are rejected by `validate()` and by the CRD rules, naming the field; valid edge
//! cases pass both.

use crate::support::{base_release, names_field, remove, server_side_errors, set, workspace_root};
use serde_json::{Value, json};
use signet::api::SignedChartRelease;
use std::path::PathBuf;

/// Changes a valid release into the case under test.
type Edit = fn(&mut Value);

/// A broken spec, the field `validate()` must name, and whether the API server rejects it too
/// (some checks, like regexp syntax, only exist in the Rust mirror).
struct Case {
    what: &'static str,
    edit: Edit,
    field: &'static str,
    server_rejects: bool,
}

#[test]
fn invalid_specs_are_rejected_naming_the_field() {
    let cases = [
        Case {
            what: "authority with key and keyless",
            edit: |d| {
                set(
                    d,
                    "/spec/verify/authorities/0/keyless",
                    json!({"identities": [{"issuer": "https://i", "subject": "s"}]}),
                )
            },
            field: "spec.verify.authorities[0]",
            server_rejects: true,
        },
        Case {
            what: "authority with neither key nor keyless",
            edit: |d| remove(d, "/spec/verify/authorities/0/key"),
            field: "spec.verify.authorities[0]",
            server_rejects: true,
        },
        Case {
            what: "short digest",
            edit: |d| set(d, "/spec/chart/digest", json!("sha256:abc123")),
            field: "spec.chart.digest",
            server_rejects: true,
        },
        Case {
            what: "uppercase digest",
            edit: |d| {
                set(
                    d,
                    "/spec/chart/digest",
                    json!(format!("sha256:{}", "A".repeat(64))),
                )
            },
            field: "spec.chart.digest",
            server_rejects: true,
        },
        Case {
            what: "https repository",
            edit: |d| {
                set(
                    d,
                    "/spec/chart/repository",
                    json!("https://registry.example.com/charts/demo"),
                )
            },
            field: "spec.chart.repository",
            server_rejects: true,
        },
        Case {
            what: "repository with a tag",
            edit: |d| {
                set(
                    d,
                    "/spec/chart/repository",
                    json!("oci://registry.example.com/charts/demo:1.2.3"),
                )
            },
            field: "spec.chart.repository",
            server_rejects: true,
        },
        Case {
            what: "interval in words",
            edit: |d| set(d, "/spec/interval", json!("10 minutes")),
            field: "spec.interval",
            server_rejects: true,
        },
        Case {
            what: "interval below 1s",
            edit: |d| set(d, "/spec/interval", json!("500ms")),
            field: "spec.interval",
            server_rejects: true,
        },
        Case {
            what: "zero timeout",
            edit: |d| set(d, "/spec/timeout", json!("0s")),
            field: "spec.timeout",
            server_rejects: true,
        },
        Case {
            what: "threshold above the number of authorities",
            edit: |d| set(d, "/spec/verify/threshold", json!(3)),
            field: "spec.verify.threshold",
            server_rejects: true,
        },
        Case {
            what: "keyless without transparency log",
            edit: |d| set(d, "/spec/verify/requireTransparencyLog", json!(false)),
            field: "spec.verify.requireTransparencyLog",
            server_rejects: true,
        },
        Case {
            what: "signedRepository and signedRepositoryRegExp together",
            edit: |d| {
                set(d, "/spec/verify/signedRepository", json!("r.io/charts/app"));
                set(d, "/spec/verify/signedRepositoryRegExp", json!("r\\.io/.*"));
            },
            field: "spec.verify.signedRepositoryRegExp",
            server_rejects: true,
        },
        Case {
            what: "signedRepositoryRegExp that does not compile",
            edit: |d| set(d, "/spec/verify/signedRepositoryRegExp", json!("(")),
            field: "spec.verify.signedRepositoryRegExp",
            server_rejects: false,
        },
        Case {
            what: "issuer and issuerRegExp together",
            edit: |d| {
                set(
                    d,
                    "/spec/verify/authorities/1/keyless/identities/0/issuerRegExp",
                    json!(".*"),
                )
            },
            field: "spec.verify.authorities[1].keyless.identities[0]",
            server_rejects: true,
        },
        Case {
            what: "identity without subject",
            edit: |d| {
                remove(
                    d,
                    "/spec/verify/authorities/1/keyless/identities/0/subjectRegExp",
                )
            },
            field: "spec.verify.authorities[1].keyless.identities[0]",
            server_rejects: true,
        },
        Case {
            what: "no authorities",
            edit: |d| set(d, "/spec/verify/authorities", json!([])),
            field: "spec.verify.authorities",
            server_rejects: true,
        },
        Case {
            what: "CA with plain HTTP",
            edit: |d| {
                set(
                    d,
                    "/spec/chart/registry",
                    json!({"plainHTTP": true, "caSecretRef": {"name": "ca"}}),
                )
            },
            field: "spec.chart.registry",
            server_rejects: true,
        },
        Case {
            what: "bad values target path",
            edit: |d| {
                set(
                    d,
                    "/spec/valuesFrom",
                    json!([{"kind": "Secret", "name": "s", "targetPath": "a b"}]),
                )
            },
            field: "spec.valuesFrom[0].targetPath",
            server_rejects: true,
        },
        Case {
            what: "release name too long",
            edit: |d| set(d, "/spec/releaseName", json!("a".repeat(54))),
            field: "spec.releaseName",
            server_rejects: true,
        },
        Case {
            what: "object name too long for a default release name",
            edit: |d| set(d, "/metadata/name", json!("a".repeat(60))),
            field: "spec.releaseName",
            server_rejects: true,
        },
        Case {
            what: "release depending on itself",
            edit: |d| set(d, "/spec/dependsOn", json!([{"name": "demo"}])),
            field: "spec.dependsOn[0]",
            server_rejects: true,
        },
        Case {
            what: "uppercase target namespace",
            edit: |d| set(d, "/spec/targetNamespace", json!("Prod")),
            field: "spec.targetNamespace",
            server_rejects: true,
        },
        Case {
            what: "duplicate authority names",
            edit: |d| set(d, "/spec/verify/authorities/1/name", json!("team")),
            field: "spec.verify.authorities[1].name",
            // The API server enforces list-map key uniqueness itself, outside OpenAPI and CEL.
            server_rejects: false,
        },
        Case {
            what: "version that is neither a version nor a range",
            edit: |d| set(d, "/spec/chart/version", json!("latest")),
            field: "spec.chart.version",
            server_rejects: false,
        },
        Case {
            what: "subject regexp that does not compile",
            edit: |d| {
                set(
                    d,
                    "/spec/verify/authorities/1/keyless/identities/0/subjectRegExp",
                    json!("(unclosed"),
                )
            },
            field: "spec.verify.authorities[1].keyless.identities[0].subjectRegExp",
            server_rejects: false,
        },
        Case {
            what: "JSON 6902 post-render patch without a target",
            edit: |d| {
                set(
                    d,
                    "/spec/postRenderers",
                    json!([{"kustomize": {"patches": [{"patch": "- op: remove\n  path: /spec/replicas\n"}]}}]),
                )
            },
            field: "spec.postRenderers[0].kustomize.patches[0].target",
            server_rejects: true,
        },
        Case {
            what: "image override that changes nothing",
            edit: |d| {
                set(
                    d,
                    "/spec/postRenderers",
                    json!([{"kustomize": {"images": [{"name": "nginx"}]}}]),
                )
            },
            field: "spec.postRenderers[0].kustomize.images[0]",
            server_rejects: true,
        },
        Case {
            what: "post-render target name that does not compile",
            edit: |d| {
                set(
                    d,
                    "/spec/postRenderers",
                    json!([{"kustomize": {"patches": [{"patch": "[]", "target": {"name": "(unclosed"}}]}}]),
                )
            },
            field: "spec.postRenderers[0].kustomize.patches[0].target.name",
            server_rejects: false,
        },
    ];

    let base = base_release();
    let release: SignedChartRelease = serde_json::from_value(base.clone()).expect("base parses");
    release.validate().expect("the base release is valid");
    assert_eq!(
        server_side_errors(&base),
        Vec::<String>::new(),
        "base accepted server-side"
    );

    let mut failures = Vec::new();
    for case in &cases {
        let mut doc = base.clone();
        (case.edit)(&mut doc);
        match serde_json::from_value::<SignedChartRelease>(doc.clone()) {
            Err(e) => failures.push(format!("{}: does not even deserialise: {e}", case.what)),
            Ok(release) => match release.validate() {
                Ok(()) => failures.push(format!("{}: validate() accepted it", case.what)),
                Err(errors) => {
                    if !errors.fields().contains(&case.field) {
                        failures.push(format!(
                            "{}: expected an error on {}, got: {errors}",
                            case.what, case.field
                        ));
                    }
                    let text = errors.to_string();
                    assert!(text.contains(case.field), "message names the field: {text}");
                }
            },
        }
        let server = server_side_errors(&doc);
        if case.server_rejects && !server.iter().any(|e| names_field(e, case.field)) {
            failures.push(format!(
                "{}: the CRD rules do not reject {}: {server:?}",
                case.what, case.field
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_edge_cases_are_accepted_by_both() {
    let cases: [(&str, Edit); 8] = [
        ("range version", |d| {
            set(d, "/spec/chart/version", json!(">=1.2.0 <2.0.0 || ^3"))
        }),
        ("digest pin", |d| {
            set(
                d,
                "/spec/chart/digest",
                json!(format!("sha256:{}", "ab".repeat(32))),
            )
        }),
        ("registry port", |d| {
            set(
                d,
                "/spec/chart/repository",
                json!("oci://localhost:5000/a/b_c/d--e"),
            )
        }),
        ("compound interval", |d| {
            set(d, "/spec/interval", json!("1h30m"))
        }),
        ("fractional interval", |d| {
            set(d, "/spec/interval", json!("1.5s"))
        }),
        ("threshold = all", |d| {
            set(d, "/spec/verify/threshold", json!(2))
        }),
        ("values path with index", |d| {
            set(
                d,
                "/spec/valuesFrom",
                json!([{"kind": "ConfigMap", "name": "v", "targetPath": "ingress.tls[0].secretName"}]),
            )
        }),
        ("untargeted strategic-merge post-render patch", |d| {
            set(
                d,
                "/spec/postRenderers",
                json!([{"kustomize": {"patches": [{"patch": "# a comment\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n"}]}}]),
            )
        }),
    ];
    for (what, edit) in cases {
        let mut doc = base_release();
        edit(&mut doc);
        let release: SignedChartRelease = serde_json::from_value(doc.clone()).expect(what);
        if let Err(e) = release.validate() {
            panic!("{what}: validate() rejects it: {e}");
        }
        let server = server_side_errors(&doc);
        assert!(
            server.is_empty(),
            "{what}: server-side rules reject it: {server:#?}"
        );
    }
}

#[test]
fn unknown_fields_are_detected() {
    let mut doc = base_release();
    set(&mut doc, "/spec/chart/tag", json!("1.2.3"));
    set(
        &mut doc,
        "/spec/values",
        json!({"anything": {"goes": true}}),
    );
    let errors = server_side_errors(&doc);
    assert_eq!(errors, ["unknown field .spec.chart.tag"]);
}

#[test]
fn version_constraints_follow_helm_syntax() {
    use signet::api::validate::check_version_constraint;
    let accepted = [
        "1.2.3",
        "v1.2.3",
        "1.2.3-rc.1+build.5",
        ">=1.2.0 <2",
        ">= 1.2, < 2.0",
        "~1.4",
        "^1",
        "1.x",
        "*",
        "1.2 - 1.4.5",
        "^1 || ^2",
        ">=1.0.0, !=1.3.0",
    ];
    for version in accepted {
        assert!(
            check_version_constraint(version).is_ok(),
            "{version} should be accepted"
        );
        let mut doc = base_release();
        set(&mut doc, "/spec/chart/version", json!(version));
        assert!(
            server_side_errors(&doc).is_empty(),
            "{version}: server-side rules reject it"
        );
    }
    for version in ["latest", ">=", "1.2.3.4.5", "^1 ||", "~>1.2"] {
        let error = check_version_constraint(version).expect_err(version);
        assert!(
            error.contains(version),
            "the error quotes the input: {error}"
        );
    }
}

#[test]
fn e2e_invalid_examples_are_rejected_offline_too() {
    // e2e/run.sh expects the API server to reject each of these with the `# expect:` text; here
    // the same files must fail the offline mirror of the server rules and `validate()`.
    let dir = workspace_root().join("e2e/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the invalid examples, found {}",
        files.len()
    );
    for path in &files {
        let name = path.display();
        let text = std::fs::read_to_string(path).expect("read");
        let header = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
                .unwrap_or_else(|| panic!("{name}: no `# {key}:` header"))
                .to_owned()
        };
        let (field, expect) = (header("field"), header("expect"));
        let doc: Value = serde_saphyr::from_str(&text).expect("YAML");
        let server = server_side_errors(&doc);
        if expect == "unknown field" {
            assert!(
                server
                    .iter()
                    .any(|e| e.starts_with("unknown field .spec.chart.")),
                "{name}: {server:?}"
            );
            continue;
        }
        assert!(
            server.iter().any(|e| names_field(e, &field)),
            "{name}: the CRD rules do not reject {field}: {server:?}"
        );
        let release: SignedChartRelease = serde_json::from_value(doc).expect("deserialises");
        let errors = release
            .validate()
            .expect_err(&format!("{name}: validate() accepts it"));
        assert!(
            errors.fields().contains(&field.as_str()),
            "{name}: {errors}"
        );
    }
}
