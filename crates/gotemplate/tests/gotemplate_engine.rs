//! Engine behaviour beyond Go's own case tables: the template-set API Helm builds on (named
//! templates, later definitions winning, engine functions for `include`/`tpl`), resource bounds
//! (recursion depth, output size, steps), and a randomized no-panic fuzz over parser and evaluator.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_gotemplate::{EngineFn, ExecContext, Limits, Template, Value};

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::skip;
#[path = "support/go_oracle.rs"]
mod go_oracle;
use go_oracle::GoOracle;

fn data(json: &str) -> Value {
    Value::from_json(&serde_json::from_str(json).expect("test JSON"))
}

/// The two arguments of engine function `name`, or Go's arity error.
fn two_args<'a>(name: &str, args: &'a [Value]) -> Result<&'a [Value; 2], String> {
    args.try_into()
        .map_err(|_| format!("wrong number of args for {name}: want 2 got {}", args.len()))
}

/// Helm-style `include NAME DATA` and `tpl TEXT DATA` on top of the engine hook.
fn with_helm_like_funcs(t: &mut Template) {
    let include: EngineFn = Arc::new(|cx: &mut ExecContext<'_>, args: &[Value]| {
        let [name, data] = two_args("include", args)?;
        let name = name.as_str().ok_or("include: name must be a string")?;
        cx.execute_template(name, data)
    });
    let tpl: EngineFn = Arc::new(|cx: &mut ExecContext<'_>, args: &[Value]| {
        let [text, data] = two_args("tpl", args)?;
        let text = text.as_str().ok_or("tpl: text must be a string")?;
        let name = cx.template_name().to_string();
        cx.execute_text(&name, text, data)
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
    let _ = writeln!(
        std::io::stderr(),
        "fuzz: {runs} templates, {parsed} parsed and executed, no panic"
    );
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

// ---- Differential test against Go's own text/template (runs when a Go toolchain is present) ----

const ORACLE_DATA: &str = r#"{"i": 42, "maxi": 9223372036854775807, "mini": -9223372036854775808,
 "f": 0.30000000000000004, "f2": 123456.789, "f3": 1e20, "f4": 1e21, "f5": -1.5e-10, "f6": 100.0,
 "s": "héllo wörld", "e": "", "q": "a\"b\\c\n", "t": true, "no": false, "nul": null,
 "l": [3, 1, 2], "ls": ["b", "a"], "lm": [{"n": 1}, {"n": 2}, null],
 "m": {"z": 1, "a": {"b": {"c": "deep"}}, "nil": null, "list": [1, [2, [3]]]},
 "em": {}, "el": [], "n": 4, "keys": {"b": "B", "a": "A", "10": "ten", "9": "nine"}}"#;

const ORACLE_FIELDS: &[&str] = &[
    ".i",
    ".maxi",
    ".mini",
    ".f",
    ".f2",
    ".f3",
    ".f4",
    ".f5",
    ".f6",
    ".s",
    ".e",
    ".q",
    ".t",
    ".no",
    ".nul",
    ".l",
    ".ls",
    ".lm",
    ".m",
    ".m.a.b.c",
    ".m.nil",
    ".m.list",
    ".em",
    ".el",
    ".n",
    ".keys",
    ".keys.a",
    "$",
    "$.n",
    ".",
    "$x",
    ".missing",
    ".m.a.missing",
    ".nul.x",
    ".s.x",
];
const ORACLE_LITERALS: &[&str] = &[
    "0",
    "1",
    "-1",
    "3",
    "1.5",
    "-0.5",
    "1e3",
    "2e-3",
    "0x10",
    "0o7",
    "0b11",
    "1_000",
    "0x1p-2",
    "'\\n'",
    "'x'",
    "'\\u00e9'",
    "\"a\\tb\"",
    "\"\\u263a\"",
    "\"\\x41\"",
    "`x\ny`",
    "\"\"",
    "true",
    "false",
    "nil",
    "\"%v|%d|%s|%q|%x|%5.1f|%-3v|%+d|%#v|%T\"",
    "\"%[2]v %[1]v\"",
    "\"%*d\"",
    "\"%.*f\"",
    "\"%!\"",
    "\"%08.3f|%+.2e|%x|%X|%o|%c|%U|% d|%6.2q\"",
    "1+2i",
];
const ORACLE_FUNCS: &[&str] = &[
    "print", "printf", "println", "len", "index", "slice", "not", "and", "or", "eq", "ne", "lt",
    "le", "gt", "ge", "html", "js", "urlquery", "call",
];

