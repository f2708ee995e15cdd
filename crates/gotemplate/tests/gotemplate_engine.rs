//! Engine behaviour beyond Go's own case tables: the template-set API Helm builds on (named
//! templates, later definitions winning, engine functions for `include`/`tpl`), resource bounds
//! (recursion depth, output size, steps), and a randomized no-panic fuzz over parser and evaluator.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_gotemplate::{EngineFn, ExecContext, Limits, Template, Value};

fn data(json: &str) -> Value {
    Value::from_json(&serde_json::from_str(json).expect("test JSON"))
}

/// Helm-style `include NAME DATA` and `tpl TEXT DATA` on top of the engine hook.
fn with_helm_like_funcs(t: &mut Template) {
    let include: EngineFn = Arc::new(|cx: &mut ExecContext<'_>, args: &[Value]| {
        let [name, data] = args else {
            return Err(format!(
                "wrong number of args for include: want 2 got {}",
                args.len()
            ));
        };
        let name = name.as_str().ok_or("include: name must be a string")?;
        cx.execute_template(name, data).map(Value::from)
    });
    let tpl: EngineFn = Arc::new(|cx: &mut ExecContext<'_>, args: &[Value]| {
        let [text, data] = args else {
            return Err(format!(
                "wrong number of args for tpl: want 2 got {}",
                args.len()
            ));
        };
        let text = text.as_str().ok_or("tpl: text must be a string")?;
        let name = cx.template_name().to_string();
        cx.execute_text(&name, text, data).map(Value::from)
    });
    t.add_engine_func("include", include);
    t.add_engine_func("tpl", tpl);
}

