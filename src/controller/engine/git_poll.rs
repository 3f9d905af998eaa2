//! The Git side's gate: when the env task polls its repository, whether a poll fetches from
//! the remote, and what Git error is shown. Pure: the env task passes the time in and runs the
//! poll it gets back.
//!
//! Imports only std, jiff and `crate::model`.
//!
//! Decisions:
//! - One poll in flight; none while a new head is held back for its state read (the held head
//!   would be overtaken). A watched repository's event that finds the poll refused is kept by
//!   the driver (`RepoWatch::again`) and polled on the next tick.
//! - A poll fetches when forced (start, `Refresh`) or when the last fetch is `poll_interval`
//!   old; in between it only reads the local refs (cheap, and a commit another env task made
//!   in the shared mirror shows at once).
//! - A good poll clears the shown error, except that only a fetching poll clears a fetch's
//!   error: the local reads in between cannot tell whether the remote is back.
//! - A failed poll keeps showing the last good revision, and says which and since when.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::model::short_sha;

/// What the poll in flight is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitPhase {
    Idle,
    Polling,
}

/// Where the shown Git error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorFrom {
    Fetch,
    LocalRead,
}

/// The Git side's gate (module docs).
pub struct GitPoll {
    phase: GitPhase,
    /// A head has reached the engine (commands wait for it).
    seen: bool,
    error: Option<(ErrorFrom, String)>,
    /// When Git last answered (the age of the data shown while it fails).
    ok_at: Option<Timestamp>,
    last_fetch: Option<Instant>,
}

impl Default for GitPoll {
    fn default() -> Self {
        Self {
            phase: GitPhase::Idle,
            seen: false,
            error: None,
            ok_at: None,
            last_fetch: None,
        }
    }
}

impl GitPoll {
    pub fn phase(&self) -> GitPhase {
        self.phase
    }

    /// A head has reached the engine.
    pub fn seen(&self) -> bool {
        self.seen
    }

    pub fn mark_seen(&mut self) {
        self.seen = true;
    }

    /// The error shown for Git, if its last answer was one.
    pub fn error(&self) -> Option<&str> {
        self.error.as_ref().map(|(_, e)| e.as_str())
    }

    /// Starts a poll unless one is in flight or a head is held back (`head_held`); `Some`
    /// tells whether it fetches.
    pub fn start(
        &mut self,
        now: Instant,
        force: bool,
        poll_interval: Duration,
        head_held: bool,
    ) -> Option<bool> {
        if self.phase == GitPhase::Polling || head_held {
            return None;
        }
        self.phase = GitPhase::Polling;
        let fetch = force
            || self
                .last_fetch
                .is_none_or(|t| now.duration_since(t) >= poll_interval);
        if fetch {
            self.last_fetch = Some(now);
        }
        Some(fetch)
    }

    /// A poll ended; `fetched`: it fetched. `shown`: the head shown now, named in a failure.
    pub fn ended(
        &mut self,
        at: Timestamp,
        fetched: bool,
        result: Result<(), &str>,
        shown: Option<&str>,
    ) {
        self.phase = GitPhase::Idle;
        match result {
            Ok(()) => {
                let fetch_error = matches!(self.error, Some((ErrorFrom::Fetch, _)));
                if fetched || !fetch_error {
                    self.error = None;
                    self.ok_at = Some(at);
                }
            }
            Err(error) => {
                let from = if fetched {
                    ErrorFrom::Fetch
                } else {
                    ErrorFrom::LocalRead
                };
                let text = match (shown, self.ok_at) {
                    (Some(sha), Some(ok_at)) => format!(
                        "{error} (showing the last good revision {}, read at {})",
                        short_sha(sha),
                        ok_at.strftime("%H:%M:%S UTC")
                    ),
                    _ => error.to_owned(),
                };
                self.error = Some((from, text));
            }
        }
    }
}
