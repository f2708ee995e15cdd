//! Output conventions shared by subcommands: `--output text|json`.
//!
//! With `--output json` every command prints exactly one JSON object on stdout:
//! - on success `{"ok": true, …}` with the command's fields; wherever a field is called `digest`
//!   it is the OCI manifest digest (`push`, `pull`, `sign`, `verify`), and `package` reports the
//!   archive's own hash as `archiveDigest`;
//! - on failure `{"ok": false, "reason": "…", "message": "…"}`, where `reason` is the stable
//!   CamelCase code of the error (`NoSignatures`, `Unauthorized`, `NoMatchingVersion`, …, or
//!   `Error` when there is none) — and the exit status is non-zero, with the message on stderr too.

use clap::ValueEnum;
use serde_json::{Value, json};

/// How a command prints its result on stdout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON document, for scripts.
    Json,
}

/// Prints a successful result: `fields` (an object) with `"ok": true` first.
pub fn print_success(fields: Value) {
    let mut doc = json!({"ok": true});
    if let (Some(out), Value::Object(fields)) = (doc.as_object_mut(), fields) {
        out.extend(fields);
    }
    println!("{doc}");
}

/// A failure whose JSON document the command printed itself (`lint`'s report says which charts
/// failed); `main` then prints only the message on stderr.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AlreadyReported(pub String);

/// The JSON document of a failed command, or `None` when the command printed it already.
pub fn failure(err: &anyhow::Error, message: &str) -> Option<Value> {
    if err.downcast_ref::<AlreadyReported>().is_some() {
        return None;
    }
    Some(json!({"ok": false, "reason": reason(err), "message": message}))
}

/// The stable reason code of the first error in the chain that has one.
fn reason(err: &anyhow::Error) -> &'static str {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<crate::registry::RegistryError>() {
            return e.reason();
        }
        if let Some(e) = cause.downcast_ref::<crate::mirror::MirrorError>() {
            return e.reason();
        }
        if let Some(e) = cause.downcast_ref::<crate::verify::VerifyError>() {
            return e.reason();
        }
        if let Some(e) = cause.downcast_ref::<super::verify::VerificationFailed>() {
            return e.0.reason();
        }
    }
    "Error"
}
