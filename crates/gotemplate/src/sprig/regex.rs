//! Sprig's regular-expression functions over Go's RE2 syntax, which the `regex` crates share
//! (all guarantee linear time). A pattern Go refuses is refused first, in Go's words
//! ([`super::go_regexp`]); the `must*` variants return that error, the others panic with Go's
//! `regexp: Compile(…)` text, which the template engine reports the same way, except
//! `regexMatch`, which Sprig lets answer false.
//!
//! Charts match short strings with a few patterns per render, so compiling is what costs: a
//! pattern that needs no Unicode tables (the common case) goes to `regex-lite`, which compiles
//! in microseconds; the others, and anything it refuses, to `regex`.

use super::args;
use super::fixed;
use crate::value::{FuncMap, Value};

/// How a function compiles its pattern: Go's `MustCompile` (a panic) or `Compile` (an error).
type Compiler = fn(&str) -> Result<Pattern, String>;
const MUST: Compiler = must_compile;
const RETURN: Compiler = compile;

pub(super) fn register(m: &mut FuncMap) {
    fixed(m, "regexMatch", 2, |a| {
        let (re, s) = (args::string(&a[0])?, args::string(&a[1])?);
        Ok(Value::Bool(compile(&re).is_ok_and(|r| r.is_match(&s))))
    });
    fixed(m, "mustRegexMatch", 2, |a| {
        let (re, s) = (args::string(&a[0])?, args::string(&a[1])?);
        Ok(Value::Bool(compile(&re)?.is_match(&s)))
    });
    for (name, compile) in [("regexFindAll", MUST), ("mustRegexFindAll", RETURN)] {
        fixed(m, name, 3, move |a| {
            let (re, s) = (args::string(&a[0])?, args::string(&a[1])?);
            let n = args::int(&a[2])?;
            let re = compile(&re)?;
            if n == 0 {
                return Ok(Value::list(Vec::new()));
            }
            let limit = if n < 0 { usize::MAX } else { n as usize };
            Ok(args::string_list(
                re.find_iter(&s)
                    .take(limit)
                    .map(|(start, end)| s[start..end].to_string()),
            ))
        });
    }
    for (name, compile) in [("regexFind", MUST), ("mustRegexFind", RETURN)] {
        fixed(m, name, 2, move |a| {
            let (re, s) = (args::string(&a[0])?, args::string(&a[1])?);
            let found = compile(&re)?.find_iter(&s).next();
            Ok(found.map_or("", |(start, end)| &s[start..end]).into())
        });
    }
    for (name, compile) in [("regexReplaceAll", MUST), ("mustRegexReplaceAll", RETURN)] {
        fixed(m, name, 3, move |a| {
            let (re, s, repl) = (
                args::string(&a[0])?,
                args::string(&a[1])?,
                args::string(&a[2])?,
            );
            Ok(compile(&re)?.replace_all(&s, &repl, true).into())
        });
    }
    for (name, compile) in [
        ("regexReplaceAllLiteral", MUST),
        ("mustRegexReplaceAllLiteral", RETURN),
    ] {
        fixed(m, name, 3, move |a| {
            let (re, s, repl) = (
                args::string(&a[0])?,
                args::string(&a[1])?,
                args::string(&a[2])?,
            );
            Ok(compile(&re)?.replace_all(&s, &repl, false).into())
        });
    }
    for (name, compile) in [("regexSplit", MUST), ("mustRegexSplit", RETURN)] {
        fixed(m, name, 3, move |a| {
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

/// A compiled pattern, by the engine that took it.
#[derive(Clone)]
enum Pattern {
    Lite(regex_lite::Regex),
    Full(regex::Regex),
}

impl Pattern {
    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Lite(re) => re.is_match(s),
            Pattern::Full(re) => re.is_match(s),
        }
    }

    /// `(start, end)` of each leftmost-first match, as Go's `FindAllStringIndex`.
    fn find_iter<'s>(&'s self, s: &'s str) -> Box<dyn Iterator<Item = (usize, usize)> + 's> {
        match self {
            Pattern::Lite(re) => Box::new(re.find_iter(s).map(|m| (m.start(), m.end()))),
            Pattern::Full(re) => Box::new(re.find_iter(s).map(|m| (m.start(), m.end()))),
        }
    }

    /// Every match replaced by `repl`, with `$1`/`${name}` expanded when `expand` is set (Go's
    /// `ReplaceAllString`) or taken literally (`ReplaceAllLiteralString`).
    fn replace_all(&self, s: &str, repl: &str, expand: bool) -> String {
        match (self, expand) {
            (Pattern::Lite(re), true) => re.replace_all(s, repl).into_owned(),
            (Pattern::Lite(re), false) => {
                re.replace_all(s, regex_lite::NoExpand(repl)).into_owned()
            }
            (Pattern::Full(re), true) => re.replace_all(s, repl).into_owned(),
            (Pattern::Full(re), false) => re.replace_all(s, regex::NoExpand(repl)).into_owned(),
        }
    }

    fn is_empty_pattern(&self) -> bool {
        match self {
            Pattern::Lite(re) => re.as_str().is_empty(),
            Pattern::Full(re) => re.as_str().is_empty(),
        }
    }
}

/// Compiled patterns kept per thread: charts call the same few regexes in loops.
const CACHE_LIMIT: usize = 256;

thread_local! {
    static CACHE: std::cell::RefCell<std::collections::HashMap<String, Pattern>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// [`compile`] for the functions that use Go's `regexp.MustCompile`: its panic's text.
fn must_compile(expr: &str) -> Result<Pattern, String> {
    compile(expr).map_err(|e| format!("regexp: Compile({}): {e}", go_regexp_quote(expr)))
}

/// Go's `regexp.quote`: backquoted when `strconv.CanBackquote` allows, else `strconv.Quote`d.
fn go_regexp_quote(expr: &str) -> String {
    let can_backquote = !expr
        .chars()
        .any(|c| c == '`' || c == '\u{FEFF}' || (c.is_control() && c != '\t'));
    if can_backquote {
        format!("`{expr}`")
    } else {
        crate::fmt::quote(expr)
    }
}

/// The pattern, or Go's `error parsing regexp: …` for one Go refuses.
fn compile(expr: &str) -> Result<Pattern, String> {
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

fn compile_uncached(expr: &str) -> Result<Pattern, String> {
    if let Some(refused) = super::go_regexp::syntax_error(expr) {
        return Err(refused);
    }
    if lite_matches_like_go(expr)
        && let Ok(re) = regex_lite::Regex::new(&to_rust_syntax(expr, Engine::Lite))
    {
        return Ok(Pattern::Lite(re));
    }
    regex::Regex::new(&to_rust_syntax(expr, Engine::Full))
        .map(Pattern::Full)
        .map_err(|e| {
            let detail = e.to_string();
            let last = detail
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim_start_matches("error: ")
                .to_string();
            format!("error parsing regexp: {last}")
        })
}

/// Whether `regex-lite` matches `expr` exactly as Go does: it lacks Unicode classes (`\p{L}`) and
/// folds case in ASCII only, so patterns that could need either (a Unicode class, a flag group,
/// a non-ASCII character) go to `regex`.
fn lite_matches_like_go(expr: &str) -> bool {
    expr.is_ascii() && !expr.contains("(?") && !expr.contains("\\p") && !expr.contains("\\P")
}

/// The engine a pattern is rewritten for.
#[derive(Clone, Copy, PartialEq)]
enum Engine {
    Lite,
    Full,
}

/// Rewrites the parts of RE2 syntax whose meaning differs in the `regex` crates: Go's `\d`, `\w`,
/// `\s` and `\b` are ASCII-only (`regex`'s are Unicode-aware), Go supports `\Q…\E` literal
/// quoting, which the crates lack, and Go takes a `{` that opens no count literally.
fn to_rust_syntax(expr: &str, engine: Engine) -> String {
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
                // `regex-lite`'s word boundaries are ASCII already.
                'b' | 'B' if !in_class && engine == Engine::Lite => {
                    out.push(c);
                    out.push(n);
                }
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
                // `\p{Greek}`, `\x{263a}`: the braces are the escape's, not a count. Go's
                // `\p{^Greek}` is the crates' `\P{Greek}`.
                'p' | 'P' | 'x' if chars.peek() == Some(&'{') => {
                    chars.next();
                    let negated = n != 'x' && chars.next_if_eq(&'^').is_some();
                    out.push(c);
                    out.push(match (n, negated) {
                        ('p', true) => 'P',
                        ('P', true) => 'p',
                        (n, _) => n,
                    });
                    out.push('{');
                    for b in chars.by_ref() {
                        out.push(b);
                        if b == '}' {
                            break;
                        }
                    }
                }
                // Go's octal escapes (`\0`, `\07`, `\123`); the crates read `\1` as a
                // backreference.
                '0'..='7' => {
                    let mut value = n.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match chars.next_if(|d| ('0'..='7').contains(d)) {
                            Some(d) => value = value * 8 + d.to_digit(8).unwrap_or(0),
                            None => break,
                        }
                    }
                    out.push_str(&format!("\\x{{{value:x}}}"));
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
        } else if c == '(' && chars.peek() == Some(&'?') {
            // A group of flags alone, `(?i)`, is no operand in Go: a repetition after it repeats
            // what came before, where the crates see nothing to repeat. So the repetition goes
            // first: `x(?i)*` is `x*(?i)`.
            let rest: String = chars.clone().collect();
            let flags = rest[1..].find(|f: char| !"imsU-".contains(f));
            if let Some(end) = flags.filter(|&end| rest[1 + end..].starts_with(')')) {
                let group_len = 1 + end + 1;
                let repeat_len = repetition_len(&rest[group_len..]);
                if repeat_len > 0 {
                    out.push_str(&rest[group_len..group_len + repeat_len]);
                    out.push('(');
                    out.push_str(&rest[..group_len]);
                    for _ in 0..rest[..group_len + repeat_len].chars().count() {
                        chars.next();
                    }
                    continue;
                }
            }
        } else if c == '{' {
            // Go reads a `{` that opens no well-formed count (`a{`, `x{a}`, `{,5}`) as itself;
            // the crates refuse it.
            let rest: String = std::iter::once(c).chain(chars.clone()).collect();
            if !super::go_regexp::is_repeat(&rest) {
                out.push_str("\\{");
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The length of the repetition operator at the start of `s` (`*`, `+?`, `{2,3}`, …), 0 if none.
fn repetition_len(s: &str) -> usize {
    let op = if s.starts_with(['*', '+', '?']) {
        1
    } else if super::go_regexp::is_repeat(s) {
        s.find('}').map_or(0, |end| end + 1)
    } else {
        0
    };
    if op > 0 && s[op..].starts_with('?') {
        op + 1
    } else {
        op
    }
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
fn go_regex_split(re: &Pattern, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !re.is_empty_pattern() && s.is_empty() {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for (start, stop) in re.find_iter(s) {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = start;
        if stop != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = stop;
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
    fn refusals_are_worded_as_go_compile_and_must_compile_word_them() {
        let refused = "error parsing regexp: missing closing ): `(`";
        assert_eq!(compile("(").err().as_deref(), Some(refused));
        assert_eq!(
            must_compile("(").err(),
            Some(format!("regexp: Compile(`(`): {refused}"))
        );
        // A pattern that cannot be backquoted is quoted, as Go's `regexp.quote` does.
        assert_eq!(
            must_compile("(`").err(),
            Some(
                "regexp: Compile(\"(`\"): error parsing regexp: missing closing ): `(``"
                    .to_string()
            )
        );
    }

    #[test]
    fn go_literal_braces_octal_escapes_and_negated_classes_compile() {
        assert!(compile("a{").unwrap().is_match("a{"));
        assert!(compile("x{a}").unwrap().is_match("x{a}"));
        assert!(compile("^\\101\\0$").unwrap().is_match("A\0"));
        assert!(compile("^\\p{^Greek}$").unwrap().is_match("a"));
        assert!(!compile("^\\p{^Greek}$").unwrap().is_match("α"));
        assert!(compile("^x(?i)*$").unwrap().is_match("xxx"));
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

    /// Both engines over the same patterns and haystacks (ASCII and not): where `regex-lite` takes
    /// a pattern, it must find and replace exactly what `regex` does.
    #[test]
    fn lite_patterns_match_like_the_full_engine() {
        let patterns = [
            r"[^A-Za-z0-9]+$",
            r"(-?[^a-z\d\-])+-?",
            r"\W",
            r"-r\d+$|sha256:",
            r"^([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$",
            r"\bfoo\b",
            r"\Bo\B",
            r"^\Qa.b\E$",
            r"[\w-\.]+",
            r"\s+",
            r"(a|ab)(c|bcd)(d*)",
            r"x*",
            r"",
            r"[[:alpha:]]+",
            r"(?P<k>\w+)=(?P<v>\w*)",
            r"^$",
            r"(?m)^\w",
        ];
        let haystacks = [
            "",
            "foo bar-baz_1.2.3",
            "héllo wörld, δ foo",
            "release-Name.v1--x",
            "1.2.3-rc.1+build",
            "abcd abd a=b c= \n d=e",
            "sha256:abc image-r12",
            "a.b axb foo.bar foobar",
        ];
        for expr in patterns {
            let full = regex::Regex::new(&to_rust_syntax(expr, Engine::Full)).unwrap();
            let Ok(lite) = regex_lite::Regex::new(&to_rust_syntax(expr, Engine::Lite)) else {
                assert!(!lite_matches_like_go(expr), "regex-lite refuses {expr:?}");
                continue;
            };
            let (full, lite) = (Pattern::Full(full), Pattern::Lite(lite));
            for hay in haystacks {
                let found: Vec<_> = full.find_iter(hay).collect();
                assert_eq!(
                    lite.find_iter(hay).collect::<Vec<_>>(),
                    found,
                    "{expr:?} in {hay:?}"
                );
                for (repl, expand) in [("<$1>", true), ("${k}:$v", true), ("$1", false)] {
                    assert_eq!(
                        lite.replace_all(hay, repl, expand),
                        full.replace_all(hay, repl, expand),
                        "{expr:?} in {hay:?} by {repl:?}"
                    );
                }
                assert_eq!(
                    go_regex_split(&lite, hay, -1),
                    go_regex_split(&full, hay, -1)
                );
            }
        }
        assert!(matches!(compile(r"\w+").unwrap(), Pattern::Lite(_)));
        assert!(matches!(compile(r"(?i)straße").unwrap(), Pattern::Full(_)));
        assert!(matches!(compile(r"\p{Greek}+").unwrap(), Pattern::Full(_)));
    }
}
