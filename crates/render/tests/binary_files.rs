//! Template values are Go strings, i.e. bytes: a chart's binary files (gzip, bzip2, a PNG header,
//! random bytes) go through `.Files.Get`/`GetBytes`/`Lines`/`Glob`/`AsSecrets`/`AsConfig` and the
//! string functions (`b64enc`, the sums, `len`, `printf`, `trunc`, `substr`, `toJson`, `toYaml`,
//! `quote`, `indent`, `replace`, `upper`, `contains`, the regex family, …) and come out as the
//! bytes helm v4.1.4 writes. Helm's output is recorded in `fixtures/` (so the test holds without
//! helm) and compared live, byte for byte, when helm is installed.

use std::path::Path;
use std::process::Command;

use signet_render::render::TemplateInvocation;

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{skip, tools_dir};

/// gzip of "hello, binary world\n" × 3 (Python's `gzip.compress(…, mtime=0)`).
const GZIP: &[u8] = &[
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7,
    0x51, 0x48, 0xca, 0xcc, 0x4b, 0x2c, 0xaa, 0x54, 0x28, 0xcf, 0x2f, 0xca, 0x49, 0xe1, 0xca, 0x20,
    0x52, 0x0c, 0x00, 0x04, 0x23, 0x2f, 0x53, 0x3c, 0x00, 0x00, 0x00,
];

/// bzip2 of the same text.
const BZIP2: &[u8] = &[
    0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0x13, 0x6c, 0xe0, 0xa8, 0x00, 0x00,
    0x0d, 0x51, 0x80, 0x00, 0x10, 0x40, 0x04, 0x36, 0x65, 0x90, 0xa0, 0x20, 0x00, 0x23, 0x3f, 0xf5,
    0x52, 0x31, 0x0f, 0x4d, 0x34, 0x29, 0x80, 0x00, 0xc3, 0xc5, 0x25, 0x2c, 0xa5, 0xa7, 0xc8, 0x6d,
    0x2c, 0x36, 0xb2, 0x90, 0xa4, 0x3d, 0x70, 0x5d, 0xc9, 0x14, 0xe1, 0x42, 0x40, 0x4d, 0xb3, 0x82,
    0xa0,
];

/// A PNG signature and the start of its IHDR chunk.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89,
];

/// `n` pseudo-random bytes from a fixed seed (xorshift64), with a few newlines so `Lines` splits.
fn random_bytes(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 37 == 36 { b'\n' } else { (x >> 24) as u8 }
        })
        .collect()
}

/// Every function, on every file.
const FUNCS_TEMPLATE: &str = r#"{{- define "echo" }}{{ . }}{{ end -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: binary
data:
{{- range $i, $f := list "files/data.gz" "files/data.bz2" "files/logo.png" "files/random.bin" "files/text.txt" }}
{{- $s := $.Files.Get $f }}
{{- $b := $.Files.GetBytes $f }}
  f{{ $i }}: |
    name: {{ $f }}
    b64: {{ $s | b64enc }} {{ $s | b32enc }}
    sums: {{ $s | sha256sum }} {{ $s | sha1sum }} {{ adler32sum $s }}
    sha512: {{ sha512sum $s }}
    len: {{ len $s }} {{ len $b }} {{ printf "%T %T" $s $b }}
    printf: {{ printf "%q" $s }} {{ printf "%+q" $s }} {{ printf "%#q" $s }}
    hex: {{ printf "%x" $s }} {{ printf "% X" $b }} {{ printf "%.3x" $s }}
    qb: {{ printf "%q" $b }} {{ printf "%.3q" $s }} {{ printf "%#v" $s | b64enc }}
    s: {{ printf "%s" $s | b64enc }} {{ printf "%v" $s | b64enc }} {{ printf "%10.4s|%-6.2s|" $s $s | b64enc }}
    trunc: {{ trunc 5 $s | b64enc }} {{ trunc -5 $s | b64enc }} {{ trunc 3 "héllo" | b64enc }}
    substr: {{ substr 1 7 $s | b64enc }} {{ substr 0 2 "héllo" | b64enc }} {{ substr 2 4 "héllo" | b64enc }}
    json: {{ $s | toJson | b64enc }} {{ $s | toPrettyJson | b64enc }} {{ $s | toRawJson | b64enc }} {{ $b | toJson }}
    yaml: {{ $s | toYaml | b64enc }} {{ dict "k" $s | toYaml | b64enc }}
    quote: {{ $s | quote }} {{ $b | quote }} {{ $s | squote | b64enc }} {{ $b | squote }}
    indent: {{ $s | indent 2 | b64enc }} {{ $s | nindent 2 | b64enc }}
    replace: {{ $s | replace "\x00" "NUL" | b64enc }} {{ replace "" "-" $s | b64enc }}
    case: {{ $s | upper | b64enc }} {{ $s | lower | b64enc }} {{ $s | nospace | b64enc }}
    contains: {{ contains "\x1f\x8b" $s }} {{ hasPrefix "\x89PNG" $s }} {{ hasSuffix "\x00" $s }}
    regex: {{ regexMatch "^\x1f" $s }} {{ regexReplaceAll "[a-z]" $s "." | b64enc }} {{ regexFindAll "[^a-z]+" $s 3 | toString | b64enc }}
    tostring: {{ $b | toString | b64enc }} {{ $s | toString | b64enc }} {{ list $s 1 | toString | b64enc }}
    print: {{ print $s | b64enc }} {{ print $b | b64enc }} {{ println $s 2 | b64enc }} {{ cat $s "x" | b64enc }}
    trim: {{ $s | trim | b64enc }} {{ trimSuffix "\n" $s | b64enc }} {{ trimAll "\x00\x1f" $s | b64enc }}
    cmp: {{ eq $s ($.Files.Get $f) }} {{ eq $s "x" }} {{ lt $s "a" }} {{ index $s 0 }}
    lines: {{ $.Files.Lines $f | len }} {{ $.Files.Lines $f | toJson | b64enc }}
    b64dec: {{ $s | b64enc | b64dec | sha256sum }} {{ $s | b32enc | b32dec | sha256sum }}
    split: {{ splitList "\n" $s | len }} {{ split "\n" $s | toJson | b64enc }}
    include: {{ include "echo" $s | b64enc }} {{ tpl "{{ . }}" $s | b64enc }} {{ $s | default "d" | b64enc }}
    decode: {{ $s | fromYaml | toJson }} {{ $s | fromYamlArray | toJson }} {{ printf "a: \"\xff%s\"" $s | fromYaml | toJson }}
{{- end }}
  glob: {{ .Files.Glob "files/*" | len }} {{ (.Files.Glob "files/*.gz").AsSecrets | b64enc }}
  config: {{ (.Files.Glob "files/*.b*").AsConfig | b64enc }}
  files: {{ .Files | toJson | b64enc }}
