//! The operator's verbs as UI flows: each checks read-only and the snapshot, then either opens
//! the dialog that names the exact target (carrying the finished [`Command`]) or, for the
//! emergency brake (pause) and previews, returns the command at once. Keys and palette
//! commands both come through here, so `s` and `:sync staging` behave the same.
//!
//! Imports `crate::model` only (plus sibling UI state); pure.

use crate::model::{
    Command, DemoAction, EnvState, EnvTarget, OperationKind, OperationResult, Snapshot, short_sha,
};
use crate::tui::dialogs;
use crate::tui::palette::PaletteCommand;
use crate::tui::state::{Confirm, Cursor, Dialog, PickEntry, RollbackPicker, ViewState};

/// The start of the toast (and footer line) shown while a promotion preview is computed.
pub const PREVIEW_PENDING: &str = "computing promotion preview";

/// Refuses mutating actions in read-only mode with a toast; true when refused.
fn refused_read_only(view: &mut ViewState, snap: &Snapshot, what: &str) -> bool {
    if view.is_read_only(snap) {
        view.toast_error(format!("read-only: {what} refused"));
        true
    } else {
        false
    }
}

fn find_env<'s>(view: &mut ViewState, snap: &'s Snapshot, name: &str) -> Option<&'s EnvState> {
    let env = snap.env(name);
    if env.is_none() {
        view.toast_error(format!("no environment named `{name}`"));
    }
    env
}

/// Resolves a typed revision (full or short sha) against the env's commits; unknown text is
/// passed on as typed (a branch or tag the controller can resolve).
fn resolve_revision(env: &EnvState, typed: &str) -> String {
    let mut matches = env.commits.iter().filter(|c| c.sha.starts_with(typed));
    match (matches.next(), matches.next()) {
        (Some(commit), None) => commit.sha.clone(),
        _ => typed.to_owned(),
    }
}

/// "abc1234 "promote(dev→staging): …"" for dialogs.
fn describe_revision(env: &EnvState, sha: &str) -> String {
    match env.commits.iter().find(|c| c.sha == sha) {
        Some(c) => format!("{} \"{}\" ({})", c.short_sha(), c.summary, c.author),
        None => short_sha(sha).to_owned(),
    }
}

/// Opens the confirmation for `command` on `env`: typed for protected envs, yes/no otherwise.
fn open_confirm(
    view: &mut ViewState,
    env: &EnvState,
    title: String,
    lines: Vec<String>,
    command: Command,
) {
    view.dialog = Some(if env.protected {
        dialogs::typed_dialog(title, lines, &env.name, command)
    } else {
        Dialog::Confirm(Confirm {
            title,
            lines,
            command,
        })
    });
}

pub fn sync(view: &mut ViewState, snap: &Snapshot, env: &str, revision: Option<&str>) {
    if refused_read_only(view, snap, "sync") {
        return;
    }
    let Some(env) = find_env(view, snap, env) else {
        return;
    };
    let revision = match revision {
        Some(typed) => resolve_revision(env, typed),
        None => match &env.revision {
            Some(rev) => rev.clone(),
            None => {
                view.toast_error(format!("{}: desired revision not known yet", env.name));
                return;
            }
        },
    };
    let mut lines = vec![
        format!("Sync {} to {}", env.name, describe_revision(env, &revision)),
        format!("context {} · namespace {}", env.context, env.namespace),
        format!("{} resources drifted now", env.drift.len()),
    ];
    let mut force = false;
    if let Some(hold) = env.hold.as_ref().filter(|h| h.bad_revision == revision) {
        lines.push(format!(
            "⚠ {} is the revision {} was rolled back from ({})",
            short_sha(&revision),
            env.name,
            hold.reason
        ));
        lines.push("Confirming deploys it anyway (--force) and ends the hold.".to_owned());
        force = true;
    } else if let Some(failure) = failed_revision(env, &revision) {
        lines.push(format!(
            "⚠ {} failed ({failure}); auto-sync skips it",
            short_sha(&revision)
        ));
        lines.push("Confirming deploys it anyway (--force).".to_owned());
        force = true;
    } else if let Some(hold) = &env.hold {
        lines.push(format!(
            "{} is held at {}: the hold stays after this sync",
            env.name,
            short_sha(&hold.revision)
        ));
    }
    let command = Command::Sync {
        env: env.name.clone(),
        revision: Some(revision.clone()),
        prune: None,
        dry_run: false,
        confirm: None,
        force,
    };
    let title = format!("Sync {} @ {}", env.name, short_sha(&revision));
    open_confirm(view, env, title, lines, command);
}

