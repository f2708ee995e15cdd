//! The SignedChartRelease API, offline: the committed CRD matches the types, is a structural schema
//! whose CEL rules compile, the samples pass every rule the API server applies (OpenAPI, CEL, no
//! unknown fields) and the Rust mirror `validate()`, invalid specs are rejected by both with the
//! field named, `Ready` is summarised correctly, `config/` is consistent, and the controller
//! placeholder serves its probes and stops cleanly on SIGTERM.

mod cel;
mod config;
mod controller;
mod crd;
mod crd_validation;
mod effective;
mod rules;
mod samples;
mod schema;
mod status;
mod support;
