//! The cluster-held state IO gate: when the env task reads or writes its state ConfigMap, and
//! when a new Git head may reach the engine. Pure: the env task feeds what happened (with the
//! time, an [`Instant`]) and runs the [`StateStep`] it gets back; no IO here.
//!
//! Imports only std and sibling engine files. Generic over the head it holds back (`H`: the
//! driver's Git change, a plain name in the tests), so the gate never looks inside it.
//!
//! Decisions:
//! - One read or write in flight ([`StateIo::busy`]), so a write always carries the
//!   resourceVersion of the latest read or write and a 409 means another process wrote.
//! - A write asked for while IO is in flight is queued (the newest replaces an older one: the
//!   engine's write carries all its pending changes); it goes first once the IO ends.
//! - A 409 drops the queued write and re-reads: the engine lays its pending changes over the
//!   fresh state and asks for a write at the new version.
//! - A change the state watch reports (a resourceVersion other than the last one read or
//!   written) re-reads, after the IO in flight.
//! - A new head waits for a read that started after it was seen, so a pause or hold written
//!   just before the commit is known before automation considers the commit; at most
//!   [`STATE_GATE`], then it goes on without it. Before the first read (or without a cluster)
//!   a head goes through at once: there is nothing to wait for.
//! - The tick re-reads every [`STATE_POLL`] while the watch is unhealthy, and only every
//!   [`STATE_RESYNC`] while it is healthy (in case it stalls without an error); never with a
//!   write queued, which would be overtaken.

use std::time::{Duration, Instant};

use super::held::HeldState;

/// Cluster-held state is re-read this often while its watch is not healthy, to see other
/// consoles' pauses and holds: an emergency stop (`pause --all`) then shows in every console
/// within about a second. Each read is a ConfigMap GET per env.
pub const STATE_POLL: Duration = Duration::from_secs(1);
/// With the state ConfigMap's watch healthy, a change is read as soon as the watch reports it
/// (a pause shows in other consoles within a round trip), and the poll only re-reads this
/// often, in case a watch stalls without an error: the idle cost is one GET per env per
/// resync instead of one per second.
pub const STATE_RESYNC: Duration = Duration::from_secs(10);
/// A new head waits at most this long for its fresh state read.
pub const STATE_GATE: Duration = Duration::from_secs(3);

/// What the env task does next for the state ConfigMap or the held-back head.
#[derive(Debug, PartialEq)]
pub enum StateStep<H> {
    /// Read the ConfigMap; answer with [`StateIo::read_ended`].
    Read,
    /// Write `state` at `resource_version`; answer with [`StateIo::write_ended`].
    Write {
        seq: u64,
        state: Box<HeldState>,
        resource_version: Option<String>,
    },
    /// The held-back head may reach the engine now.
    Head(H),
}

/// What the ConfigMap IO is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoPhase {
    /// No cluster yet: nothing can be read or written.
    Offline,
    Idle,
    Reading,
    Writing,
}

/// Whether the state watch's last item was a change (not an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    Unhealthy,
    Healthy,
}

/// A new head held back for a fresh state read.
struct HeldHead<H> {
    since: Instant,
    head: H,
    read: FreshRead,
}

/// Whether the read a held head waits for has started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FreshRead {
    /// IO was in flight when the head came: a read must start after it.
    Wanted,
    /// The read started after the head was seen: its end releases the head.
    Started,
}

/// The state ConfigMap's IO gate (module docs).
pub struct StateIo<H> {
    phase: IoPhase,
    /// The write to start once the IO in flight ends.
    queued_write: Option<(u64, HeldState)>,
    /// The watch reported a change while IO was in flight: read once it ends.
    stale: bool,
    head: Option<HeldHead<H>>,
    watch: Watch,
    /// When the state was last read successfully; `None`: never (not loaded).
    read_at: Option<Instant>,
    resource_version: Option<String>,
}

impl<H> Default for StateIo<H> {
    fn default() -> Self {
        Self {
            phase: IoPhase::Offline,
            queued_write: None,
            stale: false,
            head: None,
            watch: Watch::Unhealthy,
            read_at: None,
            resource_version: None,
        }
    }
}

impl<H> StateIo<H> {
    pub fn phase(&self) -> IoPhase {
        self.phase
    }

    /// A read or write is in flight.
    pub fn busy(&self) -> bool {
        matches!(self.phase, IoPhase::Reading | IoPhase::Writing)
    }

    /// Cluster-held state has been read once (commands wait for it).
    pub fn loaded(&self) -> bool {
        self.read_at.is_some()
    }

    /// A new head is held back for its fresh read.
    pub fn head_held(&self) -> bool {
        self.head.is_some()
    }

    /// Shutdown waits for this: IO in flight or a write not yet sent.
    pub fn unflushed(&self) -> bool {
        self.busy() || self.queued_write.is_some()
    }

    /// The cluster is connected: IO may start. Returns the first read.
    pub fn connected(&mut self) -> Option<StateStep<H>> {
        if self.phase == IoPhase::Offline {
            self.phase = IoPhase::Idle;
        }
        self.read()
    }

