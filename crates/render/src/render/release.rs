//! `helm install --dry-run` / `helm template` as one function: check the chart is installable and
//! its dependencies present, process dependencies, coalesce and validate values, check
//! `kubeVersion`, render, pull out NOTES, and sort manifests and hooks.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::thread::ScopedJoinHandle;

use signet_gotemplate::{Template, Value};

use super::engine::{Engine, Lookup, NoCluster, RenderError};
use super::manifest_checker::render_and_classify;
use super::manifests::{
    ManifestError, SortedManifests, TemplateOutputOptions, assemble, classify_file, template_output,
};
use super::objects::{Capabilities, ReleaseInfo};
use super::parse_ahead::ParseAhead;
use crate::chart::Chart;
use crate::chart::dependencies::{
    DependencyError, ResolvedChart, check_dependencies, is_compatible_range, process_dependencies,
};
use crate::values::CompiledSchemas;

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
    /// Collect the chart tree's CRD files into [`RenderedRelease::crds`] (and print them, in
    /// [`template_stdout`]): `--include-crds`, or a caller that installs them.
    pub include_crds: bool,
    pub skip_tests: bool,
    pub disable_hooks: bool,
    /// `--show-only` globs over `templates/...` paths (without the chart name).
    pub show_only: Vec<String>,
    pub strict: bool,
    /// `helm lint`'s leniency: `required` and `fail` log instead of failing the render.
    pub lint_mode: bool,
    pub lookup: Arc<dyn Lookup>,
    /// For a process that exits right after the render (`signet template`): the parse trees and
    /// value trees are left for the OS to reclaim instead of being freed one node at a time,
    /// which costs a big chart milliseconds. Never set in a long-running process: it leaks.
    pub skip_teardown: bool,
    /// Certificate generators that find no RSA prime ready race a search on every idle core
    /// (see `Template::race_certificate_keys`): for a process that only waits for this render.
    /// A controller rendering many releases keeps the CPU instead.
    pub race_key_generation: bool,
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
            skip_teardown: false,
            race_key_generation: false,
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
    /// A chart file read when a template first asked for it, and the read failed (the path and
    /// the system's reason: a file removed or made unreadable since the chart was loaded).
    #[error("reading chart file {0}")]
    ChartFile(String),
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
    /// `(full path, content)` of every CRD file of the (enabled) chart tree, when
    /// [`RenderOptions::include_crds`]; empty otherwise.
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
    // With a spare core, the templates parse there while this thread prepares the values.
    let parse_ahead = super::spare_cores() > 0;
    render_release_with(chart, user_values, opts, parse_ahead)
}

