//! The controller: the reconcile loop, and the only module that composes the leaf modules
//! (config, source, render, diff, health, cluster). It holds the pipeline's first stage — what
//! Git wants for an env at a revision ([`desired`]) — and the per-env decision engine
//! ([`engine`], pure, sans-IO) and the async [`driver`] that executes the engine's effects and
//! is the only writer of the `Snapshot`.
//!
//! Sync removes what the diff reports: before applying an object that exists, the sync takes
//! over the fields other Apply/Update managers hold on it ([`takeover`], as Flux does for
//! `kubectl-client-side-apply` and `before-first-apply`), so the forced apply that follows
//! drops every field Git does not set and the server re-defaults what it defaults. The diff
//! predicts exactly that: one stamping function ([`stamping::outgoing`]) builds the object for
//! both the observation's dry-run and the sync's apply, and `diff`'s foreign-field rule uses the
//! same takeover predicate. A hand edit therefore costs self-heal one operation, never a loop.
//!
//! May import model, config, source, render, diff, health, cluster. Must not import tui. The
//! engine half imports only `model`.

mod apply;
pub mod audit;
mod desired;
pub mod dora;
pub mod driver;
pub mod engine;
pub mod external;
pub mod held_io;
mod key_defaults;
mod limits;
pub mod metrics;
pub mod notify;
mod observe;
mod predictions;
mod preflight;
pub mod promote;
pub mod rollout;
pub mod stamping;
mod status;
pub mod takeover;

pub use apply::{Applied, ApplyError, apply_env, apply_order, kind_rank, retry_transient, stamp};
pub use desired::{
    Desired, DesiredError, GitFs, cache_dir, desired, env_path, open_source, renderer_for,
};
pub use driver::{DriverOptions, operator, poll_period};
pub use key_defaults::{defaulted as with_list_key_defaults, set_list_key_defaults};
pub use limits::{MAX_DATA_BYTES, MAX_OBJECT_BYTES, oversize};
pub use observe::{
    ENV_ANNOTATION, LiveSet, LiveSource, MANAGED_BY_LABEL, MANAGED_BY_VALUE, REVISION_ANNOTATION,
    assess, base_state, diff_options, list_live, live_from_cache, observe, predict, read_live,
    watch_specs,
};
pub use predictions::{PREDICTION_TTL, PredictionCache};
pub use preflight::crd_scope;
pub use status::{Observed, observe_all, observe_one};
