//! The life of one operation, flux's `reconcile()` read top to bottom: start (history entry
//! `Running`) → apply (retrying transient failures with backoff) → validate (Healthy within
//! `validation_timeout`, Degraded fails at once) → optional revert commit → finish (history
//! entry final, `last_good`), with auto-rollback and its hold when validation fails.
//!
//! Imports only `crate::model` and sibling engine files. Every step is a reaction to an event;
//! nothing here waits.
//!
//! Decisions: an empty render fails its operation (a `Render` failure, so the revision is
//! rejected and automation never loops on it) unless the env sets `allow_empty`, which then
//! applies and prunes like any other render (Argo CD's `allowEmpty`). A failure identical to
//! the previous one (same revision, same reason) is recorded once: the first failure's history
//! entry is updated with the new finish time and a count in its failure text (`… (failed 4
//! times in a row)`), no new entry and no new audit line are written; the audit log gets one
//! line with the total when the streak ends. The repeated attempt writes no `Running` entry,
//! so a streak never floods the 50-entry history. A transient failure that outlasts the
//! operation's retries does not reject its revision: automation tries it again after the
//! streak's backoff (5 s doubling up to 3 min) instead of skipping it.

use jiff::Timestamp;

use super::event::{ApplyFailure, ApplyReport, CommitReport, Effect, OpId};
use super::policy::{RECORD_WAIT, RETRY_LIMIT, retry_delay};
use super::reconciler::{Engine, FailureStreak, Head, Operation, Phase, later};
use crate::model::{
    FailureReason, Health, HealthCode, HistoryEntry, Hold, Notice, OperationKind, OperationResult,
    short_sha,
};

impl Engine {
    /// Starts an operation at `revision`; `prune: None` takes the env's policy. A head whose
    /// render failed fails here, before any `Apply`.
    pub(super) fn start(
        &mut self,
        kind: OperationKind,
        revision: String,
        prune: Option<bool>,
        at: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        let id = OpId(self.next_op);
        self.next_op += 1;
        let prune = prune.unwrap_or(self.policy.prune);
        let head = self.head.as_ref().filter(|h| h.revision == revision);
        let (digest, render_error, empty) = match head {
            Some(Head { render: Ok(r), .. }) => (r.digest.clone(), None, r.resources == 0),
            Some(Head { render: Err(e), .. }) => (String::new(), Some(e.clone()), false),
            None => (String::new(), None, false),
        };
        let entry = HistoryEntry {
            id: format!("{}-{}-{}", self.operator, at.as_millisecond(), id.0),
            op: kind,
            revision: revision.clone(),
            render_digest: digest.clone(),
            operator: self.operator.clone(),
            started: at,
            finished: None,
            result: OperationResult::Running,
            resources_changed: 0,
            failure: None,
        };
        // A retry of the revision that just failed: recorded only if it ends differently.
        let repeat = self
            .streak
            .as_ref()
            .is_some_and(|s| s.revision == revision && s.kind == kind);
        fx.push(Effect::Notify(Notice::OperationStarted {
            env: self.env.clone(),
            op: kind,
            revision: revision.clone(),
        }));
        if !repeat {
            fx.push(Effect::Audit {
                action: kind.to_string(),
                detail: format!(
                    "{}: started {id} at {} (prune {prune})",
                    self.env,
                    short_sha(&revision)
                ),
            });
        }
        self.op = Some(Operation {
            id,
            kind,
            revision: revision.clone(),
            prune,
            started: at,
            entry_id: entry.id.clone(),
            phase: Phase::Recording {
                deadline: later(at, RECORD_WAIT),
            },
            retries: 0,
            render_digest: digest,
            changed: 0,
            revert_from: None,
            last_health: None,
        });
        if !repeat {
            self.upsert(entry);
        }
        if let Some(error) = render_error {
            // Never a partial apply: the whole revision must render first.
            self.reject(&revision, None);
            self.finish(
                OperationResult::Failed,
                Some(FailureReason::Render(error)),
                at,
                fx,
            );
            return;
        }
        if empty && !self.policy.allow_empty {
            self.reject(&revision, None);
            let reason = FailureReason::Render(empty_render_reason(&self.env, &revision));
            self.finish(OperationResult::Failed, Some(reason), at, fx);
            return;
        }
        // Nothing is applied before the state write that records the operation succeeds
        // (`recorded`), even when nothing else changed (a repeat): that write is the claim.
        self.unsaved = true;
    }

