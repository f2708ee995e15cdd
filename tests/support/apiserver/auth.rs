//! Impersonation (`Impersonate-User`, `Impersonate-Group`) and a flat RBAC-like authorizer:
//! unimpersonated requests are the admin and may do anything; impersonated users may do only
//! what some allow rule grants (like RBAC, deny by default), and are refused with the real
//! Forbidden message.

use std::sync::Arc;

use serde_json::json;

use super::errors::{ApiError, qualified};
use super::store::Shared;

/// Who a request runs as.
#[derive(Clone, Debug)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
    pub admin: bool,
}

impl UserInfo {
    pub fn from_headers(headers: &axum::http::HeaderMap) -> UserInfo {
        let Some(user) = headers
            .get("impersonate-user")
            .and_then(|v| v.to_str().ok())
        else {
            return UserInfo {
                name: "admin".into(),
                groups: vec!["system:masters".into()],
                admin: true,
            };
        };
        let mut groups: Vec<String> = headers
            .get_all("impersonate-group")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect();
        // A real server gives impersonated service accounts their groups when none are named.
        if groups.is_empty()
            && let Some(rest) = user.strip_prefix("system:serviceaccount:")
            && let Some((ns, _)) = rest.split_once(':')
        {
            groups.push("system:serviceaccounts".into());
            groups.push(format!("system:serviceaccounts:{ns}"));
        }
        groups.push("system:authenticated".into());
        UserInfo {
            name: user.to_string(),
            groups,
            admin: false,
        }
    }
}

/// An allow rule; empty lists mean "any". A rule applies to a request when one of `users` or
/// `groups` names the requester (both empty: everyone impersonated).
#[derive(Clone, Debug, Default)]
pub struct Rule {
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    /// `deployments`, `deployments/status`, or `*`.
    pub resources: Vec<String>,
    /// Empty: every namespace and cluster-scoped resources.
    pub namespaces: Vec<String>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Rule {
    /// Allows `user` the `verbs` on `resources` of `api_groups` (use `["*"]` for any).
    pub fn user(user: &str, verbs: &[&str], api_groups: &[&str], resources: &[&str]) -> Self {
        Rule {
            users: vec![user.into()],
            verbs: strings(verbs),
            api_groups: strings(api_groups),
            resources: strings(resources),
            ..Default::default()
        }
    }

    pub fn group(group: &str, verbs: &[&str], api_groups: &[&str], resources: &[&str]) -> Self {
        Rule {
            groups: vec![group.into()],
            verbs: strings(verbs),
            api_groups: strings(api_groups),
            resources: strings(resources),
            ..Default::default()
        }
    }

    /// Restricts the rule to these namespaces (cluster-scoped requests then never match).
    pub fn in_namespaces(mut self, namespaces: &[&str]) -> Self {
        self.namespaces = strings(namespaces);
        self
    }

    fn allows(&self, user: &UserInfo, a: &Attributes<'_>) -> bool {
        let any =
            |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == "*" || x == v);
        let who = (self.users.is_empty() && self.groups.is_empty())
            || self.users.contains(&user.name)
            || self.groups.iter().any(|g| user.groups.contains(g));
        let resource = if a.subresource.is_empty() {
            a.resource.to_string()
        } else {
            format!("{}/{}", a.resource, a.subresource)
        };
        let ns_ok = self.namespaces.is_empty()
            || (!a.namespace.is_empty() && self.namespaces.iter().any(|n| n == a.namespace));
        who && any(&self.verbs, a.verb)
            && any(&self.api_groups, a.group)
            && any(&self.resources, &resource)
            && ns_ok
    }
}

/// What is being asked.
pub struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// Handle to the server's rules.
#[derive(Clone)]
pub struct Authorizer {
    shared: Arc<Shared>,
}

impl Authorizer {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        Authorizer { shared }
    }

    pub fn allow(&self, rule: Rule) {
        self.shared.lock().rules.push(rule);
    }

    /// Allows everything to every impersonated user (like a cluster-admin binding for all).
    pub fn allow_all(&self) {
        self.allow(Rule::default());
    }

    pub fn clear(&self) {
        self.shared.lock().rules.clear();
    }
}

/// `Ok` when allowed, else the Forbidden status a real server answers.
pub fn authorize(rules: &[Rule], user: &UserInfo, a: &Attributes<'_>) -> Result<(), ApiError> {
    if user.admin || rules.iter().any(|r| r.allows(user, a)) {
        return Ok(());
    }
    let resource = if a.subresource.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let subject = if a.name.is_empty() {
        qualified(a.group, a.resource)
    } else {
        format!("{} \"{}\"", qualified(a.group, a.resource), a.name)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", a.namespace)
    };
    let message = format!(
        "{subject} is forbidden: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
        user.name, a.verb, a.group
    );
    let mut details = json!({"kind": a.resource});
    if !a.name.is_empty() {
        details["name"] = json!(a.name);
    }
    if !a.group.is_empty() {
        details["group"] = json!(a.group);
    }
    Err(ApiError {
        code: 403,
        reason: "Forbidden",
        message,
        details: Some(details),
    })
}
