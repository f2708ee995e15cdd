//! Signet: a GitOps controller and CLI for signed Helm charts stored as OCI artifacts.
//!
//! The data flows one way through these modules:
//! `api` (CRD types) → `registry` (OCI pull/push, auth) → `verify` (signature policy) →
//! `chart` (load, values, dependencies) → `render` (Go templates, Helm functions) →
//! `postrender` (`spec.postRenderers`: kustomize-style patches) →
//! `apply` (server-side apply, prune, health) → `controller` (reconcile, status), with `cli` beside it.
//! `chart` and `render` live in the pure `signet-render` crate (re-exported as [`render`]) over the
//! pure `signet-gotemplate` engine. Beside the pipeline: `package` (lint and reproducible archives),
//! `sign` (cosign-compatible signing) and `mirror` (classic index.yaml repositories into OCI) serve
//! the build-side CLI. `apply` and `controller` are
//! the next milestone; the controller binary is a health-serving placeholder until then.
#![forbid(unsafe_code)]

pub mod api;
pub mod apply;
pub mod cli;
pub mod controller;
pub mod mirror;
pub mod package;
pub mod postrender;
pub mod registry;
pub mod sign;
pub mod tls;
pub mod verify;

pub use signet_render as render;
