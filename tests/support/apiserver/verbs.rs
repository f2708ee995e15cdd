//! The verbs on stored objects — get, list, create, update, patch (merge, JSON, strategic,
//! apply), delete, deletecollection — with a real server's preconditions, metadata handling,
//! generation bumps, no-op detection, finalizers, dry-run and admission refusals. CRD writes
//! register their kinds here too.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::auth::UserInfo;
use super::discovery::KindSpec;
use super::errors::ApiError;
use super::patch;
use super::policy::RequestFacts;
use super::select::{FieldSelector, LabelSelector};
use super::ssa::{self, Schema, Scope, Writer};
use super::store::{ObjKey, State};
use super::validate;

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The object as served in `kind`'s version (conversion between versions is trivial here).
pub fn as_version(obj: &Value, kind: &KindSpec) -> Value {
    let mut o = obj.clone();
    o["apiVersion"] = json!(kind.api_version());
    o["kind"] = json!(kind.kind);
    o
}

/// The metadata-only form a client asks for with `Accept: ...;as=PartialObjectMetadata`.
pub fn partial(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
}

/// A list in metadata-only form.
pub fn partial_list(list: &Value) -> Value {
    let items: Vec<Value> = list["items"]
        .as_array()
        .map(|a| a.iter().map(partial).collect())
        .unwrap_or_default();
    json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": list["metadata"], "items": items})
}

/// Query parameters.
#[derive(Debug, Default, Clone)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(q: Option<&str>) -> Self {
        Query(
            url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }
}

/// One request on a resource.
pub struct Ctx<'a> {
    /// The Kubernetes verb (create, update, patch, delete, ...).
    pub verb: String,
    pub kind: KindSpec,
    /// Empty for cluster-scoped kinds and all-namespace lists.
    pub namespace: String,
    pub name: String,
    /// Empty or `status`.
    pub subresource: String,
    pub query: &'a Query,
    pub user: &'a UserInfo,
    pub user_agent: &'a str,
}

impl Ctx<'_> {
    pub(super) fn key(&self, name: &str) -> ObjKey {
        ObjKey::new(&self.kind, &self.namespace, name)
    }

    pub(super) fn dry_run(&self) -> bool {
        self.query.get("dryRun").is_some()
    }

    fn scope(&self) -> Scope {
        if self.subresource == "status" {
            Scope::Status
        } else {
            Scope::Main {
                status_subresource: self.kind.status,
            }
        }
    }

    fn resource_label(&self) -> String {
        if self.subresource.is_empty() {
            self.kind.plural.clone()
        } else {
            format!("{}/{}", self.kind.plural, self.subresource)
        }
    }

    /// The manager of a non-apply write: `fieldManager`, else the User-Agent's first part.
    fn manager(&self) -> String {
        match self.query.get("fieldManager") {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => self
                .user_agent
                .split('/')
                .next()
                .unwrap_or("unknown")
                .to_string(),
        }
    }

    pub(super) fn not_found(&self, name: &str) -> ApiError {
        ApiError::not_found(&self.kind.group, &self.kind.plural, name)
    }
}

fn selectors(ctx: &Ctx<'_>) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(ctx.query.get("fieldSelector").unwrap_or(""), &ctx.kind)?;
    Ok((labels, fields))
}

pub fn get(state: &State, ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    let obj = state
        .objects
        .get(&ctx.key(&ctx.name))
        .ok_or_else(|| ctx.not_found(&ctx.name))?;
    Ok(as_version(obj, &ctx.kind))
}

