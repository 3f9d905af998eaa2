//! Unit tests of `update`: every key goes through `translate` (the keymap) exactly as in the
//! event loop, so these check key → action → Command end to end without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::keymap::Action;
use crate::model::{
    Command, DemoAction, EnvTarget, FailureReason, Notice, OperationKind, OperationResult, Snapshot,
};
use crate::tui::action::{UiAction, translate};
use crate::tui::fixtures::{self, sha};
use crate::tui::state::{Dialog, InputLine, Pane, View, ViewState};
use crate::tui::update::update;

fn send(view: &mut ViewState, snap: &Snapshot, key: KeyEvent) -> Option<Command> {
    let action = translate(view, key)?;
    update(view, snap, action)
}

fn press(view: &mut ViewState, snap: &Snapshot, c: char) -> Option<Command> {
    send(
        view,
        snap,
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
    )
}

fn code(view: &mut ViewState, snap: &Snapshot, code: KeyCode) -> Option<Command> {
    send(view, snap, KeyEvent::new(code, KeyModifiers::NONE))
}

fn type_text(view: &mut ViewState, snap: &Snapshot, text: &str) {
    for c in text.chars() {
        assert_eq!(press(view, snap, c), None, "typing {c:?} sent a command");
    }
}

fn dialog_title(view: &ViewState) -> String {
    match &view.dialog {
        Some(Dialog::Confirm(c)) => c.title.clone(),
        Some(Dialog::Typed(t)) => t.title.clone(),
        other => panic!("expected a confirmation, got {other:?}"),
    }
}

#[test]
fn sync_key_confirms_with_the_exact_env_and_revision() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    assert_eq!(press(&mut view, &snap, 's'), None);
    assert_eq!(dialog_title(&view), "Sync dev @ f6a81c2");
    let Some(Dialog::Confirm(confirm)) = &view.dialog else {
        panic!("dev is not protected: a yes/no confirmation");
    };
    assert!(confirm.lines[0].contains("dev") && confirm.lines[0].contains("f6a81c2"));
    let expected = Command::Sync {
        env: "dev".into(),
        revision: Some(sha("f6a81c2")),
        prune: None,
        dry_run: false,
        confirm: None,
        force: false,
    };
    assert_eq!(press(&mut view, &snap, 'y'), Some(expected));
    assert!(view.dialog.is_none());
}

#[test]
fn cancelling_a_confirmation_sends_nothing() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    press(&mut view, &snap, 's');
    assert_eq!(press(&mut view, &snap, 'n'), None);
    assert!(view.dialog.is_none());
    press(&mut view, &snap, 's');
    assert_eq!(code(&mut view, &snap, KeyCode::Esc), None);
    assert!(view.dialog.is_none());
}

#[test]
fn protected_env_requires_the_typed_name() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_on_env(2);
    press(&mut view, &snap, 's');
    assert!(matches!(view.dialog, Some(Dialog::Typed(_))));
    // `y` is just a letter here, not a yes.
    assert_eq!(press(&mut view, &snap, 'y'), None);
    assert_eq!(code(&mut view, &snap, KeyCode::Enter), None);
    let Some(Dialog::Typed(typed)) = &view.dialog else {
        panic!("the dialog must stay open after a wrong name");
    };
    assert!(typed.mismatch);
    code(&mut view, &snap, KeyCode::Backspace);
    type_text(&mut view, &snap, "production");
    let sent = code(&mut view, &snap, KeyCode::Enter);
    assert_eq!(
        sent,
        Some(Command::Sync {
            env: "production".into(),
            revision: Some(sha("f6a81c2")),
            prune: None,
            dry_run: false,
            confirm: Some("production".into()),
            force: false,
        })
    );
}