    /// Ends the running operation, records it and tells everyone. Returns it for follow-ups.
    pub(super) fn finish(
        &mut self,
        result: OperationResult,
        failure: Option<FailureReason>,
        at: Timestamp,
        fx: &mut Vec<Effect>,
    ) -> Option<Operation> {
        let op = self.op.take()?;
        if matches!(op.phase, Phase::Validating { .. }) {
            fx.push(Effect::StopValidation { op: op.id });
        }
        if let Some(entry) = self.repeat_failure(&op, result, failure.as_ref(), at) {
            fx.push(Effect::Notify(Notice::OperationFinished {
                env: self.env.clone(),
                entry,
            }));
            return Some(op);
        }
        self.end_streak(&op, result, failure.as_ref(), at, fx);
        let entry = HistoryEntry {
            id: op.entry_id.clone(),
            op: op.kind,
            revision: op.revision.clone(),
            render_digest: op.render_digest.clone(),
            operator: self.operator.clone(),
            started: op.started,
            finished: Some(at),
            result,
            resources_changed: op.changed,
            failure: failure.clone(),
        };
        let outcome = match &failure {
            Some(reason) => format!("{result}: {reason}"),
            None => result.to_string(),
        };
        fx.push(Effect::Audit {
            action: op.kind.to_string(),
            detail: format!(
                "{}: {} at {} {outcome}",
                self.env,
                op.id,
                short_sha(&op.revision)
            ),
        });
        fx.push(Effect::Notify(Notice::OperationFinished {
            env: self.env.clone(),
            entry: entry.clone(),
        }));
        self.upsert(entry);
        Some(op)
    }

    pub(super) fn on_applied(
        &mut self,
        id: OpId,
        result: Result<ApplyReport, ApplyFailure>,
        at: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        let Some(op) = self.op.as_mut() else { return };
        if op.id != id || op.phase != Phase::Applying {
            return; // late answer for an operation that already ended
        }
        match result {
            Ok(report) => {
                op.render_digest = report.render_digest;
                // Plus what earlier, transiently failed attempts of this operation changed.
                op.changed += report.changed;
                let deadline = later(at, self.policy.validation_timeout);
                op.phase = Phase::Validating { deadline };
                let op = op.clone();
                self.live_stale = true;
                self.set_synced(&op.revision);
                if let Some(mut entry) = self.held.entry(&op.entry_id).cloned() {
                    entry.render_digest.clone_from(&op.render_digest);
                    entry.resources_changed = op.changed;
                    self.upsert(entry);
                }
                let rolled_back_to_it = matches!(
                    op.kind,
                    OperationKind::Rollback | OperationKind::AutoRollback
                ) && self
                    .held
                    .hold
                    .as_ref()
                    .is_some_and(|h| h.revision == op.revision);
                if rolled_back_to_it {
                    let hold = self.held.hold.clone();
                    self.set_hold(hold, Some(op.render_digest.clone()));
                }
                fx.push(Effect::Validate { op: op.id });
                fx.push(Effect::WakeAt(deadline));
            }
            Err(failure) if failure.transient && op.retries < RETRY_LIMIT => {
                op.changed += failure.changed;
                op.retries += 1;
                let delay = retry_delay(op.retries);
                let until = later(at, delay);
                op.phase = Phase::RetryWait { until };
                let message = format!(
                    "{} of {} at {}: {}; retry {}/{RETRY_LIMIT} in {}s",
                    op.kind,
                    self.env,
                    short_sha(&op.revision),
                    failure.reason,
                    op.retries,
                    delay.as_secs()
                );
                fx.push(self.warn(message));
                fx.push(Effect::WakeAt(until));
            }
            Err(failure) => {
                op.changed += failure.changed;
                let revision = op.revision.clone();
                if !failure.transient {
                    self.reject(&revision, None);
                }
                self.finish(OperationResult::Failed, Some(failure.reason), at, fx);
            }
        }
    }

    pub(super) fn on_validated(
        &mut self,
        id: OpId,
        health: Health,
        at: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        let Some(op) = self.op.as_mut() else { return };
        if op.id != id || !matches!(op.phase, Phase::Validating { .. }) {
            return;
        }
        op.last_health = Some(health.clone());
        match health.code {
            HealthCode::Healthy => self.validation_passed(at, fx),
            HealthCode::Degraded => {
                let reason = FailureReason::Degraded(if health.message.is_empty() {
                    "a workload is Degraded".into()
                } else {
                    health.message
                });
                self.validation_failed(reason, at, fx);
            }
            // Progressing, Missing, Suspended, Unknown: keep waiting for the deadline.
            _ => {}
        }
    }

