//! Step 7, render: a verified chart with the merged user values, in process with `signet-render`
//! exactly as `signet template` renders, plus what only a cluster has: `.Capabilities` from
//! discovery, `.Release.Revision`/`IsInstall`/`IsUpgrade` from the Helm history, and a live
//! `lookup`. It takes a [`VerifiedChart`], so rendering an unverified chart does not compile.
//! `spec.postRenderers` then transform the manifests and hooks (`crate::postrender`), as Helm 4
//! post-renders them; what comes out is what is applied and recorded. The render is CPU-bound
//! and runs on the blocking pool.

use crate::api::PostRenderer;
use crate::api::conditions::reasons;
use crate::postrender::{PostRenderError, post_render};
use crate::render::chart::{LoadLimits, load_archive};
use crate::render::render::manifests::{SortedManifests, assemble, classify_file, split_manifests};
use crate::render::render::{Lookup, RenderOptions, render_release};
use crate::verify::VerifiedChart;
use signet_gotemplate::Value;
use std::sync::Arc;

/// What the cluster tells templates.
#[derive(Clone, Debug, Default)]
pub struct ClusterInfo {
    /// `.Capabilities.KubeVersion`, e.g. `v1.34.1`; Helm's default when `None`.
    pub kube_version: Option<String>,
    /// `.Capabilities.APIVersions`: served `group/version` and `group/version/Kind`.
    pub api_versions: Vec<String>,
}

/// `.Release` of this render.
#[derive(Clone, Debug)]
pub struct ReleaseInfo {
    pub name: String,
    pub namespace: String,
    pub revision: i64,
    pub is_upgrade: bool,
    /// `spec.postRenderers`, applied to the rendered manifests and hooks (not to CRDs from
    /// `crds/`).
    pub post_renderers: Vec<PostRenderer>,
}

/// A rendered hook: `(template path, document, events)`.
pub type HookDocument = (String, String, Vec<String>);

/// A rendered release, as documents ready for `apply`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// `(template path, document)` in Helm's install order. Hooks are not included.
    pub manifests: Vec<(String, String)>,
    /// The hooks: `(template path, document, events)`, in Helm's install order by kind.
    pub hooks: Vec<HookDocument>,
    /// `(crds/ file path, document)`, one document each.
    pub crds: Vec<(String, String)>,
    pub notes: String,
    /// `Chart.yaml` as JSON, for the Helm release record.
    pub chart_metadata: serde_json::Value,
    pub warnings: Vec<String>,
}

/// Why the chart could not be rendered (values failing the schema, `required`, template errors).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot load the chart archive: {0}")]
    Load(String),
    #[error("{0}")]
    Template(String),
    #[error("the render was cancelled: {0}")]
    Cancelled(String),
    #[error("{0}")]
    PostRender(#[from] PostRenderError),
}

impl RenderError {
    pub fn reason(&self) -> &'static str {
        reasons::RENDER_FAILED
    }
}

/// Renders `chart` for the cluster.
pub async fn render(
    chart: &VerifiedChart,
    values: &serde_json::Value,
    release: &ReleaseInfo,
    cluster: &ClusterInfo,
    lookup: Arc<dyn Lookup>,
) -> Result<Rendered, RenderError> {
    let archive = chart.chart_tgz().to_owned();
    let values = values.clone();
    let opts = RenderOptions {
        release_name: release.name.clone(),
        namespace: release.namespace.clone(),
        revision: release.revision,
        is_upgrade: release.is_upgrade,
        kube_version: cluster.kube_version.clone(),
        api_versions: cluster.api_versions.clone(),
        lookup,
        // The release's CRD policy decides what becomes of them.
        include_crds: true,
        ..RenderOptions::default()
    };
    let renderers = release.post_renderers.clone();
    tokio::task::spawn_blocking(move || {
        let mut rendered = render_blocking(&archive, &values, &opts)?;
        post_render_release(&mut rendered, &renderers, &opts.namespace)?;
        Ok(rendered)
    })
    .await
    .map_err(|e| RenderError::Cancelled(e.to_string()))?
}

/// Applies `renderers` to the manifests and the hooks together, as Helm 4 post-renders a
/// release's whole output (Helm 3, and so Flux's helm-controller, skipped hooks: an image
/// override missed the hook Jobs). What comes out is sorted again, as Helm sorts it after
/// post-rendering: a patch may add, change or drop a hook annotation, or delete a document.
fn post_render_release(
    rendered: &mut Rendered,
    renderers: &[PostRenderer],
    namespace: &str,
) -> Result<(), PostRenderError> {
    if renderers.is_empty() {
        return Ok(());
    }
    let mut docs = std::mem::take(&mut rendered.manifests);
    docs.extend(
        std::mem::take(&mut rendered.hooks)
            .into_iter()
            .map(|(path, doc, _events)| (path, doc)),
    );
    let docs = post_render(docs, renderers, namespace)?;
    let sorted =
        assemble(docs.iter().map(|(path, doc)| classify_file(path, doc))).map_err(|e| {
            PostRenderError::Manifest {
                template: e.path.clone(),
                message: e.message.clone(),
            }
        })?;
    (rendered.manifests, rendered.hooks) = split_sorted(&sorted);
    Ok(())
}

