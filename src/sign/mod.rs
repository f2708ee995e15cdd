//! Signing OCI artifacts the way cosign does, so `cosign verify` and `signet verify` accept the
//! result: resolve the reference to a digest, build cosign's simple-signing payload, sign it
//! with a key (optionally with a bring-your-own certificate chain) or keylessly (OIDC token →
//! Fulcio certificate), optionally log it in Rekor, and store it where cosign looks (the
//! `sha256-<hex>.sig` tag, appending; or an OCI 1.1 referrer with the fallback tag index).

pub mod manifest;
pub mod payload;
