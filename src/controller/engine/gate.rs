//! The start gate: an operation is recorded in the env's ConfigMap before anything is applied,
//! and every process's pause, hold and running operation is honoured at that point.
//!
//! Imports only `crate::model` and sibling engine files.
//!
//! Why: consoles, controllers and CLI verbs of one env share nothing but the ConfigMap and the
//! Lease. A pause written by `driftdeck pause` used to reach the Lease holder on its next state
//! read (about a second later); an automatic apply could start in between, after the verb had
//! returned. Now an operation starts in [`Phase::Recording`]: its `Running` entry goes out in a
//! write carrying the resourceVersion of this console's last read, and `Apply` follows only
//! that write's success. The API server orders the two writes, so either the operation was
//! recorded first (it started before the pause returned) or the pause was (the operation's write
//! fails with 409, the fresh read shows the pause, and the operation is dropped unapplied). The
//! same order decides between a rollback's hold and a holder's automatic apply.
//!
//! Decisions:
//! - An automatic operation (auto-sync, self-heal) that finds a pause, a hold or another
//!   console's running operation when its record is refused is dropped: nothing applied, its
//!   `Running` entry removed rather than recorded as failed (it never ran), an audit line and a
//!   warning say why.
//! - A manual sync in the same position fails as busy (recorded: an operator asked for it).
//! - A rollback waits instead ([`Phase::WaitingForOther`], at most [`OTHER_OPERATION_WAIT`]):
//!   its hold is written at once, so automation stops, and the other console's operation of the
//!   revision the hold judges bad ends as soon as it only waits (validation or retry backoff);
//!   then the rollback records itself and applies. A rollback therefore never races a holder's
//!   apply of the bad revision: when `rollback` returns, the bad revision is not live.
//! - A write that never succeeds fails the operation after [`RECORD_WAIT`], nothing applied.

use jiff::Timestamp;

use super::event::Effect;
use super::policy::{OTHER_OPERATION_WAIT, RECORD_WAIT};
use super::reconciler::{Engine, Phase, later};
use crate::model::{FailureReason, Notice, OperationKind, OperationResult, short_sha};

/// Automation's own operations: these give way to any pause, hold or other operation.
fn automatic(kind: OperationKind) -> bool {
    matches!(kind, OperationKind::AutoSync | OperationKind::SelfHeal)
}

impl Engine {
    /// The state write that records the running operation succeeded: apply it (or, for
    /// `rollback --revert`, make the revert commit first).
    pub(super) fn recorded(&mut self, fx: &mut Vec<Effect>) {
        let Some(op) = self.op.as_mut() else { return };
        if !matches!(op.phase, Phase::Recording { .. }) {
            return;
        }
        match op.revert_from.clone() {
            // Git first: a revert that cannot be made refuses before anything is applied.
            Some(bad) => {
                op.phase = Phase::Committing;
                fx.push(Effect::Revert {
                    op: op.id,
                    bad_revision: bad,
                    good_revision: op.revision.clone(),
                });
            }
            None => {
                op.phase = Phase::Applying;
                fx.push(Effect::Apply {
                    op: op.id,
                    revision: op.revision.clone(),
                    prune: op.prune,
                });
            }
        }
    }

