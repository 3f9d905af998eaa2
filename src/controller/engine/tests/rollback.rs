//! Auto-rollback, rollback, the hold and `--revert`.

use super::*;

/// History: c1 synced and validated, then c2 synced and validated; live runs c2.
fn synced_at_c2() -> HeldState {
    let mut held = synced_at_c1();
    held.synced_revision = Some("c2".into());
    held.last_good = Some("c2".into());
    held.history.insert(
        0,
        entry(
            "old-2",
            OperationKind::Sync,
            "c2",
            "bob@host/7",
            -50,
            OperationResult::Succeeded,
        ),
    );
    held
}

fn with_auto_rollback() -> Policy {
    Policy {
        auto_rollback: true,
        ..auto()
    }
}

#[test]
fn failed_validation_with_auto_rollback_rolls_back_and_holds() {
    let mut h = H::ready(with_auto_rollback());
    let op = the_apply(&h.git("c2"), "c2");
    h.applied(op, "d-c2");
    h.advance(20);
    let fx = h.validated(op, HealthCode::Degraded, "log-api: CrashLoopBackOff");
    let done = finished(&fx);
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0].op, done[0].result),
        (OperationKind::AutoSync, OperationResult::Failed)
    );
    let back = the_apply(&fx, "c1");
    assert_eq!(
        started(&fx),
        [(OperationKind::AutoRollback, "c1".to_string())]
    );
    let held = last_write(&fx).unwrap();
    let hold = held.hold.as_ref().unwrap();
    assert_eq!(
        (hold.revision.as_str(), hold.bad_revision.as_str()),
        ("c1", "c2")
    );
    assert!(hold.reason.contains("CrashLoopBackOff"), "{}", hold.reason);
    assert!(held.is_rejected("c2", None));

    let fx = h.succeed(back, "c1");
    assert_eq!(finished(&fx)[0].result, OperationResult::Succeeded);
    let held = last_write(&fx).unwrap();
    let ops: Vec<_> = held.history.iter().map(|e| (e.op, e.result)).collect();
    assert_eq!(
        ops[..2],
        [
            (OperationKind::AutoRollback, OperationResult::Succeeded),
            (OperationKind::AutoSync, OperationResult::Failed)
        ]
    );
    assert!(matches!(
        held.history[1].failure,
        Some(FailureReason::Degraded(_))
    ));
    assert_eq!(held.synced_revision.as_deref(), Some("c1"));
    assert_eq!(held.hold_render_digest.as_deref(), Some("d-c1"));
    assert!(h.engine.view().hold.is_some());
}

#[test]
fn held_env_never_auto_syncs() {
    let mut h = H::ready(with_auto_rollback());
    let op = the_apply(&h.git("c2"), "c2");
    h.applied(op, "d-c2");
    let back = the_apply(&h.validated(op, HealthCode::Degraded, "x"), "c1");
    h.succeed(back, "c1");
    h.advance(60);
    assert!(applies(&h.tick()).is_empty());
    assert!(
        applies(&h.git("c2")).is_empty(),
        "never back to the bad revision"
    );
    assert!(
        applies(&h.git("c3")).is_empty(),
        "held: no auto-sync at all"
    );
    assert!(
        applies(&h.live(0, 2, 0, HealthCode::Healthy)).is_empty(),
        "nor self-heal"
    );
}

#[test]
fn auto_rollback_without_an_earlier_good_revision_just_fails() {
    let state = HeldState {
        synced_revision: Some("c1".into()),
        ..HeldState::default()
    };
    let mut h = H::ready_with(with_auto_rollback(), false, state);
    let op = the_apply(&h.git("c2"), "c2");
    h.applied(op, "d-c2");
    let fx = h.validated(op, HealthCode::Degraded, "x");
    assert_eq!(finished(&fx)[0].result, OperationResult::Failed);
    assert!(applies(&fx).is_empty());
    assert!(last_write(&fx).unwrap().hold.is_none());
    assert!(warnings(&fx)[0].contains("no earlier good revision"));
}

#[test]
fn validation_timeout_also_triggers_auto_rollback() {
    let mut h = H::ready(with_auto_rollback());
    let op = the_apply(&h.git("c2"), "c2");
    h.applied(op, "d-c2");
    h.advance(300);
    let fx = h.tick();
    assert!(matches!(
        finished(&fx)[0].failure,
        Some(FailureReason::ValidationTimeout(_))
    ));
    the_apply(&fx, "c1");
}

