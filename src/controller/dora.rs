//! The five DORA metrics (2024 names) of an env, computed only from Git and the env's
//! operation history in its cluster-held ConfigMap — no other service, no local state.
//! Pure: Git is read through the [`PathHistory`] trait; `driftdeck dora` does the IO.
//!
//! Definitions (how each figure is computed; `dora` prints the same text as `how`):
//! - A **deployment** is a finished operation that applied something to the env: a sync,
//!   auto-sync, rollback or auto-rollback that succeeded, or that failed validation (it was
//!   applied, then found Degraded or timed out). A succeeded sync of the revision already live,
//!   or of a new revision that renders the env exactly as live (same render digest: an
//!   auto-sync of a commit to another env's path), is a re-apply, not a deployment; self-heal is never one (it restores the same revision);
//!   failures before anything was applied (render, dry-run, refused) are not deployments.
//! - A deployment **failed** when it failed validation or the env's next deployment is a
//!   rollback away from it.
//! - **Deployment frequency**: deployments started in the window, per day of the window.
//! - **Change lead time**: for each change (a non-promotion commit) that first went live in the
//!   env by a successful, non-rollback deployment in the window: deployment finished − commit
//!   time. The changes a deployment brought are the commits touching the env's path reachable
//!   from its revision and not from the revision live before it; a promotion commit
//!   `promote(FROM→ENV)` stands for the changes to FROM's path since the previous promotion from
//!   FROM into ENV (or since the previous live revision), recursively, so a production lead time
//!   runs from the commit in dev. The first deployment the history holds has no predecessor and
//!   gives no sample. Median (and mean) in seconds.
//! - **Change fail rate**: failed deployments / deployments, both in the window.
//! - **Failed deployment recovery time**: for each failed deployment in the window, from its
//!   finish to the finish of the next successful deployment that did not fail (a rollback or a
//!   fix); a failure not yet recovered gives no sample and is counted as `unrecovered`.
//! - **Deployment rework rate**: deployments made while the env was failed (after a failed
//!   deployment, up to and including the one that recovered it: rollbacks and fix-forwards) /
//!   deployments, both in the window.
//!
//! The history is capped ([`crate::controller::engine::HISTORY_LIMIT`] operations per env,
//! newest first). When the oldest entry kept is newer than the window's start the history does
//! not cover the window: the report says so (`history_covers_window: false`, with the oldest
//! entry's time) and every figure is over the covered part only.
//!
//! Sizing: every operation counts against the cap, self-heals and re-applies included, so an
//! env with automation doing ~10 operations a day keeps ~5 days; a hand-synced production env
//! with a few deployments a week keeps months. The cap is left at 50 on purpose: the whole
//! ConfigMap is rewritten on every operation (a 500-entry history would be ~200 KB per write,
//! ten times today's), and the apply path's API cost is being reduced separately. Covering a
//! 30-day window on a busy env needs a deploy-only record (deployments, not self-heals) kept
//! beside the history, which is the follow-up this report's `history_covers_window` points at.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use serde::Serialize;

use crate::model::{Commit, FailureReason, HistoryEntry, OperationKind, OperationResult};

/// Git as DORA needs it: the commits touching an env's path on the first-parent line from
/// `rev`, newest first.
pub trait PathHistory {
    fn path_history(&self, env: &str, rev: &str) -> Result<Vec<Commit>, String>;
}

/// `promote(FROM→TO): …` → `FROM` when `TO` is `env`.
pub fn promoted_from<'a>(summary: &'a str, env: &str) -> Option<&'a str> {
    let rest = summary.strip_prefix("promote(")?;
    let (pair, _) = rest.split_once(')')?;
    let (from, to) = pair.split_once('→').or_else(|| pair.split_once("->"))?;
    (to.trim() == env).then_some(from.trim())
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Frequency {
    pub per_day: f64,
    pub deployments: usize,
    pub days: f64,
    pub how: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Durations {
    pub median_seconds: Option<f64>,
    pub mean_seconds: Option<f64>,
    pub samples: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unrecovered: Option<usize>,
    pub how: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rate {
    pub rate: Option<f64>,
    pub count: usize,
    pub deployments: usize,
    pub how: &'static str,
}

/// The five figures for one env (or all envs together).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metrics {
    pub deployment_frequency: Frequency,
    pub change_lead_time: Durations,
    pub change_fail_rate: Rate,
    pub failed_deployment_recovery_time: Durations,
    pub deployment_rework_rate: Rate,
}

const HOW_FREQUENCY: &str = "deployments (syncs, auto-syncs, rollbacks that applied a new revision, failed validations included) started in the window, per day";
const HOW_LEAD: &str = "per change (non-promotion commit, traced through promote(FROM→ENV) commits) first live in the env: deployment finish − commit time";
const HOW_FAIL: &str = "failed deployments (failed validation, or the next deployment rolled back from it) / deployments";
const HOW_RECOVERY: &str = "per failed deployment: its finish → finish of the next successful deployment that did not fail";
const HOW_REWORK: &str = "deployments made while the env was failed (rollbacks and fixes, up to the recovering one) / deployments";

/// One deployment, as read from the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub revision: String,
    pub rollback: bool,
    pub started: Timestamp,
    pub finished: Timestamp,
    /// It applied and validated (did not fail validation).
    pub succeeded: bool,
    pub failed: bool,
    pub rework: bool,
    /// The revision live before it (the last successful deployment's).
    pub previous: Option<String>,
}

