//! The objects Helm puts in front of templates: `.Files` (with Get, GetBytes, Glob, Lines, AsConfig,
//! AsSecrets), `.Capabilities` (KubeVersion, APIVersions with `Has`, HelmVersion), and the map forms
//! Helm 4 gives `.Chart` and `.Release`.

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine as _;
use signet_gotemplate::value::Bytes;
use signet_gotemplate::{Object, Value};

use crate::chart::{ChartFile, ChartMetadata, ImportValue, UnreadFile};

/// Helm's version as templates see it (`.Capabilities.HelmVersion`): the oracle's build.
pub const HELM_VERSION: &str = "v4.1.4";
const HELM_GIT_COMMIT: &str = "05fa37973dc9e42b76e1d2883494c87174b6074f";
const HELM_GO_VERSION: &str = "go1.25.9";
/// The Kubernetes client version Helm 4.1 is built with, also its default `KubeVersion`.
pub const DEFAULT_KUBE_VERSION: &str = "v1.35.0";

/// The API group/versions Helm 4.1 reports with no cluster (client-go's scheme plus apiextensions),
/// in Helm's order.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// `.Files`: the chart's non-template files by path.
#[derive(Debug, Clone, Default)]
pub struct Files {
    files: Rc<BTreeMap<String, FileBytes>>,
}

/// One file of `.Files`: its bytes, or the chart's unread file that reads them on first use.
#[derive(Debug, Clone)]
enum FileBytes {
    Read(Rc<[u8]>),
    Unread(UnreadFile),
}

impl FileBytes {
    fn bytes(&self) -> Result<&[u8], String> {
        match self {
            FileBytes::Read(data) => Ok(data),
            FileBytes::Unread(file) => file.bytes().map_err(str::to_string),
        }
    }

    /// The bytes where `.Files` has no way to report an error (a field, printing, ranging):
    /// empty after a failed read, which [`crate::chart::Chart::failed_read`] reports when the
    /// render is over.
    fn bytes_or_empty(&self) -> &[u8] {
        self.bytes().unwrap_or_default()
    }
}

impl Files {
    pub fn new(files: &[ChartFile], unread: &[UnreadFile]) -> Files {
        let read = files
            .iter()
            .map(|f| (f.name.clone(), FileBytes::Read(Rc::from(f.data.as_slice()))));
        let unread = unread
            .iter()
            .map(|f| (f.name.clone(), FileBytes::Unread(f.clone())));
        Files {
            files: Rc::new(read.chain(unread).collect()),
        }
    }

    /// `Get`: the file's bytes as a Go string (not necessarily UTF-8); "" when missing.
    fn get(&self, name: &str) -> Result<Value, String> {
        match self.files.get(name) {
            None => Ok(Value::str("")),
            Some(file) => file.bytes().map(Value::from_go_slice),
        }
    }

    /// `GetBytes` (and `.Files.NAME`): the file's `[]byte`; empty when missing.
    fn get_bytes(&self, name: &str) -> Result<Value, String> {
        let data = match self.files.get(name) {
            None => Vec::new(),
            Some(file) => file.bytes()?.to_vec(),
        };
        Ok(Value::Object(Rc::new(Bytes(data))))
    }

