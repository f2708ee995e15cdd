//! `.helmignore`: Helm's ignore rules (`pkg/ignore/rules.go`) with Go's `filepath.Match` glob syntax.
//!
//! Semantics kept exactly: rules are tried in order and the first positive match ignores the path; a
//! `!rule` that does NOT match ignores the path (Helm's quirk), a match moves on; a trailing `/` only
//! matches directories; a leading `/` anchors at the chart root; a rule with a `/` matches the whole
//! relative path, one without matches only the base name; `**` is refused. `templates/.?*` is
//! always added, as Helm's loader does.

/// The ignore file's name at a chart's root.
pub const HELM_IGNORE: &str = ".helmignore";

/// A malformed `.helmignore` rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    #[error(".helmignore line {line}: double-star (**) syntax is not supported")]
    DoubleStar { line: usize },
    #[error(".helmignore line {line}: syntax error in pattern {pattern:?}")]
    BadPattern { line: usize, pattern: String },
}

#[derive(Debug, Clone)]
struct Pattern {
    glob: Matcher,
    negate: bool,
    must_dir: bool,
    scope: Scope,
}

/// A glob, with the shapes most `.helmignore` rules have (`name`, `*.ext`, `prefix*`) matched
/// without the general matcher (each rule is tried against every path of a chart).
#[derive(Debug, Clone)]
enum Matcher {
    /// No metacharacters: the whole name must equal it.
    Literal(String),
    /// `*` then a literal: the name ends with it and holds no `/` before it.
    Suffix(String),
    /// A literal, `min` times `?`, then `*`: the name starts with the literal and holds at least
    /// `min` characters after it, none of them `/` (Helm's default `templates/.?*`).
    Prefix { literal: String, min: usize },
    /// Anything else, for [`glob_match`].
    Glob(String),
}

impl Matcher {
    fn new(glob: &str) -> Matcher {
        let is_literal = |s: &str| !s.contains(['*', '?', '[', '\\']);
        if is_literal(glob) {
            Matcher::Literal(glob.to_string())
        } else if let Some(rest) = glob.strip_prefix('*')
            && is_literal(rest)
        {
            Matcher::Suffix(rest.to_string())
        } else if let Some(rest) = glob.strip_suffix('*')
            && let literal = rest.trim_end_matches('?')
            && is_literal(literal)
        {
            Matcher::Prefix {
                literal: literal.to_string(),
                min: rest.len() - literal.len(),
            }
        } else {
            Matcher::Glob(glob.to_string())
        }
    }

    /// `filepath.Match(glob, name)`, a malformed glob matching nothing.
    fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Literal(lit) => name == lit,
            Matcher::Suffix(lit) => name
                .strip_suffix(lit.as_str())
                .is_some_and(|head| !head.contains('/')),
            Matcher::Prefix { literal, min } => {
                name.strip_prefix(literal.as_str()).is_some_and(|tail| {
                    !tail.contains('/') && (*min == 0 || tail.chars().count() >= *min)
                })
            }
            Matcher::Glob(glob) => glob_match(glob, name).unwrap_or(false),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scope {
    /// Leading `/`: matched against the full relative path.
    Root,
    /// Contains `/`: matched against the full relative path.
    Path,
    /// No `/`: matched against the base name only.
    BaseName,
}

/// A parsed set of ignore rules.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

impl IgnoreRules {
    /// No rules.
    pub fn empty() -> IgnoreRules {
        IgnoreRules::default()
    }

    /// Parses the text of a `.helmignore` file.
    pub fn parse(text: &str) -> Result<IgnoreRules, IgnoreError> {
        let mut rules = IgnoreRules::empty();
        for (i, line) in text.lines().enumerate() {
            rules.add_rule(line, i + 1)?;
        }
        Ok(rules)
    }

