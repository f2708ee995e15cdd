//! `signet lint`: the checks `helm lint` makes that matter before packaging — Chart.yaml
//! (via [`load_chart_dir`]), values.yaml parses as a YAML mapping, templates exist — reported
//! as a list of messages with a severity.

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

/// Lints the chart in `dir`. A chart that cannot be read at all (no or invalid Chart.yaml,
/// escaping symlinks) yields a single error finding.
pub fn lint_chart_dir(dir: &Path) -> LintReport {
    let chart = dir.display().to_string();
    match load_chart_dir(dir) {
        Ok(source) => LintReport {
            chart,
            messages: lint_source(&source),
        },
        Err(e) => LintReport {
            chart: chart.clone(),
            messages: vec![LintMessage {
                severity: LintSeverity::Error,
                path: error_path(&e).unwrap_or(chart),
                message: e.to_string(),
            }],
        },
    }
}

fn error_path(e: &PackageError) -> Option<String> {
    match e {
        PackageError::MissingChartYaml { path }
        | PackageError::InvalidChartYaml { path, .. }
        | PackageError::NameMismatch { path, .. }
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
    match source.files.iter().find(|f| f.path == "values.yaml") {
        Some(values) => {
            let text = String::from_utf8_lossy(&values.data);
            if !text.trim().is_empty() {
                match serde_saphyr::from_str::<serde_json::Value>(&text) {
                    Ok(serde_json::Value::Object(_)) | Ok(serde_json::Value::Null) => {}
                    Ok(_) => out.push(LintMessage {
                        severity: LintSeverity::Error,
                        path: at("values.yaml"),
                        message: "values.yaml must be a YAML mapping at the top level".into(),
                    }),
                    Err(e) => out.push(LintMessage {
                        severity: LintSeverity::Error,
                        path: at("values.yaml"),
                        message: format!("unable to parse YAML: {e}"),
                    }),
                }
            }
        }
        None => out.push(LintMessage {
            severity: LintSeverity::Warning,
            path: at("values.yaml"),
            message: "file does not exist".into(),
        }),
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
