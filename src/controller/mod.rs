//! The `SignedChartRelease` reconciler: watches, the reconcile driver (validate, gate, resolve,
//! verify, pull, values, render, apply, prune, health, status), Events, metrics and leader election.
//! One of the two modules that hold a Kubernetes client.
// The steps below are driven by `reconcile`, which lands with the `apply` module it calls.
#![allow(dead_code)]

mod cache;
mod clients;
mod events;
mod gate;
mod inputs;
mod memory;
pub mod metrics;
mod pull;
mod refs;
mod render;
mod source;
mod status;
mod values;
mod verify;
