//! Go itself as a test oracle: a small Go program from `tests/<dir>/main.go`, built with the Go
//! toolchain (`SIGNET_GO`, else `go` on PATH) and asked JSON lines, one answer line per request.
//! Shared by the template and the regexp differential tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A built oracle program.
pub struct GoOracle {
    bin: PathBuf,
}

impl GoOracle {
    /// Builds `tests/<dir>/main.go`; `None` without a Go toolchain (the caller skips).
    pub fn build(dir: &str) -> Option<GoOracle> {
        let go = std::env::var_os("SIGNET_GO")
            .map(PathBuf::from)
            .unwrap_or_else(|| "go".into());
        let found = Command::new(&go)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return None;
        }
        let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir);
        std::fs::create_dir_all(&work).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(dir)
            .join("main.go");
        std::fs::copy(&src, work.join("main.go")).unwrap();
        std::fs::write(work.join("go.mod"), "module oracle\n\ngo 1.22\n").unwrap();
        let bin = work.join("oracle");
        let status = Command::new(&go)
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(&work)
            .env("GOCACHE", work.join("cache"))
            .env("GOFLAGS", "-mod=mod")
            .env("GOTOOLCHAIN", "local")
            .status()
            .expect("go build runs");
        assert!(
            status.success(),
            "building the Go oracle in tests/{dir} failed"
        );
        Some(GoOracle { bin })
    }

    /// One JSON answer per JSON request, in order.
    pub fn ask(&self, requests: &[serde_json::Value]) -> Vec<serde_json::Value> {
        let mut input = String::new();
        for r in requests {
            input.push_str(&r.to_string());
            input.push('\n');
        }
        let mut child = Command::new(&self.bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("oracle runs");
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let answers: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            answers.len(),
            requests.len(),
            "the oracle answered every request"
        );
        answers
    }
}
