//! Step 11, status: the conditions of one finished attempt (step conditions, kstatus
//! `Reconciling`/`Stalled`, and `Ready` computed by `api::conditions::update_ready`), and the JSON
//! merge patch that turns the stored status into the new one — `None` when nothing changed, so an
//! unchanged release costs no write.

use crate::api::SignedChartReleaseStatus;
use crate::api::conditions::{
    Condition, Time, reasons, set_condition, status, types, update_ready,
};
use serde_json::{Map, Value};

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Verified, applied and healthy (or health not waited for).
    Ready,
    /// Waiting for something outside the release (a dependency); not a failure.
    Waiting { reason: String, message: String },
    /// A step failed. `condition` is the step condition it failed (`SourceVerified`, `Applied`,
    /// `Healthy`), or `Stalled` alone for a spec problem.
    Failed {
        condition: &'static str,
        reason: String,
        message: String,
        /// Retrying unchanged cannot help (bad spec, signature policy not met).
        stalled: bool,
    },
}

/// One condition, stamped for `generation`.
pub fn condition(
    type_: &str,
    st: &str,
    reason: &str,
    message: &str,
    generation: i64,
    now: &Time,
) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: st.to_owned(),
        reason: reason.to_owned(),
        message: truncate(message),
        observed_generation: Some(generation),
        last_transition_time: now.clone(),
    }
}

/// Condition messages are bounded (32 KiB by the API); keep them readable well below that.
fn truncate(message: &str) -> String {
    const MAX: usize = 4096;
    if message.len() <= MAX {
        return message.to_owned();
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

/// Sets a step condition True with reason `reason`.
pub fn step_ok(
    s: &mut SignedChartReleaseStatus,
    type_: &str,
    reason: &str,
    message: &str,
    generation: i64,
    now: &Time,
) {
    set_condition(
        &mut s.conditions,
        condition(type_, status::TRUE, reason, message, generation, now),
    );
}

/// Ends an attempt: the outcome's conditions, `Reconciling`/`Stalled`, `observedGeneration`,
/// then `Ready` from all of them.
pub fn finish(s: &mut SignedChartReleaseStatus, outcome: &Outcome, generation: i64, now: &Time) {
    let set = |s: &mut SignedChartReleaseStatus, t: &str, st: &str, r: &str, m: &str| {
        set_condition(&mut s.conditions, condition(t, st, r, m, generation, now));
    };
    match outcome {
        Outcome::Ready => {
            set(s, types::RECONCILING, status::FALSE, reasons::SUCCEEDED, "");
            set(s, types::STALLED, status::FALSE, reasons::SUCCEEDED, "");
        }
        Outcome::Waiting { reason, message } => {
            set(s, types::RECONCILING, status::TRUE, reason, message);
            set(s, types::STALLED, status::FALSE, reason, "");
        }
        Outcome::Failed {
            condition,
            reason,
            message,
            stalled,
        } => {
            if *condition != types::STALLED {
                set(s, condition, status::FALSE, reason, message);
            }
            if *stalled {
                set(s, types::RECONCILING, status::FALSE, reason, "");
                set(s, types::STALLED, status::TRUE, reason, message);
            } else {
                set(
                    s,
                    types::RECONCILING,
                    status::TRUE,
                    reason,
                    &format!("retrying: {message}"),
                );
                set(s, types::STALLED, status::FALSE, reason, "");
            }
        }
    }
    s.observed_generation = Some(generation);
    update_ready(&mut s.conditions, Some(generation), now.clone());
    // `Ready` Unknown says only "Progressing" while Reconciling; waiting for a dependency is
    // worth naming there, where `kubectl get` and `kubectl wait` users look.
    if let Outcome::Waiting { reason, .. } = outcome
        && let Some(ready) = s
            .conditions
            .iter_mut()
            .find(|c| c.type_ == types::READY && c.status == status::UNKNOWN)
    {
        ready.reason = reason.clone();
    }
}

/// Whether `Ready` is True for `generation`.
pub fn is_ready(s: Option<&SignedChartReleaseStatus>, generation: Option<i64>) -> bool {
    s.and_then(|s| s.conditions.iter().find(|c| c.type_ == types::READY))
        .is_some_and(|c| {
            c.status == status::TRUE
                && match (c.observed_generation, generation) {
                    (Some(o), Some(g)) => o >= g,
                    _ => true,
                }
        })
}

/// The condition of `type_`, if set.
pub fn get<'a>(s: &'a SignedChartReleaseStatus, type_: &str) -> Option<&'a Condition> {
    s.conditions.iter().find(|c| c.type_ == type_)
}

/// The merge patch (`{"status": ...}`) from `old` to `new`, or `None` when they are equal.
pub fn patch(old: &SignedChartReleaseStatus, new: &SignedChartReleaseStatus) -> Option<Value> {
    if old == new {
        return None;
    }
    let old = serde_json::to_value(old).unwrap_or(Value::Null);
    let new = serde_json::to_value(new).unwrap_or(Value::Null);
    let diff = merge_diff(&old, &new)?;
    let mut root = Map::new();
    root.insert("status".into(), diff);
    Some(Value::Object(root))
}

