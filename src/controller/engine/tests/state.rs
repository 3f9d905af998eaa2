//! Restart re-entry, orphaned operations, cluster-held state writes and conflicts.

use super::*;

const DEAD: &str = "carol@host/55";

fn with_running(operator: &str, started: i64) -> HeldState {
    let mut state = synced_at_c1();
    state.history.insert(
        0,
        entry(
            "dead-op",
            OperationKind::AutoSync,
            "c2",
            operator,
            started,
            OperationResult::Running,
        ),
    );
    state
}

#[test]
fn restart_marks_a_dead_consoles_operation_interrupted_and_converges() {
    let mut h = H::new(auto(), false);
    h.git("c2");
    h.live(0, 1, 0, HealthCode::Healthy);
    h.advance(30);
    assert!(
        h.load(with_running(DEAD, 0)).is_empty(),
        "waits for the Lease"
    );
    let fx = h.lease(false, None);
    let done = finished(&fx);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].id, "dead-op");
    assert_eq!(done[0].result, OperationResult::Interrupted);
    assert!(matches!(&done[0].failure, Some(FailureReason::Interrupted(m)) if m.contains(DEAD)));
    let held = last_write(&fx).unwrap();
    assert_eq!(held.history[0].result, OperationResult::Interrupted);
    assert_eq!(held.history.len(), 2, "marked in place, not duplicated");
    assert!(applies(&fx).is_empty(), "not the Lease holder yet");
    // This console takes the Lease: auto-sync re-applies the head the dead one was applying.
    let fx = h.lease(true, Some(ME));
    the_apply(&fx, "c2");
}

#[test]
fn running_operation_of_the_lease_holder_is_left_alone() {
    let mut h = H::new(auto(), false);
    h.git("c2");
    h.live(0, 0, 0, HealthCode::Healthy);
    h.load(with_running("bob@host/7", 0));
    h.advance(100);
    let fx = h.lease(false, Some("bob@host/7"));
    assert!(finished(&fx).is_empty());
    assert_eq!(writes(&fx), 0);
}

#[test]
fn stale_running_operation_of_a_console_without_the_lease_is_reaped() {
    let mut h = H::new(auto(), false);
    h.load(with_running(DEAD, 0));
    h.lease(true, Some(ME));
    h.git("c2");
    h.live(0, 0, 0, HealthCode::Healthy);
    h.advance(300 + 599);
    assert!(finished(&h.tick()).is_empty(), "may still be validating");
    h.advance(1);
    let fx = h.tick();
    assert_eq!(finished(&fx)[0].result, OperationResult::Interrupted);
    the_apply(&fx, "c2");
}

#[test]
fn own_interrupted_entry_after_an_engine_restart_is_reaped() {
    let mut h = H::new(Policy::default(), false);
    h.load(with_running(ME, 0));
    let fx = h.lease(true, Some(ME));
    assert_eq!(finished(&fx)[0].result, OperationResult::Interrupted);
}

#[test]
fn write_conflict_rereads_and_keeps_both_sides_changes() {
    let mut h = H::ready(Policy::default());
    h.auto_ack = false;
    let fx = h.cmd(pause_cmd());
    let Some(Effect::WriteState { seq, .. }) =
        fx.iter().find(|e| matches!(e, Effect::WriteState { .. }))
    else {
        panic!("pause must write state: {fx:#?}");
    };
    let seq = *seq;
    let at = h.at();
    let fx = h.send(Event::StateWritten {
        seq,
        result: Err("409 Conflict".into()),
        at,
    });
    assert!(warnings(&fx)[0].contains("409"));
    assert_eq!(wakes(&fx), [t(5)]);
    assert!(
        h.engine
            .view()
            .error
            .unwrap()
            .contains("ConfigMap driftdeck-dev")
    );
    // The driver re-reads: another console recorded an operation meanwhile.
    let mut theirs = synced_at_c1();
    theirs.history.insert(
        0,
        entry(
            "bob-2",
            OperationKind::Sync,
            "c1",
            "bob@host/7",
            -10,
            OperationResult::Succeeded,
        ),
    );
    let fx = h.load(theirs.clone());
    let merged = last_write(&fx).unwrap();
    assert!(merged.paused.is_some(), "our pause survives the conflict");
    assert_eq!(merged.history[0].id, "bob-2", "their entry survives too");
    let Some(Effect::WriteState { seq, .. }) =
        fx.iter().find(|e| matches!(e, Effect::WriteState { .. }))
    else {
        panic!("merge must be written");
    };
    let seq = *seq;
    let at = h.at();
    h.send(Event::StateWritten {
        seq,
        result: Ok(()),
        at,
    });
    assert!(h.engine.view().error.is_none());
    // Written: a later read (someone resumed) wins over our now-stale pause.
    theirs.paused = None;
    h.load(theirs);
    assert!(h.engine.view().paused.is_none());
}