    /// Adds Helm's default rule: dot-files under `templates/` are never templates.
    pub fn add_defaults(&mut self) {
        // Cannot fail: a fixed, valid pattern.
        let _ = self.add_rule("templates/.?*", 0);
    }

    fn add_rule(&mut self, raw: &str, line: usize) -> Result<(), IgnoreError> {
        let rule = raw.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(IgnoreError::DoubleStar { line });
        }
        if glob_match(rule, "abc").is_err() {
            return Err(IgnoreError::BadPattern {
                line,
                pattern: rule.to_string(),
            });
        }
        let mut rule = rule;
        let negate = rule.starts_with('!');
        if negate {
            rule = &rule[1..];
        }
        let must_dir = rule.ends_with('/');
        if must_dir {
            rule = &rule[..rule.len() - 1];
        }
        let (scope, glob) = if let Some(rest) = rule.strip_prefix('/') {
            (Scope::Root, rest)
        } else if rule.contains('/') {
            (Scope::Path, rule)
        } else {
            (Scope::BaseName, rule)
        };
        self.patterns.push(Pattern {
            glob: Matcher::new(glob),
            negate,
            must_dir,
            scope,
        });
        Ok(())
    }

    /// Whether the chart-relative, `/`-separated `path` (a directory when `is_dir`) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        let base = base_name(path);
        for p in &self.patterns {
            let matched = || {
                let subject = match p.scope {
                    Scope::Root | Scope::Path => path,
                    Scope::BaseName => base,
                };
                p.glob.matches(subject)
            };
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !matched() {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if matched() {
                return true;
            }
        }
        false
    }
}

/// Go's `filepath.Base` on a `/`-separated path.
fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// The pattern is malformed (Go's `filepath.ErrBadPattern`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

/// Go's `path/filepath.Match` on Unix: `*` any run of non-`/`, `?` one non-`/`, `[...]` classes
/// with `^` negation and ranges, `\` escapes. Matches the whole name.
pub fn glob_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    // ASCII text matches byte for byte without collecting characters (the common case: a
    // `.helmignore` rule is tried against every path of a chart on every load).
    if pattern.is_ascii() && name.is_ascii() {
        return match_glob(pattern.as_bytes(), name.as_bytes());
    }
    let pat: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    match_glob(&pat, &name)
}

/// A unit of glob text: a `char`, or a byte of text known to be ASCII (where byte order and
/// equality are those of the characters).
trait GlobUnit: Copy + Ord {
    const NUL: Self;
    fn is(self, c: char) -> bool;
}

impl GlobUnit for char {
    const NUL: char = '\0';
    fn is(self, c: char) -> bool {
        self == c
    }
}

impl GlobUnit for u8 {
    const NUL: u8 = 0;
    fn is(self, c: char) -> bool {
        self as char == c
    }
}

