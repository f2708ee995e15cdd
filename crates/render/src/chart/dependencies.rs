//! Dependency processing before a render (Helm's `ProcessDependenciesWithMerge`): aliases, the
//! `condition` and `tags` that enable or drop subcharts, and `import-values` (including the
//! `exports` convention) copying child values into the parent's defaults.
//!
//! The result is a [`ResolvedChart`] tree that borrows templates and files from the loaded
//! [`Chart`] and owns what processing changes: metadata (alias names, `enabled`) and values.

use std::collections::BTreeMap;

use signet_gotemplate::Value;

use super::metadata::{ChartMetadata, ImportValue};
use super::model::Chart;
use crate::values::coalesce::merge_tables;

/// A chart ready to render: processed metadata and values over the loaded chart's files.
#[derive(Debug, Clone)]
pub struct ResolvedChart<'a> {
    pub source: &'a Chart,
    pub metadata: ChartMetadata,
    /// The chart's default values (after `import-values`, the merged values of its tree).
    pub values: Value,
    pub dependencies: Vec<ResolvedChart<'a>>,
}

/// A problem found while resolving dependencies.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DependencyError {
    #[error("cannot load values.yaml: cannot unmarshal yaml document: {message}")]
    Values { chart: String, message: String },
    #[error("{0}")]
    Coalesce(String),
    #[error(
        "an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {0}"
    )]
    Missing(String),
}

impl<'a> ResolvedChart<'a> {
    /// Wraps a loaded chart tree, parsing each chart's `values.yaml`.
    pub fn new(chart: &'a Chart) -> Result<ResolvedChart<'a>, DependencyError> {
        let values = if chart.values_yaml.trim().is_empty() {
            Value::empty_map()
        } else {
            crate::yaml::parse_values(&chart.values_yaml).map_err(|e| DependencyError::Values {
                chart: chart.metadata.name.clone(),
                message: e.to_string(),
            })?
        };
        Ok(ResolvedChart {
            source: chart,
            metadata: chart.metadata.clone(),
            values,
            dependencies: chart
                .dependencies
                .iter()
                .map(ResolvedChart::new)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The loaded chart of every chart left in the tree: this one, then its dependencies' in
    /// order.
    pub fn sources(&self) -> Vec<&'a Chart> {
        fn collect<'a>(chart: &ResolvedChart<'a>, out: &mut Vec<&'a Chart>) {
            out.push(chart.source);
            for dep in &chart.dependencies {
                collect(dep, out);
            }
        }
        let mut out = Vec::new();
        collect(self, &mut out);
        out
    }

    pub fn name(&self) -> &str {
        &self.metadata.name
    }
}

/// Helm's `CheckDependencies`: every dependency in `Chart.yaml` must be present in `charts/`.
pub fn check_dependencies(chart: &Chart) -> Result<(), DependencyError> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|req| !chart.dependencies.iter().any(|d| d.name() == req.name))
        .map(|req| req.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DependencyError::Missing(missing.join(", ")))
    }
}

/// Masterminds' constraint check used for dependency versions (`IsCompatibleRange`): an invalid
/// version or constraint is "not compatible".
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    signet_gotemplate::sprig::semver_compare(constraint, version).unwrap_or(false)
}

/// Processes conditions, tags, aliases and import-values with user values `vals` (Helm's
/// `ProcessDependenciesWithMerge`). Returns warnings Helm would log.
pub fn process_dependencies(
    chart: &mut ResolvedChart<'_>,
    vals: &Value,
) -> Result<Vec<String>, DependencyError> {
    let mut warnings = Vec::new();
    process_enabled(chart, vals, "", &mut warnings)?;
    process_import_values(chart, &mut warnings)?;
    Ok(warnings)
}