struct OracleGen(Rng);

impl OracleGen {
    fn chance(&mut self, percent: u64) -> bool {
        self.0.next() % 100 < percent
    }
    fn arg(&mut self, depth: usize) -> String {
        if self.chance(50) {
            return self.0.pick(ORACLE_FIELDS).to_string();
        }
        if self.chance(70) || depth >= 2 {
            return self.0.pick(ORACLE_LITERALS).to_string();
        }
        format!("({})", self.pipe(depth + 1))
    }
    fn cmd(&mut self, depth: usize, piped: bool) -> String {
        if !piped && self.chance(30) {
            return self.arg(depth);
        }
        let mut s = self.0.pick(ORACLE_FUNCS).to_string();
        let n = self.0.next() % 4;
        for _ in 0..n {
            s.push(' ');
            s.push_str(&self.arg(depth));
        }
        s
    }
    fn pipe(&mut self, depth: usize) -> String {
        let mut p = self.cmd(depth, false);
        while self.chance(20) {
            p.push_str(" | ");
            p.push_str(&self.cmd(depth, true));
        }
        p
    }
    fn action(&mut self) -> String {
        let l = self.0.pick(&["{{", "{{- ", "{{ "]);
        let r = self.0.pick(&["}}", " -}}", " }}"]);
        match self.0.next() % 10 {
            0 => format!("{l}$x = {}{r}", self.pipe(0)),
            1 => format!("{l}$y := {}{r}{{{{$y}}}}", self.pipe(0)),
            2 => format!("{l}/* c */{r}"),
            _ => format!("{l}{}{r}", self.pipe(0)),
        }
    }
    fn block(&mut self, depth: usize) -> String {
        let ws = self.0.pick(&["", " ", "\n", "  \n\t"]);
        if depth > 2 || self.chance(45) {
            return format!("{ws}{}{ws}", self.action());
        }
        let (p1, p2) = (self.pipe(0), self.pipe(0));
        let inner = self.block(depth + 1);
        match self.0.next() % 7 {
            0 => format!("{{{{if {p1}}}}}A{inner}{{{{else if {p2}}}}}B{{{{else}}}}C{{{{end}}}}"),
            1 => format!(
                "{{{{with {p1}}}}}W{inner}{{{{else with {p2}}}}}V{{{{.}}}}{{{{else}}}}N{{{{end}}}}"
            ),
            2 => {
                let over = self.0.pick(&[
                    ".keys", ".m", ".l", ".lm", ".ls", ".em", ".n", "3", ".nul", ".missing",
                ]);
                format!(
                    "{{{{range $k, $v := {over}}}}}({{{{$k}}}}={{{{$v}}}}{inner}{{{{if eq (printf \"%v\" $k) \"1\" \"a\"}}}}{{{{continue}}}}{{{{end}}}}{{{{if eq (printf \"%v\" $k) \"2\"}}}}{{{{break}}}}{{{{end}}}}){{{{else}}}}E{{{{end}}}}"
                )
            }
            3 => {
                let over = self.0.pick(&[".l", ".lm", ".n", ".keys"]);
                format!("{{{{range {over}}}}}[{{{{.}}}}{inner}]{{{{end}}}}")
            }
            4 => format!(
                "{{{{define \"d{depth}\"}}}}<{{{{.}}}}{inner}>{{{{end}}}}{{{{template \"d{depth}\" {p1}}}}}"
            ),
            5 => format!("{{{{block \"b{depth}\" {p1}}}}}B{{{{.}}}}{{{{end}}}}"),
            _ => format!("{{{{$x = {p1}}}}}{{{{$x}}}}"),
        }
    }
    /// A printf call with a random format over Go's verbs and flags (`%p` left out: Go prints
    /// addresses for maps and slices).
    fn printf(&mut self) -> String {
        const CHARS: &[&str] = &[
            "%", "%", "%", "%", "-", "+", "#", " ", "0", "1", "2", "5", "9", ".", "*", "[", "]",
            "v", "d", "s", "q", "x", "X", "o", "b", "c", "U", "e", "E", "f", "F", "g", "G", "t",
            "T", "w", "a",
        ];
        let n = 1 + self.0.next() % 12;
        let format: String = (0..n).map(|_| self.0.pick(CHARS)).collect();
        let mut t = format!("{{{{printf \"{format}\"");
        for _ in 0..self.0.next() % 5 {
            t.push(' ');
            let arg = if self.chance(50) {
                self.0.pick(ORACLE_FIELDS)
            } else {
                self.0.pick(ORACLE_LITERALS)
            };
            t.push_str(arg);
        }
        t.push_str("}}");
        t
    }

