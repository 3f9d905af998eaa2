//! The live side's gate: when the env task observes live, whether an observation lists or
//! reads the watch stores, whether a quiet tick confirms the last observation without a
//! request, and which results are taken. Pure: the env task passes the time and what it knows
//! of its watches in, and runs the observation it gets back.
//!
//! Imports only std and `crate::model`.
//!
//! Decisions:
//! - One observation in flight. A change (a watch event, a new head, an apply) during one
//!   marks it dirty: its result is still taken (newer than the last) and live is looked at
//!   again. A new head or an apply also bumps the generation: a result of an older generation
//!   compared live with a stale render and is dropped.
//! - No observation while an apply is out (`Engine::applying`): it would show the half-applied
//!   objects as drift; the apply's result observes again.
//! - An observation lists instead of reading the watches when it never listed, when the last
//!   list is `live_resync` old, and for [`LIST_AFTER_APPLY`] after this task's own apply (a
//!   store may not hold the apply yet: the objects just applied would show as drift, which
//!   self-heal would then "repair"). Reading the watches waits while a new watch is in its
//!   first list (its first list is the same request; the driver bounds the wait).
//! - A quiet tick (no observation in flight, nothing changed, every watch listed and healthy)
//!   confirms the last observation as of now, if it was made at the current generation, no
//!   resync is due and the API server answered something within [`SERVER_SILENCE`]; otherwise
//!   the tick observes. A frozen API server (seen on the real tier: a stopped kube-apiserver)
//!   keeps its watch connections open without an error, so silence alone once confirmed stale
//!   data as fresh for minutes; without answers the observation lists instead of reading the
//!   watches, and that list fails.
//! - A failed observation within [`LIVE_GRACE`] of the last good one goes unreported: a flaky
//!   API server must not stall automation.

use std::time::{Duration, Instant};

use crate::model::{DriftCount, Health};

/// Failed live observations are reported only once the last good one is this old.
pub const LIVE_GRACE: Duration = Duration::from_secs(30);

/// A quiet watch proves live unchanged only while its API server answers: past this long
/// without any answer (the env task reads its Lease every 5 s) the last observation is no
/// longer confirmed and live is listed, which fails on a frozen server and turns the env stale.
pub const SERVER_SILENCE: Duration = Duration::from_secs(10);

/// For this long after this task's own apply, observations list instead of reading the
/// watches (module docs).
pub const LIST_AFTER_APPLY: Duration = Duration::from_secs(5);

/// Whether an observation is in flight, and whether live changed since it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LivePhase {
    Idle,
    /// Idle, but live changed since the last observation began: look again.
    Dirty,
    Observing,
    /// In flight, and live changed since it began.
    ObservingDirty,
}

/// What the env task does to observe live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveStart {
    /// Nothing now (in flight, an apply out, no head, or a new watch still listing).
    Wait,
    /// No cluster yet: connect first.
    Connect,
    /// Observe at `generation`; `from_watches`: read the watch stores, else list.
    Observe { generation: u64, from_watches: bool },
}

/// What a quiet tick does.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveTick {
    /// The last observation still holds: report it as of now, no request.
    Confirm {
        drift: DriftCount,
        health: Health,
    },
    Observe,
}

/// What to do with an observation's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveResult {
    /// Made at an older generation: drop it and observe again.
    Drop,
    /// Take it; `again`: live changed meanwhile, observe again too.
    Take { again: bool },
}

/// A good observation's summary, when it was taken, and the generation it was made at.
struct Last {
    at: Instant,
    generation: u64,
    drift: DriftCount,
    health: Health,
}

/// The live side's gate (module docs).
pub struct LiveGate {
    phase: LivePhase,
    generation: u64,
    /// When live was last listed rather than read from the watches (the resync clock).
    listed_at: Option<Instant>,
    /// When this task's last apply ended.
    applied_at: Option<Instant>,
    last: Option<Last>,
}

impl Default for LiveGate {
    fn default() -> Self {
        Self {
            phase: LivePhase::Idle,
            generation: 0,
            listed_at: None,
            applied_at: None,
            last: None,
        }
    }
}

