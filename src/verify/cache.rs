//! Cache of successful verifications keyed by repository + digest + policy fingerprint. A digest
//! is immutable content, so a result for the same policy stays true: the warm path answers
//! without fetching any signature manifest or blob. Failures are not cached (a signature may be
//! added later). Bounded: the oldest entries are evicted first.

use super::error::VerifyError;
use super::oci::{Sources, Verified, verify};
use super::policy::CompiledPolicy;
use crate::registry::OciReference;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

type Key = (String, String, String);

/// A shared, thread-safe verification cache.
#[derive(Debug)]
pub struct VerificationCache {
    capacity: usize,
    inner: Mutex<(HashMap<Key, Verified>, VecDeque<Key>)>,
}

impl Default for VerificationCache {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl VerificationCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    fn key(digest: &str, repository: &OciReference, policy: &CompiledPolicy) -> Key {
        (
            format!("{}/{}", repository.registry, repository.repository),
            digest.to_string(),
            policy.fingerprint().to_string(),
        )
    }

    /// The cached result, if any.
    pub fn get(
        &self,
        digest: &str,
        repository: &OciReference,
        policy: &CompiledPolicy,
    ) -> Option<Verified> {
        let guard = self.inner.lock().ok()?;
        guard.0.get(&Self::key(digest, repository, policy)).cloned()
    }

    fn put(&self, digest: &str, repository: &OciReference, policy: &CompiledPolicy, v: &Verified) {
        let Ok(mut guard) = self.inner.lock() else {
            return;
        };
        let key = Self::key(digest, repository, policy);
        if guard.0.insert(key.clone(), v.clone()).is_none() {
            guard.1.push_back(key);
        }
        while guard.1.len() > self.capacity {
            if let Some(old) = guard.1.pop_front() {
                guard.0.remove(&old);
            }
        }
    }

    /// Number of cached results.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|g| g.0.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Verifies through the cache: a hit touches no network.
    pub async fn verify(
        &self,
        digest: &str,
        repository: &OciReference,
        policy: &CompiledPolicy,
        sources: &Sources<'_>,
    ) -> Result<Verified, VerifyError> {
        if let Some(hit) = self.get(digest, repository, policy) {
            return Ok(hit);
        }
        let verified = verify(digest, repository, policy, sources).await?;
        self.put(digest, repository, policy, &verified);
        Ok(verified)
    }
}
