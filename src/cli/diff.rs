//! `signet diff`: what the next reconcile of a SignedChartRelease would change in the cluster —
//! for a live release (`signet diff NAME -n NS`) or a file (`signet diff -f release.yaml`, as if it
//! were applied) — through the controller's own steps (`controller::preview`: resolve, verify,
//! render, server-side dry-run). Per object: created, changed fields, pruned. Secret data is
//! masked. Nothing is written to the cluster.
//!
//! Exit status, like `kubectl diff`: 0 when nothing would change, 1 when something would, 2 on
//! an error (the message on stderr, and with `--output json` a `{"ok": false, …}` document).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use super::get::KubeArgs;
use super::output::OutputFormat;
use crate::api::SignedChartRelease;
use crate::apply::{ChangeAction, FieldChange, ObjectChange};
use crate::controller::preview::{Preview, preview};
use crate::verify::tuf::TufTrustRoot;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// A live SignedChartRelease to diff (in --namespace).
    #[arg(conflicts_with = "filename", required_unless_present = "filename")]
    pub name: Option<String>,
    /// A SignedChartRelease manifest (YAML or JSON; `-` for stdin): the changes applying it would make.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filename: Option<PathBuf>,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Runs `signet diff` and exits: 0 (no change), 1 (changes) or 2 (error).
pub async fn run(args: DiffArgs) -> anyhow::Result<()> {
    let format = args.output;
    let code = match diff(args).await {
        Ok(changed) => i32::from(changed),
        Err(err) => {
            let message = format!("{err:#}");
            if format == OutputFormat::Json {
                println!(
                    "{}",
                    json!({"ok": false, "reason": "Error", "message": message})
                );
            }
            eprintln!("Error: {message}");
            2
        }
    };
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    // Exit codes beyond success/failure are this command's contract (as `kubectl diff`'s).
    std::process::exit(code);
}

/// The release to preview: the live one, or the file's as it would be once applied (its
/// generation moves on when its spec differs from the live one; the live status stands for what
/// was applied last).
async fn target(
    args: &DiffArgs,
    client: kube::Client,
    namespace: &str,
) -> anyhow::Result<SignedChartRelease> {
    let Some(path) = &args.filename else {
        let name = args.name.as_deref().unwrap_or_default();
        let api: Api<SignedChartRelease> = Api::namespaced(client, namespace);
        return api
            .get(name)
            .await
            .with_context(|| format!("SignedChartRelease {namespace}/{name}"));
    };
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    let mut release: SignedChartRelease = serde_saphyr::from_str(&text)
        .with_context(|| format!("{}: not a SignedChartRelease", path.display()))?;
    let ns = release
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| namespace.to_owned());
    release.metadata.namespace = Some(ns.clone());
    let api: Api<SignedChartRelease> = Api::namespaced(client, &ns);
    let live = api
        .get_opt(&release.name_any())
        .await
        .with_context(|| format!("SignedChartRelease {ns}/{}", release.name_any()))?;
    match live {
        Some(live) => {
            let generation = live.metadata.generation.unwrap_or(0);
            release.metadata.generation = Some(if live.spec == release.spec {
                generation
            } else {
                generation + 1
            });
            release.metadata.uid = live.metadata.uid.clone();
            release.status = live.status;
        }
        None => {
            release.metadata.generation = Some(1);
            release.status = None;
        }
    }
    Ok(release)
}

/// Prints the diff; `Ok(true)` when something would change.
async fn diff(args: DiffArgs) -> anyhow::Result<bool> {
    let config = args.kube.config().await?;
    let namespace = args.kube.namespace_in(&config);
    let client = kube::Client::try_from(config.clone())?;
    let release = target(&args, client, &namespace).await?;
    // The trust root for keyless authorities without a trustRoot: the TUF repository `signet
    // initialize` chose, else public-good Sigstore (fetched only if a policy needs it).
    let tuf = TufTrustRoot::new(super::initialize::TufFlags::default().config()?)?;
    let p = preview(config, &release, Some(&tuf)).await?;
    let changed = p.changes_anything();
    match args.output {
        OutputFormat::Json => println!("{}", json_doc(&release, &p)),
        OutputFormat::Text => print!("{}", text(&release, &p)),
    }
    Ok(changed)
}

fn json_doc(release: &SignedChartRelease, p: &Preview) -> Value {
    json!({
        "ok": true,
        "release": {"namespace": release.namespace(), "name": release.name_any()},
        "version": p.version,
        "digest": p.digest,
        "signers": p.signers,
        "renders": p.renders,
        "revision": p.revision,
        "changed": p.changes_anything(),
        "suspended": release.spec.suspend,
        "objects": p.changes,
    })
}

fn value(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn field_line(f: &FieldChange) -> String {
    match (&f.before, &f.after) {
        (Some(b), Some(a)) => format!("    ~ {}: {} -> {}\n", f.path, value(b), value(a)),
        (None, Some(a)) => format!("    + {}: {}\n", f.path, value(a)),
        (Some(b), None) => format!("    - {}: {}\n", f.path, value(b)),
        (None, None) => String::new(),
    }
}

fn object_text(c: &ObjectChange) -> String {
    let source = c
        .source
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let mut out = match c.action {
        ChangeAction::Create => format!("+ {}{source}: created\n", c.describe()),
        ChangeAction::Update => format!("~ {}{source}: changed\n", c.describe()),
        ChangeAction::Prune => format!("- {}: pruned\n", c.describe()),
        ChangeAction::Unchanged => return String::new(),
    };
    if let Some(note) = &c.note {
        out.push_str(&format!("    # {note}\n"));
    }
    if c.action != ChangeAction::Prune {
        for f in &c.fields {
            out.push_str(&field_line(f));
        }
    }
    out
}

fn text(release: &SignedChartRelease, p: &Preview) -> String {
    let signers: Vec<&str> = p.signers.iter().map(|s| s.authority.as_str()).collect();
    let what = if p.renders {
        format!("renders revision {}", p.revision)
    } else {
        format!(
            "re-applies revision {} (the inputs are unchanged)",
            p.revision
        )
    };
    let mut out = format!(
        "SignedChartRelease {}/{}: {}@{} signed by {}; the next reconcile {what}\n",
        release.namespace().unwrap_or_default(),
        release.name_any(),
        p.version,
        p.digest,
        signers.join(", "),
    );
    if release.spec.suspend {
        out.push_str(
            "# spec.suspend is true: the controller applies none of this until it is false\n",
        );
    }
    let count = |a: ChangeAction| p.changes.iter().filter(|c| c.action == a).count();
    for c in &p.changes {
        out.push_str(&object_text(c));
    }
    out.push_str(&format!(
        "{} to create, {} to change, {} to prune, {} unchanged\n",
        count(ChangeAction::Create),
        count(ChangeAction::Update),
        count(ChangeAction::Prune),
        count(ChangeAction::Unchanged)
    ));
    out
}
