//! `Ready` is summarised from the other conditions; transition times follow the convention.

use signet::api::conditions::{Condition, Time, reasons, set_condition, summarize_ready, types};

fn condition(type_: &str, status: &str, reason: &str, generation: i64) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: format!("{type_} is {status}"),
        observed_generation: Some(generation),
        last_transition_time: Time("2026-01-01T00:00:00Z".parse().expect("timestamp")),
    }
}

#[test]
fn ready_is_summarised_from_the_other_conditions() {
    let all_true = vec![
        condition(types::SOURCE_VERIFIED, "True", reasons::SUCCEEDED, 2),
        condition(types::APPLIED, "True", reasons::SUCCEEDED, 2),
        condition(types::HEALTHY, "True", reasons::SUCCEEDED, 2),
    ];
    let ready = summarize_ready(&all_true, Some(2));
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        ("True", reasons::SUCCEEDED)
    );

    // A newer generation makes every step stale.
    let stale = summarize_ready(&all_true, Some(3));
    assert_eq!(
        (stale.status, stale.reason.as_str()),
        ("Unknown", reasons::AWAITING_STEP)
    );
    assert!(
        stale.message.contains(types::SOURCE_VERIFIED),
        "{}",
        stale.message
    );

    let mut failing = all_true.clone();
    set_condition(
        &mut failing,
        condition(types::APPLIED, "False", reasons::APPLY_FAILED, 2),
    );
    let ready = summarize_ready(&failing, Some(2));
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        ("False", reasons::APPLY_FAILED)
    );
    assert_eq!(ready.message, "Applied is False");

    let mut reconciling = all_true[..1].to_vec();
    reconciling.push(condition(
        types::RECONCILING,
        "True",
        reasons::PROGRESSING,
        2,
    ));
    let ready = summarize_ready(&reconciling, Some(2));
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        ("Unknown", reasons::PROGRESSING)
    );

    // Stalled wins over everything.
    let mut stalled = all_true.clone();
    stalled.push(condition(
        types::STALLED,
        "True",
        reasons::VERIFICATION_FAILED,
        2,
    ));
    let ready = summarize_ready(&stalled, Some(2));
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        ("False", reasons::VERIFICATION_FAILED)
    );

    let ready = summarize_ready(&[], Some(1));
    assert_eq!(ready.status, "Unknown");
}

#[test]
fn set_condition_keeps_the_transition_time_while_status_is_unchanged() {
    let mut conditions = vec![condition(types::APPLIED, "True", reasons::SUCCEEDED, 1)];
    let original = conditions[0].last_transition_time.clone();
    let mut later = condition(types::APPLIED, "True", reasons::SUCCEEDED, 2);
    later.last_transition_time = Time("2026-02-01T00:00:00Z".parse().expect("timestamp"));
    set_condition(&mut conditions, later.clone());
    assert_eq!(conditions.len(), 1);
    assert_eq!(conditions[0].observed_generation, Some(2));
    assert_eq!(conditions[0].last_transition_time, original);

    let mut flipped = later;
    flipped.status = "False".to_owned();
    set_condition(&mut conditions, flipped.clone());
    assert_eq!(
        conditions[0].last_transition_time,
        flipped.last_transition_time
    );
}
