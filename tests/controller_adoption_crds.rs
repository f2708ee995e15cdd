//! CRD upgrades under `crds: CreateReplace`, through the controller on the API-server double: an
//! unchanged definition is not written again, a changed one replaces the live CRD, one that drops
//! a version still in `status.storedVersions` is refused with a status message that names it (the
//! CRD stays as it was), and deleting the release never deletes a CRD.

#[path = "support/release_env.rs"]
mod release_env;
mod support;

use kube::api::DeleteParams;
use release_env::{Env, condition_is};
use serde_json::json;

const CRD_API: &str = "apiextensions.k8s.io/v1";
const CRD: &str = "CustomResourceDefinition";
const NAME: &str = "widgets.example.com";

/// The Widget CRD with `versions` as `(name, storage)`, each served.
fn crd(versions: &[(&str, bool)]) -> String {
    let versions: String = versions
        .iter()
        .map(|(v, storage)| {
            format!(
                "  - name: {v}\n    served: true\n    storage: {storage}\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n"
            )
        })
        .collect();
    format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {NAME}\nspec:\n  group: example.com\n  names:\n    kind: Widget\n    plural: widgets\n  scope: Namespaced\n  versions:\n{versions}"
    )
}

fn widget(version: &str) -> String {
    format!(
        "apiVersion: example.com/{version}\nkind: Widget\nmetadata:\n  name: {{{{ .Release.Name }}}}-w\nspec:\n  size: {{{{ .Values.size }}}}\n"
    )
}

