//! The start gate: nothing is applied before the operation's record is written, and the write
//! that loses to another process's pause, hold or operation decides again on the fresh read.

use super::*;
use crate::model::{Hold, Pause};

const BOB: &str = "bob@host/7";

fn write_seq(fx: &[Effect]) -> u64 {
    fx.iter()
        .rev()
        .find_map(|e| match e {
            Effect::WriteState { seq, .. } => Some(*seq),
            _ => None,
        })
        .unwrap_or_else(|| panic!("expected a state write in {fx:#?}"))
}

fn conflict(h: &mut H, seq: u64) -> Vec<Effect> {
    let at = h.at();
    h.send(Event::StateWritten {
        seq,
        result: Err("409 Conflict: the object has been modified".into()),
        at,
    })
}

/// The failure text of a finished operation.
fn failure_text(entry: &HistoryEntry) -> String {
    entry
        .failure
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Bob's rollback to c1, judging c2 bad.
fn bobs_hold() -> Hold {
    Hold {
        revision: "c1".into(),
        bad_revision: "c2".into(),
        by: BOB.into(),
        at: t(0),
        reason: "rollback by bob".into(),
    }
}

fn paused_by_bob() -> HeldState {
    HeldState {
        paused: Some(Pause {
            by: BOB.into(),
            at: t(0),
            reason: "incident".into(),
        }),
        ..synced_at_c1()
    }
}

fn bob_deploying(rev: &str) -> HeldState {
    let mut state = synced_at_c1();
    state.history.insert(
        0,
        entry(
            "bob-op",
            OperationKind::AutoSync,
            rev,
            BOB,
            0,
            OperationResult::Running,
        ),
    );
    state
}

#[test]
fn an_operation_applies_only_after_its_record_is_written() {
    let mut h = H::ready(auto());
    h.auto_ack = false;
    let fx = h.git("c2");
    assert_eq!(started(&fx), [(OperationKind::AutoSync, "c2".into())]);
    assert!(applies(&fx).is_empty(), "nothing applied before the record");
    let record = last_write(&fx).unwrap();
    assert_eq!(record.history[0].result, OperationResult::Running);
    let seq = write_seq(&fx);
    let at = h.at();
    let fx = h.send(Event::StateWritten {
        seq,
        result: Ok(()),
        at,
    });
    the_apply(&fx, "c2");
}

#[test]
fn a_pause_written_elsewhere_first_drops_the_automatic_operation_unapplied() {
    let mut h = H::ready(auto());
    h.auto_ack = false;
    let fx = h.git("c2");
    let seq = write_seq(&fx);
    assert!(applies(&conflict(&mut h, seq)).is_empty());
    // The re-read after the 409 shows the pause another process wrote first.
    let fx = h.load(paused_by_bob());
    assert!(
        applies(&fx).is_empty(),
        "a pause recorded first wins: {fx:#?}"
    );
    assert!(
        warnings(&fx)
            .iter()
            .any(|w| w.contains("not started: paused by bob@host/7")),
        "{fx:#?}"
    );
    assert!(h.engine.view().operation.is_none());
    let held = h.engine.held();
    assert!(
        held.history
            .iter()
            .all(|e| e.result != OperationResult::Running),
        "the dropped operation leaves no Running entry: {:#?}",
        held.history
    );
    // And nothing starts later either while the pause holds.
    h.advance(10);
    assert!(applies(&h.tick()).is_empty());
    assert!(applies(&h.live(0, 1, 0, HealthCode::Healthy)).is_empty());
}

#[test]
fn a_pause_in_this_console_drops_an_unrecorded_automatic_operation() {
    let mut h = H::ready(auto());
    h.auto_ack = false;
    let fx = h.git("c2");
    assert!(applies(&fx).is_empty());
    let fx = h.cmd(pause_cmd());
    assert!(applies(&fx).is_empty());
    assert!(h.engine.view().operation.is_none());
    let seq = write_seq(&fx);
    let at = h.at();
    let fx = h.send(Event::StateWritten {
        seq,
        result: Ok(()),
        at,
    });
    assert!(applies(&fx).is_empty(), "the pause's write applies nothing");
}

#[test]
fn a_manual_sync_that_loses_its_record_to_another_operation_fails_busy() {
    let mut h = H::ready(Policy::default());
    h.auto_ack = false;
    let fx = h.cmd(sync_cmd(Some("c2")));
    let seq = write_seq(&fx);
    conflict(&mut h, seq);
    let fx = h.load(bob_deploying("c3"));
    assert!(applies(&fx).is_empty());
    let done = finished(&fx);
    assert_eq!(done.len(), 1, "{fx:#?}");
    assert_eq!(done[0].result, OperationResult::Failed);
    assert!(
        failure_text(done[0])
            .contains("busy: auto-sync of c3 by bob@host/7 is running; nothing was applied"),
        "{:?}",
        done[0].failure
    );
}

#[test]
fn a_rollback_holds_first_then_waits_for_the_other_consoles_operation() {
    let mut h = H::ready_with(Policy::default(), false, bob_deploying("c2"));
    h.lease(false, Some(BOB));
    let fx = h.cmd(rollback_cmd(Some("c1"), false, None));
    assert!(refusal(&fx).is_none(), "{fx:#?}");
    assert!(applies(&fx).is_empty(), "never races bob's apply: {fx:#?}");
    let hold = last_write(&fx).unwrap().hold.clone().unwrap();
    assert_eq!(
        (hold.revision.as_str(), hold.bad_revision.as_str()),
        ("c1", "c2"),
        "the revision bob deploys is the bad one"
    );
    assert!(warnings(&fx).iter().any(|w| w.contains("waits for")));
    // Bob's operation is still running on the next read: still waiting.
    h.advance(1);
    let mut theirs = h.engine.held().clone();
    assert!(applies(&h.load(theirs.clone())).is_empty());
    // Bob's console saw the hold and gave way.
    h.advance(1);
    for e in theirs.history.iter_mut().filter(|e| e.id == "bob-op") {
        e.result = OperationResult::Interrupted;
        e.finished = Some(t(2));
    }
    let fx = h.load(theirs);
    the_apply(&fx, "c1");
}

#[test]
fn a_rollback_that_waits_too_long_fails_and_keeps_its_hold() {
    let mut h = H::ready_with(Policy::default(), false, bob_deploying("c2"));
    h.lease(false, Some(BOB));
    h.cmd(rollback_cmd(Some("c1"), false, None));
    h.advance(121);
    let fx = h.tick();
    assert!(applies(&fx).is_empty());
    let done = finished(&fx);
    assert_eq!(done[0].result, OperationResult::Failed, "{fx:#?}");
    assert!(failure_text(done[0]).contains("did not end within 120s"));
    assert!(h.engine.held().hold.is_some(), "the hold stays");
}

#[test]
fn an_operation_only_validating_gives_way_to_a_hold_that_judges_its_revision_bad() {
    let mut h = H::ready(auto());
    let op = the_apply(&h.git("c2"), "c2");
    h.applied(op, "d-c2");
    let mut theirs = h.engine.held().clone();
    theirs.hold = Some(bobs_hold());
    let fx = h.load(theirs);
    let done = finished(&fx);
    assert_eq!(done.len(), 1, "{fx:#?}");
    assert_eq!(done[0].result, OperationResult::Interrupted);
    assert!(failure_text(done[0]).contains("superseded by a rollback to c1 by bob@host/7"));
    assert!(applies(&fx).is_empty());
}

#[test]
fn an_operation_whose_record_is_never_written_fails_unapplied() {
    let mut h = H::ready(auto());
    h.auto_ack = false;
    let fx = h.git("c2");
    let at = h.at();
    h.send(Event::StateWritten {
        seq: write_seq(&fx),
        result: Err("403 Forbidden".into()),
        at,
    });
    h.advance(31);
    let fx = h.tick();
    assert!(applies(&fx).is_empty());
    let done = finished(&fx);
    assert_eq!(done[0].result, OperationResult::Failed, "{fx:#?}");
    assert!(failure_text(done[0]).contains("could not be recorded"));
}

#[test]
fn a_rollback_to_what_runs_holds_against_a_head_not_yet_deployed() {
    // Git's head moved to c2 a moment ago; automation here is off, so c1 still runs.
    let mut h = H::ready(Policy::default());
    h.git("c2");
    let fx = h.cmd(rollback_cmd(Some("c1"), false, None));
    assert!(refusal(&fx).is_none(), "{fx:#?}");
    let hold = h.engine.held().hold.clone().unwrap();
    assert_eq!(
        (hold.revision.as_str(), hold.bad_revision.as_str()),
        ("c1", "c2"),
        "the head is judged bad and never deployed"
    );
    the_apply(&fx, "c1");
}

#[test]
fn a_read_only_process_never_reaps_nor_writes() {
    // A wall monitor started beside a console: it read the Lease before the console acquired
    // it, then the state with the console's first operation running.
    let mut h = H::new(auto(), true);
    h.lease(false, None);
    let fx = h.load(bob_deploying("c2"));
    assert!(finished(&fx).is_empty(), "nothing reaped: {fx:#?}");
    assert_eq!(writes(&fx), 0);
    let fx = h.git("c2");
    assert_eq!(writes(&fx), 0);
    assert!(applies(&fx).is_empty());
}

#[test]
fn a_console_that_has_not_seen_the_bad_head_keeps_the_hold() {
    // Bob held dev at c1 against head c2; this console still sees c1 as Git's head.
    let mut h = H::ready(auto());
    let mut theirs = h.engine.held().clone();
    theirs.hold = Some(bobs_hold());
    theirs.hold_render_digest = Some("d-c1".into());
    let fx = h.load(theirs);
    assert!(h.engine.held().hold.is_some(), "the hold stays: {fx:#?}");
    assert!(applies(&fx).is_empty());
}
