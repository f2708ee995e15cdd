//! Content-addressed caches shared by all reconciles: chart manifests and chart archives by
//! manifest digest (immutable content, so never stale), and registry clients by their options.
//! Bounded: the oldest entries go first.

use crate::registry::RegistryClient;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// A manifest and (once pulled) the chart archive it names.
#[derive(Clone, Debug)]
pub struct CachedChart {
    pub manifest: Vec<u8>,
    /// The chart version from the manifest annotations or config.
    pub version: String,
    pub archive: Option<std::sync::Arc<Vec<u8>>>,
}

/// Charts by `registry/repository@digest`, bounded by entry count and total archive bytes.
#[derive(Debug)]
pub struct ChartCache {
    max_entries: usize,
    max_bytes: usize,
    inner: Mutex<Lru<CachedChart>>,
}

#[derive(Debug)]
struct Lru<V> {
    map: HashMap<String, V>,
    order: VecDeque<String>,
    bytes: usize,
}

impl<V> Default for Lru<V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
        }
    }
}

impl ChartCache {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            max_entries: max_entries.max(1),
            max_bytes,
            inner: Mutex::new(Lru::default()),
        }
    }

    pub fn get(&self, key: &str) -> Option<CachedChart> {
        self.inner.lock().ok()?.map.get(key).cloned()
    }

    pub fn put(&self, key: &str, value: CachedChart) {
        let Ok(mut lru) = self.inner.lock() else {
            return;
        };
        let size = |v: &CachedChart| v.manifest.len() + v.archive.as_ref().map_or(0, |a| a.len());
        lru.bytes += size(&value);
        match lru.map.insert(key.to_owned(), value) {
            Some(old) => lru.bytes = lru.bytes.saturating_sub(size(&old)),
            None => lru.order.push_back(key.to_owned()),
        }
        while lru.order.len() > self.max_entries
            || (lru.bytes > self.max_bytes && lru.order.len() > 1)
        {
            let Some(oldest) = lru.order.pop_front() else {
                break;
            };
            if let Some(old) = lru.map.remove(&oldest) {
                lru.bytes = lru.bytes.saturating_sub(size(&old));
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().map(|l| l.map.len()).unwrap_or(0)
    }
}

/// Registry clients by a digest of their options (credentials included, never logged), so
/// connections are reused across reconciles instead of a TLS setup per attempt.
#[derive(Debug, Default)]
pub struct RegistryClients {
    inner: Mutex<HashMap<String, RegistryClient>>,
}

/// More distinct registry configurations than this and the cache starts over.
const MAX_REGISTRY_CLIENTS: usize = 256;

impl RegistryClients {
    pub fn get_or_try_insert<E>(
        &self,
        key: &str,
        make: impl FnOnce() -> Result<RegistryClient, E>,
    ) -> Result<RegistryClient, E> {
        if let Some(client) = self.inner.lock().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(client);
        }
        let client = make()?;
        if let Ok(mut map) = self.inner.lock() {
            if map.len() >= MAX_REGISTRY_CLIENTS {
                map.clear();
            }
            map.insert(key.to_owned(), client.clone());
        }
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(n: usize) -> CachedChart {
        CachedChart {
            manifest: vec![0; 10],
            version: "1.0.0".into(),
            archive: Some(std::sync::Arc::new(vec![0; n])),
        }
    }

    #[test]
    fn bounded_by_entries_and_bytes() {
        let cache = ChartCache::new(2, 1000);
        cache.put("a", chart(10));
        cache.put("b", chart(10));
        cache.put("c", chart(10));
        assert!(cache.get("a").is_none());
        assert!(cache.get("c").is_some());
        assert_eq!(cache.len(), 2);
        let small = ChartCache::new(10, 100);
        small.put("a", chart(60));
        small.put("b", chart(60));
        assert!(
            small.get("a").is_none(),
            "over the byte bound the oldest goes"
        );
        assert!(
            small.get("b").is_some(),
            "the newest entry stays even when alone too big"
        );
        // Replacing an entry does not count it twice.
        small.put("b", chart(60));
        assert_eq!(small.len(), 1);
    }
}