#[test]
fn named_templates_later_definitions_win_and_are_listed() {
    let mut t = Template::new("main");
    t.parse_named("a.tpl", r#"{{define "x"}}one{{end}}"#)
        .unwrap();
    t.parse_named("b.tpl", r#"{{define "x"}}two{{end}}{{define "y"}}Y{{end}}"#)
        .unwrap();
    t.parse_named("c.tpl", r#"{{define "x"}}   {{end}}"#)
        .unwrap();
    t.parse(r#"{{template "x"}}-{{template "y"}}"#).unwrap();
    assert_eq!(t.execute(&Value::Nil).unwrap(), "two-Y");
    let names = t.defined_templates();
    for n in ["a.tpl", "b.tpl", "c.tpl", "main", "x", "y"] {
        assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
    }
    assert_eq!(t.execute_template("y", &Value::Nil).unwrap(), "Y");
}

#[test]
fn include_and_tpl_through_engine_functions() {
    let mut t = Template::new("chart/templates/cm.yaml");
    with_helm_like_funcs(&mut t);
    t.parse_named(
        "chart/templates/_helpers.tpl",
        r#"{{define "name"}}{{.Values.name | printf "%s-app"}}{{end}}"#,
    )
    .unwrap();
    t.parse(r#"name: {{include "name" .}} / {{tpl .Values.text .}} / {{tpl "{{define \"z\"}}Z{{end}}{{template \"z\"}}" .}}"#)
        .unwrap();
    let out = t
        .execute(&data(
            r#"{"Values":{"name":"web","text":"{{ .Values.name | upper }}"}}"#,
        ))
        .unwrap_err()
        .to_string();
    // `upper` is not defined in this set: tpl's parse error surfaces through `error calling tpl`.
    assert!(out.contains("error calling tpl"), "{out}");
    assert!(out.contains(r#"function "upper" not defined"#), "{out}");

    let out = t
        .execute(&data(
            r#"{"Values":{"name":"web","text":"{{ .Values.name }}!"}}"#,
        ))
        .unwrap();
    assert_eq!(out, "name: web-app / web! / Z");
    // Definitions made by tpl do not leak into the caller's set.
    assert!(!t.has_template("z"));
}

#[test]
fn infinite_recursion_is_an_error_not_a_crash() {
    let mut t = Template::new("loop");
    with_helm_like_funcs(&mut t);
    t.parse(r#"{{define "a"}}x{{template "a" .}}{{end}}{{template "a" .}}"#)
        .unwrap();
    let err = t.execute(&Value::Nil).unwrap_err().to_string();
    assert!(err.contains("exceeded maximum template depth"), "{err}");

    let mut t = Template::new("loop2");
    with_helm_like_funcs(&mut t);
    t.parse(r#"{{define "b"}}{{include "b" .}}{{end}}{{include "b" .}}"#)
        .unwrap();
    let err = t.execute(&Value::Nil).unwrap_err().to_string();
    assert!(err.contains("exceeded maximum template depth"), "{err}");
    assert!(err.starts_with("template: loop2:1:"), "{err}");
}

#[test]
fn output_and_step_bounds() {
    let mut t = Template::new("big");
    t.set_limits(Limits {
        max_output: 1 << 20,
        ..Limits::default()
    });
    t.parse("{{range 100000000}}0123456789{{end}}").unwrap();
    let err = t.execute(&Value::Nil).unwrap_err().to_string();
    assert!(err.contains("output exceeds the limit"), "{err}");

    let mut t = Template::new("spin");
    t.set_limits(Limits {
        max_steps: 100_000,
        ..Limits::default()
    });
    t.parse("{{range 100000000}}{{end}}").unwrap();
    let err = t.execute(&Value::Nil).unwrap_err().to_string();
    assert!(err.contains("steps"), "{err}");
}

#[test]
fn errors_carry_position_and_context() {
    let mut t = Template::new("pos");
    let err = t.parse("line1\n{{ .x ").unwrap_err().to_string();
    assert!(err.starts_with("template: pos:2:"), "{err}");
    let err = t.parse("{{ nosuch 1 }}").unwrap_err().to_string();
    assert_eq!(err, r#"template: pos:1: function "nosuch" not defined"#);
    t.parse("a\n  {{ .a.b.c }}").unwrap();
    let err = t
        .execute(&data(r#"{"a":{"b":null}}"#))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        r#"template: pos:2:7: executing "pos" at <.a.b.c>: nil pointer evaluating interface {}.c"#
    );
    let mut t = Template::new("args");
    t.parse(r#"{{ index }}"#).unwrap();
    let err = t.execute(&Value::Nil).unwrap_err().to_string();
    assert!(
        err.contains("wrong number of args for index: want at least 1 got 0"),
        "{err}"
    );
}

#[test]
fn objects_expose_fields_and_methods() {
    #[derive(Debug)]
    struct Files(BTreeMap<String, String>);
    impl signet_gotemplate::Object for Files {
        fn type_name(&self) -> &str {
            "chart.Files"
        }
        fn has_method(&self, name: &str) -> bool {
            name == "Get"
        }
        fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
            (name == "Get").then(|| match args {
                [Value::String(p)] => {
                    Ok(Value::from(self.0.get(&**p).cloned().unwrap_or_default()))
                }
                _ => Err("Get wants one string".into()),
            })
        }
        fn go_string(&self) -> String {
            format!("{:?}", self.0)
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }
    let mut files = BTreeMap::new();
    files.insert("a.txt".to_string(), "hello".to_string());
    let mut root = BTreeMap::new();
    root.insert(
        "Files".to_string(),
        Value::Object(std::rc::Rc::new(Files(files))),
    );
    let mut t = Template::new("obj");
    t.parse(r#"{{ .Files.Get "a.txt" }}|{{ "a.txt" | .Files.Get }}|{{ .Files.Nope }}"#)
        .unwrap();
    let err = t
        .execute(&Value::map(root.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("can't evaluate field Nope in type chart.Files"),
        "{err}"
    );
    let mut t = Template::new("obj");
    t.parse(r#"{{ .Files.Get "a.txt" }}|{{ "a.txt" | .Files.Get }}"#)
        .unwrap();
    assert_eq!(t.execute(&Value::map(root)).unwrap(), "hello|hello");
}

/// A tiny deterministic PRNG (xorshift64*), so the fuzz needs no extra crate and is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const FRAGMENTS: &[&str] = &[
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "{{/*",
    "*/}}",
    "(",
    ")",
    "|",
    " ",
    " ",
    " ",
    "\n",
    "$x",
    "$",
    ":=",
    "=",
    ",",
    ".",
    ".a",
    ".a.b",
    ".l",
    ".m",
    ".n",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "\"x\"",
    "\"a\"",
    "`r`",
    "'c'",
    "'",
    "\"",
    "`",
    "1",
    "-2",
    "1.5",
    "1e3",
    "0x1F",
    "0b1",
    "1+2i",
    "nil",
    "true",
    "false",
    "printf",
    "\"%d %s %v\"",
    "len",
    "index",
    "slice",
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "lt",
    "ge",
    "call",
    "html",
    "js",
    "urlquery",
    "print",
    "println",
    "include",
    "tpl",
    "text",
    "é",
    "\u{0}",
    "$y",
    "else if",
    "else with",
    "{{end}}",
    "{{else}}",
    "x",
    "-",
    "+",
    "9999999999999999999999",
];

fn random_template(rng: &mut Rng) -> String {
    let n = 1 + rng.next() % 40;
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(rng.pick(FRAGMENTS));
    }
    s
}

/// Structured random templates that parse more often, so the evaluator is exercised too.
fn random_structured(rng: &mut Rng) -> String {
    let args = [
        ".a", ".a.b", ".l", ".m", ".n", "$", ".", "1", "\"s\"", "nil", "1.5", "(.m.k)", "$x",
    ];
    let funcs = [
        "printf \"%v\"",
        "len",
        "index",
        "slice",
        "and",
        "or",
        "not",
        "eq",
        "lt",
        "print",
        "include \"t\"",
        "tpl",
        "html",
    ];
    let mut s = String::from("{{$x := .n}}");
    for _ in 0..(1 + rng.next() % 6) {
        let f = rng.pick(&funcs);
        let a = rng.pick(&args);
        let b = rng.pick(&args);
        let piece = match rng.next() % 6 {
            0 => format!("{{{{{f} {a} {b}}}}}"),
            1 => format!("{{{{if {a}}}}}I{{{{{f} {b}}}}}{{{{else}}}}E{{{{end}}}}"),
            2 => format!(
                "{{{{range $i, $v := {a}}}}}[{{{{$i}}}}={{{{$v}}}}{{{{if $v}}}}{{{{break}}}}{{{{end}}}}]{{{{end}}}}"
            ),
            3 => format!("{{{{with {a}}}}}W{{{{.}}}}{{{{end}}}}"),
            4 => {
                format!("{{{{define \"t\"}}}}T{{{{{f} {a}}}}}{{{{end}}}}{{{{template \"t\" {b}}}}}")
            }
            _ => format!("{{{{{a} | {f}}}}}"),
        };
        s.push_str(&piece);
    }
    s
}

#[test]
fn fuzz_parser_and_evaluator_never_panic() {
    let budget = Duration::from_millis(
        std::env::var("SIGNET_FUZZ_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000),
    );
    let input =
        data(r#"{"a":{"b":[1,"two",null,{"c":3.5}]},"l":[1,2,3],"m":{"k":"v","z":null},"n":3}"#);
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    let start = Instant::now();
    let (mut runs, mut parsed) = (0u64, 0u64);
    while start.elapsed() < budget {
        let text = if rng.next().is_multiple_of(2) {
            random_template(&mut rng)
        } else {
            random_structured(&mut rng)
        };
        let mut t = Template::new("fuzz");
        t.set_limits(Limits {
            max_depth: 200,
            max_output: 1 << 16,
            max_steps: 100_000,
        });
        with_helm_like_funcs(&mut t);
        runs += 1;
        if t.parse(&text).is_ok() {
            parsed += 1;
            let _ = t.execute(&input);
        }
    }
    eprintln!("fuzz: {runs} templates, {parsed} parsed and executed, no panic");
    assert!(runs > 100, "fuzz ran too few cases: {runs}");
    assert!(parsed > 10, "fuzz parsed too few cases: {parsed}");
}

#[test]
fn deep_nesting_is_bounded_without_stack_overflow() {
    // Within the bound: 900 nested ifs and parentheses parse and execute.
    let n = 900;
    let text = format!("{}x{}", "{{if 1}}".repeat(n), "{{end}}".repeat(n));
    let mut t = Template::new("deep");
    t.parse(&text).unwrap();
    assert_eq!(t.execute(&Value::Nil).unwrap(), "x");
    let text = format!("{{{{{}1{}}}}}", "(".repeat(n), ")".repeat(n));
    let mut t = Template::new("parens");
    t.parse(&text).unwrap();
    assert_eq!(t.execute(&Value::Nil).unwrap(), "1");
    // Beyond it: a parse error, not a crash.
    let text = format!("{{{{{}1{}}}}}", "(".repeat(100_000), ")".repeat(100_000));
    let err = Template::new("hostile")
        .parse(&text)
        .unwrap_err()
        .to_string();
    assert!(err.contains("max depth"), "{err}");
    let text = "{{with 1}}".repeat(100_000);
    let err = Template::new("hostile2")
        .parse(&text)
        .unwrap_err()
        .to_string();
    assert!(err.contains("max depth"), "{err}");
}
