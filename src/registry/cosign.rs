//! Where and under which names cosign stores signatures in a registry: the media types, layer
//! annotations and tags that signing writes and verification reads. Kept below both so the two
//! cannot drift apart.

/// Media type of a classic cosign signature layer (its blob is the simple-signing payload).
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer annotation holding the base64 signature over the payload.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Layer annotation holding the signing certificate (PEM).
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// Layer annotation holding the certificate chain up to the root (concatenated PEM).
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// Layer annotation holding the Rekor bundle (signed entry timestamp + entry).
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// Layer annotation holding an RFC 3161 timestamp over the signature.
pub const TIMESTAMP_ANNOTATION: &str = "dev.sigstore.cosign/rfc3161timestamp";
/// Config media type (and so artifact type) of cosign's OCI 1.1 signature referrers.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// Config media type of `.sig`-tag signature manifests.
pub const IMAGE_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

/// The `.sig` tag of a manifest digest: `sha256:<hex>` → `sha256-<hex>.sig`.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", fallback_tag(digest))
}

/// The referrers fallback tag of a digest: `sha256:<hex>` → `sha256-<hex>`.
pub fn fallback_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}
