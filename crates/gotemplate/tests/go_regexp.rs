//! Sprig's regular expressions against Go's own `regexp.Compile`, over generated patterns built
//! from the pieces Go's parser treats specially (groups, classes, counts, escapes, flags): every
//! pattern Go refuses is refused with Go's error text, and every pattern Go accepts compiles (a
//! `mustRegexMatch` template runs without error). Needs a Go toolchain (`SIGNET_GO` or `go` on
//! PATH), as the template oracle does. Left out: capture names that start with a digit
//! (`(?<1a>…)`), which Go takes and the `regex` crates refuse.

use signet_gotemplate::{Template, Value};

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::skip;
#[path = "support/go_oracle.rs"]
mod go_oracle;
use go_oracle::GoOracle;

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
    let Some(oracle) = GoOracle::build("go_regexp_oracle") else {
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
    let requests: Vec<serde_json::Value> = patterns.iter().map(|p| p.as_str().into()).collect();
    let answers: Vec<Option<String>> = oracle
        .ask(&requests)
        .into_iter()
        .map(|a| a.as_str().map(str::to_string))
        .collect();
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
