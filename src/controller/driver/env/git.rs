//! The env task's Git side: starts the polls the Git gate allows
//! ([`GitPoll`](crate::controller::engine::GitPoll)), hands a new head to the state IO gate
//! (which holds it back for a fresh state read, at most `STATE_GATE`) and feeds a released
//! head to the engine. A child module of the env task, sharing its private state.

use std::time::Instant;

use jiff::Timestamp;

use super::super::super::engine::Event;
use super::super::jobs::{self, GitChange};
use super::{EnvTask, Msg};

impl EnvTask {
    pub(super) fn poll_git(&mut self, force: bool) {
        let now = Instant::now();
        let interval = self.shared.config.repo.poll_interval;
        let held = self.state_io.head_held();
        let Some(fetch) = self.git.start(now, force, interval, held) else {
            // A watched repo's event must not be lost: the next tick polls again.
            if let Some(w) = &mut self.repo_watch {
                w.again = true;
            }
            return;
        };
        if let Some(w) = &mut self.repo_watch {
            w.again = false;
            w.last_poll = Some(now);
        }
        let last = if force { None } else { self.head_sha.clone() };
        let source = self.source.clone();
        let shared = self.shared.clone();
        let env = self.env.clone();
        self.spawn_msg(async move {
            let result = tokio::task::spawn_blocking(move || {
                jobs::poll_git(&source, &shared.config, &env, last.as_deref(), fetch)
            })
            .await
            .unwrap_or_else(|e| Err(format!("git task failed: {e}")));
            Msg::Git {
                fetched: fetch,
                result,
            }
        });
    }

    /// The Git tick: releases a head held past `STATE_GATE`, and polls unless the repository's
    /// watch makes the poll unnecessary. Returns whether a head reached the engine.
    pub(super) async fn git_tick(&mut self) -> bool {
        let released = self.state_io.gate_expired(Instant::now());
        let fed = released.is_some();
        if let Some(change) = released {
            self.feed_git(change).await;
        }
        let poll_interval = self.shared.config.repo.poll_interval;
        if self
            .repo_watch
            .as_ref()
            .is_none_or(|w| w.tick_polls(poll_interval))
        {
            self.poll_git(false);
        }
        fed
    }

    pub(super) async fn on_git(
        &mut self,
        fetched: bool,
        result: Result<Option<GitChange>, String>,
    ) {
        let outcome = match &result {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(env = %self.env.name, "git: {e}");
                Err(e.as_str())
            }
        };
        let shown = self.head_sha.as_deref();
        self.git.ended(Timestamp::now(), fetched, outcome, shown);
        if let Ok(Some(change)) = result {
            let step = self.state_io.head_seen(Instant::now(), change);
            self.state_step(step).await;
        }
    }

    pub(super) async fn feed_git(&mut self, change: GitChange) {
        self.git.mark_seen();
        self.live.head_moved();
        self.head_sha = Some(change.sha.clone());
        self.head_commit = change.head;
        self.state.commits = change.commits;
        let render = match change.desired {
            Ok(d) => {
                let summary = jobs::summary(&d);
                self.head_desired = Some(d);
                self.rewatch();
                Ok(summary)
            }
            Err(e) => {
                self.head_desired = None;
                Err(e)
            }
        };
        self.feed(Event::GitObserved {
            revision: change.sha,
            render,
            at: Timestamp::now(),
        })
        .await;
        self.observe_live();
    }
}