#[test]
fn rollback_picker_then_typed_confirm_carries_env_and_revision() {
    let snap = fixtures::degraded_with_hold();
    let mut view = fixtures::view_on_env(2);
    press(&mut view, &snap, 'r');
    let Some(Dialog::Picker(picker)) = &view.dialog else {
        panic!("r opens the picker");
    };
    // Production runs d4c9e04 (index 2); the picker preselects the revision before it.
    assert!(picker.entries[2].current);
    assert_eq!(picker.entries[2].result, Some(OperationResult::Succeeded));
    assert_eq!(picker.entries[0].result, Some(OperationResult::Failed));
    assert_eq!(picker.cursor.selected, 3);
    press(&mut view, &snap, 'k');
    code(&mut view, &snap, KeyCode::Enter);
    assert_eq!(dialog_title(&view), "Rollback production → d4c9e04");
    type_text(&mut view, &snap, "production");
    assert_eq!(
        code(&mut view, &snap, KeyCode::Enter),
        Some(Command::Rollback {
            env: "production".into(),
            to: Some(sha("d4c9e04")),
            revert: false,
            confirm: Some("production".into()),
        })
    );
}

#[test]
fn promote_previews_then_commits_with_the_edited_message_and_typed_name() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_on_env(1);
    let preview = press(&mut view, &snap, 'p');
    assert_eq!(
        preview,
        Some(Command::Promote {
            from: "staging".into(),
            to: "production".into(),
            message: None,
            force: false,
            confirm: None,
            preview: true,
        })
    );
    update(
        &mut view,
        &snap,
        UiAction::Notice(fixtures::promotion_preview()),
    );
    let Some(Dialog::Preview(p)) = &view.dialog else {
        panic!("the preview notice opens the preview dialog");
    };
    assert!(p.to_protected);
    assert_eq!(p.drift.len(), 1);
    type_text(&mut view, &snap, " (hotfix)");
    assert_eq!(code(&mut view, &snap, KeyCode::Enter), None);
    assert!(matches!(view.dialog, Some(Dialog::Typed(_))));
    type_text(&mut view, &snap, "production");
    assert_eq!(
        code(&mut view, &snap, KeyCode::Enter),
        Some(Command::Promote {
            from: "staging".into(),
            to: "production".into(),
            message: Some("promote(staging→production): log-api v1.4.0 → v1.5.0 (hotfix)".into()),
            force: false,
            confirm: Some("production".into()),
            preview: false,
        })
    );
}

#[test]
fn promote_to_an_unprotected_env_confirms_from_the_preview() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    assert!(matches!(
        press(&mut view, &snap, 'p'),
        Some(Command::Promote { ref to, preview: true, .. }) if to == "staging"
    ));
    let mut notice = fixtures::promotion_preview();
    if let Notice::PromotionPreviewed { from, to, .. } = &mut notice {
        *from = "dev".into();
        *to = "staging".into();
    }
    update(&mut view, &snap, UiAction::Notice(notice));
    assert!(matches!(
        code(&mut view, &snap, KeyCode::Enter),
        Some(Command::Promote { ref to, preview: false, confirm: None, message: Some(_), .. }) if to == "staging"
    ));
}

#[test]
fn a_preview_this_console_did_not_ask_for_is_ignored() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    update(
        &mut view,
        &snap,
        UiAction::Notice(fixtures::promotion_preview()),
    );
    assert!(view.dialog.is_none());
}

#[test]
fn pause_is_immediate_and_resume_asks_first() {
    let snap = fixtures::drifted();
    let mut view = fixtures::view_state();
    assert_eq!(
        press(&mut view, &snap, 'P'),
        Some(Command::Pause {
            target: EnvTarget::One("dev".into()),
            reason: "paused from the console".into()
        })
    );
    press(&mut view, &snap, 'j');
    assert_eq!(press(&mut view, &snap, 'P'), None);
    assert_eq!(dialog_title(&view), "Resume staging");
    assert_eq!(
        press(&mut view, &snap, 'y'),
        Some(Command::Resume {
            target: EnvTarget::One("staging".into()),
            confirm: Vec::new(),
        })
    );
}

