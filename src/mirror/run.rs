//! Mirroring the selected versions: for each, look at the target tag, download the archive,
//! check it against the index digest (and the provenance, with a keyring), push the same bytes
//! as a Helm OCI artifact (with the `.prov` as a provenance layer when the source has one, as
//! `helm push` does), and sign the pushed manifest digest. One version failing does not
//! stop the others; each gets a [`ChartOutcome`].

use std::sync::Arc;

use futures::StreamExt as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::MirrorError;
use super::index::IndexEntry;
use super::provenance::{Keyring, archive_file_name};
use super::source::{MAX_PROVENANCE_BYTES, SourceClient, redact};
use crate::package::{MAX_CHART_BYTES, inspect_archive};
use crate::registry::{
    ChartArtifact, HELM_CHART_LAYER_MEDIA_TYPE, HELM_CONFIG_MEDIA_TYPE, HELM_PROVENANCE_MEDIA_TYPE,
    ImageManifest, OCI_MANIFEST_MEDIA_TYPE, OciReference, RegistryClient, RegistryError,
    helm_annotations, version_to_tag,
};
use crate::sign::{FulcioClient, SignOptions};
use crate::verify::keys::{KeyAlgorithm, SigningKey};

/// How the pushed manifests get signed.
#[derive(Clone)]
pub enum Signer {
    /// A key (`--key`), optionally with its certificate in `options`. Signing is idempotent:
    /// an artifact this key already signed is left alone, so versions skipped as already
    /// mirrored are signed too when they lack this key's signature.
    Key {
        key: Arc<SigningKey>,
        options: SignOptions,
    },
    /// Keyless: a fresh key and Fulcio certificate per signature, as `signet sign` does. Each
    /// such signature is new, so only versions pushed by this run are signed.
    Keyless {
        token: String,
        fulcio: FulcioClient,
        options: SignOptions,
    },
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key { .. } => f.write_str("Signer::Key"),
            Self::Keyless { fulcio, .. } => write!(f, "Signer::Keyless({fulcio:?})"),
        }
    }
}

/// What to do, beyond source and target.
#[derive(Debug, Clone)]
pub struct MirrorOptions {
    /// Verify `.prov` files against this keyring when the repository has them.
    pub keyring: Option<Arc<Keyring>>,
    /// With a keyring: refuse versions that have no `.prov` (Helm's `--verify`).
    pub require_provenance: bool,
    /// Check everything, push and sign nothing.
    pub dry_run: bool,
    /// Overwrite a tag that holds a different chart.
    pub force: bool,
    /// Versions processed at once.
    pub concurrency: usize,
    pub signer: Option<Signer>,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        Self {
            keyring: None,
            require_provenance: false,
            dry_run: false,
            force: false,
            concurrency: 4,
            signer: None,
        }
    }
}

/// What happened to one chart version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OutcomeStatus {
    /// Pushed to a tag that did not exist.
    Pushed,
    /// Pushed over a tag that held different content (`--force`).
    Overwritten,
    /// The tag already holds this archive; nothing pushed.
    Skipped,
    /// `--dry-run`: would be pushed.
    WouldPush,
    /// `--dry-run` with `--force`: would overwrite.
    WouldOverwrite,
    Failed,
}

/// Whether the provenance was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ProvenanceState {
    /// No keyring given: `.prov` files are not looked at.
    NotChecked,
    /// A keyring was given but the version has no `.prov`.
    Absent,
    /// The `.prov` verified; signed by this key.
    Verified { signer: String, fingerprint: String },
    /// Skipped without download (already mirrored), so not re-checked.
    AlreadyMirrored,
}

/// Whether the pushed manifest got signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SignState {
    Signed,
    /// The same key had signed the same manifest before.
    AlreadySigned,
}

/// One chart version's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartOutcome {
    pub name: String,
    pub version: String,
    /// The archive URL in the source.
    pub source: String,
    pub status: OutcomeStatus,
    /// `oci://host/repo/name:tag`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The OCI manifest digest at the tag (after the push, or the existing one when skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `sha256:` of the archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_digest: Option<String>,
    pub provenance: ProvenanceState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignState>,
    /// Why it failed: stable reason code and message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Counts over all outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MirrorSummary {
    pub total: usize,
    /// Pushed, including overwritten tags (or would be, with `--dry-run`).
    pub pushed: usize,
    pub skipped: usize,
    pub signed: usize,
    pub failed: usize,
    pub dry_run: bool,
}

