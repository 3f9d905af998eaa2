//! Auto-sync and self-heal: when they fire, and every condition that stops them.

use super::*;

#[test]
fn auto_sync_applies_a_new_head() {
    let mut h = H::ready(auto());
    let fx = h.git("c2");
    let op = the_apply(&fx, "c2");
    assert_eq!(started(&fx), [(OperationKind::AutoSync, "c2".to_string())]);
    assert!(applies(&fx)[0].2, "prune from policy");
    let fx = h.succeed(op, "c2");
    assert_eq!(finished(&fx)[0].op, OperationKind::AutoSync);
    assert!(h.git("c2").is_empty(), "same head is not applied twice");
}

#[test]
fn auto_sync_waits_for_cluster_state_lease_and_live() {
    let mut h = H::new(auto(), false);
    assert!(h.git("c2").is_empty());
    assert!(h.live(0, 1, 0, HealthCode::Healthy).is_empty());
    assert!(h.load(synced_at_c1()).is_empty(), "no lease observed yet");
    assert!(applies(&h.lease(false, Some("bob@host/7"))).is_empty());
    the_apply(&h.lease(true, Some(ME)), "c2");
}

#[test]
fn lease_held_elsewhere_means_no_automation() {
    let mut h = H::ready(auto());
    h.lease(false, Some("bob@host/7"));
    assert!(applies(&h.git("c2")).is_empty());
    assert!(applies(&h.live(0, 3, 0, HealthCode::Healthy)).is_empty());
    assert_eq!(h.engine.view().lease_holder.as_deref(), Some("bob@host/7"));
}

#[test]
fn auto_sync_never_reapplies_a_failed_revision() {
    let mut h = H::ready(auto());
    let op = the_apply(&h.git("c2"), "c2");
    let fx = h.apply_failed(op, false);
    assert_eq!(finished(&fx)[0].result, OperationResult::Failed);
    h.advance(60);
    assert!(applies(&h.tick()).is_empty());
    assert!(applies(&h.git("c2")).is_empty());
    assert!(applies(&h.live(0, 1, 0, HealthCode::Healthy)).is_empty());
    the_apply(&h.git("c3"), "c3");
}

#[test]
fn manual_sync_lifts_the_failed_revision_ban() {
    let mut h = H::ready(auto());
    let op = the_apply(&h.git("c2"), "c2");
    h.apply_failed(op, false);
    assert!(h.engine.held().is_rejected("c2", None));
    let note = h.engine.view().automation.unwrap_or_default();
    assert!(
        note.contains("auto-sync skips c2 until a new commit or `driftdeck sync dev --revision c2"),
        "{note}"
    );
    let refused = h.cmd(sync_cmd(Some("c2")));
    assert!(
        matches!(refusal(&refused), Some(FailureReason::NeedsConfirmation(m)) if m.contains("--force")),
        "{refused:?}"
    );
    assert!(applies(&refused).is_empty());
    let fx = h.cmd(forced(sync_cmd(Some("c2"))));
    let op = the_apply(&fx, "c2");
    assert!(!last_write(&fx).unwrap().is_rejected("c2", None));
    assert_eq!(
        finished(&h.succeed(op, "c2"))[0].result,
        OperationResult::Succeeded
    );
}

#[test]
fn paused_env_detects_drift_but_does_not_apply() {
    let mut h = H::ready(auto());
    let fx = h.cmd(pause_cmd());
    assert!(fx.contains(&Effect::Notify(Notice::Paused { env: "dev".into() })));
    let paused = last_write(&fx).unwrap().paused.clone().unwrap();
    assert_eq!(
        (paused.by.as_str(), paused.reason.as_str()),
        (ME, "incident 42")
    );
    assert!(applies(&h.git("c2")).is_empty());
    assert!(applies(&h.live(0, 1, 0, HealthCode::Healthy)).is_empty());
    let view = h.engine.view();
    assert_eq!(view.sync, SyncStatus::OutOfSync);
    assert_eq!(view.drift.modified, 1);
    assert!(view.paused.is_some());
}

#[test]
fn resume_applies_what_the_pause_held_back() {
    let mut h = H::ready(auto());
    h.cmd(pause_cmd());
    h.git("c2");
    let fx = h.cmd(resume_cmd());
    assert!(fx.contains(&Effect::Notify(Notice::Resumed { env: "dev".into() })));
    the_apply(&fx, "c2");
    assert!(last_write(&fx).unwrap().paused.is_none());
}

#[test]
fn self_heal_reapplies_the_synced_head_on_drift() {
    let mut h = H::ready(auto());
    let fx = h.live(0, 1, 0, HealthCode::Healthy);
    the_apply(&fx, "c1");
    assert_eq!(started(&fx)[0].0, OperationKind::SelfHeal);
}

#[test]
fn self_heal_is_rate_limited() {
    let mut h = H::ready(auto());
    let op = the_apply(&h.live(0, 1, 0, HealthCode::Healthy), "c1");
    h.advance(1);
    // The drift reading is stale until the driver re-diffs, so the heal that just finished
    // already asks for a wake-up instead of re-applying at once.
    let mut fx = h.succeed(op, "c1");
    h.advance(1);
    fx.extend(h.live(0, 1, 0, HealthCode::Healthy));
    assert!(applies(&fx).is_empty(), "second heal within 5 s waits");
    fx.extend(h.live(0, 1, 0, HealthCode::Healthy));
    assert_eq!(
        wakes(&fx),
        [t(5)],
        "exactly one wake-up at the end of the interval"
    );
    h.advance(3);
    let fx = h.tick();
    the_apply(&fx, "c1");
}

