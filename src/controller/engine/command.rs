//! Operator commands for one env: admission (routing, read-only, state loaded, busy) and the
//! verbs Sync, Rollback, Pause, Resume, Refresh. Every command is audited, accepted or not;
//! a refusal is the first effect and nothing mutating follows it.
//!
//! Imports only `crate::model` and sibling engine files. Promote is not an env operation (it
//! is a Git commit); see `promotion.rs`.
//!
//! Busy rule: one operation at a time per env, across consoles. A Sync or Rollback arriving
//! while one runs is refused (not queued: a queued sync would apply a revision chosen before
//! the running operation's outcome was known). One exception: a Rollback supersedes this
//! console's operation while it only waits (validation or retry backoff), so an operator need
//! not sit out a 300 s validation of a release they already know is bad.

use jiff::Timestamp;

use super::event::Effect;
use super::policy::{Guarded, confirmation};
use super::reconciler::{Engine, Live, Phase};
use crate::model::{
    Command, FailureReason, Hold, Notice, OperationKind, OperationResult, Pause, short_sha,
};

impl Engine {
    pub(super) fn on_command(&mut self, command: Command, at: Timestamp, fx: &mut Vec<Effect>) {
        let action = command.verb();
        if let Err(reason) = self.admit(&command) {
            self.refuse(action, reason, fx);
            return;
        }
        match command {
            Command::Refresh { .. } => {
                fx.push(Effect::Refresh);
                self.audit(action, "re-reading Git, live and cluster-held state", fx);
            }
            Command::Pause { reason, .. } => {
                if self.held.paused.is_none() {
                    self.set_paused(Some(Pause {
                        by: self.operator.clone(),
                        at,
                        reason: reason.clone(),
                    }));
                }
                fx.push(Effect::Notify(Notice::Paused {
                    env: self.env.clone(),
                }));
                self.audit(action, &format!("paused: {reason}"), fx);
            }
            Command::Resume { confirm, .. } => {
                let had_hold = self.held.hold.is_some();
                let plan = self.resume_plan();
                let typed = confirm.iter().find(|c| **c == self.env).map(String::as_str);
                let typed = typed.or(confirm.first().map(String::as_str));
                if let Err(reason) = confirmation(
                    self.policy.protected,
                    &self.env,
                    Guarded::Resume,
                    typed,
                    &plan,
                ) {
                    self.refuse(action, reason, fx);
                    return;
                }
                if self.held.paused.is_some() {
                    self.set_paused(None);
                }
                if had_hold {
                    self.set_hold(None, None);
                }
                fx.push(Effect::Notify(Notice::Resumed {
                    env: self.env.clone(),
                }));
                let detail = if had_hold {
                    "resumed; hold ended"
                } else {
                    "resumed"
                };
                self.audit(action, detail, fx);
            }
            Command::Sync {
                revision,
                prune,
                dry_run,
                confirm,
                force,
                ..
            } => self.sync(revision, prune, dry_run, (confirm, force), at, fx),
            Command::Rollback {
                to,
                revert,
                confirm,
                ..
            } => self.rollback(to, revert, confirm.as_deref(), at, fx),
            // Refused by `admit`.
            Command::Promote { .. } => {}
        }
    }

    /// Checks that hold for every command, in this order: routed here, read-only, Promote,
    /// state known. Per-verb checks (busy, protected) come later in the verb.
    fn admit(&self, command: &Command) -> Result<(), FailureReason> {
        if let Some(env) = command.target_env()
            && env != self.env
        {
            return Err(FailureReason::Refused(format!(
                "{} for {env} reached the engine of {}",
                command.verb(),
                self.env
            )));
        }
        if self.read_only && command.is_mutating() {
            return Err(FailureReason::ReadOnly(format!(
                "{} {}: this console is read-only",
                command.verb(),
                self.env
            )));
        }
        if let Command::Promote { .. } = command {
            return Err(FailureReason::Refused(
                "promote is a Git commit made by the controller, not an env operation".into(),
            ));
        }
        if command.is_mutating() && !self.loaded {
            return Err(FailureReason::Refused(format!(
                "state of {} not read yet from ConfigMap driftdeck-{}; try again",
                self.env, self.env
            )));
        }
        Ok(())
    }