/// The env's deployments, oldest first, from its history (any order).
pub fn deployments(history: &[HistoryEntry]) -> Vec<Deployment> {
    let mut ops: Vec<&HistoryEntry> = history.iter().filter(|e| e.finished.is_some()).collect();
    ops.sort_by_key(|e| e.started);
    let mut out: Vec<Deployment> = Vec::new();
    let mut live: Option<String> = None;
    let mut live_digest: Option<&String> = None;
    for e in ops {
        let rollback = matches!(e.op, OperationKind::Rollback | OperationKind::AutoRollback);
        if !(rollback || matches!(e.op, OperationKind::Sync | OperationKind::AutoSync)) {
            continue;
        }
        let succeeded = e.result == OperationResult::Succeeded;
        let failed_validation = e.result == OperationResult::Failed
            && matches!(
                e.failure,
                Some(FailureReason::Degraded(_) | FailureReason::ValidationTimeout(_))
            );
        if !(succeeded || failed_validation) {
            continue;
        }
        let same_render = !e.render_digest.is_empty() && live_digest == Some(&e.render_digest);
        if succeeded && !rollback && (live.as_deref() == Some(e.revision.as_str()) || same_render) {
            continue;
        }
        if rollback && let Some(last) = out.last_mut() {
            last.failed = true;
        }
        out.push(Deployment {
            revision: e.revision.clone(),
            rollback,
            started: e.started,
            finished: e.finished.unwrap_or(e.started),
            succeeded,
            failed: failed_validation,
            rework: false,
            previous: live.clone(),
        });
        // A failed validation leaves the bad revision applied until something replaces it.
        live = Some(e.revision.clone());
        live_digest = Some(&e.render_digest);
    }
    let mut in_failure = false;
    for d in &mut out {
        d.rework = in_failure;
        if d.failed {
            in_failure = true;
        } else if d.succeeded {
            in_failure = false;
        }
    }
    out
}

/// The changes (leaf commits) that `rev` brought to `env` over `previous`.
fn changes(
    git: &dyn PathHistory,
    env: &str,
    rev: &str,
    previous: &str,
    depth: usize,
) -> Result<Vec<Commit>, String> {
    let old: BTreeSet<String> = git
        .path_history(env, previous)?
        .into_iter()
        .map(|c| c.sha)
        .collect();
    let new = git.path_history(env, rev)?;
    let mut out = Vec::new();
    for (i, c) in new.iter().enumerate() {
        if old.contains(&c.sha) {
            continue;
        }
        match promoted_from(&c.summary, env) {
            Some(from) if depth < 8 => {
                // Since the previous promotion from FROM into env, else since `previous`.
                let since = new[i + 1..]
                    .iter()
                    .find(|p| promoted_from(&p.summary, env) == Some(from))
                    .map_or(previous, |p| p.sha.as_str());
                out.extend(changes(git, from, &c.sha, since, depth + 1)?);
            }
            _ => out.push(c.clone()),
        }
    }
    Ok(out)
}

fn seconds(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64()
}

fn durations(mut samples: Vec<f64>, unrecovered: Option<usize>, how: &'static str) -> Durations {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    let median = match n {
        0 => None,
        _ if n % 2 == 1 => Some(samples[n / 2]),
        _ => Some((samples[n / 2 - 1] + samples[n / 2]) / 2.0),
    };
    let mean = (n > 0).then(|| samples.iter().sum::<f64>() / n as f64);
    Durations {
        median_seconds: median,
        mean_seconds: mean,
        samples: n,
        unrecovered,
        how,
    }
}

fn rate(count: usize, deployments: usize, how: &'static str) -> Rate {
    Rate {
        rate: (deployments > 0).then(|| count as f64 / deployments as f64),
        count,
        deployments,
        how,
    }
}

/// Raw samples of one env, so several envs can be pooled.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub deployments: usize,
    pub failed: usize,
    pub rework: usize,
    pub lead: Vec<f64>,
    pub recovery: Vec<f64>,
    pub unrecovered: usize,
}

