//! Signing OCI artifacts the way cosign does, so `cosign verify` and `signet verify` accept the
//! result: resolve the reference to a digest, build cosign's simple-signing payload, sign it
//! with a key (optionally with a bring-your-own certificate chain) or keylessly (OIDC token →
//! Fulcio certificate), optionally log it in Rekor and/or timestamp it (RFC 3161), and store it
//! where cosign looks (the `sha256-<hex>.sig` tag, appending; or an OCI 1.1 referrer with the
//! fallback tag index); or, as cosign v3 does by default, a Sigstore bundle v0.3 over an in-toto
//! statement stored as an OCI 1.1 referrer (`new_bundle_format`, see [`bundle`]).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::registry::client::RegistryClient;
use crate::registry::error::RegistryError;
use crate::registry::reference::OciReference;
use crate::verify::keys::{KeyError, SigningKey};

pub mod bundle;
pub mod certificate;
pub mod keyless;
pub mod manifest;
pub mod payload;
pub mod rekor_v2;
pub mod signing_config;
pub mod store;

pub use certificate::CertificateChain;
pub use keyless::{FulcioClient, RekorClient, RekorEntry, TimestampClient};
pub use rekor_v2::RekorV2Client;
pub use store::ReferrersMode;

use manifest::{
    BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, SIGNATURE_ANNOTATION,
    SignatureLayer, TIMESTAMP_ANNOTATION,
};

/// Why signing failed. Nothing is pushed unless every check before the push passed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("signing key: {0}")]
    Key(#[from] KeyError),
    #[error("certificate {what}: {reason}")]
    Certificate { what: String, reason: String },
    #[error(
        "the certificate certifies key {certified}, but the signing key is {signing}: a \
         signature made this way could never verify"
    )]
    CertificateKeyMismatch { certified: String, signing: String },
    #[error("identity token: {0}")]
    IdentityToken(String),
    #[error("{service} at {url}: {reason}")]
    Service {
        service: &'static str,
        url: String,
        reason: String,
    },
    #[error("existing signatures at {reference} cannot be extended: {reason}")]
    ExistingSignatures { reference: String, reason: String },
    #[error("signing config: {0}")]
    SigningConfig(String),
    #[error("{0}")]
    Options(String),
}

/// How to sign, beyond the key.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// `.sig` tag (default) or OCI 1.1 referrer.
    pub mode: ReferrersMode,
    /// cosign's `-a key=value`: recorded in the payload's `optional` section (signed).
    pub annotations: BTreeMap<String, String>,
    /// A certificate for the signing key (bring-your-own PKI, or Fulcio's for keyless).
    pub certificate: Option<CertificateChain>,
    /// Upload the signature to this transparency log (`--tlog-upload`).
    pub rekor: Option<RekorClient>,
    /// Timestamp the signature with this RFC 3161 authority (`--timestamp-server-url`).
    pub timestamp: Option<TimestampClient>,
    /// cosign v3's format (`--new-bundle-format`): a Sigstore bundle v0.3 (DSSE, in-toto
    /// statement) stored as an OCI 1.1 referrer, instead of a simple-signing layer. `mode`
    /// does not apply: bundles are always referrers.
    pub new_bundle_format: bool,
    /// Log to this Rekor v2 instead (bundles only; no integrated time, so a certificate
    /// signature also needs `timestamp`).
    pub rekor_v2: Option<RekorV2Client>,
}

/// What [`sign`] did.
#[derive(Debug, Clone)]
pub struct SignOutcome {
    /// The signed manifest digest.
    pub digest: String,
    /// The signed artifact, addressed by digest.
    pub signed: OciReference,
    /// Where the signature manifest was written (`.sig` tag or referrer digest); `None` when
    /// the same key had already signed the same payload and nothing was written.
    pub stored_at: Option<OciReference>,
    /// The transparency-log entry, when uploaded to a Rekor v1.
    pub tlog_entry: Option<RekorEntry>,
    /// The Rekor v2 entry (a bundle's `tlogEntries[]` item), when uploaded to a Rekor v2.
    pub rekor_v2_entry: Option<serde_json::Value>,
}

impl SignOutcome {
    /// The log index of the transparency-log entry, from either log version.
    pub fn log_index(&self) -> Option<i64> {
        self.tlog_entry.as_ref().map(|e| e.log_index).or_else(|| {
            self.rekor_v2_entry
                .as_ref()
                .and_then(|e| e.get("logIndex"))
                .and_then(|i| i.as_str().and_then(|s| s.parse().ok()).or(i.as_i64()))
        })
    }

    /// Whether an identical signature by the same key already existed.
    pub fn already_signed(&self) -> bool {
        self.stored_at.is_none()
    }
}

