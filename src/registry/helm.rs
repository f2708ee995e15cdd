//! Helm charts as OCI artifacts, in the layout `helm push` writes: an OCI image manifest whose
//! config is the Chart.yaml metadata as JSON and whose single layer is the chart `.tgz`,
//! annotated with `org.opencontainers.image.*`, tagged with the version (`+` → `_`).

use std::collections::BTreeMap;
use std::path::Path;

use super::client::{ProgressFn, RegistryClient};
use super::error::RegistryError;
use super::manifest::{Descriptor, FetchedManifest, ImageManifest, OCI_MANIFEST_MEDIA_TYPE};
use super::reference::OciReference;
use super::version::version_to_tag;

/// Config media type of a Helm chart artifact.
pub const HELM_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// Layer media type of the chart archive.
pub const HELM_CHART_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Layer media type of a Helm provenance file (ignored on pull, like Helm without `--verify`).
pub const HELM_PROVENANCE_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";
/// Chart layer media type written by Helm 3.0–3.7-era tooling; still accepted by Helm.
pub const LEGACY_CHART_LAYER_MEDIA_TYPE: &str = "application/tar+gzip";

/// What to push: the packaged archive plus the metadata Helm derives the artifact from.
#[derive(Debug, Clone)]
pub struct ChartArtifact {
    /// Chart name; the pushed repository is `<target>/<name>`.
    pub name: String,
    /// Chart version; the tag is this with `+` → `_`.
    pub version: String,
    /// Chart.yaml metadata serialised as JSON (the config blob).
    pub config_json: Vec<u8>,
    /// The chart `.tgz`.
    pub archive: Vec<u8>,
    /// Manifest annotations (see [`helm_annotations`]).
    pub annotations: BTreeMap<String, String>,
}

/// The outcome of a chart push.
#[derive(Debug, Clone)]
pub struct PushedChart {
    /// `oci://host/repo/name:tag@digest`.
    pub reference: OciReference,
    /// The manifest digest.
    pub digest: String,
    /// The chart layer's descriptor.
    pub layer: Descriptor,
}

/// A chart manifest as fetched, with the chart layer picked out.
#[derive(Debug, Clone)]
pub struct ChartManifest {
    /// The reference, now carrying the manifest digest.
    pub reference: OciReference,
    /// The raw manifest (bytes, media type, digest).
    pub fetched: FetchedManifest,
    /// The parsed manifest.
    pub manifest: ImageManifest,
    /// The chart content layer.
    pub chart_layer: Descriptor,
}