    /// Runs after every event: decides again for an operation not yet applied, ends an
    /// operation that a hold from another console judged bad while it only waits, and fails
    /// an operation whose record or wait ran out of time.
    pub(super) fn gate_operation(&mut self, at: Timestamp, fx: &mut Vec<Effect>) {
        let Some(op) = self.op.as_ref() else { return };
        let (kind, revision) = (op.kind, op.revision.clone());
        match op.phase {
            Phase::Recording { deadline } => {
                if automatic(kind) {
                    if let Some(why) = self.automation_blocked() {
                        self.drop_unstarted(&why, fx);
                        return;
                    }
                } else if let Some(other) = self.other_running_text() {
                    if kind == OperationKind::Rollback {
                        let deadline = later(at, OTHER_OPERATION_WAIT);
                        if let Some(op) = self.op.as_mut() {
                            op.phase = Phase::WaitingForOther { deadline };
                        }
                        fx.push(self.warn(format!(
                            "rollback of {} to {} waits for {other} to end; the hold already \
                             keeps automation from deploying anything else",
                            self.env,
                            short_sha(&revision)
                        )));
                        fx.push(Effect::WakeAt(deadline));
                    } else {
                        let reason = FailureReason::Refused(format!(
                            "{} is busy: {other}; nothing was applied",
                            self.env
                        ));
                        self.finish(OperationResult::Failed, Some(reason), at, fx);
                    }
                    return;
                }
                if deadline <= at {
                    let error = self.write_error.clone().unwrap_or_default();
                    let reason = FailureReason::Refused(format!(
                        "the operation could not be recorded in ConfigMap driftdeck-{} within \
                         {}s ({error}); nothing was applied",
                        self.env,
                        RECORD_WAIT.as_secs()
                    ));
                    self.finish(OperationResult::Failed, Some(reason), at, fx);
                }
            }
            Phase::WaitingForOther { deadline } => match self.other_running_text() {
                None => {
                    let deadline = later(at, RECORD_WAIT);
                    if let Some(op) = self.op.as_mut() {
                        op.phase = Phase::Recording { deadline };
                    }
                    self.unsaved = true;
                    fx.push(Effect::WakeAt(deadline));
                }
                Some(other) if deadline <= at => {
                    let reason = FailureReason::Refused(format!(
                        "{other} did not end within {}s; nothing was applied. The hold on {} \
                         stays, so automation deploys nothing else; run the rollback again",
                        OTHER_OPERATION_WAIT.as_secs(),
                        short_sha(&revision)
                    ));
                    self.finish(OperationResult::Failed, Some(reason), at, fx);
                }
                Some(_) => {}
            },
            Phase::Validating { .. } | Phase::RetryWait { .. } => {
                let judged_bad = self.held.hold.as_ref().filter(|h| {
                    h.bad_revision == revision
                        && !matches!(kind, OperationKind::Rollback | OperationKind::AutoRollback)
                });
                if let Some(hold) = judged_bad {
                    let reason = FailureReason::Interrupted(format!(
                        "superseded by a rollback to {} by {}",
                        short_sha(&hold.revision),
                        hold.by
                    ));
                    self.finish(OperationResult::Interrupted, Some(reason), at, fx);
                }
            }
            Phase::Applying | Phase::Committing => {}
        }
    }

    /// Why automation may not start anything now, if it may not.
    fn automation_blocked(&self) -> Option<String> {
        if let Some(p) = &self.held.paused {
            return Some(format!("paused by {}", p.by));
        }
        if let Some(h) = &self.held.hold {
            return Some(format!("held at {} by {}", short_sha(&h.revision), h.by));
        }
        self.other_running_text()
    }

    /// Another console's running operation, as a phrase.
    fn other_running_text(&self) -> Option<String> {
        self.foreign_running().map(|e| {
            format!(
                "{} of {} by {} is running",
                e.op,
                short_sha(&e.revision),
                e.operator
            )
        })
    }

    /// Drops the running automatic operation that was never applied: its `Running` entry goes
    /// (it never ran), and the audit log and a warning say why.
    fn drop_unstarted(&mut self, why: &str, fx: &mut Vec<Effect>) {
        let Some(op) = self.op.take() else { return };
        self.held.history.retain(|e| e.id != op.entry_id);
        self.pending.history.remove(&op.entry_id);
        let message = format!(
            "{} of {} at {} not started: {why}; nothing was applied",
            op.kind,
            self.env,
            short_sha(&op.revision)
        );
        fx.push(Effect::Audit {
            action: format!("{} skipped", op.kind),
            detail: format!("{}: {message}", self.env),
        });
        fx.push(Effect::Notify(Notice::Warned {
            env: Some(self.env.clone()),
            message,
        }));
    }
}