impl LiveGate {
    pub fn phase(&self) -> LivePhase {
        self.phase
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A watched object changed.
    pub fn changed(&mut self) {
        self.phase = match self.phase {
            LivePhase::Idle | LivePhase::Dirty => LivePhase::Dirty,
            LivePhase::Observing | LivePhase::ObservingDirty => LivePhase::ObservingDirty,
        };
    }

    /// A new head reached the engine: results in flight compare against the old render.
    pub fn head_moved(&mut self) {
        self.generation += 1;
    }

    /// This task's apply ended: results in flight are stale, and lists follow for a while.
    pub fn applied(&mut self, now: Instant) {
        self.applied_at = Some(now);
        self.generation += 1;
    }

    /// Whether the next observation lists: never listed, the last list `live_resync` old, or
    /// within [`LIST_AFTER_APPLY`] of this task's apply.
    pub fn resync_due(&self, now: Instant, live_resync: Duration) -> bool {
        self.listed_at
            .is_none_or(|t| now.duration_since(t) >= live_resync)
            || self
                .applied_at
                .is_some_and(|t| now.duration_since(t) < LIST_AFTER_APPLY)
    }

    /// Whether to observe now. `applying`: an apply is out; `connected`, `head`: a cluster and
    /// a render to compare with; `answering`: the API server answered within
    /// [`SERVER_SILENCE`] (else the watches' silence proves nothing and the observation lists);
    /// `watches_starting` is asked only when the observation would read the watches.
    pub fn start(
        &mut self,
        now: Instant,
        live_resync: Duration,
        (applying, connected, head, answering): (bool, bool, bool, bool),
        watches_starting: impl FnOnce() -> bool,
    ) -> LiveStart {
        if matches!(self.phase, LivePhase::Observing | LivePhase::ObservingDirty) {
            return LiveStart::Wait;
        }
        if applying {
            // Observed once the apply's result is in.
            self.phase = LivePhase::Dirty;
            return LiveStart::Wait;
        }
        if !connected {
            return LiveStart::Connect;
        }
        if !head {
            return LiveStart::Wait;
        }
        let from_watches = answering && !self.resync_due(now, live_resync);
        if from_watches && watches_starting() {
            return LiveStart::Wait;
        }
        self.phase = LivePhase::Observing;
        LiveStart::Observe {
            generation: self.generation,
            from_watches,
        }
    }

    /// The live tick. `watches_quiet`: every watch listed and without error; `answering`: the
    /// API server answered within [`SERVER_SILENCE`].
    pub fn tick(
        &self,
        now: Instant,
        live_resync: Duration,
        watches_quiet: bool,
        answering: bool,
    ) -> LiveTick {
        let quiet = self.phase == LivePhase::Idle && watches_quiet && answering;
        match &self.last {
            Some(last)
                if quiet
                    && last.generation == self.generation
                    && !self.resync_due(now, live_resync) =>
            {
                LiveTick::Confirm {
                    drift: last.drift,
                    health: last.health.clone(),
                }
            }
            _ => LiveTick::Observe,
        }
    }

    /// An observation made at `generation` ended; `listed`: it listed (and succeeded), which
    /// restarts the resync clock.
    pub fn ended(&mut self, now: Instant, generation: u64, listed: bool) -> LiveResult {
        let dirty = self.phase == LivePhase::ObservingDirty;
        // A change during the observation still asks for another, should it not start now.
        self.phase = if dirty {
            LivePhase::Dirty
        } else {
            LivePhase::Idle
        };
        if listed {
            self.listed_at = Some(now);
        }
        if generation != self.generation {
            return LiveResult::Drop;
        }
        LiveResult::Take { again: dirty }
    }

    /// A taken result was good: what a quiet tick confirms from now on.
    pub fn observed(&mut self, now: Instant, generation: u64, drift: DriftCount, health: Health) {
        self.last = Some(Last {
            at: now,
            generation,
            drift,
            health,
        });
    }

    /// A taken result failed: whether to report it (the last good one is [`LIVE_GRACE`] old,
    /// or there is none).
    pub fn failure_shown(&self, now: Instant) -> bool {
        self.last
            .as_ref()
            .is_none_or(|l| now.duration_since(l.at) >= LIVE_GRACE)
    }
}
