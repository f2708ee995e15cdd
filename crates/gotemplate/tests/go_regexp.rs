//! Sprig's regular expressions against Go's own `regexp.Compile`, over generated patterns built
//! from the pieces Go's parser treats specially (groups, classes, counts, escapes, flags): every
//! pattern Go refuses is refused with Go's error text, and every pattern Go accepts compiles (a
//! `mustRegexMatch` template runs without error). Needs a Go toolchain (`SIGNET_GO` or `go` on
//! PATH), as the template oracle does. Left out: capture names that start with a digit
//! (`(?<1a>…)`), which Go takes and the `regex` crates refuse.

use std::io::Write;
use std::process::{Command, Stdio};

use signet_gotemplate::{Template, Value};

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::skip;

fn go_toolchain() -> Option<std::path::PathBuf> {
    let go = std::env::var_os("SIGNET_GO")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "go".into());
    let ok = Command::new(&go)
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(go)
}

/// Go's answer (error text or `None`) for each pattern.
fn ask_go(go: &std::path::Path, patterns: &[String]) -> Vec<Option<String>> {
    let work = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("go_regexp_oracle");
    std::fs::create_dir_all(&work).unwrap();
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go_regexp_oracle/main.go");
    std::fs::copy(&src, work.join("main.go")).unwrap();
    std::fs::write(work.join("go.mod"), "module oracle\n\ngo 1.22\n").unwrap();
    let bin = work.join("oracle");
    let status = Command::new(go)
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&work)
        .env("GOCACHE", work.join("cache"))
        .env("GOTOOLCHAIN", "local")
        .status()
        .expect("go build runs");
    assert!(status.success(), "building the Go regexp oracle failed");
    let mut input = String::new();
    for p in patterns {
        input.push_str(&serde_json::to_string(p).unwrap());
        input.push('\n');
    }
    let mut child = Command::new(&bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("oracle runs");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let answers: Vec<Option<String>> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        answers.len(),
        patterns.len(),
        "the oracle answered every pattern"
    );
    answers
}

/// A small deterministic generator (xorshift), so a failure names a reproducible pattern.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Pieces that matter to Go's parser, and plain text between them.
const PIECES: &[&str] = &[
    "a",
    "b",
    "x",
    "0",
    "7",
    "_",
    "-",
    ".",
    "^",
    "$",
    "|",
    "(",
    ")",
    "[",
    "]",
    "[^",
    "{",
    "}",
    "*",
    "+",
    "?",
    "*?",
    "{2}",
    "{2,}",
    "{2,3}",
    "{3,2}",
    "{0}",
    "{0,}",
    "{1001}",
    "{01}",
    "{,5}",
    "{a}",
    "{40}",
    "(?:",
    "(?i)",
    "(?i:",
    "(?-s)",
    "(?i-)",
    "(?P<n>",
    "(?<m>",
    "(?P<>",
    "(?<_1>",
    "(?=",
    "(?!",
    "(?<=",
    "(?z)",
    "(?",
    "\\",
    "\\d",
    "\\W",
    "\\s",
    "\\b",
    "\\B",
    "\\A",
    "\\z",
    "\\C",
    "\\Q.*",
    "\\E",
    "\\1",
    "\\8",
    "\\12",
    "\\07",
    "\\x41",
    "\\x4",
    "\\x{263a}",
    "\\x{}",
    "\\x{zz}",
    "\\q",
    "\\.",
    "\\{",
    "\\-",
    "\\pL",
    "\\PN",
    "\\p{Greek}",
    "\\p{^Han}",
    "\\p{Foo}",
    "\\p{",
    "\\pZ",
    "[:alpha:]",
    "[:foo:]",
    "[:^digit:]",
    "a-z",
    "z-a",
    "\\n",
    "\\t",
    "é",
];

fn pattern(rng: &mut Rng) -> String {
    let len = 1 + (rng.next() % 6) as usize;
    (0..len).map(|_| rng.pick(PIECES)).collect()
}

#[test]
fn patterns_go_refuses_are_refused_in_gos_words_and_the_rest_compile() {
    let Some(go) = go_toolchain() else {
        skip(
            "go-regexp-oracle",
            "no Go toolchain (set SIGNET_GO or put go on PATH)",
        );
        return;
    };
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut patterns: Vec<String> = (0..4000).map(|_| pattern(&mut rng)).collect();
    patterns.sort();
    patterns.dedup();
    let answers = ask_go(&go, &patterns);
    let mut failures = Vec::new();
    let (mut refused, mut accepted) = (0, 0);
    for (p, want) in patterns.iter().zip(&answers) {
        let got = signet_gotemplate::sprig::go_regexp_syntax_error(p);
        if &got != want {
            failures.push(format!("{p:?}: go {want:?}, signet {got:?}"));
            continue;
        }
        let text = format!(
            "{{{{ mustRegexMatch {} \"x\" }}}}",
            serde_json::to_string(p).unwrap()
        );
        let mut t = Template::with_funcs("t", signet_gotemplate::sprig::functions());
        let ran = t.parse(&text).and_then(|t| t.execute(&Value::Nil));
        match (want, ran) {
            (None, Err(e)) => failures.push(format!("{p:?}: Go compiles it, signet: {e}")),
            (Some(want), Err(e)) if !e.to_string().ends_with(want.as_str()) => {
                failures.push(format!("{p:?}: go {want:?}, signet template {e}"))
            }
            (Some(_), Ok(_)) => failures.push(format!("{p:?}: Go refuses it, signet ran it")),
            (None, Ok(_)) => accepted += 1,
            (Some(_), Err(_)) => refused += 1,
        }
    }
    eprintln!(
        "go-regexp-oracle: {} patterns, {refused} refused and {accepted} accepted as Go does",
        patterns.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} patterns differ from Go:\n{}",
        failures.len(),
        patterns.len(),
        failures.join("\n")
    );
}