/// Signs the manifest `reference` points at (a tag is resolved to its digest once, and the
/// digest is what gets signed) with `key`, and stores the signature per `options`.
pub async fn sign(
    client: &RegistryClient,
    reference: &OciReference,
    key: &SigningKey,
    options: &SignOptions,
) -> Result<SignOutcome, SignError> {
    if let Some(certificate) = &options.certificate {
        certificate.check_key(key.public_key())?;
    }
    if options.rekor_v2.is_some() {
        if !options.new_bundle_format {
            return Err(SignError::Options(
                "a Rekor v2 entry fits only a Sigstore bundle: sign with --new-bundle-format"
                    .into(),
            ));
        }
        if options.certificate.is_some() && options.timestamp.is_none() {
            return Err(SignError::Options(
                "a Rekor v2 entry records no time, so a certificate signature also needs an \
                 RFC 3161 timestamp: give a timestamp authority (--timestamp-server-url, or \
                 tsaUrls in the signing config)"
                    .into(),
            ));
        }
    }
    // Fetch (not just HEAD) so the digest is computed from the bytes, and the subject
    // descriptor for referrers has the true media type and size.
    let subject = client.fetch_manifest(reference).await?;
    let repository = OciReference {
        tag: None,
        digest: None,
        ..reference.clone()
    };
    let signed = OciReference {
        digest: Some(subject.digest.clone()),
        ..repository.clone()
    };
    if options.new_bundle_format {
        return sign_bundle(client, &repository, signed, &subject, key, options).await;
    }
    let docker_reference = format!("{}/{}", reference.registry, reference.repository);
    let payload =
        payload::simple_signing_payload(&docker_reference, &subject.digest, &options.annotations);

    let existing =
        store::existing_signatures(client, &repository, &subject.digest, options.mode).await?;
    if already_signed_by(&existing.layers, &payload, key) {
        return Ok(SignOutcome {
            digest: subject.digest,
            signed,
            stored_at: None,
            tlog_entry: None,
            rekor_v2_entry: None,
        });
    }

    let signature = key.sign(&payload)?;
    let mut annotations = BTreeMap::from([(
        SIGNATURE_ANNOTATION.to_string(),
        STANDARD.encode(&signature),
    )]);
    if let Some(certificate) = &options.certificate {
        annotations.insert(CERTIFICATE_ANNOTATION.into(), certificate.leaf_pem.clone());
        if let Some(chain) = &certificate.chain_pem {
            annotations.insert(CHAIN_ANNOTATION.into(), chain.clone());
        }
    }
    if let Some(tsa) = &options.timestamp {
        let response = tsa.timestamp(&signature).await?;
        annotations.insert(
            TIMESTAMP_ANNOTATION.into(),
            keyless::cosign_timestamp_annotation(&response),
        );
    }
    let tlog_entry = match &options.rekor {
        None => None,
        Some(rekor) => {
            let public_pem = match &options.certificate {
                Some(c) => c.leaf_pem.clone(),
                None => key.public_key().to_pem(),
            };
            let entry = rekor
                .upload_hashedrekord(&payload, &signature, &public_pem)
                .await?;
            annotations.insert(BUNDLE_ANNOTATION.into(), entry.cosign_bundle_annotation());
            Some(entry)
        }
    };
    let layer = SignatureLayer {
        payload,
        annotations,
    };
    let stored_at = store::store_signature(
        client,
        &repository,
        &subject,
        existing,
        &layer,
        options.mode,
    )
    .await?;
    Ok(SignOutcome {
        digest: subject.digest,
        signed,
        stored_at: Some(stored_at),
        tlog_entry,
        rekor_v2_entry: None,
    })
}

/// The `--new-bundle-format` path of [`sign`]: DSSE over an in-toto statement naming the
/// digest, logged as a `dsse` entry and/or timestamped as asked, stored as a bundle referrer.
async fn sign_bundle(
    client: &RegistryClient,
    repository: &OciReference,
    signed: OciReference,
    subject: &crate::registry::manifest::FetchedManifest,
    key: &SigningKey,
    options: &SignOptions,
) -> Result<SignOutcome, SignError> {
    let statement = bundle::statement(&subject.digest, &options.annotations);
    let signature = key.sign(&bundle::pae(bundle::INTOTO_PAYLOAD_TYPE, &statement))?;
    let envelope = bundle::envelope(&statement, &signature);
    let timestamp = match &options.timestamp {
        Some(tsa) => Some(tsa.timestamp(&signature).await?),
        None => None,
    };
    let mut tlog_entries = Vec::new();
    let tlog_entry = match &options.rekor {
        Some(rekor) if options.rekor_v2.is_none() => {
            let public_pem = match &options.certificate {
                Some(c) => c.leaf_pem.clone(),
                None => key.public_key().to_pem(),
            };
            let entry = rekor
                .upload_dsse(&envelope.to_string(), &statement, &signature, &public_pem)
                .await?;
            tlog_entries.push(bundle::tlog_entry(&entry, "dsse")?);
            Some(entry)
        }
        _ => None,
    };
    let rekor_v2_entry = match &options.rekor_v2 {
        Some(log) => {
            let verifier = rekor_v2::verifier(key.public_key(), options.certificate.as_ref())?;
            let entry = log
                .upload_dsse(&envelope, &statement, &signature, verifier)
                .await?;
            tlog_entries.push(entry.clone());
            Some(entry)
        }
        None => None,
    };
    let bundle_bytes = bundle::bundle(
        envelope,
        options.certificate.as_ref(),
        tlog_entries,
        timestamp.as_deref(),
    )?;
    let layer = client
        .push_blob(repository, bundle::BUNDLE_MEDIA_TYPE, bundle_bytes)
        .await?;
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (manifest, config) = bundle::referrer_manifest(layer, subject.descriptor(), &created);
    let stored_at =
        store::store_referrer(client, repository, &subject.digest, &manifest, config).await?;
    Ok(SignOutcome {
        digest: subject.digest.clone(),
        signed,
        stored_at: Some(stored_at),
        tlog_entry,
        rekor_v2_entry,
    })
}

/// Whether one of `layers` is this exact payload with a signature by `key` (cosign also skips
/// re-signing then, so repeated runs do not grow the signature manifest).
fn already_signed_by(
    layers: &[crate::registry::manifest::Descriptor],
    payload: &[u8],
    key: &SigningKey,
) -> bool {
    let digest = crate::registry::manifest::sha256_digest(payload);
    layers.iter().filter(|l| l.digest == digest).any(|layer| {
        layer
            .annotations
            .as_ref()
            .and_then(|a| a.get(SIGNATURE_ANNOTATION))
            .and_then(|s| STANDARD.decode(s).ok())
            .is_some_and(|signature| key.public_key().verify(payload, &signature).is_ok())
    })
}
