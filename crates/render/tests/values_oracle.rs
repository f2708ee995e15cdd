//! The values layer against the real helm binary: tricky values files are rendered by helm with
//! `toYaml`/`toJson`/`toToml`/`toYamlPretty` and compared byte for byte with signet's parser and
//! encoders. Skips (printing where it looked) when helm is not installed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use signet_gotemplate::Value;
use signet_render::yaml;

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{corpus_dir, skip, tools_dir};

fn helm() -> Option<PathBuf> {
    let helm = tools_dir().join("helm");
    if helm.is_file() {
        Some(helm)
    } else {
        skip(
            "values oracle",
            &format!("helm not found at {}", helm.display()),
        );
        None
    }
}

/// Values files exercising scalar resolution, quoting, block scalars, folding and key order.
const VALUES: &str = r##"
numbers:
  int: 1000000
  neg: -42
  float: 1.5
  big: 1234567.5
  small: 0.0000001
  huge: 1e21
  octal: 0777
  hex: 0x1F
  under: 1_000
  nine: 09
  exp: 6.02e23
  zero: 0
  negzero: -0.0
  u64: 18446744073709551615
  i64: 9223372036854775807
  dot: .5
  plus: +12
  bin: 0b101
  f32key:
    0.1: a
    1.5: b
    100: c
booleans: [yes, no, on, off, y, n, true, false, True, OFF, "yes", "no", "on", "y", "Y", "n", "NO"]
nulls: {a: ~, b: null, c: , d: "null", e: "~", f: ""}
strings:
  - "1.0"
  - "123"
  - "0x1F"
  - "1e3"
  - "1e400"
  - "0777"
  - "+1"
  - "-"
  - "- a"
  - ": a"
  - "a: b"
  - "a:b"
  - "#x"
  - "a #x"
  - "a#x"
  - "@x"
  - "`x"
  - "%x"
  - "!x"
  - "&x"
  - "*x"
  - "|x"
  - ">x"
  - "'x"
  - '"x'
  - "[x"
  - "x]"
  - "{x"
  - "x,y"
  - "x?"
  - "?x"
  - "? x"
  - " lead"
  - "trail "
  - "tab\there"
  - "---"
  - "--- x"
  - "..."
  - "a'b"
  - "2001-12-14"
  - "2001-12-14T21:59:43.10-05:00"
  - "2001-12-14 21:59:43.10"
  - "2001-13-14"
  - "1:20"
  - "190:20:30"
  - "12:60"
  - ".inf"
  - ".nan"
  - "-.inf"
  - ".5"
  - "._5"
  - "1_0"
  - "<<"
  - "="
  - "é"
  - "日本語"
  - "emoji 😀"
  - "nbsp\u00a0x"
  - "bell\u0007"
  - "bom\ufeffx"
  - "ls\u2028x"
  - "nel\u0085x"
  - "\\backslash"
  - "<html> & </html>"
multiline:
  simple: "line1\nline2"
  trailing: "line1\nline2\n"
  keep: "line1\n\n"
  onlynl: "\n"
  leadsp: "  indented\nnext"
  leadnl: "\nstart"
  trailsp: "line1 \nline2"
  tabbed: "a\tb\nc"
  blank: "a\n\nb"
  crlf: "a\r\nb"
  spaces_after: "a\n  b\n"
long:
  plain: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."
  nospace: "Loremipsumdolorsitametconsecteturadipiscingelitseddoeiusmodtemporincididuntutlaboreetdoloremagnaaliqua"
  single: "#Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."
  double: "Lorem ipsum dolor sit amet,\tconsectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."
  doublespaces: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod  tempor  incididunt  ut labore et dolore magna aliqua."
  nested:
    deeper:
      - "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."
keys:
  a10: 1
  a2: 2
  a1: 3
  B: 4
  b: 5
  _x: 6
  "1": 7
  "10": 8
  "9": 9
  "yes": 10
  "": 11
  "a b": 12
  "x: y": 13
  "a-01": 14
  "a-1": 15
  "a-001": 16
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim": 17
  "multi\nline": 18
