//! Sprig's `urlParse` and `urlJoin`, following Go's `net/url` parsing into scheme, userinfo,
//! host, path, query and fragment, and its `URL.String` escaping when joining.

use std::collections::BTreeMap;

use super::args;
use super::fixed;
use crate::value::{FuncMap, Value};

pub(super) fn register(m: &mut FuncMap) {
    fixed(m, "urlParse", 1, |a| {
        let s = args::string(&a[0])?;
        let u = parse(&s)
            .map_err(|e| format!("unable to parse url: parse {}: {e}", crate::fmt::quote(&s)))?;
        let mut d = BTreeMap::new();
        let hostname = hostname(&u.host);
        d.insert("scheme".into(), Value::from(u.scheme));
        d.insert("host".into(), Value::from(u.host));
        d.insert("hostname".into(), Value::from(hostname));
        d.insert("path".into(), Value::from(u.path));
        d.insert("query".into(), Value::from(u.query));
        d.insert("opaque".into(), Value::from(u.opaque));
        d.insert("fragment".into(), Value::from(u.fragment));
        d.insert(
            "userinfo".into(),
            Value::from(u.userinfo.unwrap_or_default()),
        );
        Ok(Value::map(d))
    });
    fixed(m, "urlJoin", 1, |a| {
        let d = args::map(&a[0])?;
        let d = d.borrow();
        let get = |key: &str| -> Result<String, String> {
            match d.get(key) {
                None => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.to_string()),
                Some(other) => Err(format!(
                    "unable to parse {key} key, must be of type string, but {} found",
                    other.type_name()
                )),
            }
        };
        let userinfo = get("userinfo")?;
        let u = Url {
            scheme: get("scheme")?,
            host: get("host")?,
            path: get("path")?,
            query: get("query")?,
            opaque: get("opaque")?,
            fragment: get("fragment")?,
            userinfo: if userinfo.is_empty() {
                None
            } else {
                Some(escape_userinfo(&userinfo))
            },
        };
        Ok(u.to_go_string().into())
    });
}

/// The parts of a URL as Go's `url.URL` holds them (userinfo already in its escaped form).
#[derive(Debug, Default)]
struct Url {
    scheme: String,
    opaque: String,
    userinfo: Option<String>,
    host: String,
    path: String,
    query: String,
    fragment: String,
}

fn parse(raw: &str) -> Result<Url, String> {
    let mut u = Url::default();
    let (rest, fragment) = match raw.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (raw, None),
    };
    u.fragment = unescape(fragment.unwrap_or(""))?;
    // Scheme: a letter, then letters, digits, + - . up to ':'.
    let mut rest = rest;
    if let Some(colon) = rest.find(':') {
        let candidate = &rest[..colon];
        let valid = candidate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if colon == 0 {
            return Err("missing protocol scheme".into());
        }
        if valid {
            u.scheme = candidate.to_ascii_lowercase();
            rest = &rest[colon + 1..];
        }
    }
    if let Some((r, q)) = rest.split_once('?') {
        u.query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') && !u.scheme.is_empty() {
        u.opaque = rest.to_string();
        return Ok(u);
    }
    if rest.starts_with("//") && (!u.scheme.is_empty() || !rest.starts_with("///")) {
        let authority_and_path = &rest[2..];
        let (authority, path) = match authority_and_path.find('/') {
            Some(i) => authority_and_path.split_at(i),
            None => (authority_and_path, ""),
        };
        match authority.rfind('@') {
            Some(i) => {
                u.userinfo = Some(authority[..i].to_string());
                u.host = authority[i + 1..].to_string();
            }
            None => u.host = authority.to_string(),
        }
        rest = path;
    }
    u.path = unescape(rest)?;
    Ok(u)
}

fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).filter(|h| h.len() == 2);
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(v) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                None => {
                    let bad: String = s[i..].chars().take(3).collect();
                    return Err(format!("invalid URL escape \"{bad}\""));
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `URL.Hostname`: the host without its port, IPv6 brackets removed.
fn hostname(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    match host.rfind(':') {
        Some(i) => host[..i].to_string(),
        None => host.to_string(),
    }
}

/// Percent-encodes every byte `keep` rejects, as Go's `url.escape` does.
fn escape(s: &str, keep: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn escape_userinfo(userinfo: &str) -> String {
    let keep = |b: u8| b"$&+,;=!*'()".contains(&b);
    match userinfo.split_once(':') {
        Some((user, pass)) => format!("{}:{}", escape(user, keep), escape(pass, keep)),
        None => escape(userinfo, keep),
    }
}

impl Url {
    /// Go's `URL.String`.
    fn to_go_string(&self) -> String {
        let mut out = String::new();
        if !self.scheme.is_empty() {
            out.push_str(&self.scheme);
            out.push(':');
        }
        if !self.opaque.is_empty() {
            out.push_str(&self.opaque);
        } else {
            if !self.scheme.is_empty() || !self.host.is_empty() || self.userinfo.is_some() {
                if !self.host.is_empty() || !self.path.is_empty() || self.userinfo.is_some() {
                    out.push_str("//");
                }
                if let Some(ui) = &self.userinfo {
                    out.push_str(ui);
                    out.push('@');
                }
                out.push_str(&escape(&self.host, |b| b"!$&'()*+,;=:[]<>\"".contains(&b)));
            }
            let path = escape(&self.path, |b| b"$&+,/:;=@".contains(&b));
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                out.push('/');
            }
            if out.is_empty() && path.split('/').next().is_some_and(|s| s.contains(':')) {
                out.push_str("./");
            }
            out.push_str(&path);
        }
        if !self.query.is_empty() {
            out.push('?');
            out.push_str(&self.query);
        }
        if !self.fragment.is_empty() {
            out.push('#');
            out.push_str(&escape(&self.fragment, |b| b"$&+,/:;=?@!()*".contains(&b)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_joins_like_net_url() {
        let u = parse("proto://auth@host:80/path?query#fragment").unwrap();
        assert_eq!(u.host, "host:80");
        assert_eq!(u.userinfo.as_deref(), Some("auth"));
        assert_eq!(u.path, "/path");
        assert_eq!(u.to_go_string(), "proto://auth@host:80/path?query#fragment");
        assert_eq!(hostname("host:80"), "host");
    }
}
