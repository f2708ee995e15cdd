//! The effective values of fields that default to something outside the spec (the object's name
//! and namespace) or that need parsing (durations), so the reconciler reads them in one way.

use super::SignedChartRelease;
use super::validate::{FieldError, parse_duration};
use kube::ResourceExt;
use std::time::Duration;

impl SignedChartRelease {
    /// The Helm release name: `spec.releaseName`, or the object's name.
    pub fn effective_release_name(&self) -> String {
        self.spec
            .release_name
            .clone()
            .unwrap_or_else(|| self.name_any())
    }

    /// The namespace the chart is installed into: `spec.targetNamespace`, or the object's
    /// namespace (`None` only for an object that has not been stored yet).
    pub fn effective_target_namespace(&self) -> Option<String> {
        self.spec
            .target_namespace
            .clone()
            .or_else(|| self.namespace())
    }

    /// `spec.interval` as a duration.
    pub fn interval(&self) -> Result<Duration, FieldError> {
        parse_duration("spec.interval", &self.spec.interval)
    }

    /// `spec.timeout` as a duration.
    pub fn timeout(&self) -> Result<Duration, FieldError> {
        parse_duration("spec.timeout", &self.spec.timeout)
    }

    /// How long uninstalling may take: `spec.uninstall.timeout`, or `spec.timeout`.
    pub fn uninstall_timeout(&self) -> Result<Duration, FieldError> {
        match self
            .spec
            .uninstall
            .as_ref()
            .and_then(|u| u.timeout.as_deref())
        {
            Some(timeout) => parse_duration("spec.uninstall.timeout", timeout),
            None => self.timeout(),
        }
    }

    /// Whether to wait for applied objects to become ready (`spec.health.wait`, default true).
    pub fn waits_for_health(&self) -> bool {
        self.spec.health.as_ref().is_none_or(|h| h.wait)
    }

    /// How many distinct authorities must verify (`spec.verify.threshold`, default 1).
    pub fn signer_threshold(&self) -> usize {
        self.spec
            .verify
            .threshold
            .and_then(|t| usize::try_from(t).ok())
            .unwrap_or(1)
            .max(1)
    }
}