/// The `org.opencontainers.image.*` annotations `helm push` writes, from the chart's metadata.
/// `created` is RFC 3339; custom Chart.yaml annotations are kept unless they would override
/// the title or version.
pub fn helm_annotations(
    metadata: &signet_render::chart::ChartMetadata,
    created: &str,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in &metadata.annotations {
        if k != "org.opencontainers.image.version" && k != "org.opencontainers.image.title" {
            out.insert(k.clone(), v.clone());
        }
    }
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            out.insert(k.to_string(), v.to_string());
        }
    };
    put(
        "org.opencontainers.image.description",
        &metadata.description,
    );
    put("org.opencontainers.image.title", &metadata.name);
    put("org.opencontainers.image.version", &metadata.version);
    put("org.opencontainers.image.url", &metadata.home);
    put("org.opencontainers.image.created", created);
    if let Some(source) = metadata.sources.first() {
        put("org.opencontainers.image.source", source);
    }
    let authors = metadata
        .maintainers
        .iter()
        .map(|m| {
            if m.email.is_empty() {
                m.name.clone()
            } else {
                format!("{} ({})", m.name, m.email)
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    put("org.opencontainers.image.authors", &authors);
    out
}

impl RegistryClient {
    /// Pushes a chart under `target` (`oci://host/path`): blobs first, then the manifest
    /// tagged with the chart version, to `oci://host/path/<name>:<tag>`.
    pub async fn push_chart(
        &self,
        target: &OciReference,
        chart: &ChartArtifact,
        progress: Option<ProgressFn>,
    ) -> Result<PushedChart, RegistryError> {
        if target.tag.is_some() || target.digest.is_some() {
            return Err(RegistryError::InvalidReference {
                reference: target.to_string(),
                reason: "push target must not have a tag or digest: the chart version is the tag"
                    .into(),
            });
        }
        let repository = target.join(&chart.name)?;
        let tag = version_to_tag(&chart.version);
        let config = self
            .push_blob(
                &repository,
                HELM_CONFIG_MEDIA_TYPE,
                chart.config_json.clone(),
            )
            .await?;
        let layer = self
            .push_blob(
                &repository,
                HELM_CHART_LAYER_MEDIA_TYPE,
                chart.archive.clone(),
            )
            .await?;
        if let Some(p) = &progress {
            p(chart.archive.len() as u64);
        }
        let mut manifest = ImageManifest::new(config, vec![layer.clone()]);
        if !chart.annotations.is_empty() {
            manifest.annotations = Some(chart.annotations.clone());
        }
        let tagged = repository.with_tag(&tag);
        let digest = self
            .push_manifest(&tagged, manifest.to_bytes(), OCI_MANIFEST_MEDIA_TYPE)
            .await?;
        Ok(PushedChart {
            reference: tagged.with_digest(&digest),
            digest,
            layer,
        })
    }

    /// Fetches and checks a chart manifest: an OCI image manifest with the Helm config media
    /// type and exactly one chart layer.
    pub async fn fetch_chart_manifest(
        &self,
        reference: &OciReference,
    ) -> Result<ChartManifest, RegistryError> {
        let fetched = self.fetch_manifest(reference).await?;
        let invalid = |reason: String| RegistryError::InvalidArtifact {
            reference: reference.to_string(),
            reason,
        };
        let manifest = fetched
            .image_manifest()
            .map_err(|e| invalid(format!("not an OCI image manifest: {e}")))?;
        if manifest.config.media_type != HELM_CONFIG_MEDIA_TYPE {
            return Err(invalid(format!(
                "not a Helm chart: config media type is {:?}, expected {HELM_CONFIG_MEDIA_TYPE}",
                manifest.config.media_type
            )));
        }
        let mut charts = manifest.layers.iter().filter(|l| {
            l.media_type == HELM_CHART_LAYER_MEDIA_TYPE
                || l.media_type == LEGACY_CHART_LAYER_MEDIA_TYPE
        });
        let chart_layer = match (charts.next(), charts.next()) {
            (Some(layer), None) => layer.clone(),
            (None, _) => return Err(invalid("manifest has no chart content layer".into())),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "manifest has more than one chart content layer".into(),
                ));
            }
        };
        Ok(ChartManifest {
            reference: reference.with_digest(&fetched.digest),
            fetched,
            manifest,
            chart_layer,
        })
    }

    /// Downloads the chart archive of `chart` to `destination` atomically (temp file + rename).
    pub async fn pull_chart_to_file(
        &self,
        chart: &ChartManifest,
        max_bytes: u64,
        destination: &Path,
        progress: Option<ProgressFn>,
    ) -> Result<(), RegistryError> {
        let repository = OciReference {
            tag: None,
            digest: None,
            ..chart.reference.clone()
        };
        self.fetch_blob_to_file(
            &repository,
            &chart.chart_layer,
            max_bytes,
            destination,
            progress,
        )
        .await
    }

    /// Downloads the chart archive of `chart` into memory.
    pub async fn pull_chart(
        &self,
        chart: &ChartManifest,
        max_bytes: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let repository = OciReference {
            tag: None,
            digest: None,
            ..chart.reference.clone()
        };
        self.fetch_blob(&repository, &chart.chart_layer, max_bytes)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_render::chart::{ChartMetadata, Maintainer};

    #[test]
    fn annotations_follow_helm() {
        let md = ChartMetadata {
            name: "hello".into(),
            version: "1.0.0+b".into(),
            description: "Hi".into(),
            home: "https://example.com".into(),
            sources: vec!["https://src".into()],
            maintainers: vec![
                Maintainer {
                    name: "A".into(),
                    email: "a@x".into(),
                    url: String::new(),
                },
                Maintainer {
                    name: "B".into(),
                    ..Default::default()
                },
            ],
            annotations: [
                (
                    "org.opencontainers.image.title".to_string(),
                    "no".to_string(),
                ),
                ("custom".to_string(), "yes".to_string()),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let a = helm_annotations(&md, "2024-01-01T00:00:00Z");
        assert_eq!(a["org.opencontainers.image.title"], "hello");
        assert_eq!(a["org.opencontainers.image.version"], "1.0.0+b");
        assert_eq!(a["org.opencontainers.image.authors"], "A (a@x), B");
        assert_eq!(a["org.opencontainers.image.source"], "https://src");
        assert_eq!(a["custom"], "yes");
    }
}
