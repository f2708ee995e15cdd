//! Transparency-log (Rekor v1 and v2) evidence: the signed entry timestamp (SET, an "inclusion
//! promise"), the RFC 6962 Merkle inclusion proof and its signed checkpoint (a C2SP signed note),
//! all against the log keys of the trust root.

use super::crypto::sha256;
use super::error::VerifyError;
use super::trust_root::{TransparencyLog, TrustRoot};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// A transparency-log entry as carried in a Sigstore bundle (and built from cosign's annotations).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TlogEntry {
    #[serde(default, deserialize_with = "int_or_string")]
    pub log_index: i64,
    pub log_id: LogId,
    #[serde(default)]
    pub kind_version: Option<KindVersion>,
    #[serde(default, deserialize_with = "int_or_string")]
    pub integrated_time: i64,
    #[serde(default)]
    pub inclusion_promise: Option<InclusionPromise>,
    #[serde(default)]
    pub inclusion_proof: Option<InclusionProof>,
    #[serde(default)]
    pub canonicalized_body: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogId {
    pub key_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct KindVersion {
    pub kind: String,
    pub version: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InclusionPromise {
    pub signed_entry_timestamp: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InclusionProof {
    #[serde(default, deserialize_with = "int_or_string")]
    pub log_index: i64,
    pub root_hash: String,
    #[serde(default, deserialize_with = "int_or_string")]
    pub tree_size: i64,
    #[serde(default)]
    pub hashes: Vec<String>,
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Checkpoint {
    pub envelope: String,
}

/// Protobuf-JSON writes 64-bit integers as strings; accept both.
fn int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => {
            n.as_i64().ok_or_else(|| D::Error::custom("not an integer"))
        }
        serde_json::Value::String(s) => s.parse().map_err(D::Error::custom),
        serde_json::Value::Null => Ok(0),
        other => Err(D::Error::custom(format!(
            "expected an integer, got {other}"
        ))),
    }
}

pub(crate) fn b64(field: &str, s: &str) -> Result<Vec<u8>, VerifyError> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| VerifyError::Malformed(format!("{field}: invalid base64: {e}")))
}

/// What a verified entry proves.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedEntry {
    pub log_index: i64,
    /// The integrated time, when an inclusion promise signed it.
    pub integrated_time: Option<DateTime<Utc>>,
    /// The decoded canonicalized body (the entry content to compare with the signature).
    pub body: serde_json::Value,
}

/// Verifies one entry's log evidence. `require_proof` is the bundle-version rule: v0.1 bundles
/// need an inclusion promise, later ones an inclusion proof with checkpoint.
pub(crate) fn verify_entry(
    entry: &TlogEntry,
    root: &TrustRoot,
    require_proof: bool,
    now: DateTime<Utc>,
) -> Result<VerifiedEntry, VerifyError> {
    let log_id = b64("tlogEntries.logId.keyId", &entry.log_id.key_id)?;
    let log = root.tlog(&log_id).ok_or_else(|| {
        VerifyError::Tlog(format!(
            "entry from log {} is not among the trust root's tlogs: use the trusted root of the \
             Rekor instance that logged this signature",
            hex::encode(&log_id)
        ))
    })?;
    let body_bytes = b64("tlogEntries.canonicalizedBody", &entry.canonicalized_body)?;
    let body: serde_json::Value = serde_json::from_slice(&body_bytes)
        .map_err(|e| VerifyError::Malformed(format!("tlog entry body is not JSON: {e}")))?;

    if entry.inclusion_promise.is_none() && entry.inclusion_proof.is_none() {
        return Err(VerifyError::Tlog(
            "entry has neither inclusion promise nor inclusion proof".into(),
        ));
    }
    if require_proof && entry.inclusion_proof.is_none() {
        return Err(VerifyError::Tlog("entry has no inclusion proof".into()));
    }
    if !require_proof && entry.inclusion_promise.is_none() {
        return Err(VerifyError::Tlog("entry has no inclusion promise".into()));
    }

    let mut integrated_time = None;
    if let Some(promise) = &entry.inclusion_promise {
        let set = b64(
            "inclusionPromise.signedEntryTimestamp",
            &promise.signed_entry_timestamp,
        )?;
        // The SET signs the canonical JSON of these four fields (keys sorted).
        let payload = serde_json::json!({
            "body": entry.canonicalized_body,
            "integratedTime": entry.integrated_time,
            "logID": hex::encode(&log_id),
            "logIndex": entry.log_index,
        });
        let canonical = canonical_json(&payload);
        log.key
            .verify(canonical.as_bytes(), &set)
            .map_err(|e| VerifyError::Tlog(format!("signed entry timestamp: {e}")))?;
        let t = DateTime::from_timestamp(entry.integrated_time, 0)
            .ok_or_else(|| VerifyError::Tlog("integrated time out of range".into()))?;
        if t > now {
            return Err(VerifyError::Tlog(format!(
                "integrated time {t} is in the future"
            )));
        }
        if !log.valid_at(t) {
            return Err(VerifyError::Tlog(format!(
                "integrated time {t} is outside the log key's validity"
            )));
        }
        integrated_time = Some(t);
    }

    if let Some(proof) = &entry.inclusion_proof {
        verify_inclusion(proof, &body_bytes, log)?;
    }

    Ok(VerifiedEntry {
        log_index: entry.log_index,
        integrated_time,
        body,
    })
}

fn hash_children(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut data = Vec::with_capacity(65);
    data.push(1);
    data.extend_from_slice(left);
    data.extend_from_slice(right);
    sha256(&data)
}