    fn refuse(&self, action: &str, reason: FailureReason, fx: &mut Vec<Effect>) {
        let detail = format!("{}: refused: {reason}", self.env);
        fx.push(Effect::Notify(Notice::Refused {
            env: Some(self.env.clone()),
            reason,
        }));
        fx.push(Effect::Audit {
            action: action.into(),
            detail,
        });
    }

    /// Live drift as a plan states it: the counts when live was observed, else why they are
    /// not known (a plan must never claim "0 missing" about a cluster it could not read).
    fn drift_now(&self) -> Result<String, String> {
        match &self.live {
            Live::Observed { drift, .. } => Ok(format!(
                "{} missing, {} modified, {} extra",
                drift.missing, drift.modified, drift.extra
            )),
            Live::Unavailable { error, .. } => Err(format!("live state unknown: {error}")),
            Live::NotObserved => Err("live state not observed yet".into()),
        }
    }

    fn audit(&self, action: &str, detail: &str, fx: &mut Vec<Effect>) {
        fx.push(Effect::Audit {
            action: action.into(),
            detail: format!("{}: {detail} (by {})", self.env, self.operator),
        });
    }

    /// Why a new operation cannot start now, if it cannot.
    fn busy(&self) -> Option<FailureReason> {
        if let Some(op) = &self.op {
            return Some(FailureReason::Refused(format!(
                "{} is busy: {} of {} ({}) is running; try again when it finishes",
                self.env,
                op.kind,
                short_sha(&op.revision),
                op.id
            )));
        }
        self.foreign_running().map(|e| {
            FailureReason::Refused(format!(
                "{} is busy: {} of {} is running in {}",
                self.env,
                e.op,
                short_sha(&e.revision),
                e.operator
            ))
        })
    }

    fn sync(
        &mut self,
        revision: Option<String>,
        prune: Option<bool>,
        dry_run: bool,
        (confirm, force): (Option<String>, bool),
        at: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        let head = self.head.as_ref().map(|h| h.revision.clone());
        let Some(revision) = revision.or(head) else {
            let reason = FailureReason::Refused(format!(
                "{}: no revision given and the branch head is not known yet",
                self.env
            ));
            self.refuse("sync", reason, fx);
            return;
        };
        if dry_run {
            let view = self.view();
            let target = view
                .revision
                .as_deref()
                .map(short_sha)
                .unwrap_or("the head");
            let message = match self.drift_now() {
                Ok(counts) => format!(
                    "dry run: nothing applied to {}; live differs from {target} in {counts}",
                    self.env
                ),
                Err(unknown) => format!("dry run: nothing applied to {}; {unknown}", self.env),
            };
            fx.push(self.warn(message));
            self.audit(
                "sync --dry-run",
                &format!("dry run at {}", short_sha(&revision)),
                fx,
            );
            return;
        }
        if let Some(reason) = self.busy() {
            self.refuse("sync", reason, fx);
            return;
        }
        let drift = match self.drift_now() {
            Ok(counts) => format!("{counts} now"),
            Err(unknown) => unknown,
        };
        let plan = format!("sync {} to {} ({drift})", self.env, short_sha(&revision));
        let guarded = confirmation(
            self.policy.protected,
            &self.env,
            Guarded::Sync,
            confirm.as_deref(),
            &plan,
        )
        .and_then(|()| self.judged_bad(&revision, force, &plan));
        if let Err(reason) = guarded {
            self.refuse("sync", reason, fx);
            return;
        }
        let redeploys_bad = self
            .held
            .hold
            .as_ref()
            .is_some_and(|h| h.bad_revision == revision);
        let mut detail = format!("sync to {}", short_sha(&revision));
        if force && self.is_judged_bad(&revision) {
            detail.push_str(" (forced: it had failed or was rolled back from)");
        }
        if redeploys_bad {
            // The operator redeployed what the hold kept out: the hold no longer holds anything.
            self.set_hold(None, None);
            detail.push_str("; hold ended");
            fx.push(self.warn(format!(
                "{}: the hold ended: {} is the revision it was keeping out",
                self.env,
                short_sha(&revision)
            )));
        } else if let Some(h) = &self.held.hold {
            fx.push(self.warn(format!(
                "{}: the hold at {} stays: automation stays off until `driftdeck resume {}`",
                self.env,
                short_sha(&h.revision),
                self.env
            )));
        }
        self.audit("sync", &detail, fx);
        // An explicit sync is the operator's word: automation may use this revision again.
        self.unreject(&revision);
        self.start(OperationKind::Sync, revision, prune, at, fx);
    }

