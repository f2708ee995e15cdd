//! Data-driven test over Sprig v3.3.0's own cases (`sprig-cases.json` of the corpus): each case's
//! template is parsed and executed with `sprig::functions()` and its output compared exactly (for
//! an expected error, the text after Go's `error calling NAME: ` must match too). Prints
//! `corpus sprig: P/T passed` before asserting. Cases that fail for a documented reason are listed
//! in `tests/known-differences/sprig.txt`; a listed case that passes fails the test. The corpus's
//! `nondeterministic` cases (random, time, network) are checked against the property they state
//! where signet can produce the value.
//!
//! Cases that need environment variables (`env`, `expandenv`) run in a child process of this test
//! binary with those variables set, so the test never changes its own environment.

use std::io::Write;

use serde_json::Value as Json;
use signet_gotemplate::{Template, Value, sprig};

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{CaseTally, corpus_dir, known_differences_file};

fn render(template: &str, data: &Json) -> Result<String, String> {
    let mut t = Template::with_funcs("test", sprig::functions());
    t.parse(template).map_err(|e| e.to_string())?;
    t.execute(&Value::from_json(data))
        .map_err(|e| e.to_string())
}

/// The function's own message in a Go template error: what follows `error calling NAME: `.
fn function_message(err: &str) -> Option<&str> {
    let at = err.find("error calling ")?;
    let rest = &err[at + "error calling ".len()..];
    rest.split_once(": ").map(|(_, msg)| msg)
}

fn run_case(case: &Json) -> Result<(), String> {
    let template = case["template"].as_str().unwrap_or("");
    let expected = case["expected"].as_str().unwrap_or("");
    let result = render(template, &case["data"]);
    if case["expect_error"].as_bool().unwrap_or(false) {
        let err = match result {
            Ok(out) => return Err(format!("expected an error, got {out:?}")),
            Err(e) => e,
        };
        let go_error = case["go_error"].as_str().unwrap_or("");
        if let Some(want) = function_message(go_error) {
            let got = function_message(&err).unwrap_or(&err);
            if got != want {
                return Err(format!("error {got:?} want {want:?}"));
            }
        }
        return Ok(());
    }
    match result {
        Ok(out) if out == expected => Ok(()),
        Ok(out) => Err(format!("got {out:?} want {expected:?}")),
        Err(e) => Err(format!("unexpected error: {e}")),
    }
}

/// Environment variable naming the case [`env_case_child`] runs.
const CHILD_CASE: &str = "SIGNET_SPRIG_ENV_CASE";

