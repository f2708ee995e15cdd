//! DELETE and deletecollection: preconditions, finalizers (deletionTimestamp instead of
//! removal), namespace termination (its objects go, then the namespace), dry-run.

use serde_json::{Value, json};

use super::crd;
use super::discovery::KindSpec;
use super::errors::ApiError;
use super::store::{ObjKey, State};
use super::verbs::{Ctx, admission, as_version, list, now};

/// DELETE of one object: finalizers delay it (deletionTimestamp), else it is removed.
pub fn delete(state: &mut State, ctx: &Ctx<'_>, body: &Value) -> Result<(u16, Value), ApiError> {
    let key = ctx.key(&ctx.name);
    let old = state
        .objects
        .get(&key)
        .cloned()
        .ok_or_else(|| ctx.not_found(&ctx.name))?;
    let pre = &body["preconditions"];
    if let Some(uid) = pre["uid"].as_str()
        && Some(uid) != old["metadata"]["uid"].as_str()
    {
        return Err(ApiError::conflict(
            &ctx.kind.group,
            &ctx.kind.plural,
            &ctx.name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                old["metadata"]["uid"].as_str().unwrap_or("")
            ),
        ));
    }
    if let Some(rv) = pre["resourceVersion"].as_str()
        && Some(rv) != old["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::conflict(
            &ctx.kind.group,
            &ctx.kind.plural,
            &ctx.name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                old["metadata"]["resourceVersion"].as_str().unwrap_or("")
            ),
        ));
    }
    admission(state, ctx, "delete", &ctx.name, &old)?;
    let dry_run = ctx.dry_run() || body["dryRun"].as_array().is_some_and(|a| !a.is_empty());
    let has_finalizers = old["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    let is_namespace = ctx.kind.group.is_empty() && ctx.kind.kind == "Namespace";
    let has_content = is_namespace && state.objects.keys().any(|k| k.namespace == ctx.name);
    if has_finalizers || has_content {
        if !old["metadata"]["deletionTimestamp"].is_null() {
            return Ok((200, as_version(&old, &ctx.kind)));
        }
        let mut new = old.clone();
        new["metadata"]["deletionTimestamp"] = json!(now());
        new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
        new["metadata"]["generation"] = json!(generation + 1);
        if is_namespace {
            new["status"] = json!({"phase": "Terminating"});
        }
        if dry_run {
            return Ok((200, as_version(&new, &ctx.kind)));
        }
        state.policy.count_write(&ctx.kind.plural);
        let stored = state.write(&key, Some(new));
        if is_namespace {
            empty_namespace(state, &ctx.name);
        }
        return Ok((200, as_version(&stored, &ctx.kind)));
    }
    let status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": ctx.name, "group": ctx.kind.group, "kind": ctx.kind.plural, "uid": old["metadata"]["uid"]},
    });
    if dry_run {
        return Ok((200, status));
    }
    state.policy.count_write(&ctx.kind.plural);
    let removed = state.write(&key, None);
    after_removal(state, &ctx.kind, &removed);
    Ok((200, status))
}

/// Deletes every object in a terminating namespace (finalizers hold theirs), then the
/// namespace itself once it is empty.
fn empty_namespace(state: &mut State, ns: &str) {
    let keys: Vec<ObjKey> = state
        .objects
        .keys()
        .filter(|k| k.namespace == ns)
        .cloned()
        .collect();
    for key in keys {
        let Some(obj) = state.objects.get(&key).cloned() else {
            continue;
        };
        if obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
        {
            if obj["metadata"]["deletionTimestamp"].is_null() {
                let mut new = obj;
                new["metadata"]["deletionTimestamp"] = json!(now());
                new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                state.write(&key, Some(new));
            }
        } else {
            state.write(&key, None);
        }
    }
    finish_namespace(state, ns);
}

fn finish_namespace(state: &mut State, ns: &str) {
    let key = ObjKey {
        group: String::new(),
        plural: "namespaces".into(),
        namespace: String::new(),
        name: ns.into(),
    };
    let terminating = state
        .objects
        .get(&key)
        .is_some_and(|o| !o["metadata"]["deletionTimestamp"].is_null());
    if terminating && !state.objects.keys().any(|k| k.namespace == ns) {
        state.write(&key, None);
    }
}

/// Follow-ups of an object's removal: a CRD's objects and kinds go; a terminating namespace
/// that became empty goes.
pub(super) fn after_removal(state: &mut State, kind: &KindSpec, removed: &Value) {
    if super::verbs::is_crd(kind) {
        crd::crd_deleted(state, removed);
    }
    if let Some(ns) = removed["metadata"]["namespace"].as_str() {
        finish_namespace(state, ns);
    }
}

pub fn delete_collection(
    state: &mut State,
    ctx: &Ctx<'_>,
    body: &Value,
) -> Result<(u16, Value), ApiError> {
    let listed = list(state, ctx)?;
    let mut deleted = vec![];
    for item in listed["items"].as_array().cloned().unwrap_or_default() {
        let name = item["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let ns = item["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let one = Ctx {
            verb: "delete".into(),
            kind: ctx.kind.clone(),
            namespace: ns,
            name,
            subresource: String::new(),
            query: ctx.query,
            user: ctx.user,
            user_agent: ctx.user_agent,
        };
        delete(state, &one, body)?;
        deleted.push(item);
    }
    let mut out = listed;
    out["items"] = Value::Array(deleted);
    Ok((200, out))
}
