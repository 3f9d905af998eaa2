//! The pure heart of the console: `update(&mut ViewState, &Snapshot, UiAction) ->
//! Option<Command>`. Navigation, drill-downs, filter and palette input, notices and ticks are
//! handled here; the verbs live in `flows` and the dialogs' keys in `dialogs`. No IO, no
//! clock reads (the clock arrives in `Tick`), so every path is unit-testable.
//!
//! Imports `crate::model` and `crate::config`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::Timestamp;
use ratatui_textarea::TextArea;

use crate::config::keymap::Action;
use crate::model::{Command, Notice, OperationKind, OperationResult, Snapshot, short_sha};
use crate::tui::action::UiAction;
use crate::tui::clipboard;
use crate::tui::dialogs;
use crate::tui::flows;
use crate::tui::inspect;
use crate::tui::object;
use crate::tui::palette::parse_palette;
use crate::tui::rows;
use crate::tui::state::{
    Dialog, InputLine, Pane, Preview, TOAST_SECONDS, View, ViewState, WATCH_ROTATE_SECONDS,
};

/// Rows moved by PageUp/PageDown.
const PAGE: isize = 10;

pub fn update(view: &mut ViewState, snap: &Snapshot, action: UiAction) -> Option<Command> {
    match action {
        UiAction::Tick(now) => {
            tick(view, snap, now);
            None
        }
        UiAction::Notice(notice) => {
            on_notice(view, snap, notice);
            None
        }
        UiAction::Inspected(chunk) => {
            inspect::on_chunk(view, chunk);
            None
        }
        UiAction::ViewKey(c) => {
            inspect::on_view_key(view, snap, c);
            None
        }
        UiAction::Key(key) => {
            if view.dialog.is_some() {
                dialogs::on_key(view, snap, key)
            } else if view.input.is_some() {
                on_input_key(view, snap, key)
            } else {
                None
            }
        }
        UiAction::Act(Action::Quit) => {
            view.quit = true;
            None
        }
        UiAction::Act(action) if view.dialog.is_some() || view.input.is_some() => {
            // Keymap actions cannot answer dialogs (see `translate`); Back still closes them,
            // and never confirms anything.
            if action == Action::Back {
                view.dialog = None;
                view.input = None;
            }
            None
        }
        UiAction::Act(action) => on_action(view, snap, action),
    }
}

fn tick(view: &mut ViewState, snap: &Snapshot, now: Timestamp) {
    view.now = now;
    let cutoff = now.as_second() - TOAST_SECONDS;
    view.toasts.retain(|t| t.at.as_second() > cutoff);
    for env in &snap.envs {
        if let Some(good) = view.last_good_of(env) {
            view.last_good.insert(env.name.clone(), good);
        }
        if let Some(health) = view.last_known_health(env) {
            view.last_good_health.insert(env.name.clone(), health);
        }
    }
    if view.watch_mode && !snap.envs.is_empty() {
        // Unhealthy envs are pinned: the detail rotates among them only, so a wall never
        // shows a healthy env while another one crash-loops.
        let pinned: Vec<usize> = snap
            .envs
            .iter()
            .enumerate()
            .filter(|(_, e)| needs_eyes(e))
            .map(|(i, _)| i)
            .collect();
        let pool: Vec<usize> = if pinned.is_empty() {
            (0..snap.envs.len()).collect()
        } else {
            pinned
        };
        let slot = now.as_second().div_euclid(WATCH_ROTATE_SECONDS);
        let at = usize::try_from(slot.rem_euclid(pool.len() as i64)).unwrap_or(0);
        view.watch_index = pool.get(at).copied().unwrap_or(0);
    }
}

/// Whether an env needs an operator's eyes: Degraded, Missing, OutOfSync or in error.
fn needs_eyes(env: &crate::model::EnvState) -> bool {
    matches!(
        env.health.code,
        crate::model::HealthCode::Degraded | crate::model::HealthCode::Missing
    ) || env.sync == crate::model::SyncStatus::OutOfSync
        || env.error.is_some()
}

