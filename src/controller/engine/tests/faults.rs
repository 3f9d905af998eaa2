//! The engine under faults and bad input: failures that repeat are backed off and recorded
//! once with a count, a transient failure never skips its revision, an empty render fails once
//! instead of looping, the observation right after an apply is not mistaken for drift, and a
//! head the server rejected does not stop self-heal from keeping the synced revision live.
//! Time runs on the engine's clock (the events' timestamps), never on a real one.

use super::*;

/// Runs `secs` seconds of automation at one tick a second, failing every apply transiently;
/// returns every effect.
fn run_failing(h: &mut H, secs: i64) -> Vec<Effect> {
    let mut all = Vec::new();
    for _ in 0..secs {
        h.advance(1);
        let fx = h.tick();
        for (op, _, _) in applies(&fx) {
            all.extend(h.apply_failed(op, true));
        }
        all.extend(fx);
    }
    all
}

#[test]
fn repeated_transient_failures_back_off_and_are_recorded_once_with_a_count() {
    let mut h = H::ready(auto());
    let mut fx = h.git("c2");
    for (op, _, _) in applies(&fx.clone()) {
        fx.extend(h.apply_failed(op, true));
    }
    fx.extend(run_failing(&mut h, 300));
    let in_five_minutes = started(&fx).len();
    assert!(
        (2..=5).contains(&in_five_minutes),
        "{in_five_minutes} operations started in 5 minutes"
    );
    fx.extend(run_failing(&mut h, 600));
    assert!(
        started(&fx).len() >= 3,
        "a transient failure is retried, not skipped"
    );
    assert!(started(&fx).iter().all(|(_, rev)| rev == "c2"));
    assert!(!h.engine.held().is_rejected("c2", None));

    let entries: Vec<&HistoryEntry> = h
        .engine
        .held()
        .history
        .iter()
        .filter(|e| e.revision == "c2")
        .collect();
    let finished_ops = finished(&fx)
        .iter()
        .filter(|e| e.result == OperationResult::Failed)
        .count();
    assert!(finished_ops >= 3);
    assert_eq!(
        entries.len(),
        1,
        "one history entry for the streak: {entries:#?}"
    );
    let failure = entries[0].failure.as_ref().unwrap().to_string();
    assert!(
        failure.contains(&format!("failed {finished_ops} times in a row")),
        "{failure}"
    );
    let audited = audits(&fx)
        .iter()
        .filter(|(action, _)| *action == "auto-sync")
        .count();
    assert_eq!(
        audited,
        2,
        "one start and one finish line: {:#?}",
        audits(&fx)
    );

    // The streak ends with a success: one audit line carries the count.
    let mut fx = Vec::new();
    for _ in 0..400 {
        h.advance(1);
        let tick = h.tick();
        if let Some((op, _, _)) = applies(&tick).first().cloned() {
            fx.extend(h.succeed(op, "c2"));
            break;
        }
    }
    let repeated: Vec<_> = audits(&fx)
        .into_iter()
        .filter(|(action, _)| *action == "failure-repeated")
        .collect();
    assert_eq!(repeated.len(), 1, "{fx:#?}");
    assert!(
        repeated[0]
            .1
            .contains(&format!("failed {finished_ops} times"))
    );
    assert_eq!(finished(&fx)[0].result, OperationResult::Succeeded);
}

#[test]
fn an_empty_render_fails_once_and_is_not_retried_in_five_minutes() {
    let mut h = H::ready(auto());
    let mut fx = h.git_digest("c2", "d-empty", 0);
    for _ in 0..300 {
        h.advance(1);
        // Live keeps showing the objects the empty render would prune.
        fx.extend(h.live(0, 0, 3, HealthCode::Healthy));
        fx.extend(h.tick());
    }
    assert_eq!(started(&fx).len(), 1, "{:#?}", started(&fx));
    assert!(applies(&fx).is_empty());
    assert_eq!(
        audits(&fx).len(),
        2,
        "started and failed, once: {:#?}",
        audits(&fx)
    );
    let failure = finished(&fx)[0].failure.as_ref().unwrap().to_string();
    assert!(failure.contains("renders no objects"), "{failure}");
}

