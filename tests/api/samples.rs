//! `config/samples/` deserialise into the Rust types and pass `validate()` and the server rules.

use crate::support::{server_side_errors, workspace_root, yaml_documents};
use serde_json::Value;
use signet::api::SignedChartRelease;
use std::path::PathBuf;

fn sample_files() -> Vec<PathBuf> {
    let dir = workspace_root().join("config/samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "kustomization.yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn samples_deserialise_and_pass_every_rule() {
    let files = sample_files();
    assert!(
        files.len() >= 3,
        "expected key-based, keyless and valuesFrom samples"
    );
    let mut releases = 0;
    let (mut key, mut keyless, mut values_from) = (false, false, false);
    for path in &files {
        let name = path.display();
        for doc in yaml_documents(path) {
            let kind = doc["kind"].as_str().unwrap_or_default();
            match kind {
                "SignedChartRelease" => {}
                "ConfigMap" | "Secret" => {
                    assert_eq!(doc["apiVersion"], "v1", "{name}: {kind} apiVersion");
                    continue;
                }
                other => panic!("{name}: unexpected kind {other:?} in samples"),
            }
            releases += 1;
            assert_eq!(doc["apiVersion"], "signet.dev/v1alpha1", "{name}");
            let release: SignedChartRelease = serde_json::from_value(doc.clone())
                .unwrap_or_else(|e| panic!("{name}: does not deserialise: {e}"));
            if let Err(e) = release.validate() {
                panic!("{name}: validate() rejects the sample: {e}");
            }
            let server = server_side_errors(&doc);
            assert!(
                server.is_empty(),
                "{name}: the API server would reject it: {server:#?}"
            );
            key |= release
                .spec
                .verify
                .authorities
                .iter()
                .any(|a| a.key.is_some());
            keyless |= release
                .spec
                .verify
                .authorities
                .iter()
                .any(|a| a.keyless.is_some());
            values_from |= !release.spec.values_from.is_empty();
        }
    }
    assert!(
        releases >= 3,
        "found {releases} SignedChartReleases in the samples"
    );
    assert!(
        key && keyless && values_from,
        "samples must cover key, keyless and valuesFrom"
    );
}

#[test]
fn samples_kustomization_lists_every_sample() {
    let text = std::fs::read_to_string(workspace_root().join("config/samples/kustomization.yaml"))
        .expect("config/samples/kustomization.yaml");
    let kustomization: Value = serde_saphyr::from_str(&text).expect("kustomization parses");
    let listed: Vec<&str> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for path in sample_files() {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name");
        assert!(
            listed.contains(&file),
            "config/samples/kustomization.yaml misses {file}"
        );
    }
}
