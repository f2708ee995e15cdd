//! Labels and annotations added to every object, as kustomize's `labels` (without
//! `includeSelectors`) and `commonAnnotations`: `metadata` of every object and, for annotations
//! always and for labels with `includeTemplates`, the pod templates of the workload kinds (and,
//! for labels, a StatefulSet's volume claim templates): kustomize's built-in `commonAnnotations`
//! and `templateLabels` field specs. Missing maps on those paths are created.

use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

/// The template metadata paths of a workload kind (kustomize's `commonAnnotations` field specs,
/// which `labels` with `includeTemplates` also uses).
fn template_paths(group: &str, kind: &str) -> &'static [&'static [&'static str]] {
    match (group, kind) {
        (_, "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet")
        | ("", "ReplicationController")
        | ("batch", "Job") => &[&["spec", "template", "metadata"]],
        ("batch", "CronJob") => &[
            &["spec", "jobTemplate", "metadata"],
            &["spec", "jobTemplate", "spec", "template", "metadata"],
        ],
        _ => &[],
    }
}

/// Adds `pairs` under `field` (`labels` or `annotations`) of the object's metadata and, when
/// `templates`, of its pod templates. Returns whether anything changed.
pub fn add(
    object: &mut Json,
    group: &str,
    kind: &str,
    field: &str,
    pairs: &BTreeMap<String, String>,
    templates: bool,
) -> bool {
    if pairs.is_empty() {
        return false;
    }
    let mut changed = set_pairs(object, &["metadata"], field, pairs);
    if templates {
        for path in template_paths(group, kind) {
            changed |= set_pairs(object, path, field, pairs);
        }
        // kustomize's template label field specs also label a StatefulSet's volume claims.
        if field == "labels"
            && (group, kind) == ("apps", "StatefulSet")
            && let Some(Json::Array(claims)) = object
                .get_mut("spec")
                .and_then(|s| s.get_mut("volumeClaimTemplates"))
        {
            for claim in claims {
                changed |= set_pairs(claim, &["metadata"], field, pairs);
            }
        }
    }
    changed
}

fn set_pairs(
    object: &mut Json,
    path: &[&str],
    field: &str,
    pairs: &BTreeMap<String, String>,
) -> bool {
    let mut node = object;
    for key in path.iter().copied().chain([field]) {
        let Json::Object(map) = node else {
            // A scalar where a map belongs: leave the object to the API server's validation.
            return false;
        };
        let child = map.entry(key).or_insert_with(|| Json::Object(Map::new()));
        if child.is_null() {
            *child = Json::Object(Map::new());
        }
        node = child;
    }
    let Json::Object(map) = node else {
        return false;
    };
    let mut changed = false;
    for (k, v) in pairs {
        if map.get(k).and_then(Json::as_str) != Some(v) {
            map.insert(k.clone(), Json::String(v.clone()));
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cronjobs_get_both_templates_and_others_only_metadata() {
        let pairs: BTreeMap<String, String> = [("team".to_string(), "a".to_string())].into();
        let mut cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}});
        assert!(add(&mut cron, "batch", "CronJob", "labels", &pairs, true));
        assert_eq!(cron["metadata"]["labels"]["team"], "a");
        assert_eq!(
            cron["spec"]["jobTemplate"]["metadata"]["labels"]["team"],
            "a"
        );
        assert_eq!(
            cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]["team"],
            "a"
        );
        let mut cm = json!({"metadata": {"name": "c", "labels": {"team": "a"}}});
        assert!(!add(&mut cm, "", "ConfigMap", "labels", &pairs, true));
        let mut deploy = json!({"metadata": {"name": "d"}, "spec": {"template": {}}});
        assert!(add(
            &mut deploy,
            "apps",
            "Deployment",
            "annotations",
            &pairs,
            false
        ));
        assert!(deploy["spec"]["template"].get("metadata").is_none());
    }
}
