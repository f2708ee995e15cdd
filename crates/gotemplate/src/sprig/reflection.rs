//! Sprig's reflection functions (`typeOf`, `typeIs`, `typeIsLike`, `kindOf`, `kindIs`,
//! `deepEqual`) and the environment ones (`env`, `expandenv`), which Helm removes from its map.

use super::args::{self, deep_equal, kind_name};
use super::fixed;
use crate::value::{FuncMap, Value};

pub(super) fn register(m: &mut FuncMap) {
    fixed(m, "typeOf", 1, |a| Ok(a[0].type_name().into()));
    fixed(m, "typeIs", 2, |a| {
        let target = args::string(&a[0])?;
        Ok(Value::Bool(*target == *a[1].type_name()))
    });
    fixed(m, "typeIsLike", 2, |a| {
        let target = args::string(&a[0])?;
        let t = a[1].type_name();
        Ok(Value::Bool(
            *target == *t || t.strip_prefix('*') == Some(&*target),
        ))
    });
    fixed(m, "kindOf", 1, |a| Ok(kind_name(&a[0]).into()));
    fixed(m, "kindIs", 2, |a| {
        let target = args::string(&a[0])?;
        Ok(Value::Bool(*target == *kind_name(&a[1])))
    });
    fixed(m, "deepEqual", 2, |a| {
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });
    fixed(m, "env", 1, |a| {
        let name = args::string(&a[0])?;
        Ok(std::env::var(&*name).unwrap_or_default().into())
    });
    fixed(m, "expandenv", 1, |a| {
        let s = args::string(&a[0])?;
        Ok(expand_env(&s).into())
    });
}

/// Go's `os.ExpandEnv`: `$NAME` and `${NAME}` replaced by the variable's value (empty if unset).
fn expand_env(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut start = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            out.push_str(&s[start..i]);
            let (name, width) = shell_name(&s[i + 1..]);
            if name.is_empty() && width > 0 {
                // A bad ${...}: Go drops it.
            } else if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(&std::env::var(name).unwrap_or_default());
            }
            i += 1 + width;
            start = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&s[start..]);
    out
}

/// Go's `os.getShellName`: the variable name after `$` and how many bytes it spans.
fn shell_name(s: &str) -> (&str, usize) {
    let b = s.as_bytes();
    if b[0] == b'{' {
        if b.len() > 2 && is_special(b[1]) && b[2] == b'}' {
            return (&s[1..2], 3);
        }
        for i in 1..b.len() {
            if b[i] == b'}' {
                if i == 1 {
                    return ("", 2);
                }
                return (&s[1..i], i + 1);
            }
        }
        return ("", 1);
    }
    if is_special(b[0]) {
        return (&s[0..1], 1);
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    (&s[..n], n)
}

fn is_special(c: u8) -> bool {
    matches!(c, b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-') || c.is_ascii_digit()
}