/// Pages (`limit`/`continue`) cut the current state: unlike a real server, later pages are not
/// a snapshot of the first page's resourceVersion.
pub fn list(state: &State, ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    let (labels, fields) = selectors(ctx)?;
    let after = continue_after(ctx)?;
    let items: Vec<Value> = state
        .objects_of(&ctx.kind, &ctx.namespace)
        .filter(|(_, o)| labels.matches(o) && fields.matches(o))
        .filter(|(k, _)| {
            after
                .as_ref()
                .is_none_or(|a| (&k.namespace, &k.name) > (&a.0, &a.1))
        })
        .map(|(_, o)| as_version(o, &ctx.kind))
        .collect();
    let mut metadata = json!({"resourceVersion": state.rv.to_string()});
    let limit = ctx
        .query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0);
    let mut items = items;
    if limit > 0 && items.len() > limit {
        let rest = items.split_off(limit);
        let last = &items[limit - 1]["metadata"];
        let token = format!(
            "{}/{}",
            last["namespace"].as_str().unwrap_or(""),
            last["name"].as_str().unwrap_or("")
        );
        metadata["continue"] = json!(B64.encode(token));
        metadata["remainingItemCount"] = json!(rest.len());
    }
    Ok(json!({
        "kind": format!("{}List", ctx.kind.kind),
        "apiVersion": ctx.kind.api_version(),
        "metadata": metadata,
        "items": items,
    }))
}

/// The (namespace, name) a `continue` token resumes after.
fn continue_after(ctx: &Ctx<'_>) -> Result<Option<(String, String)>, ApiError> {
    let Some(token) = ctx.query.get("continue").filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let decoded = B64.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (ns, name) = text.split_once('/').ok_or_else(bad)?;
    Ok(Some((ns.to_string(), name.to_string())))
}

/// Body apiVersion/kind must name the URL's kind; the body namespace must be the URL's.
fn check_body(ctx: &Ctx<'_>, body: &mut Value) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    let want = ctx.kind.api_version();
    match body["apiVersion"].as_str() {
        Some(v) if v != want => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({want})"
            )));
        }
        _ => body["apiVersion"] = json!(want),
    }
    match body["kind"].as_str() {
        Some(k) if k != ctx.kind.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                ctx.kind.kind
            )));
        }
        _ => body["kind"] = json!(ctx.kind.kind),
    }
    if !body["metadata"].is_object() {
        body["metadata"] = json!({});
    }
    if ctx.kind.namespaced {
        match body["metadata"]["namespace"].as_str() {
            Some(ns) if !ns.is_empty() && ns != ctx.namespace => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => body["metadata"]["namespace"] = json!(ctx.namespace),
        }
    } else if let Some(m) = body["metadata"].as_object_mut() {
        m.remove("namespace");
    }
    Ok(())
}

fn check_namespace(state: &State, ctx: &Ctx<'_>) -> Result<(), ApiError> {
    if !ctx.kind.namespaced {
        return Ok(());
    }
    let ns_key = ObjKey {
        group: String::new(),
        plural: "namespaces".into(),
        namespace: String::new(),
        name: ctx.namespace.clone(),
    };
    match state.objects.get(&ns_key) {
        None => Err(ApiError::not_found("", "namespaces", &ctx.namespace)),
        Some(ns) if !ns["metadata"]["deletionTimestamp"].is_null() => Err(ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {} because it is being terminated",
                super::errors::qualified(&ctx.kind.group, &ctx.kind.plural),
                ctx.name,
                ctx.namespace
            ),
            details: Some(json!({"name": ctx.name, "kind": ctx.kind.plural})),
        }),
        Some(_) => Ok(()),
    }
}

pub(super) fn admission(
    state: &State,
    ctx: &Ctx<'_>,
    verb: &str,
    name: &str,
    obj: &Value,
) -> Result<(), ApiError> {
    let resource = ctx.resource_label();
    let facts = RequestFacts {
        verb,
        group: &ctx.kind.group,
        resource: &resource,
        name,
        namespace: &ctx.namespace,
        object: Some(obj),
    };
    match state.policy.rejection(&facts) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The part of an object whose change bumps metadata.generation.
fn spec_part(obj: &Value, kind: &KindSpec) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
        m.remove("apiVersion");
        m.remove("kind");
        if kind.status {
            m.remove("status");
        }
    }
    o
}