#[test]
fn no_self_heal_from_the_observation_taken_before_an_apply() {
    let mut h = H::ready(auto());
    let op = the_apply(&h.git("c2"), "c2");
    // An observation made while the apply ran still shows the old state as drift.
    h.advance(1);
    assert!(started(&h.live(0, 2, 0, HealthCode::Healthy)).is_empty());
    h.advance(1);
    let fx = h.succeed(op, "c2");
    assert_eq!(finished(&fx)[0].result, OperationResult::Succeeded);
    assert!(started(&fx).is_empty(), "no heal of what was just applied");
    h.advance(10);
    assert!(
        started(&h.tick()).is_empty(),
        "still waiting for a fresh observation"
    );
    assert!(started(&h.live(0, 0, 0, HealthCode::Healthy)).is_empty());
    // Real drift after the apply is healed as usual.
    h.advance(10);
    let fx = h.live(0, 1, 0, HealthCode::Healthy);
    assert_eq!(started(&fx), vec![(OperationKind::SelfHeal, "c2".into())]);
}

/// Drift of live from `rev`'s render, as the driver reports it while the head is rejected.
fn heal_drift(h: &mut H, rev: &str, modified: usize) -> Vec<Effect> {
    let at = h.at();
    h.send(Event::HealDriftObserved {
        revision: rev.into(),
        drift: DriftCount {
            missing: 0,
            modified,
            extra: 0,
        },
        at,
    })
}

/// Synced at `c1`; head `c2` refused by the API server (a non-transient apply failure).
fn rejected_head_c2() -> H {
    let mut h = H::ready(auto());
    let op = the_apply(&h.git("c2"), "c2");
    h.advance(1);
    let fx = h.apply_failed(op, false);
    assert_eq!(finished(&fx)[0].result, OperationResult::Failed);
    h
}

#[test]
fn self_heal_re_applies_the_synced_revision_while_the_head_is_rejected() {
    let mut h = rejected_head_c2();
    assert_eq!(h.engine.heal_target(), Some("c1"));
    // Drift from the rejected head is expected (it never went live): not a reason to heal.
    h.advance(10);
    assert!(started(&h.live(0, 3, 0, HealthCode::Healthy)).is_empty());
    assert!(started(&heal_drift(&mut h, "c1", 0)).is_empty());
    // A live edit: drift from c1. Self-heal re-applies c1, not the rejected c2.
    h.advance(10);
    let fx = heal_drift(&mut h, "c1", 1);
    assert_eq!(started(&fx), vec![(OperationKind::SelfHeal, "c1".into())]);
    let op = the_apply(&fx, "c1");
    h.advance(1);
    let fx = h.succeed(op, "c1");
    assert_eq!(finished(&fx)[0].result, OperationResult::Succeeded);
    assert_eq!(h.engine.held().synced_revision.as_deref(), Some("c1"));
    assert!(h.engine.held().is_rejected("c2", None), "c2 stays failed");
    // The drift read before that apply does not start another heal.
    h.advance(10);
    assert!(started(&h.tick()).is_empty());
    assert!(started(&h.live(0, 3, 0, HealthCode::Healthy)).is_empty());
    // The next edit is healed again, no sooner than the self-heal interval.
    let fx = heal_drift(&mut h, "c1", 2);
    assert_eq!(started(&fx), vec![(OperationKind::SelfHeal, "c1".into())]);
}

#[test]
fn a_new_head_after_a_rejected_one_is_tried_and_drift_of_another_revision_is_ignored() {
    let mut h = rejected_head_c2();
    h.advance(10);
    assert!(
        started(&heal_drift(&mut h, "c0", 4)).is_empty(),
        "drift from a revision that is not the synced one"
    );
    h.advance(10);
    let fx = h.git("c3");
    assert_eq!(started(&fx), vec![(OperationKind::AutoSync, "c3".into())]);
    assert_eq!(h.engine.heal_target(), None, "c3 is not rejected");
}

#[test]
fn no_heal_under_a_rejected_head_when_self_heal_is_off_or_paused() {
    let mut h = H::ready(Policy {
        self_heal: false,
        ..auto()
    });
    let op = the_apply(&h.git("c2"), "c2");
    h.apply_failed(op, false);
    assert_eq!(h.engine.heal_target(), None);
    h.advance(10);
    assert!(started(&heal_drift(&mut h, "c1", 1)).is_empty());

    let mut h = rejected_head_c2();
    h.cmd(pause_cmd());
    h.advance(10);
    assert!(started(&heal_drift(&mut h, "c1", 1)).is_empty());
}