collections:
  empty_map: {}
  empty_list: []
  nested_lists: [[1, 2], [], [[3]]]
  list_of_maps:
    - a: 1
      b: [x, y]
    - {}
    - c: {d: e}
  map_in_list_in_map:
    k:
      - name: x
        items:
          - 1
scalar_str: foo
scalar_long: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."
scalar_multi: "a\nb"
scalar_keep: "a\n\n"
scalar_int: 12
scalar_float: 2.5
scalar_quoted: "yes"
scalar_nel: "a \u0085\u0085 b"
anchors:
  base: &base {x: 1, z: 2}
  derived:
    <<: *base
    z: 3
  alias_list: &l [1, 2]
  again: *l
"##;

fn section_map(out: &str) -> std::collections::BTreeMap<String, String> {
    // Output: "#=== KEY" headers followed by "#"-prefixed lines.
    let mut map = std::collections::BTreeMap::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in out.lines() {
        if let Some(k) = line.strip_prefix("#=== ") {
            if let Some((k, lines)) = current.take() {
                map.insert(k, lines.join("\n"));
            }
            current = Some((k.to_string(), Vec::new()));
        } else if let (Some((_, lines)), Some(rest)) = (current.as_mut(), line.strip_prefix('#')) {
            lines.push(b64decode(rest));
        }
    }
    if let Some((k, lines)) = current.take() {
        map.insert(k, lines.join("\n"));
    }
    map
}

fn b64decode(s: &str) -> String {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => break,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn run_helm(helm: &Path, values: &str, func: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("c");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), values).unwrap();
    let tpl = format!(
        "{{{{- range $k, $v := .Values }}}}\n#=== {{{{ $k }}}}\n#{{{{ {func} $v | b64enc }}}}\n{{{{- end }}}}\n"
    );
    std::fs::write(chart.join("templates/t.yaml"), tpl).unwrap();
    let out = Command::new(helm)
        .args(["template", "x"])
        .arg(&chart)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Each top-level value of `VALUES` through `func` in helm and through `ours`: the count compared
/// and the differences.
fn compare(func: &str, ours: impl Fn(&Value) -> String) -> (usize, Vec<String>) {
    let Some(helm) = helm() else {
        return (0, Vec::new());
    };
    let expected = section_map(&run_helm(&helm, VALUES, func));
    let values = yaml::parse_values(VALUES).expect("parse values");
    let Value::Map(m) = values else {
        panic!("values not a map")
    };
    let mut failures = Vec::new();
    let mut total = 0;
    for (k, v) in m.borrow().iter() {
        // Each top-level value rendered separately; compare per nested key too for readable diffs.
        total += 1;
        let got = ours(v);
        let want = expected.get(k).cloned().unwrap_or_default();
        if got != want {
            let first = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            failures.push(format!(
                "{func} {k}: first difference at line {}:\n  ours: {:?}\n  helm: {:?}",
                first + 1,
                got.lines().nth(first),
                want.lines().nth(first)
            ));
        }
    }
    (total, failures)
}

