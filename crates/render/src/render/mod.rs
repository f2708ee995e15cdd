//! Rendering a chart tree like Helm's engine and `helm template`: the template objects, Helm's
//! engine functions, manifest sorting and output.

pub mod engine;
pub mod glob;
pub mod manifest_checker;
pub mod manifests;
pub mod objects;
mod parse_ahead;

pub use engine::{Engine, Lookup, NoCluster, RenderError};
pub mod release;

pub use release::{
    RenderOptions, RenderedRelease, TemplateError, render_release, template, template_stdout,
};
pub mod invocation;

pub use invocation::{InvocationError, TemplateInvocation};

pub(crate) use crate::spare_cores;

/// Lowers the calling thread's scheduling priority to the lowest nice value. For work that must
/// be done before the render returns but that nothing waits on until then (schema checks,
/// manifest checks): on a machine with fewer free cores than threads, the template execution
/// and the parsing it waits on run first, and this work fills the gaps. Best effort: a refusal
/// leaves the priority as it was.
pub(crate) fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        // On Linux the nice value is per thread, addressed by thread id.
        let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19);
    }
}
