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
        promotion_check(&good, "staging", false, None, false, None),
        Ok(None)
    );
    let degraded = from_view(SyncStatus::Synced, HealthCode::Degraded);
    let err = promotion_check(&degraded, "staging", false, None, false, None).unwrap_err();
    assert!(
        matches!(&err, FailureReason::Refused(m) if m.contains("dev is Synced and Degraded") && m.contains("--force")),
        "{err}"
    );
    assert_eq!(
        promotion_check(&degraded, "staging", false, None, true, None),
        Ok(None)
    );
    let drifted = from_view(SyncStatus::OutOfSync, HealthCode::Healthy);
    assert!(promotion_check(&drifted, "staging", false, None, false, None).is_err());
}

#[test]
fn protected_target_needs_its_name_typed_even_when_forced() {
    let good = from_view(SyncStatus::Synced, HealthCode::Healthy);
    let err = promotion_check(&good, "production", true, None, true, None).unwrap_err();
    assert!(
        matches!(&err, FailureReason::NeedsConfirmation(m) if m.contains("--confirm production")),
        "{err}"
    );
    assert!(promotion_check(&good, "production", true, None, false, Some("staging")).is_err());
    assert_eq!(
        promotion_check(&good, "production", true, None, false, Some("production")),
        Ok(None)
    );
    assert!(
        promotion_check(&good, "dev", false, None, false, None).is_err(),
        "into itself"
    );
}

#[test]
fn promotion_skipping_promote_from_needs_force_which_is_recorded() {
    let good = from_view(SyncStatus::Synced, HealthCode::Healthy);
    // The engine's env is `dev`; production takes promotions from staging.
    let err = promotion_check(
        &good,
        "production",
        true,
        Some("staging"),
        false,
        Some("production"),
    )
    .unwrap_err();
    assert!(
        matches!(&err, FailureReason::NeedsConfirmation(m) if m.contains("from staging, not dev")),
        "{err}"
    );
    let forced = promotion_check(
        &good,
        "production",
        true,
        Some("staging"),
        true,
        Some("production"),
    );
    assert!(
        matches!(&forced, Ok(Some(note)) if note.starts_with("forced:")),
        "{forced:?}"
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