/// The object without what every write changes (resourceVersion, managedFields times): when
/// these are equal before and after a write, it is a no-op and a real server stores nothing.
fn without_volatile(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(meta) = o["metadata"].as_object_mut() {
        meta.remove("resourceVersion");
        if let Some(Value::Array(entries)) = meta.get_mut("managedFields") {
            for e in entries {
                if let Some(e) = e.as_object_mut() {
                    e.remove("time");
                }
            }
        }
    }
    o
}

fn finalizers(obj: &Value) -> Vec<Value> {
    obj["metadata"]["finalizers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Stores the result of a write (unless dry-run or a no-op) and counts it.
fn commit(
    state: &mut State,
    ctx: &Ctx<'_>,
    old: Option<&Value>,
    mut new: Value,
) -> Result<Value, ApiError> {
    validate::normalize(&ctx.kind, &mut new)?;
    validate::validate(&ctx.kind, &new)?;
    if let Some(old) = old {
        validate::validate_update(&ctx.kind, old, &new)?;
    }
    let name = new["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    admission(state, ctx, &ctx.verb, &name, &new)?;
    if let Some(old) = old {
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
        let bump = spec_part(old, &ctx.kind) != spec_part(&new, &ctx.kind);
        new["metadata"]["generation"] = json!(if bump { generation + 1 } else { generation });
        if without_volatile(old) == without_volatile(&new) {
            return Ok(as_version(old, &ctx.kind));
        }
        if !old["metadata"]["deletionTimestamp"].is_null() {
            let before = finalizers(old);
            let after = finalizers(&new);
            let added: Vec<String> = after
                .iter()
                .filter(|f| !before.contains(f))
                .map(|f| f.to_string())
                .collect();
            if !added.is_empty() {
                let detail = format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    added.join(", ")
                );
                let cause = super::errors::Cause::forbidden("metadata.finalizers", &detail);
                return Err(ApiError::invalid(
                    &ctx.kind.group,
                    &ctx.kind.kind,
                    &name,
                    vec![cause],
                ));
            }
            if after.is_empty() {
                // The last finalizer is gone: the deletion completes.
                if ctx.dry_run() {
                    return Ok(as_version(&new, &ctx.kind));
                }
                state.policy.count_write(&ctx.kind.plural);
                let removed = state.write(&ctx.key(&name), None);
                super::delete::after_removal(state, &ctx.kind, &removed);
                return Ok(as_version(&removed, &ctx.kind));
            }
        }
    }
    if ctx.dry_run() {
        return Ok(as_version(&new, &ctx.kind));
    }
    state.policy.count_write(&ctx.kind.plural);
    let stored = state.write(&ctx.key(&name), Some(new));
    if is_crd(&ctx.kind) {
        super::crd::crd_written(state, &stored);
    }
    Ok(as_version(&stored, &ctx.kind))
}

pub(super) fn is_crd(kind: &KindSpec) -> bool {
    kind.group == "apiextensions.k8s.io" && kind.kind == "CustomResourceDefinition"
}

/// Fills what a server sets on create and records the creating manager.
fn prepare_create(
    state: &mut State,
    ctx: &Ctx<'_>,
    mut obj: Value,
    manager_entry: bool,
) -> Result<Value, ApiError> {
    let meta = obj["metadata"]
        .as_object_mut()
        .expect("check_body made metadata an object");
    for f in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "selfLink",
    ] {
        meta.remove(f);
    }
    if meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        match meta.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => {
                let prefix = prefix.to_string();
                let name = format!("{prefix}{}", state.name_suffix());
                obj["metadata"]["name"] = json!(name);
            }
            _ => {
                return Err(ApiError::invalid(
                    &ctx.kind.group,
                    &ctx.kind.kind,
                    "",
                    vec![super::errors::Cause::required(
                        "metadata.name",
                        "name or generateName is required",
                    )],
                ));
            }
        }
    }
    let uid = state.new_uid();
    let meta = obj["metadata"].as_object_mut().expect("metadata object");
    meta.insert("uid".into(), json!(uid));
    meta.insert("creationTimestamp".into(), json!(now()));
    meta.insert("generation".into(), json!(1));
    if ctx.kind.status
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    if ctx.kind.group.is_empty() && ctx.kind.kind == "Namespace" {
        obj["status"] = json!({"phase": "Active"});
    }
    if manager_entry {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
        let manager = ctx.manager();
        let api_version = ctx.kind.api_version();
        let now = now();
        let w = Writer {
            manager: &manager,
            api_version: &api_version,
            subresource: "",
            now: &now,
        };
        ssa::record_update(None, &mut obj, &Schema { kind: &ctx.kind }, ctx.scope(), &w);
    }
    Ok(obj)
}

