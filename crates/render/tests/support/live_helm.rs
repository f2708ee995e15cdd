//! Rendering a chart written by a test with signet and, when it is installed, with the real helm,
//! against helm's output recorded in the test (so the comparison holds without helm too).

use std::path::Path;
use std::process::Command;

use signet_render::render::TemplateInvocation;

#[path = "../../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{skip, tools_dir};

/// Writes `files` (paths relative to the folder) into a new temporary folder.
pub fn write_tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a file in a folder")).expect("mkdir");
        std::fs::write(path, text).expect("write chart file");
    }
    dir
}

/// `helm template rel CHART` in `dir` as signet runs it: stdout, or `Error: …` as helm prints it.
fn signet(dir: &Path, chart: &str) -> String {
    let args: Vec<String> = ["template", "rel", chart].map(String::from).to_vec();
    match TemplateInvocation::parse(&args).and_then(|inv| inv.run(dir)) {
        Ok(out) => out,
        Err(e) => format!("Error: {e}"),
    }
}

/// The same with the real helm, or `None` (after saying so) when it is not installed.
fn helm(dir: &Path, chart: &str) -> Option<String> {
    let helm = tools_dir().join("helm");
    if !helm.is_file() {
        skip(
            "shared-root helm check",
            &format!("helm not found at {}", helm.display()),
        );
        return None;
    }
    let out = Command::new(helm)
        .args(["template", "rel", chart])
        .current_dir(dir)
        .output()
        .expect("helm runs");
    Some(if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        err.split("\n\nUse --debug flag")
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_string()
    })
}

/// Renders `files`' chart `chart` with signet (and helm when installed) and compares with `want`.
pub fn check(files: &[(&str, &str)], chart: &str, want: &str) {
    let dir = write_tree(files);
    if let Some(helm) = helm(dir.path(), chart) {
        assert_eq!(
            helm, want,
            "helm's output is no longer the one recorded here"
        );
    }
    let got = signet(dir.path(), chart);
    assert_eq!(got, want, "signet differs from helm");
}
