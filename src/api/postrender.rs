//! `spec.postRenderers`: kustomize-style transformations of the rendered manifests and hooks
//! before apply, in the shape Flux's `HelmRelease.spec.postRenderers[].kustomize` users know —
//! `patches` (strategic-merge or JSON 6902, each with an optional target selector) and `images` —
//! plus kustomize's `labels` and `commonAnnotations`. The types and their rules live here;
//! applying them is `crate::postrender`'s job.

use super::validate::FieldError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most post-renderers a release may list.
pub const MAX_POST_RENDERERS: usize = 8;
/// Most patches (and image overrides, and label sets) one post-renderer may list.
pub const MAX_PATCHES: usize = 32;
/// Longest patch text, in characters.
pub const MAX_PATCH_LENGTH: usize = 16384;

/// Regular expression (RE2 and Rust `regex` alike) a patch without a target must match: a
/// strategic-merge patch naming its object with `apiVersion` and `kind` at its top level (a JSON 6902
/// patch is a list of operations and always needs a target). The post-renderer checks
/// `metadata.name` when it parses the patch.
pub const UNTARGETED_PATCH_PATTERN: &str = r#"(?m)^"?apiVersion"?\s*:"#;
/// The second half of the rule above: a top-level `kind`.
pub const UNTARGETED_PATCH_KIND_PATTERN: &str = r#"(?m)^"?kind"?\s*:"#;
/// An image tag, as the OCI distribution spec defines it.
pub const IMAGE_TAG_PATTERN: &str = r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$";
/// A content digest such as `sha256:` and 64 hex digits (any registered algorithm).
pub const IMAGE_DIGEST_PATTERN: &str = r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$";

/// One post-renderer. The post-renderers run in the order listed, each on the output of the
/// previous one; the result is what the controller applies and records in the Helm release.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostRenderer {
    /// Kustomize-style transformations, applied in kustomize's order: `patches` (in the order
    /// listed), then `labels`, then `commonAnnotations`, then `images`.
    pub kustomize: KustomizePostRenderer,
}

/// The kustomize subset a post-renderer supports, with kustomize's meaning for each field.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizePostRenderer {
    /// Strategic-merge or JSON 6902 patches, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), extend("x-kubernetes-list-type" = "atomic"))]
    pub patches: Vec<KustomizePatch>,
    /// Image overrides: each container image (in `containers` and `initContainers` lists of any
    /// object) whose name equals `name` gets the new name, tag or digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), extend("x-kubernetes-list-type" = "atomic"))]
    pub images: Vec<ImageOverride>,
    /// Labels added to every object's `metadata.labels` (and, with `includeTemplates`, to the pod
    /// templates of workloads). Selectors are never changed: they are immutable on Deployments,
    /// StatefulSets and DaemonSets, so kustomize's `includeSelectors` is not offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), extend("x-kubernetes-list-type" = "atomic"))]
    pub labels: Vec<LabelSet>,
    /// Annotations added to every object's `metadata.annotations` and to the pod templates of
    /// workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
    /// CronJob), replacing values of the same key, as kustomize's `commonAnnotations` does.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "annotations_schema")]
    pub common_annotations: BTreeMap<String, String>,
}

/// A patch and the objects it applies to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": format!(
            "has(self.target) || (self.patch.matches(r'{UNTARGETED_PATCH_PATTERN}') && self.patch.matches(r'{UNTARGETED_PATCH_KIND_PATTERN}'))"
        ),
        "message": "a patch without a target must be a strategic-merge patch that names its object (apiVersion, kind and metadata.name at its top level); a JSON 6902 patch always needs a target",
        "fieldPath": ".target"
    }
]))]
pub struct KustomizePatch {
    /// The patch, as YAML or JSON: either a strategic-merge patch (a partial object, with
    /// `$patch: delete` / `$patch: replace` directives; list items of built-in kinds merge by their
    /// key, e.g. containers and env by `name`) or a JSON 6902 patch (a list of `add`, `remove`,
    /// `replace`, `move`, `copy` and `test` operations).
    #[schemars(length(min = 1, max = 16384))]
    pub patch: String,
    /// The objects to patch. Without a target, a strategic-merge patch applies to the object its own
    /// apiVersion, kind, name and namespace name, which must exist; a patch without a namespace
    /// names an object in the release namespace or in none (kustomize would look in `default`). A
    /// target that selects nothing is not an error, as in kustomize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<PatchSelector>,
}

/// Selects objects as kustomize's patch `target` does: every field set must match. `group`,
/// `version`, `kind`, `name` and `namespace` are regular expressions matched against the whole value
/// (`name: app-.*`); an object without `metadata.namespace` counts as in the release namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatchSelector {
    /// API group, e.g. `apps` (the core group is the empty string, which matches every group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub group: Option<String>,
    /// API version without the group, e.g. `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub version: Option<String>,
    /// Kind, e.g. `Deployment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub kind: Option<String>,
    /// Object name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub name: Option<String>,
    /// Object namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub namespace: Option<String>,
    /// A Kubernetes label selector, e.g. `app.kubernetes.io/component=web,tier in (a,b),!legacy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub label_selector: Option<String>,
    /// The same syntax, matched against the object's annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub annotation_selector: Option<String>,
}

