//! Helm's `CoalesceValues` / `MergeValues` over a chart tree: user values win over chart defaults,
//! a `null` user value deletes the key (coalescing only), each subchart's values live under its
//! name (alias), and `global` flows from a parent into every subchart. Type conflicts are kept
//! as Helm keeps them and reported as Helm's warnings.

use std::collections::BTreeMap;

use signet_gotemplate::Value;
use signet_gotemplate::fmt::sprint;
use signet_gotemplate::value::MapRef;

/// The values-relevant part of a chart: enough to coalesce and validate without the loader.
#[derive(Clone, Debug, Default)]
pub struct ValuesTree {
    /// The key the chart's values live under in its parent: the dependency alias if any, else
    /// the chart name (Helm's `Name()` after aliasing).
    pub name: String,
    /// The chart's `values.yaml` as parsed (a map; anything else counts as empty).
    pub defaults: Value,
    /// The chart's `values.schema.json` as read, if it has one (parsed where it is checked).
    pub schema: Option<Vec<u8>>,
    /// Enabled dependencies, in `Chart.yaml` order.
    pub subcharts: Vec<ValuesTree>,
}

/// A coalescing failure (Helm refuses a subchart key that holds a non-map).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("type mismatch on {name}: {shown}")]
pub struct CoalesceError {
    pub name: String,
    /// The offending value as Go's `%t` shows a non-bool (`%!t(string=x)`, `%!t(<nil>)`).
    pub shown: String,
}

const GLOBAL_KEY: &str = "global";

/// `CoalesceValues(chart, vals)`: the final values for rendering, plus Helm's warnings.
pub fn coalesce_values(
    tree: &ValuesTree,
    user: &Value,
) -> Result<(Value, Vec<String>), CoalesceError> {
    run(tree, user, false)
}

/// `MergeValues(chart, vals)`: like coalescing, but `null`s are kept (used while processing
/// dependencies, before the final coalesce).
pub fn merge_values(
    tree: &ValuesTree,
    user: &Value,
) -> Result<(Value, Vec<String>), CoalesceError> {
    run(tree, user, true)
}

fn run(
    tree: &ValuesTree,
    user: &Value,
    merge: bool,
) -> Result<(Value, Vec<String>), CoalesceError> {
    let dest = match user.deep_copy() {
        Value::Map(m) => m,
        _ => new_map(),
    };
    let mut warnings = Vec::new();
    coalesce(tree, &dest, "", merge, &mut warnings)?;
    Ok((Value::Map(dest), warnings))
}

fn new_map() -> MapRef {
    std::rc::Rc::new(std::cell::RefCell::new(BTreeMap::new()))
}

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn as_map(v: &Value) -> Option<MapRef> {
    match v {
        Value::Map(m) => Some(m.clone()),
        _ => None,
    }
}

fn coalesce(
    tree: &ValuesTree,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) -> Result<(), CoalesceError> {
    coalesce_chart_values(tree, dest, prefix, merge, warnings);
    coalesce_deps(tree, dest, prefix, merge, warnings)
}

fn coalesce_deps(
    tree: &ValuesTree,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) -> Result<(), CoalesceError> {
    for sub in &tree.subcharts {
        let existing = dest.borrow().get(&sub.name).cloned();
        let sub_map = match existing {
            None => {
                let m = new_map();
                dest.borrow_mut()
                    .insert(sub.name.clone(), Value::Map(m.clone()));
                m
            }
            Some(Value::Map(m)) => m,
            Some(other) => {
                let shown = match &other {
                    Value::Nil => "%!t(<nil>)".to_string(),
                    Value::Bool(b) => b.to_string(),
                    v => format!("%!t({}={})", v.type_name(), sprint(v)),
                };
                return Err(CoalesceError {
                    name: sub.name.clone(),
                    shown,
                });
            }
        };
        let sub_prefix = concat_prefix(prefix, &tree.name);
        coalesce_globals(&sub_map, dest, &sub_prefix, warnings);
        coalesce(sub, &sub_map, &sub_prefix, merge, warnings)?;
    }
    Ok(())
}

