//! Condition types, reasons, and the one rule that summarises them into `Ready`.
//!
//! The controller sets the step conditions (`SourceVerified`, `Applied`, `Healthy`) and the
//! kstatus-style `Reconciling` / `Stalled` conditions as it works; `Ready` is never set directly but
//! always computed by [`summarize_ready`], so the summary cannot disagree with the steps.

pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition types set on a `SignedChartRelease`.
pub mod types {
    /// The summary: True when the chart is verified, applied and healthy for the current generation.
    pub const READY: &str = "Ready";
    /// True while the controller is working towards the current generation.
    pub const RECONCILING: &str = "Reconciling";
    /// True when progress is impossible without a change to the spec or its inputs (bad spec,
    /// signature policy violated, ...); retrying will not help.
    pub const STALLED: &str = "Stalled";
    /// True when the chart artifact was pulled and its signatures satisfy `spec.verify`.
    pub const SOURCE_VERIFIED: &str = "SourceVerified";
    /// True when the rendered objects were applied (and stale ones pruned).
    pub const APPLIED: &str = "Applied";
    /// True when the applied objects are ready (or health checking is disabled).
    pub const HEALTHY: &str = "Healthy";

    /// The step conditions, in the order the controller runs the steps.
    pub const STEPS: [&str; 3] = [SOURCE_VERIFIED, APPLIED, HEALTHY];
}

/// Condition reasons (CamelCase, machine-readable).
pub mod reasons {
    /// The step, or the whole reconciliation, succeeded.
    pub const SUCCEEDED: &str = "Succeeded";
    /// Work is in progress.
    pub const PROGRESSING: &str = "Progressing";
    /// `spec.suspend` is true.
    pub const SUSPENDED: &str = "Suspended";
    /// The spec fails validation (a rule the API server could not check, e.g. a bad regexp).
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// A release in `spec.dependsOn` is not Ready yet.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// No published chart version matches `spec.chart.version`, or the pinned digest is missing.
    pub const CHART_NOT_FOUND: &str = "ChartNotFound";
    /// The registry could not be reached or refused the request.
    pub const PULL_FAILED: &str = "PullFailed";
    /// A referenced Secret or ConfigMap (credentials, keys, trust root, values) is missing or invalid.
    pub const REFERENCE_NOT_FOUND: &str = "ReferenceNotFound";
    /// The signatures do not satisfy `spec.verify`.
    pub const VERIFICATION_FAILED: &str = "VerificationFailed";
    /// The chart could not be rendered with the given values.
    pub const RENDER_FAILED: &str = "RenderFailed";
    /// The API server rejected an apply or prune.
    pub const APPLY_FAILED: &str = "ApplyFailed";
    /// Applied objects did not become ready within the timeout.
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// Health checking is disabled (`spec.health.wait: false`), so `Healthy` is True without a check.
    pub const HEALTH_CHECK_SKIPPED: &str = "HealthCheckSkipped";
    /// A step condition has not been reported for the current generation yet.
    pub const AWAITING_STEP: &str = "AwaitingStep";
}

/// Condition status values.
pub mod status {
    /// The condition holds.
    pub const TRUE: &str = "True";
    /// The condition does not hold.
    pub const FALSE: &str = "False";
    /// It is not known (yet) whether the condition holds.
    pub const UNKNOWN: &str = "Unknown";
}

/// The computed `Ready` condition before it is stamped with a time and generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadySummary {
    /// `True`, `False` or `Unknown`.
    pub status: &'static str,
    /// One of [`reasons`] or the reason of the condition that decided the summary.
    pub reason: String,
    /// Human-readable message, shown in the `Status` printer column.
    pub message: String,
}

/// Computes `Ready` from the other conditions, for the object at `generation`.
///
/// A condition whose `observedGeneration` is older than `generation` is stale and counts as
/// unknown. In order of precedence:
/// 1. `Stalled=True` → Ready False with the stall's reason: retrying will not help.
/// 2. A step condition False → Ready False with the first failing step's reason and message.
/// 3. `Reconciling=True` → Ready Unknown: work is in progress.
/// 4. Every step True → Ready True.
/// 5. Otherwise Ready Unknown, naming the first step not reported yet.
pub fn summarize_ready(conditions: &[Condition], generation: Option<i64>) -> ReadySummary {
    let current = |type_: &str| {
        conditions.iter().find(|c| c.type_ == type_).filter(|c| {
            match (c.observed_generation, generation) {
                (Some(observed), Some(wanted)) => observed >= wanted,
                _ => true,
            }
        })
    };
    let is = |c: Option<&Condition>, s: &str| c.is_some_and(|c| c.status == s);

    if let Some(stalled) = current(types::STALLED).filter(|c| c.status == status::TRUE) {
        return ReadySummary {
            status: status::FALSE,
            reason: stalled.reason.clone(),
            message: stalled.message.clone(),
        };
    }
    if let Some(failed) = types::STEPS
        .iter()
        .filter_map(|t| current(t))
        .find(|c| c.status == status::FALSE)
    {
        return ReadySummary {
            status: status::FALSE,
            reason: failed.reason.clone(),
            message: failed.message.clone(),
        };
    }
    let reconciling = current(types::RECONCILING);
    if is(reconciling, status::TRUE) {
        let message = reconciling.map(|c| c.message.clone()).unwrap_or_default();
        return ReadySummary {
            status: status::UNKNOWN,
            reason: reasons::PROGRESSING.to_owned(),
            message,
        };
    }
    match types::STEPS.iter().find(|t| !is(current(t), status::TRUE)) {
        None => {
            let message = current(types::HEALTHY)
                .map(|c| c.message.clone())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "release is verified, applied and healthy".to_owned());
            ReadySummary {
                status: status::TRUE,
                reason: reasons::SUCCEEDED.to_owned(),
                message,
            }
        }
        Some(missing) => ReadySummary {
            status: status::UNKNOWN,
            reason: reasons::AWAITING_STEP.to_owned(),
            message: format!("waiting for {missing} to be reported"),
        },
    }
}

/// Inserts or replaces the condition of the same type, keeping its `lastTransitionTime` when the
/// status did not change (the Kubernetes convention: the time of the last status flip).
pub fn set_condition(conditions: &mut Vec<Condition>, mut condition: Condition) {
    match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        Some(existing) => {
            if existing.status == condition.status {
                condition.last_transition_time = existing.last_transition_time.clone();
            }
            *existing = condition;
        }
        None => conditions.push(condition),
    }
}

/// Recomputes `Ready` from the other conditions and stores it with [`set_condition`].
pub fn update_ready(conditions: &mut Vec<Condition>, generation: Option<i64>, now: Time) {
    let summary = summarize_ready(conditions, generation);
    set_condition(
        conditions,
        Condition {
            type_: types::READY.to_owned(),
            status: summary.status.to_owned(),
            reason: summary.reason,
            message: summary.message,
            observed_generation: generation,
            last_transition_time: now,
        },
    );
}
