//! The process-wide rustls crypto provider.
//!
//! kube defaults to `ring` and sigstore/oci-client to `aws-lc-rs`; linking both and letting rustls
//! guess panics at the first TLS handshake. Every binary calls [`install_crypto_provider`] first.

/// Installs aws-lc-rs as rustls' process default. Idempotent.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
