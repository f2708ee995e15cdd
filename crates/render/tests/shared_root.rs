//! Templates that change the shared root context, against helm v4.1.4.
//!
//! Helm executes a release's templates in its render order (deeper paths first, then reverse
//! lexical order) against one dot per chart, whose `.Values`, `.Release` and nested maps are the
//! same maps everywhere they appear. So `set $ "Values" (mustMergeOverwrite $defaults $.Values)`,
//! `unset $.Values …` or `set $.Values.nested …` in one template changes what every template
//! executed after it sees — a subchart's template changes its parent's `.Values.SUB` and
//! `.Subcharts.SUB`, and a template executed earlier never sees the change. Each chart below is
//! written to a temporary folder and rendered by signet; the output must equal byte for byte what
//! helm printed for it (recorded here), and when helm is installed the test also runs helm on the
//! same folder and checks that recording.

#[path = "support/live_helm.rs"]
mod live_helm;
use live_helm::check;

/// `$`, `$.Values`, nested maps and `.Release` changed from one template and read in later ones,
/// in the root chart and in a subchart (whose changes reach the parent through its `.Values.sub`
/// and `.Subcharts.sub`, not through the parent's own dot), and a range that changes the map it
/// iterates over (Go iterates over a snapshot).
#[test]
fn later_templates_see_what_earlier_ones_changed() {
    check(MUT_CHART, "mut", MUT_HELM);
}

/// The profile-merging pattern: a template that renders nothing merges defaults into `$.Values`
/// (and replaces `.Capabilities`) through `include`, `tpl` and `set $`; templates deeper in the
/// tree execute before it and see the values unmerged.
#[test]
fn a_template_that_merges_defaults_into_values_serves_the_later_ones() {
    check(PROF_CHART, "prof", PROF_HELM);
}

/// A key unset by a template breaks a later one with helm's error.
#[test]
fn a_key_unset_by_one_template_is_missing_in_the_later_ones() {
    check(BROKEN_CHART, "broken", BROKEN_HELM_ERROR);
}

