//! What tests steer and observe: injected faults (fail the next N matching requests), admission
//! style rejections, and request/write statistics.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::errors::{ApiError, reason_for};

/// A predicate on an object.
pub type ObjectPredicate = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// Selects requests by Kubernetes verb (`get`, `list`, `watch`, `create`, `update`, `patch`,
/// `delete`, `deletecollection`), resource (`deployments`, `deployments/status`), name,
/// namespace, and optionally a predicate on the object being written.
#[derive(Clone, Default)]
pub struct Matcher {
    pub verb: Option<String>,
    pub resource: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub object: Option<ObjectPredicate>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("verb", &self.verb)
            .field("resource", &self.resource)
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl Matcher {
    /// `verb` and `resource` may be `"*"` for any.
    pub fn new(verb: &str, resource: &str) -> Self {
        let any = |s: &str| if s == "*" { None } else { Some(s.to_string()) };
        Matcher {
            verb: any(verb),
            resource: any(resource),
            ..Default::default()
        }
    }

    pub fn any() -> Self {
        Matcher::default()
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn namespace(mut self, ns: &str) -> Self {
        self.namespace = Some(ns.into());
        self
    }

    /// Matches only writes whose object (the body, or the result of a patch) satisfies `f`.
    pub fn object(mut self, f: impl Fn(&Value) -> bool + Send + Sync + 'static) -> Self {
        self.object = Some(Arc::new(f));
        self
    }

    pub fn matches(&self, r: &RequestFacts<'_>) -> bool {
        let eq = |want: &Option<String>, got: &str| want.as_deref().is_none_or(|w| w == got);
        eq(&self.verb, r.verb)
            && eq(&self.resource, r.resource)
            && eq(&self.name, r.name)
            && eq(&self.namespace, r.namespace)
            && match (&self.object, r.object) {
                (None, _) => true,
                (Some(f), Some(o)) => f(o),
                (Some(_), None) => false,
            }
    }
}

/// What a matcher looks at.
pub struct RequestFacts<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    /// `plural` or `plural/subresource`.
    pub resource: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
    pub object: Option<&'a Value>,
}

/// Requests by (verb, resource) and writes that changed a stored object, by resource. Resources
/// are plural names without group (`events` counts both Event kinds); verbs are Kubernetes verbs
/// (an apply is a `patch`). The server's own writes (CRD establishment, namespace cleanup) and
/// direct store access are not counted.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub requests: BTreeMap<(String, String), usize>,
    pub writes: BTreeMap<String, usize>,
}

impl Stats {
    /// Requests with this verb on this resource (`deployments`, `deployments/status`).
    pub fn requests(&self, verb: &str, resource: &str) -> usize {
        self.requests
            .get(&(verb.to_string(), resource.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub fn total_requests(&self) -> usize {
        self.requests.values().sum()
    }

    /// Writes that changed an object of this resource (subresource writes count on the resource).
    pub fn writes(&self, resource: &str) -> usize {
        self.writes.get(resource).copied().unwrap_or(0)
    }

    pub fn total_writes(&self) -> usize {
        self.writes.values().sum()
    }
}

struct Fault {
    matcher: Matcher,
    code: u16,
    left: usize,
}

struct Reject {
    matcher: Matcher,
    code: u16,
    message: String,
}

#[derive(Default)]
pub struct Policy {
    faults: Vec<Fault>,
    rejects: Vec<Reject>,
    pub stats: Stats,
}

impl Policy {
    pub fn fail_next(&mut self, matcher: Matcher, code: u16, times: usize) {
        self.faults.push(Fault {
            matcher,
            code,
            left: times,
        });
    }

    pub fn reject(&mut self, matcher: Matcher, code: u16, message: &str) {
        self.rejects.push(Reject {
            matcher,
            code,
            message: message.into(),
        });
    }

    pub fn clear(&mut self) {
        self.faults.clear();
        self.rejects.clear();
    }

    pub fn count_request(&mut self, verb: &str, resource: &str) {
        *self
            .stats
            .requests
            .entry((verb.into(), resource.into()))
            .or_default() += 1;
    }

    pub fn count_write(&mut self, resource: &str) {
        *self.stats.writes.entry(resource.into()).or_default() += 1;
    }

    /// The injected failure for this request, if one is pending (consumes one).
    pub fn fault(&mut self, r: &RequestFacts<'_>) -> Option<ApiError> {
        let fault = self
            .faults
            .iter_mut()
            .find(|f| f.left > 0 && f.matcher.matches(r))?;
        fault.left -= 1;
        let code = fault.code;
        self.faults.retain(|f| f.left > 0);
        let message = match code {
            409 => format!(
                "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                super::errors::qualified(r.group, r.resource.split('/').next().unwrap_or("")),
                r.name
            ),
            429 => "the server has received too many requests and has asked us to try again later".into(),
            500 => "an error on the server (\"injected fault\") has prevented the request from succeeding".into(),
            503 => "the server is currently unable to handle the request".into(),
            504 => "the server was unable to return a response in the time allotted, but may still be processing the request".into(),
            _ => format!("injected fault ({code})"),
        };
        let mut err = ApiError::new(code, message);
        err.reason = reason_for(code);
        if matches!(code, 429 | 503 | 504) {
            err = err.with_details(serde_json::json!({"retryAfterSeconds": 1}));
        }
        Some(err)
    }

    /// An admission refusal of this write, if a rule matches.
    pub fn rejection(&self, r: &RequestFacts<'_>) -> Option<ApiError> {
        let rule = self.rejects.iter().find(|x| x.matcher.matches(r))?;
        Some(ApiError::new(
            rule.code,
            format!(
                "admission webhook \"double.test\" denied the request: {}",
                rule.message
            ),
        ))
    }
}
