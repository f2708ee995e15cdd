//! Sprig's `semver` and `semverCompare`, with Masterminds/semver v3's rules: lenient versions
//! ("v1.2", "1"), and constraints with `||` alternatives, comma/space conjunctions, `x`/`*`
//! wildcards, hyphen ranges, `~`, `^`, and the rule that a pre-release version only satisfies a
//! constraint that itself names a pre-release. (The `semver` crate follows Cargo's rules, which
//! differ, so this module implements Masterminds' directly.)

use std::cmp::Ordering;
use std::rc::Rc;
use std::sync::OnceLock;

use regex::Regex;

use super::args;
use super::fixed;
use crate::value::{FuncMap, Object, Value};

pub(super) fn register(m: &mut FuncMap) {
    fixed(m, "semver", 1, |a| {
        let v = Version::parse(&args::string(&a[0])?)?;
        Ok(Value::Object(Rc::new(v)))
    });
    fixed(m, "semverCompare", 2, |a| {
        semver_compare(&args::string(&a[0])?, &args::string(&a[1])?).map(Value::Bool)
    });
}

/// Sprig's `semverCompare`: whether `version` satisfies `constraint`, with its errors.
pub fn semver_compare(constraint: &str, version: &str) -> Result<bool, String> {
    let constraint = Constraints::parse(constraint)?;
    Ok(constraint.check(&Version::parse(version)?))
}

/// Masterminds' `*semver.Version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

#[cfg(test)]
const VERSION_PATTERN: &str = r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const WILDCARD_VERSION_PATTERN: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";

/// What Masterminds' version pattern captures, scanned from the start of a text: `v?`, the major
/// number, `.minor` and `.patch` (dot included, empty when absent), then the pre-release and
/// metadata identifiers (without their `-`/`+`).
struct VersionParts<'a> {
    /// The match, `v` included.
    text: &'a str,
    /// Its length in bytes.
    len: usize,
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    pre: &'a str,
    metadata: &'a str,
}

/// [`VERSION_PATTERN`] (or, with `wildcard`, [`WILDCARD_VERSION_PATTERN`], whose numbers admit
/// `x`, `X`, `*` and `|`) matched at the start of `s`, by hand. Every optional part of the
/// pattern is greedy and opens with its own separator, which nothing before it can consume, so
/// the longest scan is the match the regex finds. (Compiling the regexes cost more than a whole
/// small chart's render; they stay, in [`constraint_regexes`], for the constraints this module
/// does not scan.)
fn scan_version(s: &str, wildcard: bool) -> Option<VersionParts<'_>> {
    let b = s.as_bytes();
    let number = |c: u8| c.is_ascii_digit() || (wildcard && matches!(c, b'x' | b'X' | b'*' | b'|'));
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'-';
    let run = |from: usize, class: &dyn Fn(u8) -> bool| {
        from + b[from..].iter().take_while(|&&c| class(c)).count()
    };
    // `[class]+(\.[class]+)*` from `from`: its end, if at least one character matched.
    let identifiers = |from: usize| -> Option<usize> {
        let mut end = run(from, &ident);
        if end == from {
            return None;
        }
        while b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(|&c| ident(c)) {
            end = run(end + 1, &ident);
        }
        Some(end)
    };
    let start = usize::from(b.first() == Some(&b'v'));
    let major_end = run(start, &number);
    if major_end == start {
        return None;
    }
    let mut at = major_end;
    let mut dotted = || {
        if b.get(at) == Some(&b'.') && b.get(at + 1).is_some_and(|&c| number(c)) {
            let from = at;
            at = run(at + 1, &number);
            &s[from..at]
        } else {
            ""
        }
    };
    let minor = dotted();
    let patch = if minor.is_empty() { "" } else { dotted() };
    let mut tail = |sep: u8| {
        if b.get(at) != Some(&sep) {
            return "";
        }
        match identifiers(at + 1) {
            Some(end) => {
                let part = &s[at + 1..end];
                at = end;
                part
            }
            None => "",
        }
    };
    let pre = tail(b'-');
    let metadata = tail(b'+');
    Some(VersionParts {
        text: &s[..at],
        len: at,
        major: &s[start..major_end],
        minor,
        patch,
        pre,
        metadata,
    })
}

