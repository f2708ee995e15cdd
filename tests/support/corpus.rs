//! Where the shared test corpus and the project-local tools are, for every test crate and bench of
//! the workspace (the member crates include this file with `#[path]`, so one rule serves all).
//!
//! `SIGNET_CORPUS` names the corpus folder; a relative value is taken from the workspace root, like
//! the default `../shared/corpus`, so it means the same whichever crate's test runs (cargo runs each
//! test in its own package folder). `SIGNET_TOOLS` likewise names the tools folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The workspace root: the nearest ancestor of the including crate holding `crates/` and Cargo.toml.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|p| p.join("Cargo.toml").is_file() && p.join("crates").is_dir())
        .unwrap_or(manifest)
        .to_path_buf()
}

fn from_env_or(var: &str, default: &str) -> PathBuf {
    let root = workspace_root();
    match std::env::var_os(var) {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            if p.is_absolute() { p } else { root.join(p) }
        }
        _ => root.join(default),
    }
}

/// The corpus folder as configured; callers check that it exists and [`skip`] if not.
pub fn corpus_dir() -> PathBuf {
    from_env_or("SIGNET_CORPUS", "../shared/corpus")
}

/// The folder holding `helm`, `cosign`, `oras`.
pub fn tools_dir() -> PathBuf {
    from_env_or("SIGNET_TOOLS", ".tools/bin")
}

/// Counts a case set's results against its known-differences file and reports them.
///
/// The file lists one case id per line (the first word; the rest of the line and anything after
/// `#` is the reason). A listed case must fail — when it starts passing, or names no case, the set
/// fails, so the list stays honest. An unlisted case must pass.
pub struct CaseTally {
    set: String,
    file: PathBuf,
    known: std::collections::BTreeSet<String>,
    seen: std::collections::BTreeSet<String>,
    total: usize,
    passed: usize,
    problems: Vec<String>,
    partial: bool,
}

impl CaseTally {
    pub fn new(set: &str, known_differences: &Path) -> CaseTally {
        let known = std::fs::read_to_string(known_differences)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split('#').next()?.split_whitespace().next())
            .map(str::to_string)
            .collect();
        CaseTally {
            set: set.to_string(),
            file: known_differences.to_path_buf(),
            known,
            seen: Default::default(),
            total: 0,
            passed: 0,
            problems: Vec::new(),
            partial: false,
        }
    }

    pub fn record<T>(&mut self, id: &str, result: &Result<T, String>) {
        self.total += 1;
        self.seen.insert(id.to_string());
        let listed = self.known.contains(id);
        match result {
            Ok(_) => {
                self.passed += 1;
                if listed {
                    self.problems.push(format!(
                        "{id}: passes but is listed in {} (remove it)",
                        self.file.display()
                    ));
                }
            }
            Err(e) if listed => eprintln!("known difference {id}: {e}"),
            Err(e) => self.problems.push(format!("{id}: {e}")),
        }
    }

    /// A filtered run: listed cases that did not run are not an error.
    pub fn only_some_cases_ran(&mut self) {
        self.partial = true;
    }

    /// Prints `corpus SET: P/T passed` (straight to stderr, so it shows under the test harness's
    /// capture), then fails the test if any case broke the rules above.
    pub fn finish(mut self) {
        use std::io::Write;
        let unseen = if self.partial {
            Vec::new()
        } else {
            self.known.difference(&self.seen).cloned().collect()
        };
        for id in unseen {
            self.problems.push(format!(
                "{id}: listed in {} but no such case ran",
                self.file.display()
            ));
        }
        let _ = writeln!(
            std::io::stderr(),
            "corpus {}: {}/{} passed",
            self.set,
            self.passed,
            self.total
        );
        for p in &self.problems {
            eprintln!("FAIL {p}");
        }
        assert!(
            self.problems.is_empty(),
            "corpus {}: {} problem(s), first: {}",
            self.set,
            self.problems.len(),
            self.problems[0]
        );
    }
}

/// `tests/known-differences/NAME` of the including crate.
pub fn known_differences_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/known-differences")
        .join(name)
}

/// A case file's string array (`args`, `input`, …) as owned strings; a missing field is empty, and
/// a non-string entry reads as "".
pub fn json_strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Whether this is a CI run (`CI=true`, as CI services set it): there a missing corpus or tool
/// fails the test instead of skipping it, so a broken set-up cannot pass as green.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// For a test that cannot run because `why` (a corpus or tool is missing): says
/// `WHO: skipped, WHY` on stderr (past the harness's capture) so the caller returns; in a CI run
/// ([`in_ci`]) panics instead.
pub fn skip(who: &str, why: &str) {
    use std::io::Write;
    assert!(
        !in_ci(),
        "{who}: {why}; with CI=true a missing corpus or tool fails the run"
    );
    let _ = writeln!(std::io::stderr(), "{who}: skipped, {why}");
}

/// The JSON case file `path`, parsed; when it cannot be read, [`skip`]s (`PATH not found`) and
/// gives `None`, so the caller skips its set.
pub fn load_case_file(who: &str, path: &Path) -> Option<serde_json::Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        skip(who, &format!("{} not found", path.display()));
        return None;
    };
    match serde_json::from_str(&text) {
        Ok(doc) => Some(doc),
        Err(e) => panic!("{}: not valid JSON: {e}", path.display()),
    }
}
