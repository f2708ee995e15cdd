//! `signet get` (list releases: Ready, version, digest, signer, last transition) and
//! `signet status NAME` (one release's conditions explained, its inventory and recent Events),
//! reading SignedChartReleases like `kubectl get scr -o wide`, with kubectl's cluster flags.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use k8s_openapi::api::events::v1::Event;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use super::output::{OutputFormat, print_success};
use crate::api::SignedChartRelease;
use crate::api::conditions::{Condition, types};

/// Which cluster and namespace, as kubectl takes them.
#[derive(Debug, Args, Clone, Default)]
pub struct KubeArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace, else `default`).
    #[arg(short, long)]
    pub namespace: Option<String>,
}

impl KubeArgs {
    /// The client configuration these flags name.
    pub async fn config(&self) -> anyhow::Result<kube::Config> {
        let options = kube::config::KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                let file = kube::config::Kubeconfig::read_from(path)
                    .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(file, &options).await?
            }
            None if self.context.is_some() => kube::Config::from_kubeconfig(&options).await?,
            None => kube::Config::infer()
                .await
                .context("no cluster configured (give --kubeconfig, or set KUBECONFIG)")?,
        };
        Ok(config)
    }

    /// `--namespace`, else the context's namespace.
    pub fn namespace_in(&self, config: &kube::Config) -> String {
        self.namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone())
    }
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Only this release.
    pub name: Option<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// List releases in every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The SignedChartRelease.
    pub name: String,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Find the release in whichever namespace holds it (an error when several do).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

fn condition<'a>(r: &'a SignedChartRelease, type_: &str) -> Option<&'a Condition> {
    r.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

/// `5s`, `3m`, `2h`, `4d`: how long ago, as kubectl prints ages.
fn age(since: &k8s_openapi::jiff::Timestamp) -> String {
    let secs = (k8s_openapi::jiff::Timestamp::now().as_second() - since.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn short_digest(d: &str) -> String {
    match d.strip_prefix("sha256:") {
        Some(hex) if hex.len() > 12 => format!("sha256:{}", &hex[..12]),
        _ => d.to_owned(),
    }
}

/// The JSON summary of one release (also `signet status`'s head).
fn summary(r: &SignedChartRelease) -> Value {
    let ready = condition(r, types::READY);
    let status = r.status.clone().unwrap_or_default();
    let applied = status.last_applied_revision.as_ref();
    json!({
        "namespace": r.namespace(),
        "name": r.name_any(),
        "ready": ready.map(|c| c.status.clone()).unwrap_or_else(|| "Unknown".into()),
        "reason": ready.map(|c| c.reason.clone()),
        "message": ready.map(|c| c.message.clone()),
        "lastTransitionTime": ready.map(|c| c.last_transition_time.0.to_string()),
        "version": applied.map(|a| a.version.clone()),
        "digest": applied.map(|a| a.digest.clone()),
        "attempted": status.last_attempted_revision.as_ref().map(|a| json!({"version": a.version, "digest": a.digest})),
        "signers": status.verified_signers,
        "chart": r.spec.chart.repository,
        "suspended": r.spec.suspend,
        "generation": r.metadata.generation,
        "observedGeneration": status.observed_generation,
    })
}

fn signer_names(r: &SignedChartRelease) -> String {
    let names: Vec<&str> = r
        .status
        .as_ref()
        .map(|s| {
            s.verified_signers
                .iter()
                .map(|v| v.authority.as_str())
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        "-".into()
    } else {
        names.join(",")
    }
}

/// Prints rows as left-aligned columns separated by three spaces, as kubectl does.
fn print_table(rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            }
        }
        println!("{}", line.trim_end());
    }
}