#[test]
fn read_only_refuses_every_mutating_key_with_a_toast() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    view.read_only = true;
    for c in ['s', 'p', 'P', 'r'] {
        assert_eq!(press(&mut view, &snap, c), None, "{c}");
        assert!(view.dialog.is_none(), "{c} opened a dialog");
        assert!(
            view.toasts
                .back()
                .is_some_and(|t| t.error && t.text.starts_with("read-only"))
        );
    }
    press(&mut view, &snap, ':');
    type_text(&mut view, &snap, "pause --all");
    assert_eq!(code(&mut view, &snap, KeyCode::Enter), None);
    // Refresh is not mutating and still works.
    assert_eq!(
        press(&mut view, &snap, 'R'),
        Some(Command::Refresh {
            env: Some("dev".into())
        })
    );
    // The controller's own read-only flag counts too.
    let mut ro = fixtures::demo_healthy();
    ro.read_only = true;
    let mut view = fixtures::view_state();
    assert_eq!(press(&mut view, &ro, 'P'), None);
}

fn palette(view: &mut ViewState, snap: &Snapshot, text: &str) -> Option<Command> {
    press(view, snap, ':');
    assert_eq!(view.input, Some(InputLine::Palette(String::new())));
    type_text(view, snap, text);
    code(view, snap, KeyCode::Enter)
}

#[test]
fn palette_commands_reach_the_same_flows() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    assert_eq!(palette(&mut view, &snap, "sync staging"), None);
    assert_eq!(dialog_title(&view), "Sync staging @ f6a81c2");
    code(&mut view, &snap, KeyCode::Esc);

    assert_eq!(
        palette(&mut view, &snap, "pause --all"),
        Some(Command::Pause {
            target: EnvTarget::All,
            reason: "paused from the console".into()
        })
    );
    assert!(matches!(
        palette(&mut view, &snap, "promote dev staging"),
        Some(Command::Promote { ref from, ref to, preview: true, .. }) if from == "dev" && to == "staging"
    ));

    assert_eq!(
        palette(&mut view, &snap, "rollback production c3d0f15"),
        None
    );
    assert_eq!(dialog_title(&view), "Rollback production → c3d0f15");
    type_text(&mut view, &snap, "production");
    assert!(matches!(
        code(&mut view, &snap, KeyCode::Enter),
        Some(Command::Rollback { ref to, .. }) if *to == Some(sha("c3d0f15"))
    ));

    assert_eq!(palette(&mut view, &snap, "resume --all"), None);
    type_text(&mut view, &snap, "production");
    assert_eq!(
        code(&mut view, &snap, KeyCode::Enter),
        Some(Command::Resume {
            target: EnvTarget::All,
            confirm: vec!["production".into()],
        })
    );

    assert_eq!(palette(&mut view, &snap, "demo break staging"), None);
    assert_eq!(view.demo_request, None, "no demo channel outside the demo");
    assert!(
        view.toasts
            .back()
            .is_some_and(|t| t.error && t.text.contains("only in `driftdeck demo`"))
    );
    view.demo_available = true;
    assert_eq!(palette(&mut view, &snap, "demo break staging"), None);
    assert_eq!(
        view.demo_request,
        Some(DemoAction::Break {
            env: "staging".to_owned()
        })
    );
    view.demo_request = None;
    assert_eq!(palette(&mut view, &snap, "demo break nowhere"), None);
    assert_eq!(view.demo_request, None);

    assert_eq!(palette(&mut view, &snap, "sync nowhere"), None);
    assert!(
        view.toasts
            .back()
            .is_some_and(|t| t.text.contains("no environment named `nowhere`"))
    );
    assert_eq!(palette(&mut view, &snap, "deploy all"), None);
    assert!(
        view.toasts
            .back()
            .is_some_and(|t| t.error && t.text.contains("unknown command"))
    );
}

