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

/// The corpus folder as configured; callers check that it exists and skip with a message if not.
pub fn corpus_dir() -> PathBuf {
    from_env_or("SIGNET_CORPUS", "../shared/corpus")
}

/// The folder holding `helm`, `cosign`, `oras`.
pub fn tools_dir() -> PathBuf {
    from_env_or("SIGNET_TOOLS", ".tools/bin")
}
