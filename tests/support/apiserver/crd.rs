//! CustomResourceDefinitions: a stored CRD's served versions become kinds (discovery, routing)
//! and it gets its Established condition — at once, or after the configured delay; a removed
//! CRD takes its kinds and objects with it.

use serde_json::{Value, json};

use super::discovery::KindSpec;
use super::store::{ObjKey, State};
use super::verbs::now;

/// After a CRD is stored: its served versions become kinds, and it is Established — now, or
/// after the configured delay.
pub fn crd_written(state: &mut State, crd: &Value) {
    let name = crd["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !crd["metadata"]["deletionTimestamp"].is_null() {
        return;
    }
    let established = crd["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    });
    if established || state.crd_delay.is_zero() {
        establish(state, &name);
        return;
    }
    let delay = state.crd_delay;
    let weak = state.this.clone();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        if let Some(shared) = weak.upgrade() {
            establish(&mut shared.lock(), &name);
        }
    });
}

fn crd_key(name: &str) -> ObjKey {
    ObjKey {
        group: "apiextensions.k8s.io".into(),
        plural: "customresourcedefinitions".into(),
        namespace: String::new(),
        name: name.into(),
    }
}

fn establish(state: &mut State, name: &str) {
    let key = crd_key(name);
    let Some(crd) = state.objects.get(&key).cloned() else {
        return;
    };
    state.kinds.unregister_crd(name);
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let names = &spec["names"];
    let mut storage = vec![];
    for v in spec["versions"].as_array().cloned().unwrap_or_default() {
        let version = v["name"].as_str().unwrap_or_default();
        if v["storage"] == true {
            storage.push(json!(version));
        }
        if v["served"] == false {
            continue;
        }
        let kind_name = names["kind"].as_str().unwrap_or_default();
        let mut kind = KindSpec::new(
            &format!("{group}/{version}"),
            kind_name,
            names["plural"].as_str().unwrap_or_default(),
            spec["scope"] != "Cluster",
        );
        kind.singular = names["singular"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| kind_name.to_ascii_lowercase());
        kind.status = !v["subresources"]["status"].is_null();
        kind.short_names = names["shortNames"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        kind.schema = v["schema"].get("openAPIV3Schema").cloned();
        kind.crd = Some(name.to_string());
        state.kinds.register(kind);
    }
    let mut accepted = names.clone();
    if accepted["singular"].is_null() {
        accepted["singular"] = json!(
            names["kind"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase()
        );
    }
    if accepted["listKind"].is_null() {
        accepted["listKind"] = json!(format!(
            "{}List",
            names["kind"].as_str().unwrap_or_default()
        ));
    }
    let t = now();
    let status = json!({
        "acceptedNames": accepted,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": t, "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": t, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
        ],
        "storedVersions": storage,
    });
    let already = crd["status"]["acceptedNames"] == status["acceptedNames"]
        && crd["status"]["storedVersions"] == status["storedVersions"]
        && crd["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.len() == 2);
    if !already {
        let mut new = crd;
        new["status"] = status;
        state.write(&key, Some(new));
    }
}

/// After a CRD is removed: its kinds and every object of them go.
pub fn crd_deleted(state: &mut State, crd: &Value) {
    let name = crd["metadata"]["name"].as_str().unwrap_or_default();
    state.kinds.unregister_crd(name);
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
    let keys: Vec<ObjKey> = state
        .objects
        .keys()
        .filter(|k| k.group == group && k.plural == plural)
        .cloned()
        .collect();
    for key in keys {
        state.write(&key, None);
    }
}