pub fn create(state: &mut State, ctx: &Ctx<'_>, mut body: Value) -> Result<(u16, Value), ApiError> {
    check_body(ctx, &mut body)?;
    check_namespace(state, ctx)?;
    let obj = prepare_create(state, ctx, body, true)?;
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if state.objects.contains_key(&ctx.key(&name)) {
        return Err(ApiError::already_exists(
            &ctx.kind.group,
            &ctx.kind.plural,
            &name,
        ));
    }
    Ok((201, commit(state, ctx, None, obj)?))
}

/// Optimistic concurrency: a write that names a `metadata.resourceVersion` must name `old`'s.
fn check_resource_version(ctx: &Ctx<'_>, body: &Value, old: &Value) -> Result<(), ApiError> {
    if let Some(rv) = body["metadata"]["resourceVersion"].as_str()
        && !rv.is_empty()
        && Some(rv) != old["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::stale(
            &ctx.kind.group,
            &ctx.kind.plural,
            &ctx.name,
        ));
    }
    Ok(())
}

/// A full replacement (PUT, or the result of a non-apply patch) of the object at ctx.name.
fn replace(state: &mut State, ctx: &Ctx<'_>, mut body: Value) -> Result<Value, ApiError> {
    check_body(ctx, &mut body)?;
    let body_name = body["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if body_name != ctx.name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            ctx.name
        )));
    }
    let old = state
        .objects
        .get(&ctx.key(&ctx.name))
        .cloned()
        .ok_or_else(|| ctx.not_found(&ctx.name))?;
    check_resource_version(ctx, &body, &old)?;
    // A write that sets managedFields replaces them (how ownership is transferred between field
    // managers); an empty list leaves them as they were, as on a real server.
    let mut base = old.clone();
    if let Some(list) = body["metadata"]["managedFields"]
        .as_array()
        .filter(|l| !l.is_empty())
    {
        base["metadata"]["managedFields"] = Value::Array(list.clone());
    }
    let mut new = match ctx.scope() {
        Scope::Status => {
            let mut n = old.clone();
            n["status"] = body.get("status").cloned().unwrap_or(Value::Null);
            if n["status"].is_null()
                && let Some(m) = n.as_object_mut()
            {
                m.remove("status");
            }
            n
        }
        Scope::Main { status_subresource } => {
            let mut n = body;
            for f in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "managedFields",
                "resourceVersion",
            ] {
                match old["metadata"].get(f) {
                    Some(v) => n["metadata"][f] = v.clone(),
                    None => {
                        if let Some(m) = n["metadata"].as_object_mut() {
                            m.remove(f);
                        }
                    }
                }
            }
            if status_subresource && let Some(m) = n.as_object_mut() {
                match old.get("status") {
                    Some(s) => m.insert("status".into(), s.clone()),
                    None => m.remove("status"),
                };
            }
            n
        }
    };
    let manager = ctx.manager();
    let api_version = ctx.kind.api_version();
    let now = now();
    let w = Writer {
        manager: &manager,
        api_version: &api_version,
        subresource: &ctx.subresource,
        now: &now,
    };
    ssa::record_update(
        Some(&base),
        &mut new,
        &Schema { kind: &ctx.kind },
        ctx.scope(),
        &w,
    );
    commit(state, ctx, Some(&old), new)
}

