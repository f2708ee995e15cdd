//! `helm install --dry-run` / `helm template` as one function: check the chart is installable and
//! its dependencies present, process dependencies, coalesce and validate values, check
//! `kubeVersion`, render, pull out NOTES, and sort manifests and hooks.

use std::collections::BTreeMap;
use std::sync::Arc;

use signet_gotemplate::Value;

use super::engine::{Engine, Lookup, NoCluster, RenderError};
use super::manifest_checker::render_and_classify;
use super::manifests::{
    ManifestError, SortedManifests, TemplateOutputOptions, assemble, classify_file, template_output,
};
use super::objects::{Capabilities, ReleaseInfo};
use crate::chart::Chart;
use crate::chart::dependencies::{
    DependencyError, ResolvedChart, check_dependencies, is_compatible_range, process_dependencies,
};

/// Everything about a render besides the chart and the user values.
#[derive(Clone)]
pub struct RenderOptions {
    pub release_name: String,
    pub namespace: String,
    pub revision: i64,
    pub is_upgrade: bool,
    /// `--kube-version`; Helm's default when `None`.
    pub kube_version: Option<String>,
    /// `--api-versions`, added to Helm's defaults.
    pub api_versions: Vec<String>,
    pub include_crds: bool,
    pub skip_tests: bool,
    pub disable_hooks: bool,
    /// `--show-only` globs over `templates/...` paths (without the chart name).
    pub show_only: Vec<String>,
    pub strict: bool,
    /// `helm lint`'s leniency: `required` and `fail` log instead of failing the render.
    pub lint_mode: bool,
    pub lookup: Arc<dyn Lookup>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            release_name: "release-name".into(),
            namespace: "default".into(),
            revision: 1,
            is_upgrade: false,
            kube_version: None,
            api_versions: Vec::new(),
            include_crds: false,
            skip_tests: false,
            disable_hooks: false,
            show_only: Vec::new(),
            strict: false,
            lint_mode: false,
            lookup: Arc::new(NoCluster),
        }
    }
}

/// Why a release could not be rendered; `Display` is what Helm prints after `Error: `.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TemplateError {
    #[error("{0} charts are not installable")]
    NotInstallable(String),
    #[error(transparent)]
    Dependencies(#[from] DependencyError),
    #[error("{0}")]
    Values(String),
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{0}"
    )]
    Schema(String),
    #[error(
        "chart requires kubeVersion: {required} which is incompatible with Kubernetes {actual}"
    )]
    KubeVersion { required: String, actual: String },
    #[error("{0}")]
    Capabilities(String),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{0}")]
    ShowOnly(String),
}

impl TemplateError {
    /// Whether `helm template` adds "Use --debug flag to render out invalid YAML" (errors after
    /// the release object exists: rendering and manifest parsing).
    pub fn has_debug_hint(&self) -> bool {
        matches!(
            self,
            TemplateError::Render(_)
                | TemplateError::Manifest(_)
                | TemplateError::KubeVersion { .. }
        )
    }
}

/// A rendered release.
#[derive(Debug, Clone)]
pub struct RenderedRelease {
    pub sorted: SortedManifests,
    /// The root chart's rendered `NOTES.txt`.
    pub notes: String,
    /// `(full path, content)` of every CRD file of the (enabled) chart tree.
    pub crds: Vec<(String, String)>,
    /// Rendered template files by full path (partials and NOTES excluded).
    pub files: BTreeMap<String, String>,
    /// Warnings Helm would log (value type conflicts, non-bool conditions).
    pub warnings: Vec<String>,
}