/// The samples of `env` for deployments started in `[since, until)`.
pub fn samples(
    env: &str,
    history: &[HistoryEntry],
    since: Timestamp,
    until: Timestamp,
    git: &dyn PathHistory,
) -> Result<Samples, String> {
    let all = deployments(history);
    let mut s = Samples::default();
    let mut counted: BTreeSet<String> = BTreeSet::new();
    for (i, d) in all.iter().enumerate() {
        let in_window = d.started >= since && d.started < until;
        if d.succeeded
            && !d.failed
            && !d.rollback
            && let Some(previous) = &d.previous
        {
            for c in changes(git, env, &d.revision, previous, 0)? {
                if counted.insert(c.sha.clone()) && in_window {
                    s.lead.push(seconds(c.time, d.finished));
                }
            }
        }
        if !in_window {
            continue;
        }
        s.deployments += 1;
        s.rework += usize::from(d.rework);
        if d.failed {
            s.failed += 1;
            match all[i + 1..].iter().find(|n| n.succeeded && !n.failed) {
                Some(n) => s.recovery.push(seconds(d.finished, n.finished)),
                None => s.unrecovered += 1,
            }
        }
    }
    Ok(s)
}

/// The five metrics over pooled samples for a window of `days`.
pub fn metrics(s: &Samples, days: f64) -> Metrics {
    Metrics {
        deployment_frequency: Frequency {
            per_day: if days > 0.0 {
                s.deployments as f64 / days
            } else {
                0.0
            },
            deployments: s.deployments,
            days,
            how: HOW_FREQUENCY,
        },
        change_lead_time: durations(s.lead.clone(), None, HOW_LEAD),
        change_fail_rate: rate(s.failed, s.deployments, HOW_FAIL),
        failed_deployment_recovery_time: durations(
            s.recovery.clone(),
            Some(s.unrecovered),
            HOW_RECOVERY,
        ),
        deployment_rework_rate: rate(s.rework, s.deployments, HOW_REWORK),
    }
}

impl Samples {
    pub fn pool(&mut self, other: &Samples) {
        self.deployments += other.deployments;
        self.failed += other.failed;
        self.rework += other.rework;
        self.lead.extend(&other.lead);
        self.recovery.extend(&other.recovery);
        self.unrecovered += other.unrecovered;
    }
}

/// In-memory [`PathHistory`] for tests: commits in order (oldest first) with the envs whose
/// path each touches.
#[derive(Debug, Default)]
pub struct FakeGit {
    pub commits: Vec<(Commit, Vec<String>)>,
}

impl PathHistory for FakeGit {
    fn path_history(&self, env: &str, rev: &str) -> Result<Vec<Commit>, String> {
        let end = self
            .commits
            .iter()
            .position(|(c, _)| c.sha == rev)
            .ok_or_else(|| format!("unknown revision {rev}"))?;
        Ok(self.commits[..=end]
            .iter()
            .rev()
            .filter(|(_, envs)| envs.iter().any(|e| e == env))
            .map(|(c, _)| c.clone())
            .collect())
    }
}

/// Caches [`PathHistory`] answers per (env, rev).
pub struct Cached<'a> {
    inner: &'a dyn PathHistory,
    cache: std::cell::RefCell<HashMap<(String, String), Vec<Commit>>>,
}

impl<'a> Cached<'a> {
    pub fn new(inner: &'a dyn PathHistory) -> Self {
        Self {
            inner,
            cache: std::cell::RefCell::new(HashMap::new()),
        }
    }
}

impl PathHistory for Cached<'_> {
    fn path_history(&self, env: &str, rev: &str) -> Result<Vec<Commit>, String> {
        let key = (env.to_owned(), rev.to_owned());
        if let Some(hit) = self.cache.borrow().get(&key) {
            return Ok(hit.clone());
        }
        let value = self.inner.path_history(env, rev)?;
        self.cache.borrow_mut().insert(key, value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synced(revision: &str, digest: &str, minute: i64) -> HistoryEntry {
        let started = Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_mins(minute);
        HistoryEntry {
            id: format!("op-{minute}"),
            op: OperationKind::AutoSync,
            revision: revision.into(),
            render_digest: digest.into(),
            operator: "me".into(),
            started,
            finished: Some(started),
            result: OperationResult::Succeeded,
            resources_changed: 9,
            failure: None,
        }
    }

    #[test]
    fn an_auto_sync_that_renders_the_env_as_live_is_not_a_deployment() {
        let history = [
            synced("c3", "d2", 3),
            synced("c2", "d1", 2),
            synced("c1", "d1", 1),
        ];
        let revisions: Vec<String> = deployments(&history)
            .into_iter()
            .map(|d| d.revision)
            .collect();
        assert_eq!(revisions, ["c1", "c3"]);
    }

    #[test]
    fn promotion_summary_names_its_source_for_the_target_only() {
        assert_eq!(
            promoted_from("promote(dev→staging): api 1 → 2", "staging"),
            Some("dev")
        );
        assert_eq!(
            promoted_from("promote(dev→staging): api 1 → 2", "production"),
            None
        );
        assert_eq!(promoted_from("fix: api", "staging"), None);
    }
}