const MUT_CHART: &[(&str, &str)] = &[
    (
        "mut/Chart.yaml",
        r##"apiVersion: v2
name: mut
version: 0.1.0
dependencies:
  - name: sub
    version: 0.1.0
"##,
    ),
    (
        "mut/charts/sub/Chart.yaml",
        r##"apiVersion: v2
name: sub
version: 0.1.0
"##,
    ),
    (
        "mut/charts/sub/templates/a.yaml",
        r##"kind: ConfigMap
metadata: {name: sub-a}
data:
  subdef: {{ .Values.subdef }}
  fromSubB: {{ .Values.fromSubB }}
  given: {{ .Values.given }}
  subOnly: {{ .SubOnly }}
  fromSub: {{ .Release.FromSub }}
"##,
    ),
    (
        "mut/charts/sub/templates/b.yaml",
        r##"{{- $_ := set $.Values "inPlace" "p" }}
{{- $_ := set $ "Values" (merge (dict "subdef" "d") $.Values) }}
{{- $_ := set $.Values "fromSubB" "yes" }}
{{- $_ := set $ "SubOnly" "s" }}
{{- $_ := set $.Release "FromSub" "r" }}
kind: ConfigMap
metadata: {name: sub-b}
data:
  tmpl: {{ .Template.Name }}
"##,
    ),
    (
        "mut/charts/sub/values.yaml",
        r##"own: o
"##,
    ),
    (
        "mut/templates/a-read.yaml",
        r##"kind: ConfigMap
metadata: {name: a}
data:
  name: {{ .Values.profile.name }}
  replicas: {{ .Values.profile.replicas | quote }}
  extra: {{ .Values.extra }}
  nested: {{ .Values.nested | toJson | quote }}
  custom: {{ .Custom.c | quote }}
  subFromSubB: {{ .Values.sub.fromSubB }}
  subSubdef: {{ .Values.sub.subdef | default "absent" }}
  subchartsSubdef: {{ .Subcharts.sub.Values.subdef }}
  subchartsSubOnly: {{ .Subcharts.sub.SubOnly }}
  subchartsTemplate: {{ .Subcharts.sub.Template.Name }}
  subOnlyHere: {{ hasKey $ "SubOnly" | quote }}
  fromSub: {{ .Release.FromSub }}
  template: {{ .Template.Name }}
  subInPlace: {{ .Values.sub.inPlace }}
"##,
    ),
    (
        "mut/templates/m-middle.yaml",
        r##"{{- $_ := set $.Values.nested "zgone" "z" }}
kind: ConfigMap
metadata: {name: m}
data:
  range: {{ range $k, $v := .Values.nested }}{{ if eq $k "added" }}{{ $_ := set $.Values.nested "keep" "changed-in-range" }}{{ $_ := unset $.Values.nested "zgone" }}{{ end }}{{ $k }}={{ $v }};{{ end }}
  {{- $_ := set .Custom "c" 2 }}
  replicas: {{ .Values.profile.replicas | quote }}
  extra: {{ .Values.extra }}
  hasSecret: {{ hasKey .Values "secret" | quote }}
"##,
    ),
    (
        "mut/templates/z-defaults.yaml",
        r##"{{- $defaults := dict "profile" (dict "replicas" 3 "name" "def") "extra" "x" }}
{{- $_ := set $ "Values" (mustMergeOverwrite $defaults $.Values) }}
{{- $_ := unset $.Values "secret" }}
{{- $_ := set $.Values.nested "added" "yes" }}
{{- $_ := set $ "Custom" (dict "c" 1) }}
kind: ConfigMap
metadata: {name: z}
data:
  sees: {{ .Values.profile.name }}
"##,
    ),
    (
        "mut/values.yaml",
        r##"replicas: 1
secret: hide-me
nested:
  keep: k
profile:
  name: user
sub:
  given: g
"##,
    ),
];

const PROF_CHART: &[(&str, &str)] = &[
    (
        "prof/Chart.yaml",
        r##"apiVersion: v2
name: prof
version: 1.0.0
"##,
    ),
    (
        "prof/templates/_defaults.tpl",
        r##"{{- define "prof.defaults" -}}
resources:
  requests: {cpu: 100m, memory: 64Mi}
  limits: {cpu: 200m}
labels: {tier: {{ .Values.profile }}}
{{- end -}}
{{- define "prof.mark" -}}
{{- $_ := set .Values "markedBy" .Template.Name -}}
{{- end -}}
"##,
    ),
    (
        "prof/templates/deployment.yaml",
        r##"kind: Deployment
metadata:
  name: web
  labels: {{ .Values.labels | toYaml | nindent 4 }}
spec:
  resources: {{ .Values.resources | toYaml | nindent 4 }}
  limitsCpu: {{ .Values.resources.limits.cpu }}
  legacy: {{ hasKey .Values "legacy" | quote }}
  markedBy: {{ .Values.markedBy }}
  fromTpl: {{ .Values.fromTpl }}
  kube: {{ .Capabilities.KubeVersion.Version }}
"##,
    ),
    (
        "prof/templates/sub/dir/early.yaml",
        r##"kind: ConfigMap
metadata: {name: early}
data:
  limits: {{ hasKey .Values.resources "limits" | quote }}
  legacy: {{ hasKey .Values "legacy" | quote }}
  kube: {{ .Capabilities.KubeVersion.Version }}
"##,
    ),
    (
        "prof/templates/zz-profile.yaml",
        r##"{{- $defaults := fromYaml (include "prof.defaults" .) }}
{{- $_ := set $ "Values" (mustMergeOverwrite $defaults $.Values) }}
{{- $_ := unset $.Values "legacy" }}
{{- include "prof.mark" $ }}
{{- tpl "{{ $_ := set $.Values \"fromTpl\" .Template.BasePath }}" $ }}
{{- $_ := set $ "Capabilities" (dict "KubeVersion" (dict "Version" "v9.9.9")) }}
"##,
    ),
    (
        "prof/values.yaml",
        r##"profile: small
legacy: {old: true}
resources:
  requests: {cpu: 50m}
"##,
    ),
];