/// Copies the parent's `global` into the subchart's values; the parent's entries win, nested
/// maps are merged top-down.
fn coalesce_globals(dest: &MapRef, src: &MapRef, prefix: &str, warnings: &mut Vec<String>) {
    let mut globals = |values: &MapRef, side: &str| match values.borrow().get(GLOBAL_KEY) {
        None => Some(new_map()),
        Some(Value::Map(m)) => Some(m.clone()),
        Some(_) => {
            warnings.push(format!(
                "warning: skipping globals because {side} {GLOBAL_KEY} is not a table."
            ));
            None
        }
    };
    let Some(dg) = globals(dest, "destination") else {
        return;
    };
    let Some(sg) = globals(src, "source") else {
        return;
    };
    let entries: Vec<(String, Value)> = sg
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        if let Value::Map(vm) = &val {
            // A shallow copy, as Helm's copyMap: nested maps stay shared.
            let vv: MapRef = std::rc::Rc::new(std::cell::RefCell::new(vm.borrow().clone()));
            let existing = dg.borrow().get(&key).cloned();
            match existing {
                None => {
                    dg.borrow_mut().insert(key, Value::Map(vv));
                }
                Some(Value::Map(destv)) => {
                    let sub_prefix = concat_prefix(prefix, &key);
                    coalesce_tables(&vv, &destv, &sub_prefix, true, warnings);
                    dg.borrow_mut().insert(key, Value::Map(vv));
                }
                Some(_) => warnings.push(format!(
                    "Conflict: cannot merge map onto non-map for {key:?}. Skipping."
                )),
            }
        } else if matches!(dg.borrow().get(&key), Some(Value::Map(_))) {
            warnings.push(format!("key {key} is table. Skipping"));
        } else {
            dg.borrow_mut().insert(key, val);
        }
    }
    dest.borrow_mut()
        .insert(GLOBAL_KEY.to_string(), Value::Map(dg));
}

/// Fills `v` (the values for this chart, user values first) from the chart's defaults.
fn coalesce_chart_values(
    tree: &ValuesTree,
    v: &MapRef,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) {
    let sub_prefix = concat_prefix(prefix, &tree.name);
    let Some(defaults) = as_map(&tree.defaults) else {
        return;
    };
    // Helm deep-copies the defaults before merging them in (coalescing writes into what it
    // takes); copying each entry only where it is taken gives the same result without copying
    // the defaults the user values override.
    let defaults = defaults.borrow();
    for (key, val) in defaults.iter() {
        let current = v.borrow().get(key).cloned();
        match current {
            None => {
                v.borrow_mut().insert(key.clone(), val.deep_copy());
            }
            Some(Value::Nil) if !merge => {
                v.borrow_mut().remove(key);
            }
            Some(Value::Map(dest)) => match val {
                Value::Map(_) => {
                    let Value::Map(src) = val.deep_copy() else {
                        continue;
                    };
                    let merge = merge || tree.subcharts.iter().any(|s| s.name == *key);
                    coalesce_tables(
                        &dest,
                        &src,
                        &concat_prefix(&sub_prefix, key),
                        merge,
                        warnings,
                    );
                }
                Value::Nil => {}
                _ => warnings.push(format!(
                    "warning: skipped value for {sub_prefix}.{key}: Not a table."
                )),
            },
            Some(_) => {}
        }
    }
}

/// Helm's `MergeTables(dst, src)`, which `import-values` uses to lay imported child values under
/// the parent's: `dst` wins, nested maps merge, and unlike coalescing, `null`s are kept.
pub fn merge_tables(dst: &Value, src: &Value, warnings: &mut Vec<String>) {
    if let (Value::Map(dm), Value::Map(sm)) = (dst, src) {
        coalesce_tables(dm, sm, "", true, warnings);
    }
}

