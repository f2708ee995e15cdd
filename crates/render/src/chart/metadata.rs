//! `Chart.yaml` (API v1 and v2): Helm's `Metadata`, `Maintainer` and `Dependency` types, their
//! parsing (lenient about scalar types the way Helm 4 is: `appVersion: 1.10` reads as `"1.1"`), and
//! `validate()` with Helm's lint rules and messages (`validation: chart.metadata.version "x" is invalid`).

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Chart API version 1 (Helm 2; dependencies in `requirements.yaml`).
pub const API_VERSION_V1: &str = "v1";
/// Chart API version 2 (Helm 3+; dependencies in `Chart.yaml`).
pub const API_VERSION_V2: &str = "v2";

/// A problem with a chart's metadata; the message is Helm's, without the `validation: ` prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("cannot load {file}: {message}")]
    Parse { file: String, message: String },
    #[error("validation: {0}")]
    Invalid(String),
}

/// A chart maintainer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Maintainer {
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub email: String,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub url: String,
}

/// One entry of `import-values`: either a child key path (imported from `exports.<path>`) or an
/// explicit `child`/`parent` pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ImportValue {
    Key(String),
    Mapping {
        #[serde(default)]
        child: String,
        #[serde(default)]
        parent: String,
    },
}

/// A chart dependency as declared in `Chart.yaml` (v2) or `requirements.yaml` (v1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    #[serde(default, deserialize_with = "scalar_string")]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub version: String,
    #[serde(default, deserialize_with = "scalar_string")]
    pub repository: String,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub condition: String,
    #[serde(
        default,
        deserialize_with = "string_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<String>,
    /// Set while processing dependencies; not part of the file format in practice.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enabled: bool,
    #[serde(
        default,
        rename = "import-values",
        deserialize_with = "import_values",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub import_values: Vec<ImportValue>,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub alias: String,
}

/// The contents of `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartMetadata {
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub home: String,
    #[serde(
        default,
        deserialize_with = "string_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sources: Vec<String>,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub version: String,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    #[serde(
        default,
        deserialize_with = "string_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub keywords: Vec<String>,
    #[serde(
        default,
        deserialize_with = "maintainers",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub maintainers: Vec<Maintainer>,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub icon: String,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub condition: String,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub tags: String,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub app_version: String,
    #[serde(
        default,
        deserialize_with = "lenient_bool",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub deprecated: bool,
    #[serde(
        default,
        deserialize_with = "string_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub kube_version: String,
    #[serde(
        default,
        deserialize_with = "dependencies",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub dependencies: Vec<Dependency>,
    #[serde(
        default,
        deserialize_with = "scalar_string",
        rename = "type",
        skip_serializing_if = "String::is_empty"
    )]
    pub chart_type: String,
}

/// The dependency list of a v1 chart's `requirements.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
struct Requirements {
    #[serde(default, deserialize_with = "dependencies")]
    dependencies: Vec<Dependency>,
}

impl ChartMetadata {
    /// Parses `Chart.yaml`. A missing `apiVersion` means v1, as Helm 2 charts may omit it.
    pub fn from_yaml(data: &[u8]) -> Result<ChartMetadata, MetadataError> {
        let mut md: ChartMetadata = from_helm_yaml("Chart.yaml", data)?;
        if md.api_version.is_empty() {
            md.api_version = API_VERSION_V1.into();
        }
        Ok(md)
    }

    /// Reads the `dependencies` of a v1 chart's `requirements.yaml` into this metadata.
    pub fn merge_requirements(&mut self, data: &[u8]) -> Result<(), MetadataError> {
        let req: Requirements = from_helm_yaml("requirements.yaml", data)?;
        self.dependencies = req.dependencies;
        Ok(())
    }

    /// Whether this is a library chart (`type: library`): templates only, never rendered itself.
    pub fn is_library(&self) -> bool {
        self.chart_type == "library"
    }