/// RFC 6962 inclusion proof → root hash, then the checkpoint that signs that root.
fn verify_inclusion(
    proof: &InclusionProof,
    body: &[u8],
    log: &TransparencyLog,
) -> Result<(), VerifyError> {
    let index = u64::try_from(proof.log_index)
        .map_err(|_| VerifyError::Tlog("negative inclusion proof index".into()))?;
    let size = u64::try_from(proof.tree_size)
        .map_err(|_| VerifyError::Tlog("negative tree size".into()))?;
    if index >= size {
        return Err(VerifyError::Tlog(format!(
            "inclusion proof index {index} not below tree size {size}"
        )));
    }
    let hashes = proof
        .hashes
        .iter()
        .map(|h| b64("inclusionProof.hashes", h))
        .collect::<Result<Vec<_>, _>>()?;
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    if hashes.len() != inner + border {
        return Err(VerifyError::Tlog(format!(
            "inclusion proof has {} hashes, expected {}",
            hashes.len(),
            inner + border
        )));
    }
    let mut leaf = vec![0u8];
    leaf.extend_from_slice(body);
    let mut node = sha256(&leaf);
    for (i, h) in hashes.iter().enumerate().take(inner) {
        node = if (index >> i) & 1 == 0 {
            hash_children(&node, h)
        } else {
            hash_children(h, &node)
        };
    }
    for h in &hashes[inner..] {
        node = hash_children(h, &node);
    }
    let claimed = b64("inclusionProof.rootHash", &proof.root_hash)?;
    if claimed != node {
        return Err(VerifyError::Tlog(
            "inclusion proof does not lead to the claimed root hash".into(),
        ));
    }
    let checkpoint = proof
        .checkpoint
        .as_ref()
        .ok_or_else(|| VerifyError::Tlog("inclusion proof has no checkpoint".into()))?;
    let note = verify_checkpoint(&checkpoint.envelope, log)?;
    if note.size != size || note.root_hash != node {
        return Err(VerifyError::Tlog(format!(
            "checkpoint (size {}, root {}) does not match the inclusion proof (size {size}, root {})",
            note.size,
            hex::encode(&note.root_hash),
            hex::encode(node)
        )));
    }
    Ok(())
}

struct CheckpointBody {
    size: u64,
    root_hash: Vec<u8>,
}

/// Verifies a signed note: some signature line whose key hint is the log's id prefix must verify
/// over the note text. The origin must be the first line.
fn verify_checkpoint(envelope: &str, log: &TransparencyLog) -> Result<CheckpointBody, VerifyError> {
    let split = envelope
        .find("\n\n")
        .ok_or_else(|| VerifyError::Tlog("checkpoint has no signature block".into()))?;
    let text = &envelope[..split + 1];
    let mut lines = text.lines();
    let origin = lines.next().unwrap_or_default();
    let size_line = lines.next().unwrap_or_default();
    let root_line = lines.next().unwrap_or_default();
    if origin.is_empty() {
        return Err(VerifyError::Tlog("checkpoint has no origin line".into()));
    }
    let size = size_line.parse::<u64>().map_err(|_| {
        VerifyError::Tlog(format!(
            "checkpoint tree size {size_line:?} is not a number"
        ))
    })?;
    let root_hash = b64("checkpoint root hash", root_line)
        .map_err(|_| VerifyError::Tlog("checkpoint root hash is not base64".into()))?;
    if root_hash.len() != 32 {
        return Err(VerifyError::Tlog(
            "checkpoint root hash is not 32 bytes".into(),
        ));
    }
    let hint = log.log_id.get(..4).unwrap_or_default();
    let mut saw_hint = false;
    for line in envelope[split + 2..].lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((_name, sig_b64)) = rest.rsplit_once(' ') else {
            continue;
        };
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig_b64) else {
            continue;
        };
        if sig.len() < 5 || &sig[..4] != hint {
            continue;
        }
        saw_hint = true;
        if log.key.verify(text.as_bytes(), &sig[4..]).is_ok() {
            return Ok(CheckpointBody { size, root_hash });
        }
    }
    Err(VerifyError::Tlog(if saw_hint {
        "checkpoint signature does not verify with the log key".into()
    } else {
        "checkpoint carries no signature from the log".into()
    }))
}

/// RFC 8785-style canonical JSON for the objects Rekor signs (sorted keys, no whitespace).
pub(crate) fn canonical_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::Value::String(k.clone()),
                        canonical_json(&map[k])
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items
                    .iter()
                    .map(canonical_json)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_without_whitespace() {
        let v = serde_json::json!({"b": 1, "a": {"d": [1, "x"], "c": null}});
        assert_eq!(canonical_json(&v), r#"{"a":{"c":null,"d":[1,"x"]},"b":1}"#);
    }

    #[test]
    fn checkpoint_without_signature_block_is_rejected() {
        let log = TransparencyLog {
            key: crate::verify::keys::SigningKey::generate(
                crate::verify::keys::KeyAlgorithm::EcdsaP256,
            )
            .unwrap()
            .public_key()
            .clone(),
            log_id: vec![1, 2, 3, 4],
            valid_from: DateTime::<Utc>::MIN_UTC,
            valid_until: None,
        };
        let e = verify_checkpoint("origin\n1\nAAAA\n", &log).err().unwrap();
        assert_eq!(e.reason(), "TransparencyLogInvalid");
        let e = verify_checkpoint("\n\n— origin AAAA\n", &log)
            .err()
            .unwrap();
        assert!(e.to_string().contains("origin"), "{e}");
    }
}
