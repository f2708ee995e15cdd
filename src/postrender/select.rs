//! Which rendered objects a patch's `target` selects, as kustomize decides it: group, version,
//! kind, name and namespace are regular expressions matched against the whole value, and
//! `labelSelector`/`annotationSelector` use the Kubernetes label selector syntax.

use super::Object;
use crate::api::PatchSelector;
use regex::Regex;
use serde_json::Value as Json;

/// A compiled `target`.
pub struct Selector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Vec<Requirement>,
    annotations: Vec<Requirement>,
}

impl Selector {
    /// Compiles `target`; the error names the field.
    pub fn new(target: &PatchSelector) -> Result<Selector, String> {
        let regex = |field: &str, value: &Option<String>| -> Result<Option<Regex>, String> {
            match value.as_deref() {
                None | Some("") => Ok(None),
                Some(v) => Regex::new(&format!("^(?:{v})$"))
                    .map(Some)
                    .map_err(|e| format!("target.{field} {v:?} is not a regular expression: {e}")),
            }
        };
        let requirements = |field: &str, value: &Option<String>| match value.as_deref() {
            None => Ok(Vec::new()),
            Some(s) => parse_selector(s).map_err(|e| format!("target.{field} {s:?}: {e}")),
        };
        Ok(Selector {
            group: regex("group", &target.group)?,
            version: regex("version", &target.version)?,
            kind: regex("kind", &target.kind)?,
            name: regex("name", &target.name)?,
            namespace: regex("namespace", &target.namespace)?,
            labels: requirements("labelSelector", &target.label_selector)?,
            annotations: requirements("annotationSelector", &target.annotation_selector)?,
        })
    }

    /// Whether `object` is selected; `release_namespace` stands in for a missing namespace.
    pub fn selects(&self, object: &Object, release_namespace: &str) -> bool {
        let is = |re: &Option<Regex>, value: &str| re.as_ref().is_none_or(|re| re.is_match(value));
        let namespace = object.namespace().unwrap_or(release_namespace);
        is(&self.group, &object.group)
            && is(&self.version, &object.version)
            && is(&self.kind, &object.kind)
            && is(&self.name, &object.name)
            && is(&self.namespace, namespace)
            && self
                .labels
                .iter()
                .all(|r| r.matches(object.value["metadata"].get("labels")))
            && self
                .annotations
                .iter()
                .all(|r| r.matches(object.value["metadata"].get("annotations")))
    }
}

/// One requirement of a label selector.
#[derive(Debug, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Requirement {
    fn matches(&self, map: Option<&Json>) -> bool {
        let get = |k: &str| map.and_then(|m| m.get(k)).and_then(Json::as_str);
        match self {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        }
    }
}

/// Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h` (also `==`), as `labels.Parse` does.
fn parse_selector(s: &str) -> Result<Vec<Requirement>, String> {
    let mut out = Vec::new();
    for part in split_top_level(s)? {
        let part = part.trim();
        if part.is_empty() {
            return Err("empty requirement".into());
        }
        let req = if let Some(key) = part.strip_prefix('!') {
            Requirement::NotExists(key_of(key)?)
        } else if let Some((k, v)) = part.split_once("!=") {
            Requirement::NotEquals(key_of(k)?, v.trim().to_owned())
        } else if let Some((k, v)) = part.split_once("==") {
            Requirement::Equals(key_of(k)?, v.trim().to_owned())
        } else if let Some((k, v)) = part.split_once('=') {
            Requirement::Equals(key_of(k)?, v.trim().to_owned())
        } else if let Some((k, set)) = set_requirement(part, " notin ")? {
            Requirement::NotIn(k, set)
        } else if let Some((k, set)) = set_requirement(part, " in ")? {
            Requirement::In(k, set)
        } else {
            Requirement::Exists(key_of(part)?)
        };
        out.push(req);
    }
    Ok(out)
}

fn key_of(k: &str) -> Result<String, String> {
    let k = k.trim();
    if k.is_empty() || k.contains(char::is_whitespace) {
        return Err(format!("{k:?} is not a label key"));
    }
    Ok(k.to_owned())
}

fn set_requirement(part: &str, op: &str) -> Result<Option<(String, Vec<String>)>, String> {
    let Some((k, rest)) = part.split_once(op) else {
        return Ok(None);
    };
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("{rest:?}: a set must be in parentheses, e.g. (a,b)"))?;
    let values = inner.split(',').map(|v| v.trim().to_owned()).collect();
    Ok(Some((key_of(k)?, values)))
}

/// Splits on commas outside parentheses.
fn split_top_level(s: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err("unbalanced parentheses".into());
        }
    }
    if depth != 0 {
        return Err("unbalanced parentheses".into());
    }
    parts.push(&s[start..]);
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_parse_and_match() {
        let reqs = parse_selector("app=web, tier in (a, b),!legacy,env!=dev,owner").unwrap();
        assert_eq!(reqs.len(), 5);
        let labels = json!({"app": "web", "tier": "b", "env": "prod", "owner": "x"});
        assert!(reqs.iter().all(|r| r.matches(Some(&labels))));
        let other = json!({"app": "web", "tier": "c", "owner": "x"});
        assert!(!reqs.iter().all(|r| r.matches(Some(&other))));
        assert!(parse_selector("a in b").is_err());
        assert!(parse_selector("a=b,,c").is_err());
        assert!(
            parse_selector("a notin (x)").unwrap()[0].matches(None),
            "notin matches a missing label"
        );
    }
}
