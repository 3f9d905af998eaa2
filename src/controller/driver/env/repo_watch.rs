//! The env task's Git side when the repository is local: its refs are watched
//! ([`crate::source::RefWatcher`]) instead of re-read on every `GIT_POLL` tick. A
//! watcher event polls at once; a tick polls only when an event arrived while a poll was busy
//! or pending, or when the last poll is older than the repo's `poll_interval` (the safety net
//! for file systems that deliver no events, e.g. a repository on NFS).
//!
//! The watched git dir is the repository's common dir ([`crate::source::refs_dir`]), where the
//! branches live: for a linked worktree (its `.git` a file) that is the main repository's
//! `.git`, not the worktree's private `.git/worktrees/NAME`.
//!
//! One watcher per repository, not per env task: the driver starts it ([`watch_repo`]) and
//! each env task follows its event counter (a `watch` channel: a burst is one change, and a
//! task busy with a poll sees the latest count, not a queue). Every env of a driver reads the
//! same repository, so one inotify instance serves them all.
//!
//! Remote repositories keep the per-tick read of their local mirror (cheap, and how a commit
//! another env task made in the shared mirror — a promotion — is seen at once); they are fetched
//! every `poll_interval` as before. When watching cannot start, the tick polls as before and
//! the reason is logged once.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::GIT_POLL;
use crate::source::{Location, RefWatcher, refs_dir};

/// Watches `url` when it is a local repository: the watcher (alive while held) and a counter
/// bumped on every event, for each env task to [`RepoWatch::new`] from. `None` (every task
/// polls each tick) otherwise or when watching cannot start.
pub(in super::super) fn watch_repo(url: &str) -> Option<(RefWatcher, watch::Receiver<u64>)> {
    let Location::Local(path) = Location::parse(url) else {
        return None;
    };
    let (tx, rx) = watch::channel(0u64);
    let started = refs_dir(&path)
        .map_err(|e| e.to_string())
        .and_then(|git_dir| {
            RefWatcher::start(&git_dir, move || {
                tx.send_modify(|n| *n = n.wrapping_add(1));
            })
            .map_err(|e| e.to_string())
        });
    match started {
        Ok(watcher) => Some((watcher, rx)),
        Err(e) => {
            tracing::warn!("{e}; polling the repository every {GIT_POLL:?} instead");
            None
        }
    }
}

/// One env task's view of the repository watch ([`watch_repo`]).
pub(in super::super) struct RepoWatch {
    events: watch::Receiver<u64>,
    /// An event arrived while a poll could not start: poll on the next tick.
    pub again: bool,
    pub last_poll: Option<Instant>,
}

impl RepoWatch {
    pub fn new(events: watch::Receiver<u64>) -> Self {
        Self {
            events,
            again: false,
            last_poll: None,
        }
    }

    /// The next event; a burst (a commit writes several files) is seen once, the counter
    /// keeping only its latest value.
    pub async fn changed(&mut self) -> Option<()> {
        self.events.changed().await.ok()
    }

    /// Whether a tick should poll: a missed event, or the safety interval.
    pub fn tick_polls(&self, poll_interval: Duration) -> bool {
        self.again || self.last_poll.is_none_or(|t| t.elapsed() >= poll_interval)
    }
}

/// For the env task's `select!`: the next watcher event, or never when not watching.
pub(super) async fn changed(watch: &mut Option<RepoWatch>) -> Option<()> {
    match watch {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit of an empty tree on `refs/heads/main` of `repo`, after its current head.
    fn commit(repo: &git2::Repository, message: &str) -> Result<(), git2::Error> {
        let sig = git2::Signature::now("t", "t@example.invalid")?;
        let tree = repo.find_tree(repo.treebuilder(None)?.write()?)?;
        let parent = repo
            .find_reference("refs/heads/main")
            .ok()
            .and_then(|r| r.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(
            Some("refs/heads/main"),
            &sig,
            &sig,
            message,
            &tree,
            &parents,
        )?;
        Ok(())
    }

    /// Waits (bounded) for `watch`'s next event.
    async fn next_event(watch: &mut RepoWatch) -> bool {
        // A deadline for the event, not a sleep: it normally arrives within milliseconds.
        tokio::time::timeout(Duration::from_secs(30), watch.changed())
            .await
            .is_ok_and(|e| e.is_some())
    }

    #[tokio::test]
    async fn one_repository_watch_wakes_every_env_task_on_a_commit()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let repo = git2::Repository::init(dir.path())?;
        commit(&repo, "first")?;
        let Some((_watcher, changes)) = watch_repo(&dir.path().display().to_string()) else {
            return Err("a local repository was not watched".into());
        };
        let (mut dev, mut prod) = (RepoWatch::new(changes.clone()), RepoWatch::new(changes));
        commit(&repo, "second")?;
        assert!(next_event(&mut dev).await, "dev's task saw no event");
        assert!(next_event(&mut prod).await, "prod's task saw no event");
        Ok(())
    }

    /// A linked worktree's `.git` is a file naming `.git/worktrees/NAME`, and the branches live
    /// in the main repository's `.git` (the common dir): that is what is watched.
    #[tokio::test]
    async fn a_commit_seen_from_a_linked_worktree_is_watched_not_polled()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let main = dir.path().join("main");
        let repo = git2::Repository::init(&main)?;
        commit(&repo, "first")?;
        repo.set_head("refs/heads/main")?;
        let linked = dir.path().join("linked");
        repo.worktree("linked", &linked, None)?;
        assert!(linked.join(".git").is_file(), "not a linked worktree");
        let Some((_watcher, changes)) = watch_repo(&linked.display().to_string()) else {
            return Err("the linked worktree's repository was not watched".into());
        };
        let mut dev = RepoWatch::new(changes);
        commit(&repo, "second")?;
        assert!(
            next_event(&mut dev).await,
            "no event after a commit to main"
        );
        Ok(())
    }
}