/// [`render_release`], parsing the templates ahead on another thread or not (same outcome).
fn render_release_with(
    chart: &Chart,
    user_values: &Value,
    opts: &RenderOptions,
    parse_ahead: bool,
) -> Result<RenderedRelease, TemplateError> {
    if !matches!(chart.metadata.chart_type.as_str(), "" | "application") {
        return Err(TemplateError::NotInstallable(
            chart.metadata.chart_type.clone(),
        ));
    }
    let engine = Engine {
        strict: opts.strict,
        lint_mode: opts.lint_mode,
        lookup: opts.lookup.clone(),
        skip_teardown: opts.skip_teardown,
        race_key_generation: opts.race_key_generation,
    };
    let set = engine.new_set();
    let ahead = parse_ahead.then(|| ParseAhead::new(chart, set.parse_env()));
    let schemas = chart.schemas();
    // The charts the values leave enabled, once the render knows them: the threads working
    // ahead skip the others' templates and schemas (the render never asks for them).
    let enabled: OnceLock<Vec<&Chart>> = OnceLock::new();
    let enabled = &enabled;
    let rendered = std::thread::scope(|scope| {
        // Parsing templates and compiling schemas need no values, so both start now, beside
        // the values work. With one spare core they share one thread, the parse first (the
        // render waits for it), then the schemas (nothing waits for them until the templates
        // have run): a thread of its own for the schemas, started while the parse held the other
        // core, took this thread's core for a whole time slice (about 3 ms of a 10 ms render).
        let ahead = ahead.as_ref();
        let (ahead_alone, ahead_first) = match ahead {
            Some(ahead) if super::spare_cores() >= 2 => (Some(ahead), None),
            ahead => (None, ahead),
        };
        if let Some(ahead) = ahead_alone {
            scope.spawn(|| ahead.run(enabled));
        }
        let compiling = (ahead_first.is_some() || !schemas.is_empty()).then(|| {
            scope.spawn(move || {
                if let Some(ahead) = ahead_first {
                    ahead.run(enabled);
                }
                CompiledSchemas::compile_ahead(schemas, |text| {
                    enabled.get().is_none_or(|enabled| {
                        enabled
                            .iter()
                            .any(|c| c.schema.as_deref().is_some_and(|s| std::ptr::eq(s, text)))
                    })
                })
            })
        });
        let parsing = Parsing {
            engine: &engine,
            set,
            ahead,
        };
        let rendered = prepare_and_render(chart, user_values, opts, parsing, compiling, enabled);
        // Whatever happened, the render asks for no more files.
        if let Some(ahead) = ahead {
            ahead.stop();
        }
        rendered
    })?;
    if opts.skip_teardown {
        // Files parsed ahead that the release did not use (disabled subcharts).
        std::mem::forget(ahead);
    }
    match chart.failed_read() {
        Some(error) => Err(TemplateError::ChartFile(error)),
        None => Ok(rendered),
    }
}

/// Dependencies, values, schema checks, then the render (see [`render_valid`]). Once the
/// dependencies are processed, `enabled` gets the charts left enabled.
fn prepare_and_render<'c>(
    chart: &'c Chart,
    user_values: &Value,
    opts: &RenderOptions,
    parsing: Parsing<'_, '_>,
    compiling: Option<ScopedJoinHandle<'_, CompiledSchemas<'c>>>,
    enabled: &OnceLock<Vec<&'c Chart>>,
) -> Result<RenderedRelease, TemplateError> {
    check_dependencies(chart)?;
    let mut resolved = ResolvedChart::new(chart)?;
    let mut warnings = process_dependencies(&mut resolved, user_values)?;

    let _ = enabled.set(resolved.sources());
    let tree = values_tree(&resolved);
    let (values, coalesce_warnings) = crate::values::coalesce_values(&tree, user_values)
        .map_err(|e| TemplateError::Values(e.to_string()))?;
    warnings.extend(coalesce_warnings);

    // Applying the schemas needs no template, so it runs on another core while the templates
    // parse and execute. Its verdict is taken before any later error or the rendered release is
    // returned: a schema error still wins, as in Helm, which validates first.
    let schema_checks = crate::values::prepare_schema_checks(&tree, &values);
    let skip_teardown = opts.skip_teardown;
    let (sorted, notes, files) = std::thread::scope(|scope| {
        // Most charts have no schema: no thread for them.
        let mut pending = (!schema_checks.is_empty()).then(|| {
            scope.spawn(move || {
                super::lower_thread_priority();
                let mut compiled = match compiling {
                    Some(compiling) => compiling
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    None => CompiledSchemas::default(),
                };
                let verdict = schema_checks.run_with(&mut compiled);
                if skip_teardown {
                    std::mem::forget(compiled);
                    std::mem::forget(schema_checks);
                }
                verdict
            })
        });
        let mut schema_verdict = move || match pending.take() {
            None => Ok(()),
            Some(checks) => checks
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                .map_err(|e| TemplateError::Schema(e.report())),
        };
        let rendered = render_valid(chart, &resolved, values, opts, parsing, &mut schema_verdict);
        schema_verdict()?;
        rendered
    })?;
    let crds = if opts.include_crds {
        collect_crds(&resolved, chart.name())
    } else {
        Vec::new()
    };
    if opts.skip_teardown {
        std::mem::forget(resolved);
        std::mem::forget(tree);
    }
    Ok(RenderedRelease {
        sorted,
        notes,
        crds,
        files,
        warnings,
    })
}