/// Prints `oracle WHAT: P/T passed` and fails the test with every difference.
fn report(what: &str, total: usize, failures: &[String]) {
    eprintln!("oracle {what}: {}/{total} passed", total - failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn to_yaml_matches_helm() {
    let (total, failures) = compare("toYaml", |v| yaml::to_yaml(v).unwrap_or_default());
    report("toYaml", total, &failures);
}

#[test]
fn to_json_matches_helm() {
    let (total, failures) = compare("toJson", |v| yaml::to_json(v).unwrap_or_default());
    report("toJson", total, &failures);
}

#[test]
fn to_toml_matches_helm() {
    let (total, failures) = compare("toToml", |v| yaml::to_toml(v).unwrap_or_else(|e| e));
    report("toToml", total, &failures);
}

#[test]
fn to_yaml_pretty_matches_helm() {
    let (total, failures) = compare("toYamlPretty", |v| {
        let s = yaml::marshal_flavor(v, yaml::Flavor::Pretty).unwrap_or_default();
        s.strip_suffix('\n').unwrap_or(&s).to_string()
    });
    report("toYamlPretty", total, &failures);
}

// ---------------------------------------------------------------------------------------------
// Coalescing, --set flags and schema validation against helm.

use signet_render::values::{self, UserValues, ValuesTree};

struct ChartSpec {
    dir: &'static str,
    name: &'static str,
    values: &'static str,
    /// (chart dir under charts/, alias)
    deps: Vec<(&'static str, Option<&'static str>)>,
    schema: Option<&'static str>,
    children: Vec<ChartSpec>,
}

/// A chart `c` with no values, schema or dependencies in a fresh temporary folder (kept while
/// the folder lives).
fn empty_chart() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("c");
    write_chart(
        &chart,
        &ChartSpec {
            dir: "c",
            name: "c",
            values: "",
            deps: vec![],
            schema: None,
            children: vec![],
        },
    );
    (dir, chart)
}

fn write_chart(root: &Path, spec: &ChartSpec) {
    std::fs::create_dir_all(root.join("templates")).unwrap();
    let mut chart_yaml = format!("apiVersion: v2\nname: {}\nversion: 0.1.0\n", spec.name);
    if !spec.deps.is_empty() {
        chart_yaml.push_str("dependencies:\n");
        for (dep, alias) in &spec.deps {
            chart_yaml.push_str(&format!("- name: {dep}\n  version: 0.1.0\n"));
            if let Some(a) = alias {
                chart_yaml.push_str(&format!("  alias: {a}\n"));
            }
        }
    }
    std::fs::write(root.join("Chart.yaml"), chart_yaml).unwrap();
    std::fs::write(root.join("values.yaml"), spec.values).unwrap();
    if let Some(s) = spec.schema {
        std::fs::write(root.join("values.schema.json"), s).unwrap();
    }
    std::fs::write(
        root.join("templates/values.yaml"),
        "#{{ toYaml .Values | b64enc }}\n",
    )
    .unwrap();
    for child in &spec.children {
        write_chart(&root.join("charts").join(child.dir), child);
    }
}

fn tree_of(spec: &ChartSpec, name: &str) -> ValuesTree {
    ValuesTree {
        name: name.to_string(),
        defaults: yaml::parse_values(spec.values).unwrap(),
        schema: spec.schema.map(|s| s.as_bytes().to_vec()),
        subcharts: spec
            .deps
            .iter()
            .map(|(dep, alias)| {
                let child = spec.children.iter().find(|c| c.dir == *dep).unwrap();
                tree_of(child, alias.unwrap_or(child.name))
            })
            .collect(),
    }
}

/// `# Source: PATH` → decoded `toYaml .Values` of that template.
fn sources(out: &str) -> std::collections::BTreeMap<String, String> {
    let mut map = std::collections::BTreeMap::new();
    let mut current = None;
    for line in out.lines() {
        if let Some(p) = line.strip_prefix("# Source: ") {
            current = Some(p.to_string());
        } else if let (Some(p), Some(rest)) = (current.as_ref(), line.strip_prefix('#')) {
            map.insert(p.clone(), b64decode(rest));
        }
    }
    map
}

fn helm_template(helm: &Path, chart: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(helm)
        .args(["template", "x"])
        .arg(chart)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scoped(v: &Value, path: &[&str]) -> Value {
    let mut cur = v.clone();
    for p in path {
        cur = match cur {
            Value::Map(m) => m.borrow().get(*p).cloned().unwrap_or(Value::Nil),
            _ => Value::Nil,
        };
    }
    cur
}

fn family() -> ChartSpec {
    ChartSpec {
        dir: "parent",
        name: "parent",
        values: "global: {g1: parent, nested: {a: 1, b: 2}}\na: 1\nnulled: x\ntable: {x: 1, w: 2}\n\
                 first: {fromparent: 1, over: parent, gone: null}\nsub2: {z: 1}\nscalar_over_table: {k: 1}\n",
        deps: vec![("sub", Some("first")), ("sub2", None)],
        schema: None,
        children: vec![
            ChartSpec {
                dir: "sub",
                name: "sub",
                values: "over: sub\nkeep: sub\ngone: here\nlist: [1, 2]\n\
                         global: {g1: sub, g2: sub, nested: {b: 3, c: 4}}\n",
                deps: vec![],
                schema: None,
                children: vec![],
            },
            ChartSpec {
                dir: "sub2",
                name: "sub2",
                values: "z: 0\ndeep: {x: {v: 1}, keep: 1}\n",
                deps: vec![("subsub", None)],
                schema: None,
                children: vec![ChartSpec {
                    dir: "subsub",
                    name: "subsub",
                    values: "q: 1\nglobal: {gs: 1}\n",
                    deps: vec![],
                    schema: None,
                    children: vec![],
                }],
            },
        ],
    }
}

const USER_FILE: &str = "nulled: null\ntable: {x: null, v: 3}\nfirst: {list: null, new: 1}\n\
    sub2: {deep: {x: null}, subsub: {q: 2}}\nglobal: {g3: user, nested: {a: 9}}\nscalar_over_table: plain\n";

#[test]
fn coalesce_matches_helm() {
    let Some(helm) = helm() else { return };
    let dir = tempfile::tempdir().unwrap();
    let spec = family();
    let chart = dir.path().join("parent");
    write_chart(&chart, &spec);
    let user_path = dir.path().join("user.yaml");
    std::fs::write(&user_path, USER_FILE).unwrap();
    let sets = [
        "--set",
        "a.b=c,d[0]=1,d[2].e=x,n=null,list={a,b,c},esc=a\\,b\\.c,big=12345678901234567890,neg=-5,f=1.5,t=TRUE,z=0,o=007",
        "--set-string",
        "s=1,first.str=true",
        "--set-json",
        "j={\"a\":[1,{\"b\":null}],\"n\":1.5e3}",
        "--set-literal",
        "lit=a,b=c",
    ];
    let mut args: Vec<&str> = vec!["-f", user_path.to_str().unwrap()];
    args.extend(sets);
    let (ok, out, err) = helm_template(&helm, &chart, &args);
    assert!(ok, "helm failed: {err}");
    let got = sources(&out);

    let user = UserValues {
        value_files: vec!["user.yaml".into()],
        values: vec![sets[1].into()],
        string_values: vec![sets[3].into()],
        json_values: vec![sets[5].into()],
        literal_values: vec![sets[7].into()],
        ..Default::default()
    }
    .merge(&|_| Ok(USER_FILE.to_string()))
    .unwrap();
    let (final_values, warnings) =
        values::coalesce_values(&tree_of(&spec, "parent"), &user).unwrap();
    eprintln!("coalesce warnings: {warnings:?}\nhelm stderr: {err}");
    let cases = [
        ("parent/templates/values.yaml", vec![]),
        ("parent/charts/first/templates/values.yaml", vec!["first"]),
        ("parent/charts/sub2/templates/values.yaml", vec!["sub2"]),
        (
            "parent/charts/sub2/charts/subsub/templates/values.yaml",
            vec!["sub2", "subsub"],
        ),
    ];
    let mut failures = Vec::new();
    for (source, path) in &cases {
        let ours = yaml::to_yaml(&scoped(&final_values, path)).unwrap();
        let theirs = got
            .get(*source)
            .cloned()
            .unwrap_or_else(|| format!("<no {source} in {:?}>", got.keys()));
        if ours != theirs {
            failures.push(format!("{source}:\n--- ours\n{ours}\n--- helm\n{theirs}"));
        }
    }
    report("coalesce", cases.len(), &failures);
}

#[test]
fn set_errors_match_helm() {
    let Some(helm) = helm() else { return };
    let (_dir, chart) = empty_chart();
    let cases: &[(&str, &str)] = &[
        ("--set", "a"),
        ("--set", "a.b"),
        ("--set", "a,b=1"),
        ("--set", "a=1,a.b=2"),
        ("--set", "a[x]=1"),
        ("--set", "a[-1]=1"),
        ("--set", "a[70000]=1"),
        ("--set", "a={x,y"),
        ("--set", "a[0]x=1"),
        ("--set-string", "a.b"),
        ("--set-literal", "a"),
        ("--set-json", "a={bad"),
    ];
    let mut failures = Vec::new();
    for (flag, arg) in cases {
        let (ok, _, err) = helm_template(&helm, &chart, &[flag, arg]);
        let mut uv = UserValues::default();
        match *flag {
            "--set" => uv.values.push(arg.to_string()),
            "--set-string" => uv.string_values.push(arg.to_string()),
            "--set-literal" => uv.literal_values.push(arg.to_string()),
            _ => uv.json_values.push(arg.to_string()),
        }
        let ours = uv.merge(&|_| Err("no files".into()));
        let helm_line = err.lines().next().unwrap_or("").to_string();
        let ours_line = match &ours {
            Ok(_) => "<ok>".to_string(),
            Err(e) => format!("Error: {e}"),
        };
        let helm_line = if ok { "<ok>".to_string() } else { helm_line };
        if ours_line != helm_line {
            failures.push(format!(
                "{flag} {arg}:\n  ours: {ours_line}\n  helm: {helm_line}"
            ));
        }
    }
    report("set-errors", cases.len(), &failures);
}

fn schema_case(helm: &Path, spec: &ChartSpec, set: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join(spec.dir);
    write_chart(&chart, spec);
    let args: Vec<&str> = if set.is_empty() {
        vec![]
    } else {
        vec!["--set", set]
    };
    let (ok, _, err) = helm_template(helm, &chart, &args);
    assert!(!ok, "helm accepted invalid values");
    let user = if set.is_empty() {
        Value::empty_map()
    } else {
        values::strvals::parse(set).unwrap()
    };
    let tree = tree_of(spec, spec.name);
    let (final_values, _) = values::coalesce_values(&tree, &user).unwrap();
    let ours = values::validate_against_schemas(&tree, &final_values)
        .unwrap_err()
        .to_string();
    let helm_text = err
        .strip_prefix("Error: ")
        .unwrap_or(&err)
        .trim_end()
        .to_string();
    // Helm orders sibling errors by Go map iteration (random): compare the lines as multisets.
    let mut a: Vec<&str> = ours.trim_end().lines().collect();
    let mut b: Vec<&str> = helm_text.lines().collect();
    a.sort();
    b.sort();
    (a == b, ours, helm_text)
}

/// Keyword messages (const, pattern, lengths, combinators, uniqueness, property names, …).
#[test]
fn schema_keywords_match_helm() {
    let Some(helm) = helm() else { return };
    let spec = ChartSpec {
        dir: "k",
        name: "k",
        values: "c: 4\np: abc\nml: abcdef\nany: 5\none: 5\nmo: 7\nu: [1, 1]\nem: 1\n\
                 r: {a: 1}\npp: {x_1: 1}\nni: 1.5\nmp: {a: 1}\nmx: [1, 2, 3]\n\
                 ct: [1, 2]\nnt: x\ndr: {a: 1}\nao: {w: 1}\n",
        deps: vec![],
        schema: Some(
            r##"{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",
            "definitions":{"s":{"type":"string"}},
            "properties":{"c":{"const":3},"p":{"pattern":"^z"},"ml":{"maxLength":2},
              "any":{"anyOf":[{"type":"string"},{"type":"boolean"}]},
              "one":{"oneOf":[{"type":"integer"},{"type":"number"}]},
              "mo":{"multipleOf":2},"u":{"uniqueItems":true},"em":{"exclusiveMinimum":1},
              "r":{"$ref":"#/definitions/s"},"pp":{"patternProperties":{"^x":{"type":"string"}}},
              "ni":{"type":"integer"},"mp":{"maxProperties":0,"propertyNames":{"pattern":"^z"}},
              "mx":{"maxItems":2},"ct":{"contains":{"type":"string"}},
              "nt":{"not":{"type":"string"}},
              "dr":{"dependencies":{"a":["d","e"]}},
              "ao":{"allOf":[{"required":["z"]},{"properties":{"w":{"type":"string"}}}]}}}"##,
        ),
        children: vec![],
    };
    let (same, ours, theirs) = schema_case(&helm, &spec, "");
    eprintln!("{ours}");
    eprintln!("oracle schema-keywords: {}/1 passed", usize::from(same));
    assert!(same, "--- ours\n{ours}\n--- helm\n{theirs}");
}

#[test]
fn schema_report_matches_helm() {
    let Some(helm) = helm() else { return };
    let spec = ChartSpec {
        dir: "s",
        name: "s",
        values: "replicas: 1\nname: x\nlist: [1]\nport: 80\nobj: {a: 1}\n",
        deps: vec![("sub", None)],
        schema: Some(
            r#"{"$schema":"https://json-schema.org/draft-07/schema#","type":"object",
            "required":["replicas","missing","other"],
            "properties":{"replicas":{"type":"integer","minimum":2,"maximum":0},
              "name":{"type":"string","enum":["a","b"]},
              "list":{"type":"array","items":{"type":"string"},"minItems":2},
              "port":{"type":"string"},
              "obj":{"type":"object","properties":{"a":{"type":"string","maxLength":0}},"required":["b"]}}}"#,
        ),
        children: vec![ChartSpec {
            dir: "sub",
            name: "sub",
            values: "port: 80\n",
            deps: vec![],
            schema: Some(
                r#"{"type":"object","properties":{"port":{"type":"string"},"global":{"type":"object"}},"additionalProperties":false}"#,
            ),
            children: vec![],
        }],
    };
    let (same, ours, theirs) = schema_case(&helm, &spec, "sub.extra=1");
    eprintln!("--- ours\n{ours}\n--- helm\n{theirs}");
    eprintln!("oracle schema: {}/1 passed", usize::from(same));
    assert!(same, "--- ours\n{ours}\n--- helm\n{theirs}");
}

