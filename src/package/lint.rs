//! `signet lint`: the checks `helm lint` makes that matter before packaging — Chart.yaml
//! (via [`load_chart_dir`]), values.yaml parses as a YAML mapping, templates exist and render
//! with the chart's default values (through `signet-render`, as `helm template` would) —
//! reported as a list of messages with a severity.

use std::path::Path;

use serde::Serialize;

use super::error::PackageError;
use super::source::{ChartSource, load_chart_dir};

/// How bad a lint finding is; any `Error` fails the lint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LintSeverity {
    Info,
    Warning,
    Error,
}

/// One finding, naming the file it is about.
#[derive(Debug, Clone, Serialize)]
pub struct LintMessage {
    pub severity: LintSeverity,
    pub path: String,
    pub message: String,
}

/// All findings for one chart.
#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    pub chart: String,
    pub messages: Vec<LintMessage>,
}

impl LintReport {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.messages
            .iter()
            .any(|m| m.severity == LintSeverity::Error)
    }
}

/// Lints the chart in `dir`, or in the chart archive (`.tgz`) at that path, as `helm lint` does
/// both. A chart that cannot be read at all (no or invalid Chart.yaml, escaping symlinks, a
/// corrupt archive) yields a single error finding.
pub fn lint_chart_dir(dir: &Path) -> LintReport {
    let chart = dir.display().to_string();
    let loaded = if dir.is_file() {
        std::fs::read(dir)
            .map_err(PackageError::io(dir))
            .and_then(|bytes| super::archive::load_chart_archive(&bytes, &chart))
    } else {
        load_chart_dir(dir)
    };
    match loaded {
        Ok(source) => {
            let mut messages = lint_source(&source);
            if !messages.iter().any(|m| m.severity == LintSeverity::Error) {
                messages.extend(lint_render(&source));
            }
            LintReport { chart, messages }
        }
        Err(e) => {
            let path = error_path(&e).unwrap_or_else(|| chart.clone());
            // The error names its file first; the finding's path already says it.
            let text = e.to_string();
            let message = text
                .strip_prefix(&format!("{path}: "))
                .map(str::to_string)
                .unwrap_or(text);
            LintReport {
                chart,
                messages: vec![LintMessage {
                    severity: LintSeverity::Error,
                    path,
                    message,
                }],
            }
        }
    }
}

fn error_path(e: &PackageError) -> Option<String> {
    match e {
        PackageError::MissingChartYaml { path }
        | PackageError::InvalidChartYaml { path, .. }
        | PackageError::SymlinkEscape { path, .. }
        | PackageError::SymlinkDirectory { path }
        | PackageError::TooLarge { path, .. }
        | PackageError::Ignore { path, .. }
        | PackageError::Archive { path, .. }
        | PackageError::Io { path, .. } => Some(path.clone()),
    }
}

fn lint_source(source: &ChartSource) -> Vec<LintMessage> {
    let mut out = Vec::new();
    let at = |p: &str| source.dir.join(p).display().to_string();
    if source.metadata.api_version == "v1" {
        out.push(LintMessage {
            severity: LintSeverity::Warning,
            path: at("Chart.yaml"),
            message: "apiVersion v1 is deprecated (Helm 2 format); use apiVersion: v2".into(),
        });
    }
    if source.metadata.icon.is_empty() {
        out.push(LintMessage {
            severity: LintSeverity::Info,
            path: at("Chart.yaml"),
            message: "icon is recommended".into(),
        });
    }
    // values.yaml itself is parsed by the renderer below, with Helm's YAML semantics.
    if !source.files.iter().any(|f| f.path == "values.yaml") {
        out.push(LintMessage {
            severity: LintSeverity::Warning,
            path: at("values.yaml"),
            message: "file does not exist".into(),
        });
    }
    let has_templates = source
        .files
        .iter()
        .any(|f| f.path.starts_with("templates/"));
    if !has_templates && !source.metadata.is_library() {
        out.push(LintMessage {
            severity: LintSeverity::Warning,
            path: at("templates"),
            message: "directory does not exist or holds no templates".into(),
        });
    }
    out
}