impl MirrorSummary {
    /// Counts `outcomes`.
    pub fn of(outcomes: &[ChartOutcome], dry_run: bool) -> Self {
        let mut s = Self {
            total: outcomes.len(),
            dry_run,
            ..Self::default()
        };
        for o in outcomes {
            match o.status {
                OutcomeStatus::Pushed
                | OutcomeStatus::Overwritten
                | OutcomeStatus::WouldPush
                | OutcomeStatus::WouldOverwrite => s.pushed += 1,
                OutcomeStatus::Skipped => s.skipped += 1,
                OutcomeStatus::Failed => s.failed += 1,
            }
            if o.signature == Some(SignState::Signed) {
                s.signed += 1;
            }
        }
        s
    }
}

/// Mirrors `entries` from `source` to `target` (`oci://host/path`: each chart goes to
/// `target/<name>:<version>`). `on_done` is called as each version finishes (progress).
/// Outcomes come back sorted as `entries` were.
pub async fn mirror(
    source: &SourceClient,
    registry: &RegistryClient,
    target: &OciReference,
    entries: &[IndexEntry],
    options: &MirrorOptions,
    on_done: &(dyn Fn(&ChartOutcome) + Sync),
) -> Vec<ChartOutcome> {
    let mut outcomes: Vec<(usize, ChartOutcome)> =
        futures::stream::iter(entries.iter().enumerate())
            .map(|(i, entry)| async move {
                let outcome = mirror_one(source, registry, target, entry, options).await;
                on_done(&outcome);
                (i, outcome)
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, o)| o).collect()
}

/// One version; failures become a `Failed` outcome carrying what was learnt before.
async fn mirror_one(
    source: &SourceClient,
    registry: &RegistryClient,
    target: &OciReference,
    entry: &IndexEntry,
    options: &MirrorOptions,
) -> ChartOutcome {
    let mut outcome = ChartOutcome {
        name: entry.name.clone(),
        version: entry.version.clone(),
        source: entry
            .urls
            .first()
            .map(|u| {
                source
                    .resolve(u)
                    .map(|url| redact(&url))
                    .unwrap_or(u.clone())
            })
            .unwrap_or_default(),
        status: OutcomeStatus::Failed,
        reference: None,
        digest: None,
        archive_digest: None,
        provenance: if options.keyring.is_some() {
            ProvenanceState::Absent
        } else {
            ProvenanceState::NotChecked
        },
        signature: None,
        reason: None,
        error: None,
    };
    if let Err(e) = steps(source, registry, target, entry, options, &mut outcome).await {
        outcome.status = OutcomeStatus::Failed;
        outcome.reason = Some(e.reason());
        outcome.error = Some(e.to_string());
    }
    outcome
}