#[test]
fn failed_write_is_retried_on_tick() {
    let mut h = H::ready(Policy::default());
    h.auto_ack = false;
    h.cmd(pause_cmd());
    let at = h.at();
    h.send(Event::StateWritten {
        seq: 1,
        result: Err("connection reset".into()),
        at,
    });
    h.advance(5);
    let fx = h.tick();
    assert!(last_write(&fx).unwrap().paused.is_some());
}

#[test]
fn history_keeps_the_newest_fifty_operations() {
    let mut h = H::ready(Policy::default());
    let mut last = Vec::new();
    for i in 0..55 {
        h.advance(10);
        let op = the_apply(&h.cmd(sync_cmd(Some(&format!("r{i}")))), &format!("r{i}"));
        last = h.succeed(op, &format!("r{i}"));
    }
    let held = last_write(&last).unwrap();
    assert_eq!(held.history.len(), HISTORY_LIMIT);
    assert_eq!(held.history[0].revision, "r54");
    let ids: std::collections::BTreeSet<_> = held.history.iter().map(|e| &e.id).collect();
    assert_eq!(ids.len(), HISTORY_LIMIT, "no duplicate entries");
}

#[test]
fn one_state_write_per_event() {
    let mut h = H::ready(with_two_changes());
    let op = the_apply(&h.git("c2"), "c2");
    h.applied(op, "d-c2");
    // Failing validation changes history, rejected, hold and starts a rollback: one write.
    let fx = h.validated(op, HealthCode::Degraded, "x");
    assert_eq!(writes(&fx), 1);
}

fn with_two_changes() -> Policy {
    Policy {
        auto_rollback: true,
        ..auto()
    }
}

#[test]
fn takeover_after_the_holder_dies_marks_its_operation_interrupted() {
    let bob = "bob@host/7";
    let mut h = H::new(auto(), false);
    h.load(with_running(bob, 0));
    h.git("c2");
    h.live(0, 0, 0, HealthCode::Healthy);
    assert!(
        finished(&h.lease(false, Some(bob))).is_empty(),
        "bob is alive"
    );
    h.advance(20);
    // bob was killed; his Lease expired and this console took it over.
    let fx = h.lease(true, Some(ME));
    let done = finished(&fx);
    assert_eq!(done[0].id, "dead-op");
    assert_eq!(done[0].result, OperationResult::Interrupted);
    the_apply(&fx, "c2");
    let held = last_write(&fx).unwrap();
    assert_eq!(
        held.history.iter().filter(|e| e.revision == "c2").count(),
        2,
        "bob's interrupted entry and this console's auto-sync, nothing twice"
    );
}

#[test]
fn refeeding_the_same_observations_is_idempotent() {
    let mut h = H::ready(auto());
    let op = the_apply(&h.git("c2"), "c2");
    let fx = h.succeed(op, "c2");
    let held = last_write(&fx).unwrap().clone();
    let Some(Effect::WriteState { seq, .. }) =
        fx.iter().find(|e| matches!(e, Effect::WriteState { .. }))
    else {
        panic!("expected a write");
    };
    let seq = *seq;
    let at = h.at();
    h.send(Event::StateWritten {
        seq,
        result: Ok(()),
        at,
    });
    // A re-read and re-observation of everything changes nothing and applies nothing.
    for _ in 0..3 {
        h.advance(10);
        assert!(h.load(held.clone()).is_empty());
        assert!(h.lease(true, Some(ME)).is_empty());
        assert!(h.git("c2").is_empty());
        assert!(h.live(0, 0, 0, HealthCode::Healthy).is_empty());
    }
    assert_eq!(h.engine.held(), &held);
}

#[test]
fn view_fills_the_snapshot_row() {
    let mut h = H::ready(auto());
    the_apply(&h.git("c2"), "c2");
    h.cmd(pause_cmd());
    let mut row = crate::model::EnvState::unknown("dev");
    h.engine.view().fill(&mut row);
    assert_eq!(row.revision.as_deref(), Some("c2"));
    assert_eq!(row.synced_revision.as_deref(), Some("c1"));
    assert_eq!(row.sync, SyncStatus::Synced);
    assert_eq!(row.lease_holder.as_deref(), Some(ME));
    assert!(row.paused.is_some());
    let running = row.operation.unwrap();
    assert_eq!(
        (running.op, running.phase.as_str()),
        (OperationKind::AutoSync, "applying")
    );
    assert_eq!(row.history[0].result, OperationResult::Running);
    assert_eq!(row.observed_at, Some(t(0)));
}