/// The toast or dialog for an operation's end.
fn on_finished(view: &mut ViewState, env: String, entry: crate::model::HistoryEntry) {
    // A newer head took over an automatic operation: routine, not an error to dismiss.
    let superseded = entry.superseded_by_a_new_head();
    match entry.result {
        OperationResult::Failed | OperationResult::Interrupted if !superseded => {
            let reason = entry
                .failure
                .as_ref()
                .map_or_else(|| entry.result.to_string(), ToString::to_string);
            let title = format!("{} {env} @ {} failed", entry.op, short_sha(&entry.revision));
            show_error(view, title, reason);
        }
        // Succeeded, running or superseded: a toast, saying why when superseded.
        OperationResult::Succeeded
        | OperationResult::Running
        | OperationResult::Failed
        | OperationResult::Interrupted => {
            let outcome = match &entry.failure {
                Some(why) if superseded => why.to_string(),
                _ => entry.result.to_string(),
            };
            view.toast(format!(
                "{} {env} @ {}: {outcome}",
                entry.op,
                short_sha(&entry.revision)
            ));
        }
    }
}

/// The toast for an operation's start; its end finds and replaces it by this text.
fn started_toast(op: OperationKind, env: &str, revision: &str) -> String {
    format!("{op} {env} @ {} started", short_sha(revision))
}

fn on_notice(view: &mut ViewState, snap: &Snapshot, notice: Notice) {
    match notice {
        Notice::OperationStarted { env, op, revision } => {
            view.toast(started_toast(op, &env, &revision));
        }
        Notice::OperationFinished { env, entry } => {
            // One toast per operation: its end replaces its "started" toast, so routine
            // automation (a new head seen at once) does not push the operator's own toasts off.
            let started = started_toast(entry.op, &env, &entry.revision);
            if let Some(at) = view.toasts.iter().rposition(|t| t.text == started) {
                view.toasts.remove(at);
            }
            on_finished(view, env, entry);
        }
        Notice::Refused { env, reason } => {
            // A refusal naming either end of the pending promotion (or no env) answers it:
            // the "computing…" state must not outlive the controller's answer.
            let answers_preview = view
                .awaiting_preview
                .as_ref()
                .is_some_and(|(from, to)| env.as_ref().is_none_or(|e| e == from || e == to));
            if answers_preview {
                clear_pending_preview(view);
            }
            let title = match env {
                Some(env) => format!("Refused ({env})"),
                None => "Refused".to_owned(),
            };
            show_error(view, title, reason.to_string());
        }
        Notice::PromotionPreviewed {
            from,
            to,
            message,
            drift,
        } => {
            // Only the preview this console asked for opens a dialog; another console's is
            // none of our business.
            if view.awaiting_preview.as_ref() != Some(&(from.clone(), to.clone())) {
                return;
            }
            clear_pending_preview(view);
            let to_protected = snap.env(&to).is_some_and(|e| e.protected);
            let mut editor = TextArea::new(message.lines().map(str::to_owned).collect());
            editor.move_cursor(ratatui_textarea::CursorMove::Bottom);
            editor.move_cursor(ratatui_textarea::CursorMove::End);
            view.dialog = Some(Dialog::Preview(Preview {
                from,
                to,
                drift,
                message: editor,
                to_protected,
                scroll: 0,
            }));
        }
        Notice::Committed {
            sha,
            summary,
            pushed,
        } => {
            let pushed = if pushed { ", pushed" } else { "" };
            view.toast(format!("committed {} {summary}{pushed}", short_sha(&sha)));
        }
        Notice::Paused { env } => view.toast(format!("{env} paused")),
        Notice::Resumed { env } => view.toast(format!("{env} resumed")),
        Notice::Warned { env, message } => match env {
            Some(env) => view.toast_error(format!("{env}: {message}")),
            None => view.toast_error(message),
        },
    }
}

