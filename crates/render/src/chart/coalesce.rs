//! Helm's `MergeTables` (`coalesceTablesFullKey` with merge on), which `import-values` uses to
//! lay imported child values under the parent's: the destination wins, nested maps merge, `null`s
//! are kept. (Whole-tree coalescing lives in `crate::values`.)

use signet_gotemplate::Value;

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

/// Helm's `MergeTables(dst, src)`: `dst` wins; `null`s are kept. Warnings are collected.
pub fn merge_tables(dst: &Value, src: &Value, warnings: &mut Vec<String>) {
    merge_tables_full_key(dst, src, "", warnings);
}

fn merge_tables_full_key(dst: &Value, src: &Value, prefix: &str, warnings: &mut Vec<String>) {
    let (Value::Map(dm), Value::Map(sm)) = (dst, src) else {
        return;
    };
    if std::rc::Rc::ptr_eq(dm, sm) {
        return;
    }
    // Helm marks keys that are null in dst as null in src too (it mutates src).
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
            None => {
                dm.borrow_mut().insert(key, val);
            }
            Some(dv) if is_table(&val) => {
                if is_table(&dv) {
                    merge_tables_full_key(&dv, &val, &full_key, warnings);
                } else {
                    warnings.push(format!(
                        "warning: cannot overwrite table with non table for {full_key} ({})",
                        signet_gotemplate::fmt::sprint(&val)
                    ));
                }
            }
            Some(dv) => {
                if is_table(&dv) && !val.is_nil() {
                    warnings.push(format!(
                        "warning: destination for {full_key} is a table. Ignoring non-table value ({})",
                        signet_gotemplate::fmt::sprint(&val)
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse_values, to_yaml};

    #[test]
    fn destination_wins_and_maps_merge() {
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
}