pub fn update(state: &mut State, ctx: &Ctx<'_>, body: Value) -> Result<(u16, Value), ApiError> {
    Ok((200, replace(state, ctx, body)?))
}

fn parse_body(bytes: &[u8], yaml: bool) -> Result<Value, ApiError> {
    if yaml {
        let text = std::str::from_utf8(bytes).map_err(|e| ApiError::bad_request(e.to_string()))?;
        serde_saphyr::from_str::<Value>(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
    } else {
        serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
    }
}

pub fn patch(
    state: &mut State,
    ctx: &Ctx<'_>,
    content_type: &str,
    bytes: &[u8],
) -> Result<(u16, Value), ApiError> {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    if ct == "application/apply-patch+yaml" {
        return apply(state, ctx, parse_body(bytes, true)?);
    }
    if ctx.query.get("force").is_some() {
        return Err(ApiError::bad_request(
            "force flag must be unset for non-apply patch requests",
        ));
    }
    let body = parse_body(bytes, false)?;
    let old = state
        .objects
        .get(&ctx.key(&ctx.name))
        .cloned()
        .ok_or_else(|| ctx.not_found(&ctx.name))?;
    let mut doc = as_version(&old, &ctx.kind);
    match ct {
        "application/merge-patch+json" => patch::merge_patch(&mut doc, &body),
        "application/json-patch+json" => patch::json_patch(&mut doc, &body)?,
        "application/strategic-merge-patch+json" => {
            patch::strategic_merge_patch(&mut doc, &body, &Schema { kind: &ctx.kind }, &mut vec![])
        }
        other => {
            return Err(ApiError::new(
                415,
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {other:?})"
                ),
            ));
        }
    }
    Ok((200, replace(state, ctx, doc)?))
}

fn apply(state: &mut State, ctx: &Ctx<'_>, mut body: Value) -> Result<(u16, Value), ApiError> {
    let manager = match ctx.query.get("fieldManager") {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => {
            return Err(ApiError::bad_request(
                "PATCH requests for server-side apply must include the fieldManager query parameter (fieldManager is required for apply requests)",
            ));
        }
    };
    check_body(ctx, &mut body)?;
    if !body["metadata"]["managedFields"].is_null() {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    // An applied configuration may leave the name to the URL (common for status applies).
    let body_name = body["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if body_name.is_empty() {
        body["metadata"]["name"] = json!(ctx.name);
    } else if body_name != ctx.name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            ctx.name
        )));
    }
    let old = state.objects.get(&ctx.key(&ctx.name)).cloned();
    if let Some(old) = &old {
        check_resource_version(ctx, &body, old)?;
    }
    let force = ctx.query.flag("force");
    let api_version = ctx.kind.api_version();
    let now = now();
    let w = Writer {
        manager: &manager,
        api_version: &api_version,
        subresource: &ctx.subresource,
        now: &now,
    };
    let schema = Schema { kind: &ctx.kind };
    match old {
        Some(old) => {
            let live = as_version(&old, &ctx.kind);
            let new = ssa::apply(Some(&live), &body, &schema, ctx.scope(), force, &w)?;
            Ok((200, commit(state, ctx, Some(&old), new)?))
        }
        None if ctx.subresource.is_empty() => {
            check_namespace(state, ctx)?;
            let mut new = ssa::apply(None, &body, &schema, ctx.scope(), force, &w)?;
            if ctx.kind.namespaced {
                new["metadata"]["namespace"] = json!(ctx.namespace);
            }
            let managed = new["metadata"]["managedFields"].clone();
            let mut new = prepare_create(state, ctx, new, false)?;
            new["metadata"]["managedFields"] = managed;
            Ok((201, commit(state, ctx, None, new)?))
        }
        None => Err(ctx.not_found(&ctx.name)),
    }
}