#[test]
fn navigation_drill_down_and_back() {
    let snap = fixtures::drifted();
    let mut view = fixtures::view_state();
    press(&mut view, &snap, 'j');
    assert_eq!(view.env.selected, 1);
    code(&mut view, &snap, KeyCode::Tab);
    assert_eq!(view.focus, Pane::Commits);
    code(&mut view, &snap, KeyCode::BackTab);
    assert_eq!(view.focus, Pane::Envs);
    code(&mut view, &snap, KeyCode::Enter);
    assert_eq!(view.focus, Pane::Drift);
    press(&mut view, &snap, 'j');
    code(&mut view, &snap, KeyCode::Enter);
    assert!(
        matches!(&view.view, View::Diff { env, key } if env == "staging" && key.name == "log-processor")
    );
    code(&mut view, &snap, KeyCode::Esc);
    assert_eq!(view.view, View::Main);
    press(&mut view, &snap, 'y');
    assert!(matches!(&view.view, View::Object { key, .. } if key.name == "log-processor"));
    code(&mut view, &snap, KeyCode::Esc);
    code(&mut view, &snap, KeyCode::Tab);
    assert_eq!(view.focus, Pane::Pods);
    press(&mut view, &snap, 'G');
    assert_eq!(view.pods.selected, 5);
    press(&mut view, &snap, 'l');
    // Pods are in triage order (worst health first, then name): `G` is the last of that order.
    let staging = &snap.envs[1];
    let last = crate::tui::rows::pod_order(&staging.pods, "", false)
        .last()
        .map(|&i| staging.pods[i].name.clone());
    assert!(matches!(&view.view, View::Logs { pod, .. } if Some(pod) == last.as_ref()));
    code(&mut view, &snap, KeyCode::Esc);
    press(&mut view, &snap, 'e');
    assert!(matches!(&view.view, View::Events { env, .. } if env == "staging"));
    press(&mut view, &snap, '?');
    assert!(matches!(view.dialog, Some(Dialog::Help { .. })));
    press(&mut view, &snap, 'q');
    assert!(view.dialog.is_none() && !view.quit, "q closes help first");
    press(&mut view, &snap, 'q');
    assert!(view.quit);
}

#[test]
fn filter_narrows_rows_live_and_escape_clears_it() {
    let snap = fixtures::drifted();
    let mut view = fixtures::view_on_env(1);
    press(&mut view, &snap, '/');
    type_text(&mut view, &snap, "config");
    assert_eq!(view.filter, "config");
    code(&mut view, &snap, KeyCode::Enter);
    view.focus = Pane::Drift;
    press(&mut view, &snap, 'd');
    assert!(matches!(&view.view, View::Diff { key, .. } if key.name == "debug-flags"));
    code(&mut view, &snap, KeyCode::Esc);
    code(&mut view, &snap, KeyCode::Esc);
    assert!(view.filter.is_empty());
}

#[test]
fn ctrl_c_quits_even_inside_a_dialog() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    press(&mut view, &snap, 's');
    send(
        &mut view,
        &snap,
        KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
    );
    assert!(view.quit);
}

#[test]
fn refusals_and_failed_operations_open_an_error_with_the_reason() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    let refused = Notice::Refused {
        env: Some("staging".into()),
        reason: FailureReason::Refused("dev is not Synced and Healthy".into()),
    };
    update(&mut view, &snap, UiAction::Notice(refused));
    assert!(
        matches!(&view.dialog, Some(Dialog::Error { message, .. }) if message == "refused: dev is not Synced and Healthy")
    );
    code(&mut view, &snap, KeyCode::Enter);
    let entry = fixtures::degraded_with_hold().envs[2].history[1].clone();
    assert_eq!(entry.op, OperationKind::Sync);
    update(
        &mut view,
        &snap,
        UiAction::Notice(Notice::OperationFinished {
            env: "production".into(),
            entry,
        }),
    );
    assert!(
        matches!(&view.dialog, Some(Dialog::Error { title, message }) if title.contains("production") && message.contains("CrashLoopBackOff"))
    );
}

#[test]
fn ticks_expire_toasts_and_rotate_watch_mode() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    view.toast("hello");
    let later = fixtures::NOW
        .checked_add(jiff::SignedDuration::from_secs(30))
        .unwrap();
    update(&mut view, &snap, UiAction::Tick(later));
    assert!(view.toasts.is_empty());
    view.watch_mode = true;
    let mut seen = std::collections::BTreeSet::new();
    for step in 0..3 {
        let t = later
            .checked_add(jiff::SignedDuration::from_secs(8 * step))
            .unwrap();
        update(&mut view, &snap, UiAction::Tick(t));
        seen.insert(view.watch_index);
    }
    assert_eq!(seen.len(), 3, "watch mode visits every env");
    // Watch mode takes no mutating input.
    assert_eq!(update(&mut view, &snap, UiAction::Act(Action::Sync)), None);
    assert!(view.dialog.is_none());
}