/// The engine, the set its templates go into, and what was parsed ahead for that set.
struct Parsing<'e, 'c> {
    engine: &'e Engine,
    set: Template,
    ahead: Option<&'e ParseAhead<'c>>,
}

/// What `render_release` does once values are final: check the Kubernetes version, render, sort.
/// `schema_verdict` is the (concurrent) schema validation's outcome, asked for before any error
/// here is returned.
fn render_valid(
    chart: &Chart,
    resolved: &ResolvedChart<'_>,
    values: Value,
    opts: &RenderOptions,
    parsing: Parsing<'_, '_>,
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
    let top = Value::map(top);
    let Parsing { engine, set, ahead } = parsing;
    let (mut files, mut classified) = render_and_classify(|on_rendered| {
        engine.render_resolved_ahead(resolved, &top, set, ahead, schema_verdict, on_rendered)
    })?;
    if opts.skip_teardown {
        std::mem::forget(top);
    }

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
    }))
    .map_err(|mut e| {
        e.rendered = std::mem::take(&mut files);
        e
    })?;
    Ok((sorted, notes, files))
}

/// `helm template` stdout for a chart and merged user values.
pub fn template(
    chart: &Chart,
    user_values: &Value,
    opts: &RenderOptions,
) -> Result<String, TemplateError> {
    template_stdout(&render_release(chart, user_values, opts)?, opts)
}

