//! Go `text/template` semantics with the Sprig v3 function library, in pure Rust.
//!
//! This crate is the bottom of Signet's rendering stack: it knows nothing of Helm or Kubernetes.
//! It owns the value model ([`Value`]), Go's printing rules ([`fmt`]), the template lexer
//! ([`lex`]), parser ([`parse`]) and evaluator, Go's builtin functions ([`builtins`]) and Sprig's
//! deterministic functions ([`sprig`]).
//!
//! A [`Template`] is a set of named templates, like Go's `*template.Template`:
//!
//! ```
//! use signet_gotemplate::{Template, Value};
//! let mut t = Template::with_funcs("page", signet_gotemplate::sprig::functions());
//! t.parse_named("_helpers.tpl", r#"{{define "greet"}}hello {{.}}{{end}}"#).unwrap();
//! t.parse(r#"{{template "greet" .name | upper}} {{1e6}}"#).unwrap();
//! let data = Value::from_json(&serde_json::json!({"name": "world"}));
//! assert_eq!(t.execute(&data).unwrap(), "hello WORLD 1e+06");
//! ```
//!
//! Helm's engine-aware functions (`include`, `tpl`, …) are registered by the layer above as
//! [`EngineFn`]s, which get an [`ExecContext`] to execute templates of the set or new text (see
//! [`template`]). Executions are bounded by [`Limits`] (template depth, output size, steps) and
//! never panic on bad input: errors are [`Error`]s worded like Go's.
#![forbid(unsafe_code)]

pub mod builtins;
pub mod error;
mod exec;
pub mod fmt;
pub mod gostr;
pub mod lex;
pub mod literal;
pub mod parse;
mod printable;
pub mod sprig;
pub mod template;
pub mod value;

pub use error::Error;
pub use template::{EngineFn, ExecContext, Limits, MissingKey, Template};
pub use value::{Func, FuncMap, Object, Value};