#[test]
fn rollback_defaults_to_the_previous_good_revision_and_holds() {
    let mut h = H::ready_with(auto(), false, synced_at_c2());
    let fx = h.cmd(rollback_cmd(None, false, None));
    the_apply(&fx, "c1");
    assert_eq!(started(&fx), [(OperationKind::Rollback, "c1".to_string())]);
    let held = last_write(&fx).unwrap();
    let hold = held.hold.as_ref().unwrap();
    assert_eq!(
        (hold.revision.as_str(), hold.bad_revision.as_str()),
        ("c1", "c2")
    );
    assert_eq!(hold.by, ME);
    assert!(
        held.is_rejected("other-sha", Some("d-c2")),
        "bad render banned by digest"
    );
    assert_eq!(audits(&fx)[0].0, "rollback");
}

#[test]
fn rollback_to_a_named_revision() {
    let mut h = H::ready_with(Policy::default(), false, synced_at_c2());
    the_apply(&h.cmd(rollback_cmd(Some("c0"), false, None)), "c0");
}

#[test]
fn rollback_without_an_earlier_revision_is_refused() {
    let mut h = H::ready(Policy::default());
    let fx = h.cmd(rollback_cmd(None, false, None));
    assert!(matches!(refusal(&fx), Some(FailureReason::Refused(m)) if m.contains("--to")));
    assert!(applies(&fx).is_empty());
    assert_eq!(writes(&fx), 0);
    let fx = h.cmd(rollback_cmd(Some("c1"), false, None));
    assert!(matches!(refusal(&fx), Some(FailureReason::Refused(m)) if m.contains("already runs")));
}

#[test]
fn rollback_of_a_protected_env_needs_its_name_typed() {
    let protected = Policy {
        protected: true,
        ..Policy::default()
    };
    let mut h = H::ready_with(protected, false, synced_at_c2());
    let fx = h.cmd(rollback_cmd(None, false, None));
    assert!(
        matches!(refusal(&fx), Some(FailureReason::NeedsConfirmation(m))
            if m.contains("--confirm dev") && m.contains("would roll back dev from c2 to c1")),
        "{fx:?}"
    );
    assert!(applies(&fx).is_empty());
    assert!(refusal(&h.cmd(rollback_cmd(None, false, Some("prod")))).is_some());
    the_apply(&h.cmd(rollback_cmd(None, false, Some("dev"))), "c1");
}

#[test]
fn rollback_with_revert_commits_first_then_applies_the_target() {
    let mut h = H::ready_with(Policy::default(), false, synced_at_c2());
    let fx = h.cmd(rollback_cmd(None, true, None));
    assert!(
        applies(&fx).is_empty(),
        "Git first, nothing applied yet: {fx:?}"
    );
    let op = match fx.iter().find_map(|e| match e {
        Effect::Revert {
            op,
            bad_revision,
            good_revision,
        } => Some((*op, bad_revision.clone(), good_revision.clone())),
        _ => None,
    }) {
        Some((op, bad, good)) => {
            assert_eq!((bad.as_str(), good.as_str()), ("c2", "c1"));
            op
        }
        None => panic!("no Revert effect in {fx:?}"),
    };
    assert!(h.engine.view().operation.unwrap().phase.contains("revert"));
    let at = h.at();
    let fx = h.send(Event::Committed {
        op,
        result: Ok(CommitReport {
            sha: "c3".into(),
            summary: "Revert c2".into(),
            pushed: false,
        }),
        at,
    });
    assert!(fx.contains(&Effect::Notify(Notice::Committed {
        sha: "c3".into(),
        summary: "Revert c2".into(),
        pushed: false
    })));
    assert!(finished(&fx).is_empty(), "the target is applied next");
    let op = the_apply(&fx, "c1");
    assert_eq!(
        finished(&h.succeed(op, "c1"))[0].result,
        OperationResult::Succeeded
    );
}

#[test]
fn failed_revert_commit_applies_nothing_and_leaves_no_hold() {
    let mut h = H::ready_with(Policy::default(), false, synced_at_c2());
    let fx = h.cmd(rollback_cmd(None, true, None));
    assert!(applies(&fx).is_empty());
    let op = h
        .engine
        .view()
        .operation
        .map(|_| ())
        .and(fx.iter().find_map(|e| match e {
            Effect::Revert { op, .. } => Some(*op),
            _ => None,
        }));
    let at = h.at();
    let fx = h.send(Event::Committed {
        op: op.unwrap(),
        result: Err("c1 is not a first-parent ancestor of c2".into()),
        at,
    });
    assert!(applies(&fx).is_empty());
    let done = finished(&fx);
    assert!(
        matches!(&done[0].failure, Some(FailureReason::Git(m)) if m.contains("nothing was applied")),
        "{done:?}"
    );
    let view = h.engine.view();
    assert!(view.hold.is_none(), "a refused revert leaves no hold");
    assert_eq!(
        view.synced_revision.as_deref(),
        Some("c2"),
        "live untouched"
    );
    assert!(!h.engine.held().is_rejected("c2", None));
}

