//! Step 7, render: a verified chart with the merged user values, in process with `signet-render`
//! exactly as `signet template` renders, plus what only a cluster has: `.Capabilities` from
//! discovery, `.Release.Revision`/`IsInstall`/`IsUpgrade` from the Helm history, and a live
//! `lookup`. It takes a [`VerifiedChart`], so rendering an unverified chart does not compile.
//! `spec.postRenderers` then transform the manifests (`crate::postrender`); what comes out is what
//! is applied and recorded. The render is CPU-bound and runs on the blocking pool.

use crate::api::PostRenderer;
use crate::api::conditions::reasons;
use crate::postrender::{PostRenderError, post_render};
use crate::render::chart::{LoadLimits, load_archive};
use crate::render::render::manifests::split_manifests;
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
    /// `spec.postRenderers`, applied to the rendered manifests (not to CRDs from `crds/`).
    pub post_renderers: Vec<PostRenderer>,
}

/// A rendered release, as documents ready for `apply`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// `(template path, document)` in Helm's install order. Hooks are not included.
    pub manifests: Vec<(String, String)>,
    /// The hooks: `(template path, document, events)`, in Helm's install order by kind.
    pub hooks: Vec<(String, String, Vec<String>)>,
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
        let manifests = std::mem::take(&mut rendered.manifests);
        rendered.manifests = post_render(manifests, &renderers, &opts.namespace)?;
        Ok(rendered)
    })
    .await
    .map_err(|e| RenderError::Cancelled(e.to_string()))?
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
    let manifests = rendered
        .sorted
        .manifests
        .iter()
        .filter(|m| !m.content.trim().is_empty())
        .map(|m| (m.path.clone(), m.content.clone()))
        .collect();
    let hooks = rendered
        .sorted
        .hooks
        .iter()
        .filter(|h| !h.content.trim().is_empty())
        .map(|h| (h.path.clone(), h.content.clone(), h.hook_events.clone()))
        .collect();
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