#[test]
fn self_heal_ignores_extra_objects_when_prune_is_off() {
    let mut h = H::ready(Policy {
        prune: false,
        ..auto()
    });
    assert!(applies(&h.live(0, 0, 2, HealthCode::Healthy)).is_empty());
    assert_eq!(h.engine.view().sync, SyncStatus::OutOfSync, "still shown");
    the_apply(&h.live(1, 0, 2, HealthCode::Healthy), "c1");
}

#[test]
fn self_heal_needs_the_head_to_be_synced() {
    let mut h = H::ready(Policy {
        auto_sync: false,
        ..auto()
    });
    assert!(applies(&h.git("c2")).is_empty(), "no auto-sync");
    assert!(applies(&h.live(0, 1, 0, HealthCode::Healthy)).is_empty());
}

#[test]
fn read_only_console_never_automates() {
    let mut h = H::ready_with(auto(), true, synced_at_c1());
    assert!(applies(&h.git("c2")).is_empty());
    assert!(applies(&h.live(0, 1, 0, HealthCode::Healthy)).is_empty());
}

#[test]
fn automation_waits_while_live_is_unavailable() {
    let mut h = H::ready(auto());
    let at = h.at();
    h.send(Event::LiveUnavailable {
        error: "connection refused".into(),
        at,
    });
    assert!(applies(&h.git("c2")).is_empty());
    let view = h.engine.view();
    assert_eq!(view.sync, SyncStatus::Unknown);
    assert_eq!(view.health.code, HealthCode::Unknown);
    assert!(view.error.unwrap().contains("connection refused"));
    the_apply(&h.live(0, 1, 0, HealthCode::Healthy), "c2");
}

#[test]
fn auto_sync_of_a_head_that_does_not_render_fails_once_without_apply() {
    let mut h = H::ready(auto());
    let fx = h.git_err(
        "c2",
        "overlays/dev/kustomization.yaml:4:3: unknown field \"imagez\"",
    );
    assert!(applies(&fx).is_empty());
    let done = finished(&fx);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].op, OperationKind::AutoSync);
    assert!(matches!(&done[0].failure, Some(FailureReason::Render(m)) if m.contains("imagez")));
    h.advance(30);
    assert!(
        finished(&h.tick()).is_empty(),
        "recorded once, not on every event"
    );
    assert!(finished(&h.git_err("c2", "same")).is_empty());
    the_apply(&h.git("c3"), "c3");
}

#[test]
fn a_new_head_supersedes_the_validation_of_the_previous_auto_sync() {
    let mut h = H::ready(auto());
    let c2 = the_apply(&h.git("c2"), "c2");
    h.applied(c2, "d-c2");
    h.advance(1);
    let fx = h.git("c3");
    let done = finished(&fx);
    assert_eq!(done.len(), 1, "{fx:?}");
    assert_eq!(done[0].revision, "c2");
    assert_eq!(done[0].result, OperationResult::Interrupted);
    assert!(
        done[0]
            .failure
            .as_ref()
            .is_some_and(|f| f.to_string().contains("superseded by c3")),
        "{:?}",
        done[0].failure
    );
    assert!(fx.contains(&Effect::StopValidation { op: c2 }));
    assert_eq!(started(&fx), [(OperationKind::AutoSync, "c3".to_string())]);
    the_apply(&fx, "c3");
    let held = h.engine.held();
    assert!(!held.is_rejected("c2", None), "superseded is not failed");
    assert_ne!(held.last_good.as_deref(), Some("c2"), "c2 never validated");
}

#[test]
fn a_manual_sync_is_not_superseded_by_a_new_head() {
    let mut h = H::ready(auto());
    let op = the_apply(&h.cmd(sync_cmd(None)), "c1");
    h.applied(op, "d-c1");
    let fx = h.git("c2");
    assert!(finished(&fx).is_empty(), "{fx:?}");
    assert!(applies(&fx).is_empty());
    let fx = h.validated(op, HealthCode::Healthy, "");
    assert_eq!(finished(&fx)[0].result, OperationResult::Succeeded);
    the_apply(&fx, "c2");
}

#[test]
fn an_applying_auto_sync_is_never_superseded() {
    let mut h = H::ready(auto());
    let c2 = the_apply(&h.git("c2"), "c2");
    let fx = h.git("c3");
    assert!(
        finished(&fx).is_empty() && applies(&fx).is_empty(),
        "{fx:?}"
    );
    let fx = h.applied(c2, "d-c2");
    assert!(finished(&fx)[0].revision == "c2", "{fx:?}");
    the_apply(&fx, "c3");
}

#[test]
fn a_paused_env_keeps_validating_the_old_head() {
    let mut h = H::ready(auto());
    let c2 = the_apply(&h.git("c2"), "c2");
    h.applied(c2, "d-c2");
    h.cmd(pause_cmd());
    let fx = h.git("c3");
    assert!(
        finished(&fx).is_empty() && applies(&fx).is_empty(),
        "{fx:?}"
    );
}

#[test]
fn a_new_head_that_renders_this_env_the_same_does_not_supersede() {
    let mut h = H::ready(auto());
    let c2 = the_apply(&h.git("c2"), "c2");
    h.applied(c2, "d-c2");
    // c3 changes another env's overlay: this env's render is still d-c2.
    let fx = h.git_digest("c3", "d-c2", 3);
    assert!(
        finished(&fx).is_empty() && applies(&fx).is_empty(),
        "{fx:?}"
    );
}
