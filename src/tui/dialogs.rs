//! Keys inside dialogs. Dialog keys are fixed, not from the keymap (Enter/y confirm, Esc/n
//! cancel, arrows move), so a rebinding can never turn "cancel" into "confirm". A dialog
//! returns the command it was opened with — filled in with the typed env name or the edited
//! message — and nothing else.
//!
//! Imports `crate::model` only (plus sibling UI state); pure.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use crate::model::{Command, Snapshot};
use crate::tui::flows;
use crate::tui::state::{Dialog, TypedConfirm, ViewState};

pub fn on_key(view: &mut ViewState, snap: &Snapshot, key: KeyEvent) -> Option<Command> {
    let dialog = view.dialog.take()?;
    let (dialog, command) = match dialog {
        Dialog::Confirm(confirm) => match key.code {
            KeyCode::Enter | KeyCode::Char('y') | KeyCode::Char('Y') => {
                (None, Some(confirm.command))
            }
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Char('q') => {
                (None, None)
            }
            _ => (Some(Dialog::Confirm(confirm)), None),
        },
        Dialog::Typed(typed) => typed_key(typed, key),
        Dialog::Preview(mut preview) => match key.code {
            KeyCode::Esc => (None, None),
            KeyCode::Enter if !key.modifiers.contains(KeyModifiers::ALT) => {
                let message = preview.message.lines().join("\n").trim().to_owned();
                let message = (!message.is_empty()).then_some(message);
                let command = Command::Promote {
                    from: preview.from.clone(),
                    to: preview.to.clone(),
                    message,
                    force: false,
                    confirm: None,
                    preview: false,
                };
                if preview.to_protected {
                    let lines = vec![
                        format!("Promote {} → {} (protected)", preview.from, preview.to),
                        format!("{} resources change in {}", preview.drift.len(), preview.to),
                    ];
                    (
                        Some(typed_dialog(
                            format!("Promote to {}", preview.to),
                            lines,
                            &preview.to,
                            command,
                        )),
                        None,
                    )
                } else {
                    (None, Some(command))
                }
            }
            KeyCode::Enter => {
                preview.message.insert_newline();
                (Some(Dialog::Preview(preview)), None)
            }
            KeyCode::PageDown => {
                preview.scroll = preview.scroll.saturating_add(10);
                (Some(Dialog::Preview(preview)), None)
            }
            KeyCode::PageUp => {
                preview.scroll = preview.scroll.saturating_sub(10);
                (Some(Dialog::Preview(preview)), None)
            }
            _ => {
                preview.message.input(key);
                (Some(Dialog::Preview(preview)), None)
            }
        },
        Dialog::Picker(mut picker) => match key.code {
            KeyCode::Esc | KeyCode::Char('q') => (None, None),
            KeyCode::Up | KeyCode::Char('k') => {
                picker.cursor.move_by(-1, picker.entries.len());
                (Some(Dialog::Picker(picker)), None)
            }
            KeyCode::Down | KeyCode::Char('j') => {
                picker.cursor.move_by(1, picker.entries.len());
                (Some(Dialog::Picker(picker)), None)
            }
            KeyCode::Enter => {
                let sha = picker
                    .entries
                    .get(picker.cursor.selected)
                    .map(|e| e.sha.clone());
                match (sha, snap.env(&picker.env)) {
                    (Some(sha), Some(env)) => {
                        flows::confirm_rollback(view, env, &sha);
                        return None;
                    }
                    _ => (None, None),
                }
            }
            _ => (Some(Dialog::Picker(picker)), None),
        },
        Dialog::Error { title, message } => match key.code {
            KeyCode::Enter | KeyCode::Esc | KeyCode::Char('q') => (None, None),
            _ => (Some(Dialog::Error { title, message }), None),
        },
        Dialog::Help { scroll } => match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char('?') => (None, None),
            KeyCode::Down | KeyCode::Char('j') => (Some(Dialog::Help { scroll: scroll + 1 }), None),
            KeyCode::Up | KeyCode::Char('k') => (
                Some(Dialog::Help {
                    scroll: scroll.saturating_sub(1),
                }),
                None,
            ),
            _ => (Some(Dialog::Help { scroll }), None),
        },
    };
    view.dialog = dialog;
    command
}

pub fn typed_dialog(title: String, lines: Vec<String>, env: &str, command: Command) -> Dialog {
    let mut input = TextArea::default();
    input.set_placeholder_text(format!("type {env} to confirm"));
    Dialog::Typed(TypedConfirm {
        title,
        lines,
        env: env.to_owned(),
        command,
        input,
        mismatch: false,
    })
}

fn typed_key(mut typed: TypedConfirm, key: KeyEvent) -> (Option<Dialog>, Option<Command>) {
    match key.code {
        KeyCode::Esc => (None, None),
        KeyCode::Enter => {
            let entered = typed.input.lines().join("");
            if entered.trim() != typed.env {
                typed.mismatch = true;
                return (Some(Dialog::Typed(typed)), None);
            }
            let mut command = typed.command;
            match &mut command {
                Command::Promote { confirm, .. }
                | Command::Rollback { confirm, .. }
                | Command::Sync { confirm, .. } => {
                    *confirm = Some(typed.env.clone());
                }
                Command::Resume { confirm, .. } => confirm.push(typed.env.clone()),
                // Pause is never guarded: the emergency brake must not wait for typing.
                Command::Pause { .. } | Command::Refresh { .. } => {}
            }
            (None, Some(command))
        }
        _ => {
            typed.input.input(key);
            typed.mismatch = false;
            (Some(Dialog::Typed(typed)), None)
        }
    }
}