#[cfg(test)]
fn version_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!("^{VERSION_PATTERN}$")).expect("static version pattern compiles")
    })
}

impl Version {
    /// `semver.NewVersion`.
    pub fn parse(s: &str) -> Result<Version, String> {
        let parts = scan_version(s, false)
            .filter(|p| p.len == s.len())
            .ok_or_else(|| "invalid semantic version".to_string())?;
        let num = |dotted: &str| -> Result<u64, String> {
            if dotted.is_empty() {
                return Ok(0);
            }
            let digits = dotted.trim_start_matches('.');
            digits.parse::<u64>().map_err(|e| {
                // Go's strconv.ParseUint error, the segment quoted.
                let why = match e.kind() {
                    std::num::IntErrorKind::PosOverflow => "value out of range",
                    _ => "invalid syntax",
                };
                format!(
                    "error parsing version segment: strconv.ParseUint: parsing {}: {why}",
                    crate::fmt::quote(digits)
                )
            })
        };
        let pre = parts.pre.to_string();
        for part in pre.split('.').filter(|_| !pre.is_empty()) {
            if part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit()) {
                return Err("version segment starts with 0".into());
            }
        }
        Ok(Version {
            major: num(parts.major)?,
            minor: num(parts.minor)?,
            patch: num(parts.patch)?,
            pre,
            metadata: parts.metadata.to_string(),
            original: s.to_string(),
        })
    }

    fn canonical(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    /// `Version.Compare`: numbers, then pre-release (metadata ignored).
    fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| compare_prerelease(&self.pre, &o.pre))
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    if a.is_empty() {
        return Ordering::Greater;
    }
    if b.is_empty() {
        return Ordering::Less;
    }
    let (ap, bp): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..ap.len().max(bp.len()) {
        let d = compare_pre_part(
            ap.get(i).copied().unwrap_or(""),
            bp.get(i).copied().unwrap_or(""),
        );
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => s.cmp(o),
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(_), Err(_)) => Ordering::Less,
        (Ok(a), Ok(b)) => {
            if a > b {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

fn ordering_to_int(o: Ordering) -> i64 {
    match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

impl Object for Version {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Major" => Value::Uint(self.major),
            "Minor" => Value::Uint(self.minor),
            "Patch" => Value::Uint(self.patch),
            "Prerelease" => Value::str(self.pre.as_str()),
            "Metadata" => Value::str(self.metadata.as_str()),
            "Original" => Value::str(self.original.as_str()),
            "String" => Value::str(self.canonical()),
            "IncMajor" => self.bumped(self.major + 1, 0, 0),
            "IncMinor" => self.bumped(self.major, self.minor + 1, 0),
            "IncPatch" => {
                if self.pre.is_empty() {
                    self.bumped(self.major, self.minor, self.patch + 1)
                } else {
                    self.bumped(self.major, self.minor, self.patch)
                }
            }
            _ => return None,
        })
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Compare" | "LessThan" | "GreaterThan" | "Equal" | "LessThanEqual" | "GreaterThanEqual"
        ) || self.field(name).is_some()
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if args.is_empty()
            && let Some(v) = self.field(name)
        {
            return Some(Ok(v));
        }
        let cmp = |f: fn(Ordering) -> Value| -> Result<Value, String> {
            args::arity(name, args, 1)?;
            match &args[0] {
                Value::Object(o) => match o.as_any().downcast_ref::<Version>() {
                    Some(other) => Ok(f(self.compare(other))),
                    None => Err(args::wrong_type("*semver.Version", &args[0])),
                },
                other => Err(args::wrong_type("*semver.Version", other)),
            }
        };
        Some(match name {
            "Compare" => cmp(|o| Value::Int(ordering_to_int(o))),
            "LessThan" => cmp(|o| Value::Bool(o == Ordering::Less)),
            "GreaterThan" => cmp(|o| Value::Bool(o == Ordering::Greater)),
            "Equal" => cmp(|o| Value::Bool(o == Ordering::Equal)),
            "LessThanEqual" => cmp(|o| Value::Bool(o != Ordering::Greater)),
            "GreaterThanEqual" => cmp(|o| Value::Bool(o != Ordering::Less)),
            _ => return None,
        })
    }

    fn go_string(&self) -> String {
        self.canonical()
    }

    fn to_data(&self) -> Option<Value> {
        Some(Value::str(self.canonical()))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Version {
    fn bumped(&self, major: u64, minor: u64, patch: u64) -> Value {
        let mut v = Version {
            major,
            minor,
            patch,
            pre: String::new(),
            metadata: String::new(),
            original: String::new(),
        };
        v.original = v.canonical();
        Value::Object(Rc::new(v))
    }
}

/// One comparison in a constraint, with Masterminds' "dirty" flags for wildcard/partial parts.
#[derive(Debug, Clone, PartialEq)]
struct Constraint {
    op: String,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// `semver.Constraints`: alternatives (`||`) of conjunctions.
#[derive(Debug, PartialEq)]
pub struct Constraints {
    groups: Vec<Vec<Constraint>>,
}

/// Go regexp's `\s`.
const GO_SPACE: &str = r"[\t\n\f\r ]";

const OPS: &str = r"!=|>=|=>|<=|=<|~>|>|<|=|~|\^|";

fn constraint_regexes() -> &'static (Regex, Regex, Regex, Regex) {
    static RE: OnceLock<(Regex, Regex, Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        let cv = WILDCARD_VERSION_PATTERN;
        // Go's `\s` is ASCII (`[\t\n\f\r ]`); Rust's is Unicode, which both differs from
        // Masterminds and compiles into a far bigger automaton (a cost every `semverCompare`
        // process pays once).
        let s = GO_SPACE;
        let one = Regex::new(&format!(r"^{s}*({OPS}){s}*({cv}){s}*$")).expect("pattern compiles");
        let find = Regex::new(&format!(r"({OPS}){s}*({cv})")).expect("pattern compiles");
        let range =
            Regex::new(&format!(r"{s}*({cv}){s}+-{s}+({cv}){s}*")).expect("pattern compiles");
        let valid =
            Regex::new(&format!(r"^({s}*({OPS}){s}*({cv}){s}*,?)+$")).expect("pattern compiles");
        (one, find, range, valid)
    })
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraints {
    /// `semver.NewConstraint`.
    pub fn parse(s: &str) -> Result<Constraints, String> {
        match single_constraint(s) {
            Some((op, version)) => Ok(Constraints {
                groups: vec![vec![constraint_from(op, &version)?]],
            }),
            None => Self::parse_with_regexes(s),
        }
    }

    /// `semver.NewConstraint` as Masterminds writes it, with its regexes.
    fn parse_with_regexes(s: &str) -> Result<Constraints, String> {
        let (_, find, range, valid) = constraint_regexes();
        // Hyphen ranges become ">= a, <= b".
        let rewritten = range.replace_all(s, |c: &regex::Captures| {
            format!(">= {}, <= {} ", &c[1], &c[11])
        });
        let mut groups = Vec::new();
        for alt in rewritten.split("||") {
            if !valid.is_match(alt) {
                return Err(format!("improper constraint: {alt}"));
            }
            let mut terms: Vec<String> = find
                .find_iter(alt)
                .map(|m| m.as_str().to_string())
                .collect();
            if terms.is_empty() {
                terms.push(alt.to_string());
            }
            groups.push(
                terms
                    .iter()
                    .map(|t| parse_constraint(t))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        Ok(Constraints { groups })
    }

    /// `Constraints.Check`.
    pub fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|group| group.iter().all(|c| c.check(v)))
    }
}

/// A constraint of one comparison (`>=1.19.0-0`, `^2`, ` ~ 1.2.x `), the shape nearly every
/// chart writes, read without the regexes: Go-space, an operator (the first of [`OPS`] that
/// fits, as the regex alternation picks), Go-space, a version, Go-space, and nothing else. Such a
/// text has no hyphen range or second term for the regexes to find, so their verdict is the
/// constraint this returns. `None` for anything else.
fn single_constraint(s: &str) -> Option<(&str, VersionParts<'_>)> {
    // Alternatives are split off first (and `|` is a "number" character of the pattern).
    if s.contains("||") {
        return None;
    }
    let is_space = |c: char| matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ');
    let rest = s.trim_start_matches(is_space);
    let op = OPS
        .split('|')
        .map(|op| op.trim_start_matches('\\'))
        .find(|op| rest.starts_with(op))?;
    let after_op = rest[op.len()..].trim_start_matches(is_space);
    let version = scan_version(after_op, true)?;
    after_op[version.len..]
        .trim_start_matches(is_space)
        .is_empty()
        .then_some((op, version))
}

fn parse_constraint(s: &str) -> Result<Constraint, String> {
    let (one, ..) = constraint_regexes();
    if s.is_empty() {
        return Ok(Constraint {
            op: String::new(),
            con: Version::parse("0.0.0")?,
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = one
        .captures(s)
        .ok_or_else(|| format!("improper constraint: {s}"))?;
    let version = m.get(2).map(|x| x.as_str()).unwrap_or("");
    let parts = scan_version(version, true)
        .filter(|p| p.len == version.len())
        .ok_or_else(|| format!("improper constraint: {s}"))?;
    constraint_from(m.get(1).map(|x| x.as_str()).unwrap_or(""), &parts)
}

/// Masterminds' `parseConstraint` once the operator and version are apart: wildcard and missing
/// parts make the constraint "dirty" (`1.2` and `1.2.x` mean any patch).
fn constraint_from(op: &str, parts: &VersionParts<'_>) -> Result<Constraint, String> {
    let (major, minor, patch) = (parts.major, parts.minor, parts.patch);
    let text = parts.text;
    let tail = &text[text.find(['-', '+']).unwrap_or(text.len())..];
    let (mut ver, mut minor_dirty, mut patch_dirty, mut dirty) =
        (parts.text.to_string(), false, false, false);
    if is_x(major) || major.is_empty() {
        ver = format!("0.0.0{tail}");
        dirty = true;
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        minor_dirty = true;
        dirty = true;
        ver = format!("{major}.0.0{tail}");
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        ver = format!("{major}{minor}.0{tail}");
    }
    let con = Version::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        op: op.to_string(),
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        // A pre-release only satisfies constraints that themselves carry a pre-release.
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        match self.op.as_str() {
            "" | "=" => self.tilde_or_equal(v),
            "!=" => self.not_equal(v),
            ">" => self.greater_than(v),
            "<" => v.compare(c) == Ordering::Less,
            ">=" | "=>" => v.compare(c) != Ordering::Less,
            "<=" | "=<" => self.less_than_equal(v),
            "~" | "~>" => self.tilde(v),
            "^" => self.caret(v),
            _ => false,
        }
    }

    fn tilde_or_equal(&self, v: &Version) -> bool {
        if self.dirty {
            return self.tilde(v);
        }
        v.compare(&self.con) == Ordering::Equal
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if self.dirty {
            if c.major != v.major {
                return true;
            }
            if c.minor != v.minor && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if c.patch != v.patch && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                if !v.pre.is_empty() || !c.pre.is_empty() {
                    return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                }
                return false;
            }
        }
        v.compare(c) != Ordering::Equal
    }

    fn greater_than(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v.compare(c) == Ordering::Greater;
        }
        if v.major > c.major {
            return true;
        } else if v.major < c.major || self.minor_dirty {
            return false;
        } else if self.patch_dirty {
            return v.minor > c.minor;
        }
        v.compare(c) == Ordering::Greater
    }

    fn less_than_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v.compare(c) != Ordering::Greater;
        }
        if v.major > c.major {
            return false;
        }
        if v.major == c.major && v.minor > c.minor && !self.minor_dirty {
            return false;
        }
        true
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        if v.minor != c.minor && !self.minor_dirty {
            return false;
        }
        true
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if c.major == 0 && v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if c.minor == 0 && v.minor > 0 {
            return false;
        }
        c.patch == v.patch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(c: &str, v: &str) -> bool {
        Constraints::parse(c)
            .unwrap()
            .check(&Version::parse(v).unwrap())
    }

    /// Texts over the characters the patterns care about, from a fixed seed.
    fn random_texts(seed: u64, count: usize) -> impl Iterator<Item = String> {
        const ALPHABET: &[u8] = b"0123456789...--++vxX*|<>=!~^, \t\nab";
        let mut state = seed;
        (0..count).map(move |_| {
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let len = (next() % 14) as usize;
            (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize] as char)
                .collect()
        })
    }

    #[test]
    fn the_version_scan_is_the_regex_match() {
        let texts = random_texts(0x2545_f491_4f6c_dd1d, 200_000).chain(
            [
                "1.2.3-rc.1+build.5",
                "v1",
                "1.2-a-b",
                "1.2.3.4",
                "1.-",
                "01.2",
            ]
            .map(String::from),
        );
        let mut matched = 0;
        for text in texts {
            let by_regex = version_regex().captures(&text).map(|c| {
                let get = |i: usize| c.get(i).map_or("", |m| m.as_str()).to_string();
                [get(1), get(2), get(3), get(5), get(8)]
            });
            let by_scan = scan_version(&text, false)
                .filter(|p| p.len == text.len())
                .map(|p| [p.major, p.minor, p.patch, p.pre, p.metadata].map(String::from));
            assert_eq!(by_scan, by_regex, "{text:?}");
            matched += usize::from(by_scan.is_some());
        }
        assert!(matched > 1_000, "only {matched} texts were versions");
    }

    #[test]
    fn one_comparison_constraints_parse_as_the_regexes_do() {
        let texts = random_texts(0x9e37_79b9_7f4a_7c15, 200_000).chain(
            [
                ">=1.19-0",
                " ^ 1.2.x ",
                "~>1.2",
                "=>1",
                "v1.2.3",
                "1.2.3 - 2",
                ">1 <2",
                "x",
                "1|2",
            ]
            .map(String::from),
        );
        let mut fast = 0;
        for text in texts {
            if let Some((op, version)) = single_constraint(&text) {
                fast += 1;
                let scanned = constraint_from(op, &version).map(|c| Constraints {
                    groups: vec![vec![c]],
                });
                assert_eq!(scanned, Constraints::parse_with_regexes(&text), "{text:?}");
            }
        }
        assert!(
            fast > 1_000,
            "only {fast} texts took the single-comparison path"
        );
    }

    #[test]
    fn constraints_follow_masterminds() {
        assert!(check("^1.2.0", "1.2.3"));
        assert!(!check("^1.2.0", "2.0.0"));
        assert!(check("~1.2", "1.2.9"));
        assert!(!check("~1.2", "1.3.0"));
        assert!(check(">=1.19.0-0", "1.20.0-gke.100"));
        assert!(!check(">=1.19.0", "1.20.0-gke.100"));
        assert!(check("1.2 - 1.4.5", "1.3.0"));
        assert!(check(">1.0 <3 || =5", "5.0.0"));
        assert!(check("1.2.x", "1.2.7"));
        assert!(check("*", "3.1.0"));
        assert!(check(">= 1.2, < 2.0", "1.5.0"));
        assert!(!check("!=1.2.3", "1.2.3"));
        assert!(Version::parse("badVersion").is_err());
        assert!(Constraints::parse("nonsense").is_err());
    }

    // Expected texts are helm v4.1.4's (Masterminds/semver as Helm builds it).
    #[test]
    fn errors_are_worded_as_helms_semver() {
        let err = |v: &str| Version::parse(v).unwrap_err();
        assert_eq!(
            err("99999999999999999999.0.0"),
            "error parsing version segment: strconv.ParseUint: parsing \"99999999999999999999\": value out of range"
        );
        assert_eq!(err("1.2.3-01"), "version segment starts with 0");
        assert_eq!(err("1.2.3-beta!"), "invalid semantic version");
        let err = |c: &str| Constraints::parse(c).err().unwrap();
        assert_eq!(err("!=1.2.3-01"), "constraint parser error");
        assert_eq!(err(">=1.2.3-beta.01"), "constraint parser error");
        assert_eq!(err("1.2.3 - x.y"), "improper constraint: >= 1.2.3, <= x .y");
        assert_eq!(err("^1.2.3 || ~a"), "improper constraint:  ~a");
    }

    #[test]
    fn versions_compare_with_prerelease() {
        let a = Version::parse("1.2.3-beta.1+c0ff33").unwrap();
        assert_eq!(a.canonical(), "1.2.3-beta.1+c0ff33");
        assert_eq!(a.pre, "beta.1");
        let b = Version::parse("1.2.3").unwrap();
        assert_eq!(a.compare(&b), Ordering::Less);
        assert_eq!(Version::parse("v1.2").unwrap().canonical(), "1.2.0");
    }
}