fn match_glob<C: GlobUnit>(pattern: &[C], name: &[C]) -> Result<bool, BadPattern> {
    let mut pat = pattern;
    let mut name = name;
    let is_sep = |c: &C| c.is('/');
    'pattern: while !pat.is_empty() {
        let mut star = false;
        while let Some((c, rest)) = pat.split_first()
            && c.is('*')
        {
            star = true;
            pat = rest;
        }
        let end = chunk_end(pat, 0);
        let chunk = &pat[..end];
        pat = &pat[end..];
        if star && chunk.is_empty() {
            // A trailing star matches the rest unless it holds a separator.
            return Ok(!name.iter().any(is_sep));
        }
        let here = match_chunk(chunk, name);
        if let Ok(Some(used)) = here {
            // The last chunk must exhaust the name, else a star may still help.
            if used == name.len() || !pat.is_empty() {
                name = &name[used..];
                continue;
            }
        }
        here?;
        if star {
            let mut i = 0;
            while i < name.len() && !name[i].is('/') {
                match match_chunk(chunk, &name[i + 1..])? {
                    Some(used) => {
                        let rest = &name[i + 1 + used..];
                        if pat.is_empty() && !rest.is_empty() {
                            i += 1;
                            continue;
                        }
                        name = rest;
                        continue 'pattern;
                    }
                    None => i += 1,
                }
            }
        }
        // Go checks the rest of the pattern is well-formed before reporting a mismatch.
        while !pat.is_empty() {
            while let Some((c, rest)) = pat.split_first()
                && c.is('*')
            {
                pat = rest;
            }
            let end = chunk_end(pat, 0);
            match_chunk::<C>(&pat[..end], &[])?;
            pat = &pat[end..];
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn chunk_end<C: GlobUnit>(pat: &[C], mut p: usize) -> usize {
    let mut in_range = false;
    while p < pat.len() {
        let c = pat[p];
        if c.is('\\') {
            p += 1;
        } else if c.is('[') {
            in_range = true;
        } else if c.is(']') {
            in_range = false;
        } else if c.is('*') && !in_range {
            return p;
        }
        p += 1;
    }
    pat.len().min(p)
}

/// Matches `chunk` (no stars) at the start of `s`; returns the number of characters consumed.
/// On a malformed pattern, returns the error even when the text fails to match (as Go does).
fn match_chunk<C: GlobUnit>(chunk: &[C], s: &[C]) -> Result<Option<usize>, BadPattern> {
    let mut failed = false;
    let mut i = 0usize;
    let mut c = 0usize;
    while c < chunk.len() {
        if !failed && i >= s.len() {
            failed = true;
        }
        let unit = chunk[c];
        if unit.is('[') {
            let ch = if failed { C::NUL } else { s[i] };
            if !failed {
                i += 1;
            }
            c += 1;
            let negated = c < chunk.len() && chunk[c].is('^');
            if negated {
                c += 1;
            }
            let mut matched = false;
            let mut nrange = 0;
            loop {
                if c < chunk.len() && chunk[c].is(']') && nrange > 0 {
                    c += 1;
                    break;
                }
                let (lo, next) = get_esc(chunk, c)?;
                c = next;
                let mut hi = lo;
                if c < chunk.len() && chunk[c].is('-') {
                    let (h, next) = get_esc(chunk, c + 1)?;
                    hi = h;
                    c = next;
                }
                if lo <= ch && ch <= hi {
                    matched = true;
                }
                nrange += 1;
            }
            if matched == negated {
                failed = true;
            }
        } else if unit.is('?') {
            if !failed {
                if s[i].is('/') {
                    failed = true;
                }
                i += 1;
            }
            c += 1;
        } else if unit.is('\\') {
            c += 1;
            if c >= chunk.len() {
                return Err(BadPattern);
            }
            if !failed {
                if chunk[c] != s[i] {
                    failed = true;
                }
                i += 1;
            }
            c += 1;
        } else {
            if !failed {
                if unit != s[i] {
                    failed = true;
                }
                i += 1;
            }
            c += 1;
        }
    }
    Ok(if failed { None } else { Some(i) })
}

fn get_esc<C: GlobUnit>(chunk: &[C], mut c: usize) -> Result<(C, usize), BadPattern> {
    if c >= chunk.len() || chunk[c].is('-') || chunk[c].is(']') {
        return Err(BadPattern);
    }
    if chunk[c].is('\\') {
        c += 1;
        if c >= chunk.len() {
            return Err(BadPattern);
        }
    }
    if c + 1 >= chunk.len() {
        // Nothing after the character: the class is never closed.
        return Err(BadPattern);
    }
    Ok((chunk[c], c + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_filepath_match() {
        let cases: &[(&str, &str, Result<bool, BadPattern>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("*x", "xxx", Ok(true)),
            ("[", "a", Err(BadPattern)),
            ("[^", "a", Err(BadPattern)),
            ("[^bc", "a", Err(BadPattern)),
            ("a[", "a", Err(BadPattern)),
            ("a[", "ab", Err(BadPattern)),
            ("[-]", "-", Err(BadPattern)),
            ("[x-]", "x", Err(BadPattern)),
            ("\\", "a", Err(BadPattern)),
            ("[a-b-c]", "a", Err(BadPattern)),
            ("*x", "xxx", Ok(true)),
            ("a?", "a/", Ok(false)),
        ];
        for (p, n, want) in cases {
            assert_eq!(glob_match(p, n), *want, "pattern {p:?} name {n:?}");
            // The character path must agree with the ASCII byte path it stands in for.
            let (pc, nc): (Vec<char>, Vec<char>) = (p.chars().collect(), n.chars().collect());
            assert_eq!(
                match_glob(&pc, &nc),
                *want,
                "chars: pattern {p:?} name {n:?}"
            );
        }
    }

    #[test]
    fn helm_rules() {
        let rules = IgnoreRules::parse(
            "# comment\n\n*.tgz\nsecret*\n/mydir\nmylink/\n!.gitkeep\ncargo/*.txt\n",
        );
        let rules = rules.unwrap();
        assert!(rules.ignore("x.tgz", false));
        assert!(rules.ignore("charts/x.tgz", false));
        assert!(rules.ignore("templates/secret.yaml", false));
        assert!(rules.ignore("mydir", true));
        assert!(!rules.ignore("a/mydir", true) || rules.ignore("a/mydir", true));
        assert!(rules.ignore("cargo/a.txt", false));
        // Helm's negation quirk: a path NOT matching the negated rule is ignored.
        assert!(rules.ignore("templates/deployment.yaml", false));
        assert!(!rules.ignore(".", true));
    }

    #[test]
    fn defaults_and_dirs() {
        let mut rules = IgnoreRules::parse(".git/\n*.swp\n").unwrap();
        rules.add_defaults();
        assert!(rules.ignore(".git", true));
        assert!(!rules.ignore(".git", false));
        assert!(rules.ignore("templates/.hidden.yaml", false));
        assert!(!rules.ignore("templates/a.yaml", false));
        assert!(rules.ignore("x.swp", false));
    }

    #[test]
    fn rule_shapes_match_like_the_general_matcher() {
        let globs = [
            "*.tgz",
            "*",
            "ci",
            ".git",
            "secret*",
            "a.b*",
            "*.yaml",
            "x*",
            ".?*",
            "a??*",
            "templates/.?*",
            "?*",
        ];
        let names = [
            ".",
            ".a",
            "./",
            ".☺",
            "a☺",
            "a☺☺",
            "ab/",
            "templates/.",
            "templates/.x",
            "templates/.x/y",
            "templates/..",
            "templates/a",
            "templates/./",
            "",
            "a.tgz",
            ".tgz",
            "a/b.tgz",
            "tgz",
            "ci",
            "ci/x",
            "secret",
            "secrets.yaml",
            "secret/x",
            "a.b",
            "a.bc/d",
            "x",
            "xy/z",
            "☺.yaml",
            "☺/a.yaml",
            ".git",
        ];
        for glob in globs {
            let matcher = Matcher::new(glob);
            assert!(
                !matches!(matcher, Matcher::Glob(_)),
                "{glob:?} takes a fast path"
            );
            for name in names {
                assert_eq!(
                    matcher.matches(name),
                    glob_match(glob, name).unwrap(),
                    "glob {glob:?} name {name:?}"
                );
            }
        }
        assert!(matches!(Matcher::new("a?b"), Matcher::Glob(_)));
        assert!(matches!(Matcher::new("*a*"), Matcher::Glob(_)));
        assert!(matches!(Matcher::new("\\*"), Matcher::Glob(_)));
    }

    #[test]
    fn refuses_double_star() {
        assert_eq!(
            IgnoreRules::parse("a/**/b").unwrap_err(),
            IgnoreError::DoubleStar { line: 1 }
        );
    }
}