/// RFC 7396 diff: keys gone from `new` become null, changed objects recurse, anything else is
/// replaced whole (lists included, as merge patch replaces lists).
fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut out = Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) => {
                        if let Some(d) = merge_diff(ov, nv) {
                            out.insert(k.clone(), d);
                        }
                    }
                    None => {
                        out.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys() {
                if !n.contains_key(k) {
                    out.insert(k.clone(), Value::Null);
                }
            }
            Some(Value::Object(out))
        }
        _ => Some(new.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ChartRevision;
    use k8s_openapi::jiff::Timestamp;

    fn now() -> Time {
        Time(Timestamp::UNIX_EPOCH)
    }

    fn ready_status(generation: i64) -> SignedChartReleaseStatus {
        let mut s = SignedChartReleaseStatus::default();
        for t in types::STEPS {
            step_ok(&mut s, t, reasons::SUCCEEDED, "ok", generation, &now());
        }
        finish(&mut s, &Outcome::Ready, generation, &now());
        s
    }

    #[test]
    fn ready_after_every_step_and_unchanged_status_needs_no_patch() {
        let s = ready_status(3);
        assert!(is_ready(Some(&s), Some(3)));
        assert!(
            !is_ready(Some(&s), Some(4)),
            "a newer generation is not Ready yet"
        );
        assert_eq!(s.observed_generation, Some(3));
        let again = ready_status(3);
        assert_eq!(patch(&s, &again), None);
    }

    #[test]
    fn a_verification_verdict_stalls_and_ready_names_it() {
        let mut s = ready_status(1);
        finish(
            &mut s,
            &Outcome::Failed {
                condition: types::SOURCE_VERIFIED,
                reason: reasons::VERIFICATION_FAILED.into(),
                message: "NoSignatures: none".into(),
                stalled: true,
            },
            2,
            &now(),
        );
        let ready = get(&s, types::READY).unwrap();
        assert_eq!(ready.status, status::FALSE);
        assert_eq!(ready.reason, reasons::VERIFICATION_FAILED);
        assert_eq!(get(&s, types::STALLED).unwrap().status, status::TRUE);
        assert_eq!(get(&s, types::RECONCILING).unwrap().status, status::FALSE);
    }

    #[test]
    fn a_transient_failure_keeps_reconciling() {
        let mut s = ready_status(1);
        finish(
            &mut s,
            &Outcome::Failed {
                condition: types::APPLIED,
                reason: reasons::APPLY_FAILED.into(),
                message: "conflict".into(),
                stalled: false,
            },
            1,
            &now(),
        );
        assert_eq!(get(&s, types::READY).unwrap().reason, reasons::APPLY_FAILED);
        assert_eq!(get(&s, types::RECONCILING).unwrap().status, status::TRUE);
        assert_eq!(get(&s, types::STALLED).unwrap().status, status::FALSE);
    }

    #[test]
    fn waiting_is_progressing_not_failed() {
        let mut s = SignedChartReleaseStatus::default();
        finish(
            &mut s,
            &Outcome::Waiting {
                reason: reasons::DEPENDENCY_NOT_READY.into(),
                message: "waiting for ns/a".into(),
            },
            1,
            &now(),
        );
        let ready = get(&s, types::READY).unwrap();
        assert_eq!(ready.status, status::UNKNOWN);
        assert_eq!(ready.reason, reasons::DEPENDENCY_NOT_READY);
        assert_eq!(ready.message, "waiting for ns/a");
        assert_eq!(
            get(&s, types::RECONCILING).unwrap().reason,
            reasons::DEPENDENCY_NOT_READY
        );
    }

    #[test]
    fn patch_nulls_removed_fields_and_keeps_unchanged_ones_out() {
        let mut old = ready_status(1);
        old.last_applied_revision = Some(ChartRevision {
            version: "1.0.0".into(),
            digest: "sha256:a".into(),
        });
        old.applied_inputs_digest = Some("sha256:x".into());
        let mut new = old.clone();
        new.applied_inputs_digest = None;
        new.last_applied_revision = Some(ChartRevision {
            version: "1.0.1".into(),
            digest: "sha256:a".into(),
        });
        let p = patch(&old, &new).unwrap();
        assert_eq!(
            p,
            serde_json::json!({"status": {
                "appliedInputsDigest": null,
                "lastAppliedRevision": {"version": "1.0.1"},
            }})
        );
    }

    #[test]
    fn long_messages_are_truncated_on_a_char_boundary() {
        let long = "é".repeat(5000);
        let c = condition("X", status::FALSE, "R", &long, 1, &now());
        assert!(c.message.len() <= 4096 + "…".len());
        assert!(c.message.ends_with('…'));
    }
}
