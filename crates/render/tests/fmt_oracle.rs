//! Go's quoting of runes against helm (the Go the rendering oracle is built with): `%q`, `%+q`,
//! `%#q` and `%#U` of every rune below U+3000 and a stride through the rest must read exactly as
//! helm prints them (non-printable runes escaped, e.g. U+FFFE as
//! `\ufffe`, unassigned ones included). Skips when helm is not installed (fails under CI=true).

use std::process::Command;

use signet_render::render::TemplateInvocation;

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{skip, tools_dir};

/// The runes to check: all below U+3000 (most scripts and every ASCII/Latin-1 special case), a
/// stride through the rest, and the edges that were once got wrong.
fn runes() -> Vec<u32> {
    let mut r: Vec<u32> = (0..0x3000).collect();
    r.extend((0x3000..0x11_0000).step_by(29));
    r.extend([
        0xAD, 0x378, 0x61C, 0x180E, 0x200B, 0x2028, 0x2029, 0x2060, 0x2065, 0xD7FF, 0xE000, 0xF8FF,
        0xFEFF, 0xFFF9, 0xFFFC, 0xFFFD, 0xFFFE, 0xFFFF, 0x1C89, 0x1F6D8, 0x1FAE9, 0xE0001, 0xF0000,
        0x10FFFF,
    ]);
    r.retain(|c| !(0xD800..=0xDFFF).contains(c));
    r.sort_unstable();
    r.dedup();
    r
}

#[test]
fn rune_quoting_matches_helm() {
    let helm = tools_dir().join("helm");
    if !helm.is_file() {
        skip(
            "fmt oracle",
            &format!("helm not found at {}", helm.display()),
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("q");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: q\nversion: 1.0.0\n",
    )
    .unwrap();
    let list: Vec<String> = runes().iter().map(u32::to_string).collect();
    std::fs::write(
        chart.join("values.yaml"),
        format!("runes: [{}]\n", list.join(",")),
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/q.yaml"),
        // Base64, so raw line separators (`%#q` leaves U+2028 as is) cannot break the YAML.
        "{{ range .Values.runes }}# {{ $s := printf \"%c\" . }}{{ printf \"%d %q %+q %#q %#U %q\" . . $s $s . $s | b64enc }}\n{{ end }}",
    )
    .unwrap();
    let out = Command::new(&helm)
        .args(["template", "rel", "q"])
        .current_dir(dir.path())
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = String::from_utf8(out.stdout).expect("helm prints UTF-8");
    let args: Vec<String> = ["template", "rel", "q"].map(String::from).to_vec();
    let got = TemplateInvocation::parse(&args)
        .and_then(|inv| inv.run(dir.path()))
        .expect("signet renders");
    let decode = |line: &str| {
        use base64::Engine;
        let b64 = line.trim_start_matches("# ");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_else(|_| b64.as_bytes().to_vec());
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let diffs: Vec<(String, String)> = got
        .lines()
        .zip(want.lines())
        .filter(|(g, w)| g != w)
        .map(|(g, w)| (decode(g), decode(w)))
        .collect();
    assert_eq!(
        got.lines().count(),
        want.lines().count(),
        "one line per rune"
    );
    assert!(
        diffs.is_empty(),
        "{} runes quoted differently, first: signet {:?}, helm {:?}",
        diffs.len(),
        diffs[0].0,
        diffs[0].1
    );
}
