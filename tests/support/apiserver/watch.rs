//! Watches: a chunked stream of `{"type","object"}` JSON lines. Starts with synthetic ADDED
//! events (no resourceVersion, `0`, or `sendInitialEvents=true`, then the initial-events-end
//! bookmark) or the history after the given resourceVersion (an ERROR event with 410 Expired if
//! it was compacted away); then live events. Selectors apply as on a real server: an object
//! that stops matching is seen DELETED, one that starts matching ADDED.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};

use super::discovery::KindSpec;
use super::errors::ApiError;
use super::select::{FieldSelector, LabelSelector};
use super::store::{Event, EventType, State};
use super::verbs::{Ctx, as_version, partial};

const BOOKMARK_EVERY: Duration = Duration::from_secs(2);

struct Filter {
    kind: KindSpec,
    namespace: String,
    name: String,
    labels: LabelSelector,
    fields: FieldSelector,
    metadata_only: bool,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        (self.name.is_empty() || obj["metadata"]["name"] == self.name.as_str())
            && self.labels.matches(obj)
            && self.fields.matches(obj)
    }

    /// The event this watcher sees for a store event, if any.
    fn see(&self, ev: &Event) -> Option<Bytes> {
        if ev.key.group != self.kind.group || ev.key.plural != self.kind.plural {
            return None;
        }
        if !self.namespace.is_empty() && ev.key.namespace != self.namespace {
            return None;
        }
        let now = self.matches(&ev.object);
        let before = ev.prev.as_ref().is_some_and(|p| self.matches(p));
        let kind = match (ev.kind, before, now) {
            (EventType::Added, _, true) => "ADDED",
            (EventType::Modified, true, true) => "MODIFIED",
            (EventType::Modified, false, true) => "ADDED",
            (EventType::Modified, true, false) => "DELETED",
            (EventType::Deleted, _, true) => "DELETED",
            _ => return None,
        };
        Some(line(kind, &self.shape(&ev.object)))
    }

    fn shape(&self, obj: &Value) -> Value {
        let obj = as_version(obj, &self.kind);
        if self.metadata_only {
            partial(&obj)
        } else {
            obj
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(
            "BOOKMARK",
            &json!({"kind": self.kind.kind, "apiVersion": self.kind.api_version(), "metadata": meta}),
        )
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

struct Stream {
    pending: VecDeque<Bytes>,
    rx: Option<broadcast::Receiver<Arc<Event>>>,
    filter: Filter,
    deadline: tokio::time::Instant,
    bookmarks: bool,
    rv: u64,
}

/// Starts a watch; called with the store locked so no event is missed or repeated.
pub fn start(state: &State, ctx: &Ctx<'_>, metadata_only: bool) -> Result<Response, ApiError> {
    let filter = Filter {
        kind: ctx.kind.clone(),
        namespace: ctx.namespace.clone(),
        name: ctx.name.clone(),
        labels: LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or(""))?,
        fields: FieldSelector::parse(ctx.query.get("fieldSelector").unwrap_or(""), &ctx.kind)?,
        metadata_only,
    };
    let bookmarks = ctx.query.flag("allowWatchBookmarks");
    let initial = ctx.query.flag("sendInitialEvents");
    let rv_param = ctx.query.get("resourceVersion").unwrap_or("");
    let timeout = ctx
        .query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1800);
    let mut pending = VecDeque::new();
    if initial || rv_param.is_empty() || rv_param == "0" {
        for (_, obj) in state.objects_of(&filter.kind, &filter.namespace) {
            if filter.matches(obj) {
                pending.push_back(line("ADDED", &filter.shape(obj)));
            }
        }
        if initial && bookmarks {
            pending.push_back(filter.bookmark(state.rv, true));
        }
    } else {
        let from: u64 = rv_param
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv_param}")))?;
        if from < state.compacted {
            let gone = ApiError {
                code: 410,
                reason: "Expired",
                message: format!("too old resource version: {from} ({})", state.compacted + 1),
                details: None,
            };
            let body = line("ERROR", &gone.to_status());
            return Ok(json_stream(Body::from(body)));
        }
        for ev in state.history.iter().filter(|e| e.rv > from) {
            if let Some(b) = filter.see(ev) {
                pending.push_back(b);
            }
        }
    }
    let stream = Stream {
        pending,
        rx: Some(state.events.subscribe()),
        filter,
        deadline: tokio::time::Instant::now() + Duration::from_secs(timeout),
        bookmarks,
        rv: state.rv,
    };
    let body = futures::stream::unfold(stream, next);
    Ok(json_stream(Body::from_stream(body)))
}

async fn next(mut s: Stream) -> Option<(Result<Bytes, std::convert::Infallible>, Stream)> {
    loop {
        if let Some(b) = s.pending.pop_front() {
            return Some((Ok(b), s));
        }
        let rx = s.rx.as_mut()?;
        let bookmark_at = tokio::time::Instant::now() + BOOKMARK_EVERY;
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) => {
                    s.rv = ev.rv;
                    if let Some(b) = s.filter.see(&ev) {
                        s.pending.push_back(b);
                    }
                }
                // A watcher that fell behind is closed, like a real server does; clients re-watch.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => s.rx = None,
            },
            _ = tokio::time::sleep_until(s.deadline) => s.rx = None,
            _ = tokio::time::sleep_until(bookmark_at), if s.bookmarks => {
                let b = s.filter.bookmark(s.rv, false);
                s.pending.push_back(b);
            }
        }
    }
}

fn json_stream(body: Body) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body)
        .expect("static response parts")
}