/// `helm template` stdout for a rendered release: its manifests (CRDs, tests and hooks as `opts`
/// says), narrowed to `opts.show_only` when given.
pub fn template_stdout(
    rendered: &RenderedRelease,
    opts: &RenderOptions,
) -> Result<String, TemplateError> {
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

/// The values view of the resolved tree. Schemas stay text here: they are parsed with the schema
/// checks, off the thread that prepares the render (an unreadable one is reported there, like
/// Helm, under the schema error heading and naming the chart).
fn values_tree(chart: &ResolvedChart<'_>) -> crate::values::ValuesTree {
    crate::values::ValuesTree {
        name: chart.metadata.name.clone(),
        defaults: chart.values.clone(),
        schema: chart.source.schema.clone(),
        subcharts: chart.dependencies.iter().map(values_tree).collect(),
    }
}

/// `(full path, text)` of the CRD files (`crds/`) of the enabled chart tree, parents first, as
/// Helm's `CRDObjects`. A directory load leaves them unread: they are read here, and a file that
/// cannot be read is left out, its error kept for the render to report (`Chart::failed_read`).
fn collect_crds(chart: &ResolvedChart<'_>, full_path: &str) -> Vec<(String, String)> {
    let is_crd = |name: &str| name.starts_with("crds/") && crate::chart::is_yaml_or_json(name);
    let read = chart
        .source
        .files
        .iter()
        .filter(|f| is_crd(&f.name))
        .map(|f| (f.name.as_str(), &f.data[..]));
    let unread = chart
        .source
        .unread_files
        .iter()
        .filter(|f| is_crd(&f.name))
        .filter_map(|f| Some((f.name.as_str(), f.bytes().ok()?)));
    let mut out: Vec<(String, String)> = read
        .chain(unread)
        .map(|(name, data)| {
            (
                format!("{full_path}/{name}"),
                String::from_utf8_lossy(data).into_owned(),
            )
        })
        .collect();
    for dep in &chart.dependencies {
        out.extend(collect_crds(
            dep,
            &format!("{full_path}/charts/{}", dep.name()),
        ));
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::chart::{ChartFile, LoadLimits, load_path};

    /// A chart whose values break its schema (`replicas` must be an integer), with `template` as
    /// its one template and `extra` lines in Chart.yaml.
    fn chart(template: &str, extra: &str) -> (tempfile::TempDir, Chart) {
        chart_tree(&[
            (
                "Chart.yaml",
                &format!("apiVersion: v2\nname: c\nversion: 0.1.0\n{extra}"),
            ),
            ("values.yaml", "replicas: many\n"),
            (
                "values.schema.json",
                r#"{"type":"object","properties":{"replicas":{"type":"integer"}}}"#,
            ),
            ("templates/cm.yaml", template),
        ])
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

    /// Only an enabled chart's schema is checked (whether or not it was compiled ahead): a
    /// disabled subchart's unusable schema does not fail the release, an enabled one's does.
    #[test]
    fn a_disabled_subcharts_schema_is_never_reported() {
        let (_dir, chart) = chart_tree(&[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: c\nversion: 0.1.0\ndependencies:\n\
                 - name: sub\n  version: 1.0.0\n  condition: sub.enabled\n",
            ),
            ("values.yaml", "sub:\n  enabled: false\n"),
            (
                "values.schema.json",
                r#"{"properties":{"sub":{"type":"object"}}}"#,
            ),
            ("templates/a.yaml", "a: 1\n"),
            (
                "charts/sub/Chart.yaml",
                "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
            ),
            ("charts/sub/values.schema.json", r#"{"type": 5}"#),
            ("charts/sub/templates/b.yaml", "b: 1\n"),
        ]);
        assert_eq!(chart.schemas().len(), 2);
        let opts = RenderOptions::default();
        let disabled = template(&chart, &Value::empty_map(), &opts).unwrap();
        assert!(
            disabled.contains("a: 1") && !disabled.contains("b: 1"),
            "{disabled}"
        );
        let enabled = Value::from_json(&serde_json::json!({"sub": {"enabled": true}}));
        let error = template(&chart, &enabled, &opts).unwrap_err().to_string();
        assert!(
            error.contains("sub:\n\"file:///values.schema.json#\" is not valid against metaschema"),
            "{error}"
        );
    }

    #[test]
    fn crd_files_are_read_only_for_renders_that_include_them() {
        let (dir, chart) = chart_tree(&[
            ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
            ("crds/a.yaml", "kind: CustomResourceDefinition\n"),
            ("crds/notes.txt", "not a CRD"),
            ("templates/cm.yaml", "kind: ConfigMap\n"),
            (
                "charts/sub/Chart.yaml",
                "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
            ),
            (
                "charts/sub/crds/b.json",
                "{\"kind\": \"CustomResourceDefinition\"}",
            ),
        ]);
        let render = |include_crds| {
            let opts = RenderOptions {
                include_crds,
                ..RenderOptions::default()
            };
            render_release(&chart, &Value::empty_map(), &opts)
        };
        assert!(render(false).unwrap().crds.is_empty());
        let crds = render(true).unwrap().crds;
        assert_eq!(
            crds,
            [
                (
                    "c/crds/a.yaml".to_string(),
                    "kind: CustomResourceDefinition\n".to_string()
                ),
                (
                    "c/charts/sub/crds/b.json".to_string(),
                    "{\"kind\": \"CustomResourceDefinition\"}".to_string()
                ),
            ]
        );

        // A CRD file gone since the load fails only a render that reads it, naming the file.
        let (dir2, chart2) = chart_tree(&[
            ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
            ("crds/a.yaml", "kind: CustomResourceDefinition\n"),
            ("templates/cm.yaml", "kind: ConfigMap\n"),
        ]);
        std::fs::remove_file(dir2.path().join("crds/a.yaml")).unwrap();
        let opts = |include_crds| RenderOptions {
            include_crds,
            ..RenderOptions::default()
        };
        assert!(render_release(&chart2, &Value::empty_map(), &opts(false)).is_ok());
        let error = render_release(&chart2, &Value::empty_map(), &opts(true))
            .unwrap_err()
            .to_string();
        assert!(error.contains("crds/a.yaml"), "{error}");
        drop(dir);
    }

    #[test]
    fn files_read_on_demand_render_as_files_read_up_front() {
        let (_dir, chart) = chart_tree(&[
            ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
            ("conf/a.txt", "alpha"),
            ("conf/b.txt", "beta"),
            (
                "templates/cm.yaml",
                "kind: ConfigMap\ndata:\n  a: {{ .Files.Get \"conf/a.txt\" | quote }}\n\
                 {{- (.Files.Glob \"conf/*\").AsConfig | nindent 2 }}\n\
                 {{- range $k, $v := .Files }}\n  {{ base $k }}-len: \"{{ len $v }}\"{{ end }}\n",
            ),
        ]);
        assert_eq!(chart.unread_files.len(), 2);
        let mut read_up_front = chart.clone();
        for f in std::mem::take(&mut read_up_front.unread_files) {
            let data = f.bytes().unwrap().to_vec();
            read_up_front.files.push(ChartFile { name: f.name, data });
        }
        let opts = RenderOptions::default();
        let on_demand = template(&chart, &Value::empty_map(), &opts).unwrap();
        assert!(on_demand.contains("b.txt: beta"), "{on_demand}");
        assert!(on_demand.contains("a.txt-len: \"5\""), "{on_demand}");
        let up_front = template(&read_up_front, &Value::empty_map(), &opts).unwrap();
        assert_eq!(on_demand, up_front);
    }

    #[test]
    fn a_file_that_cannot_be_read_when_asked_for_fails_the_render() {
        let chart_with = |template: &str| {
            chart_tree(&[
                ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
                ("conf/gone.txt", "x"),
                ("templates/cm.yaml", template),
            ])
        };
        let opts = RenderOptions::default();
        // Where `.Files` returns errors, the template's error names the file.
        let (dir, chart) = chart_with("a: {{ .Files.Get \"conf/gone.txt\" }}\n");
        std::fs::remove_file(dir.path().join("conf/gone.txt")).unwrap();
        let err = error(&chart, &opts);
        assert!(matches!(err, TemplateError::Render(_)), "{err:?}");
        assert!(err.to_string().contains("conf/gone.txt"), "{err}");
        // Where it cannot (a field), the render still fails once it is over.
        let (dir, chart) = chart_with("{{ .Files.AsConfig }}\n");
        std::fs::remove_file(dir.path().join("conf/gone.txt")).unwrap();
        let err = error(&chart, &opts);
        assert!(matches!(err, TemplateError::ChartFile(_)), "{err:?}");
        assert!(err.to_string().contains("conf/gone.txt"), "{err}");
        assert!(err.to_string().starts_with("reading chart file "), "{err}");
    }

    /// A chart tree from `(path, content)` pairs (the render module's tests share it).
    pub(in crate::render) fn chart_tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Chart) {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        let chart = load_path(dir.path(), &LoadLimits::default()).unwrap();
        (dir, chart)
    }

    /// What a render produced, or its error, in comparable form.
    fn outcome(chart: &Chart, values: &str, parse_ahead: bool) -> Result<String, String> {
        let values = Value::from_json(&serde_json::from_str(values).unwrap());
        render_release_with(chart, &values, &RenderOptions::default(), parse_ahead)
            .map(|r| {
                format!(
                    "{:?}\n{:?}\n{}\n{:?}\n{:?}",
                    r.files, r.sorted, r.notes, r.crds, r.warnings
                )
            })
            .map_err(|e| e.to_string())
    }

    const SUB: &str = "apiVersion: v2\nname: sub\nversion: 1.0.0\n";

    /// A parent with the same subchart twice under aliases, a library chart, and a subchart
    /// whose broken template only matters when it is enabled.
    fn tree_with_aliases_and_a_broken_subchart() -> (tempfile::TempDir, Chart) {
        chart_tree(&[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n\
                 - name: sub\n  version: 1.x\n  alias: first\n\
                 - name: sub\n  version: 1.x\n  alias: second\n\
                 - name: broken\n  version: 1.x\n  condition: broken.enabled\n\
                 - name: lib\n  version: 1.x\n",
            ),
            (
                "values.yaml",
                "broken:\n  enabled: false\nsecond:\n  size: 2\n",
            ),
            (
                "templates/cm.yaml",
                "kind: ConfigMap\nmetadata:\n  name: {{ include \"lib.name\" . }}\n",
            ),
            ("templates/NOTES.txt", "notes for {{ .Release.Name }}"),
            ("charts/sub/Chart.yaml", SUB),
            ("charts/sub/values.yaml", "size: 1\n"),
            (
                "charts/sub/templates/_helpers.tpl",
                "{{ define \"sub.size\" }}{{ .Values.size }}{{ end }}",
            ),
            (
                "charts/sub/templates/cm.yaml",
                "kind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}\ndata:\n  size: \"{{ include \"sub.size\" . }}\"\n",
            ),
            (
                "charts/broken/Chart.yaml",
                "apiVersion: v2\nname: broken\nversion: 1.0.0\n",
            ),
            ("charts/broken/templates/bad.yaml", "{{ if }}"),
            (
                "charts/lib/Chart.yaml",
                "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n",
            ),
            (
                "charts/lib/templates/_names.tpl",
                "{{ define \"lib.name\" }}{{ .Chart.Name }}-cm{{ end }}",
            ),
            ("charts/lib/templates/skipped.yaml", "{{ if }}"),
        ])
    }

    #[test]
    fn parsing_ahead_renders_exactly_as_parsing_one_by_one() {
        let (_d, chart) = tree_with_aliases_and_a_broken_subchart();
        let sequential = outcome(&chart, "{}", false);
        let ahead = outcome(&chart, "{}", true);
        let rendered = sequential.clone().unwrap();
        assert!(rendered.contains("app/charts/first/templates/cm.yaml"));
        assert!(rendered.contains("size: \\\"2\\\""), "{rendered}");
        assert_eq!(ahead, sequential);
        // Enabled, the broken subchart fails in both ways with the same error.
        let values = r#"{"broken": {"enabled": true}}"#;
        let sequential = outcome(&chart, values, false);
        assert!(
            sequential
                .as_ref()
                .is_err_and(|e| e.contains("app/charts/broken/templates/bad.yaml")),
            "{sequential:?}"
        );
        assert_eq!(outcome(&chart, values, true), sequential);
    }

    #[test]
    fn parsing_ahead_reports_the_first_parse_error_in_helms_order() {
        // Helm parses deeper paths first: the subchart's error, then templates/b/c.yaml's.
        let (_d, chart) = chart_tree(&[
            ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
            ("templates/a.yaml", "{{ end }}"),
            ("templates/b/c.yaml", "{{ nosuchfunc }}"),
            ("templates/z.yaml", "{{ if }}"),
            ("charts/sub/Chart.yaml", SUB),
            ("charts/sub/templates/x.yaml", "{{ .Values.x"),
        ]);
        for parse_ahead in [false, true] {
            let err = outcome(&chart, "{}", parse_ahead).unwrap_err();
            assert!(err.contains("app/charts/sub/templates/x.yaml"), "{err}");
        }
        let sequential = outcome(&chart, "{}", false);
        assert_eq!(outcome(&chart, "{}", true), sequential);
        let (_d, chart) = chart_tree(&[
            ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
            ("templates/a.yaml", "{{ end }}"),
            ("templates/b/c.yaml", "{{ nosuchfunc }}"),
        ]);
        let sequential = outcome(&chart, "{}", false);
        assert!(
            sequential
                .as_ref()
                .is_err_and(|e| e.contains("\"nosuchfunc\" not defined")),
            "{sequential:?}"
        );
        assert_eq!(outcome(&chart, "{}", true), sequential);
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