/// The sorted manifests as `(template path, document)` and the hooks with their events, empty
/// documents left out.
fn split_sorted(sorted: &SortedManifests) -> (Vec<(String, String)>, Vec<HookDocument>) {
    let manifests = sorted
        .manifests
        .iter()
        .filter(|m| !m.content.trim().is_empty())
        .map(|m| (m.path.clone(), m.content.clone()))
        .collect();
    let hooks = sorted
        .hooks
        .iter()
        .filter(|h| !h.content.trim().is_empty())
        .map(|h| (h.path.clone(), h.content.clone(), h.hook_events.clone()))
        .collect();
    (manifests, hooks)
}

fn render_blocking(
    archive: &[u8],
    values: &serde_json::Value,
    opts: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let loaded = load_archive(archive, &LoadLimits::default())
        .map_err(|e| RenderError::Load(e.to_string()))?;
    let user = Value::from_json(values);
    let rendered =
        render_release(&loaded, &user, opts).map_err(|e| RenderError::Template(e.to_string()))?;
    let (manifests, hooks) = split_sorted(&rendered.sorted);
    let crds = rendered
        .crds
        .iter()
        .flat_map(|(path, text)| {
            split_manifests(text)
                .into_iter()
                .map(move |doc| (path.clone(), doc))
        })
        .collect();
    Ok(Rendered {
        manifests,
        hooks,
        crds,
        notes: rendered.notes,
        chart_metadata: serde_json::to_value(&loaded.metadata).unwrap_or_default(),
        warnings: rendered.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(manifests: &[(&str, &str)], hooks: &[(&str, &str, &str)]) -> Rendered {
        Rendered {
            manifests: manifests
                .iter()
                .map(|(path, doc)| (path.to_string(), doc.to_string()))
                .collect(),
            hooks: hooks
                .iter()
                .map(|(path, doc, event)| {
                    (path.to_string(), doc.to_string(), vec![event.to_string()])
                })
                .collect(),
            crds: Vec::new(),
            notes: String::new(),
            chart_metadata: serde_json::Value::Null,
            warnings: Vec::new(),
        }
    }

    fn renderers(kustomize: serde_json::Value) -> Vec<PostRenderer> {
        vec![serde_json::from_value(serde_json::json!({ "kustomize": kustomize })).unwrap()]
    }

    const JOB: &str = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-upgrade\nspec:\n  template:\n    spec:\n      containers:\n      - name: migrate\n        image: example.invalid/app:1\n";
    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: example.invalid/app:1\n";

    #[test]
    fn hooks_are_post_rendered_with_the_manifests() {
        let mut release = rendered(
            &[("c/templates/app.yaml", DEPLOYMENT)],
            &[("c/templates/migrate.yaml", JOB, "pre-upgrade")],
        );
        let renderers = renderers(serde_json::json!({
            "images": [{"name": "example.invalid/app", "newName": "mirror.invalid/app"}],
            "labels": [{"pairs": {"team": "storefront"}}],
        }));
        post_render_release(&mut release, &renderers, "default").unwrap();
        assert_eq!(release.manifests.len(), 1);
        assert_eq!(release.manifests[0].0, "c/templates/app.yaml");
        assert!(release.manifests[0].1.contains("mirror.invalid/app:1"));
        assert_eq!(release.hooks.len(), 1);
        let (path, doc, events) = &release.hooks[0];
        assert_eq!(path, "c/templates/migrate.yaml");
        assert!(doc.contains("image: mirror.invalid/app:1"), "{doc}");
        assert!(doc.contains("team: storefront"), "{doc}");
        assert_eq!(events, &["pre-upgrade"]);
    }

    #[test]
    fn a_patch_that_changes_hook_annotations_moves_the_document() {
        let mut release = rendered(
            &[("c/templates/app.yaml", DEPLOYMENT)],
            &[("c/templates/migrate.yaml", JOB, "pre-upgrade")],
        );
        // The Deployment becomes a post-install hook; the Job loses its hook annotation.
        let renderers = renderers(serde_json::json!({
            "patches": [
                {
                    "target": {"kind": "Deployment"},
                    "patch": "- op: add\n  path: /metadata/annotations\n  value: {helm.sh/hook: post-install}\n"
                },
                {
                    "target": {"kind": "Job"},
                    "patch": "- op: remove\n  path: /metadata/annotations\n"
                }
            ]
        }));
        post_render_release(&mut release, &renderers, "default").unwrap();
        let manifests: Vec<&str> = release.manifests.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(manifests, ["c/templates/migrate.yaml"]);
        let hooks: Vec<(&str, &[String])> = release
            .hooks
            .iter()
            .map(|(p, _, events)| (p.as_str(), events.as_slice()))
            .collect();
        assert_eq!(
            hooks,
            [("c/templates/app.yaml", &["post-install".to_string()][..])]
        );
    }

    #[test]
    fn without_post_renderers_nothing_is_sorted_again() {
        let mut release = rendered(
            &[("c/templates/app.yaml", DEPLOYMENT)],
            &[("c/templates/migrate.yaml", JOB, "pre-upgrade")],
        );
        let before = release.clone();
        post_render_release(&mut release, &[], "default").unwrap();
        assert_eq!(release, before);
    }
}