const BROKEN_CHART: &[(&str, &str)] = &[
    (
        "broken/Chart.yaml",
        r##"apiVersion: v2
name: broken
version: 1.0.0
"##,
    ),
    (
        "broken/templates/a.yaml",
        r##"kind: ConfigMap
metadata: {name: a}
data:
  host: {{ .Values.db.host }}
"##,
    ),
    (
        "broken/templates/b.yaml",
        r##"{{- $_ := unset $.Values "db" }}
"##,
    ),
    (
        "broken/values.yaml",
        r##"db: {host: h, port: 5432}
"##,
    ),
];

const MUT_HELM: &str = r##"---
# Source: mut/charts/sub/templates/a.yaml
kind: ConfigMap
metadata: {name: sub-a}
data:
  subdef: d
  fromSubB: yes
  given: g
  subOnly: s
  fromSub: r
---
# Source: mut/charts/sub/templates/b.yaml
kind: ConfigMap
metadata: {name: sub-b}
data:
  tmpl: mut/charts/sub/templates/b.yaml
---
# Source: mut/templates/a-read.yaml
kind: ConfigMap
metadata: {name: a}
data:
  name: user
  replicas: "3"
  extra: x
  nested: "{\"added\":\"yes\",\"keep\":\"changed-in-range\"}"
  custom: "2"
  subFromSubB: 
  subSubdef: absent
  subchartsSubdef: d
  subchartsSubOnly: s
  subchartsTemplate: mut/charts/sub/templates/a.yaml
  subOnlyHere: "false"
  fromSub: r
  template: mut/templates/a-read.yaml
  subInPlace: p
---
# Source: mut/templates/m-middle.yaml
kind: ConfigMap
metadata: {name: m}
data:
  range: added=yes;keep=k;zgone=z;
  replicas: "3"
  extra: x
  hasSecret: "false"
---
# Source: mut/templates/z-defaults.yaml
kind: ConfigMap
metadata: {name: z}
data:
  sees: user
"##;

const PROF_HELM: &str = r##"---
# Source: prof/templates/sub/dir/early.yaml
kind: ConfigMap
metadata: {name: early}
data:
  limits: "false"
  legacy: "true"
  kube: v1.35.0
---
# Source: prof/templates/deployment.yaml
kind: Deployment
metadata:
  name: web
  labels: 
    tier: small
spec:
  resources: 
    limits:
      cpu: 200m
    requests:
      cpu: 50m
      memory: 64Mi
  limitsCpu: 200m
  legacy: "false"
  markedBy: prof/templates/zz-profile.yaml
  fromTpl: prof/templates
  kube: v9.9.9
"##;

const BROKEN_HELM_ERROR: &str = r##"Error: broken/templates/a.yaml:4:18
  executing "broken/templates/a.yaml" at <.Values.db.host>:
    nil pointer evaluating interface {}.host"##;

/// Subcharts' globals are their own copies (Helm copies the parent's `global` into each), so
/// a subchart that changes its `.Values.global` changes neither its sibling's nor the parent's,
/// while its own values map is the parent's `.Values.SUB`.
#[test]
fn a_subchart_changes_its_own_copy_of_the_globals() {
    check(GLOB_CHART, "glob", GLOB_HELM);
}

