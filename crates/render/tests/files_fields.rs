//! `.Files` is a map of file name to bytes in Helm: `.Files.NAME` is that file's `[]byte` (an
//! empty one when there is no such file), printed, converted, measured and encoded as Go does it,
//! against helm v4.1.4 (recorded here, and run live when installed).

#[path = "support/live_helm.rs"]
mod live_helm;
use live_helm::check;

#[test]
fn files_fields_are_the_files_bytes() {
    check(FILES_CHART, "files", FILES_HELM);
}

const FILES_CHART: &[(&str, &str)] = &[
    (
        "files/Chart.yaml",
        r##"apiVersion: v2
name: files
version: 1.0.0
"##,
    ),
    (
        "files/README",
        r##"hi
"##,
    ),
    (
        "files/conf",
        r##"a: 1
"##,
    ),
    (
        "files/templates/a.yaml",
        r##"# a: {{ .Files.README | toString | trim | quote }}
# b: {{ .Files.nope | quote }}
# c: {{ .Files.conf }}
# d: {{ .Files.nope }}
# e: {{ printf "%T" .Files.conf }}
# f: {{ if .Files.nope }}yes{{ else }}no{{ end }} {{ if .Files.conf }}yes{{ else }}no{{ end }}
# h: {{ printf "%T" .Files.nope }}
# i: {{ len .Files.conf }} {{ len .Files.nope }}
# j: {{ .Files.conf | toJson }} {{ dict "f" .Files.README | toJson }}
# k: {{ index .Files "conf" | toString }}
# l: {{ .Files.README | quote }} {{ .Files.README | squote }}
# m: {{ printf "%s|%q|%x|%v" .Files.README .Files.README .Files.README .Files.README | quote }}
# n: {{ .Files.Get "conf" | quote }} {{ cat .Files.README "x" | quote }}
# o: {{ .Files.README | toYaml | trim }}
x: 1
"##,
    ),
];

const FILES_HELM: &str = r##"---
# Source: files/templates/a.yaml
# a: "hi"
# b: ""
# c: [97 58 32 49 10]
# d: []
# e: []uint8
# f: no yes
# h: []uint8
# i: 5 0
# j: "YTogMQo=" {"f":"aGkK"}
# k: a: 1

# l: "hi\n" '[104 105 10]'
# m: "hi\n|\"hi\\n\"|68690a|[104 105 10]"
# n: "a: 1\n" "[104 105 10] x"
# o: aGkK
x: 1
"##;