/// An image override, as kustomize's `images` entries.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.newName) || has(self.newTag) || has(self.digest)",
        "message": "an image override needs newName, newTag or digest"
    }
]))]
pub struct ImageOverride {
    /// The image name to match, without tag or digest, exactly as the manifests spell it (e.g.
    /// `ghcr.io/stefanprodan/podinfo`; `nginx` does not match `docker.io/nginx`).
    #[schemars(length(min = 1, max = 512))]
    pub name: String,
    /// Replaces the image name, keeping the tag or digest unless one is given below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub new_name: Option<String>,
    /// Replaces the tag, and drops a digest the image had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128), regex(pattern = IMAGE_TAG_PATTERN))]
    pub new_tag: Option<String>,
    /// Pins the image to this digest (`sha256:...`), dropping its tag unless `newTag` is set too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256), regex(pattern = IMAGE_DIGEST_PATTERN))]
    pub digest: Option<String>,
}

/// Labels to add, as a kustomize `labels` entry (without `includeSelectors`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSet {
    /// The labels, replacing values of the same key.
    #[schemars(schema_with = "labels_schema")]
    pub pairs: BTreeMap<String, String>,
    /// Also label the pod templates of workloads (`spec.template.metadata.labels` of Deployment,
    /// StatefulSet, DaemonSet, ReplicaSet, ReplicationController and Job; both templates of a
    /// CronJob) and a StatefulSet's volume claim templates. Changing a pod template rolls the
    /// workload out. Defaults to false.
    #[serde(default)]
    pub include_templates: bool,
}

/// A string-to-string map with its documentation on the map and on its values (the structural
/// schema rules want every node described).
fn string_map(description: &str, values: &str) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "description": description,
        "maxProperties": 64,
        "additionalProperties": {"type": "string", "description": values}
    })
}

fn annotations_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_map(
        "Annotations added to every object's `metadata.annotations` and to the pod templates of workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob), replacing values of the same key, as kustomize's `commonAnnotations` does.",
        "The annotation's value.",
    )
}

fn labels_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_map(
        "The labels, replacing values of the same key.",
        "The label's value.",
    )
}

/// The Rust mirror of the rules above for `spec.postRenderers`, each error naming its field.
pub fn validate(renderers: &[PostRenderer]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut fail = |field: String, message: String| errors.push(FieldError { field, message });
    if renderers.len() > MAX_POST_RENDERERS {
        fail(
            "spec.postRenderers".into(),
            format!(
                "must have at most {MAX_POST_RENDERERS} items, got {}",
                renderers.len()
            ),
        );
    }
    let untargeted = regex::Regex::new(UNTARGETED_PATCH_PATTERN).ok();
    let untargeted_kind = regex::Regex::new(UNTARGETED_PATCH_KIND_PATTERN).ok();
    let tag = regex::Regex::new(IMAGE_TAG_PATTERN).ok();
    let digest = regex::Regex::new(IMAGE_DIGEST_PATTERN).ok();
    let matches = |re: &Option<regex::Regex>, s: &str| re.as_ref().is_none_or(|re| re.is_match(s));
    for (i, r) in renderers.iter().enumerate() {
        let k = &r.kustomize;
        let base = format!("spec.postRenderers[{i}].kustomize");
        for (name, len) in [
            ("patches", k.patches.len()),
            ("images", k.images.len()),
            ("labels", k.labels.len()),
        ] {
            if len > MAX_PATCHES {
                fail(
                    format!("{base}.{name}"),
                    format!("must have at most {MAX_PATCHES} items, got {len}"),
                );
            }
        }
        for (j, p) in k.patches.iter().enumerate() {
            let field = format!("{base}.patches[{j}]");
            let len = p.patch.chars().count();
            if len == 0 || len > MAX_PATCH_LENGTH {
                fail(
                    format!("{field}.patch"),
                    format!("must be 1 to {MAX_PATCH_LENGTH} characters, got {len}"),
                );
            }
            if p.target.is_none()
                && !(matches(&untargeted, &p.patch) && matches(&untargeted_kind, &p.patch))
            {
                fail(
                    format!("{field}.target"),
                    "a patch without a target must be a strategic-merge patch that names its \
                     object (apiVersion, kind and metadata.name at its top level); a JSON 6902 \
                     patch always needs a target"
                        .into(),
                );
            }
            if let Some(t) = &p.target {
                for (name, value) in [
                    ("group", &t.group),
                    ("version", &t.version),
                    ("kind", &t.kind),
                    ("name", &t.name),
                    ("namespace", &t.namespace),
                ] {
                    if let Some(v) = value
                        && let Err(e) = regex::Regex::new(&format!("^(?:{v})$"))
                    {
                        fail(
                            format!("{field}.target.{name}"),
                            format!("{v:?} is not a valid regular expression: {e}"),
                        );
                    }
                }
            }
        }
        for (j, image) in k.images.iter().enumerate() {
            let field = format!("{base}.images[{j}]");
            if image.new_name.is_none() && image.new_tag.is_none() && image.digest.is_none() {
                fail(
                    field.clone(),
                    "an image override needs newName, newTag or digest".into(),
                );
            }
            if image.name.is_empty() {
                fail(format!("{field}.name"), "must not be empty".into());
            }
            if let Some(t) = &image.new_tag
                && !matches(&tag, t)
            {
                fail(
                    format!("{field}.newTag"),
                    format!("{t:?} is not an image tag"),
                );
            }
            if let Some(d) = &image.digest
                && !matches(&digest, d)
            {
                fail(
                    format!("{field}.digest"),
                    format!("{d:?} is not a digest such as sha256:<64 hex digits>"),
                );
            }
        }
    }
    errors
}
