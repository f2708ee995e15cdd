//! Sprig's regular-expression functions over Go's RE2 syntax, which the `regex` crate shares
//! (both guarantee linear time). The `must*` variants return the compile error; the others panic
//! with Go's `regexp: Compile(…)` text, which the template engine reports the same way, except
//! `regexMatch`, which Sprig lets answer false.

use regex::{NoExpand, Regex};

use super::args;
use super::fixed;
use crate::value::{FuncMap, Value};

pub(super) fn register(m: &mut FuncMap) {
    fixed(m, "regexMatch", 2, |a| {
        let (re, s) = (args::string(&a[0])?, args::string(&a[1])?);
        Ok(Value::Bool(compile(&re).is_ok_and(|r| r.is_match(&s))))
    });
    fixed(m, "mustRegexMatch", 2, |a| {
        let (re, s) = (args::string(&a[0])?, args::string(&a[1])?);
        Ok(Value::Bool(compile(&re)?.is_match(&s)))
    });
    for name in ["regexFindAll", "mustRegexFindAll"] {
        fixed(m, name, 3, |a| {
            let (re, s) = (args::string(&a[0])?, args::string(&a[1])?);
            let n = args::int(&a[2])?;
            let re = compile(&re)?;
            if n == 0 {
                return Ok(Value::list(Vec::new()));
            }
            let limit = if n < 0 { usize::MAX } else { n as usize };
            Ok(args::string_list(
                re.find_iter(&s).take(limit).map(|m| m.as_str().to_string()),
            ))
        });
    }
    for name in ["regexFind", "mustRegexFind"] {
        fixed(m, name, 2, |a| {
            let (re, s) = (args::string(&a[0])?, args::string(&a[1])?);
            let found = compile(&re)?.find(&s).map(|m| m.as_str().to_string());
            Ok(found.unwrap_or_default().into())
        });
    }
    for name in ["regexReplaceAll", "mustRegexReplaceAll"] {
        fixed(m, name, 3, |a| {
            let (re, s, repl) = (
                args::string(&a[0])?,
                args::string(&a[1])?,
                args::string(&a[2])?,
            );
            Ok(compile(&re)?.replace_all(&s, &*repl).into_owned().into())
        });
    }
    for name in ["regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"] {
        fixed(m, name, 3, |a| {
            let (re, s, repl) = (
                args::string(&a[0])?,
                args::string(&a[1])?,
                args::string(&a[2])?,
            );
            Ok(compile(&re)?
                .replace_all(&s, NoExpand(&repl))
                .into_owned()
                .into())
        });
    }
    for name in ["regexSplit", "mustRegexSplit"] {
        fixed(m, name, 3, |a| {
            let (re, s) = (args::string(&a[0])?, args::string(&a[1])?);
            let n = args::int(&a[2])?;
            let re = compile(&re)?;
            Ok(args::string_list(go_regex_split(&re, &s, n)))
        });
    }
    fixed(m, "regexQuoteMeta", 1, |a| {
        Ok(quote_meta(&args::string(&a[0])?).into())
    });
}

/// Compiled patterns kept per thread: charts call the same few regexes in loops.
const CACHE_LIMIT: usize = 256;

thread_local! {
    static CACHE: std::cell::RefCell<std::collections::HashMap<String, Regex>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn compile(expr: &str) -> Result<Regex, String> {
    if let Some(re) = CACHE.with(|c| c.borrow().get(expr).cloned()) {
        return Ok(re);
    }
    let re = compile_uncached(expr)?;
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(expr.to_string(), re.clone());
    });
    Ok(re)
}

fn compile_uncached(expr: &str) -> Result<Regex, String> {
    Regex::new(&to_rust_syntax(expr)).map_err(|e| {
        let detail = e.to_string();
        let last = detail
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim_start_matches("error: ")
            .to_string();
        format!("regexp: Compile(`{expr}`): error parsing regexp: {last}")
    })
}

