//! The `SignedChartRelease` reconciler: watches, the reconcile driver (validate, gate, resolve,
//! verify, pull, values, render, apply, prune, health, status), Events, metrics and leader election.
//! One of the two modules that hold a Kubernetes client.

pub mod leader;
pub mod metrics;
