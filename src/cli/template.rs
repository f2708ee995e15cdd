//! `signet template [RELEASE] CHART`: render a chart locally exactly like `helm template`, with
//! Helm's flag names. CHART is a directory, a `.tgz`, or `oci://HOST/REPO/NAME` (with `--version`,
//! `:TAG` or `@sha256:…`), pulled through the registry module.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::Args;

use crate::package::MAX_CHART_BYTES;
use crate::render::chart::{Chart, LoadLimits, load_archive, load_path};
use crate::render::render::{RenderOptions, TemplateError, render_release, template_stdout};
use crate::render::values::UserValues;

mod deps;

#[derive(Debug, Args)]
// `--version` is the chart version here, as in `helm template`, not the program version.
#[command(disable_version_flag = true)]
pub struct TemplateArgs {
    /// Release name, then the chart; with one argument it is the chart and the release is
    /// `release-name` (or the name --generate-name or --name-template make).
    #[arg(value_name = "[NAME] CHART")]
    pub args: Vec<String>,
    /// Generate the release name: the chart's base name and the Unix time, as helm does.
    #[arg(short = 'g', long)]
    pub generate_name: bool,
    /// A Go template (with Sprig's functions) that makes the release name, e.g.
    /// `{{ randAlpha 6 | lower }}`.
    #[arg(long, value_name = "TEMPLATE")]
    pub name_template: Option<String>,
    /// Chart version or SemVer range for `oci://` charts; the latest stable version when unset.
    #[arg(long)]
    pub version: Option<String>,
    /// Values files; later files win (comma-separated or repeated).
    #[arg(
        short = 'f',
        long = "values",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub values: Vec<String>,
    /// Set values on the command line (`a.b=c,d[0]=e`).
    #[arg(long = "set", value_name = "KEY=VAL")]
    pub set: Vec<String>,
    /// Set string values on the command line.
    #[arg(long = "set-string", value_name = "KEY=VAL")]
    pub set_string: Vec<String>,
    /// Set values from files (`key=path`).
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
    /// Set JSON values (`key=<json>`).
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// Set a literal string value.
    #[arg(long = "set-literal", value_name = "KEY=VAL")]
    pub set_literal: Vec<String>,
    /// Namespace of the release.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Kubernetes version for `.Capabilities.KubeVersion` and `kubeVersion` checks.
    #[arg(long, value_name = "VERSION", value_parser = kube_version)]
    pub kube_version: Option<String>,
    /// Extra API versions for `.Capabilities.APIVersions` (`group/version` or `group/version/Kind`).
    #[arg(
        short = 'a',
        long = "api-versions",
        value_name = "G/V",
        value_delimiter = ','
    )]
    pub api_versions: Vec<String>,
    /// Include the charts' `crds/` files in the output.
    #[arg(long)]
    pub include_crds: bool,
    /// Leave the charts' `crds/` files out, even with --include-crds (helm's flag).
    #[arg(long)]
    pub skip_crds: bool,
    /// Only print manifests of these templates (globs over `templates/…`).
    #[arg(
        short = 's',
        long = "show-only",
        value_name = "PATH",
        value_delimiter = ','
    )]
    pub show_only: Vec<String>,
    /// Skip test hooks.
    #[arg(long)]
    pub skip_tests: bool,
    /// Do not print hooks.
    #[arg(long)]
    pub no_hooks: bool,
    /// Write each template to a file under this directory instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// On a render error, print what was rendered (every template's output when a manifest is
    /// not valid YAML) before the error, as helm does.
    #[arg(long)]
    pub debug: bool,
    /// Use development versions too: without --version, the latest version of an `oci://`
    /// chart including pre-releases (helm's `>0.0.0-0`).
    #[arg(long)]
    pub devel: bool,
    /// Before rendering a chart directory whose Chart.yaml lists dependencies missing from its
    /// `charts/`, fetch them into `charts/` and write Chart.lock (`file://` and `oci://`
    /// repositories), as `helm template --dependency-update` does.
    #[arg(long)]
    pub dependency_update: bool,
    #[command(flatten)]
    pub registry: super::registry::ChartFetchFlags,
}

