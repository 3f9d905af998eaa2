//! Command admission: read-only, routing, state not loaded, busy; audit of every command.

use super::*;

fn mutating_commands() -> Vec<Command> {
    vec![
        sync_cmd(None),
        rollback_cmd(Some("c0"), false, Some("dev")),
        pause_cmd(),
        resume_cmd(),
        Command::Pause {
            target: EnvTarget::All,
            reason: "stop".into(),
        },
        Command::Promote {
            from: "staging".into(),
            to: "dev".into(),
            message: None,
            force: false,
            confirm: None,
            preview: false,
        },
    ]
}

#[test]
fn read_only_refuses_every_mutating_command_before_any_effect() {
    for command in mutating_commands() {
        let mut h = H::ready_with(auto(), true, synced_at_c1());
        let fx = h.cmd(command.clone());
        assert!(
            matches!(&fx[0], Effect::Notify(Notice::Refused { reason: FailureReason::ReadOnly(m), .. }) if m.contains("read-only")),
            "{command:?} gave {fx:#?}"
        );
        assert!(
            fx[1..].iter().all(|e| matches!(e, Effect::Audit { .. })),
            "{command:?}: only the audit may follow a refusal: {fx:#?}"
        );
        assert!(h.engine.view().paused.is_none());
        assert!(h.engine.view().operation.is_none());
    }
}

#[test]
fn read_only_still_allows_refresh_and_dry_run() {
    let mut h = H::ready_with(Policy::default(), true, synced_at_c1());
    assert!(
        h.cmd(Command::Refresh { env: None })
            .contains(&Effect::Refresh)
    );
    let fx = h.cmd(Command::Sync {
        env: "dev".into(),
        revision: None,
        prune: None,
        dry_run: true,
        confirm: None,
        force: false,
    });
    assert!(refusal(&fx).is_none());
    assert!(warnings(&fx)[0].contains("dry run"));
}

#[test]
fn sync_during_an_operation_is_refused() {
    let mut h = H::ready(Policy::default());
    h.git("c2");
    let op = the_apply(&h.cmd(sync_cmd(None)), "c2");
    let fx = h.cmd(sync_cmd(Some("c3")));
    assert!(
        matches!(refusal(&fx), Some(FailureReason::Refused(m)) if m.contains("busy") && m.contains("sync of c2"))
    );
    assert!(applies(&fx).is_empty());
    h.succeed(op, "c2");
    the_apply(&h.cmd(sync_cmd(Some("c3"))), "c3");
}

#[test]
fn pause_during_an_operation_is_accepted() {
    let mut h = H::ready(auto());
    the_apply(&h.git("c2"), "c2");
    let fx = h.cmd(pause_cmd());
    assert!(refusal(&fx).is_none());
    assert!(last_write(&fx).unwrap().paused.is_some());
}

#[test]
fn command_for_another_env_is_refused() {
    let mut h = H::ready(Policy::default());
    let fx = h.cmd(Command::Sync {
        env: "production".into(),
        revision: None,
        prune: None,
        dry_run: false,
        confirm: None,
        force: false,
    });
    assert!(matches!(refusal(&fx), Some(FailureReason::Refused(m)) if m.contains("production")));
    assert!(applies(&fx).is_empty());
}

#[test]
fn mutating_command_before_state_is_loaded_is_refused() {
    let mut h = H::new(Policy::default(), false);
    h.git("c1");
    let fx = h.cmd(pause_cmd());
    assert!(
        matches!(refusal(&fx), Some(FailureReason::Refused(m)) if m.contains("ConfigMap driftdeck-dev"))
    );
    assert_eq!(writes(&fx), 0, "never write a state built from nothing");
}

#[test]
fn promote_is_not_an_env_operation() {
    let mut h = H::ready(Policy::default());
    let fx = h.cmd(mutating_commands().pop().unwrap());
    assert!(matches!(refusal(&fx), Some(FailureReason::Refused(m)) if m.contains("Git commit")));
}

#[test]
fn every_command_is_audited() {
    let mut h = H::ready(Policy::default());
    for (command, action) in [
        (Command::Refresh { env: None }, "refresh"),
        (pause_cmd(), "pause"),
        (resume_cmd(), "resume"),
        (sync_cmd(None), "sync"),
        (sync_cmd(None), "sync"), // refused: busy — still audited
    ] {
        let fx = h.cmd(command);
        assert!(
            audits(&fx).iter().any(|(a, _)| *a == action),
            "{action}: {fx:#?}"
        );
    }
}

#[test]
fn pause_all_fanned_out_pauses_this_env() {
    let mut h = H::ready(auto());
    let fx = h.cmd(Command::Pause {
        target: EnvTarget::All,
        reason: "emergency stop".into(),
    });
    assert!(fx.contains(&Effect::Notify(Notice::Paused { env: "dev".into() })));
    assert_eq!(
        last_write(&fx).unwrap().paused.as_ref().unwrap().reason,
        "emergency stop"
    );
    let fx = h.cmd(Command::Resume {
        target: EnvTarget::All,
        confirm: Vec::new(),
    });
    assert!(last_write(&fx).unwrap().paused.is_none());
}

#[test]
fn another_consoles_running_operation_makes_the_env_busy() {
    let mut state = synced_at_c1();
    state.history.insert(
        0,
        entry(
            "bob-op",
            OperationKind::Sync,
            "c2",
            "bob@host/7",
            -5,
            OperationResult::Running,
        ),
    );
    let mut h = H::ready_with(auto(), false, state);
    h.lease(true, Some("bob@host/7"));
    let fx = h.cmd(sync_cmd(None));
    assert!(matches!(refusal(&fx), Some(FailureReason::Refused(m)) if m.contains("bob@host/7")));
    let running = h.engine.view().operation.unwrap();
    assert_eq!(
        (running.by.as_str(), running.revision.as_str()),
        ("bob@host/7", "c2")
    );
    assert!(
        applies(&h.git("c3")).is_empty(),
        "no automation beside it either"
    );
}

#[test]
fn resume_of_a_running_env_writes_nothing() {
    let mut h = H::ready(Policy::default());
    let fx = h.cmd(resume_cmd());
    assert_eq!(writes(&fx), 0);
    assert!(fx.contains(&Effect::Notify(Notice::Resumed { env: "dev".into() })));
}
