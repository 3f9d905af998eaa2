//! The controller's sans-IO reconcile engine (atuin-ai's `fsm/` shape): one [`Engine`] per
//! environment, `handle(Event) -> Vec<Effect>`. The async driver executes the effects (git2,
//! kube, the ConfigMap and Lease, the audit log) and feeds their results back as events.
//!
//! Imports only `crate::model` (plus std, serde, jiff). No tokio, no IO, no clock reads: every
//! event carries its time, so the engine is deterministic and tested by feeding events.
//!
//! The env task's IO gates are here too, pure in the same way: [`StateIo`] (one ConfigMap read
//! or write in flight, 409 and watch re-reads, a new head held back for a fresh state read),
//! [`GitPoll`] (one poll, when it fetches, which error shows), [`LiveGate`] (when live is
//! observed, listed or confirmed without a request) and [`Waiting`] (commands held until the
//! env is known). They take `std::time::Instant`s passed in (monotonic clocks for waits and
//! resyncs, never shown); `driver/env.rs` only runs the steps they return.
//!
//! Decisions the design left open, made here:
//! - One operation at a time; a Sync/Rollback arriving during one is refused, not queued
//!   (except Rollback superseding a validation or backoff wait — see `command.rs`).
//! - Mutating commands are refused until cluster-held state has been read once: writing a
//!   state built from nothing would erase other consoles' history.
//! - Manual operations need no Lease (the CLI runs beside a console that holds it);
//!   automation runs only in the Lease holder. A `Running` history entry of another
//!   live console makes the env busy for everyone.
//! - `synced_revision` is what last *applied*; `last_good` what applied *and* validated.
//! - Automation never applies a revision in `HeldState::rejected`: one whose operation failed
//!   (until a new commit or a manual sync of it) and the bad revision of a rollback — also by
//!   render digest, so re-committing the bad render does not bring it back after the hold.
//! - A hold blocks all automation; it ends on Resume or when Git's head renders to the held
//!   render's digest. A manual Sync while held is allowed, warns that the hold stays and does
//!   not end it — except a (forced) sync of the hold's bad revision, which ends it.
//! - A rollback's hold is set when the rollback starts (before its apply), so no console's
//!   auto-sync can race it; a rollback that then fails applying keeps the hold.
//!
//! Hold and rollback semantics (ARCHITECTURE "Rollback", "Every entry point, one policy"):
//! - Guards live in `policy.rs`: protected envs need the typed name for sync, rollback and
//!   resume (promote-into in `promotion.rs`); a manual sync of a revision automation skips (a
//!   rollback's bad revision, a failed one) needs `force`. An unmet guard is
//!   `FailureReason::NeedsConfirmation`, whose text says what would have happened.
//! - The rollback target is always older than the bad revision: by default the last revision
//!   that validated before the bad one was first deployed (cluster-held history order), never
//!   one deployed after it.
//! - `rollback --revert` commits the revert *first* (`Effect::Revert`, phase Committing) and
//!   applies the target only once the commit is made; a revert that cannot be made (not a
//!   first-parent ancestor, a later change to the same path, a dirty checkout) fails the
//!   rollback with nothing applied, and the hold set at its start is removed.
//! - A hold, a pause and a head automation skips are each shown, with how they end, in
//!   `EnvView::automation` (`HeldState::automation_note`), one line that the console, `status`
//!   and the watch tiles read, e.g. "auto-sync skips a7c3f1e until a new commit or `driftdeck
//!   sync dev --revision a7c3f1e --force`".
//! - Validation failure of a Rollback/AutoRollback never triggers another rollback.
//!
//! - A failed operation bans its revision from automation (a new commit or a manual sync
//!   lifts it) — except one whose transient retries ran out: a revision is never skipped for
//!   a flaky cluster, automation tries it again after a backoff (5 s doubling up to 3 min).
//!   Identical failures in a row are recorded once, with a count (see `operation.rs`).
//! - After an apply, self-heal waits for the next live observation: the one before the apply
//!   finished still shows the drift the apply removed.
//! - A `Running` entry is reaped as `Interrupted` when no console holds the Lease, when its
//!   console was seen holding the Lease and no longer does, or when it is older than
//!   `validation_timeout` + [`ORPHAN_GRACE`] and its console does not hold the Lease.
//!
//! Driver duties: resolve a `Sync`/`Rollback` revision to a full sha before sending the
//! command; render fully before applying (a render error is `Applied(Err(Render, not
//! transient))`); answer `WriteState` with `StateWritten` and a 409 by re-reading the ConfigMap
//! into `ClusterStateLoaded`; honour `WakeAt` with `Tick`; fan out `EnvTarget::All`; report
//! the Lease as read *before* trying to acquire it (an expired holder as `None`); call
//! [`Engine::view`] after each `handle` and publish it into the Snapshot.

mod command;
mod event;
mod gate;
mod git_poll;
mod held;
mod live_gate;
mod operation;
mod policy;
mod promotion;
mod reconciler;
mod state_io;
mod view;
mod waiting;

pub use event::{ApplyFailure, ApplyReport, CommitReport, Effect, Event, OpId, RenderSummary};
pub use git_poll::GitPoll;
pub use held::{HISTORY_LIMIT, HeldState, REJECTED_LIMIT, Rejected};
pub use live_gate::{
    LIVE_GRACE, LiveGate, LivePhase, LiveResult, LiveStart, LiveTick, SERVER_SILENCE,
};
pub use operation::empty_render_reason;
pub use policy::{
    Guarded, ORPHAN_GRACE, Policy, RETRY_BASE, RETRY_LIMIT, RETRY_MAX, SELF_HEAL_INTERVAL,
    confirmation, fan_out_confirmation, promotion_route, retry_delay,
};
pub use promotion::{ImageChange, promotion_check, promotion_message};
pub use reconciler::Engine;
pub use state_io::{IoPhase, STATE_GATE, STATE_POLL, STATE_RESYNC, StateIo, StateStep};
pub use view::EnvView;
pub use waiting::{READY_WAIT, Waiting};

#[cfg(test)]
mod tests;