/// Runs `signet get`.
pub async fn run_get(args: GetArgs) -> anyhow::Result<()> {
    let config = args.kube.config().await?;
    let namespace = args.kube.namespace_in(&config);
    let client = kube::Client::try_from(config)?;
    let api: Api<SignedChartRelease> = if args.all_namespaces {
        Api::all(client)
    } else {
        Api::namespaced(client, &namespace)
    };
    let mut releases = match &args.name {
        Some(name) => vec![
            api.get(name)
                .await
                .with_context(|| format!("SignedChartRelease {namespace}/{name}"))?,
        ],
        None => {
            api.list(&ListParams::default())
                .await
                .context("cannot list SignedChartReleases")?
                .items
        }
    };
    releases.sort_by_key(|r| (r.namespace(), r.name_any()));
    if args.output == OutputFormat::Json {
        print_success(json!({"releases": releases.iter().map(summary).collect::<Vec<_>>()}));
        return Ok(());
    }
    if releases.is_empty() {
        eprintln!(
            "No SignedChartReleases found{}.",
            if args.all_namespaces {
                String::new()
            } else {
                format!(" in namespace {namespace}")
            }
        );
        return Ok(());
    }
    let mut rows = vec![];
    let mut head = vec![];
    if args.all_namespaces {
        head.push("NAMESPACE".to_owned());
    }
    head.extend(
        [
            "NAME",
            "READY",
            "REASON",
            "VERSION",
            "DIGEST",
            "SIGNER",
            "LAST TRANSITION",
            "MESSAGE",
        ]
        .map(str::to_owned),
    );
    rows.push(head);
    for r in &releases {
        let ready = condition(r, types::READY);
        let applied = r
            .status
            .as_ref()
            .and_then(|s| s.last_applied_revision.clone());
        let mut row = vec![];
        if args.all_namespaces {
            row.push(r.namespace().unwrap_or_default());
        }
        row.extend([
            r.name_any(),
            ready.map_or("Unknown".into(), |c| c.status.clone()),
            ready.map_or("-".into(), |c| c.reason.clone()),
            applied.as_ref().map_or("-".into(), |a| a.version.clone()),
            applied
                .as_ref()
                .map_or("-".into(), |a| short_digest(&a.digest)),
            signer_names(r),
            ready.map_or("-".into(), |c| age(&c.last_transition_time.0)),
            ready.map_or(String::new(), |c| c.message.clone()),
        ]);
        rows.push(row);
    }
    print_table(&rows);
    Ok(())
}

/// The Events about `release`, oldest first (events.k8s.io/v1, as the controller records them).
async fn events(client: kube::Client, release: &SignedChartRelease) -> anyhow::Result<Vec<Event>> {
    let namespace = release.namespace().unwrap_or_default();
    let api: Api<Event> = Api::namespaced(client, &namespace);
    let uid = release.uid();
    let mut events: Vec<Event> = api
        .list(&ListParams::default())
        .await
        .context("cannot list Events")?
        .items
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().is_some_and(|r| {
                r.kind.as_deref() == Some("SignedChartRelease")
                    && r.name.as_deref() == Some(release.name_any().as_str())
                    && (uid.is_none() || r.uid.is_none() || r.uid == uid)
            })
        })
        .collect();
    events.sort_by_key(event_time);
    Ok(events)
}

fn event_time(e: &Event) -> Option<k8s_openapi::jiff::Timestamp> {
    e.series
        .as_ref()
        .map(|s| s.last_observed_time.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.deprecated_last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// What each condition means, for the explanation under the table.
fn explain(type_: &str) -> &'static str {
    match type_ {
        types::READY => "the summary: verified, applied and healthy at the current generation",
        types::SOURCE_VERIFIED => {
            "the chart version resolved to a digest whose signatures satisfy spec.verify"
        }
        types::APPLIED => {
            "the rendered manifests were server-side applied (and recorded as a Helm revision)"
        }
        types::HEALTHY => "every applied object is ready (kstatus rules) within spec.timeout",
        types::RECONCILING => "the controller is working towards the spec",
        types::STALLED => {
            "the controller cannot make progress without a change to the spec or its inputs"
        }
        _ => "",
    }
}

/// The one release named `name` in any namespace.
async fn find_anywhere(client: kube::Client, name: &str) -> anyhow::Result<SignedChartRelease> {
    let api: Api<SignedChartRelease> = Api::all(client);
    let found: Vec<SignedChartRelease> = api
        .list(&ListParams::default())
        .await
        .context("cannot list SignedChartReleases")?
        .items
        .into_iter()
        .filter(|r| r.name_any() == name)
        .collect();
    let namespaces: Vec<String> = found.iter().filter_map(|r| r.namespace()).collect();
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => anyhow::bail!("no SignedChartRelease named {name} in any namespace"),
        (Some(_), Some(_)) => anyhow::bail!(
            "SignedChartReleases named {name} exist in namespaces {}: give one with -n",
            namespaces.join(", ")
        ),
    }
}

/// How many Events `signet status` shows.
const RECENT_EVENTS: usize = 10;