async fn steps(
    source: &SourceClient,
    registry: &RegistryClient,
    target: &OciReference,
    entry: &IndexEntry,
    options: &MirrorOptions,
    outcome: &mut ChartOutcome,
) -> Result<(), MirrorError> {
    let repository = target.join(&entry.name)?;
    let tagged = repository.with_tag(&version_to_tag(&entry.version));
    outcome.reference = Some(tagged.to_string());
    let index_digest = entry.digest.trim().to_ascii_lowercase();
    let index_digest = index_digest
        .strip_prefix("sha256:")
        .unwrap_or(&index_digest)
        .to_string();

    let existing = match registry.fetch_chart_manifest(&tagged).await {
        Ok(m) => Some(Existing {
            layer: m.chart_layer.digest.clone(),
            digest: m.fetched.digest.clone(),
        }),
        Err(RegistryError::NotFound { .. }) => None,
        // Something else under the tag (an image, a broken manifest): different content.
        Err(RegistryError::InvalidArtifact { reason, .. }) => Some(Existing {
            layer: format!("none: {reason}"),
            digest: String::new(),
        }),
        Err(e) => return Err(e.into()),
    };

    // Already mirrored: the tag's chart layer is the archive the index lists. Nothing to
    // download (the digest is the archive's SHA-256, which the layer digest is too).
    if let Some(existing) = &existing
        && !index_digest.is_empty()
        && existing.layer == format!("sha256:{index_digest}")
    {
        outcome.status = OutcomeStatus::Skipped;
        outcome.digest = Some(existing.digest.clone());
        outcome.archive_digest = Some(existing.layer.clone());
        if options.keyring.is_some() {
            outcome.provenance = ProvenanceState::AlreadyMirrored;
        }
        if !options.dry_run
            && let Some(signer @ Signer::Key { .. }) = &options.signer
        {
            outcome.signature = Some(sign(registry, &tagged, &existing.digest, signer).await?);
        }
        return Ok(());
    }

    let (url, archive) = download(source, entry).await?;
    outcome.source = redact(&url);
    let actual = hex::encode(Sha256::digest(&archive));
    outcome.archive_digest = Some(format!("sha256:{actual}"));
    if !index_digest.is_empty() && index_digest != actual {
        return Err(MirrorError::DigestMismatch {
            chart: entry.name.clone(),
            version: entry.version.clone(),
            url: redact(&url),
            expected: index_digest,
            actual,
        });
    }
    let archive_error = |reason: String| MirrorError::Archive {
        chart: entry.name.clone(),
        version: entry.version.clone(),
        reason,
    };
    let metadata = inspect_archive(&archive, &redact(&url))
        .map_err(|e| archive_error(e.to_string()))?
        .metadata;
    if metadata.name != entry.name || metadata.version != entry.version {
        return Err(archive_error(format!(
            "the archive holds chart {} {}, not what index.yaml lists",
            metadata.name, metadata.version
        )));
    }

    // The `.prov` travels with the chart as `helm push` carries it (a provenance layer), so
    // `helm pull --verify` works from the registry too. Without a keyring it is only carried:
    // a source that refuses the request (S3 answers 403 for a missing key) does not fail it.
    let prov_url = provenance_url(&url);
    let provenance = match source.get(&prov_url, MAX_PROVENANCE_BYTES).await {
        Ok(found) => found,
        Err(_) if options.keyring.is_none() => None,
        Err(e) => return Err(e),
    };
    if let Some(keyring) = &options.keyring {
        outcome.provenance = check_provenance(
            keyring,
            &prov_url,
            provenance.as_deref(),
            &url,
            &archive,
            entry,
            options,
        )?;
    }

    let layer = format!("sha256:{actual}");
    let overwrite = match &existing {
        Some(e) if e.layer == layer => {
            // The index had no digest, but the tag holds these very bytes.
            outcome.status = OutcomeStatus::Skipped;
            outcome.digest = Some(e.digest.clone());
            if !options.dry_run
                && let Some(signer @ Signer::Key { .. }) = &options.signer
            {
                outcome.signature = Some(sign(registry, &tagged, &e.digest, signer).await?);
            }
            return Ok(());
        }
        Some(e) if !options.force => {
            return Err(MirrorError::Conflict {
                reference: tagged.to_string(),
                existing: e.layer.clone(),
                source_digest: layer,
            });
        }
        Some(_) => true,
        None => false,
    };
    if options.dry_run {
        outcome.status = if overwrite {
            OutcomeStatus::WouldOverwrite
        } else {
            OutcomeStatus::WouldPush
        };
        return Ok(());
    }

    let config_json = serde_json::to_vec(&metadata).map_err(|e| archive_error(e.to_string()))?;
    let artifact = ChartArtifact {
        name: metadata.name.clone(),
        version: metadata.version.clone(),
        config_json,
        annotations: helm_annotations(&metadata, &created(entry)),
        archive,
    };
    let digest = push(registry, target, &artifact, provenance).await?;
    outcome.digest = Some(digest.clone());
    outcome.status = if overwrite {
        OutcomeStatus::Overwritten
    } else {
        OutcomeStatus::Pushed
    };
    if let Some(signer) = &options.signer {
        outcome.signature = Some(sign(registry, &tagged, &digest, signer).await?);
    }
    Ok(())
}

struct Existing {
    /// The chart layer digest (or a description of why there is none).
    layer: String,
    /// The manifest digest.
    digest: String,
}

