//! Helm chart semantics on top of the Go template engine: load a chart (directory, archive or bytes),
//! compute its values, render its templates, and print manifests exactly like `helm template`.
//!
//! Pure: no network, no Kubernetes client, no async. The CLI and the controller both call it.
#![forbid(unsafe_code)]

pub mod chart;
pub mod render;

pub mod values;
pub mod yaml;