fn process_enabled(
    chart: &mut ResolvedChart<'_>,
    vals: &Value,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<(), DependencyError> {
    if chart.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let existing = std::mem::take(&mut chart.dependencies);
    let mut deps: Vec<ResolvedChart<'_>> = Vec::new();
    // Subcharts not declared in Chart.yaml (or whose version does not satisfy the declaration)
    // are kept as they are.
    for sub in &existing {
        let declared = chart.metadata.dependencies.iter().any(|req| {
            sub.name() == req.name && is_compatible_range(&req.version, &sub.metadata.version)
        });
        if !declared {
            deps.push(sub.clone());
        }
    }
    for req in chart.metadata.dependencies.iter_mut() {
        if let Some(found) = existing.iter().find(|c| {
            c.name() == req.name && is_compatible_range(&req.version, &c.metadata.version)
        }) {
            let mut copy = found.clone();
            if !req.alias.is_empty() {
                copy.metadata.name = req.alias.clone();
            }
            deps.push(copy);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    chart.dependencies = deps;
    for req in chart.metadata.dependencies.iter_mut() {
        req.enabled = true;
    }
    let (cvals, w) = crate::values::coalesce_values(&values_view(chart), vals)
        .map_err(|e| DependencyError::Coalesce(e.to_string()))?;
    warnings.extend(w);
    process_tags(chart, &cvals, warnings);
    process_conditions(chart, &cvals, path, warnings);
    let removed: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    chart
        .dependencies
        .retain(|d| !removed.contains(&d.metadata.name));
    chart
        .metadata
        .dependencies
        .retain(|r| !removed.contains(&r.name));
    for sub in chart.dependencies.iter_mut() {
        let sub_path = format!("{path}{}.", sub.metadata.name);
        process_enabled(sub, &cvals, &sub_path, warnings)?;
    }
    Ok(())
}

fn process_tags(chart: &mut ResolvedChart<'_>, cvals: &Value, warnings: &mut Vec<String>) {
    let Some(Value::Map(tags)) = table(cvals, "tags") else {
        return;
    };
    let tags = tags.borrow();
    for req in chart.metadata.dependencies.iter_mut() {
        let (mut has_true, mut has_false) = (false, false);
        for t in &req.tags {
            match tags.get(t) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                Some(_) => warnings.push(format!(
                    "Warning: Tag '{t}' for chart {} returned non-bool value",
                    req.name
                )),
                None => {}
            }
        }
        req.enabled = has_true || !has_false;
    }
}

fn process_conditions(
    chart: &mut ResolvedChart<'_>,
    cvals: &Value,
    path: &str,
    warnings: &mut Vec<String>,
) {
    for req in chart.metadata.dependencies.iter_mut() {
        for cond in req.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            match path_value(cvals, &format!("{path}{cond}")) {
                Some(Value::Bool(b)) => {
                    req.enabled = b;
                    break;
                }
                Some(_) => warnings.push(format!(
                    "Warning: Condition path '{cond}' for chart {} returned non-bool value",
                    req.name
                )),
                None => {}
            }
        }
    }
}

/// Helm's `Values.Table`: the map at a dotted path, `None` if missing or not a map.
pub fn table(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v.clone();
    if path.is_empty() {
        return Some(cur);
    }
    for part in path.split('.') {
        let next = match &cur {
            Value::Map(m) => m.borrow().get(part).cloned(),
            _ => None,
        };
        match next {
            Some(n @ Value::Map(_)) => cur = n,
            _ => return None,
        }
    }
    Some(cur)
}

/// Helm's `Values.PathValue`: a non-table value at a dotted path.
fn path_value(v: &Value, path: &str) -> Option<Value> {
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (table(v, p)?, k),
        None => (v.clone(), path),
    };
    let Value::Map(m) = parent else { return None };
    let found = m.borrow().get(key).cloned()?;
    (!matches!(found, Value::Map(_))).then_some(found)
}