fn find_values_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            find_values_files(&p, out);
        } else if p.file_name().and_then(|n| n.to_str()) == Some("values.yaml")
            || p.parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str())
                == Some("ci")
        {
            out.push(p);
        }
    }
}

/// Every `values.yaml` and `ci/*.yaml` of the corpus charts, read and printed by helm
/// (`fromYaml | toYaml`) and by signet: real-world values must round-trip identically.
#[test]
fn corpus_values_round_trip_like_helm() {
    let corpus = corpus_dir();
    if !corpus.join("charts").is_dir() {
        skip(
            "values oracle",
            &format!("corpus not found at {}", corpus.display()),
        );
        return;
    }
    let Some(helm) = helm() else { return };
    let mut files = Vec::new();
    find_values_files(&corpus.join("charts"), &mut files);
    let (_dir, chart) = empty_chart();
    std::fs::create_dir_all(chart.join("v")).unwrap();
    let mut sources = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let text = std::fs::read_to_string(f).unwrap();
        std::fs::write(chart.join(format!("v/{i:03}.yaml")), &text).unwrap();
        sources.push((f.clone(), text));
    }
    std::fs::write(
        chart.join("templates/values.yaml"),
        "{{- range $path, $_ := .Files.Glob \"v/*.yaml\" }}\n#=== {{ $path }}\n#{{ fromYaml ($.Files.Get $path) | toYaml | b64enc }}\n{{- end }}\n",
    )
    .unwrap();
    let (ok, out, err) = helm_template(&helm, &chart, &[]);
    assert!(ok, "helm failed: {err}");
    let expected = section_map(&out);
    let mut failures = Vec::new();
    for (i, (path, text)) in sources.iter().enumerate() {
        let ours = yaml::to_yaml(&yaml::from_yaml(text)).unwrap();
        let want = expected
            .get(&format!("v/{i:03}.yaml"))
            .cloned()
            .unwrap_or_default();
        if ours != want {
            let line = ours
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            failures.push(format!(
                "{}: line {}:\n  ours: {:?}\n  helm: {:?}",
                path.display(),
                line + 1,
                ours.lines().nth(line),
                want.lines().nth(line)
            ));
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "corpus values-roundtrip: {}/{} passed",
        sources.len() - failures.len(),
        sources.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every corpus chart with a `values.schema.json`, with its own default values and with each of
/// its `ci/*.yaml` files: signet's schema verdict must be helm's on the same values and schema (a
/// chart whose defaults break its own schema is a valid case, and helm says so too). Helm judges a
/// throwaway chart holding only that `values.yaml` and schema, so nothing else can fail it.
#[test]
fn corpus_schemas_judge_values_as_helm_does() {
    let corpus = corpus_dir();
    let charts = corpus.join("charts");
    if !charts.is_dir() {
        skip(
            "values oracle",
            &format!("corpus not found at {}", corpus.display()),
        );
        return;
    }
    let Some(helm) = helm() else { return };
    let mut total = 0;
    let mut rejected = 0;
    let mut failures = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&charts)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("values.schema.json").is_file())
        .collect();
    dirs.sort();
    // Plus a chart whose own defaults break its schema: both must reject it.
    let broken = tempfile::tempdir().unwrap();
    let broken_dir = broken.path().join("defaults-break-schema");
    std::fs::create_dir_all(&broken_dir).unwrap();
    std::fs::write(broken_dir.join("values.yaml"), "replicas: many\n").unwrap();
    std::fs::write(
        broken_dir.join("values.schema.json"),
        r#"{"type":"object","properties":{"replicas":{"type":"integer"}}}"#,
    )
    .unwrap();
    dirs.push(broken_dir);
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let schema_text = std::fs::read_to_string(dir.join("values.schema.json")).unwrap();
        let values_text = std::fs::read_to_string(dir.join("values.yaml")).unwrap();
        let defaults = yaml::parse_values(&values_text).unwrap();
        let tree = ValuesTree {
            name: name.clone(),
            defaults,
            schema: Some(schema_text.as_bytes().to_vec()),
            subcharts: vec![],
        };
        let (_tmp, chart) = empty_chart();
        std::fs::write(chart.join("values.yaml"), &values_text).unwrap();
        std::fs::write(chart.join("values.schema.json"), &schema_text).unwrap();
        let mut user_files: Vec<Option<PathBuf>> = vec![None];
        if let Ok(ci) = std::fs::read_dir(dir.join("ci")) {
            let mut ci: Vec<PathBuf> = ci.flatten().map(|e| e.path()).collect();
            ci.sort();
            user_files.extend(ci.into_iter().map(Some));
        }
        for file in user_files {
            total += 1;
            let user = match &file {
                None => Value::empty_map(),
                Some(f) => yaml::parse_values(&std::fs::read_to_string(f).unwrap()).unwrap(),
            };
            let (v, _) = values::coalesce_values(&tree, &user).unwrap();
            let ours = values::validate_against_schemas(&tree, &v);
            let args: Vec<&str> = match &file {
                None => vec![],
                Some(f) => vec!["-f", f.to_str().unwrap()],
            };
            let (helm_ok, _, helm_err) = helm_template(&helm, &chart, &args);
            if !helm_ok {
                rejected += 1;
            }
            match (&ours, helm_ok) {
                (Ok(()), true) => {}
                (Err(_), false) if helm_err.contains("schema") => {}
                (Ok(()), false) => {
                    failures.push(format!("{name} {file:?}: helm rejects: {helm_err}"))
                }
                (Err(e), _) => failures.push(format!(
                    "{name} {file:?}: signet rejects ({e}), helm: {}",
                    if helm_ok {
                        "accepts".into()
                    } else {
                        helm_err.clone()
                    }
                )),
            }
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "corpus values-schema: {}/{} judged as helm does ({rejected} rejected by helm)",
        total - failures.len(),
        total
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The decoding functions, including their in-band error values, against helm.
/// Renders `EXPR` (a pipeline over `$s`, one of `inputs`) in a throwaway chart with helm and
/// returns helm's `toJson` of each result, keyed by input index.
fn helm_over_inputs(
    helm: &Path,
    inputs: &[&str],
    expr: &str,
) -> std::collections::BTreeMap<String, String> {
    let (_dir, chart) = empty_chart();
    let mut values = String::from("inputs:\n");
    for i in inputs {
        values.push_str(&format!("- {}\n", yaml::to_json(&Value::str(*i)).unwrap()));
    }
    std::fs::write(chart.join("values.yaml"), values).unwrap();
    std::fs::write(
        chart.join("templates/values.yaml"),
        format!(
            "{{{{- range $i, $s := .Values.inputs }}}}\n#=== {{{{ $i }}}}\n#{{{{ {expr} | toJson | b64enc }}}}\n{{{{- end }}}}\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = helm_template(helm, &chart, &[]);
    assert!(ok, "helm failed: {err}");
    section_map(&out)
}

#[test]
fn decoders_match_helm() {
    let Some(helm) = helm() else { return };
    let inputs = [
        "a: 1\nb: [x, 2.5]",
        "- a\n- 1",
        "",
        "null",
        "a: [1",
        "a: b: c",
        "a: 'x",
        "a: &x 1\nb: *x",
        "a: !!int x",
        "{\"a\": 1, \"b\": {\"c\": [true, null]}}",
        "[1, 2, {\"x\": \"<&>\"}]",
        "{\"a\" 1}",
        "[1,]",
        "x",
        "\"str\"",
        "a:\n  b: 1\n c: 2",
        "1e400: x",
        "a: 1\n---\nb: 2",
    ];
    let expected = helm_over_inputs(
        &helm,
        &inputs,
        "list (fromYaml $s) (fromYamlArray $s) (fromJson $s) (fromJsonArray $s)",
    );
    let funcs = yaml::encoding_functions();
    let call = |name: &str, s: &str| funcs[name](&[Value::str(s)]).unwrap();
    let mut failures = Vec::new();
    for (i, s) in inputs.iter().enumerate() {
        let ours = yaml::to_json(&Value::list(vec![
            call("fromYaml", s),
            call("fromYamlArray", s),
            call("fromJson", s),
            call("fromJsonArray", s),
        ]))
        .unwrap();
        let want = expected.get(&i.to_string()).cloned().unwrap_or_default();
        if ours != want {
            failures.push(format!("{s:?}:\n  ours: {ours}\n  helm: {want}"));
        }
    }
    report("decoders", inputs.len(), &failures);
}

/// `fromToml` against helm: types, tables, arrays of tables, strings, and error texts.
#[test]
fn from_toml_matches_helm() {
    let Some(helm) = helm() else { return };
    let inputs = [
        "a = 1\nb = 1.5\nc = true\nd = \"s\\tq\"\ne = 'lit'\nf = [1, 2, 3]\n",
        "[t]\nx = 1\n[t.u]\ny = \"z\"\n[[arr]]\nk = 1\n[[arr]]\nk = 2\n",
        "inline = { a = 1, b.c = \"d\" }\nhex = 0xff\noct = 0o17\nbin = 0b101\nunder = 1_000\nexp = 1e3\nneg = -7\n",
        "m = \"\"\"\nline1\nline2\"\"\"\nl = '''\nraw\\n'''\n",
        "one",
        "a = 1\na = 2",
        "a = ",
    ];
    let expected = helm_over_inputs(&helm, &inputs, "fromToml $s");
    let funcs = yaml::encoding_functions();
    let mut failures = Vec::new();
    for (i, s) in inputs.iter().enumerate() {
        let ours = yaml::to_json(&funcs["fromToml"](&[Value::str(*s)]).unwrap()).unwrap();
        let want = expected.get(&i.to_string()).cloned().unwrap_or_default();
        if ours != want {
            failures.push(format!("{s:?}:\n  ours: {ours}\n  helm: {want}"));
        }
    }
    report("fromToml", inputs.len(), &failures);
}