#[test]
fn default_rollback_target_is_older_than_the_bad_revision() {
    // c1 validated, then c2 validated, then c3 (bad) deployed; later c1 was re-synced and c3
    // again: the target is c2 (the last good before c3 was first deployed).
    let mut held = synced_at_c2();
    held.history.insert(
        0,
        entry(
            "old-3",
            OperationKind::Sync,
            "c3",
            "bob@host/7",
            -40,
            OperationResult::Succeeded,
        ),
    );
    held.history.insert(
        0,
        entry(
            "old-4",
            OperationKind::Sync,
            "c1",
            "bob@host/7",
            -30,
            OperationResult::Succeeded,
        ),
    );
    held.history.insert(
        0,
        entry(
            "old-5",
            OperationKind::Sync,
            "c3",
            "bob@host/7",
            -20,
            OperationResult::Succeeded,
        ),
    );
    held.synced_revision = Some("c3".into());
    let mut h = H::ready_with(Policy::default(), false, held);
    the_apply(&h.cmd(rollback_cmd(None, false, None)), "c2");
}

#[test]
fn hold_ends_when_git_renders_the_held_digest() {
    let mut h = H::ready_with(auto(), false, synced_at_c2());
    let fx = h.cmd(rollback_cmd(None, true, None));
    let Some(op) = fx.iter().find_map(|e| match e {
        Effect::Revert { op, .. } => Some(*op),
        _ => None,
    }) else {
        panic!("no Revert effect in {fx:?}");
    };
    let at = h.at();
    let fx = h.send(Event::Committed {
        op,
        result: Ok(CommitReport {
            sha: "c3".into(),
            summary: "Revert c2".into(),
            pushed: true,
        }),
        at,
    });
    let op = the_apply(&fx, "c1");
    // The revert commit renders exactly what the hold keeps live; seen while rolling back.
    h.git_digest("c3", "d-c1", 3);
    assert!(
        h.engine.view().hold.is_some(),
        "kept while the rollback runs"
    );
    let fx = h.succeed(op, "c1");
    let held = last_write(&fx).unwrap();
    assert!(held.hold.is_none(), "{held:?}");
    assert!(
        warnings(&fx)
            .iter()
            .any(|w| w.contains("hold on dev released"))
    );
    // Auto-sync resumes with the revert commit (same render), never the bad one.
    the_apply(&fx, "c3");
}

#[test]
fn resume_ends_the_hold_but_the_bad_render_stays_banned() {
    let mut h = H::ready_with(auto(), false, synced_at_c2());
    let op = the_apply(&h.cmd(rollback_cmd(None, false, None)), "c1");
    h.succeed(op, "c1");
    let fx = h.cmd(resume_cmd());
    assert!(last_write(&fx).unwrap().hold.is_none());
    assert!(applies(&fx).is_empty(), "head c2 is the bad revision");
    assert!(
        applies(&h.git_digest("c4", "d-c2", 3)).is_empty(),
        "bad render again"
    );
    the_apply(&h.git("c5"), "c5");
}

#[test]
fn rollback_supersedes_a_sync_waiting_for_validation() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    let op = the_apply(&h.cmd(sync_cmd(None)), "c2");
    h.applied(op, "d-c2");
    let fx = h.cmd(rollback_cmd(None, false, None));
    assert!(fx.contains(&Effect::StopValidation { op }));
    let done = finished(&fx);
    assert_eq!(done[0].result, OperationResult::Interrupted);
    assert_eq!(done[0].revision, "c2");
    the_apply(&fx, "c1");
    let hold = h.engine.view().hold.unwrap();
    assert_eq!(hold.bad_revision, "c2");
}

#[test]
fn rollback_is_refused_while_an_apply_is_in_flight() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    the_apply(&h.cmd(sync_cmd(None)), "c2");
    let fx = h.cmd(rollback_cmd(Some("c1"), false, None));
    assert!(matches!(refusal(&fx), Some(FailureReason::Refused(m)) if m.contains("busy")));
    assert!(applies(&fx).is_empty());
}

#[test]
fn manual_sync_while_held_is_allowed_and_keeps_the_hold() {
    let mut h = H::ready_with(auto(), false, synced_at_c2());
    let op = the_apply(&h.cmd(rollback_cmd(None, false, None)), "c1");
    h.succeed(op, "c1");
    h.git("c3");
    let op = the_apply(&h.cmd(sync_cmd(None)), "c3");
    let fx = h.succeed(op, "c3");
    assert_eq!(finished(&fx)[0].result, OperationResult::Succeeded);
    assert!(
        h.engine.view().hold.is_some(),
        "only resume or Git ends a hold"
    );
    assert!(applies(&h.git("c4")).is_empty(), "still no auto-sync");
}
