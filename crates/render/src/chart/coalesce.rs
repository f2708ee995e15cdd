//! Helm's value coalescing over a resolved chart tree (`pkg/chart/common/util/coalesce.go`):
//! user values over chart defaults, `null` deleting keys (when coalescing, not merging), subchart
//! values scoped under the subchart's name, and `global` copied down to every subchart.
//!
//! Go iterates maps in random order; where that only changes which warning Helm logs, we iterate in
//! key order. Warnings are collected instead of printed.

use std::collections::BTreeMap;

use signet_gotemplate::Value;

use super::dependencies::ResolvedChart;

const GLOBAL_KEY: &str = "global";

type Table = BTreeMap<String, Value>;

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(_))
}

/// Helm's `CoalesceValues(chart, vals)`: `vals` (deep-copied) over the chart tree's defaults.
pub fn coalesce_values(
    chart: &ResolvedChart<'_>,
    vals: &Value,
    warnings: &mut Vec<String>,
) -> Result<Value, String> {
    let dest = match vals.deep_copy() {
        Value::Map(m) => Value::Map(m),
        _ => Value::empty_map(),
    };
    coalesce(chart, &dest, "", false, warnings)?;
    Ok(dest)
}

/// Helm's `MergeValues(chart, vals)`: like coalescing, but `null`s are kept.
pub fn merge_values(
    chart: &ResolvedChart<'_>,
    vals: &Value,
    warnings: &mut Vec<String>,
) -> Result<Value, String> {
    let dest = match vals.deep_copy() {
        Value::Map(m) => Value::Map(m),
        _ => Value::empty_map(),
    };
    coalesce(chart, &dest, "", true, warnings)?;
    Ok(dest)
}

fn coalesce(
    chart: &ResolvedChart<'_>,
    dest: &Value,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    coalesce_chart_values(chart, dest, prefix, merge, warnings);
    coalesce_deps(chart, dest, prefix, merge, warnings)
}

fn coalesce_deps(
    chart: &ResolvedChart<'_>,
    dest: &Value,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let Value::Map(dest_map) = dest else {
        return Ok(());
    };
    for sub in &chart.dependencies {
        let name = sub.metadata.name.clone();
        let existing = dest_map.borrow().get(&name).cloned();
        let sub_vals = match existing {
            None => {
                let m = Value::empty_map();
                dest_map.borrow_mut().insert(name.clone(), m.clone());
                m
            }
            Some(v @ Value::Map(_)) => v,
            Some(other) => {
                return Err(format!(
                    "type mismatch on {name}: %!t({}={})",
                    other.type_name(),
                    signet_gotemplate::fmt::sprint(&other)
                ));
            }
        };
        let sub_prefix = concat_prefix(prefix, &chart.metadata.name);
        coalesce_globals(&sub_vals, dest, &sub_prefix, warnings);
        coalesce(sub, &sub_vals, &sub_prefix, merge, warnings)?;
    }
    Ok(())
}

fn coalesce_globals(dest: &Value, src: &Value, prefix: &str, warnings: &mut Vec<String>) {
    let (Value::Map(dest_map), Value::Map(src_map)) = (dest, src) else {
        return;
    };
    let dg = match dest_map.borrow().get(GLOBAL_KEY).cloned() {
        None => Value::empty_map(),
        Some(v @ Value::Map(_)) => v,
        Some(_) => {
            warnings.push(format!(
                "warning: skipping globals because destination {GLOBAL_KEY} is not a table."
            ));
            return;
        }
    };
    let sg = match src_map.borrow().get(GLOBAL_KEY).cloned() {
        None => Value::empty_map(),
        Some(v @ Value::Map(_)) => v,
        Some(_) => {
            warnings.push(format!(
                "warning: skipping globals because source {GLOBAL_KEY} is not a table."
            ));
            return;
        }
    };
    let (Value::Map(dgm), Value::Map(sgm)) = (&dg, &sg) else {
        return;
    };
    let entries: Vec<(String, Value)> = sgm
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        if is_table(&val) {
            let vv = val.deep_copy();
            let existing = dgm.borrow().get(&key).cloned();
            match existing {
                None => {
                    dgm.borrow_mut().insert(key, vv);
                }
                Some(destv @ Value::Map(_)) => {
                    coalesce_tables_full_key(
                        &vv,
                        &destv,
                        &concat_prefix(prefix, &key),
                        true,
                        warnings,
                    );
                    dgm.borrow_mut().insert(key, vv);
                }
                Some(_) => warnings.push(format!(
                    "Conflict: cannot merge map onto non-map for {key:?}. Skipping."
                )),
            }
        } else if dgm.borrow().get(&key).is_some_and(is_table) {
            warnings.push(format!("key {key} is table. Skipping"));
        } else {
            dgm.borrow_mut().insert(key, val);
        }
    }
    dest_map.borrow_mut().insert(GLOBAL_KEY.to_string(), dg);
}