/// Renders `chart` with the merged user values (`-f`/`--set` already combined).
pub fn render_release(
    chart: &Chart,
    user_values: &Value,
    opts: &RenderOptions,
) -> Result<RenderedRelease, TemplateError> {
    if !matches!(chart.metadata.chart_type.as_str(), "" | "application") {
        return Err(TemplateError::NotInstallable(
            chart.metadata.chart_type.clone(),
        ));
    }
    check_dependencies(chart)?;
    let mut resolved = ResolvedChart::new(chart)?;
    let mut warnings = process_dependencies(&mut resolved, user_values)?;

    let tree = values_tree(&resolved).map_err(TemplateError::Schema)?;
    let (values, coalesce_warnings) = crate::values::coalesce_values(&tree, user_values)
        .map_err(|e| TemplateError::Values(e.to_string()))?;
    warnings.extend(coalesce_warnings);

    // Compiling and applying the schemas needs no template, so it runs on another core while the
    // templates parse. Its verdict is taken before anything after it can fail: a schema error
    // still wins, as in Helm, which validates first.
    let schema_checks = crate::values::prepare_schema_checks(&tree, &values);
    let (sorted, notes, files) = std::thread::scope(|scope| {
        let mut pending = Some(scope.spawn(move || schema_checks.run()));
        let mut schema_verdict = move || match pending.take() {
            None => Ok(()),
            Some(checks) => checks
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                .map_err(|e| TemplateError::Schema(e.report())),
        };
        let rendered = render_valid(chart, &resolved, values, opts, &mut schema_verdict);
        schema_verdict()?;
        rendered
    })?;
    let crds = collect_crds(&resolved, chart.name());
    Ok(RenderedRelease {
        sorted,
        notes,
        crds,
        files,
        warnings,
    })
}

/// What `render_release` does once values are final: check the Kubernetes version, render, sort.
/// `schema_verdict` is the (concurrent) schema validation's outcome, asked for before any error
/// here is returned.
fn render_valid(
    chart: &Chart,
    resolved: &ResolvedChart<'_>,
    values: Value,
    opts: &RenderOptions,
    schema_verdict: &mut dyn FnMut() -> Result<(), TemplateError>,
) -> Result<(SortedManifests, String, BTreeMap<String, String>), TemplateError> {
    let caps = Capabilities::new(opts.kube_version.as_deref(), &opts.api_versions)
        .map_err(TemplateError::Capabilities);
    let caps = match caps {
        Ok(caps) => caps,
        Err(e) => {
            schema_verdict()?;
            return Err(e);
        }
    };
    if !chart.metadata.kube_version.is_empty()
        && !is_compatible_range(&chart.metadata.kube_version, &caps.kube_version.version)
    {
        schema_verdict()?;
        return Err(TemplateError::KubeVersion {
            required: chart.metadata.kube_version.clone(),
            actual: caps.kube_version.version.clone(),
        });
    }

    let release = ReleaseInfo {
        name: opts.release_name.clone(),
        namespace: opts.namespace.clone(),
        revision: opts.revision,
        is_install: !opts.is_upgrade,
        is_upgrade: opts.is_upgrade,
    };
    let mut top = BTreeMap::new();
    top.insert("Values".to_string(), values);
    top.insert("Release".to_string(), release.to_value());
    top.insert(
        "Capabilities".to_string(),
        Value::Object(std::rc::Rc::new(caps)),
    );
    let engine = Engine {
        strict: opts.strict,
        lint_mode: opts.lint_mode,
        lookup: opts.lookup.clone(),
    };
    let top = Value::map(top);
    let (mut files, mut classified) = render_and_classify(|on_rendered| {
        engine.render_resolved_with(resolved, &top, schema_verdict, on_rendered)
    })?;

    let root_notes = format!("{}/templates/NOTES.txt", chart.name());
    let mut notes = String::new();
    files.retain(|name, text| {
        if !name.ends_with("NOTES.txt") {
            return true;
        }
        if *name == root_notes {
            notes.push_str(text);
        }
        false
    });
    let sorted = assemble(files.iter().map(|(path, content)| {
        classified
            .remove(path)
            .unwrap_or_else(|| classify_file(path, content))
    }))?;
    Ok((sorted, notes, files))
}

/// `helm template` stdout for a chart and merged user values.
pub fn template(
    chart: &Chart,
    user_values: &Value,
    opts: &RenderOptions,
) -> Result<String, TemplateError> {
    let rendered = render_release(chart, user_values, opts)?;
    let out = template_output(
        &rendered.sorted,
        &TemplateOutputOptions {
            include_crds: opts.include_crds,
            skip_tests: opts.skip_tests,
            disable_hooks: opts.disable_hooks,
            crds: &rendered.crds,
        },
    );
    if opts.show_only.is_empty() {
        Ok(out)
    } else {
        super::manifests::show_only(&out, &opts.show_only).map_err(TemplateError::ShowOnly)
    }
}

