//! Sigstore's signing config (`application/vnd.dev.sigstore.signingconfig.v0.2+json`, cosign v3's
//! `--signing-config`): which Fulcio, Rekor (v1 or v2) and timestamp authority to use. For each
//! service the first entry valid now with the highest API version this client speaks is chosen
//! (the `ANY` selector: one log, one timestamp authority).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::SignError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    ca_urls: Vec<Service>,
    #[serde(default)]
    rekor_tlog_urls: Vec<Service>,
    #[serde(default)]
    tsa_urls: Vec<Service>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Service {
    url: String,
    #[serde(default)]
    major_api_version: u32,
    #[serde(default)]
    valid_for: Option<Validity>,
}

#[derive(Deserialize, Clone)]
struct Validity {
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

/// The services a signing config selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The Fulcio URL (API v1).
    pub fulcio: Option<String>,
    /// The Rekor base URL and its major API version (1 or 2).
    pub rekor: Option<(String, u32)>,
    /// The full timestamp request URL.
    pub tsa: Option<String>,
}

fn pick(services: &[Service], versions: &[u32], now: DateTime<Utc>) -> Option<Service> {
    let valid = |s: &&Service| {
        s.valid_for.as_ref().is_some_and(|v| {
            v.start.is_some_and(|start| start <= now) && v.end.is_none_or(|end| now < end)
        })
    };
    versions.iter().find_map(|version| {
        services
            .iter()
            .filter(valid)
            .find(|s| s.major_api_version == *version)
            .cloned()
    })
}

/// Parses a signing config and selects the services valid at `now`.
pub fn select(text: &str, now: DateTime<Utc>) -> Result<Selected, SignError> {
    let invalid = |reason: String| SignError::SigningConfig(reason);
    let raw: Raw = serde_json::from_str(text)
        .map_err(|e| invalid(format!("not a Sigstore signing config: {e}")))?;
    if !raw
        .media_type
        .starts_with("application/vnd.dev.sigstore.signingconfig.v0.2")
    {
        return Err(invalid(format!(
            "mediaType {:?} is not application/vnd.dev.sigstore.signingconfig.v0.2+json",
            raw.media_type
        )));
    }
    Ok(Selected {
        fulcio: pick(&raw.ca_urls, &[1], now).map(|s| s.url),
        // Rekor v2 when the config offers a valid one, as cosign v3 prefers it.
        rekor: pick(&raw.rekor_tlog_urls, &[2, 1], now).map(|s| (s.url, s.major_api_version)),
        tsa: pick(&raw.tsa_urls, &[1], now).map(|s| s.url),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{
      "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
      "caUrls": [{"url": "https://fulcio.example", "majorApiVersion": 1, "validFor": {"start": "2024-01-01T00:00:00Z"}}],
      "rekorTlogUrls": [
        {"url": "https://old-rekor.example", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"}},
        {"url": "https://rekor.example", "majorApiVersion": 1, "validFor": {"start": "2021-01-01T00:00:00Z"}},
        {"url": "https://log2026.rekor.example", "majorApiVersion": 2, "validFor": {"start": "2026-01-01T00:00:00Z"}},
        {"url": "https://log2099.rekor.example", "majorApiVersion": 2, "validFor": {"start": "2099-01-01T00:00:00Z"}}
      ],
      "tsaUrls": [{"url": "https://tsa.example/api/v1/timestamp", "majorApiVersion": 1, "validFor": {"start": "2024-01-01T00:00:00Z"}}]
    }"#;

    fn at(t: &str) -> DateTime<Utc> {
        t.parse().unwrap()
    }

    #[test]
    fn picks_valid_services_preferring_rekor_v2() {
        let s = select(CONFIG, at("2026-06-01T00:00:00Z")).unwrap();
        assert_eq!(s.fulcio.as_deref(), Some("https://fulcio.example"));
        assert_eq!(s.rekor, Some(("https://log2026.rekor.example".into(), 2)));
        assert_eq!(
            s.tsa.as_deref(),
            Some("https://tsa.example/api/v1/timestamp")
        );
        // Before the v2 log starts, the valid v1 log (not the expired one).
        let s = select(CONFIG, at("2025-01-01T00:00:00Z")).unwrap();
        assert_eq!(s.rekor, Some(("https://rekor.example".into(), 1)));
    }

    #[test]
    fn rejects_what_is_not_a_signing_config() {
        assert!(select("{}", Utc::now()).is_err());
        assert!(select("not json", Utc::now()).is_err());
    }
}
