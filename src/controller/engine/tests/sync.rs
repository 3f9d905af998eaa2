//! Manual sync: apply, validation, render errors, retries, the prune guard.

use super::*;

#[test]
fn sync_when_no_drift_goes_idle() {
    let mut h = H::ready(auto());
    h.advance(30);
    assert!(h.tick().is_empty());
    assert!(h.live(0, 0, 0, HealthCode::Healthy).is_empty());
    assert!(h.git("c1").is_empty());
    assert_eq!(h.engine.view().sync, SyncStatus::Synced);
}

#[test]
fn manual_sync_applies_head_then_validates_and_succeeds() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    let fx = h.cmd(sync_cmd(None));
    let op = the_apply(&fx, "c2");
    assert!(!applies(&fx)[0].2, "prune follows the policy (off)");
    assert_eq!(started(&fx), [(OperationKind::Sync, "c2".to_string())]);
    let running = &last_write(&fx).unwrap().history[0];
    assert_eq!(running.result, OperationResult::Running);
    assert_eq!(running.operator, ME);

    h.advance(2);
    let fx = h.applied(op, "d-c2");
    assert!(fx.contains(&Effect::Validate { op }));
    assert_eq!(wakes(&fx), [t(2 + 300)], "validation deadline");
    assert_eq!(
        last_write(&fx).unwrap().synced_revision.as_deref(),
        Some("c2")
    );
    assert_eq!(h.engine.view().operation.unwrap().op, OperationKind::Sync);

    h.advance(5);
    assert!(
        h.validated(op, HealthCode::Progressing, "1 of 2 ready")
            .iter()
            .all(|e| !matches!(e, Effect::Notify(Notice::OperationFinished { .. })))
    );
    let fx = h.validated(op, HealthCode::Healthy, "");
    assert!(fx.contains(&Effect::StopValidation { op }));
    let done = finished(&fx);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].result, OperationResult::Succeeded);
    assert_eq!(done[0].render_digest, "d-c2");
    assert_eq!(done[0].resources_changed, 2);
    assert_eq!(done[0].finished, Some(t(7)));
    let held = last_write(&fx).unwrap();
    assert_eq!(held.last_good.as_deref(), Some("c2"));
    assert_eq!(held.history.len(), 2, "one entry per operation");
    assert!(h.engine.view().operation.is_none());
}

#[test]
fn live_waits_only_while_an_apply_is_out() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    assert!(!h.engine.applying(), "idle");
    let op = the_apply(&h.cmd(sync_cmd(None)), "c2");
    assert!(h.engine.applying(), "Apply sent, no Applied yet");
    h.advance(2);
    h.applied(op, "d-c2");
    assert!(!h.engine.applying(), "validating: live is observed again");
}

#[test]
fn sync_at_a_given_revision_with_prune_override() {
    let mut h = H::ready(Policy::default());
    let fx = h.cmd(Command::Sync {
        env: "dev".into(),
        revision: Some("c0".into()),
        prune: Some(true),
        dry_run: false,
        confirm: None,
        force: false,
    });
    assert_eq!(applies(&fx)[0].1, "c0");
    assert!(applies(&fx)[0].2);
}

#[test]
fn dry_run_sync_applies_nothing_and_reports() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    h.live(1, 2, 0, HealthCode::Healthy);
    let fx = h.cmd(Command::Sync {
        env: "dev".into(),
        revision: None,
        prune: None,
        dry_run: true,
        confirm: None,
        force: false,
    });
    assert!(applies(&fx).is_empty());
    assert_eq!(writes(&fx), 0);
    let warned = warnings(&fx);
    assert!(warned[0].contains("dry run") && warned[0].contains("1 missing, 2 modified"));
    assert_eq!(audits(&fx)[0].0, "sync --dry-run");
}

#[test]
fn degraded_validation_fails_at_once_without_auto_rollback() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    let op = the_apply(&h.cmd(sync_cmd(None)), "c2");
    h.applied(op, "d-c2");
    let fx = h.validated(op, HealthCode::Degraded, "log-api: CrashLoopBackOff");
    let done = finished(&fx);
    assert_eq!(done[0].result, OperationResult::Failed);
    assert_eq!(
        done[0].failure,
        Some(FailureReason::Degraded("log-api: CrashLoopBackOff".into()))
    );
    assert!(applies(&fx).is_empty(), "no rollback without auto_rollback");
    assert!(fx.contains(&Effect::StopValidation { op }));
    let held = last_write(&fx).unwrap();
    assert!(held.hold.is_none());
    assert_eq!(held.last_good.as_deref(), Some("c1"), "last_good unchanged");
}

#[test]
fn validation_timeout_fails_the_sync() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    let op = the_apply(&h.cmd(sync_cmd(None)), "c2");
    h.applied(op, "d-c2");
    h.advance(100);
    h.validated(op, HealthCode::Progressing, "0 of 2 ready");
    h.advance(199);
    assert!(finished(&h.tick()).is_empty(), "deadline not reached yet");
    h.advance(1);
    let fx = h.tick();
    let done = finished(&fx);
    assert_eq!(done.len(), 1);
    match &done[0].failure {
        Some(FailureReason::ValidationTimeout(msg)) => {
            assert!(
                msg.contains("300s") && msg.contains("0 of 2 ready"),
                "{msg}"
            )
        }
        other => panic!("expected a validation timeout, got {other:?}"),
    }
}