/// The archive from the first of the entry's URLs that answers.
async fn download(
    source: &SourceClient,
    entry: &IndexEntry,
) -> Result<(url::Url, Vec<u8>), MirrorError> {
    let mut last = None;
    for reference in &entry.urls {
        let url = source.resolve(reference)?;
        match source.get(&url, MAX_CHART_BYTES).await {
            Ok(Some(bytes)) => return Ok((url, bytes)),
            Ok(None) => {
                last = Some(MirrorError::Source {
                    url: redact(&url),
                    message: format!(
                        "{} {}: the archive is not there (HTTP 404)",
                        entry.name, entry.version
                    ),
                });
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| MirrorError::Archive {
        chart: entry.name.clone(),
        version: entry.version.clone(),
        reason: "index.yaml lists no URL for it".into(),
    }))
}

/// `<archive URL>.prov`, where `helm package --sign` output is served.
fn provenance_url(archive: &url::Url) -> url::Url {
    let mut url = archive.clone();
    url.set_path(&format!("{}.prov", archive.path()));
    url
}

fn check_provenance(
    keyring: &Keyring,
    prov_url: &url::Url,
    provenance: Option<&[u8]>,
    url: &url::Url,
    archive: &[u8],
    entry: &IndexEntry,
    options: &MirrorOptions,
) -> Result<ProvenanceState, MirrorError> {
    let refused = |reason: String| MirrorError::Provenance {
        chart: entry.name.clone(),
        version: entry.version.clone(),
        url: redact(prov_url),
        reason,
    };
    let Some(provenance) = provenance else {
        if options.require_provenance {
            return Err(refused(
                "there is none (HTTP 404), and --require-provenance is set".into(),
            ));
        }
        return Ok(ProvenanceState::Absent);
    };
    let check = keyring
        .verify(
            provenance,
            archive,
            &archive_file_name(url),
            &entry.name,
            &entry.version,
        )
        .map_err(refused)?;
    Ok(ProvenanceState::Verified {
        signer: check.signer,
        fingerprint: check.fingerprint,
    })
}

/// Pushes the chart as `helm push` does: with a `.prov`, the manifest carries it as a second
/// layer after the chart layer; without, [`RegistryClient::push_chart`]'s layout.
async fn push(
    registry: &RegistryClient,
    target: &OciReference,
    artifact: &ChartArtifact,
    provenance: Option<Vec<u8>>,
) -> Result<String, RegistryError> {
    let Some(provenance) = provenance else {
        return Ok(registry.push_chart(target, artifact, None).await?.digest);
    };
    let repository = target.join(&artifact.name)?;
    let config = registry
        .push_blob(
            &repository,
            HELM_CONFIG_MEDIA_TYPE,
            artifact.config_json.clone(),
        )
        .await?;
    let layer = registry
        .push_blob(
            &repository,
            HELM_CHART_LAYER_MEDIA_TYPE,
            artifact.archive.clone(),
        )
        .await?;
    let prov = registry
        .push_blob(&repository, HELM_PROVENANCE_MEDIA_TYPE, provenance)
        .await?;
    let mut manifest = ImageManifest::new(config, vec![layer, prov]);
    if !artifact.annotations.is_empty() {
        manifest.annotations = Some(artifact.annotations.clone());
    }
    registry
        .push_manifest(
            &repository.with_tag(&version_to_tag(&artifact.version)),
            manifest.to_bytes(),
            OCI_MANIFEST_MEDIA_TYPE,
        )
        .await
}

/// The manifest's `created` annotation: the index's `created` (the archive's time when it was
/// indexed), so mirroring the same archive again gives the same manifest; now when absent.
fn created(entry: &IndexEntry) -> String {
    chrono::DateTime::parse_from_rfc3339(entry.created.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn sign(
    registry: &RegistryClient,
    tagged: &OciReference,
    digest: &str,
    signer: &Signer,
) -> Result<SignState, MirrorError> {
    let reference = tagged.with_digest(digest);
    let failed = |source| MirrorError::Sign {
        reference: reference.to_string(),
        source,
    };
    let outcome = match signer {
        Signer::Key { key, options } => crate::sign::sign(registry, &reference, key, options)
            .await
            .map_err(failed)?,
        Signer::Keyless {
            token,
            fulcio,
            options,
        } => {
            // A fresh key per signature: its certificate is the only thing tying it to the
            // identity, and it lives for minutes.
            let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)
                .map_err(|e| failed(crate::sign::SignError::Key(e)))?;
            let mut options = options.clone();
            options.certificate = Some(
                fulcio
                    .signing_certificate(token, &key)
                    .await
                    .map_err(failed)?,
            );
            crate::sign::sign(registry, &reference, &key, &options)
                .await
                .map_err(failed)?
        }
    };
    Ok(if outcome.already_signed() {
        SignState::AlreadySigned
    } else {
        SignState::Signed
    })
}