/// Renders the chart with its default values, like `helm lint` does, and reports the first
/// failure (bad values.yaml, template syntax, schema violations, invalid YAML output).
///
/// Renders in Helm's lint mode, where `required` and `fail` only log: a chart that insists on a
/// value the user must supply is still a valid chart.
fn lint_render(source: &ChartSource) -> Option<LintMessage> {
    use signet_render::chart::load::{LoadLimits, load_path};
    use signet_render::render::{RenderOptions, TemplateError, render_release};
    if source.metadata.is_library() {
        return None;
    }
    let error = |message: String| LintMessage {
        severity: LintSeverity::Error,
        path: source.dir.join("templates").display().to_string(),
        message,
    };
    // A directory or an archive: the render crate loads both as helm does.
    let chart = match load_path(&source.dir, &LoadLimits::default()) {
        Ok(c) => c,
        // Loading (values.yaml, schema, subcharts) has no lint-mode leniency in Helm either.
        Err(e) => {
            return Some(LintMessage {
                severity: LintSeverity::Error,
                path: source.dir.display().to_string(),
                message: format!(
                    "chart does not load: {}",
                    e.to_string().lines().next().unwrap_or_default()
                ),
            });
        }
    };
    let options = RenderOptions {
        release_name: "lint".into(),
        namespace: "default".into(),
        lint_mode: true,
        ..RenderOptions::default()
    };
    match render_release(&chart, &signet_gotemplate::Value::empty_map(), &options) {
        Ok(_) => None,
        // Template syntax, execution and invalid YAML output: the chart is broken.
        // The whole message: its cause (`nil pointer evaluating …`) is what the user must fix.
        Err(e @ (TemplateError::Render(_) | TemplateError::Manifest(_))) => Some(error(format!(
            "templates do not render with the default values: {}",
            e.to_string().trim_end()
        ))),
        // Values, schema, dependencies: Helm's lint fails on these too.
        Err(e) => Some(LintMessage {
            severity: LintSeverity::Error,
            path: source.dir.display().to_string(),
            // All of it: a schema error lists each violation on its own line.
            message: e.to_string().trim_end().to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart_with_template(template: &str) -> tempfile::TempDir {
        let dir = tempfile::Builder::new()
            .prefix("lintme")
            .tempdir()
            .expect("temp dir");
        let chart = dir.path().join("lintme");
        std::fs::create_dir_all(chart.join("templates")).expect("mkdir");
        std::fs::write(
            chart.join("Chart.yaml"),
            "apiVersion: v2\nname: lintme\nversion: 0.1.0\n",
        )
        .expect("Chart.yaml");
        std::fs::write(chart.join("values.yaml"), "name: x\n").expect("values.yaml");
        std::fs::write(chart.join("templates/cm.yaml"), template).expect("template");
        dir
    }

    fn lint(dir: &tempfile::TempDir) -> LintReport {
        lint_chart_dir(&dir.path().join("lintme"))
    }

    #[test]
    fn a_template_syntax_error_fails_lint() {
        let dir = chart_with_template("kind: ConfigMap\nname: {{ .Values.name \n");
        let report = lint(&dir);
        assert!(report.has_errors(), "{:?}", report.messages);
        let message = &report
            .messages
            .iter()
            .find(|m| m.severity == LintSeverity::Error);
        assert!(
            message.is_some_and(|m| m.message.contains("cm.yaml")),
            "the error names the template: {:?}",
            report.messages
        );
    }

    #[test]
    fn lint_reports_the_cause_of_a_template_error_and_every_schema_violation() {
        let dir = chart_with_template(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.missing.name }}\n",
        );
        let report = lint(&dir);
        let text: Vec<&str> = report.messages.iter().map(|m| m.message.as_str()).collect();
        assert!(
            text.iter().any(|m| m.contains("nil pointer evaluating")),
            "the cause is dropped: {text:?}"
        );

        let dir = chart_with_template("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
        let chart = dir.path().join("lintme");
        std::fs::write(chart.join("values.yaml"), "replicas: many\nport: -1\n").expect("values");
        std::fs::write(
            chart.join("values.schema.json"),
            r#"{"type":"object","properties":{"replicas":{"type":"integer"},"port":{"minimum":1}}}"#,
        )
        .expect("schema");
        let report = lint(&dir);
        let text: String = report.messages.iter().map(|m| m.message.as_str()).collect();
        assert!(report.has_errors());
        assert!(
            text.contains("/replicas") && text.contains("/port"),
            "schema violations missing: {text}"
        );
    }

    #[test]
    fn a_chart_archive_lints_like_its_directory() {
        let dir = chart_with_template("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
        let source = load_chart_dir(&dir.path().join("lintme")).expect("chart");
        let archive = dir.path().join("lintme-0.1.0.tgz");
        std::fs::write(&archive, super::super::write_archive(&source).expect("tgz"))
            .expect("write");
        let from_dir = lint(&dir);
        let from_archive = lint_chart_dir(&archive);
        assert!(!from_archive.has_errors(), "{:?}", from_archive.messages);
        assert_eq!(from_dir.messages.len(), from_archive.messages.len());
    }

    #[test]
    fn an_unreadable_chart_yaml_is_named_once() {
        let dir = chart_with_template("kind: ConfigMap\n");
        let chart_yaml = dir.path().join("lintme/Chart.yaml");
        std::fs::write(&chart_yaml, "apiVersion: v2\nname: lintme\nversion: one\n").expect("write");
        let report = lint(&dir);
        let finding = &report.messages[0];
        assert_eq!(finding.path, chart_yaml.display().to_string());
        assert!(
            !finding.message.contains(&finding.path),
            "path repeated in the message: {finding:?}"
        );
        assert!(finding.message.contains("\"one\""), "{finding:?}");
    }

    #[test]
    fn required_values_do_not_fail_lint_like_helm() {
        let dir = chart_with_template(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"set host\" .Values.host }}\n",
        );
        let report = lint(&dir);
        assert!(!report.has_errors(), "{:?}", report.messages);
    }
}