    fn template(&mut self) -> String {
        if self.chance(25) {
            return self.printf();
        }
        let mut t = String::from("{{$x := 0}}");
        let n = 1 + self.0.next() % 3;
        for _ in 0..n {
            t.push_str(&self.block(0));
        }
        t
    }
}

/// The Go toolchain to use: `SIGNET_GO`, else `go` on the PATH.
const SPACING_CASES: &[&str] = &[
    "{{.a .b}}",
    "{{.a.b}}",
    "{{ .a\n.b }}",
    "{{ .a\t.b }}",
    "{{$x := 1}}{{$x.a .b}}",
    "{{$x := 1}}{{$x .a}}",
    "{{$.a .b}}",
    "{{$ .a}}",
    "{{. .a}}",
    "{{1 .a}}",
    "{{(len .a).b .c}}",
    "{{(len .a) .b}}",
    "{{(len .a).b}}",
    "{{ f := }}",
    "{{ $x := }}",
    "{{$x:=1}}{{$x=2}}",
    "{{ $x  :=  1 }}{{ $x  =  2 }}",
    "{{ $x := 1 }}{{ $x }}",
    "{{ $x }}",
    "{{ print 1 := }}",
    "{{ print 1|print }}",
    "{{print 1 |print}}",
    "{{ print  1  |  print  }}",
    "{{ print(1) }}",
    "{{ print \"a\"\"b\" }}",
    "{{ print \"a\" \"b\" }}",
    "{{ print -1 }}",
    "{{ print - 1 }}",
    "{{ print 1 -}}",
    "{{- print 1 -}}",
    "{{ print 1 - }}",
    "{{ print 1  -}}",
    "{{range $i, $v := .}}{{end}}",
    "{{range $i,$v := .}}{{end}}",
    "{{range $i , $v := .}}{{end}}",
    "{{ range  $v  :=  . }}{{ end }}",
    "{{ with $x := 1 }}{{ end }}",
    "{{ if  .a  }}x{{ else  if  .b }}y{{ end }}",
    "{{ if .a }}x{{ else  with  .b }}y{{ end }}",
    "{{ template \"x\"  . }}",
    "{{ define \"x\" }}a{{ end }}{{ template  \"x\" }}",
    "{{ /* c */ }}",
    "{{- /* c */ -}}",
    "{{ /* c */ -}}",
    "{{ nil }}",
    "{{ .a ( .b ) }}",
    "{{ .a(.b) }}",
    "{{ print (1) (2) }}",
    "{{ print (1)(2) }}",
    "{{ print .a, .b }}",
    "{{ break }}",
    "{{ range . }}{{ break  }}{{ continue }}{{ end }}",
    "{{ .a }",
    "{{ .a \n",
    "{{ print 1 \n\n }}",
];