fn clear_pending_preview(view: &mut ViewState) {
    view.awaiting_preview = None;
    view.toasts
        .retain(|t| !t.text.starts_with(flows::PREVIEW_PENDING));
}

/// An error dialog — unless the operator is in the middle of another dialog (typing a
/// protected env's name, say), which an unrelated failure must not wipe: then a toast.
fn show_error(view: &mut ViewState, title: String, message: String) {
    if view.dialog.is_some() {
        view.toast_error(format!("{title}: {message}"));
    } else {
        view.dialog = Some(Dialog::Error { title, message });
    }
}

fn on_input_key(view: &mut ViewState, snap: &Snapshot, key: KeyEvent) -> Option<Command> {
    let input = view.input.take()?;
    let (mut text, is_filter) = match input {
        InputLine::Filter(t) => (t, true),
        InputLine::Palette(t) => (t, false),
    };
    match key.code {
        KeyCode::Esc => {
            if is_filter {
                view.filter.clear();
            }
            return None;
        }
        KeyCode::Enter => {
            if is_filter {
                view.filter = text;
                return None;
            }
            return match parse_palette(&text) {
                Ok(cmd) => flows::palette(view, snap, cmd),
                Err(e) => {
                    view.toast_error(format!(":{text}: {e}"));
                    None
                }
            };
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
        _ => {}
    }
    if is_filter {
        // The filter applies while typing, so the operator sees the rows narrow.
        view.filter = text.clone();
        view.commits.selected = 0;
        view.drift.selected = 0;
        view.pods.selected = 0;
        view.input = Some(InputLine::Filter(text));
    } else {
        view.input = Some(InputLine::Palette(text));
    }
    None
}

fn list_len(view: &ViewState, snap: &Snapshot, pane: Pane) -> usize {
    let Some(env) = view.selected_env(snap) else {
        return 0;
    };
    match pane {
        Pane::Envs => snap.envs.len(),
        Pane::Commits => rows::filtered(&env.commits, &view.filter, rows::commit_matches).count(),
        Pane::Drift => rows::filtered(&env.drift, &view.filter, rows::drift_matches).count(),
        Pane::Pods => rows::pod_order(&env.pods, &view.filter, view.pods_unhealthy_only).len(),
    }
}

fn move_cursor(view: &mut ViewState, snap: &Snapshot, delta: isize, absolute: Option<bool>) {
    if view.view != View::Main {
        // Logs and events count their scroll upwards from the tail (so they follow by
        // default): up there means further from the tail.
        let from_tail = matches!(view.view, View::Logs { .. });
        let (delta, absolute) = if from_tail {
            (-delta, absolute.map(|top| !top))
        } else {
            (delta, absolute)
        };
        view.view_scroll = match absolute {
            Some(true) => 0,
            Some(false) => usize::MAX / 2,
            None => view.view_scroll.saturating_add_signed(delta),
        };
        return;
    }
    let pane = view.focus;
    let len = list_len(view, snap, pane);
    let cursor = match pane {
        Pane::Envs => &mut view.env,
        Pane::Commits => &mut view.commits,
        Pane::Drift => &mut view.drift,
        Pane::Pods => &mut view.pods,
    };
    match absolute {
        Some(true) => cursor.selected = 0,
        Some(false) => cursor.selected = len.saturating_sub(1),
        None => cursor.move_by(delta, len),
    }
    if pane == Pane::Envs {
        // A different env: its lists start from the top.
        view.commits = Default::default();
        view.drift = Default::default();
        view.pods = Default::default();
    }
}

fn set_focus(view: &mut ViewState, pane: Pane) {
    view.focus = pane;
    if pane != Pane::Envs {
        view.last_detail = pane;
    }
}

/// The drift row under the cursor, as (env, key).
fn selected_drift(
    view: &ViewState,
    snap: &Snapshot,
) -> Option<(String, crate::model::ResourceKey)> {
    let env = view.selected_env(snap)?;
    let drift =
        rows::filtered(&env.drift, &view.filter, rows::drift_matches).nth(view.drift.selected)?;
    Some((env.name.clone(), drift.key.clone()))
}

fn selected_pod(view: &ViewState, snap: &Snapshot) -> Option<(String, String)> {
    let env = view.selected_env(snap)?;
    let order = rows::pod_order(&env.pods, &view.filter, view.pods_unhealthy_only);
    let pod = env.pods.get(*order.get(view.pods.selected)?)?;
    Some((env.name.clone(), pod.name.clone()))
}

/// `c`: the value under the cursor or the text on screen to the terminal's clipboard (OSC 52,
/// written by the event loop), with a toast naming what was copied.
fn copy(view: &mut ViewState, snap: &Snapshot) {
    let Some((what, text)) = copy_target(view, snap) else {
        view.toast("nothing to copy here");
        return;
    };
    match clipboard::copy_allowed(&text) {
        Ok(()) => {
            view.toast(format!("copied {what} ({} bytes, OSC 52)", text.len()));
            view.clipboard = Some(text);
        }
        Err(why) => view.toast_error(why),
    }
}

/// What `c` copies here, as (what, text): the object view's text, a diff, a commit's full
/// sha, an env's synced revision, a pod's name.
fn copy_target(view: &ViewState, snap: &Snapshot) -> Option<(String, String)> {
    let drift_diff = |env: &str, key: &crate::model::ResourceKey| {
        let drift = snap.env(env)?.drift.iter().find(|d| &d.key == key)?;
        Some((format!("the diff of {key}"), drift.diff.clone()))
    };
    match &view.view {
        View::Object { key, .. } => {
            view.object.as_ref()?;
            let mut text = object::lines(view).join("\n");
            text.push('\n');
            Some((format!("the {} of {key}", view.object_tab.title()), text))
        }
        View::Diff { env, key } => drift_diff(env, key),
        View::Main => {
            let env = view.selected_env(snap)?;
            match view.focus {
                Pane::Commits => {
                    let commit = rows::filtered(&env.commits, &view.filter, rows::commit_matches)
                        .nth(view.commits.selected)?;
                    Some((
                        format!("commit {}", short_sha(&commit.sha)),
                        commit.sha.clone(),
                    ))
                }
                Pane::Drift => {
                    let (env, key) = selected_drift(view, snap)?;
                    drift_diff(&env, &key)
                }
                Pane::Envs => {
                    let sha = env.synced_revision.clone()?;
                    Some((
                        format!("{}'s synced revision {}", env.name, short_sha(&sha)),
                        sha,
                    ))
                }
                Pane::Pods => {
                    let (_, pod) = selected_pod(view, snap)?;
                    Some((format!("pod name {pod}"), pod))
                }
            }
        }
        View::Versions | View::Logs { .. } | View::Events { .. } => None,
    }
}

/// The object the object views open on: the pod under the cursor in the pods pane, the
/// drifted resource under it in the drift pane, else the env's first resource.
fn selected_object(
    view: &ViewState,
    snap: &Snapshot,
) -> Option<(String, crate::model::ResourceKey)> {
    let env = view.selected_env(snap)?;
    if view.focus == Pane::Pods
        && let Some((name, pod)) = selected_pod(view, snap)
    {
        let namespace = env
            .pods
            .iter()
            .find(|p| p.name == pod)
            .map_or_else(|| env.namespace.clone(), |p| p.namespace.clone());
        return Some((
            name,
            crate::model::ResourceKey::new("", "Pod", namespace, pod),
        ));
    }
    if view.focus == Pane::Drift
        && let Some(hit) = selected_drift(view, snap)
    {
        return Some(hit);
    }
    let first = object::resource_keys(env).into_iter().next()?;
    Some((env.name.clone(), first))
}

/// The object under the cursor for the events view: a pod in the pods pane, a drifted
/// resource in the drift pane; `None` (the whole env) elsewhere.
fn events_object(view: &ViewState, snap: &Snapshot) -> Option<(String, String)> {
    match view.focus {
        Pane::Pods => selected_pod(view, snap).map(|(_, pod)| ("Pod".to_owned(), pod)),
        Pane::Drift => selected_drift(view, snap).map(|(_, key)| (key.kind, key.name)),
        Pane::Envs | Pane::Commits => None,
    }
}

fn open_view(view: &mut ViewState, next: View) {
    inspect::close(view);
    view.view = next;
    view.view_scroll = 0;
}

fn on_action(view: &mut ViewState, snap: &Snapshot, action: Action) -> Option<Command> {
    if view.watch_mode && !matches!(action, Action::Quit | Action::Help | Action::Back) {
        return None;
    }
    let env_name = view.selected_env(snap).map(|e| e.name.clone());
    match action {
        Action::Quit => view.quit = true,
        Action::Help => view.dialog = Some(Dialog::Help { scroll: 0 }),
        Action::Back => {
            if view.awaiting_preview.is_some() {
                // The answer may still come; without a pending request it opens nothing.
                clear_pending_preview(view);
                view.toast("promotion preview cancelled");
            } else if view.view != View::Main {
                open_view(view, View::Main);
            } else if !view.filter.is_empty() {
                view.filter.clear();
            } else {
                set_focus(view, Pane::Envs);
            }
        }
        Action::FocusNext if view.view == View::Main => set_focus(view, view.focus.next()),
        Action::FocusPrev if view.view == View::Main => set_focus(view, view.focus.prev()),
        Action::FocusNext | Action::FocusPrev => {}
        Action::Up => move_cursor(view, snap, -1, None),
        Action::Down => move_cursor(view, snap, 1, None),
        Action::PageUp => move_cursor(view, snap, -PAGE, None),
        Action::PageDown => move_cursor(view, snap, PAGE, None),
        Action::Top => move_cursor(view, snap, 0, Some(true)),
        Action::Bottom => move_cursor(view, snap, 0, Some(false)),
        Action::Enter => match view.focus {
            _ if view.view != View::Main => {}
            Pane::Envs | Pane::Commits => set_focus(view, Pane::Drift),
            Pane::Drift => return on_action(view, snap, Action::Diff),
            Pane::Pods => return on_action(view, snap, Action::Logs),
        },
        Action::Diff => match selected_drift(view, snap) {
            Some((env, key)) => open_view(view, View::Diff { env, key }),
            None => view.toast(format!("{}: no drift", env_name.unwrap_or_default())),
        },
        Action::Yaml => match selected_object(view, snap) {
            Some((env, key)) => {
                inspect::close(view);
                object::open(view, snap, env, key);
            }
            None => view.toast(format!("{}: no resources", env_name.unwrap_or_default())),
        },
        Action::Copy => copy(view, snap),
        Action::Logs => match selected_pod(view, snap) {
            Some((env, pod)) => {
                inspect::close(view);
                inspect::open_logs(view, snap, env, pod);
            }
            None => view.toast(format!("{}: no pods", env_name.unwrap_or_default())),
        },
        Action::Events => {
            if let Some(env) = env_name {
                let object = events_object(view, snap);
                inspect::close(view);
                inspect::open_events(view, snap, env, object);
            }
        }
        Action::Versions => open_view(view, View::Versions),
        Action::Filter => view.input = Some(InputLine::Filter(view.filter.clone())),
        Action::Palette => view.input = Some(InputLine::Palette(String::new())),
        Action::Refresh => {
            object::reload(view, snap);
            return Some(Command::Refresh { env: env_name });
        }
        Action::Sync => flows::sync(view, snap, &env_name?, None),
        Action::Promote => return flows::promote(view, snap, &env_name?, None),
        Action::PauseResume => return flows::pause_resume(view, snap, &env_name?),
        Action::PauseAll => return flows::pause_all(view, snap),
        Action::Rollback => flows::rollback(view, snap, &env_name?, None),
    }
    None
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