    /// A read, unless IO is in flight (or there is no cluster).
    pub fn read(&mut self) -> Option<StateStep<H>> {
        if self.phase != IoPhase::Idle {
            return None;
        }
        self.phase = IoPhase::Reading;
        if let Some(head) = &mut self.head {
            head.read = FreshRead::Started;
        }
        Some(StateStep::Read)
    }

    /// The engine asked for `state` to be written: at once when idle, else queued.
    pub fn write(&mut self, seq: u64, state: HeldState) -> Option<StateStep<H>> {
        self.queued_write = Some((seq, state));
        self.start_queued_write()
    }

    /// `Effect::Refresh`: a read, unless a write is queued (the write goes first).
    pub fn refresh(&mut self) -> Option<StateStep<H>> {
        if self.queued_write.is_some() {
            return None;
        }
        self.read()
    }

    /// The state tick (every [`STATE_POLL`]): a read, except within [`STATE_RESYNC`] of the
    /// last one while the watch is healthy, or with a write queued.
    pub fn tick(&mut self, now: Instant) -> Option<StateStep<H>> {
        let recent = self.watch == Watch::Healthy
            && self
                .read_at
                .is_some_and(|t| now.duration_since(t) < STATE_RESYNC);
        if self.queued_write.is_some() || recent {
            return None;
        }
        self.read()
    }

    /// A read ended; `Ok` carries the resourceVersion read. Feed the engine, then call
    /// [`StateIo::after_io`].
    pub fn read_ended(&mut self, now: Instant, result: Result<Option<String>, ()>) {
        self.phase = IoPhase::Idle;
        if let Ok(rv) = result {
            self.read_at = Some(now);
            self.resource_version = rv;
        }
    }

    /// A write ended; `Ok` carries the new resourceVersion. Feed the engine, then call
    /// [`StateIo::after_write`].
    pub fn write_ended(&mut self, result: Result<String, ()>) {
        self.phase = IoPhase::Idle;
        if let Ok(rv) = result {
            self.resource_version = Some(rv);
        }
    }

    /// After a write's end was fed: a 409 (`conflict`) drops the queued write and re-reads,
    /// anything else goes on as [`StateIo::after_io`].
    pub fn after_write(&mut self, conflict: bool) -> Option<StateStep<H>> {
        if conflict {
            self.queued_write = None;
            return self.read();
        }
        self.after_io()
    }

    /// The state watch's item: `Ok` with the ConfigMap's resourceVersion after a change, or
    /// its error. A version other than the last one known re-reads (after the IO in flight).
    /// Returns whether an error ended a healthy watch (worth a log line) and the next step.
    pub fn watched(&mut self, item: Result<Option<String>, ()>) -> (bool, Option<StateStep<H>>) {
        match item {
            Ok(rv) => {
                self.watch = Watch::Healthy;
                if rv == self.resource_version {
                    return (false, None);
                }
                self.stale = true;
                (false, self.after_io())
            }
            Err(()) => {
                let was_healthy = self.watch == Watch::Healthy;
                self.watch = Watch::Unhealthy;
                (was_healthy, None)
            }
        }
    }

    /// The watch was (re)started: unhealthy until its first change.
    pub fn watch_restarted(&mut self) {
        self.watch = Watch::Unhealthy;
    }

    /// A new Git head. Once state is loaded it is held back for a read that starts after now
    /// (returned when IO is idle); before that it goes through at once.
    pub fn head_seen(&mut self, now: Instant, head: H) -> Option<StateStep<H>> {
        if !self.loaded() || self.phase == IoPhase::Offline {
            return Some(StateStep::Head(head));
        }
        self.head = Some(HeldHead {
            since: now,
            head,
            read: FreshRead::Wanted,
        });
        self.read()
    }

    /// The Git tick: the held head, once it has waited [`STATE_GATE`].
    pub fn gate_expired(&mut self, now: Instant) -> Option<H> {
        let expired = self
            .head
            .as_ref()
            .is_some_and(|h| now.duration_since(h.since) >= STATE_GATE);
        if expired {
            return self.head.take().map(|h| h.head);
        }
        None
    }

    /// After IO ended (and its result was fed): the queued write, else the re-read the watch
    /// asked for, else the read a new head waits for, else the head itself.
    pub fn after_io(&mut self) -> Option<StateStep<H>> {
        if self.phase != IoPhase::Idle {
            return None;
        }
        if self.queued_write.is_some() {
            return self.start_queued_write();
        }
        if self.stale {
            self.stale = false;
            return self.read();
        }
        match &self.head {
            Some(h) if h.read == FreshRead::Wanted => self.read(),
            Some(_) => self.head.take().map(|h| StateStep::Head(h.head)),
            None => None,
        }
    }

    fn start_queued_write(&mut self) -> Option<StateStep<H>> {
        if self.phase != IoPhase::Idle {
            return None;
        }
        let (seq, state) = self.queued_write.take()?;
        self.phase = IoPhase::Writing;
        Some(StateStep::Write {
            seq,
            state: Box::new(state),
            resource_version: self.resource_version.clone(),
        })
    }
}
