//! A [`tough::Transport`] that keeps the exact bytes of every file it served, so that a
//! successful update can be written to the on-disk cache as the repository served it (TUF hashes
//! are over the served bytes; re-serialised metadata would no longer match them).

use futures::StreamExt as _;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tough::{DefaultTransport, Transport, TransportError, TransportErrorKind};
use url::Url;

/// The most one fetched file may hold: far above any TUF metadata or trusted_root.json, and the
/// bound on memory a hostile mirror can make us spend (tough's own size limits apply after this).
const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// Fetches through tough's default transport (`file://`, `http(s)://`) and records what it served.
#[derive(Debug, Clone, Default)]
pub(super) struct RecordingTransport {
    inner: DefaultTransport,
    served: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl RecordingTransport {
    /// The files served so far, by URL.
    pub fn served(&self) -> BTreeMap<String, Vec<u8>> {
        self.served
            .lock()
            .map(|m| m.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

#[tough::async_trait]
impl Transport for RecordingTransport {
    async fn fetch(&self, url: Url) -> Result<tough::TransportStream, TransportError> {
        let mut stream = self.inner.fetch(url.clone()).await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                return Err(TransportError::new_with_cause(
                    TransportErrorKind::Other,
                    url,
                    format!("larger than {MAX_FILE_BYTES} bytes"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        if let Ok(mut served) = self.served.lock() {
            served.insert(url.to_string(), bytes.clone());
        }
        let body = tough::Bytes::from(bytes);
        Ok(Box::pin(futures::stream::once(async move { Ok(body) })))
    }
}
