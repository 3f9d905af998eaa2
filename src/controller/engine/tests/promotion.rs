//! The promotion check and message.

use super::*;

fn from_view(sync: SyncStatus, code: HealthCode) -> EnvView {
    let mut h = H::ready(Policy::default());
    match sync {
        SyncStatus::OutOfSync => h.live(0, 1, 0, code),
        _ => h.live(0, 0, 0, code),
    };
    let view = h.engine.view();
    assert_eq!(view.sync, sync);
    view
}

#[test]
fn promotion_needs_from_synced_and_healthy_unless_forced() {
    let good = from_view(SyncStatus::Synced, HealthCode::Healthy);
    assert_eq!(
        promotion_check(&good, "staging", false, false, None),
        Ok(())
    );
    let degraded = from_view(SyncStatus::Synced, HealthCode::Degraded);
    let err = promotion_check(&degraded, "staging", false, false, None).unwrap_err();
    assert!(
        matches!(&err, FailureReason::Refused(m) if m.contains("dev is Synced and Degraded") && m.contains("--force")),
        "{err}"
    );
    assert_eq!(
        promotion_check(&degraded, "staging", false, true, None),
        Ok(())
    );
    let drifted = from_view(SyncStatus::OutOfSync, HealthCode::Healthy);
    assert!(promotion_check(&drifted, "staging", false, false, None).is_err());
}

#[test]
fn protected_target_needs_its_name_typed_even_when_forced() {
    let good = from_view(SyncStatus::Synced, HealthCode::Healthy);
    let err = promotion_check(&good, "production", true, true, None).unwrap_err();
    assert!(matches!(&err, FailureReason::Refused(m) if m.contains("--confirm production")));
    assert!(promotion_check(&good, "production", true, false, Some("staging")).is_err());
    assert_eq!(
        promotion_check(&good, "production", true, false, Some("production")),
        Ok(())
    );
    assert!(
        promotion_check(&good, "dev", false, false, None).is_err(),
        "into itself"
    );
}

#[test]
fn promotion_message_names_old_and_new_versions() {
    let changes = [
        ImageChange {
            image: "log-api".into(),
            old: Some("1.4.2".into()),
            new: "1.5.0".into(),
        },
        ImageChange {
            image: "log-processor".into(),
            old: Some("2.0.1".into()),
            new: "2.1.0".into(),
        },
    ];
    assert_eq!(
        promotion_message("dev", "staging", &changes),
        "promote(dev→staging): log-api 1.4.2 → 1.5.0, log-processor 2.0.1 → 2.1.0"
    );
    assert_eq!(
        promotion_message("staging", "production", &[]),
        "promote(staging→production): no image version changes"
    );
}
