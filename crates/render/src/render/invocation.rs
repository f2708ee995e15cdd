//! A `helm template` command line as data: parses Helm's arguments (`[NAME] CHART`, `-f`,
//! `--set*`, `-n`, `--kube-version`, `--api-versions`, `--include-crds`, `--show-only`,
//! `--skip-tests`, `--no-hooks`) and runs it against a chart directory or archive. The corpus tests
//! and the benchmark replay recorded invocations through it; the CLI maps clap flags onto it.

use std::path::Path;

use super::release::{RenderOptions, TemplateError, template};
use crate::chart::{LoadError, LoadLimits, load_path};
use crate::values::UserValues;

/// A parsed `helm template` invocation.
#[derive(Clone, Default)]
pub struct TemplateInvocation {
    pub release_name: Option<String>,
    pub chart: String,
    pub values: UserValues,
    pub options: RenderOptions,
}

/// Why an invocation failed; `Display` is the text after Helm's `Error: `.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Values(#[from] crate::values::ValuesError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

impl InvocationError {
    /// `helm template` appends "Use --debug flag to render out invalid YAML" to these.
    pub fn has_debug_hint(&self) -> bool {
        matches!(self, InvocationError::Template(e) if e.has_debug_hint())
    }
}

impl TemplateInvocation {
    /// Parses arguments after `helm template` (a leading `template` word is skipped).
    pub fn parse(args: &[String]) -> Result<TemplateInvocation, InvocationError> {
        let mut inv = TemplateInvocation::default();
        let mut positional = Vec::new();
        let mut it = args.iter().peekable();
        if it.peek().map(|s| s.as_str()) == Some("template") {
            it.next();
        }
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| -> Result<String, InvocationError> {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| {
                        InvocationError::Usage(format!("flag needs an argument: {name}"))
                    })
            };
            match flag.as_str() {
                "-f" | "--values" => {
                    let v = value(&flag)?;
                    inv.values
                        .value_files
                        .extend(v.split(',').map(String::from));
                }
                "--set" => inv.values.values.push(value(&flag)?),
                "--set-string" => inv.values.string_values.push(value(&flag)?),
                "--set-file" => inv.values.file_values.push(value(&flag)?),
                "--set-json" => inv.values.json_values.push(value(&flag)?),
                "--set-literal" => inv.values.literal_values.push(value(&flag)?),
                "-n" | "--namespace" => inv.options.namespace = value(&flag)?,
                "--kube-version" => inv.options.kube_version = Some(value(&flag)?),
                "-a" | "--api-versions" => {
                    let v = value(&flag)?;
                    inv.options
                        .api_versions
                        .extend(v.split(',').map(String::from));
                }
                "-s" | "--show-only" => {
                    let v = value(&flag)?;
                    inv.options.show_only.extend(v.split(',').map(String::from));
                }
                "--include-crds" => inv.options.include_crds = true,
                "--skip-tests" => inv.options.skip_tests = true,
                "--no-hooks" => inv.options.disable_hooks = true,
                "--name-template" | "--version" | "--output-dir" => {
                    value(&flag)?;
                }
                f if f.starts_with('-') => {
                    return Err(InvocationError::Usage(format!("unknown flag: {f}")));
                }
                _ => positional.push(arg.clone()),
            }
        }
        match positional.len() {
            1 => inv.chart = positional.remove(0),
            2 => {
                inv.release_name = Some(positional.remove(0));
                inv.chart = positional.remove(0);
            }
            n => {
                return Err(InvocationError::Usage(format!(
                    "\"helm template\" requires at least 1 argument and at most 2 (got {n})"
                )));
            }
        }
        if let Some(name) = &inv.release_name {
            inv.options.release_name = name.clone();
        }
        Ok(inv)
    }

    /// Loads the chart (relative to `cwd`), merges values, renders; returns `helm template` stdout.
    pub fn run(&self, cwd: &Path) -> Result<String, InvocationError> {
        // `join` keeps an absolute path as it is.
        let chart = load_path(&cwd.join(&self.chart), &LoadLimits::default())?;
        let read = |p: &str| std::fs::read_to_string(cwd.join(p)).map_err(|e| e.to_string());
        let values = self.values.merge(&read)?;
        Ok(template(&chart, &values, &self.options)?)
    }
}
