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
        let constraint = Constraints::parse(&args::string(&a[0])?)?;
        let version = Version::parse(&args::string(&a[1])?)?;
        Ok(Value::Bool(constraint.check(&version)))
    });
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

const VERSION_PATTERN: &str = r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const WILDCARD_VERSION_PATTERN: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";

fn version_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!("^{VERSION_PATTERN}$")).expect("static version pattern compiles")
    })
}

impl Version {
    /// `semver.NewVersion`.
    pub fn parse(s: &str) -> Result<Version, String> {
        let caps = version_regex()
            .captures(s)
            .ok_or_else(|| "invalid semantic version".to_string())?;
        let num = |i: usize| -> Result<u64, String> {
            match caps.get(i) {
                None => Ok(0),
                Some(m) => {
                    let digits = m.as_str().trim_start_matches('.');
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
                }
            }
        };
        let pre = caps
            .get(5)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        for part in pre.split('.').filter(|_| !pre.is_empty()) {
            if part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit()) {
                return Err("version segment starts with 0".into());
            }
        }
        Ok(Version {
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre,
            metadata: caps
                .get(8)
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
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
#[derive(Debug, Clone)]
struct Constraint {
    op: String,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// `semver.Constraints`: alternatives (`||`) of conjunctions.
#[derive(Debug)]
pub struct Constraints {
    groups: Vec<Vec<Constraint>>,
}

const OPS: &str = r"!=|>=|=>|<=|=<|~>|>|<|=|~|\^|";

fn constraint_regexes() -> &'static (Regex, Regex, Regex, Regex) {
    static RE: OnceLock<(Regex, Regex, Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        let cv = WILDCARD_VERSION_PATTERN;
        let one = Regex::new(&format!(r"^\s*({OPS})\s*({cv})\s*$")).expect("pattern compiles");
        let find = Regex::new(&format!(r"({OPS})\s*({cv})")).expect("pattern compiles");
        let range = Regex::new(&format!(r"\s*({cv})\s+-\s+({cv})\s*")).expect("pattern compiles");
        let valid =
            Regex::new(&format!(r"^(\s*({OPS})\s*({cv})\s*,?)+$")).expect("pattern compiles");
        (one, find, range, valid)
    })
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraints {
    /// `semver.NewConstraint`.
    pub fn parse(s: &str) -> Result<Constraints, String> {
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
    let get = |i: usize| m.get(i).map(|x| x.as_str()).unwrap_or("");
    let (major, minor, patch) = (get(3), get(4), get(5));
    let tail = &get(2)[get(2).find(['-', '+']).unwrap_or(get(2).len())..];
    let tail = if major.is_empty() { "" } else { tail };
    let (mut ver, mut minor_dirty, mut patch_dirty, mut dirty) =
        (get(2).to_string(), false, false, false);
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
        op: get(1).to_string(),
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
