//! HTTP: routes a request to discovery or to a verb on a resource (parsing paths the way a real
//! server's RequestInfo does), and applies, in order, request stats, impersonation and
//! authorization, injected faults, then the verb. Answers JSON only.
//!
//! OpenAPI: `/openapi/v3` lists every group/version, whose documents hold only the PATCH
//! operations with their `fieldValidation` parameter — what kubectl probes to leave validation
//! to the server (which does not check fields: see the module doc). `/openapi/v2` answers 404
//! (`kubectl explain` and client-side validation of `kind: List` files need it).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use super::auth::{Attributes, UserInfo, authorize};
use super::discovery::version_doc;
use super::errors::ApiError;
use super::policy::RequestFacts;
use super::store::Shared;
use super::verbs::{self, Ctx, Query};
use super::{delete, protobuf, watch};

const MAX_BODY: usize = 64 << 20;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

fn json_response(code: u16, value: &Value) -> Response {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(value.to_string()))
        .expect("static response parts")
}

fn error_response(e: &ApiError) -> Response {
    let mut r = json_response(e.code, &e.to_status());
    if matches!(e.code, 429 | 503 | 504) {
        r.headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("1"));
    }
    r
}

/// Serves one request; with `APISERVER_DOUBLE_LOG` set, prints it and its answer's code.
async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let log = std::env::var_os("APISERVER_DOUBLE_LOG").is_some();
    let line = format!("{} {}", req.method(), req.uri());
    let response = serve(shared, req).await;
    if log {
        eprintln!("apiserver-double: {line} -> {}", response.status().as_u16());
    }
    response
}

async fn serve(shared: Arc<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return error_response(&ApiError::bad_request(format!(
                "reading the request body: {e}"
            )));
        }
    };
    let path = parts.uri.path().to_string();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(doc) = discovery(&shared, &segs) {
        return match doc {
            Some(v) => json_response(200, &v),
            None => error_response(&ApiError::no_route()),
        };
    }
    let (group, version, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return error_response(&ApiError::no_route()),
    };
    let query = Query::parse(parts.uri.query());
    let user = UserInfo::from_headers(&parts.headers);
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let user_agent = header("user-agent");
    let content_type = header("content-type");
    // Metadata-only answers when asked for (kube's metadata_watcher); kubectl's Table requests
    // fall back to full objects.
    let metadata_only = header("accept").contains("as=PartialObjectMetadata");
    let request = Incoming {
        method: &parts.method,
        query: &query,
        user: &user,
        user_agent: &user_agent,
        content_type: &content_type,
        metadata_only,
        body: &bytes,
    };
    match resource(&shared, group, version, rest, &request) {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

/// `Some(Some(doc))` for a discovery path, `Some(None)` for a discovery path with nothing there,
/// `None` for resource paths.
fn discovery(shared: &Shared, segs: &[&str]) -> Option<Option<Value>> {
    let state = shared.lock();
    let kinds = &state.kinds;
    Some(match segs {
        ["version"] => Some(version_doc()),
        ["healthz" | "livez" | "readyz"] => Some(json!("ok")),
        ["api"] => Some(kinds.api_versions_doc()),
        ["api", "v1"] => kinds.resource_list_doc("", "v1"),
        ["apis"] => Some(kinds.group_list_doc()),
        ["apis", g] => kinds.group_doc(g),
        ["apis", g, v] => kinds.resource_list_doc(g, v),
        ["openapi", "v3"] => Some(kinds.openapi_v3_root()),
        ["openapi", "v3", "api", v] => kinds.openapi_v3_group_version("", v),
        ["openapi", "v3", "apis", g, v] => kinds.openapi_v3_group_version(g, v),
        ["openapi", ..] => None,
        _ => return None,
    })
}

/// What a resource request brings besides its path.
struct Incoming<'a> {
    method: &'a Method,
    query: &'a Query,
    user: &'a UserInfo,
    user_agent: &'a str,
    content_type: &'a str,
    metadata_only: bool,
    body: &'a [u8],
}

