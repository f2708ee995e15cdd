//! The committed CRD matches the types; names, scope, columns and subresources are as documented.

use crate::support::{crd_json, workspace_root};
use serde_json::{Value, json};
use signet::api::crd_yaml;

#[test]
fn committed_crd_matches_the_types() {
    let path = workspace_root().join(signet::api::CRD_PATH);
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `make crds`", path.display()));
    let generated = crd_yaml().expect("CRD YAML");
    assert!(
        committed == generated,
        "{} is out of date with src/api; run `make crds` and commit the result",
        path.display()
    );
    // And it is YAML that means the same as the typed CRD.
    let reparsed: Value = serde_saphyr::from_str(&committed).expect("committed CRD parses");
    assert_eq!(reparsed, crd_json(), "YAML round trip changes the CRD");
}

#[test]
fn crd_names_scope_columns_and_subresources() {
    let crd = crd_json();
    let spec = &crd["spec"];
    assert_eq!(crd["metadata"]["name"], "signedchartreleases.signet.dev");
    assert_eq!(spec["group"], "signet.dev");
    assert_eq!(spec["scope"], "Namespaced");
    assert_eq!(spec["names"]["kind"], "SignedChartRelease");
    assert_eq!(spec["names"]["shortNames"], json!(["scr"]));
    let version = &spec["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert_eq!(version["served"], true);
    assert_eq!(version["storage"], true);
    assert_eq!(version["subresources"]["status"], json!({}));
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .expect("printer columns")
        .iter()
        .map(|c| c["name"].as_str().expect("column name"))
        .collect();
    assert_eq!(
        columns,
        ["Ready", "Status", "Version", "Signer", "Digest", "Age"]
    );
}