    fn rollback(
        &mut self,
        to: Option<String>,
        revert: bool,
        confirm: Option<&str>,
        at: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        let planned = self.plan_rollback(to).and_then(|(to, bad)| {
            let plan = format!(
                "roll back {} from {} to {} and hold it there{}",
                self.env,
                short_sha(&bad),
                short_sha(&to),
                if revert {
                    ", committing a revert of the commits after it"
                } else {
                    ""
                }
            );
            confirmation(
                self.policy.protected,
                &self.env,
                Guarded::Rollback,
                confirm,
                &plan,
            )
            .map(|()| (to, bad))
        });
        match planned {
            Ok((to, bad)) => {
                let superseded = self.op.is_some();
                if superseded {
                    let reason = FailureReason::Interrupted(format!(
                        "superseded by a rollback to {} by {}",
                        short_sha(&to),
                        self.operator
                    ));
                    self.finish(OperationResult::Interrupted, Some(reason), at, fx);
                }
                self.audit(
                    "rollback",
                    &format!(
                        "rollback from {} to {}{}",
                        short_sha(&bad),
                        short_sha(&to),
                        if revert { " with revert" } else { "" }
                    ),
                    fx,
                );
                let bad_digest = self.digest_of_revision(&bad);
                self.reject(&bad, bad_digest);
                let hold = Hold {
                    revision: to.clone(),
                    bad_revision: bad.clone(),
                    by: self.operator.clone(),
                    at,
                    // Who is `by`; the banner and `status` name it once.
                    reason: if revert {
                        "manual rollback (reverting in Git)".to_owned()
                    } else {
                        "manual rollback".to_owned()
                    },
                };
                self.set_hold(Some(hold), None);
                self.start(OperationKind::Rollback, to.clone(), None, at, fx);
                if revert && let Some(op) = self.op.as_mut() {
                    // Git first: once recorded, the revert commit is made before anything is
                    // applied (`gate::recorded`); one that cannot be made refuses the whole.
                    op.revert_from = Some(bad);
                }
            }
            Err(reason) => self.refuse("rollback", reason, fx),
        }
    }