/// `signet diff -f` of release `w` at `version` with `crds: CreateReplace`: (exit code, stdout
/// as JSON text, stderr).
fn diff(env: &Env, version: &str) -> (i32, String, String) {
    let file = env.dir.path().join(format!("w-{version}.json"));
    let release = env.release("w", version, json!({"crds": "CreateReplace"}));
    std::fs::write(&file, release.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["diff", "-o", "json", "--kubeconfig"])
        .arg(&env.kubeconfig)
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn versions(env: &Env) -> Vec<String> {
    let crd = env
        .api
        .get(CRD_API, CRD, None, NAME)
        .expect("the CRD exists");
    crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect()
}

fn resource_version(env: &Env) -> String {
    let crd = env
        .api
        .get(CRD_API, CRD, None, NAME)
        .expect("the CRD exists");
    crd["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_replace_replaces_only_changes_and_refuses_dropping_a_stored_version() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let v1alpha1 = crd(&[("v1alpha1", true)]);
    let both = crd(&[("v1alpha1", false), ("v1", true)]);
    let only_v1 = crd(&[("v1", true)]);
    for (version, crd_text, widget_version, size) in [
        ("1.0.0", &v1alpha1, "v1alpha1", 1),
        ("1.0.1", &v1alpha1, "v1alpha1", 2),
        ("1.1.0", &both, "v1", 3),
        ("2.0.0", &only_v1, "v1", 4),
    ] {
        let dir = env.write_chart(
            version,
            &format!("size: {size}\n"),
            &[
                ("crds/widgets.yaml", crd_text.as_str()),
                ("widget.yaml", widget(widget_version).as_str()),
            ],
        );
        env.push_signed(&dir).await;
    }
    // Already installed by someone else (another field manager): the same definition is not
    // written (a forced apply would at least take its fields over).
    let existing: serde_json::Value = serde_saphyr::from_str(&v1alpha1).unwrap();
    env.api.install_crd(&existing).await;
    let before = resource_version(&env);
    env.start();
    env.create(env.release("w", "1.0.0", json!({"crds": "CreateReplace"})))
        .await;
    env.wait_ready("w", "1.0.0").await;
    assert_eq!(versions(&env), ["v1alpha1"]);
    assert_eq!(
        resource_version(&env),
        before,
        "an unchanged CRD was replaced"
    );

    // The same definition: not written again.
    env.patch_spec("w", json!({"chart": {"version": "1.0.1"}}))
        .await;
    env.wait_ready("w", "1.0.1").await;
    assert_eq!(
        resource_version(&env),
        before,
        "an unchanged CRD was replaced"
    );

    // A new version: `signet diff` shows the replacement, then it is replaced.
    let d = diff(&env, "1.1.0");
    assert_eq!(d.0, 1, "{d:?}");
    let doc: serde_json::Value = serde_json::from_str(&d.1).unwrap();
    let crd_change = doc["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == CRD)
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(crd_change["action"], "update", "{crd_change}");
    env.patch_spec("w", json!({"chart": {"version": "1.1.0"}}))
        .await;
    env.wait_ready("w", "1.1.0").await;
    assert_eq!(versions(&env), ["v1alpha1", "v1"]);
    // A real API server keeps every version objects were ever stored in (the double keeps only
    // the current storage version): say so, as it would.
    let mut crd_obj = env.api.get(CRD_API, CRD, None, NAME).unwrap();
    crd_obj["status"]["storedVersions"] = json!(["v1alpha1", "v1"]);
    env.api
        .set_status(CRD_API, CRD, None, NAME, crd_obj["status"].clone());

    // Dropping v1alpha1, still stored: `signet diff` refuses as the controller does (exit 2)...
    let d = diff(&env, "2.0.0");
    assert_eq!(d.0, 2, "{d:?}");
    assert!(d.2.contains("drops version v1alpha1"), "{d:?}");
    // ...and the controller: refused, the CRD as it was, the old objects in place.
    env.patch_spec("w", json!({"chart": {"version": "2.0.0"}}))
        .await;
    let r = env
        .wait_release("w", "to refuse the CRD", |r| {
            condition_is(r, "Applied", "False")
                && r.status
                    .as_ref()
                    .and_then(|s| s.last_attempted_revision.as_ref())
                    .is_some_and(|a| a.version == "2.0.0")
        })
        .await;
    let applied = r
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|c| c.type_ == "Applied")
        .unwrap();
    eprintln!("refused: {}", applied.message);
    assert_eq!(applied.reason, "ApplyFailed");
    for want in [NAME, "drops version v1alpha1", "status.storedVersions"] {
        assert!(
            applied.message.contains(want),
            "{want}: {}",
            applied.message
        );
    }
    assert_eq!(versions(&env), ["v1alpha1", "v1"]);
    let w = env.get("example.com/v1", "Widget", "w-w").unwrap();
    assert_eq!(
        w["spec"]["size"], 3,
        "the refused revision changed the widget: {w}"
    );

    // Deleting the release deletes its objects, never the CRD.
    env.releases()
        .delete("w", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_until("the release to be gone", async || {
        env.releases().get_opt("w").await.unwrap().is_none()
    })
    .await;
    assert!(env.get("example.com/v1", "Widget", "w-w").is_none());
    assert_eq!(versions(&env), ["v1alpha1", "v1"], "the CRD was deleted");
    env.stop().await;
}

/// A CRD among the templates (not `crds/`) is in the inventory; prune and uninstall leave it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crd_the_chart_stops_rendering_is_not_pruned() {
    let Some(mut env) = Env::new().await else {
        return;
    };
    let crd_text = crd(&[("v1", true)]);
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: {a: b}\n";
    let with = env.write_chart(
        "1.0.0",
        "",
        &[("crd.yaml", crd_text.as_str()), ("cm.yaml", cm)],
    );
    env.push_signed(&with).await;
    let without = env.write_chart("2.0.0", "", &[("cm.yaml", cm)]);
    env.push_signed(&without).await;
    env.start();
    env.create(env.release("t", "1.0.0", json!({}))).await;
    let r = env.wait_ready("t", "1.0.0").await;
    assert!(
        r.status.unwrap().inventory.iter().any(|e| e.kind == CRD),
        "the CRD is in the inventory"
    );
    env.patch_spec("t", json!({"chart": {"version": "2.0.0"}}))
        .await;
    env.wait_ready("t", "2.0.0").await;
    assert_eq!(versions(&env), ["v1"], "pruned");
    env.patch_spec("t", json!({"chart": {"version": "1.0.0"}}))
        .await;
    let r = env.wait_ready("t", "1.0.0").await;
    assert!(r.status.unwrap().inventory.iter().any(|e| e.kind == CRD));
    env.releases()
        .delete("t", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_until("the release to be gone", async || {
        env.releases().get_opt("t").await.unwrap().is_none()
    })
    .await;
    assert!(env.get("v1", "ConfigMap", "c").is_none());
    assert_eq!(versions(&env), ["v1"], "uninstalled");
    env.stop().await;
}