/// Helm's `coalesceTablesFullKey`: `dst` has precedence, `src` fills the gaps.
fn coalesce_tables(
    dst: &MapRef,
    src: &MapRef,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) {
    if std::rc::Rc::ptr_eq(dst, src) {
        return;
    }
    let nulls: Vec<String> = dst
        .borrow()
        .iter()
        .filter(|(_, v)| v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    for k in nulls {
        src.borrow_mut().insert(k, Value::Nil);
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let full_key = concat_prefix(prefix, &key);
        let dv = dst.borrow().get(&key).cloned();
        match dv {
            Some(Value::Nil) if !merge => {
                dst.borrow_mut().remove(&key);
            }
            None => {
                dst.borrow_mut().insert(key, val);
            }
            Some(dv) => {
                if let Value::Map(sv) = &val {
                    if let Value::Map(dm) = &dv {
                        coalesce_tables(dm, sv, &full_key, merge, warnings);
                    } else {
                        warnings.push(format!(
                            "warning: cannot overwrite table with non table for {full_key} ({})",
                            sprint(&val)
                        ));
                    }
                } else if matches!(dv, Value::Map(_)) && !val.is_nil() {
                    warnings.push(format!(
                        "warning: destination for {full_key} is a table. Ignoring non-table value ({})",
                        sprint(&val)
                    ));
                }
            }
        }
    }
}

/// Helm's `MergeMaps` for `-f` files and `--set-json` objects: `b` wins; maps merge recursively.
pub fn merge_maps(a: &Value, b: &Value) -> Value {
    let mut out: BTreeMap<String, Value> = match a {
        Value::Map(m) => m.borrow().clone(),
        _ => BTreeMap::new(),
    };
    if let Value::Map(bm) = b {
        for (k, v) in bm.borrow().iter() {
            if let Value::Map(_) = v
                && let Some(existing @ Value::Map(_)) = out.get(k)
            {
                let merged = merge_maps(existing, v);
                out.insert(k.clone(), merged);
                continue;
            }
            out.insert(k.clone(), v.clone());
        }
    }
    Value::map(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse_values, to_yaml};

    #[test]
    fn merge_tables_destination_wins_maps_merge_nulls_kept() {
        let dst = parse_values("a: 1\nm:\n  p: 1\nz: null\n").unwrap();
        let src = parse_values("a: 2\nb: 3\nm:\n  p: 2\n  q: 2\nz: 5\n").unwrap();
        let mut w = Vec::new();
        merge_tables(&dst, &src, &mut w);
        assert_eq!(
            to_yaml(&dst).unwrap(),
            "a: 1\nb: 3\nm:\n  p: 1\n  q: 2\nz: null"
        );
        assert!(w.is_empty());
    }

    fn tree(name: &str, values: &str, subs: Vec<ValuesTree>) -> ValuesTree {
        ValuesTree {
            name: name.into(),
            defaults: parse_values(values).unwrap(),
            schema: None,
            subcharts: subs,
        }
    }

    #[test]
    fn user_wins_null_deletes_and_subcharts_scope() {
        let t = tree(
            "parent",
            "a: 1\nb: {x: 1, y: 2}\nc: 3\nglobal: {g: 1}\nsub: {s: parent}\n",
            vec![tree("sub", "s: default\nt: 2\nglobal: {h: 2}\n", vec![])],
        );
        let user = parse_values("a: 9\nb: {y: null}\nc: null\n").unwrap();
        let (v, warnings) = coalesce_values(&t, &user).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            to_yaml(&v).unwrap(),
            "a: 9\nb:\n  x: 1\nglobal:\n  g: 1\nsub:\n  global:\n    g: 1\n    h: 2\n  s: parent\n  t: 2"
        );
    }

    #[test]
    fn type_mismatch_warns_and_keeps_user_value() {
        let t = tree("p", "a: {x: 1}\nb: 1\n", vec![]);
        let user = parse_values("a: str\nb: {w: 1}\n").unwrap();
        let (v, warnings) = coalesce_values(&t, &user).unwrap();
        assert_eq!(to_yaml(&v).unwrap(), "a: str\nb:\n  w: 1");
        // A user scalar over a default table is kept silently; a user table over a default
        // scalar is kept with Helm's warning.
        assert_eq!(
            warnings,
            vec!["warning: skipped value for p.b: Not a table."]
        );
        let t = tree("p", "a: x\n", vec![]);
        let user = parse_values("a: {y: {z: 1}}\n").unwrap();
        let (_, warnings) = coalesce_values(&t, &user).unwrap();
        assert_eq!(
            warnings,
            vec!["warning: skipped value for p.a: Not a table."]
        );
    }

    #[test]
    fn subchart_key_must_be_a_map() {
        let t = tree("p", "", vec![tree("sub", "", vec![])]);
        let user = parse_values("sub: 3\n").unwrap();
        assert_eq!(
            coalesce_values(&t, &user).unwrap_err().to_string(),
            "type mismatch on sub: %!t(float64=3)"
        );
        let user = parse_values("sub: null\n").unwrap();
        assert_eq!(
            coalesce_values(&t, &user).unwrap_err().to_string(),
            "type mismatch on sub: %!t(<nil>)"
        );
    }

    #[test]
    fn globals_that_are_not_tables_are_skipped_with_a_warning() {
        let t = tree(
            "p",
            "global: 3
",
            vec![tree("sub", "", vec![])],
        );
        let (_, warnings) = coalesce_values(&t, &Value::empty_map()).unwrap();
        assert_eq!(
            warnings,
            vec!["warning: skipping globals because source global is not a table."]
        );
        let t = tree("p", "sub: {global: 3}\n", vec![tree("sub", "", vec![])]);
        let (_, warnings) = coalesce_values(&t, &Value::empty_map()).unwrap();
        assert_eq!(
            warnings,
            vec!["warning: skipping globals because destination global is not a table."]
        );
    }

    #[test]
    fn merge_maps_later_wins() {
        let a = parse_values("a: {x: 1, w: 2}\nb: 1\n").unwrap();
        let b = parse_values("a: {w: 3}\nb: {z: 1}\n").unwrap();
        assert_eq!(
            to_yaml(&merge_maps(&a, &b)).unwrap(),
            "a:\n  w: 3\n  x: 1\nb:\n  z: 1"
        );
    }
}
