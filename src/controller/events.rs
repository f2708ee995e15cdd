//! Kubernetes Events on a release, one per transition (verified, applied, verification failed,
//! pruned, uninstalled, ...), with the step's reason string. Publishing is best effort: a
//! refused Event is logged, never a reconcile failure.

use crate::api::SignedChartRelease;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// The Events of one attempt, published after its status is written.
#[derive(Debug, Default)]
pub struct Pending(pub Vec<Planned>);

/// One Event to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub warning: bool,
    pub reason: String,
    /// What was done: `Verify`, `Apply`, `Prune`, `Uninstall`, `Reconcile`.
    pub action: &'static str,
    pub note: String,
}

impl Pending {
    pub fn normal(&mut self, reason: &str, action: &'static str, note: String) {
        self.0.push(Planned {
            warning: false,
            reason: reason.to_owned(),
            action,
            note,
        });
    }

    pub fn warning(&mut self, reason: &str, action: &'static str, note: String) {
        self.0.push(Planned {
            warning: true,
            reason: reason.to_owned(),
            action,
            note,
        });
    }
}

/// The controller's Event recorder.
pub fn recorder(client: kube::Client) -> Recorder {
    Recorder::new(
        client,
        Reporter {
            controller: "signet-controller".into(),
            instance: std::env::var("POD_NAME").ok(),
        },
    )
}

/// Publishes `events` on `release`.
pub async fn publish(recorder: &Recorder, release: &SignedChartRelease, events: Pending) {
    let reference = release.object_ref(&());
    for e in events.0 {
        // Event notes are bounded (1 KiB).
        let mut note = e.note;
        if note.len() > 1000 {
            let mut end = 1000;
            while !note.is_char_boundary(end) {
                end -= 1;
            }
            note.truncate(end);
        }
        let event = Event {
            type_: if e.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: e.reason,
            note: Some(note),
            action: e.action.to_owned(),
            secondary: None,
        };
        if let Err(err) = recorder.publish(&event, &reference).await {
            tracing::warn!(error = %err, "cannot publish an Event");
        }
    }
}