#[test]
fn differential_against_go_text_template() {
    let Some(oracle) = GoOracle::build("go_oracle") else {
        skip(
            "go-oracle",
            "no Go toolchain (set SIGNET_GO or put go on PATH)",
        );
        return;
    };

    let count: usize = std::env::var("SIGNET_ORACLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut gen_ = OracleGen(Rng(0x0dd_ba11_cafe_f00d));
    let data_json: serde_json::Value = serde_json::from_str(ORACLE_DATA).unwrap();
    let templates: Vec<String> = (0..count).map(|_| gen_.template()).collect();
    let ask = |requests: Vec<serde_json::Value>| oracle.ask(&requests);
    let answers = ask(templates
        .iter()
        .map(|t| serde_json::json!({"t": t, "d": data_json}))
        .collect());
    let data = Value::from_json(&data_json);
    let (mut same, mut errors) = (0usize, 0usize);
    let mut mismatches = Vec::new();
    for (t, want) in templates.iter().zip(&answers) {
        let mut tmpl = Template::new("t");
        let got = tmpl.parse(t).and_then(|t| t.execute(&data));
        let want_err = want.get("err").and_then(|e| e.as_str());
        match (&got, want_err) {
            (Ok(out), None) if Some(out.as_str()) == want["out"].as_str() => same += 1,
            // An error must be Go's, word for word.
            (Err(e), Some(w)) if e.to_string() == w => {
                same += 1;
                errors += 1;
            }
            _ => mismatches.push(format!("{t:?}\n  go:     {want}\n  signet: {got:?}")),
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "go-oracle: {same}/{} templates behave like Go text/template ({errors} of them errors, worded identically)",
        templates.len()
    );

    // The parse trees, printed as Go prints them (declarations, assignments, range variables,
    // else-chains), of the same templates.
    // Then random fragment soup, which mostly fails to parse: Go's verdict and error text.
    let mut rng = Rng(0x5eed_f00d_7ee5);
    let soup: Vec<String> = (0..count).map(|_| random_template(&mut rng)).collect();
    // Where spaces between tokens decide the tree or the error (signet's lexer marks the token
    // after a run of spaces instead of making the run a token, as Go's does).
    let spacing: Vec<String> = SPACING_CASES.iter().map(|t| t.to_string()).collect();
    let parsed: Vec<&String> = templates.iter().chain(&soup).chain(&spacing).collect();
    let trees = ask(parsed
        .iter()
        .map(|t| serde_json::json!({"t": t, "tree": true}))
        .collect());
    let (mut same_trees, mut same_errors) = (0usize, 0usize);
    for (t, want) in parsed.iter().zip(&trees) {
        let mut tmpl = Template::new("t");
        let got = tmpl
            .parse(t)
            .map(|t| t.go_tree_string("t").unwrap_or_default())
            .map_err(|e| e.to_string());
        let tree = want.get("tree").and_then(|w| w.as_str());
        let err = want.get("err").and_then(|e| e.as_str());
        match (got, tree, err) {
            (Ok(got), Some(tree), _) if got == tree => same_trees += 1,
            (Err(got), None, Some(err)) if got == err => same_errors += 1,
            (got, _, _) => {
                mismatches.push(format!("parse {t:?}\n  go:     {want}\n  signet: {got:?}"))
            }
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "go-oracle: {same_trees} parse trees printed as Go prints them, {same_errors} parse errors worded as Go's ({} templates)",
        parsed.len()
    );
    for m in mismatches.iter().take(10) {
        eprintln!("MISMATCH {m}");
    }
    assert!(
        mismatches.is_empty(),
        "{} templates differ from Go",
        mismatches.len()
    );
}