/// Runs `signet status`.
pub async fn run_status(args: StatusArgs) -> anyhow::Result<()> {
    let config = args.kube.config().await?;
    let client = kube::Client::try_from(config.clone())?;
    let release = if args.all_namespaces {
        find_anywhere(client.clone(), &args.name).await?
    } else {
        let namespace = args.kube.namespace_in(&config);
        let api: Api<SignedChartRelease> = Api::namespaced(client.clone(), &namespace);
        api.get(&args.name)
            .await
            .with_context(|| format!("SignedChartRelease {namespace}/{}", args.name))?
    };
    let namespace = release.namespace().unwrap_or_default();
    let events = events(client, &release).await?;
    let recent = &events[events.len().saturating_sub(RECENT_EVENTS)..];
    let status = release.status.clone().unwrap_or_default();
    if args.output == OutputFormat::Json {
        let mut doc = summary(&release);
        doc["conditions"] = json!(status.conditions);
        doc["inventory"] = json!(status.inventory);
        doc["events"] = json!(
            recent
                .iter()
                .map(|e| json!({
                    "type": e.type_,
                    "reason": e.reason,
                    "action": e.action,
                    "note": e.note,
                    "count": e.series.as_ref().map(|s| s.count),
                    "time": event_time(e).map(|t| t.to_string()),
                }))
                .collect::<Vec<_>>()
        );
        print_success(doc);
        return Ok(());
    }
    let ready = condition(&release, types::READY);
    println!("Release:     {namespace}/{}", release.name_any());
    println!(
        "Ready:       {}{}",
        ready.map_or("Unknown", |c| c.status.as_str()),
        ready.map_or(String::new(), |c| format!(
            " ({}, {} ago): {}",
            c.reason,
            age(&c.last_transition_time.0),
            c.message
        ))
    );
    let chart = &release.spec.chart;
    println!(
        "Chart:       {} {}",
        chart.repository,
        chart.version.as_deref().unwrap_or("(latest stable)")
    );
    if let Some(a) = &status.last_applied_revision {
        println!("Applied:     {} @ {}", a.version, a.digest);
    }
    if let Some(a) = status
        .last_attempted_revision
        .as_ref()
        .filter(|a| Some(*a) != status.last_applied_revision.as_ref())
    {
        println!("Attempted:   {} @ {} (not applied)", a.version, a.digest);
    }
    for s in &status.verified_signers {
        let who = match (&s.key_fingerprint, &s.subject, &s.issuer) {
            (Some(fp), _, _) => format!("key {fp}"),
            (None, Some(subject), Some(issuer)) => format!("{subject} (issuer {issuer})"),
            (None, Some(subject), None) => subject.clone(),
            _ => String::new(),
        };
        println!("Signed by:   {} {who}", s.authority);
    }
    println!(
        "Generation:  {} (observed {})",
        release.metadata.generation.unwrap_or(0),
        status
            .observed_generation
            .map_or("never".into(), |g| g.to_string())
    );
    if release.spec.suspend {
        println!("Suspended:   yes (spec.suspend): nothing is pulled, applied or pruned");
    }
    println!("\nConditions:");
    let mut rows = vec![
        ["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for c in &status.conditions {
        rows.push(vec![
            c.type_.clone(),
            c.status.clone(),
            c.reason.clone(),
            age(&c.last_transition_time.0),
            c.message.clone(),
        ]);
    }
    print_table(&rows);
    if let Some(failing) = status
        .conditions
        .iter()
        .find(|c| types::STEPS.contains(&c.type_.as_str()) && c.status != "True")
    {
        println!(
            "\n{} is {}: {} ({}).",
            failing.type_,
            failing.status,
            failing.message,
            explain(&failing.type_)
        );
    }
    println!("\nInventory: {} objects", status.inventory.len());
    for e in &status.inventory {
        println!(
            "  {}",
            crate::apply::describe(&e.kind, e.namespace.as_deref(), &e.name)
        );
    }
    println!("\nEvents:");
    if recent.is_empty() {
        println!("  <none>");
    } else {
        let mut rows = vec![
            ["AGE", "TYPE", "REASON", "ACTION", "MESSAGE"]
                .map(str::to_owned)
                .to_vec(),
        ];
        for e in recent {
            let count = e
                .series
                .as_ref()
                .map_or(String::new(), |s| format!(" (x{})", s.count));
            rows.push(vec![
                event_time(e).map_or("-".into(), |t| age(&t)),
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                e.action.clone().unwrap_or_default(),
                format!("{}{count}", e.note.clone().unwrap_or_default()),
            ]);
        }
        print_table(&rows);
    }
    Ok(())
}