fn coalesce_chart_values(
    chart: &ResolvedChart<'_>,
    v: &Value,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) {
    let Value::Map(vm) = v else { return };
    let sub_prefix = concat_prefix(prefix, &chart.metadata.name);
    let defaults = chart.values.deep_copy();
    let Value::Map(dm) = &defaults else { return };
    let entries: Vec<(String, Value)> = dm
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let existing = vm.borrow().get(&key).cloned();
        match existing {
            Some(Value::Nil) if !merge => {
                vm.borrow_mut().remove(&key);
            }
            Some(dest @ Value::Map(_)) => {
                if is_table(&val) {
                    let merge = merge || chart.dependencies.iter().any(|d| d.metadata.name == key);
                    coalesce_tables_full_key(
                        &dest,
                        &val,
                        &concat_prefix(&sub_prefix, &key),
                        merge,
                        warnings,
                    );
                } else if !val.is_nil() {
                    warnings.push(format!(
                        "warning: skipped value for {sub_prefix}.{key}: Not a table."
                    ));
                }
            }
            Some(_) => {}
            None => {
                vm.borrow_mut().insert(key, val);
            }
        }
    }
}

/// Helm's `CoalesceTables(dst, src)`: `dst` wins; `null` in `dst` deletes.
pub fn coalesce_tables(dst: &Value, src: &Value, warnings: &mut Vec<String>) {
    coalesce_tables_full_key(dst, src, "", false, warnings);
}

/// Helm's `MergeTables(dst, src)`: `dst` wins; `null`s are kept.
pub fn merge_tables(dst: &Value, src: &Value, warnings: &mut Vec<String>) {
    coalesce_tables_full_key(dst, src, "", true, warnings);
}

fn coalesce_tables_full_key(
    dst: &Value,
    src: &Value,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) {
    let (Value::Map(dm), Value::Map(sm)) = (dst, src) else {
        return;
    };
    if std::rc::Rc::ptr_eq(dm, sm) {
        return;
    }
    let null_keys: Vec<String> = dm
        .borrow()
        .iter()
        .filter(|(_, v)| v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    for k in null_keys {
        sm.borrow_mut().insert(k, Value::Nil);
    }
    let entries: Vec<(String, Value)> = sm
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let full_key = concat_prefix(prefix, &key);
        let existing = dm.borrow().get(&key).cloned();
        match existing {
            Some(Value::Nil) if !merge => {
                dm.borrow_mut().remove(&key);
            }
            None => {
                dm.borrow_mut().insert(key, val);
            }
            Some(dv) => {
                if is_table(&val) {
                    if is_table(&dv) {
                        coalesce_tables_full_key(&dv, &val, &full_key, merge, warnings);
                    } else {
                        warnings.push(format!(
                            "warning: cannot overwrite table with non table for {full_key} ({})",
                            signet_gotemplate::fmt::sprint(&val)
                        ));
                    }
                } else if is_table(&dv) && !val.is_nil() {
                    warnings.push(format!(
                        "warning: destination for {full_key} is a table. Ignoring non-table value ({})",
                        signet_gotemplate::fmt::sprint(&val)
                    ));
                }
            }
        }
    }
}

/// Removes `null` entries recursively (Helm's `trimNilValues`).
pub fn trim_nil_values(v: &Value) -> Value {
    match v {
        Value::Map(m) => {
            let mut out = Table::new();
            for (k, val) in m.borrow().iter() {
                if val.is_nil() {
                    continue;
                }
                out.insert(k.clone(), trim_nil_values(val));
            }
            Value::map(out)
        }
        other => other.clone(),
    }
}
