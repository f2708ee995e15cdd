//! The glob syntax of `.Files.Glob` (gobwas/glob with `/` as separator): `*` within a path segment,
//! `**` across segments, `?`, `[abc]`/`[!a-z]` classes, `{a,b}` alternatives, `\` escapes.
//! Compiled to an anchored regular expression.

use regex::Regex;

/// A compiled `.Files.Glob` pattern.
#[derive(Debug, Clone)]
pub struct Glob {
    re: Regex,
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, String> {
        let mut re = String::from("^");
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let mut alt_depth = 0usize;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '*' => {
                    if i + 1 < chars.len() && chars[i + 1] == '*' {
                        re.push_str(".*");
                        i += 1;
                    } else {
                        re.push_str("[^/]*");
                    }
                }
                '?' => re.push_str("[^/]"),
                '[' => {
                    let close = chars[i + 1..]
                        .iter()
                        .position(|&c| c == ']')
                        .map(|p| p + i + 1)
                        .ok_or_else(|| format!("unexpected end of input in pattern {pattern:?}"))?;
                    let mut body: String = chars[i + 1..close].iter().collect();
                    let negated = body.starts_with('!');
                    if negated {
                        body.remove(0);
                    }
                    re.push('[');
                    if negated {
                        re.push('^');
                    }
                    for ch in body.chars() {
                        if matches!(ch, '\\' | '[' | ']' | '^' | '&' | '~') {
                            re.push('\\');
                        }
                        re.push(ch);
                    }
                    re.push(']');
                    i = close;
                }
                '{' => {
                    alt_depth += 1;
                    re.push_str("(?:");
                }
                '}' if alt_depth > 0 => {
                    alt_depth -= 1;
                    re.push(')');
                }
                ',' if alt_depth > 0 => re.push('|'),
                '\\' => {
                    i += 1;
                    let escaped = chars
                        .get(i)
                        .ok_or_else(|| format!("unexpected end of input in pattern {pattern:?}"))?;
                    re.push_str(&regex::escape(&escaped.to_string()));
                }
                other => re.push_str(&regex::escape(&other.to_string())),
            }
            i += 1;
        }
        if alt_depth > 0 {
            return Err(format!("unexpected end of input in pattern {pattern:?}"));
        }
        re.push('$');
        Regex::new(&re)
            .map(|re| Glob { re })
            .map_err(|e| format!("invalid glob {pattern:?}: {e}"))
    }

    pub fn matches(&self, path: &str) -> bool {
        self.re.is_match(path)
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn gobwas_semantics() {
        let m = |p: &str, s: &str| Glob::new(p).unwrap().matches(s);
        assert!(m("config/*", "config/a.yaml"));
        assert!(!m("config/*", "config/sub/a.yaml"));
        assert!(m("config/**", "config/sub/a.yaml"));
        assert!(m("**.json", "dashboards/x.json"));
        assert!(m("files/{a,b}.txt", "files/b.txt"));
        assert!(m("file?.txt", "file1.txt"));
        assert!(m("[!x]*.txt", "a.txt"));
        assert!(!m("*.txt", "a.txt.bak"));
    }
}