#[test]
fn toasts_and_logs_are_bounded() {
    let mut view = fixtures::view_state();
    for i in 0..100 {
        view.toast(format!("t{i}"));
        view.push_log_line(format!("line {i}"));
    }
    for i in 0..20_000 {
        view.push_log_line(format!("line {i}"));
    }
    assert_eq!(view.toasts.len(), crate::tui::state::MAX_TOASTS);
    assert_eq!(view.logs.len(), crate::tui::state::MAX_LOG_LINES);
}

#[test]
fn key_releases_and_unbound_keys_do_nothing() {
    let snap = fixtures::demo_healthy();
    let view = fixtures::view_state();
    let mut release = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE);
    release.kind = crossterm::event::KeyEventKind::Release;
    assert_eq!(translate(&view, release), None);
    assert_eq!(
        translate(&view, KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)),
        None
    );
    let _ = snap;
}

#[test]
fn a_rebound_key_drives_the_same_flow() {
    let (keymap, warnings) =
        crate::config::keymap::Keymap::from_yaml(Some(("user.yaml", "sync: [S]\n")));
    assert!(warnings.is_empty());
    let snap = fixtures::demo_healthy();
    let mut view = ViewState::new(keymap, fixtures::NOW);
    assert_eq!(press(&mut view, &snap, 's'), None);
    assert!(view.dialog.is_none(), "s is no longer sync");
    press(&mut view, &snap, 'S');
    assert_eq!(dialog_title(&view), "Sync dev @ f6a81c2");
    let footer = crate::tui::panes::footer::entries(&view, &snap);
    assert!(footer.contains(&("S".to_owned(), "sync")), "{footer:?}");
}

#[test]
fn syncing_a_held_env_to_its_bad_revision_says_so() {
    let snap = fixtures::degraded_with_hold();
    let mut view = fixtures::view_on_env(2);
    press(&mut view, &snap, 's');
    let Some(Dialog::Typed(typed)) = &view.dialog else {
        panic!("production is protected");
    };
    assert!(
        typed
            .lines
            .iter()
            .any(|l| l.contains("f6a81c2 is the revision production was rolled back from"))
    );
    // The keymap's Back closes a dialog without confirming it.
    assert_eq!(update(&mut view, &snap, UiAction::Act(Action::Back)), None);
    assert!(view.dialog.is_none());
}

#[test]
fn a_failure_elsewhere_does_not_wipe_a_dialog_being_answered() {
    let snap = fixtures::degraded_with_hold();
    let mut view = fixtures::view_on_env(2);
    press(&mut view, &snap, 's');
    type_text(&mut view, &snap, "produ");
    let entry = snap.envs[2].history[1].clone();
    update(
        &mut view,
        &snap,
        UiAction::Notice(Notice::OperationFinished {
            env: "dev".into(),
            entry,
        }),
    );
    assert!(
        matches!(view.dialog, Some(Dialog::Typed(_))),
        "the typed confirmation survives"
    );
    assert!(
        view.toasts
            .back()
            .is_some_and(|t| t.error && t.text.contains("CrashLoopBackOff"))
    );
}

#[test]
fn a_refused_promotion_ends_the_pending_preview_with_the_reason() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_on_env(1);
    assert!(matches!(
        press(&mut view, &snap, 'p'),
        Some(Command::Promote { preview: true, .. })
    ));
    assert_eq!(
        view.awaiting_preview,
        Some(("staging".to_owned(), "production".to_owned()))
    );
    let refused = Notice::Refused {
        env: Some("staging".into()),
        reason: FailureReason::Refused("staging is not Synced and Healthy".into()),
    };
    update(&mut view, &snap, UiAction::Notice(refused));
    assert_eq!(view.awaiting_preview, None);
    assert!(
        !view
            .toasts
            .iter()
            .any(|t| t.text.contains("computing promotion preview")),
        "{:?}",
        view.toasts
    );
    assert!(
        matches!(&view.dialog, Some(Dialog::Error { message, .. }) if message.contains("not Synced and Healthy"))
    );
    // A late preview for the refused request opens nothing.
    update(
        &mut view,
        &snap,
        UiAction::Notice(fixtures::promotion_preview()),
    );
    assert!(matches!(&view.dialog, Some(Dialog::Error { .. })));
}

