//! The env task's Git side when the repository is local: its refs are watched
//! ([`crate::source::RefWatcher`]) instead of re-read on every `GIT_POLL` tick (300 ms). A
//! watcher event polls at once; a tick polls only when an event arrived while a poll was busy
//! or pending, or when the last poll is older than the repo's `poll_interval` (the safety net
//! for file systems that deliver no events, e.g. a repository on NFS).
//!
//! Remote repositories keep the per-tick read of their local mirror (cheap, and how a commit
//! another env task made in the shared mirror — a promotion — is seen at once); they are fetched
//! every `poll_interval` as before. When watching cannot start, the tick polls as before and
//! the reason is logged once.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::source::{Location, RefWatcher};

/// One env task's watch of a local repository's refs.
pub(in super::super) struct RepoWatch {
    _watcher: RefWatcher,
    events: mpsc::UnboundedReceiver<()>,
    /// An event arrived while a poll could not start: poll on the next tick.
    pub again: bool,
    pub last_poll: Option<Instant>,
}

impl RepoWatch {
    /// Watches `url` when it is a local repository; `None` (poll every tick) otherwise or when
    /// watching cannot start.
    pub fn start(url: &str) -> Option<Self> {
        let Location::Local(path) = Location::parse(url) else {
            return None;
        };
        let git_dir = git_dir(path);
        let (tx, events) = mpsc::unbounded_channel();
        match RefWatcher::start(&git_dir, move || {
            let _ = tx.send(());
        }) {
            Ok(watcher) => Some(Self {
                _watcher: watcher,
                events,
                again: false,
                last_poll: None,
            }),
            Err(e) => {
                tracing::warn!("{e}; polling the repository every 300 ms instead");
                None
            }
        }
    }

    /// The next event; all queued ones are taken at once (a commit writes several files).
    pub async fn changed(&mut self) -> Option<()> {
        self.events.recv().await?;
        while self.events.try_recv().is_ok() {}
        Some(())
    }

    /// Whether a tick should poll: a missed event, or the safety interval.
    pub fn tick_polls(&self, poll_interval: Duration) -> bool {
        self.again || self.last_poll.is_none_or(|t| t.elapsed() >= poll_interval)
    }
}

/// `.git` of a work tree, else the folder itself (a bare repository).
fn git_dir(path: PathBuf) -> PathBuf {
    let dot_git = path.join(".git");
    if dot_git.is_dir() { dot_git } else { path }
}

/// For the env task's `select!`: the next watcher event, or never when not watching.
pub(super) async fn changed(watch: &mut Option<RepoWatch>) -> Option<()> {
    match watch {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}