"#;

fn chart(template: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "bin/Chart.yaml".into(),
            b"apiVersion: v2\nname: bin\nversion: 1.0.0\n".to_vec(),
        ),
        ("bin/files/data.gz".into(), GZIP.to_vec()),
        ("bin/files/data.bz2".into(), BZIP2.to_vec()),
        ("bin/files/logo.png".into(), PNG.to_vec()),
        ("bin/files/random.bin".into(), random_bytes(300)),
        (
            "bin/files/text.txt".into(),
            "héllo\nwörld\n".as_bytes().to_vec(),
        ),
        ("bin/templates/cm.yaml".into(), template.as_bytes().to_vec()),
    ]
}

fn write_tree(files: &[(String, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (path, data) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a file in a folder")).expect("mkdir");
        std::fs::write(path, data).expect("write chart file");
    }
    dir
}

/// `template rel bin` with signet: stdout's bytes, or `Error: …`.
fn signet(dir: &Path) -> Vec<u8> {
    let args: Vec<String> = ["template", "rel", "bin"].map(String::from).to_vec();
    match TemplateInvocation::parse(&args).and_then(|inv| inv.run(dir)) {
        Ok(out) => out.into_bytes(),
        Err(e) => format!("Error: {e}").into_bytes(),
    }
}

/// The same with the real helm (stdout's bytes, or its error line), or `None` without helm.
fn helm(dir: &Path) -> Option<Vec<u8>> {
    let helm = tools_dir().join("helm");
    if !helm.is_file() {
        skip(
            "binary files helm check",
            &format!("helm not found at {}", helm.display()),
        );
        return None;
    }
    let out = Command::new(helm)
        .args(["template", "rel", "bin"])
        .current_dir(dir)
        .output()
        .expect("helm runs");
    Some(if out.status.success() {
        out.stdout
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        err.split("\n\nUse --debug flag")
            .next()
            .unwrap_or_default()
            .trim_end()
            .as_bytes()
            .to_vec()
    })
}

/// Renders `template` over the binary chart with signet (and helm when installed) and compares
/// the bytes with the recorded `want`.
fn check(template: &str, want: &[u8]) {
    let dir = write_tree(&chart(template));
    if let Some(helm) = helm(dir.path()) {
        assert!(
            helm == want,
            "helm's output is no longer the one recorded here:\n{}",
            String::from_utf8_lossy(&helm)
        );
    }
    let got = signet(dir.path());
    if got != want {
        let (g, w) = (String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
        for (n, (gl, wl)) in g.lines().zip(w.lines()).enumerate() {
            assert_eq!(gl, wl, "signet differs from helm at line {}", n + 1);
        }
        panic!("signet differs from helm:\n{g}");
    }
}

#[test]
fn binary_files_through_every_string_function_match_helm() {
    check(FUNCS_TEMPLATE, include_bytes!("fixtures/binary_files.out"));
}

#[test]
fn raw_binary_in_a_manifest_fails_as_helm_reads_it() {
    // go-yaml's reader refuses the bytes: each shape has its own words.
    let cases: &[&str] = &[
        r#"a: {{ .Files.Get "files/data.gz" }}"#,
        r#"b: {{ printf "%s" (.Files.Get "files/random.bin") }}"#,
        r#"c: x{{ trunc 1 "é" }}y"#,
        r#"d: {{ "\xe2\x82" }}"#,
        r#"e: "{{ b64dec "7a+/" }}""#,
        r#"f: {{ b64dec "AQ==" }}"#,
        r#"g: {{ b64dec "7b+/" }}"#,
        "h: |\n  {{ .Files.Get \"files/logo.png\" | trimPrefix \"\\x89\" }}",
    ];
    for template in cases {
        let dir = write_tree(&chart(template));
        let got = String::from_utf8_lossy(&signet(dir.path())).into_owned();
        if let Some(helm) = helm(dir.path()) {
            assert_eq!(got, String::from_utf8_lossy(&helm), "template {template}");
        }
        assert!(
            got.starts_with("Error: YAML parse error on bin/templates/cm.yaml: "),
            "{template}: {got}"
        );
    }
}