    fn glob(&self, pattern: &str) -> Result<Files, String> {
        let matcher = super::glob::Glob::new(pattern)?;
        Ok(Files {
            files: Rc::new(
                self.files
                    .iter()
                    .filter(|(k, _)| matcher.matches(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        })
    }

    fn lines(&self, name: &str) -> Result<Value, String> {
        let Some(file) = self.files.get(name) else {
            return Ok(Value::list(Vec::new()));
        };
        let data = file.bytes()?;
        let s = data.strip_suffix(b"\n").unwrap_or(data);
        Ok(Value::list(
            s.split(|b| *b == b'\n').map(Value::from_go_slice).collect(),
        ))
    }

    fn as_map(&self, encode: impl Fn(&[u8]) -> Value) -> String {
        let mut m = BTreeMap::new();
        for (k, v) in self.files.iter() {
            let base = k.rsplit('/').next().unwrap_or(k).to_string();
            m.insert(base, encode(v.bytes_or_empty()));
        }
        crate::yaml::to_yaml(&Value::map(m)).unwrap_or_default()
    }
}

/// The one string argument of template function or method `name`, with Helm's errors for another
/// count or type.
pub(super) fn string_arg(name: &str, args: &[Value]) -> Result<String, String> {
    match args {
        [Value::String(s)] => Ok(s.to_string()),
        [Value::Binary(b)] => Ok(signet_gotemplate::gostr::lossy(b).into_owned()),
        [other] => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
        _ => Err(format!(
            "wrong number of args for {name}: want 1 got {}",
            args.len()
        )),
    }
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "files.Files"
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Get" | "GetBytes" | "Glob" | "Lines" | "AsConfig" | "AsSecrets"
        )
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            // `string(v)` of each file: toYaml then reads invalid bytes as U+FFFD, as Go's JSON
            // encoding does.
            "AsConfig" => Some(Value::str(self.as_map(Value::from_go_slice))),
            "AsSecrets" => Some(Value::str(self.as_map(|d| {
                Value::from(base64::engine::general_purpose::STANDARD.encode(d))
            }))),
            // `.Files` is a map of file name to bytes: any other name is a lookup (a missing
            // file is Go's zero value, an empty []byte).
            _ if self.has_method(name) => None,
            _ => Some(
                self.get_bytes(name)
                    .unwrap_or_else(|_| Value::Object(Rc::new(Bytes(Vec::new())))),
            ),
        }
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let result = match name {
            "Get" => string_arg(name, args).and_then(|p| self.get(&p)),
            "GetBytes" => string_arg(name, args).and_then(|p| self.get_bytes(&p)),
            "Glob" => string_arg(name, args)
                .and_then(|p| self.glob(&p))
                .map(|f| Value::Object(Rc::new(f))),
            "Lines" => string_arg(name, args).and_then(|p| self.lines(&p)),
            "AsConfig" | "AsSecrets" => {
                if !args.is_empty() {
                    return Some(Err(format!(
                        "wrong number of args for {name}: want 0 got {}",
                        args.len()
                    )));
                }
                return self.field(name).map(Ok);
            }
            _ => return None,
        };
        Some(result)
    }
    fn go_string(&self) -> String {
        let items: Vec<String> = self
            .files
            .iter()
            .map(|(k, v)| {
                let bytes: Vec<String> = v.bytes_or_empty().iter().map(|b| b.to_string()).collect();
                format!("{k}:[{}]", bytes.join(" "))
            })
            .collect();
        format!("map[{}]", items.join(" "))
    }
    fn truthy(&self) -> bool {
        !self.files.is_empty()
    }
    /// Go's `map[string][]byte`: `index .Files "x"` and `range` give each file's `[]byte`.
    fn to_data(&self) -> Option<Value> {
        Some(Value::map(
            self.files
                .iter()
                .map(|(k, v)| {
                    let data = v.bytes_or_empty().to_vec();
                    (k.clone(), Value::Object(Rc::new(Bytes(data))))
                })
                .collect(),
        ))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities.KubeVersion`.
#[derive(Debug, Clone)]
pub struct KubeVersion {
    pub version: String,
    pub major: String,
    pub minor: String,
}

impl KubeVersion {
    /// Parses `v1.33.0` / `1.33` as `--kube-version` accepts it (leading `v` added).
    pub fn parse(s: &str) -> Result<KubeVersion, String> {
        let v = crate::chart::metadata::parse_loose_semver(s).ok_or_else(|| {
            format!("invalid kube version '{s}': could not parse \"{s}\" as version")
        })?;
        let version = if s.starts_with('v') {
            s.to_string()
        } else {
            format!("v{s}")
        };
        // Helm keeps the given text but normalises to major.minor.patch.
        let version = if version.matches('.').count() < 2 {
            format!("v{}.{}.{}", v.major, v.minor, v.patch)
        } else {
            version
        };
        Ok(KubeVersion {
            version,
            major: v.major.to_string(),
            minor: v.minor.to_string(),
        })
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" | "String" => Some(Value::str(self.version.as_str())),
            "Major" => Some(Value::str(self.major.as_str())),
            "Minor" => Some(Value::str(self.minor.as_str())),
            _ => None,
        }
    }
    fn go_string(&self) -> String {
        self.version.clone()
    }
    fn to_data(&self) -> Option<Value> {
        let mut m = BTreeMap::new();
        m.insert("Version".into(), Value::str(self.version.as_str()));
        m.insert("Major".into(), Value::str(self.major.as_str()));
        m.insert("Minor".into(), Value::str(self.minor.as_str()));
        Some(Value::map(m))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities.APIVersions`: a list of `group/version` and `group/version/Kind` strings.
#[derive(Debug, Clone)]
pub struct VersionSet(pub Vec<String>);

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Has"
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Has").then(|| string_arg("Has", args).map(|v| Value::Bool(self.0.contains(&v))))
    }
    fn go_string(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
    fn to_data(&self) -> Option<Value> {
        Some(Value::list(
            self.0.iter().map(|s| Value::str(s.as_str())).collect(),
        ))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[derive(Debug, Clone)]
struct HelmVersion;

impl Object for HelmVersion {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::str(HELM_VERSION)),
            "GitCommit" => Some(Value::str(HELM_GIT_COMMIT)),
            "GitTreeState" => Some(Value::str("clean")),
            "GoVersion" => Some(Value::str(HELM_GO_VERSION)),
            "KubeClientVersion" => Some(Value::str("v1.35")),
            _ => None,
        }
    }
    fn go_string(&self) -> String {
        format!("{{{HELM_VERSION} {HELM_GIT_COMMIT} clean {HELM_GO_VERSION} v1.35}}")
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities`.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub kube_version: KubeVersion,
    pub api_versions: VersionSet,
}

impl Capabilities {
    /// Helm's defaults for a render without a cluster, plus extra `--api-versions`.
    pub fn new(
        kube_version: Option<&str>,
        extra_api_versions: &[String],
    ) -> Result<Capabilities, String> {
        let kube_version = KubeVersion::parse(kube_version.unwrap_or(DEFAULT_KUBE_VERSION))?;
        let mut apis: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
        apis.extend(extra_api_versions.iter().cloned());
        Ok(Capabilities {
            kube_version,
            api_versions: VersionSet(apis),
        })
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(Rc::new(self.kube_version.clone()))),
            "APIVersions" => Some(Value::Object(Rc::new(self.api_versions.clone()))),
            "HelmVersion" => Some(Value::Object(Rc::new(HelmVersion))),
            _ => None,
        }
    }
    fn go_string(&self) -> String {
        format!(
            "{{{{{} {} {} {}}} {} {}}}",
            self.kube_version.version,
            self.kube_version.version,
            self.kube_version.major,
            self.kube_version.minor,
            self.api_versions.go_string(),
            HelmVersion.go_string()
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Chart` as Helm 4 gives it: a map keyed by the Go field names of `Metadata`, plus `IsRoot`.
pub fn chart_object(md: &ChartMetadata, is_root: bool) -> Value {
    let s = |v: &str| Value::str(v);
    let strings = |v: &[String]| Value::list(v.iter().map(|x| Value::str(x.as_str())).collect());
    let mut m = BTreeMap::new();
    m.insert("APIVersion".into(), s(&md.api_version));
    m.insert(
        "Annotations".into(),
        Value::map(
            md.annotations
                .iter()
                .map(|(k, v)| (k.clone(), s(v)))
                .collect(),
        ),
    );
    m.insert("AppVersion".into(), s(&md.app_version));
    m.insert("Condition".into(), s(&md.condition));
    let deps = md
        .dependencies
        .iter()
        .map(|d| {
            let mut dm = BTreeMap::new();
            dm.insert("Alias".into(), s(&d.alias));
            dm.insert("Condition".into(), s(&d.condition));
            dm.insert("Enabled".into(), Value::Bool(d.enabled));
            let ivs = d
                .import_values
                .iter()
                .map(|iv| match iv {
                    ImportValue::Key(k) => s(k),
                    ImportValue::Mapping { child, parent } => {
                        let mut im = BTreeMap::new();
                        im.insert("child".into(), s(child));
                        im.insert("parent".into(), s(parent));
                        Value::map(im)
                    }
                })
                .collect();
            dm.insert("ImportValues".into(), Value::list(ivs));
            dm.insert("Name".into(), s(&d.name));
            dm.insert("Repository".into(), s(&d.repository));
            dm.insert("Tags".into(), strings(&d.tags));
            dm.insert("Version".into(), s(&d.version));
            Value::map(dm)
        })
        .collect();
    m.insert("Dependencies".into(), Value::list(deps));
    m.insert("Deprecated".into(), Value::Bool(md.deprecated));
    m.insert("Description".into(), s(&md.description));
    m.insert("Home".into(), s(&md.home));
    m.insert("Icon".into(), s(&md.icon));
    m.insert("IsRoot".into(), Value::Bool(is_root));
    m.insert("Keywords".into(), strings(&md.keywords));
    m.insert("KubeVersion".into(), s(&md.kube_version));
    let maintainers = md
        .maintainers
        .iter()
        .map(|mt| {
            let mut mm = BTreeMap::new();
            mm.insert("Email".into(), s(&mt.email));
            mm.insert("Name".into(), s(&mt.name));
            mm.insert("URL".into(), s(&mt.url));
            Value::map(mm)
        })
        .collect();
    m.insert("Maintainers".into(), Value::list(maintainers));
    m.insert("Name".into(), s(&md.name));
    m.insert("Sources".into(), strings(&md.sources));
    m.insert("Tags".into(), s(&md.tags));
    m.insert("Type".into(), s(&md.chart_type));
    m.insert("Version".into(), s(&md.version));
    Value::map(m)
}

/// `.Release` for a render: Helm's keys, `Revision` 1 and `IsInstall` as `helm template` sets them.
#[derive(Debug, Clone)]
pub struct ReleaseInfo {
    pub name: String,
    pub namespace: String,
    pub revision: i64,
    pub is_install: bool,
    pub is_upgrade: bool,
}

impl ReleaseInfo {
    pub fn to_value(&self) -> Value {
        let mut m = BTreeMap::new();
        m.insert("IsInstall".into(), Value::Bool(self.is_install));
        m.insert("IsUpgrade".into(), Value::Bool(self.is_upgrade));
        m.insert("Name".into(), Value::str(self.name.as_str()));
        m.insert("Namespace".into(), Value::str(self.namespace.as_str()));
        m.insert("Revision".into(), Value::Int(self.revision));
        m.insert("Service".into(), Value::str("Helm"));
        Value::map(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_methods() {
        let files = Files::new(
            &[
                ChartFile {
                    name: "config/a.conf".into(),
                    data: b"x=1\ny=2\n".to_vec(),
                },
                ChartFile {
                    name: "config/sub/b.conf".into(),
                    data: b"z".to_vec(),
                },
                ChartFile {
                    name: "README.md".into(),
                    data: b"hi".to_vec(),
                },
            ],
            &[],
        );
        let call =
            |f: &Files, m: &str, a: &str| f.call_method(m, &[Value::str(a)]).unwrap().unwrap();
        assert_eq!(call(&files, "Get", "README.md").as_str(), Some("hi"));
        assert_eq!(call(&files, "Get", "missing").as_str(), Some(""));
        let Value::List(lines) = call(&files, "Lines", "config/a.conf") else {
            panic!()
        };
        assert_eq!(lines.borrow().len(), 2);
        let Value::Object(globbed) = call(&files, "Glob", "config/*") else {
            panic!()
        };
        let config = globbed.field("AsConfig").unwrap();
        assert_eq!(config.as_str(), Some("a.conf: |\n  x=1\n  y=2"));
        let Value::Object(all) = call(&files, "Glob", "config/**") else {
            panic!()
        };
        assert_eq!(
            all.field("AsSecrets").unwrap().as_str(),
            Some("a.conf: eD0xCnk9Mgo=\nb.conf: eg==")
        );
    }

    #[test]
    fn capabilities_has() {
        let caps = Capabilities::new(Some("1.16"), &["a/b/C".into()]).unwrap();
        assert_eq!(caps.kube_version.version, "v1.16.0");
        assert_eq!(caps.kube_version.minor, "16");
        let has = |s: &str| {
            caps.api_versions
                .call_method("Has", &[Value::str(s)])
                .unwrap()
                .unwrap()
        };
        assert!(has("apps/v1").truthy());
        assert!(has("a/b/C").truthy());
        assert!(!has("apps/v1/Deployment").truthy());
    }
}