/// Why `revision` failed, when its newest finished operation in `env` did.
fn failed_revision(env: &EnvState, revision: &str) -> Option<String> {
    let entry = env
        .history
        .iter()
        .find(|e| e.revision == revision && e.result != OperationResult::Running)?;
    (entry.result == OperationResult::Failed).then(|| {
        entry
            .failure
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "failed".to_owned())
    })
}

/// The env whose `promote_from` is `from`: the next stage.
pub fn next_stage<'s>(snap: &'s Snapshot, from: &str) -> Option<&'s EnvState> {
    snap.envs
        .iter()
        .find(|e| e.promote_from.as_deref() == Some(from))
}

/// Asks the controller for a preview; the preview dialog opens when its notice arrives.
pub fn promote(
    view: &mut ViewState,
    snap: &Snapshot,
    from: &str,
    to: Option<&str>,
) -> Option<Command> {
    if refused_read_only(view, snap, "promote") {
        return None;
    }
    find_env(view, snap, from)?;
    let to = match to {
        Some(to) => find_env(view, snap, to)?,
        None => match next_stage(snap, from) {
            Some(env) => env,
            None => {
                view.toast_error(format!("no environment promotes from {from}"));
                return None;
            }
        },
    };
    view.awaiting_preview = Some((from.to_owned(), to.name.clone()));
    view.toast(format!("{PREVIEW_PENDING} {from} → {}…", to.name));
    Some(Command::Promote {
        from: from.to_owned(),
        to: to.name.clone(),
        message: None,
        force: false,
        confirm: None,
        preview: true,
    })
}

/// Pause at once (the emergency brake); resume asks first, since it restarts automation and
/// ends a hold.
pub fn pause_resume(view: &mut ViewState, snap: &Snapshot, env: &str) -> Option<Command> {
    if refused_read_only(view, snap, "pause/resume") {
        return None;
    }
    let env = find_env(view, snap, env)?;
    if env.paused.is_some() || env.hold.is_some() {
        resume(view, snap, EnvTarget::One(env.name.clone()));
        None
    } else {
        view.toast(format!("pausing {}", env.name));
        Some(Command::Pause {
            target: EnvTarget::One(env.name.clone()),
            reason: "paused from the console".to_owned(),
        })
    }
}

/// The emergency stop key: pause every env at once, no dialog (stopping automation is always
/// safe); every console and controller shows the ALL PAUSED banner from cluster-held state.
pub fn pause_all(view: &mut ViewState, snap: &Snapshot) -> Option<Command> {
    if refused_read_only(view, snap, "pause --all") {
        return None;
    }
    view.toast("EMERGENCY STOP: pausing ALL environments".to_owned());
    Some(Command::Pause {
        target: EnvTarget::All,
        reason: "emergency stop from the console".to_owned(),
    })
}

pub fn resume(view: &mut ViewState, snap: &Snapshot, target: EnvTarget) {
    let (title, mut lines) = match &target {
        EnvTarget::All => (
            "Resume ALL environments".to_owned(),
            vec!["Auto-sync and self-heal restart everywhere.".to_owned()],
        ),
        EnvTarget::One(name) => (
            format!("Resume {name}"),
            vec![format!("Auto-sync and self-heal restart for {name}.")],
        ),
    };
    let held: Vec<&str> = snap
        .envs
        .iter()
        .filter(|e| e.hold.is_some())
        .filter(|e| {
            matches!(&target, EnvTarget::All)
                || matches!(&target, EnvTarget::One(n) if *n == e.name)
        })
        .map(|e| e.name.as_str())
        .collect();
    if !held.is_empty() {
        lines.push(format!("This ends the hold on {}.", held.join(", ")));
    }
    // Protected envs need their name typed, as in the CLI (`--confirm ENV`). For `--all` the
    // first protected env's name is typed and stands for the others named in the dialog.
    let protected: Vec<String> = snap
        .envs
        .iter()
        .filter(|e| e.protected)
        .filter(|e| match &target {
            EnvTarget::All => true,
            EnvTarget::One(n) => *n == e.name,
        })
        .map(|e| e.name.clone())
        .collect();
    let Some((typed, others)) = protected.split_first() else {
        view.dialog = Some(Dialog::Confirm(Confirm {
            title,
            lines,
            command: Command::Resume {
                target,
                confirm: Vec::new(),
            },
        }));
        return;
    };
    if !others.is_empty() {
        lines.push(format!("Protected: {}.", protected.join(", ")));
    }
    let command = Command::Resume {
        target,
        confirm: others.to_vec(),
    };
    view.dialog = Some(dialogs::typed_dialog(title, lines, typed, command));
}

