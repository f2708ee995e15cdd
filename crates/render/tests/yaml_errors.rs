//! Manifests that are not valid YAML fail with go-yaml's words and line numbers, as helm v4.1.4
//! prints them (`YAML parse error on FILE: error converting YAML to JSON: yaml: line N: …`).
//! Helm's messages are recorded here and, when helm is installed, checked live.

#[path = "support/live_helm.rs"]
mod live_helm;
use live_helm::check;

/// (template text, helm's error line).
const CASES: &[(&str, &str)] = &[
    (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata\n  a: b\n",
        "line 6: could not find expected ':'",
    ),
    (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data:\n  a: b\n",
        "line 4: did not find expected key",
    ),
    (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n    c: d\n",
        "line 7: mapping values are not allowed in this context",
    ),
    (
        "a: [1, 2\nb: 3\n",
        "line 1: did not find expected ',' or ']'",
    ),
    ("a: {x: 1\n", "line 1: did not find expected ',' or '}'"),
    (
        "a: \"unterminated\nb: 2\n",
        "line 2: found unexpected end of stream",
    ),
    (
        "a: b: c\n",
        "mapping values are not allowed in this context",
    ),
    ("- a\nb: 1\n", "line 1: did not find expected '-' indicator"),
    (
        "a:\n\t- b\n",
        "line 2: found character that cannot start any token",
    ),
    (
        "kind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    app: a\n   foo: b\n",
        "line 5: did not find expected key",
    ),
    ("a: &x 1\nb: *y\n", "unknown anchor 'y' referenced"),
    ("a: 'x\n", "found unexpected end of stream"),
    ("a: @b\n", "found character that cannot start any token"),
    ("a: |\n  x\n b\n", "line 2: did not find expected key"),
    (
        "key: value\n---\nother: [\n",
        "line 1: did not find expected node content",
    ),
    ("a: b\n\u{1}\n", "control characters are not allowed"),
    (
        "a: 1\n  b: 2\n",
        "line 2: mapping values are not allowed in this context",
    ),
    (
        "a:\n  - 1\n  b: 2\n",
        "line 2: did not find expected '-' indicator",
    ),
    ("a: \"x\\q\"\n", "found unknown escape character"),
    ("a: !!int x\n", "cannot decode !!str `x` as a !!int"),
    (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n    image: b\n   ports: []\n",
        "line 8: did not find expected key",
    ),
    (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels:\n    a: b\n    c\n",
        "line 8: could not find expected ':'",
    ),
];

#[test]
fn broken_manifests_fail_with_go_yaml_words_and_lines() {
    let mut failures = Vec::new();
    for (template, message) in CASES {
        let want = format!(
            "Error: YAML parse error on yerr/templates/t.yaml: error converting YAML to JSON: yaml: {message}"
        );
        let files = [
            (
                "yerr/Chart.yaml",
                "apiVersion: v2\nname: yerr\nversion: 1.0.0\n",
            ),
            ("yerr/templates/t.yaml", template),
        ];
        if let Err(e) = std::panic::catch_unwind(|| check(&files, "yerr", &want)) {
            let text = e
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "panic".into());
            failures.push(format!("{template:?}: {text}"));
        }
    }
    eprintln!(
        "yaml errors: {}/{} match helm",
        CASES.len() - failures.len(),
        CASES.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