    fn validation_passed(&mut self, at: Timestamp, fx: &mut Vec<Effect>) {
        let Some(op) = self.op.as_mut() else { return };
        let revision = op.revision.clone();
        if let Some(bad) = op.revert_from.clone() {
            fx.push(Effect::StopValidation { op: op.id });
            op.phase = Phase::Committing;
            fx.push(Effect::Revert {
                op: op.id,
                bad_revision: bad,
                good_revision: revision.clone(),
            });
            self.set_last_good(&revision);
            return;
        }
        self.set_last_good(&revision);
        self.finish(OperationResult::Succeeded, None, at, fx);
    }

    /// Fails the running operation on validation and, with `auto_rollback`, rolls back to
    /// `last_good` under a hold. Rollbacks themselves never trigger another rollback.
    fn validation_failed(&mut self, reason: FailureReason, at: Timestamp, fx: &mut Vec<Effect>) {
        let Some(op) = self.finish(OperationResult::Failed, Some(reason.clone()), at, fx) else {
            return;
        };
        let digest = (!op.render_digest.is_empty()).then(|| op.render_digest.clone());
        let rollbackable = matches!(
            op.kind,
            OperationKind::Sync | OperationKind::AutoSync | OperationKind::SelfHeal
        );
        if !(self.policy.auto_rollback && rollbackable) {
            self.reject(&op.revision, None);
            return;
        }
        let Some(good) = self.held.last_good.clone().filter(|g| *g != op.revision) else {
            self.reject(&op.revision, None);
            fx.push(self.warn(format!(
                "auto-rollback of {} skipped: no earlier good revision",
                self.env
            )));
            return;
        };
        // The bad render is banned by digest too: re-committing it under another sha must not
        // bring it back once the hold ends.
        self.reject(&op.revision, digest);
        let hold = Hold {
            revision: good.clone(),
            bad_revision: op.revision.clone(),
            by: self.operator.clone(),
            at,
            reason: format!("auto-rollback: {reason}"),
        };
        self.set_hold(Some(hold), None);
        self.start(OperationKind::AutoRollback, good, None, at, fx);
    }

    pub(super) fn tick_operation(&mut self, at: Timestamp, fx: &mut Vec<Effect>) {
        let Some(op) = self.op.as_mut() else { return };
        match op.phase {
            Phase::RetryWait { until } if until <= at => {
                op.phase = Phase::Applying;
                fx.push(Effect::Apply {
                    op: op.id,
                    revision: op.revision.clone(),
                    prune: op.prune,
                });
            }
            Phase::Validating { deadline } if deadline <= at => {
                let last = match &op.last_health {
                    Some(h) if h.message.is_empty() => format!("last seen {}", h.code),
                    Some(h) => format!("last seen {}: {}", h.code, h.message),
                    None => "no health reading".into(),
                };
                let reason = FailureReason::ValidationTimeout(format!(
                    "not Healthy within {}s ({last})",
                    self.policy.validation_timeout.as_secs()
                ));
                self.validation_failed(reason, at, fx);
            }
            _ => {}
        }
    }

    pub(super) fn on_committed(
        &mut self,
        id: OpId,
        result: Result<CommitReport, String>,
        at: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        let Some(op) = self.op.as_ref() else { return };
        if op.id != id || op.phase != Phase::Committing {
            return;
        }
        // Only `rollback --revert` sets `revert_from`, and clears it once the commit is made.
        let reverted_first = op.revert_from.is_some();
        match result {
            Ok(commit) if reverted_first => {
                // `rollback --revert`: Git now has the revert; apply the target.
                fx.push(Effect::Notify(Notice::Committed {
                    sha: commit.sha,
                    summary: commit.summary,
                    pushed: commit.pushed,
                }));
                if let Some(op) = self.op.as_mut() {
                    op.revert_from = None;
                    op.phase = Phase::Applying;
                    fx.push(Effect::Apply {
                        op: op.id,
                        revision: op.revision.clone(),
                        prune: op.prune,
                    });
                }
            }
            // Nothing was applied: the rollback is refused as a whole and leaves no hold.
            Err(error) if reverted_first => {
                let bad = op.revert_from.clone().unwrap_or_default();
                self.finish(
                    OperationResult::Failed,
                    Some(FailureReason::Git(format!(
                        "revert commit: {error}; nothing was applied and no hold was set"
                    ))),
                    at,
                    fx,
                );
                self.set_hold(None, None);
                self.unreject(&bad);
            }
            Ok(commit) => {
                fx.push(Effect::Notify(Notice::Committed {
                    sha: commit.sha,
                    summary: commit.summary,
                    pushed: commit.pushed,
                }));
                self.finish(OperationResult::Succeeded, None, at, fx);
            }
            // Live is already rolled back and validated; only the Git half failed, the hold
            // stays until Git matches or `resume`.
            Err(error) => {
                self.finish(
                    OperationResult::Failed,
                    Some(FailureReason::Git(format!("revert commit: {error}"))),
                    at,
                    fx,
                );
            }
        }
    }
}

