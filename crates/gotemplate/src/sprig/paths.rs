//! Sprig's path functions: `base`, `dir`, `clean`, `ext`, `isAbs` (Go's slash-separated `path`
//! package) and their `os*` twins (`path/filepath`, which on Linux behaves the same).

use super::args;
use super::fixed;
use crate::value::{FuncMap, Value};

pub(super) fn register(m: &mut FuncMap) {
    for (plain, os) in [
        ("base", "osBase"),
        ("dir", "osDir"),
        ("clean", "osClean"),
        ("ext", "osExt"),
    ] {
        let f: fn(&str) -> String = match plain {
            "base" => base,
            "dir" => dir,
            "clean" => clean,
            _ => ext,
        };
        for name in [plain, os] {
            fixed(m, name, 1, move |a| Ok(f(&args::string(&a[0])?).into()));
        }
    }
    for name in ["isAbs", "osIsAbs"] {
        fixed(m, name, 1, |a| {
            Ok(Value::Bool(args::string(&a[0])?.starts_with('/')))
        });
    }
}

/// Go's `path.Clean`: lexical `.`/`..` processing, one slash between elements.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`.
fn base(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

/// Go's `path.Dir`.
fn dir(path: &str) -> String {
    let head = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    clean(head)
}

/// Go's `path.Ext`.
fn ext(path: &str) -> String {
    for (i, b) in path.bytes().enumerate().rev() {
        if b == b'/' {
            break;
        }
        if b == b'.' {
            return path[i..].to_string();
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_go() {
        assert_eq!(clean("/foo/../foo/../bar"), "/bar");
        assert_eq!(clean("a/../../b"), "../b");
        assert_eq!(dir("foo/bar/baz"), "foo/bar");
        assert_eq!(dir("foo"), ".");
        assert_eq!(base("foo/bar/"), "bar");
        assert_eq!(ext("/foo/bar/baz.txt"), ".txt");
    }
}