/// Opens the picker (no revision given) or the confirmation for rolling back to `to`.
pub fn rollback(view: &mut ViewState, snap: &Snapshot, env: &str, to: Option<&str>) {
    if refused_read_only(view, snap, "rollback") {
        return;
    }
    let Some(env) = find_env(view, snap, env) else {
        return;
    };
    match to {
        Some(typed) => {
            let sha = resolve_revision(env, typed);
            confirm_rollback(view, env, &sha);
        }
        None => {
            let entries = pick_entries(env);
            if entries.is_empty() {
                view.toast_error(format!("{}: no history to roll back to", env.name));
                return;
            }
            // Preselect the newest revision older than the one running: the usual target.
            let current = entries.iter().position(|e| e.current);
            let selected = current.map_or(0, |i| (i + 1).min(entries.len() - 1));
            view.dialog = Some(Dialog::Picker(RollbackPicker {
                env: env.name.clone(),
                entries,
                cursor: Cursor {
                    selected,
                    offset: 0,
                },
            }));
        }
    }
}

pub fn confirm_rollback(view: &mut ViewState, env: &EnvState, sha: &str) {
    let mut lines = vec![
        format!("Roll back {} to {}", env.name, describe_revision(env, sha)),
        format!("context {} · namespace {}", env.context, env.namespace),
    ];
    if let Some(current) = &env.synced_revision {
        lines.push(format!(
            "now running {}; a hold keeps auto-sync from redeploying it",
            short_sha(current)
        ));
    }
    let command = Command::Rollback {
        env: env.name.clone(),
        to: Some(sha.to_owned()),
        revert: false,
        confirm: None,
    };
    let title = format!("Rollback {} → {}", env.name, short_sha(sha));
    open_confirm(view, env, title, lines, command);
}

/// The env's commits, each with the result of the newest operation that applied it.
pub fn pick_entries(env: &EnvState) -> Vec<PickEntry> {
    env.commits
        .iter()
        .map(|c| PickEntry {
            sha: c.sha.clone(),
            time: c.time,
            author: c.author.clone(),
            summary: c.summary.clone(),
            result: env
                .history
                .iter()
                .find(|h| h.revision == c.sha && h.op != OperationKind::Promote)
                .map(|h| h.result),
            current: env.synced_revision.as_deref() == Some(c.sha.as_str()),
        })
        .collect()
}

/// Runs a parsed palette command; returns a command only for the ones that need no dialog.
pub fn palette(view: &mut ViewState, snap: &Snapshot, cmd: PaletteCommand) -> Option<Command> {
    match cmd {
        PaletteCommand::Sync { env, revision } => {
            sync(view, snap, &env, revision.as_deref());
            None
        }
        PaletteCommand::Promote { from, to } => promote(view, snap, &from, Some(&to)),
        PaletteCommand::Pause(target) => {
            if refused_read_only(view, snap, "pause") {
                return None;
            }
            if let EnvTarget::One(name) = &target {
                find_env(view, snap, name)?;
            }
            view.toast(match &target {
                EnvTarget::All => "pausing ALL environments".to_owned(),
                EnvTarget::One(name) => format!("pausing {name}"),
            });
            Some(Command::Pause {
                target,
                reason: "paused from the console".to_owned(),
            })
        }
        PaletteCommand::Resume(target) => {
            if refused_read_only(view, snap, "resume") {
                return None;
            }
            if let EnvTarget::One(name) = &target {
                find_env(view, snap, name)?;
            }
            resume(view, snap, target);
            None
        }
        PaletteCommand::Rollback { env, to } => {
            rollback(view, snap, &env, to.as_deref());
            None
        }
        PaletteCommand::Refresh(env) => {
            if let Some(name) = &env {
                find_env(view, snap, name)?;
            }
            Some(Command::Refresh { env })
        }
        PaletteCommand::Demo(action) => {
            if !view.demo_available {
                view.toast_error(":demo works only in `driftdeck demo`");
                return None;
            }
            if refused_read_only(view, snap, "demo") {
                return None;
            }
            let what = match &action {
                DemoAction::Drift => "scaling a dev Deployment behind Git's back".to_owned(),
                DemoAction::Break { env } => {
                    find_env(view, snap, env)?;
                    format!("committing a crashloop image into {env}")
                }
                DemoAction::Heal => "committing working images back".to_owned(),
            };
            view.toast(format!("demo: {what}"));
            view.demo_request = Some(action);
            None
        }
        PaletteCommand::Help => {
            view.dialog = Some(Dialog::Help { scroll: 0 });
            None
        }
        PaletteCommand::Quit => {
            view.quit = true;
            None
        }
    }
}
