//! The values layer against the real helm binary: tricky values files are rendered by helm with
//! `toYaml`/`toJson`/`toToml`/`toYamlPretty` and compared byte for byte with signet's parser and
//! encoders. Skips (printing where it looked) when helm is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use signet_gotemplate::Value;
use signet_render::yaml;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn helm() -> Option<PathBuf> {
    let dir = std::env::var_os("SIGNET_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".tools/bin"));
    let helm = dir.join("helm");
    if helm.is_file() {
        Some(helm)
    } else {
        eprintln!("helm not found at {}; skipping", helm.display());
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

fn compare(func: &str, ours: impl Fn(&Value) -> String) -> (usize, usize, Vec<String>) {
    let Some(helm) = helm() else {
        return (0, 0, Vec::new());
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
    (total - failures.len(), total, failures)
}

#[test]
fn to_yaml_matches_helm() {
    let (pass, total, failures) = compare("toYaml", |v| yaml::to_yaml(v).unwrap_or_default());
    eprintln!("oracle toYaml: {pass}/{total} passed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn to_json_matches_helm() {
    let (pass, total, failures) = compare("toJson", |v| yaml::to_json(v).unwrap_or_default());
    eprintln!("oracle toJson: {pass}/{total} passed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn to_toml_matches_helm() {
    let (pass, total, failures) = compare("toToml", |v| yaml::to_toml(v).unwrap_or_else(|e| e));
    eprintln!("oracle toToml: {pass}/{total} passed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn to_yaml_pretty_matches_helm() {
    let (pass, total, failures) = compare("toYamlPretty", |v| {
        let s = yaml::marshal_flavor(v, yaml::Flavor::Pretty).unwrap_or_default();
        s.strip_suffix('\n').unwrap_or(&s).to_string()
    });
    eprintln!("oracle toYamlPretty: {pass}/{total} passed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
