//! What the controller remembers between reconciles of a release, in memory only: the manifests
//! it last applied (with the inputs they were rendered from), consecutive failures for backoff,
//! when the release is next due, and which releases a watch marked as changed. After a restart
//! the manifests come back from the Helm release record, and only when the status vouches for them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The manifests last applied for a release.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// The object's uid: a deleted and re-created release starts afresh.
    pub uid: String,
    pub inputs_digest: String,
    pub manifest_digest: String,
    pub docs: Arc<Vec<(String, String)>>,
    pub crds: Arc<Vec<(String, String)>>,
    /// The chart version and digest they came from.
    pub version: String,
    pub digest: String,
    /// The Helm release revision they were recorded as.
    pub revision: i32,
}

#[derive(Default)]
struct Entry {
    applied: Option<Applied>,
    failures: u32,
    /// After a successful attempt: the resourceVersion our last write left and when the next
    /// interval is due. A trigger that finds the object unchanged before then is our own echo.
    settled: Option<(String, Instant)>,
}

/// Shared memory of all releases, keyed `namespace/name`.
#[derive(Default)]
pub struct Memory {
    entries: Mutex<HashMap<String, Entry>>,
    dirty: Mutex<HashSet<String>>,
}

impl Memory {
    fn with<T>(&self, key: &str, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        let mut map = self.entries.lock().ok()?;
        Some(f(map.entry(key.to_owned()).or_default()))
    }

    pub fn applied(&self, key: &str, uid: &str) -> Option<Applied> {
        self.with(key, |e| e.applied.clone().filter(|a| a.uid == uid))
            .flatten()
    }

    pub fn set_applied(&self, key: &str, applied: Applied) {
        self.with(key, |e| e.applied = Some(applied));
    }

    /// Counts a failure; returns how many in a row.
    pub fn failed(&self, key: &str) -> u32 {
        self.with(key, |e| {
            e.failures = e.failures.saturating_add(1);
            e.settled = None;
            e.failures
        })
        .unwrap_or(1)
    }

    pub fn succeeded(&self, key: &str, resource_version: Option<String>, due: Instant) {
        self.with(key, |e| {
            e.failures = 0;
            e.settled = resource_version.map(|rv| (rv, due));
        });
    }

    /// Like [`Self::succeeded`] without resetting the failure count: after a failure or while
    /// waiting, the echo of our own status write waits for the backoff too.
    pub fn settle(&self, key: &str, resource_version: Option<String>, due: Instant) {
        self.with(key, |e| e.settled = resource_version.map(|rv| (rv, due)));
    }

    /// Forgets when the release is due (it must be reconciled at the next trigger).
    pub fn unsettle(&self, key: &str) {
        self.with(key, |e| e.settled = None);
    }

    /// When a trigger is only the echo of our own write: the object is at the resourceVersion we
    /// left, nothing it references changed, and the interval is not over. Returns when it is due.
    pub fn settled_until(&self, key: &str, resource_version: Option<&str>) -> Option<Instant> {
        if self.dirty.lock().ok()?.remove(key) {
            self.unsettle(key);
            return None;
        }
        self.with(key, |e| match (&e.settled, resource_version) {
            (Some((rv, due)), Some(current)) if rv == current && *due > Instant::now() => {
                Some(*due)
            }
            _ => None,
        })
        .flatten()
    }

    /// Marks a release changed (a referenced ConfigMap/Secret, or a dependency became Ready).
    pub fn mark_dirty(&self, key: &str) {
        if let Ok(mut d) = self.dirty.lock() {
            d.insert(key.to_owned());
        }
    }

    pub fn forget(&self, key: &str) {
        if let Ok(mut m) = self.entries.lock() {
            m.remove(key);
        }
        if let Ok(mut d) = self.dirty.lock() {
            d.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn echo_of_own_write_is_settled_until_due_or_dirty() {
        let m = Memory::default();
        let due = Instant::now() + Duration::from_secs(60);
        m.succeeded("ns/a", Some("7".into()), due);
        assert_eq!(m.settled_until("ns/a", Some("7")), Some(due));
        assert_eq!(
            m.settled_until("ns/a", Some("8")),
            None,
            "someone else wrote"
        );
        m.mark_dirty("ns/a");
        assert_eq!(
            m.settled_until("ns/a", Some("7")),
            None,
            "a referenced object changed"
        );
        assert_eq!(
            m.settled_until("ns/a", Some("7")),
            None,
            "dirty unsettles until the next success"
        );
        m.succeeded("ns/a", Some("7".into()), Instant::now());
        assert_eq!(
            m.settled_until("ns/a", Some("7")),
            None,
            "the interval is over"
        );
    }

    #[test]
    fn failures_count_and_reset() {
        let m = Memory::default();
        assert_eq!(m.failed("k"), 1);
        assert_eq!(m.failed("k"), 2);
        m.succeeded("k", None, Instant::now());
        assert_eq!(m.failed("k"), 1);
        let due = Instant::now() + Duration::from_secs(5);
        m.settle("k", Some("3".into()), due);
        assert_eq!(m.settled_until("k", Some("3")), Some(due));
        assert_eq!(m.failed("k"), 2, "settling keeps the failure count");
    }

    #[test]
    fn applied_is_per_uid() {
        let m = Memory::default();
        let a = Applied {
            uid: "u1".into(),
            inputs_digest: "i".into(),
            manifest_digest: "m".into(),
            docs: Arc::new(vec![]),
            crds: Arc::new(vec![]),
            version: "1.0.0".into(),
            digest: "sha256:a".into(),
            revision: 1,
        };
        m.set_applied("ns/a", a.clone());
        assert_eq!(m.applied("ns/a", "u1"), Some(a));
        assert_eq!(m.applied("ns/a", "u2"), None);
        m.forget("ns/a");
        assert_eq!(m.applied("ns/a", "u1"), None);
    }
}