impl TemplateArgs {
    /// Whether this run may reach a registry: an `oci://` chart, or dependencies to fetch.
    pub fn needs_network(&self) -> bool {
        self.dependency_update || self.args.last().is_some_and(|c| c.starts_with("oci://"))
    }
}

/// Runs `signet template`.
pub async fn run(args: TemplateArgs) -> anyhow::Result<()> {
    let (release, chart_ref) = release_and_chart(&args)?;
    let chart = if chart_ref.starts_with("oci://") {
        let bytes = pull(&args, &chart_ref).await?;
        load_archive(&bytes, &LoadLimits::default())
            .with_context(|| format!("cannot load {chart_ref}"))?
    } else {
        if args.version.is_some() {
            bail!("--version applies to oci:// charts; {chart_ref} is a local path");
        }
        let path = Path::new(&chart_ref);
        let chart = load_path(path, &LoadLimits::default())?;
        if args.dependency_update && deps::missing(&chart) {
            deps::update(&args.registry, path, &chart).await?;
            load_path(path, &LoadLimits::default())
                .context("failed reloading chart after repo update")?
        } else {
            chart
        }
    };
    // A one-shot process: the kernel frees the chart faster than its destructors would.
    let chart = std::mem::ManuallyDrop::new(chart);
    render(&args, release, &chart)
}

/// The release name and the chart, from the arguments and flags, with helm's rules and words.
fn release_and_chart(args: &TemplateArgs) -> anyhow::Result<(String, String)> {
    match args.args.as_slice() {
        [] => bail!("\"signet template\" requires at least 1 argument"),
        [name, chart] => {
            if args.generate_name {
                bail!("cannot set --generate-name and also specify a name");
            }
            if args.name_template.is_some() {
                bail!("cannot set --name-template and also specify a name");
            }
            Ok((name.clone(), chart.clone()))
        }
        [chart] => {
            let name = if let Some(template) = &args.name_template {
                let engine = crate::render::render::Engine::default();
                engine
                    .execute_text("name-template", template, &signet_gotemplate::Value::Nil)
                    .with_context(|| format!("--name-template {template:?}"))?
            } else if args.generate_name {
                // helm: the chart path's base name up to its first dot, then the Unix time.
                let base = Path::new(chart.trim_end_matches('/'))
                    .file_name()
                    .map(|b| b.to_string_lossy().to_string())
                    .filter(|b| !b.is_empty() && b != ".")
                    .unwrap_or_else(|| "chart".to_string());
                let base = base.split('.').next().unwrap_or("chart").to_string();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or_default();
                format!("{base}-{now}")
            } else {
                "release-name".to_string()
            };
            Ok((name, chart.clone()))
        }
        [_, _, rest @ ..] => bail!(
            "expected at most two arguments, unexpected arguments: {}",
            rest.join(", ")
        ),
    }
}

async fn pull(args: &TemplateArgs, chart_ref: &str) -> anyhow::Result<Vec<u8>> {
    let (client, reference) = super::registry::resolve_chart(
        &args.registry,
        chart_ref,
        args.version.as_deref(),
        args.devel,
    )
    .await?;
    let manifest = client.fetch_chart_manifest(&reference).await?;
    Ok(client.pull_chart(&manifest, MAX_CHART_BYTES).await?)
}

/// `--kube-version` is checked as it is parsed, like Helm's flag, not after the chart is fetched.
fn kube_version(text: &str) -> Result<String, String> {
    crate::render::render::objects::KubeVersion::parse(text).map(|_| text.to_string())
}