#[test]
fn render_error_fails_before_any_apply() {
    let mut h = H::ready(Policy::default());
    h.git_err(
        "c2",
        "overlays/dev/kustomization.yaml:3:1: unknown field \"patchez\"",
    );
    let fx = h.cmd(sync_cmd(None));
    assert!(applies(&fx).is_empty());
    let done = finished(&fx);
    assert_eq!(done[0].result, OperationResult::Failed);
    assert!(matches!(&done[0].failure, Some(FailureReason::Render(m)) if m.contains("patchez")));
    assert!(
        h.engine
            .view()
            .error
            .unwrap()
            .contains("render of c2 failed")
    );
    assert_eq!(h.engine.view().sync, SyncStatus::Unknown);
}

#[test]
fn transient_apply_failures_retry_with_backoff_then_fail() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    let op = the_apply(&h.cmd(sync_cmd(None)), "c2");
    let mut delays = Vec::new();
    for _ in 0..5 {
        let fx = h.apply_failed(op, true);
        assert!(finished(&fx).is_empty());
        let wake = wakes(&fx)[0];
        delays.push(wake.duration_since(h.at()).as_secs());
        h.advance(1);
        assert!(
            applies(&h.tick()).is_empty(),
            "no retry before the backoff ends"
        );
        h.now = wake.duration_since(t(0)).as_secs();
        assert_eq!(applies(&h.tick()), [(op, "c2".to_string(), false)]);
    }
    assert_eq!(delays, [5, 10, 20, 40, 80]);
    let fx = h.apply_failed(op, true);
    let done = finished(&fx);
    assert_eq!(done[0].result, OperationResult::Failed);
    assert!(matches!(done[0].failure, Some(FailureReason::Apply(_))));
}

#[test]
fn non_transient_apply_failure_fails_at_once() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    let op = the_apply(&h.cmd(sync_cmd(None)), "c2");
    let fx = h.apply_failed(op, false);
    assert_eq!(finished(&fx)[0].result, OperationResult::Failed);
    assert!(wakes(&fx).is_empty());
}

#[test]
fn retry_after_a_transient_failure_can_succeed() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    let op = the_apply(&h.cmd(sync_cmd(None)), "c2");
    h.apply_failed(op, true);
    assert!(h.engine.view().operation.unwrap().phase.contains("retry 1"));
    h.advance(5);
    assert_eq!(applies(&h.tick()).len(), 1);
    let fx = h.succeed(op, "c2");
    assert_eq!(finished(&fx)[0].result, OperationResult::Succeeded);
}

#[test]
fn empty_render_fails_with_its_reason_unless_allowed() {
    let mut h = H::ready(auto());
    let fx = h.git_digest("c2", "d-empty", 0);
    assert!(applies(&fx).is_empty(), "an empty render is never applied");
    let done = finished(&fx);
    assert_eq!(done[0].result, OperationResult::Failed);
    let reason = done[0].failure.as_ref().unwrap().to_string();
    assert!(reason.contains("renders no objects"), "{reason}");
    assert!(reason.contains("allow_empty: true"), "{reason}");

    let mut h = H::ready(Policy {
        allow_empty: true,
        ..auto()
    });
    let fx = h.git_digest("c2", "d-empty", 0);
    assert!(
        applies(&fx)[0].2,
        "allowed: applied and pruned like any render"
    );
}

#[test]
fn late_results_for_an_ended_operation_are_ignored() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    let op = the_apply(&h.cmd(sync_cmd(None)), "c2");
    h.succeed(op, "c2");
    assert!(h.applied(op, "d-c2").is_empty());
    assert!(h.validated(op, HealthCode::Degraded, "x").is_empty());
    assert!(h.validated(OpId(99), HealthCode::Degraded, "x").is_empty());
}

#[test]
fn a_failed_apply_records_what_it_changed_before_failing() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    let op = the_apply(&h.cmd(sync_cmd(None)), "c2");
    let fail = |transient, changed| ApplyFailure {
        reason: FailureReason::Apply("Deployment/ns/api: refused".into()),
        transient,
        changed,
    };
    let at = h.at();
    let fx = h.send(Event::Applied {
        op,
        result: Err(fail(true, 2)),
        at,
    });
    h.now = wakes(&fx)[0].duration_since(t(0)).as_secs();
    assert_eq!(applies(&h.tick()), [(op, "c2".to_string(), false)]);
    let at = h.at();
    let fx = h.send(Event::Applied {
        op,
        result: Err(fail(false, 1)),
        at,
    });
    let done = finished(&fx);
    assert_eq!(done[0].result, OperationResult::Failed);
    assert_eq!(
        done[0].resources_changed, 3,
        "history must not say 0 changed"
    );
}