    /// Helm's `Metadata.Validate`: the checks `helm lint`, `helm package` and every load apply.
    pub fn validate(&self) -> Result<(), MetadataError> {
        let invalid = |m: String| Err(MetadataError::Invalid(m));
        if self.api_version.is_empty() {
            return invalid("chart.metadata.apiVersion is required".into());
        }
        if self.name.is_empty() {
            return invalid("chart.metadata.name is required".into());
        }
        if self.name.contains('/')
            || self.name.contains('\\')
            || self.name == "."
            || self.name == ".."
        {
            return invalid(format!("chart.metadata.name {:?} is invalid", self.name));
        }
        if self.version.is_empty() {
            return invalid("chart.metadata.version is required".into());
        }
        if !is_valid_semver(&self.version) {
            return invalid(format!(
                "chart.metadata.version {:?} is invalid",
                self.version
            ));
        }
        if !matches!(self.chart_type.as_str(), "" | "application" | "library") {
            return invalid("chart.metadata.type must be application or library".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for dep in &self.dependencies {
            if dep.name.is_empty() {
                return invalid("dependencies must have a name".into());
            }
            if !dep.alias.is_empty()
                && !dep
                    .alias
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return invalid(format!(
                    "dependency {:?} has disallowed characters in the alias",
                    dep.name
                ));
            }
            let key = if dep.alias.is_empty() {
                &dep.name
            } else {
                &dep.alias
            };
            if !seen.insert(key.clone()) {
                return invalid(format!(
                    "more than one dependency with name or alias {key:?}"
                ));
            }
        }
        Ok(())
    }
}

/// Decodes a YAML file the way Helm 4 does (sigs.k8s.io/yaml: YAML 1.1 scalars, then JSON into
/// the Go struct), so `email: y` reads as `"true"` and `appVersion: 1.10` as `"1.1"`.
fn from_helm_yaml<T: serde::de::DeserializeOwned + Default>(
    file: &str,
    data: &[u8],
) -> Result<T, MetadataError> {
    let parse_err = |message: String| MetadataError::Parse {
        file: file.into(),
        message,
    };
    let text = std::str::from_utf8(data).map_err(|e| parse_err(format!("not UTF-8: {e}")))?;
    let value = crate::yaml::parse_yaml(text).map_err(|e| parse_err(e.to_string()))?;
    if value.is_nil() {
        return Ok(T::default());
    }
    serde_json::from_value(to_json(&value)).map_err(|e| parse_err(e.to_string()))
}

fn to_json(v: &signet_gotemplate::Value) -> serde_json::Value {
    use signet_gotemplate::Value;
    match v {
        Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) | Value::Int64(i) => serde_json::Value::from(*i),
        Value::Uint(u) => serde_json::Value::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::Binary(b) => {
            serde_json::Value::String(signet_gotemplate::gostr::lossy(b).into_owned())
        }
        Value::List(l) => serde_json::Value::Array(l.borrow().iter().map(to_json).collect()),
        Value::Map(m) => serde_json::Value::Object(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Value::Object(o) => o
            .to_data()
            .map(|d| to_json(&d))
            .unwrap_or_else(|| serde_json::Value::String(o.go_string())),
    }
}

/// Masterminds/semver's `NewVersion` grammar: optional `v`, 1–3 numeric parts, optional
/// pre-release and build metadata.
pub fn is_valid_semver(version: &str) -> bool {
    parse_loose_semver(version).is_some()
}

/// Parses a version the way Masterminds/semver does (`v1`, `1.2`, `1.2.3-rc.1+b`), filling missing
/// parts with zero.
pub fn parse_loose_semver(version: &str) -> Option<semver::Version> {
    let v = version.strip_prefix('v').unwrap_or(version);
    let (core, build) = match v.split_once('+') {
        Some((c, b)) => (c, Some(b)),
        None => (v, None),
    };
    let (nums, pre) = match core.split_once('-') {
        Some((n, p)) => (n, Some(p)),
        None => (core, None),
    };
    let parts: Vec<&str> = nums.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut numbers = [0u64; 3];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        numbers[i] = p.parse().ok()?;
    }
    let ident_ok = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|id| {
                !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
    };
    let pre = match pre {
        Some(p) if !ident_ok(p) => return None,
        Some(p) => semver::Prerelease::new(p).ok()?,
        None => semver::Prerelease::EMPTY,
    };
    let build = match build {
        Some(b) if !ident_ok(b) => return None,
        Some(b) => semver::BuildMetadata::new(b).ok()?,
        None => semver::BuildMetadata::EMPTY,
    };
    Some(semver::Version {
        major: numbers[0],
        minor: numbers[1],
        patch: numbers[2],
        pre,
        build,
    })
}

