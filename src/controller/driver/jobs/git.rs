//! The driver's Git jobs: the env's open repository ([`SourceSlot`]), polling the branch head
//! and rendering what it names ([`poll_git`]), rendering one given revision for apply and
//! self-heal ([`render_at`]), and the revert commit ([`revert`]) with its author.
//!
//! Decisions: one repository per env, opened on first use and kept behind a mutex, because
//! [`Source`] is not `Sync` (a git2 repository and its `Cell` caches) while these jobs run on
//! the blocking pool; the mutex also runs them one at a time per env. A job that cannot open
//! the repository reports why as data, never panics. A render that fails is still a
//! [`GitChange`] (its commits are listed from the env's folder), so the history pane fills even
//! while the head does not render. The revert is a Git job, not an apply: it writes one commit
//! (pushed when there is a remote) and answers `Event::Committed`; the engine decides what is
//! applied after it.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::config::{Config, EnvConfig};
use crate::controller::driver::Shared;
use crate::controller::driver::env::Msg;
use crate::controller::engine::{ApplyFailure, CommitReport, Event, OpId, RenderSummary};
use crate::controller::{Desired, DesiredError, desired, env_path, open_source};
use crate::model::{Commit, FailureReason};
use crate::source::{Author, Source};

/// Commits per env in a snapshot (the first page of the history pane).
const COMMITS_PAGE: usize = 50;

/// The env's open repository, opened on first use on the blocking pool.
#[derive(Clone, Default)]
pub(in super::super) struct SourceSlot(Arc<Mutex<Option<Source>>>);

impl SourceSlot {
    /// Runs `f` with the open source (opening it first). Blocking.
    fn with<T>(
        &self,
        config: &Config,
        f: impl FnOnce(&Source) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut slot = self
            .0
            .lock()
            .map_err(|_| "git: repository lock poisoned".to_owned())?;
        if slot.is_none() {
            *slot = Some(open_source(config).map_err(|e| e.to_string())?);
        }
        match slot.as_ref() {
            Some(source) => f(source),
            None => Err("git: repository not open".into()),
        }
    }
}

/// A new branch head: its render (or why it failed) and first page of commits.
pub(in super::super) struct GitChange {
    pub sha: String,
    pub head: Option<Commit>,
    pub desired: Result<Arc<Desired>, String>,
    pub commits: Vec<Commit>,
}

/// The engine's summary of a render.
pub(in super::super) fn summary(d: &Desired) -> RenderSummary {
    RenderSummary {
        digest: d.rendered.digest.clone(),
        resources: d.rendered.manifests.len(),
    }
}

/// Reads the branch head (fetching first when `fetch` and remote); `None` when it is still
/// `last`. Blocking.
pub(in super::super) fn poll_git(
    slot: &SourceSlot,
    config: &Config,
    env: &EnvConfig,
    last: Option<&str>,
    fetch: bool,
) -> Result<Option<GitChange>, String> {
    slot.with(config, |source| {
        if fetch && source.is_remote() {
            source.fetch().map_err(|e| e.to_string())?;
        }
        let sha = source.resolve(None).map_err(|e| e.to_string())?.sha;
        if last == Some(sha.as_str()) {
            return Ok(None);
        }
        let rendered = desired(source, env, Some(&sha));
        let inputs = match &rendered {
            Ok(d) => d.rendered.inputs.clone(),
            Err(_) => vec![env_path(env)],
        };
        let commits = source
            .history(&inputs, Some(&sha), 0, COMMITS_PAGE)
            .unwrap_or_default();
        Ok(Some(GitChange {
            head: source.commit(&sha).ok(),
            desired: rendered.map(Arc::new).map_err(|e| e.to_string()),
            commits,
            sha,
        }))
    })
}

fn git_failure(e: impl std::fmt::Display) -> ApplyFailure {
    ApplyFailure {
        reason: FailureReason::Git(e.to_string()),
        transient: false,
        changed: 0,
    }
}

/// `revision`'s render on the blocking pool; a Git or render error as the apply failure the
/// engine records.
pub(super) async fn render_at(
    shared: &Arc<Shared>,
    env: &EnvConfig,
    source: &SourceSlot,
    revision: String,
) -> Result<Arc<Desired>, ApplyFailure> {
    let shared = shared.clone();
    let env = env.clone();
    let source = source.clone();
    let joined = tokio::task::spawn_blocking(move || {
        source.with(&shared.config, |s| {
            Ok(desired(s, &env, Some(&revision)).map_err(|e| match e {
                DesiredError::Source(e) => git_failure(e),
                e @ DesiredError::Render { .. } => ApplyFailure {
                    reason: FailureReason::Render(e.to_string()),
                    transient: false,
                    changed: 0,
                },
            }))
        })
    })
    .await;
    match joined {
        Ok(Ok(Ok(d))) => Ok(Arc::new(d)),
        Ok(Ok(Err(failure))) => Err(failure),
        Ok(Err(e)) => Err(git_failure(e)),
        Err(e) => Err(git_failure(format!("render task failed: {e}"))),
    }
}

/// The commit author for this console's operator `user@host/pid`.
pub(in super::super) fn author(operator: &str) -> Author {
    let user_host = operator.split('/').next().unwrap_or(operator);
    let name = user_host.split('@').next().unwrap_or(user_host);
    Author {
        name: format!("driftdeck ({name})"),
        email: user_host.to_owned(),
    }
}

/// `Effect::Revert`: one commit reverting good..=bad on the branch head.
///
/// Only the env's own files are reverted: its folder and every file its render read at the
/// good or the bad revision (its bases and components). A commit in the range that also changed
/// another env keeps that change; the revert message lists what it kept.
pub(in super::super) async fn revert(
    shared: Arc<Shared>,
    env: EnvConfig,
    source: SourceSlot,
    op: OpId,
    good: String,
    bad: String,
) -> Msg {
    let author = author(&shared.opts.operator);
    let config = shared.config.clone();
    let joined = tokio::task::spawn_blocking(move || {
        source.with(&config, |s| {
            let folder = format!("{}/", crate::controller::desired::env_path(&env));
            let mut inputs = std::collections::BTreeSet::new();
            for rev in [&good, &bad] {
                if let Ok(d) = crate::controller::desired::desired(s, &env, Some(rev)) {
                    inputs.extend(d.rendered.inputs);
                }
            }
            let scope = |path: &str| path.starts_with(&folder) || inputs.contains(path);
            s.revert_range(&good, &bad, None, &author, &scope)
                .map_err(|e| e.to_string())
        })
    })
    .await;
    let result = match joined {
        Ok(Ok(p)) => Ok(CommitReport {
            sha: p.sha,
            summary: p.summary,
            pushed: p.pushed,
        }),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(format!("revert task failed: {e}")),
    };
    Msg::Event(Event::Committed {
        op,
        result,
        at: Timestamp::now(),
    })
}