fn render(args: &TemplateArgs, release: String, chart: &Chart) -> anyhow::Result<()> {
    let user = UserValues {
        value_files: args.values.clone(),
        json_values: args.set_json.clone(),
        values: args.set.clone(),
        string_values: args.set_string.clone(),
        file_values: args.set_file.clone(),
        literal_values: args.set_literal.clone(),
    };
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let values = user.merge(&read).map_err(|e| anyhow!("{e}"))?;
    let opts = RenderOptions {
        release_name: release,
        namespace: args.namespace.clone(),
        kube_version: args.kube_version.clone(),
        api_versions: args.api_versions.clone(),
        include_crds: args.include_crds && !args.skip_crds,
        skip_tests: args.skip_tests,
        disable_hooks: args.no_hooks,
        show_only: args.show_only.clone(),
        // The process ends with this render, and the user waits for nothing else.
        skip_teardown: true,
        race_key_generation: true,
        ..RenderOptions::default()
    };
    if chart.metadata.deprecated {
        eprintln!("WARNING: this chart is deprecated");
    }
    let rendered = match render_release(chart, &values, &opts) {
        Ok(rendered) => std::mem::ManuallyDrop::new(rendered),
        Err(e) if args.debug && e.has_debug_hint() => {
            print_debug_manifests(&e)?;
            return Err(anyhow!("{e}"));
        }
        Err(e) => return Err(helm_error(e)),
    };
    for warning in &rendered.warnings {
        eprintln!("WARNING: {warning}");
    }
    if let Some(dir) = &args.output_dir {
        return write_output_dir(dir, &rendered, &opts);
    }
    let out = template_stdout(&rendered, &opts).map_err(helm_error)?;
    std::io::stdout()
        .write_all(out.as_bytes())
        .context("cannot write to stdout")?;
    Ok(())
}

/// `helm template --debug` after a render error: the release's manifest as far as it got — every
/// non-blank rendered file when a manifest failed to parse, nothing when a template failed — then
/// a newline. Helm walks a Go map, so its file order varies from run to run; ours is sorted.
fn print_debug_manifests(e: &TemplateError) -> anyhow::Result<()> {
    let mut manifest = String::new();
    if let TemplateError::Manifest(m) = e {
        for (name, content) in &m.rendered {
            if !content.trim().is_empty() {
                manifest.push_str(&format!("---\n# Source: {name}\n{content}\n"));
            }
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", manifest.trim()).context("cannot write to stdout")?;
    out.flush().context("cannot write to stdout")
}

fn helm_error(e: TemplateError) -> anyhow::Error {
    if e.has_debug_hint() {
        anyhow!("{e}\n\nUse --debug flag to render out invalid YAML")
    } else {
        anyhow!("{e}")
    }
}

/// Helm's `--output-dir`: each document appended to `DIR/<template path>`, `wrote PATH` printed once
/// per write.
fn write_output_dir(
    dir: &Path,
    rendered: &crate::render::render::RenderedRelease,
    opts: &RenderOptions,
) -> anyhow::Result<()> {
    let mut written: BTreeSet<&str> = BTreeSet::new();
    let mut docs: Vec<(&str, &str)> = Vec::new();
    if opts.include_crds {
        docs.extend(rendered.crds.iter().map(|(n, c)| (n.as_str(), c.as_str())));
    }
    docs.extend(
        rendered
            .sorted
            .manifests
            .iter()
            .map(|m| (m.path.as_str(), m.content.as_str())),
    );
    if !opts.disable_hooks {
        for h in &rendered.sorted.hooks {
            if opts.skip_tests
                && h.hook_events
                    .iter()
                    .any(|e| e == "test" || e == "test-success")
            {
                continue;
            }
            docs.push((h.path.as_str(), h.content.as_str()));
        }
    }
    let mut stdout = std::io::stdout();
    for (name, content) in docs {
        if name.split('/').any(|p| p == ".." || p.is_empty()) {
            bail!(
                "refusing to write template {name:?} outside {}",
                dir.display()
            );
        }
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let append = !written.insert(name);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        write!(file, "---\n# Source: {name}\n{content}\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(stdout, "wrote {}", path.display()).context("cannot write to stdout")?;
    }
    // Helm still prints the (empty) release manifest afterwards: one blank line.
    writeln!(stdout).context("cannot write to stdout")?;
    Ok(())
}