#[test]
fn esc_gives_up_a_pending_preview() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_on_env(1);
    press(&mut view, &snap, 'p');
    code(&mut view, &snap, KeyCode::Esc);
    assert_eq!(view.awaiting_preview, None);
    update(
        &mut view,
        &snap,
        UiAction::Notice(fixtures::promotion_preview()),
    );
    assert!(view.dialog.is_none());
}

#[test]
fn an_env_whose_observation_failed_never_claims_live_matches_git() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let mut snap = fixtures::demo_healthy();
    let dev = &mut snap.envs[0];
    dev.sync = crate::model::SyncStatus::Unknown;
    dev.error = Some("cluster unreachable: dev: connection refused".to_owned());
    let mut view = fixtures::view_on_env(0);
    view.focus = Pane::Drift;
    let theme = crate::config::theme::Theme::default();
    let mut terminal = Terminal::new(TestBackend::new(120, 36)).unwrap();
    terminal
        .draw(|f| crate::tui::render(f, &snap, &mut view, &theme))
        .unwrap();
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(!screen.contains("live matches Git"), "{screen}");
    assert!(screen.contains("connection refused"), "{screen}");
    assert!(screen.contains("last good data: 4s ago"), "{screen}");
}

#[test]
fn our_own_lease_is_not_shown_as_held_by_someone() {
    let mut view = fixtures::view_state();
    assert!(!view.holds_lease("carol@ops-1/4242"));
    view.own_pid = Some(4242);
    assert!(view.holds_lease("carol@ops-1/4242"));
    assert!(!view.holds_lease("carol@ops-1/42421"));
    assert!(!view.holds_lease("carol@ops-1"));
}

#[test]
fn bang_is_the_emergency_stop_for_every_env_without_a_dialog() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_on_env(0);
    assert_eq!(
        press(&mut view, &snap, '!'),
        Some(Command::Pause {
            target: EnvTarget::All,
            reason: "emergency stop from the console".into()
        })
    );
    assert!(view.dialog.is_none());
}

#[test]
fn copy_in_an_object_view_takes_the_text_shown_and_refuses_a_secret_value() {
    let snap = fixtures::drifted();
    let mut view = fixtures::view_on_env(1);
    view.focus = Pane::Drift;
    press(&mut view, &snap, 'y');
    // Nothing arrived yet: nothing to copy, nothing written.
    press(&mut view, &snap, 'c');
    assert_eq!(view.clipboard, None);
    view.object = Some(Box::new(crate::model::ObjectDetail {
        live: Some("kind: Secret\ndata:\n  password: <masked:1a2b3c4d>\n".into()),
        desired: Some("kind: Secret\ndata:\n  password: aHVudGVyMg==\n".into()),
        ..Default::default()
    }));
    press(&mut view, &snap, 'c');
    assert_eq!(
        view.clipboard.as_deref(),
        Some("kind: Secret\ndata:\n  password: <masked:1a2b3c4d>\n")
    );
    let toast = view
        .toasts
        .back()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(toast.starts_with("copied the live YAML of "), "{toast}");
    // A value that somehow arrived unmasked is refused, with an error toast.
    view.clipboard = None;
    press(&mut view, &snap, '2');
    press(&mut view, &snap, 'c');
    assert_eq!(view.clipboard, None);
    assert!(
        view.toasts
            .back()
            .is_some_and(|t| t.error && t.text.contains("Secret"))
    );
}

#[test]
fn copy_in_the_drift_pane_takes_the_selected_diff() {
    let snap = fixtures::drifted();
    let mut view = fixtures::view_on_env(1);
    view.focus = Pane::Drift;
    press(&mut view, &snap, 'c');
    assert_eq!(
        view.clipboard.as_deref(),
        Some(snap.envs[1].drift[0].diff.as_str())
    );
}
