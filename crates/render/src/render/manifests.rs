//! From rendered files to `helm template` output: split each file into YAML documents (Helm's
//! `SplitManifests`), read each document's head, separate hooks, sort in Helm's install order, and
//! print with `# Source:` headers, `--show-only`, `--include-crds` and `--skip-tests` as Helm does.

use std::collections::BTreeMap;

use signet_gotemplate::Value;

/// Kinds in the order Helm installs them; unknown kinds go last, sorted by kind name.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// One YAML document of a rendered template.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The template path, e.g. `mychart/templates/deployment.yaml`.
    pub path: String,
    pub content: String,
    pub kind: String,
    /// For hooks: the events it runs on (`test` hooks are skipped by `--skip-tests`).
    pub hook_events: Vec<String>,
}

/// A rendered document that is not valid YAML (Helm: `YAML parse error on FILE: …`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("YAML parse error on {path}: {message}")]
pub struct ManifestError {
    pub path: String,
    pub message: String,
    /// Every rendered file of the release (full path → text) when the error ends a whole render:
    /// what `helm template --debug` prints to help find the bad document. Empty for one file.
    pub rendered: BTreeMap<String, String>,
}

/// Hooks and ordinary manifests, each sorted in install order.
#[derive(Debug, Clone, Default)]
pub struct SortedManifests {
    pub hooks: Vec<Manifest>,
    pub manifests: Vec<Manifest>,
}

/// Helm's `SplitManifests`: documents of a file in order, trimmed, empty ones dropped.
pub fn split_manifests(file: &str) -> Vec<String> {
    let file = file.trim();
    let mut docs = Vec::new();
    let mut last = 0;
    for (start, end) in separators(file) {
        docs.push(&file[last..start]);
        last = end;
    }
    docs.push(&file[last..]);
    docs.into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim().to_string())
        .collect()
}

/// Go's `\s`: ASCII whitespace without the vertical tab.
fn is_go_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// `(start, end)` of each match of Helm's separator `(?:^|\s*\n)---\s*` in `text`, leftmost
/// first, as Go's regexp finds them. Scanned by hand: the pattern is anchored on a literal
/// `\n---`, and compiling it cost more than most files take to scan.
fn separators(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let space_run_end = move |mut i: usize| {
        while i < bytes.len() && is_go_space(bytes[i]) {
            i += 1;
        }
        i
    };
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos == 0 && text.starts_with("---") {
            // `^---`, the first alternative, wins at the start.
            pos = space_run_end(3);
            return Some((0, pos));
        }
        let newline = pos + text.get(pos..)?.find("\n---")?;
        // The match starts where the whitespace before that newline does (not before `pos`:
        // matches do not overlap), and takes the whitespace after the dashes.
        let mut start = newline;
        while start > pos && is_go_space(bytes[start - 1]) {
            start -= 1;
        }
        pos = space_run_end(newline + 4);
        Some((start, pos))
    })
}

/// Helm's `SortManifests` over the rendered files (path → text). Partials (`_*`) and blank files are
/// skipped; documents with an unknown hook are dropped as Helm drops them.
pub fn sort_manifests(files: &BTreeMap<String, String>) -> Result<SortedManifests, ManifestError> {
    assemble(
        files
            .iter()
            .map(|(path, content)| classify_file(path, content)),
    )
}