/// The values view of the resolved tree; an unreadable `values.schema.json` is reported like Helm
/// (under the schema error heading, naming the chart).
fn values_tree(chart: &ResolvedChart<'_>) -> Result<crate::values::ValuesTree, String> {
    let schema = match &chart.source.schema {
        None => None,
        Some(bytes) => Some(serde_json::from_slice(bytes).map_err(|e| {
            let message = if e.is_eof() {
                "unexpected EOF".to_string()
            } else {
                e.to_string()
            };
            format!("{}:\n{message}", chart.metadata.name)
        })?),
    };
    Ok(crate::values::ValuesTree {
        name: chart.metadata.name.clone(),
        defaults: chart.values.clone(),
        schema,
        subcharts: chart
            .dependencies
            .iter()
            .map(values_tree)
            .collect::<Result<_, _>>()?,
    })
}

fn collect_crds(chart: &ResolvedChart<'_>, full_path: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in &chart.source.files {
        let lower = f.name.to_ascii_lowercase();
        if f.name.starts_with("crds/")
            && [".yaml", ".yml", ".json"]
                .iter()
                .any(|e| lower.ends_with(e))
        {
            out.push((
                format!("{full_path}/{}", f.name),
                String::from_utf8_lossy(&f.data).into_owned(),
            ));
        }
    }
    for dep in &chart.dependencies {
        out.extend(collect_crds(
            dep,
            &format!("{full_path}/charts/{}", dep.name()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{LoadLimits, load_path};

    /// A chart whose values break its schema (`replicas` must be an integer), with `template` as
    /// its one template and `extra` lines in Chart.yaml.
    fn chart(template: &str, extra: &str) -> (tempfile::TempDir, Chart) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("templates")).unwrap();
        std::fs::write(
            root.join("Chart.yaml"),
            format!("apiVersion: v2\nname: c\nversion: 0.1.0\n{extra}"),
        )
        .unwrap();
        std::fs::write(root.join("values.yaml"), "replicas: many\n").unwrap();
        std::fs::write(
            root.join("values.schema.json"),
            r#"{"type":"object","properties":{"replicas":{"type":"integer"}}}"#,
        )
        .unwrap();
        std::fs::write(root.join("templates/cm.yaml"), template).unwrap();
        let chart = load_path(root, &LoadLimits::default()).unwrap();
        (dir, chart)
    }

    fn error(chart: &Chart, opts: &RenderOptions) -> TemplateError {
        render_release(chart, &Value::empty_map(), opts).unwrap_err()
    }

    #[test]
    fn a_schema_error_wins_over_later_failures_as_in_helm() {
        let opts = RenderOptions::default();
        // A valid template: the schema error alone.
        let (_d, c) = chart("kind: ConfigMap\n", "");
        assert!(matches!(error(&c, &opts), TemplateError::Schema(_)));
        // A template that does not parse.
        let (_d, c) = chart("{{ if }}", "");
        assert!(matches!(error(&c, &opts), TemplateError::Schema(_)));
        // A template that fails while executing, and one that renders invalid YAML.
        let (_d, c) = chart("{{ fail \"boom\" }}", "");
        assert!(matches!(error(&c, &opts), TemplateError::Schema(_)));
        let (_d, c) = chart("a: [", "");
        assert!(matches!(error(&c, &opts), TemplateError::Schema(_)));
        // An incompatible kubeVersion, and a bad --kube-version.
        let (_d, c) = chart("kind: ConfigMap\n", "kubeVersion: '<1.0.0'\n");
        assert!(matches!(error(&c, &opts), TemplateError::Schema(_)));
        let bad_kube = RenderOptions {
            kube_version: Some("banana".into()),
            ..RenderOptions::default()
        };
        let (_d, c) = chart("kind: ConfigMap\n", "");
        assert!(matches!(error(&c, &bad_kube), TemplateError::Schema(_)));
    }

    #[test]
    fn without_a_schema_error_the_later_failure_is_reported() {
        let (_d, mut c) = chart("{{ if }}", "");
        c.schema = None;
        assert!(matches!(
            render_release(&c, &Value::empty_map(), &RenderOptions::default()).unwrap_err(),
            TemplateError::Render(_)
        ));
    }
}
