//! Helm chart semantics on top of the Go template engine: load a chart (directory, archive or bytes),
//! compute its values, render its templates, and print manifests exactly like `helm template`.
//!
//! Pure: no network, no Kubernetes client, no async. The CLI and the controller both call it.
#![forbid(unsafe_code)]

pub mod chart;
pub mod render;

pub mod values;
pub mod yaml;

/// Cores besides the calling thread's, for the work a load or render hands to other threads.
/// Asked once per process: on Linux `available_parallelism` reads cgroup files each time, and
/// renders are many.
pub(crate) fn spare_cores() -> usize {
    static SPARE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SPARE.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get().saturating_sub(1))
            .unwrap_or(0)
    })
}
