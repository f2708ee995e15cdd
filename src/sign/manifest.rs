//! The OCI shapes cosign stores signatures in: one `simplesigning` layer per signature (payload
//! blob + annotations carrying the signature, certificate, chain and Rekor bundle), wrapped in an
//! image manifest whose config is the synthetic image config cosign writes. The same shapes serve
//! the `.sig` tag scheme and OCI 1.1 referrers (which add a `subject` and cosign's artifact type).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::registry::manifest::{Descriptor, ImageIndex, ImageManifest, OCI_INDEX_MEDIA_TYPE};

pub use crate::registry::cosign::{
    BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, IMAGE_CONFIG_MEDIA_TYPE,
    SIGNATURE_ANNOTATION, SIGNATURE_ARTIFACT_TYPE, SIMPLE_SIGNING_MEDIA_TYPE, TIMESTAMP_ANNOTATION,
    fallback_tag, signature_tag,
};

/// One signature as stored: the payload bytes and the annotations of its layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLayer {
    pub payload: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

impl SignatureLayer {
    /// The layer's descriptor (digest of the payload, annotations attached).
    pub fn descriptor(&self) -> Descriptor {
        let mut descriptor = Descriptor::for_bytes(SIMPLE_SIGNING_MEDIA_TYPE, &self.payload);
        descriptor.annotations = Some(self.annotations.clone());
        descriptor
    }
}

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Serialize)]
struct ImageConfig<'a> {
    architecture: &'static str,
    created: &'static str,
    history: Vec<History>,
    os: &'static str,
    rootfs: RootFs<'a>,
    config: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct History {
    created: &'static str,
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<&'a str>,
}

/// The image config cosign writes for a signature manifest: one history entry and one diff id
/// per layer, zero timestamps (so identical signature sets give identical configs).
pub fn signature_config(layers: &[Descriptor]) -> Vec<u8> {
    let config = ImageConfig {
        architecture: "",
        created: ZERO_TIME,
        history: layers
            .iter()
            .map(|_| History { created: ZERO_TIME })
            .collect(),
        os: "",
        rootfs: RootFs {
            kind: "layers",
            diff_ids: layers.iter().map(|l| l.digest.as_str()).collect(),
        },
        config: BTreeMap::new(),
    };
    // Plain structs of strings cannot fail to serialise.
    serde_json::to_vec(&config).unwrap_or_default()
}

/// A signature manifest over `layers`, with its config bytes (to push as a blob first).
/// `subject` makes it an OCI 1.1 referrer (config type = cosign's signature artifact type).
pub fn signature_manifest(
    layers: Vec<Descriptor>,
    subject: Option<Descriptor>,
) -> (ImageManifest, Vec<u8>) {
    let config_bytes = signature_config(&layers);
    let config_media_type = if subject.is_some() {
        SIGNATURE_ARTIFACT_TYPE
    } else {
        IMAGE_CONFIG_MEDIA_TYPE
    };
    let mut manifest = ImageManifest::new(
        Descriptor::for_bytes(config_media_type, &config_bytes),
        layers,
    );
    manifest.subject = subject;
    (manifest, config_bytes)
}

/// The referrers fallback index (tag `sha256-<hex>`) with `entry` appended (replacing an entry
/// with the same digest), as registries without the referrers API need.
pub fn fallback_index_with(existing: Option<ImageIndex>, entry: Descriptor) -> ImageIndex {
    let mut index = existing.unwrap_or(ImageIndex {
        schema_version: 2,
        media_type: Some(OCI_INDEX_MEDIA_TYPE.to_string()),
        manifests: Vec::new(),
        annotations: None,
    });
    index.manifests.retain(|m| m.digest != entry.digest);
    index.manifests.push(entry);
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_matches_cosign_for_two_layers() {
        // Captured from a `.sig` manifest after two `cosign sign` runs (2.5).
        let expected = r#"{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"},{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["sha256:92c0fa4a49cd84998fe6325bf9a1b9bfc263e60700da940723dc8da4c23aa4cf","sha256:92c0fa4a49cd84998fe6325bf9a1b9bfc263e60700da940723dc8da4c23aa4cf"]},"config":{}}"#;
        let layer = Descriptor {
            media_type: SIMPLE_SIGNING_MEDIA_TYPE.into(),
            digest: "sha256:92c0fa4a49cd84998fe6325bf9a1b9bfc263e60700da940723dc8da4c23aa4cf"
                .into(),
            size: 239,
            artifact_type: None,
            annotations: None,
        };
        let config = signature_config(&[layer.clone(), layer]);
        assert_eq!(String::from_utf8(config).unwrap(), expected);
    }

    #[test]
    fn referrer_manifests_carry_subject_and_artifact_type() {
        let layer = SignatureLayer {
            payload: b"{}".to_vec(),
            annotations: BTreeMap::from([(SIGNATURE_ANNOTATION.into(), "c2ln".into())]),
        };
        let subject = Descriptor::for_bytes("application/vnd.oci.image.manifest.v1+json", b"m");
        let (manifest, config) = signature_manifest(vec![layer.descriptor()], Some(subject));
        assert_eq!(manifest.config.media_type, SIGNATURE_ARTIFACT_TYPE);
        assert_eq!(manifest.config.size, config.len() as u64);
        assert!(manifest.subject.is_some());
        let text = String::from_utf8(manifest.to_bytes()).unwrap();
        assert!(text.contains(SIGNATURE_ANNOTATION), "{text}");
    }

    #[test]
    fn tags_follow_cosigns_scheme_and_index_appends() {
        assert_eq!(signature_tag("sha256:ab"), "sha256-ab.sig");
        assert_eq!(fallback_tag("sha256:ab"), "sha256-ab");
        let a = Descriptor::for_bytes("x", b"a");
        let b = Descriptor::for_bytes("x", b"b");
        let index = fallback_index_with(None, a.clone());
        let index = fallback_index_with(Some(index), b.clone());
        let index = fallback_index_with(Some(index), a.clone());
        let digests: Vec<_> = index.manifests.iter().map(|m| m.digest.clone()).collect();
        assert_eq!(digests, vec![b.digest, a.digest]);
    }
}