const GLOB_CHART: &[(&str, &str)] = &[
    (
        "glob/Chart.yaml",
        r##"apiVersion: v2
name: glob
version: 1.0.0
dependencies:
  - name: a
    version: 1.0.0
  - name: b
    version: 1.0.0
"##,
    ),
    (
        "glob/charts/a/Chart.yaml",
        r##"apiVersion: v2
name: a
version: 1.0.0
"##,
    ),
    (
        "glob/charts/a/templates/x.yaml",
        r##"{{- $_ := set .Values.global "fromA" "a" }}
{{- $_ := set .Values.global.nested "fromA" "a" }}
{{- $_ := set .Values "topFromA" "a" }}
# a sees: {{ .Values.global | toJson }}
"##,
    ),
    (
        "glob/charts/a/values.yaml",
        r##"local: {l: 1}
"##,
    ),
    (
        "glob/charts/b/Chart.yaml",
        r##"apiVersion: v2
name: b
version: 1.0.0
"##,
    ),
    (
        "glob/charts/b/templates/x.yaml",
        r##"{{- $_ := set .Values.global "fromB" "b" }}
# b sees: {{ .Values.global | toJson }} {{ .Values | toJson }}
"##,
    ),
    (
        "glob/templates/x.yaml",
        r##"# root sees: {{ .Values.global | toJson }}
# root a: {{ .Values.a | toJson }}
# root b: {{ .Values.b | toJson }}
"##,
    ),
    (
        "glob/values.yaml",
        r##"global:
  g: 1
  nested: {n: 1}
b:
  own: 1
"##,
    ),
];

const GLOB_HELM: &str = r##"---
# Source: glob/charts/a/templates/x.yaml
# a sees: {"fromA":"a","g":1,"nested":{"false":1,"fromA":"a"}}
---
# Source: glob/charts/b/templates/x.yaml
# b sees: {"fromB":"b","g":1,"nested":{"false":1}} {"global":{"fromB":"b","g":1,"nested":{"false":1}},"own":1}
---
# Source: glob/templates/x.yaml
# root sees: {"g":1,"nested":{"false":1}}
# root a: {"global":{"fromA":"a","g":1,"nested":{"false":1,"fromA":"a"}},"local":{"l":1},"topFromA":"a"}
# root b: {"global":{"fromB":"b","g":1,"nested":{"false":1}},"own":1}
"##;

/// What templates change lives as long as one render: rendering the same loaded chart again with
/// the same user values (as the controller does) starts from the chart's defaults and the user's
/// values untouched, even where templates changed maps nested in both.
#[test]
fn changes_do_not_outlive_the_render() {
    use signet_gotemplate::Value;
    use signet_render::chart::{LoadLimits, load_dir};
    use signet_render::render::{RenderOptions, template};

    let dir = live_helm::write_tree(&[
        (
            "counter/Chart.yaml",
            "apiVersion: v2\nname: counter\nversion: 1.0.0\n",
        ),
        ("counter/values.yaml", "nested: {count: 0}\nlist: [a]\n"),
        (
            "counter/templates/a.yaml",
            concat!(
                "{{- $_ := set .Values.nested \"count\" (add1 .Values.nested.count) }}\n",
                "{{- $_ := set .Values.user \"seen\" (add1 (.Values.user.seen | default 0)) }}\n",
                "{{- $_ := set $ \"Values\" (dict \"nested\" .Values.nested \"user\" .Values.user) }}\n",
                "count: {{ .Values.nested.count }}\nseen: {{ .Values.user.seen }}\n",
            ),
        ),
    ]);
    let chart = load_dir(&dir.path().join("counter"), &LoadLimits::default()).unwrap();
    let user = signet_render::yaml::parse_values("user: {seen: 0}\n").unwrap();
    let opts = RenderOptions::default();
    let first = template(&chart, &user, &opts).unwrap();
    let second = template(&chart, &user, &opts).unwrap();
    assert!(first.contains("count: 1\nseen: 1\n"), "{first}");
    assert_eq!(first, second);
    let Value::Map(m) = &user else { panic!() };
    let seen = signet_render::yaml::to_json(&m.borrow()["user"]).unwrap();
    assert_eq!(seen, r#"{"seen":0}"#);
}
