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

pub use release::{RenderOptions, RenderedRelease, TemplateError, render_release, template};
pub mod invocation;

pub use invocation::{InvocationError, TemplateInvocation};