fn process_import_values(
    chart: &mut ResolvedChart<'_>,
    warnings: &mut Vec<String>,
) -> Result<(), DependencyError> {
    for sub in chart.dependencies.iter_mut() {
        process_import_values(sub, warnings)?;
    }
    if chart.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let (cvals, w) = crate::values::merge_values(&values_view(chart), &Value::empty_map())
        .map_err(|e| DependencyError::Coalesce(e.to_string()))?;
    warnings.extend(w);
    let b = Value::empty_map();
    for req in chart.metadata.dependencies.iter_mut() {
        let mut out = Vec::new();
        for iv in &req.import_values {
            let (child, parent) = match iv {
                ImportValue::Mapping { child, parent } => (child.clone(), parent.clone()),
                ImportValue::Key(k) => (format!("exports.{k}"), ".".to_string()),
            };
            out.push(ImportValue::Mapping {
                child: child.clone(),
                parent: parent.clone(),
            });
            let Some(vv) = table(&cvals, &format!("{}.{child}", req.name)) else {
                warnings.push(format!(
                    "ImportValues missing table from chart {}: {child}",
                    req.name
                ));
                continue;
            };
            let imported = if matches!(iv, ImportValue::Key(_)) {
                vv.deep_copy()
            } else {
                path_to_map(&parent, vv.deep_copy())
            };
            merge_tables(&b, &imported, warnings);
        }
        req.import_values = out;
    }
    let cvals = cvals.deep_copy();
    merge_tables(&cvals, &b, warnings);
    chart.values = cvals;
    Ok(())
}

/// The values view of a resolved tree for coalescing (schemas are not needed here).
fn values_view(chart: &ResolvedChart<'_>) -> crate::values::ValuesTree {
    crate::values::ValuesTree {
        name: chart.metadata.name.clone(),
        defaults: chart.values.clone(),
        schema: None,
        subcharts: chart.dependencies.iter().map(values_view).collect(),
    }
}

/// Helm's `pathToMap`: `a.b` and a table become `{a: {b: table}}`; `.` is the table itself.
fn path_to_map(path: &str, data: Value) -> Value {
    if path == "." {
        return data;
    }
    let mut out = data;
    for part in path.split('.').rev().filter(|p| !p.is_empty()) {
        let mut m = BTreeMap::new();
        m.insert(part.to_string(), out);
        out = Value::map(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::metadata::ChartMetadata;

    fn chart(name: &str, chart_yaml_extra: &str, values: &str, deps: Vec<Chart>) -> Chart {
        let yaml = format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n{chart_yaml_extra}");
        Chart {
            metadata: ChartMetadata::from_yaml(yaml.as_bytes()).unwrap(),
            values_yaml: values.into(),
            dependencies: deps,
            ..Default::default()
        }
    }

    #[test]
    fn alias_condition_tags_and_imports() {
        let sub = chart(
            "sub",
            "",
            "exports:\n  shared:\n    k: v\nenabled: false\n",
            vec![],
        );
        let parent = chart(
            "top",
            "dependencies:\n- name: sub\n  version: 1.x\n  alias: one\n  condition: one.enabled\n  import-values: [shared]\n\
             - name: sub\n  version: 1.x\n  alias: two\n  tags: [extra]\n- name: sub\n  version: 1.x\n  alias: three\n",
            "one:\n  enabled: true\ntags:\n  extra: false\n",
            vec![sub],
        );
        let mut resolved = ResolvedChart::new(&parent).unwrap();
        process_dependencies(&mut resolved, &Value::empty_map()).unwrap();
        let names: Vec<&str> = resolved.dependencies.iter().map(|d| d.name()).collect();
        assert_eq!(names, vec!["one", "three"]);
        let imported = table(&resolved.values, "").unwrap();
        let Value::Map(m) = imported else { panic!() };
        assert_eq!(
            m.borrow()
                .get("k")
                .and_then(|v| v.as_str().map(String::from)),
            Some("v".into())
        );
        assert_eq!(
            resolved.metadata.dependencies[0].import_values,
            vec![ImportValue::Mapping {
                child: "exports.shared".into(),
                parent: ".".into()
            }]
        );
    }

    #[test]
    fn missing_dependency_is_reported() {
        let parent = chart(
            "top",
            "dependencies:\n- name: gone\n  version: 1.0.0\n",
            "",
            vec![],
        );
        let err = check_dependencies(&parent).unwrap_err().to_string();
        assert!(err.ends_with("missing in charts/ directory: gone"), "{err}");
    }
}