impl Engine {
    /// The same failure as the streak's last one: counts it on the streak's history entry and
    /// returns that entry; `None` when this failure is to be recorded as usual.
    fn repeat_failure(
        &mut self,
        op: &Operation,
        result: OperationResult,
        failure: Option<&FailureReason>,
        at: Timestamp,
    ) -> Option<HistoryEntry> {
        let reason = failure.filter(|_| result == OperationResult::Failed)?;
        let streak = self
            .streak
            .as_mut()
            .filter(|s| s.kind == op.kind && s.revision == op.revision && s.reason == *reason)?;
        let mut entry = self.held.entry(&streak.entry_id).cloned()?;
        streak.count += 1;
        streak.attempts += 1;
        streak.retry_at = later(at, retry_delay(streak.attempts));
        entry.finished = Some(at);
        entry.failure = Some(counted(reason, streak.count));
        self.upsert(entry.clone());
        Some(entry)
    }

    /// Ends the current streak (audited once with its count when it repeated) and, for a new
    /// failure, starts one at `op`'s history entry.
    fn end_streak(
        &mut self,
        op: &Operation,
        result: OperationResult,
        failure: Option<&FailureReason>,
        at: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        let old = self.streak.take();
        if let Some(old) = old.as_ref().filter(|o| o.count > 1) {
            fx.push(Effect::Audit {
                action: "failure-repeated".into(),
                detail: format!(
                    "{}: {} at {} failed {} times in a row: {}",
                    self.env,
                    old.entry_id,
                    short_sha(&old.revision),
                    old.count,
                    old.reason
                ),
            });
        }
        if let (OperationResult::Failed, Some(reason)) = (result, failure) {
            let attempts = old
                .filter(|o| o.revision == op.revision)
                .map_or(1, |o| o.attempts + 1);
            self.streak = Some(FailureStreak {
                kind: op.kind,
                revision: op.revision.clone(),
                reason: reason.clone(),
                count: 1,
                attempts,
                entry_id: op.entry_id.clone(),
                retry_at: later(at, retry_delay(attempts)),
            });
        }
    }
}

/// Why an empty render is refused, and how to allow it (the engine's refusal of an empty head,
/// and the apply job's of an empty render at any other revision, say the same).
pub fn empty_render_reason(env: &str, revision: &str) -> String {
    format!(
        "{env} at {} renders no objects; an empty render is refused so a broken overlay cannot \
         empty the env (set allow_empty: true on the env in driftdeck.yaml to allow it)",
        short_sha(revision)
    )
}

/// `reason` with the streak's count appended to its text.
fn counted(reason: &FailureReason, count: u32) -> FailureReason {
    let with = |text: &String| format!("{text} (failed {count} times in a row)");
    match reason {
        FailureReason::Git(t) => FailureReason::Git(with(t)),
        FailureReason::Render(t) => FailureReason::Render(with(t)),
        FailureReason::ClusterUnreachable(t) => FailureReason::ClusterUnreachable(with(t)),
        FailureReason::Apply(t) => FailureReason::Apply(with(t)),
        FailureReason::PruneRefused(t) => FailureReason::PruneRefused(with(t)),
        FailureReason::ValidationTimeout(t) => FailureReason::ValidationTimeout(with(t)),
        FailureReason::Degraded(t) => FailureReason::Degraded(with(t)),
        FailureReason::Refused(t) => FailureReason::Refused(with(t)),
        FailureReason::ReadOnly(t) => FailureReason::ReadOnly(with(t)),
        FailureReason::Conflict(t) => FailureReason::Conflict(with(t)),
        FailureReason::Interrupted(t) => FailureReason::Interrupted(with(t)),
        FailureReason::NeedsConfirmation(t) => FailureReason::NeedsConfirmation(with(t)),
    }
}
