//! The local Fulcio/Rekor/TSA from `tests/support/sigstore-mock.js`, and the OIDC token its
//! Fulcio accepts, shared by the keyless tests. Included with
//! `#[path = "support/sigstore_mock.rs"] mod sigstore_mock;` by the test files that need node.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::support::tools::workspace_root;

/// The running mock; killed on drop.
pub struct SigstoreMock {
    child: Child,
    /// Base URL serving Fulcio, Rekor and the TSA.
    pub url: String,
    /// The trusted root JSON (its CA, log, CT log and TSA keys) the mock wrote.
    pub trusted_root: PathBuf,
}

impl SigstoreMock {
    /// Starts the mock writing its state under `dir`; `None` (and a note) when node or
    /// `@sigstore/mock` is not installed.
    pub fn start(dir: &Path) -> Option<Self> {
        let node_modules = workspace_root().join(".tools/node/node_modules");
        if !node_modules.join("@sigstore/mock").is_dir() {
            crate::support::corpus::skip(
                "sigstore mock",
                &format!(
                    "@sigstore/mock not found under {} (run `make tools`)",
                    node_modules.display()
                ),
            );
            return None;
        }
        let mut child = Command::new("node")
            .arg(workspace_root().join("tests/support/sigstore-mock.js"))
            .arg(dir)
            .env("NODE_PATH", &node_modules)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                crate::support::corpus::skip("sigstore mock", &format!("cannot run node: {e}"))
            })
            .ok()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("mock output");
        let info: serde_json::Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("sigstore mock did not start ({e}): {line:?}"));
        Some(Self {
            url: info["url"].as_str().expect("url").to_string(),
            trusted_root: PathBuf::from(info["trustedRoot"].as_str().expect("trustedRoot")),
            child,
        })
    }
}

impl Drop for SigstoreMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An (unsigned) OIDC identity token; the mock Fulcio reads the claims without checking it.
pub fn identity_token(issuer: &str, subject: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": issuer, "sub": subject, "aud": "sigstore", "iat": now, "exp": now + 600,
    });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(b"not-checked-by-the-mock")
    )
}
