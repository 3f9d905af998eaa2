//! The one policy every entry point passes through: protected envs need their name typed for
//! sync, rollback and resume; a revision judged bad needs `force`; a hold and a skipped
//! revision say why automation is off and how that ends.

use super::*;

fn protected() -> Policy {
    Policy {
        protected: true,
        ..Policy::default()
    }
}

fn needs_confirmation(fx: &[Effect]) -> String {
    match refusal(fx) {
        Some(FailureReason::NeedsConfirmation(text)) => text.clone(),
        other => panic!("expected a NeedsConfirmation refusal, got {other:?} in {fx:?}"),
    }
}

#[test]
fn protected_sync_without_the_typed_name_says_what_it_would_do_and_applies_nothing() {
    let mut h = H::ready(protected());
    h.git("c2");
    let fx = h.cmd(sync_cmd(None));
    let text = needs_confirmation(&fx);
    assert!(text.contains("would sync dev to c2"), "{text}");
    assert!(text.contains("--confirm dev"), "{text}");
    assert!(applies(&fx).is_empty());
    assert!(last_write(&fx).is_none(), "nothing written: {fx:?}");
    let mut wrong = confirmed(sync_cmd(None));
    if let Command::Sync { confirm, .. } = &mut wrong {
        *confirm = Some("production".into());
    }
    assert!(applies(&h.cmd(wrong)).is_empty());
    the_apply(&h.cmd(confirmed(sync_cmd(None))), "c2");
}

#[test]
fn protected_resume_needs_the_typed_name_and_keeps_the_pause_until_then() {
    let mut h = H::ready(protected());
    h.cmd(pause_cmd());
    let fx = h.cmd(resume_cmd());
    let text = needs_confirmation(&fx);
    assert!(
        text.contains("would resume dev: end the pause by"),
        "{text}"
    );
    assert!(h.engine.view().paused.is_some());
    let fx = h.cmd(confirmed(resume_cmd()));
    assert!(fx.contains(&Effect::Notify(Notice::Resumed { env: "dev".into() })));
    assert!(h.engine.view().paused.is_none());
}

#[test]
fn pause_never_needs_confirmation() {
    let mut h = H::ready(protected());
    let fx = h.cmd(pause_cmd());
    assert!(refusal(&fx).is_none(), "{fx:?}");
    assert!(h.engine.view().paused.is_some());
}

/// Rolled back from c2 to c1 (hold at c1, c2 rejected), Git head still c2.
fn held_after_rollback() -> H {
    let mut h = H::ready(auto());
    let op = the_apply(&h.git("c2"), "c2");
    h.succeed(op, "c2");
    let back = the_apply(&h.cmd(rollback_cmd(None, false, None)), "c1");
    h.succeed(back, "c1");
    let hold = h.engine.view().hold.expect("the rollback holds");
    assert_eq!(
        (hold.revision.as_str(), hold.bad_revision.as_str()),
        ("c1", "c2")
    );
    h
}

#[test]
fn hold_says_why_automation_is_off_and_how_it_ends() {
    let h = held_after_rollback();
    let note = h.engine.view().automation.unwrap_or_default();
    assert!(
        note.contains("automation off: held at c1 (rolled back from c2"),
        "{note}"
    );
    assert!(note.contains("`driftdeck resume dev`"), "{note}");
    assert!(note.contains("auto-sync skips c2"), "{note}");
}

#[test]
fn manual_sync_of_the_held_bad_revision_needs_force_and_then_ends_the_hold() {
    let mut h = held_after_rollback();
    let fx = h.cmd(sync_cmd(Some("c2")));
    let text = needs_confirmation(&fx);
    assert!(text.contains("c2 is a revision automation skips"), "{text}");
    assert!(applies(&fx).is_empty());
    assert!(h.engine.view().hold.is_some());
    let fx = h.cmd(forced(sync_cmd(Some("c2"))));
    the_apply(&fx, "c2");
    assert!(
        h.engine.view().hold.is_none(),
        "a forced sync of the bad revision ends the hold"
    );
    assert!(
        fx.iter().any(
            |e| matches!(e, Effect::Notify(Notice::Warned { message, .. })
            if message.contains("the hold ended"))
        ),
        "{fx:?}"
    );
}

#[test]
fn manual_sync_of_another_revision_during_a_hold_warns_that_the_hold_stays() {
    let mut h = held_after_rollback();
    let fx = h.cmd(sync_cmd(Some("c1")));
    the_apply(&fx, "c1");
    assert!(
        fx.iter().any(
            |e| matches!(e, Effect::Notify(Notice::Warned { message, .. })
            if message.contains("the hold at c1 stays"))
        ),
        "{fx:?}"
    );
    assert!(h.engine.view().hold.is_some());
}

#[test]
fn a_sync_plan_never_claims_drift_counts_about_a_cluster_it_could_not_read() {
    let mut h = H::ready(protected());
    let at = h.at();
    h.send(Event::LiveUnavailable {
        error: "kind autoscaling/v2 HorizontalPodAutoscaler is not served".into(),
        at,
    });
    let fx = h.cmd(sync_cmd(Some("c2")));
    let text = needs_confirmation(&fx);
    assert!(
        text.contains("live state unknown: kind autoscaling/v2") && !text.contains("0 missing"),
        "{text}"
    );
}

#[test]
fn a_sync_plan_before_live_is_observed_says_so_in_plain_words() {
    let mut h = H::new(protected(), false);
    h.load(synced_at_c1());
    h.lease(true, Some(ME));
    h.git("c2");
    let fx = h.cmd(sync_cmd(Some("c2")));
    let text = needs_confirmation(&fx);
    assert!(
        text.contains("(live state not observed yet)") && !text.contains("yet now"),
        "{text}"
    );
}

#[test]
fn a_sync_plan_states_the_drift_counts_as_of_now() {
    let mut h = H::ready(protected());
    h.live(1, 2, 0, HealthCode::Healthy);
    let fx = h.cmd(sync_cmd(Some("c1")));
    let text = needs_confirmation(&fx);
    assert!(
        text.contains("(1 missing, 2 modified, 0 extra now)"),
        "{text}"
    );
}