/// A YAML scalar as Helm 4 turns it into a string field: strings as is, numbers in Go's shortest
/// float form, booleans as `true`/`false`, null as empty.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn into_string(self) -> String {
        match self {
            Scalar::Str(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => format_float(f),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<Scalar>::deserialize(d)?
        .map(Scalar::into_string)
        .unwrap_or_default())
}

fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<Option<Scalar>>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.map(Scalar::into_string).unwrap_or_default())
        .collect())
}

fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, Option<Scalar>>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.map(Scalar::into_string).unwrap_or_default()))
        .collect())
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Option::<Scalar>::deserialize(d)? {
        None => Ok(false),
        Some(Scalar::Bool(b)) => Ok(b),
        Some(Scalar::Str(s)) => match s.as_str() {
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
                Ok(true)
            }
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n"
            | "N" | "" => Ok(false),
            other => Err(de::Error::custom(format!(
                "cannot read {other:?} as a boolean"
            ))),
        },
        Some(_) => Err(de::Error::custom("expected a boolean")),
    }
}

fn maintainers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Maintainer>, D::Error> {
    Ok(Option::<Vec<Option<Maintainer>>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect())
}

fn dependencies<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Dependency>, D::Error> {
    Ok(Option::<Vec<Option<Dependency>>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect())
}

fn import_values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ImportValue>, D::Error> {
    Ok(Option::<Vec<ImportValue>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v2_chart_with_dependencies() {
        let md = ChartMetadata::from_yaml(
            br#"apiVersion: v2
name: app
version: 1.2.3
appVersion: 1.10
kubeVersion: '>=1.20'
type: application
annotations:
  a: b
maintainers:
- name: me
  email: m@x
dependencies:
- name: common
  version: 2.x.x
  repository: oci://r
  tags: [t1]
  condition: common.enabled
  alias: c
  import-values:
  - data
  - child: a.b
    parent: c
"#,
        )
        .unwrap();
        assert_eq!(md.app_version, "1.1");
        assert_eq!(md.kube_version, ">=1.20");
        assert_eq!(md.dependencies[0].tags, vec!["t1"]);
        assert_eq!(md.dependencies[0].alias, "c");
        assert_eq!(
            md.dependencies[0].import_values,
            vec![
                ImportValue::Key("data".into()),
                ImportValue::Mapping {
                    child: "a.b".into(),
                    parent: "c".into()
                }
            ]
        );
        md.validate().unwrap();
    }

    #[test]
    fn missing_api_version_means_v1() {
        let md = ChartMetadata::from_yaml(b"name: a\nversion: 0.1.0\n").unwrap();
        assert_eq!(md.api_version, "v1");
    }

    #[test]
    fn validation_messages_name_the_field() {
        let check = |y: &str, msg: &str| {
            let md = ChartMetadata::from_yaml(y.as_bytes()).unwrap();
            assert_eq!(md.validate().unwrap_err().to_string(), msg);
        };
        check(
            "apiVersion: v2\nversion: 1.0.0\n",
            "validation: chart.metadata.name is required",
        );
        check(
            "apiVersion: v2\nname: a\n",
            "validation: chart.metadata.version is required",
        );
        check(
            "apiVersion: v2\nname: a\nversion: one\n",
            "validation: chart.metadata.version \"one\" is invalid",
        );
        check(
            "apiVersion: v2\nname: a\nversion: 1.0.0\ntype: foobar\n",
            "validation: chart.metadata.type must be application or library",
        );
        check(
            "apiVersion: v2\nname: a/b\nversion: 1.0.0\n",
            "validation: chart.metadata.name \"a/b\" is invalid",
        );
        check(
            "apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n- name: x\n- name: x\n",
            "validation: more than one dependency with name or alias \"x\"",
        );
    }

    #[test]
    fn loose_semver() {
        for ok in ["1", "1.2", "v1.2.3", "1.2.3-rc.1+build.5", "0.0.0"] {
            assert!(is_valid_semver(ok), "{ok}");
        }
        for bad in ["", "one", "1.2.3.4", "1..2", "1.2.3-"] {
            assert!(!is_valid_semver(bad), "{bad}");
        }
    }
}
