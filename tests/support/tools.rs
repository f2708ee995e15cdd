//! Where things are: the workspace root, the tools folder (`SIGNET_TOOLS`, else
//! `<root>/.tools/bin`), the corpus, and the `signet` binary under test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[allow(unused_imports)] // each test binary uses a different subset
pub use super::corpus::{tools_dir, workspace_root};

/// The path of tool `name` in the tools folder (or `/usr/bin` for system packages), or `None`
/// after printing one line saying where it was looked for.
pub fn tool(name: &str) -> Option<PathBuf> {
    let candidates = [tools_dir().join(name), Path::new("/usr/bin").join(name)];
    for c in &candidates {
        if c.is_file() {
            return Some(c.clone());
        }
    }
    super::corpus::skip(
        &format!("tool {name}"),
        &format!(
            "not found (looked in {} and /usr/bin; run `make tools`)",
            tools_dir().display()
        ),
    );
    None
}

/// The corpus directory (`SIGNET_CORPUS`, else `<root>/../shared/corpus`), if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = super::corpus::corpus_dir();
    if dir.is_dir() {
        Some(dir)
    } else {
        super::corpus::skip("corpus", &format!("not found at {}", dir.display()));
        None
    }
}

/// A fresh temporary directory, removed on drop.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("signet-test-")
        .tempdir()
        .expect("create temp dir")
}

/// Runs `cmd`, returning its output; panics only if it cannot be started.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `cmd` and panics with its stdout/stderr unless it succeeded; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cmd` with `input` written to its stdin (then closed), capturing stdout and stderr;
/// panics only if it cannot be started. For `--password-stdin` style flags.
pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input)
            .unwrap_or_else(|e| panic!("cannot write to the stdin of {cmd:?}: {e}"));
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {cmd:?}: {e}"))
}
