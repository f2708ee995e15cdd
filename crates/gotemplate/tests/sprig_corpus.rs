//! Data-driven test over Sprig v3.3.0's own cases (`sprig-cases.json` of the corpus): each case's
//! template is parsed and executed with `sprig::functions()` and its output compared exactly (for
//! an expected error, the text after Go's `error calling NAME: ` must match too). Prints
//! `corpus sprig: P/T passed` before asserting. Cases that fail for a documented reason are listed
//! in `tests/known-differences/sprig.txt`; a listed case that passes fails the test. The corpus's
//! `nondeterministic` cases (random, time, network) are checked against the property they state:
//! one whose function errors, or whose property this test has no check for, fails unless
//! `tests/known-differences/sprig-properties.txt` lists it with the reason.
//!
//! Cases that need environment variables (`env`, `expandenv`) run in a child process of this test
//! binary with those variables set, so the test never changes its own environment.

use serde_json::Value as Json;
use signet_gotemplate::{Template, Value, sprig};

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{CaseTally, corpus_dir, known_differences_file, load_case_file};

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

/// Checks a nondeterministic case's stated property. A function that errors, or a case whose
/// property this test cannot check, fails (unless listed in `known-differences/sprig-properties.txt`).
fn check_property(case: &Json) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or("");
    let template = case["template"].as_str().unwrap_or("");
    let family = name.split('#').next().unwrap_or("");
    let out = || render(template, &case["data"]).map_err(|e| format!("error: {e}"));
    let verdict = |ok: bool, got: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("{got:?} does not satisfy the property"))
        }
    };
    match family {
        "TestRandomString" => {
            let got = out()?;
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
            let got = out()?;
            let bounds: Vec<i64> = template
                .split_whitespace()
                .filter_map(|w| w.trim_end_matches('}').parse().ok())
                .collect();
            let n: i64 = got.parse().unwrap_or(i64::MIN);
            verdict(bounds.len() == 2 && n >= bounds[0] && n < bounds[1], &got)
        }
        "TestRandBytes" => {
            let (a, b) = (out()?, out()?);
            verdict(a.len() == 16 && a != b, &a)
        }
        "TestUUIDGeneration" => {
            let (a, b) = (out()?, out()?);
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
            let got = out()?;
            let mut x: Vec<char> = got.chars().collect();
            let mut y: Vec<char> = "Hello World".chars().collect();
            x.sort();
            y.sort();
            verdict(x == y, &got)
        }
        "TestBcrypt" => {
            let got = out()?;
            let ok = got.starts_with("$2a$10$") && bcrypt::verify("abc", &got).unwrap_or(false);
            verdict(ok, &got)
        }
        "TestHtpasswd" => {
            let got = out()?;
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
            let got = out()?;
            let text = if template.contains("b64enc") {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&got)
                    .map_err(|e| format!("not base64 ({e}): {got:?}"))?;
                String::from_utf8(bytes).map_err(|e| format!("not a PEM text: {e}"))?
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
            let got = out()?;
            verdict(
                got.trim_start()
                    .starts_with("-----BEGIN CERTIFICATE-----\n")
                    && got.trim_end().ends_with("-----END CERTIFICATE-----"),
                &got,
            )
        }
        "TestGetHostByName" => {
            // A lookup through the system resolver, as Go's: one of the name's addresses when it
            // resolves here, Go's `rand.Intn(0)` panic when it does not (no network).
            use std::net::ToSocketAddrs;
            let host = template.split('"').nth(1).unwrap_or_default();
            let addrs: Vec<String> = (host, 0u16)
                .to_socket_addrs()
                .map(|it| it.map(|a| a.ip().to_string()).collect())
                .unwrap_or_default();
            match render(template, &case["data"]) {
                Ok(got) => verdict(addrs.contains(&got), &got),
                Err(e) if addrs.is_empty() => verdict(e.contains("invalid argument to Intn"), &e),
                Err(e) => Err(format!("error: {e}")),
            }
        }
        "TestAgo" => {
            // Go's test only checks that `ago` renders a duration.
            let got = out()?;
            verdict(got.ends_with('s'), &got)
        }
        _ => Err(format!(
            "no check for the property {:?}",
            case["property"].as_str().unwrap_or_default()
        )),
    }
}

#[test]
fn sprig_corpus() {
    let dir = corpus_dir();
    let path = dir.join("sprig-cases.json");
    let Some(corpus) = load_case_file("corpus sprig", &path) else {
        return;
    };

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

    let mut properties = CaseTally::new(
        "sprig properties",
        &known_differences_file("sprig-properties.txt"),
    );
    for case in corpus["nondeterministic"].as_array().into_iter().flatten() {
        // Listed as `Family/N`: `#` starts a comment in the known-differences file.
        let id = case["name"].as_str().unwrap_or("?").replace('#', "/");
        properties.record(&id, &check_property(case));
    }
    properties.finish();
}