    /// (target, bad revision) of a rollback, or why it is refused.
    ///
    /// Another console's running operation does not refuse a rollback: the rollback's hold is
    /// written first and it waits for that operation to give way (`gate.rs`); the revision that
    /// operation deploys is the bad one.
    fn plan_rollback(&self, to: Option<String>) -> Result<(String, String), FailureReason> {
        if let Some(reason) = self.busy() {
            let waiting = self.op.as_ref().is_none_or(|o| {
                matches!(
                    o.phase,
                    Phase::Validating { .. }
                        | Phase::RetryWait { .. }
                        | Phase::Recording { .. }
                        | Phase::WaitingForOther { .. }
                )
            });
            if !waiting {
                return Err(reason);
            }
        }
        let deploying = self
            .foreign_running()
            .filter(|e| !matches!(e.op, OperationKind::Rollback | OperationKind::AutoRollback));
        let Some(bad) = self
            .op
            .as_ref()
            .map(|o| o.revision.clone())
            .or_else(|| deploying.map(|e| e.revision.clone()))
            .or_else(|| self.held.synced_revision.clone())
        else {
            return Err(FailureReason::Refused(format!(
                "nothing has been synced to {} yet; nothing to roll back",
                self.env
            )));
        };
        let to = match to {
            Some(to) => to,
            None => self.previous_good(&bad).ok_or_else(|| {
                FailureReason::Refused(format!(
                    "no earlier good revision of {} in its history; name one with --to",
                    self.env
                ))
            })?,
        };
        if to == bad {
            // The env runs the target but Git's head is another revision that automation would
            // deploy next (a bad commit that landed a moment ago): hold at the target, judging
            // the head bad, so it is never deployed.
            let head = self.head.as_ref().map(|h| h.revision.clone());
            if let Some(head) = head.filter(|h| *h != to) {
                return Ok((to, head));
            }
            return Err(FailureReason::Refused(format!(
                "{} already runs {}",
                self.env,
                short_sha(&to)
            )));
        }
        Ok((to, bad))
    }

    /// What a resume would end, for its confirmation.
    fn resume_plan(&self) -> String {
        let mut ends = Vec::new();
        if let Some(p) = &self.held.paused {
            ends.push(format!("end the pause by {}", p.by));
        }
        if let Some(h) = &self.held.hold {
            ends.push(format!(
                "end the hold at {} (auto-sync may then deploy the head)",
                short_sha(&h.revision)
            ));
        }
        if ends.is_empty() {
            format!("resume {} (it is neither paused nor held)", self.env)
        } else {
            format!("resume {}: {}", self.env, ends.join(" and "))
        }
    }

    /// Whether automation skips `revision`: a rollback moved away from it or it failed.
    fn is_judged_bad(&self, revision: &str) -> bool {
        self.held
            .hold
            .as_ref()
            .is_some_and(|h| h.bad_revision == revision)
            || self
                .held
                .is_rejected(revision, self.digest_of_revision(revision).as_deref())
    }

    /// A manual sync of a revision judged bad needs `force`: it redeploys what failed.
    fn judged_bad(&self, revision: &str, force: bool, plan: &str) -> Result<(), FailureReason> {
        if force || !self.is_judged_bad(revision) {
            return Ok(());
        }
        let why = self
            .held
            .automation_note(&self.env, Some(revision), None)
            .unwrap_or_default();
        Err(FailureReason::NeedsConfirmation(format!(
            "{} is a revision automation skips ({why}); would {plan} anyway; nothing was \
             changed. Confirm it in the console or pass --force",
            short_sha(revision)
        )))
    }

    /// The last good revision *before* `bad`: the newest that applied and validated and was
    /// first deployed before `bad` was — never one deployed after it, which would "roll back"
    /// forward. Without any record of `bad`, the recorded `last_good` (if it is not `bad`).
    fn previous_good(&self, bad: &str) -> Option<String> {
        let history = &self.held.history;
        let bad_since = history
            .iter()
            .filter(|e| e.revision == bad)
            .map(|e| e.started)
            .min();
        let Some(bad_since) = bad_since else {
            return self.held.last_good.clone().filter(|g| g != bad);
        };
        history
            .iter()
            .filter(|e| e.result == OperationResult::Succeeded && e.revision != bad)
            .find(|e| e.started < bad_since)
            .map(|e| e.revision.clone())
    }

    fn digest_of_revision(&self, revision: &str) -> Option<String> {
        if let Some(op) = self.op.as_ref().filter(|o| o.revision == revision)
            && !op.render_digest.is_empty()
        {
            return Some(op.render_digest.clone());
        }
        if let Some(d) = self.held.digest_of(revision) {
            return Some(d.to_owned());
        }
        self.head
            .as_ref()
            .filter(|h| h.revision == revision)
            .and_then(|h| h.render.as_ref().ok())
            .map(|r| r.digest.clone())
    }
}
