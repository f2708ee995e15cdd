//! The object store: every object keyed by group, resource, namespace and name (one storage for
//! all versions of a resource), the global resourceVersion counter, the watch event history and
//! its broadcast, and the direct (non-HTTP) access tests use.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::auth::Rule;
use super::discovery::{KindSpec, Kinds};
use super::policy::Policy;

const HISTORY: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjKey {
    pub group: String,
    pub plural: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(kind: &KindSpec, namespace: &str, name: &str) -> Self {
        ObjKey {
            group: kind.group.clone(),
            plural: kind.plural.clone(),
            namespace: if kind.namespaced {
                namespace.to_string()
            } else {
                String::new()
            },
            name: name.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as stored in the history and sent to watchers.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub key: ObjKey,
    pub kind: EventType,
    pub object: Value,
    /// The object before a modification (watchers with selectors need it).
    pub prev: Option<Value>,
}

pub struct State {
    pub kinds: Kinds,
    pub objects: BTreeMap<ObjKey, Value>,
    pub rv: u64,
    pub history: VecDeque<Arc<Event>>,
    /// Events up to this resourceVersion are no longer in the history.
    pub compacted: u64,
    pub events: broadcast::Sender<Arc<Event>>,
    pub policy: Policy,
    pub rules: Vec<Rule>,
    pub crd_delay: Duration,
    /// For timers (delayed CRD establishment) that write later.
    pub this: Weak<Shared>,
    seq: u64,
}

pub struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub fn new() -> Arc<Self> {
        Arc::new_cyclic(|this| Shared::with_state(this.clone()))
    }

    fn with_state(this: Weak<Shared>) -> Self {
        let (events, _) = broadcast::channel(1 << 14);
        let mut state = State {
            kinds: Kinds::builtin(),
            objects: BTreeMap::new(),
            rv: 0,
            history: VecDeque::new(),
            compacted: 0,
            events,
            policy: Policy::default(),
            rules: vec![],
            crd_delay: Duration::ZERO,
            this,
            seq: 0,
        };
        for ns in ["default", "kube-system", "kube-public"] {
            state.direct_put(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            );
        }
        Shared {
            state: Mutex::new(state),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// Stores (`Some`) or removes (`None`) the object at `key` under a fresh resourceVersion,
    /// records the event and tells watchers. Returns the object as stored (or as last seen).
    pub fn write(&mut self, key: &ObjKey, new: Option<Value>) -> Value {
        self.rv += 1;
        let rv = self.rv.to_string();
        let prev = self.objects.get(key).cloned();
        let (kind, object) = match new {
            Some(mut obj) => {
                obj["metadata"]["resourceVersion"] = json!(rv);
                self.objects.insert(key.clone(), obj.clone());
                let kind = if prev.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                };
                (kind, obj)
            }
            None => {
                let mut obj = self.objects.remove(key).unwrap_or(Value::Null);
                obj["metadata"]["resourceVersion"] = json!(rv);
                (EventType::Deleted, obj)
            }
        };
        let event = Arc::new(Event {
            rv: self.rv,
            key: key.clone(),
            kind,
            object: object.clone(),
            prev,
        });
        self.history.push_back(event.clone());
        while self.history.len() > HISTORY {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        let _ = self.events.send(event);
        object
    }

    /// The objects of a kind's resource, in one namespace (all when `namespace` is empty), in
    /// key order (a range of the store, not a scan).
    pub fn objects_of<'a>(
        &'a self,
        kind: &KindSpec,
        namespace: &str,
    ) -> impl Iterator<Item = (&'a ObjKey, &'a Value)> + 'a {
        let start = ObjKey {
            group: kind.group.clone(),
            plural: kind.plural.clone(),
            namespace: namespace.to_string(),
            name: String::new(),
        };
        let all_namespaces = namespace.is_empty();
        let (group, plural, namespace) = (
            start.group.clone(),
            start.plural.clone(),
            start.namespace.clone(),
        );
        self.objects.range(start..).take_while(move |(k, _)| {
            k.group == group && k.plural == plural && (all_namespaces || k.namespace == namespace)
        })
    }

    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.rv;
    }

    pub fn namespace_exists(&self, ns: &str) -> bool {
        self.objects.contains_key(&ObjKey {
            group: String::new(),
            plural: "namespaces".into(),
            namespace: String::new(),
            name: ns.into(),
        })
    }

    /// A fresh pseudo-random number (uids, generateName suffixes); no RNG crate needed.
    pub fn random(&mut self) -> u64 {
        self.seq += 1;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut x =
            nanos ^ self.seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (self as *const _ as u64);
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }

    pub fn new_uid(&mut self) -> String {
        let a = self.random();
        let b = self.random();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    /// The 5-character suffix of generateName, from the same alphabet as a real server.
    pub fn name_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut x = self.random();
        (0..5)
            .map(|_| {
                let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
                x /= ALPHABET.len() as u64;
                c
            })
            .collect()
    }

    fn direct_kind(&self, api_version: &str, kind: &str) -> KindSpec {
        self.kinds
            .by_kind(api_version, kind)
            .cloned()
            .unwrap_or_else(|| panic!("API server double: unknown kind {api_version} {kind}"))
    }

    pub fn direct_get(
        &self,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let k = self.direct_kind(api_version, kind);
        let obj = self.objects.get(&ObjKey::new(&k, ns.unwrap_or(""), name))?;
        Some(super::verbs::as_version(obj, &k))
    }

    pub fn direct_list(&self, api_version: &str, kind: &str, ns: Option<&str>) -> Vec<Value> {
        let k = self.direct_kind(api_version, kind);
        self.objects_of(&k, ns.unwrap_or(""))
            .map(|(_, o)| super::verbs::as_version(o, &k))
            .collect()
    }

    pub fn direct_put(&mut self, mut obj: Value) -> Value {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let k = self.direct_kind(&api_version, &kind);
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("API server double: put without metadata.name"))
            .to_string();
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        if k.namespaced {
            obj["metadata"]["namespace"] = json!(ns);
        }
        let key = ObjKey::new(&k, &ns, &name);
        let old = self.objects.get(&key).cloned();
        let meta = &old
            .as_ref()
            .map(|o| o["metadata"].clone())
            .unwrap_or(Value::Null);
        let uid = match meta["uid"].as_str() {
            Some(u) => u.to_string(),
            None => self.new_uid(),
        };
        let m = &mut obj["metadata"];
        if m.get("uid").is_none() {
            m["uid"] = json!(uid);
        }
        if m.get("creationTimestamp").is_none() {
            m["creationTimestamp"] = meta
                .get("creationTimestamp")
                .cloned()
                .unwrap_or(json!(super::verbs::now()));
        }
        if m.get("generation").is_none() {
            m["generation"] = meta.get("generation").cloned().unwrap_or(json!(1));
        }
        if k.kind == "Namespace" && obj["status"]["phase"].is_null() {
            obj["status"] = json!({"phase": "Active"});
        }
        let stored = self.write(&key, Some(obj));
        if k.group == "apiextensions.k8s.io" {
            super::crd::crd_written(self, &stored);
        }
        stored
    }

    pub fn direct_set_status(
        &mut self,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        name: &str,
        status: Value,
    ) {
        let k = self.direct_kind(api_version, kind);
        let key = ObjKey::new(&k, ns.unwrap_or(""), name);
        let mut obj =
            self.objects.get(&key).cloned().unwrap_or_else(|| {
                panic!("API server double: set_status on missing {kind} {name}")
            });
        obj["status"] = status;
        self.write(&key, Some(obj));
    }

    pub fn direct_delete(
        &mut self,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        name: &str,
    ) -> bool {
        let k = self.direct_kind(api_version, kind);
        let key = ObjKey::new(&k, ns.unwrap_or(""), name);
        if !self.objects.contains_key(&key) {
            return false;
        }
        let removed = self.write(&key, None);
        if k.group == "apiextensions.k8s.io" {
            super::crd::crd_deleted(self, &removed);
        }
        true
    }
}
