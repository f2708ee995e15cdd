//! Benchmark: parse a chart-sized template set of 1,000 templates (plus helpers) into one set
//! and render every template, as Helm does for a large chart. Prints templates/s for parsing
//! and rendering and the process's peak memory (VmHWM). Run with `cargo bench -p
//! signet-gotemplate` (`SIGNET_BENCH_TEMPLATES` changes the count).

use std::sync::Arc;
use std::time::Instant;

use signet_gotemplate::{EngineFn, ExecContext, Template, Value, sprig};

const HELPERS: &str = r#"
{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "app.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}
{{- define "app.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 }}
{{ include "app.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
"#;

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}-__N__
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "app.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      {{- with .Values.podAnnotations }}
      annotations:
        {{- range $k, $v := . }}
        {{ $k }}: {{ $v | quote }}
        {{- end }}
      {{- end }}
      labels:
        {{- include "app.selectorLabels" . | nindent 8 }}
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            {{- range .Values.ports }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: {{ .protocol | default "TCP" }}
            {{- end }}
          env:
            {{- range $i, $e := .Values.env }}
            - name: {{ $e.name | upper }}
              value: {{ $e.value | toString | quote }}
            {{- end }}
          resources:
            limits:
              cpu: {{ .Values.resources.limits.cpu }}
              memory: {{ .Values.resources.limits.memory }}
      {{- if .Values.nodeSelector }}
      nodeSelector:
        {{- range $k, $v := .Values.nodeSelector }}
        {{ $k }}: {{ $v }}
        {{- end }}
      {{- end }}
"#;

const VALUES: &str = r#"{
  "Chart": {"Name": "web", "Version": "1.2.3+build", "AppVersion": "2.0.1"},
  "Release": {"Name": "prod", "Service": "Helm", "Namespace": "default"},
  "Values": {
    "nameOverride": "", "fullnameOverride": "", "replicaCount": 3,
    "autoscaling": {"enabled": false},
    "podAnnotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
    "image": {"repository": "registry.example/web", "tag": "", "pullPolicy": "IfNotPresent"},
    "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090, "protocol": "TCP"}],
    "env": [{"name": "log_level", "value": "debug"}, {"name": "workers", "value": 4}, {"name": "ratio", "value": 0.75}],
    "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
    "nodeSelector": {"kubernetes.io/os": "linux"}
  }
}"#;

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let count: usize = std::env::var("SIGNET_BENCH_TEMPLATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let values = Value::from_json(&serde_json::from_str(VALUES).expect("bench values are JSON"));

    let start = Instant::now();
    let mut set = Template::with_funcs("chart", sprig::functions());
    let include: EngineFn = Arc::new(|cx: &mut ExecContext<'_>, args: &[Value]| match args {
        [Value::String(name), data] => cx.execute_template(name, data),
        _ => Err("include wants a name and data".into()),
    });
    set.add_engine_func("include", include);
    set.parse_named("chart/templates/_helpers.tpl", HELPERS)
        .expect("helpers parse");
    let names: Vec<String> = (0..count)
        .map(|i| format!("chart/templates/deployment-{i}.yaml"))
        .collect();
    for (i, name) in names.iter().enumerate() {
        let text = DEPLOYMENT.replace("__N__", &i.to_string());
        set.parse_named(name, &text).expect("template parses");
    }
    let parse_secs = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut bytes = 0usize;
    for name in &names {
        let out = set
            .execute_template(name, &values)
            .expect("template renders");
        bytes += out.len();
    }
    let render_secs = start.elapsed().as_secs_f64();

    println!(
        "gotemplate bench: {count} templates ({} lines each), {bytes} bytes rendered",
        DEPLOYMENT.lines().count()
    );
    println!(
        "parse:  {:.0} templates/s ({parse_secs:.3} s)",
        count as f64 / parse_secs
    );
    println!(
        "render: {:.0} templates/s ({render_secs:.3} s)",
        count as f64 / render_secs
    );
    match peak_memory_kib() {
        Some(kib) => println!("peak memory (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak memory: unavailable (no /proc/self/status)"),
    }
}
