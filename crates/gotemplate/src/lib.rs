//! Go `text/template` semantics with the Sprig v3 function library, in pure Rust.
//!
//! This crate is the bottom of Signet's rendering stack: it knows nothing of Helm or Kubernetes.
//! It owns the value model ([`Value`]), Go's printing rules ([`fmt`]), the template lexer, parser and
//! evaluator, Go's builtin functions and Sprig's deterministic functions. Helm's engine-aware
//! functions (`include`, `tpl`, …) are registered by the layer above through the extension hooks.
#![forbid(unsafe_code)]

pub mod builtins;
pub mod error;
mod exec;
pub mod fmt;
pub mod lex;
pub mod literal;
pub mod parse;
pub mod sprig;
pub mod template;
pub mod value;

pub use error::Error;
pub use template::{EngineFn, ExecContext, Limits, MissingKey, Template};
pub use value::{Func, FuncMap, Object, Value};
