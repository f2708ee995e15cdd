//! The SignedChartRelease API, offline: the committed CRD matches the types, is a structural schema
//! whose CEL rules compile, the samples pass every rule the API server applies (OpenAPI, CEL, no
//! unknown fields) and the Rust mirror `validate()`, invalid specs are rejected by both with the
//! field named, the API server's own CRD rules hold (`crd_validation`), `Ready` is summarised
//! correctly, `config/` is consistent, and the `signet-controller` binary (against the API-server
//! double) serves its probes and metrics, elects a leader and stops cleanly on SIGTERM.

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