/// Rewrites the parts of RE2 syntax whose meaning differs in the `regex` crate: Go's `\d`, `\w`,
/// `\s` and `\b` are ASCII-only (the crate's are Unicode-aware), and Go supports `\Q…\E`
/// literal quoting, which the crate lacks.
fn to_rust_syntax(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len() + 8);
    let mut chars = expr.chars().peekable();
    let mut in_class = false;
    // Position inside a class, so a leading ']' (or '^]') is taken literally as in Go.
    let mut class_len = 0usize;
    while let Some(c) = chars.next() {
        if c == '\\' {
            let Some(n) = chars.next() else {
                out.push(c);
                break;
            };
            let class_body = |neg: bool, set: &str| {
                if in_class {
                    set.to_string()
                } else if neg {
                    format!("[^{set}]")
                } else {
                    format!("[{set}]")
                }
            };
            match n {
                'd' => out.push_str(&class_body(false, "0-9")),
                'w' => out.push_str(&class_body(false, "0-9A-Za-z_")),
                's' => out.push_str(&class_body(false, "\\t\\n\\f\\r ")),
                'D' if !in_class => out.push_str(&class_body(true, "0-9")),
                'W' if !in_class => out.push_str(&class_body(true, "0-9A-Za-z_")),
                'S' if !in_class => out.push_str(&class_body(true, "\\t\\n\\f\\r ")),
                'b' if !in_class => out.push_str("(?-u:\\b)"),
                'B' if !in_class => out.push_str("(?-u:\\B)"),
                'Q' if !in_class => {
                    let mut literal = String::new();
                    while let Some(q) = chars.next() {
                        if q == '\\' && chars.peek() == Some(&'E') {
                            chars.next();
                            break;
                        }
                        literal.push(q);
                    }
                    out.push_str(&regex::escape(&literal));
                }
                other => {
                    out.push(c);
                    out.push(other);
                }
            }
            if in_class {
                class_len += 1;
                // Go reads a '-' right after a class escape (`[\w-.]`) as a literal; once the
                // escape is expanded to a set, the crate would read a range instead.
                if matches!(n, 'd' | 'w' | 's') && chars.peek() == Some(&'-') {
                    chars.next();
                    out.push_str("\\-");
                    class_len += 1;
                }
            }
            continue;
        }
        if in_class {
            if c == ']' && class_len > 0 {
                in_class = false;
            } else if !(c == '^' && class_len == 0) {
                class_len += 1;
            }
        } else if c == '[' {
            in_class = true;
            class_len = 0;
        }
        out.push(c);
    }
    out
}

/// Go's `regexp.QuoteMeta` (a narrower set than `regex::escape`).
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Go's `(*Regexp).Split`.
fn go_regex_split(re: &Regex, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !re.as_str().is_empty() && s.is_empty() {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for m in re.find_iter(s) {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = m.end();
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_ascii_like_go() {
        assert!(!compile(r"^\w+$").unwrap().is_match("héllo"));
        assert!(compile(r"^[\w-]+$").unwrap().is_match("a-b_c"));
        assert!(compile(r"^\Qa.b\E$").unwrap().is_match("a.b"));
        assert!(!compile(r"^\Qa.b\E$").unwrap().is_match("axb"));
        assert!(compile(r"[]a]").unwrap().is_match("]"));
        assert!(compile(r"\D\S").unwrap().is_match("x!"));
    }

    #[test]
    fn dash_after_class_escape_is_literal_like_go() {
        let re = compile(r"^[\w-\.]+$").expect("Go accepts this class");
        assert!(re.is_match("argo-cd.example"));
        assert!(!re.is_match("argo cd"));
    }

    #[test]
    fn split_follows_go() {
        let re = compile("/").unwrap();
        assert_eq!(go_regex_split(&re, "foo//bar", -1), vec!["foo", "", "bar"]);
        assert_eq!(
            go_regex_split(&re, "foo/bar/baz", 2),
            vec!["foo", "bar/baz"]
        );
    }
}