/// The per-file half of [`sort_manifests`]: one file's documents as manifests and hooks, unsorted.
/// Independent of every other file, so files can be classified on any thread in any order.
pub fn classify_file(path: &str, content: &str) -> Result<SortedManifests, ManifestError> {
    let mut out = SortedManifests::default();
    let base = path.rsplit('/').next().unwrap_or(path);
    if base.starts_with('_') || content.trim().is_empty() {
        return Ok(out);
    }
    for doc in split_manifests(content) {
        // Bytes that are not UTF-8 (kept escaped by the engine) or characters YAML forbids:
        // go-yaml's reader refuses them before its scanner gets far.
        if let Some(problem) = crate::yaml::document_reader_problem(&doc) {
            return Err(ManifestError {
                path: path.to_string(),
                message: format!("error converting YAML to JSON: yaml: {problem}"),
                rendered: BTreeMap::new(),
            });
        }
        // Helm decodes the whole document (so any YAML error fails) but reads only its head.
        // go-yaml's words and line numbering, as Helm prints them.
        let head = crate::yaml::parse_yaml_head(&doc, &["kind", "metadata"]).map_err(|e| {
            ManifestError {
                path: path.to_string(),
                message: e.helm_message(),
                rendered: BTreeMap::new(),
            }
        })?;
        let (kind, annotations) = read_head(&head).map_err(|message| ManifestError {
            path: path.to_string(),
            message,
            rendered: BTreeMap::new(),
        })?;
        let manifest = Manifest {
            path: path.to_string(),
            content: doc,
            kind,
            hook_events: Vec::new(),
        };
        match annotations.and_then(|a| a.get("helm.sh/hook").cloned()) {
            None => out.manifests.push(manifest),
            Some(hooks) => {
                let events: Vec<String> = hooks
                    .split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .collect();
                if events.iter().all(|e| HOOK_EVENTS.contains(&e.as_str())) {
                    out.hooks.push(Manifest {
                        hook_events: events,
                        ..manifest
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The other half of [`sort_manifests`]: classified files in path order → install order. The
/// first file in path order that failed is the error, as in Helm's single pass.
pub fn assemble(
    files: impl IntoIterator<Item = Result<SortedManifests, ManifestError>>,
) -> Result<SortedManifests, ManifestError> {
    let mut out = SortedManifests::default();
    for file in files {
        let file = file?;
        out.hooks.extend(file.hooks);
        out.manifests.extend(file.manifests);
    }
    sort_by_kind(&mut out.hooks);
    sort_by_kind(&mut out.manifests);
    Ok(out)
}

type Annotations = BTreeMap<String, String>;

/// Reads `kind` and `metadata.annotations` the way Go unmarshals Helm's `SimpleHead`; a field of the
/// wrong type is an error like Go's.
fn read_head(doc: &Value) -> Result<(String, Option<Annotations>), String> {
    let Value::Map(m) = doc else {
        return match doc {
            Value::Nil => Ok((String::new(), None)),
            other => Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type releaseutil.SimpleHead",
                go_json_kind(other)
            )),
        };
    };
    let m = m.borrow();
    let kind = match m.get("kind") {
        None | Some(Value::Nil) => String::new(),
        Some(Value::String(s)) => s.to_string(),
        Some(other) => {
            return Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field SimpleHead.kind of type string",
                go_json_kind(other)
            ));
        }
    };
    let annotations = match m.get("metadata") {
        Some(Value::Map(md)) => match md.borrow().get("annotations") {
            Some(Value::Map(a)) => {
                let a = a.borrow();
                let mut out = Annotations::new();
                for (k, v) in a.iter() {
                    match v {
                        Value::String(s) => {
                            out.insert(k.clone(), s.to_string());
                        }
                        Value::Nil => {
                            out.insert(k.clone(), String::new());
                        }
                        other => {
                            return Err(format!(
                                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field .metadata.annotations of type string",
                                go_json_kind(other)
                            ));
                        }
                    }
                }
                (!out.is_empty()).then_some(out)
            }
            _ => None,
        },
        _ => None,
    };
    Ok((kind, annotations))
}

use crate::yaml::json_kind as go_json_kind;

fn sort_by_kind(items: &mut [Manifest]) {
    let rank = |k: &str| INSTALL_ORDER.iter().position(|x| *x == k);
    items.sort_by(|a, b| match (rank(&a.kind), rank(&b.kind)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind),
    });
}

/// What `helm template` prints, before `--show-only` filtering.
pub struct TemplateOutputOptions<'a> {
    pub include_crds: bool,
    pub skip_tests: bool,
    pub disable_hooks: bool,
    /// `(full path, content)` of the chart tree's CRD files, when `include_crds`.
    pub crds: &'a [(String, String)],
}

/// The release manifest plus hooks, formatted exactly as `helm template` writes to stdout.
pub fn template_output(sorted: &SortedManifests, opts: &TemplateOutputOptions) -> String {
    let crds = opts
        .crds
        .iter()
        .filter(|_| opts.include_crds)
        .map(|(name, content)| (name.as_str(), content.as_str()));
    let manifests = sorted
        .manifests
        .iter()
        .map(|m| (m.path.as_str(), m.content.as_str()));
    let hooks = sorted
        .hooks
        .iter()
        .filter(|h| {
            let test = h
                .hook_events
                .iter()
                .any(|e| e == "test" || e == "test-success");
            !(opts.disable_hooks || (opts.skip_tests && test))
        })
        .map(|h| (h.path.as_str(), h.content.as_str()));
    // Written once into a string of the final size: a big chart's output is megabytes, and
    // building it by growing and copying showed in the whole command's time.
    let size: usize = crds
        .clone()
        .chain(manifests.clone())
        .chain(hooks.clone())
        .map(|(name, content)| name.len() + content.len() + "---\n# Source: \n\n".len())
        .sum();
    let mut out = String::with_capacity(size + 1);
    let push = |out: &mut String, (name, content): (&str, &str)| {
        out.push_str("---\n# Source: ");
        out.push_str(name);
        out.push('\n');
        out.push_str(content);
        out.push('\n');
    };
    crds.chain(manifests).for_each(|doc| push(&mut out, doc));
    // Helm trims the manifest part (which, when not empty, starts with `---`) and ends it with
    // a newline; hooks follow untrimmed.
    out.truncate(out.trim_end().len());
    out.push('\n');
    hooks.for_each(|doc| push(&mut out, doc));
    out
}

/// `--show-only`: keep documents whose template path (without the chart name) matches one of the
/// globs, in the order Helm prints them; error for a pattern that matches nothing.
pub fn show_only(output: &str, patterns: &[String]) -> Result<String, String> {
    let docs = split_manifests(output);
    let name_re = regex::Regex::new(r"# Source: [^/]+/(.+)").expect("static regex");
    let mut out = String::new();
    for pattern in patterns {
        let mut missing = true;
        for doc in &docs {
            let Some(caps) = name_re.captures(doc) else {
                continue;
            };
            let path = &caps[1];
            if crate::chart::ignore::glob_match(pattern, path).unwrap_or(false) {
                out.push_str(&format!("---\n{doc}\n"));
                missing = false;
            }
        }
        if missing {
            return Err(format!("could not find template {pattern} in chart"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_helm() {
        assert_eq!(
            split_manifests("a: 1\n---\nb: 2\n---\n\n"),
            vec!["a: 1", "b: 2"]
        );
        assert_eq!(split_manifests("---\n# c\n---\nx: 1"), vec!["# c", "x: 1"]);
        assert!(split_manifests("  \n").is_empty());
    }

    #[test]
    fn sorts_by_kind_then_input_order_and_separates_hooks() {
        let mut files = BTreeMap::new();
        files.insert(
            "c/templates/a.yaml".to_string(),
            "kind: Deployment\nmetadata:\n  name: d\n---\nkind: Service\n".to_string(),
        );
        files.insert(
            "c/templates/b.yaml".to_string(),
            "kind: Foo\n---\nkind: ConfigMap\n".to_string(),
        );
        files.insert(
            "c/templates/hook.yaml".to_string(),
            "kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: test\n".to_string(),
        );
        files.insert(
            "c/templates/unknown-hook.yaml".to_string(),
            "kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: nope\n".to_string(),
        );
        files.insert(
            "c/templates/_helpers.tpl".to_string(),
            "kind: X".to_string(),
        );
        let sorted = sort_manifests(&files).unwrap();
        let kinds: Vec<_> = sorted.manifests.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, vec!["ConfigMap", "Service", "Deployment", "Foo"]);
        assert_eq!(sorted.hooks.len(), 1);
        let out = template_output(
            &sorted,
            &TemplateOutputOptions {
                include_crds: false,
                skip_tests: true,
                disable_hooks: false,
                crds: &[],
            },
        );
        assert!(out.starts_with("---\n# Source: c/templates/b.yaml\nkind: ConfigMap\n---\n"));
        assert!(!out.contains("helm.sh/hook"));
        assert!(
            show_only(&out, &["templates/a.yaml".into()])
                .unwrap()
                .contains("Deployment")
        );
        assert_eq!(
            show_only(&out, &["x".into()]).unwrap_err(),
            "could not find template x in chart"
        );
    }

    #[test]
    fn invalid_yaml_names_the_file() {
        let mut files = BTreeMap::new();
        files.insert("c/templates/bad.yaml".to_string(), "a: b: c\n".to_string());
        let err = sort_manifests(&files).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("YAML parse error on c/templates/bad.yaml: "),
            "{err}"
        );
    }

    /// The hand scanner finds the matches Helm's regex finds, over generated texts made of the
    /// characters that matter to it.
    #[test]
    fn separators_are_found_like_helms_regex() {
        let helm = regex::Regex::new(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*").unwrap();
        let alphabet = ['-', '-', '-', '\n', '\n', ' ', '\t', '\r', '\x0b', 'a', '#'];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 14) as usize;
            let text: String = (0..len)
                .map(|i| alphabet[((seed >> (4 + 4 * i)) % alphabet.len() as u64) as usize])
                .collect();
            let expected: Vec<(usize, usize)> = helm
                .find_iter(&text)
                .map(|m| (m.start(), m.end()))
                .collect();
            assert_eq!(separators(&text).collect::<Vec<_>>(), expected, "{text:?}");
        }
    }
}