/// Runs `case` in a child process of this test binary with `env` set.
fn run_case_with_env(case: &Json, env: &serde_json::Map<String, Json>) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating the test binary: {e}"))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        "--exact",
        "env_case_child",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_CASE, case.to_string());
    for (k, v) in env {
        cmd.env(k, v.as_str().unwrap_or(""));
    }
    let out = cmd
        .output()
        .map_err(|e| format!("running the env child: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let verdict = stdout
        .lines()
        .find_map(|l| l.split_once("SPRIG-ENV-CASE ").map(|(_, v)| v))
        .ok_or_else(|| format!("env child printed no verdict: {stdout}"))?;
    match verdict {
        "ok" => Ok(()),
        other => Err(other.to_string()),
    }
}

/// The child side of [`run_case_with_env`]; ignored unless invoked with `--ignored` by it.
#[test]
#[ignore = "run by sprig_corpus in a child process with the case's environment"]
fn env_case_child() {
    let Ok(text) = std::env::var(CHILD_CASE) else {
        return;
    };
    let case: Json = serde_json::from_str(&text).expect("the parent passes the case as JSON");
    match run_case(&case) {
        Ok(()) => println!("SPRIG-ENV-CASE ok"),
        Err(e) => println!("SPRIG-ENV-CASE {}", e.replace('\n', "\\n")),
    }
}

fn all_chars(s: &str, n: usize, ok: impl Fn(char) -> bool) -> bool {
    s.chars().count() == n && s.chars().all(ok)
}

/// Checks a nondeterministic case's stated property. `None`: signet does not produce this value
/// (network lookups; key types it cannot generate), so there is nothing to check.
fn check_property(case: &Json) -> Option<Result<(), String>> {
    let name = case["name"].as_str().unwrap_or("");
    let template = case["template"].as_str().unwrap_or("");
    let family = name.split('#').next().unwrap_or("");
    let out = || render(template, &case["data"]);
    let verdict = |ok: bool, got: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("{name}: {got:?} does not satisfy the property"))
        }
    };
    let result = match family {
        "TestRandomString" => {
            let got = out().ok()?;
            let ok = if template.contains("randAlphaNum") {
                all_chars(&got, 5, |c| c.is_ascii_alphanumeric())
            } else if template.contains("randAlpha") {
                all_chars(&got, 5, |c| c.is_ascii_alphabetic())
            } else if template.contains("randNumeric") {
                all_chars(&got, 5, |c| c.is_ascii_digit())
            } else {
                all_chars(&got, 5, |c| (' '..='~').contains(&c))
            };
            verdict(ok, &got)
        }
        "TestRandomInt" => {
            let got = out().ok()?;
            let bounds: Vec<i64> = template
                .split_whitespace()
                .filter_map(|w| w.trim_end_matches('}').parse().ok())
                .collect();
            let n: i64 = got.parse().unwrap_or(i64::MIN);
            verdict(bounds.len() == 2 && n >= bounds[0] && n < bounds[1], &got)
        }
        "TestRandBytes" => {
            let (a, b) = (out().ok()?, out().ok()?);
            verdict(a.len() == 16 && a != b, &a)
        }
        "TestUUIDGeneration" => {
            let (a, b) = (out().ok()?, out().ok()?);
            let shape = a.len() == 36
                && a.char_indices().all(|(i, c)| {
                    if [8, 13, 18, 23].contains(&i) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                })
                && a.as_bytes()[14] == b'4'
                && b"89ab".contains(&a.as_bytes()[19]);
            verdict(shape && a != b, &a)
        }
        "TestShuffle" => {
            let got = out().ok()?;
            let mut x: Vec<char> = got.chars().collect();
            let mut y: Vec<char> = "Hello World".chars().collect();
            x.sort();
            y.sort();
            verdict(x == y, &got)
        }
        "TestBcrypt" => {
            let got = out().ok()?;
            let ok = got.starts_with("$2a$10$") && bcrypt::verify("abc", &got).unwrap_or(false);
            verdict(ok, &got)
        }
        "TestHtpasswd" => {
            let got = out().ok()?;
            let user = case["data"]["Username"].as_str().unwrap_or("");
            let password = case["data"]["Password"].as_str().unwrap_or("");
            let ok = if user.contains(':') {
                got == format!("invalid username: {user}")
            } else {
                got.strip_prefix(&format!("{user}:"))
                    .is_some_and(|h| bcrypt::verify(password, h).unwrap_or(false))
            };
            verdict(ok, &got)
        }
        "TestGenPrivateKey" => {
            let got = out().ok()?;
            let text = if template.contains("b64enc") {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&got)
                    .ok()?;
                String::from_utf8(bytes).ok()?
            } else {
                got.clone()
            };
            let label = if template.contains("ecdsa") {
                "EC PRIVATE KEY"
            } else if template.contains("ed25519") {
                "PRIVATE KEY"
            } else if template.contains("dsa") {
                "DSA PRIVATE KEY"
            } else {
                "RSA PRIVATE KEY"
            };
            verdict(
                text.starts_with(&format!("-----BEGIN {label}-----\n"))
                    && text.trim_end().ends_with(&format!("-----END {label}-----")),
                &got,
            )
        }
        "TestGenCA"
        | "TestGenCAWithKey"
        | "TestGenSelfSignedCert"
        | "TestGenSelfSignedCertWithKey"
        | "TestGenSignedCert"
        | "TestGenSignedCertWithKey" => {
            let got = out().ok()?;
            verdict(
                got.trim_start()
                    .starts_with("-----BEGIN CERTIFICATE-----\n")
                    && got.trim_end().ends_with("-----END CERTIFICATE-----"),
                &got,
            )
        }
        "TestAgo" => {
            // Go's test only checks that `ago` renders a duration.
            let got = out().ok()?;
            verdict(got.ends_with('s'), &got)
        }
        _ => return None,
    };
    Some(result)
}

#[test]
fn sprig_corpus() {
    let dir = corpus_dir();
    let path = dir.join("sprig-cases.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        let _ = writeln!(
            std::io::stderr(),
            "sprig corpus not found at {}; skipping",
            path.display()
        );
        return;
    };
    let corpus: Json = serde_json::from_str(&text).expect("sprig-cases.json is JSON");

    let mut results: Vec<(String, Result<(), String>)> = Vec::new();
    for case in corpus["cases"].as_array().into_iter().flatten() {
        let result = match case["env"].as_object() {
            Some(env) => run_case_with_env(case, env),
            None => run_case(case),
        };
        results.push((case["id"].as_str().unwrap_or("?").to_string(), result));
    }
    let mut tally = CaseTally::new("sprig", &known_differences_file("sprig.txt"));
    for (id, result) in &results {
        tally.record(id, result);
    }
    tally.finish();

    let mut checked = 0;
    let mut property_failures = Vec::new();
    let nondeterministic = corpus["nondeterministic"].as_array();
    for case in nondeterministic.into_iter().flatten() {
        if let Some(r) = check_property(case) {
            checked += 1;
            if let Err(e) = r {
                property_failures.push(e);
            }
        }
    }
    let nd_total = nondeterministic.map_or(0, Vec::len);
    eprintln!(
        "sprig nondeterministic: {}/{checked} checked properties hold ({nd_total} listed; the rest need the network or key types signet cannot generate)",
        checked - property_failures.len()
    );

    assert!(
        property_failures.is_empty(),
        "nondeterministic properties failed: {property_failures:?}"
    );
}