fn resource(
    shared: &Arc<Shared>,
    group: &str,
    version: &str,
    rest: &[&str],
    req: &Incoming<'_>,
) -> Result<Response, ApiError> {
    let Incoming {
        method,
        query,
        user,
        user_agent,
        content_type,
        metadata_only,
        body,
    } = *req;
    // Like the real RequestInfo: namespaces/{ns}/{resource}... unless {resource} is one of the
    // namespace's own subresources.
    let mut parts = rest;
    let mut namespace = "";
    if parts.len() >= 3 && parts[0] == "namespaces" && !matches!(parts[2], "status" | "finalize") {
        namespace = parts[1];
        parts = &parts[2..];
    }
    let (plural, name, subresource) = match parts {
        [r] => (*r, "", ""),
        [r, n] => (*r, *n, ""),
        [r, n, s] => (*r, *n, *s),
        _ => return Err(ApiError::no_route()),
    };
    let mut state = shared.lock();
    let kind = state
        .kinds
        .by_resource(group, version, plural)
        .cloned()
        .ok_or_else(ApiError::no_route)?;
    if !(subresource.is_empty() || (subresource == "status" && kind.status)) {
        return Err(ApiError::no_route());
    }
    if kind.namespaced == namespace.is_empty()
        && !(kind.namespaced && name.is_empty() && *method == Method::GET)
    {
        // Namespaced objects are addressed in a namespace (only lists/watches span all of them);
        // cluster-scoped ones never are.
        return Err(ApiError::no_route());
    }
    let verb = match (method.as_str(), name.is_empty()) {
        ("GET", false) => "get",
        ("GET", true) if query.flag("watch") => "watch",
        ("GET", true) => "list",
        ("POST", true) => "create",
        ("PUT", false) => "update",
        ("PATCH", false) => "patch",
        ("DELETE", false) => "delete",
        ("DELETE", true) => "deletecollection",
        _ => {
            return Err(ApiError::new(
                405,
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    let resource_label = if subresource.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}/{subresource}")
    };
    state.policy.count_request(verb, &resource_label);
    let attributes = Attributes {
        verb,
        group,
        resource: plural,
        subresource,
        namespace,
        name,
    };
    authorize(&state.rules, user, &attributes)?;
    let facts = RequestFacts {
        verb,
        group,
        resource: &resource_label,
        name,
        namespace,
        object: None,
    };
    if let Some(e) = state.policy.fault(&facts) {
        return Err(e);
    }
    let ctx = Ctx {
        verb: verb.to_string(),
        kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
        subresource: subresource.to_string(),
        query,
        user,
        user_agent,
    };
    let parse = || -> Result<Value, ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "" | "application/json" | "*/*" => serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!("error decoding the request body: {e}"))
            }),
            "application/yaml" => serde_saphyr::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}"))),
            "application/vnd.kubernetes.protobuf" => protobuf::decode(body),
            _ => Err(ApiError::new(
                415,
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {media})"
                ),
            )),
        }
    };
    let options = || -> Value {
        if body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(body).unwrap_or(json!({}))
        }
    };
    let (code, value) = match verb {
        "get" if metadata_only => (200, verbs::partial(&verbs::get(&state, &ctx)?)),
        "get" => (200, verbs::get(&state, &ctx)?),
        "list" if metadata_only => (200, verbs::partial_list(&verbs::list(&state, &ctx)?)),
        "list" => (200, verbs::list(&state, &ctx)?),
        "watch" => return watch::start(&state, &ctx, metadata_only),
        "create" => verbs::create(&mut state, &ctx, parse()?)?,
        "update" => verbs::update(&mut state, &ctx, parse()?)?,
        "patch" => verbs::patch(&mut state, &ctx, content_type, body)?,
        "delete" => delete::delete(&mut state, &ctx, &options())?,
        _ => delete::delete_collection(&mut state, &ctx, &options())?,
    };
    Ok(json_response(code, &value))
}
