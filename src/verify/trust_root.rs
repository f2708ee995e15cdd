//! Sigstore's `trusted_root.json` (media type `application/vnd.dev.sigstore.trustedroot+json`):
//! certificate authorities, transparency logs, CT logs and timestamp authorities, each with its
//! validity window. Read offline from a file; nothing here touches the network.

use super::certs::RawChain;
use super::error::VerifyError;
use super::keys::PublicKey;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// A parsed trust root.
#[derive(Debug, Clone, Default)]
pub struct TrustRoot {
    pub(crate) certificate_authorities: Vec<CertificateAuthority>,
    pub(crate) tlogs: Vec<TransparencyLog>,
    pub(crate) ctlogs: Vec<TransparencyLog>,
    pub(crate) timestamp_authorities: Vec<CertificateAuthority>,
}

/// A CA (Fulcio or a TSA): its chain leaf-first (intermediates…root) and validity window.
#[derive(Debug, Clone)]
pub(crate) struct CertificateAuthority {
    pub chain: Vec<Vec<u8>>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
}

/// A transparency log (Rekor or CT): key, key id, validity.
#[derive(Debug, Clone)]
pub(crate) struct TransparencyLog {
    pub key: PublicKey,
    pub log_id: Vec<u8>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
}

impl CertificateAuthority {
    /// Validity windows are inclusive at both ends (Sigstore's conformance suite checks the end).
    pub fn valid_at(&self, t: DateTime<Utc>) -> bool {
        t >= self.valid_from && self.valid_until.is_none_or(|end| t <= end)
    }
}

impl TransparencyLog {
    pub fn valid_at(&self, t: DateTime<Utc>) -> bool {
        t >= self.valid_from && self.valid_until.is_none_or(|end| t <= end)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawCa>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawCa>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    public_key: RawKey,
    log_id: RawLogId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKey {
    #[serde(default)]
    raw_bytes: Option<String>,
    #[serde(default)]
    key_details: String,
    #[serde(default)]
    valid_for: Option<RawValidity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCa {
    cert_chain: RawChain,
    #[serde(default)]
    valid_for: Option<RawValidity>,
}

#[derive(Deserialize)]
struct RawValidity {
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

fn b64(field: &str, s: &str) -> Result<Vec<u8>, VerifyError> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| VerifyError::InvalidTrustRoot(format!("{field}: invalid base64: {e}")))
}

impl TrustRoot {
    /// Parses trusted_root.json text. Entries without a validity start are dropped (a log or CA
    /// whose window cannot be checked is not trusted), as Sigstore clients do.
    pub fn from_json(text: &str) -> Result<Self, VerifyError> {
        let raw: RawRoot = serde_json::from_str(text)
            .map_err(|e| VerifyError::InvalidTrustRoot(format!("not a trusted root: {e}")))?;
        if !raw.media_type.is_empty()
            && !raw
                .media_type
                .starts_with("application/vnd.dev.sigstore.trustedroot")
        {
            return Err(VerifyError::InvalidTrustRoot(format!(
                "unexpected mediaType {:?}",
                raw.media_type
            )));
        }
        let logs = |list: Vec<RawLog>, field: &str| -> Result<Vec<TransparencyLog>, VerifyError> {
            let mut out = Vec::new();
            for (i, log) in list.into_iter().enumerate() {
                let Some(validity) = log.public_key.valid_for else {
                    continue;
                };
                let Some(valid_from) = validity.start else {
                    continue;
                };
                let Some(raw) = log.public_key.raw_bytes else {
                    continue;
                };
                let der = b64(&format!("{field}[{i}].publicKey.rawBytes"), &raw)?;
                let key = if log.public_key.key_details.starts_with("PKCS1_") {
                    PublicKey::from_pkcs1_rsa_der(&der)
                } else {
                    PublicKey::from_spki_der(&der)
                };
                // Unknown key types are unusable, not fatal for the other entries.
                let Ok(key) = key else {
                    continue;
                };
                out.push(TransparencyLog {
                    key,
                    log_id: b64(&format!("{field}[{i}].logId.keyId"), &log.log_id.key_id)?,
                    valid_from,
                    valid_until: validity.end,
                });
            }
            Ok(out)
        };
        let cas =
            |list: Vec<RawCa>, field: &str| -> Result<Vec<CertificateAuthority>, VerifyError> {
                let mut out = Vec::new();
                for (i, ca) in list.into_iter().enumerate() {
                    let Some(validity) = ca.valid_for else {
                        continue;
                    };
                    let Some(valid_from) = validity.start else {
                        continue;
                    };
                    let chain = ca
                        .cert_chain
                        .certificates
                        .iter()
                        .map(|c| b64(&format!("{field}[{i}].certChain"), &c.raw_bytes))
                        .collect::<Result<Vec<_>, _>>()?;
                    if chain.is_empty() {
                        continue;
                    }
                    out.push(CertificateAuthority {
                        chain,
                        valid_from,
                        valid_until: validity.end,
                    });
                }
                Ok(out)
            };
        Ok(TrustRoot {
            tlogs: logs(raw.tlogs, "tlogs")?,
            ctlogs: logs(raw.ctlogs, "ctlogs")?,
            certificate_authorities: cas(raw.certificate_authorities, "certificateAuthorities")?,
            timestamp_authorities: cas(raw.timestamp_authorities, "timestampAuthorities")?,
        })
    }

    /// Reads and parses a trusted_root.json file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, VerifyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| VerifyError::InvalidTrustRoot(format!("{}: {e}", path.display())))?;
        Self::from_json(&text)
            .map_err(|e| VerifyError::InvalidTrustRoot(format!("{}: {e}", path.display())))
    }

    /// The transparency log with this key id.
    pub(crate) fn tlog(&self, log_id: &[u8]) -> Option<&TransparencyLog> {
        self.tlogs.iter().find(|l| l.log_id == log_id)
    }
}
