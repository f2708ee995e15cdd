//! Effective values of defaulted and parsed spec fields.

use crate::support::base_release;
use signet::api::SignedChartRelease;

#[test]
fn effective_values_follow_the_documented_defaults() {
    use std::time::Duration;
    let mut release: SignedChartRelease = serde_json::from_value(base_release()).expect("parses");
    assert_eq!(release.effective_release_name(), "demo");
    assert_eq!(
        release.effective_target_namespace().as_deref(),
        Some("default")
    );
    assert_eq!(release.interval(), Ok(Duration::from_secs(600)));
    assert_eq!(release.timeout(), Ok(Duration::from_secs(300)));
    assert_eq!(release.uninstall_timeout(), Ok(Duration::from_secs(300)));
    assert!(release.waits_for_health());
    assert_eq!(release.signer_threshold(), 1);

    release.spec.release_name = Some("web".into());
    release.spec.target_namespace = Some("prod".into());
    release.spec.interval = "1h30m".into();
    release.spec.timeout = "1.5s".into();
    release.spec.verify.threshold = Some(2);
    assert_eq!(release.effective_release_name(), "web");
    assert_eq!(
        release.effective_target_namespace().as_deref(),
        Some("prod")
    );
    assert_eq!(release.interval(), Ok(Duration::from_secs(5400)));
    assert_eq!(release.timeout(), Ok(Duration::from_millis(1500)));
    assert_eq!(release.signer_threshold(), 2);

    release.spec.interval = "10 minutes".into();
    let error = release.interval().expect_err("not a duration");
    assert_eq!(error.field, "spec.interval");
}
