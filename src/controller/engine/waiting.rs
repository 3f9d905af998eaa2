//! Commands held back until the env is known: a command that reaches an env task before its
//! first state read and Git head would be judged against nothing (refused as not loaded, or
//! compared with no head), so it waits for both, or for [`READY_WAIT`], after which the engine
//! refuses what it cannot do. Pure: the env task passes the time in.
//!
//! Imports only std. Generic over the command, so the tests need no real one.

use std::time::{Duration, Instant};

/// How long a command waits for the env's first state read and Git observation.
pub const READY_WAIT: Duration = Duration::from_secs(15);

/// Commands waiting for the env to be known, oldest first.
pub struct Waiting<C> {
    commands: Vec<(Instant, C)>,
}

impl<C> Default for Waiting<C> {
    fn default() -> Self {
        Self {
            commands: Vec::new(),
        }
    }
}

impl<C> Waiting<C> {
    pub fn push(&mut self, now: Instant, command: C) {
        self.commands.push((now, command));
    }

    /// All waiting commands, in arrival order, once the env is `ready` (state read and a head
    /// seen) or the oldest has waited [`READY_WAIT`]; none otherwise.
    pub fn release(&mut self, now: Instant, ready: bool) -> Vec<C> {
        let expired = self
            .commands
            .first()
            .is_some_and(|(t, _)| now.duration_since(*t) >= READY_WAIT);
        if !(ready || expired) {
            return Vec::new();
        }
        std::mem::take(&mut self.commands)
            .into_iter()
            .map(|(_, c)| c)
            .collect()
    }
}
