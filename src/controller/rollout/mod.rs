//! Progressive rollouts across regions (config `rollouts:`): a sequence of waves, each a guarded
//! promotion of FROM's image versions into the wave's envs, synced, validated and soaked.
//!
//! This module owns the rollout's cluster-held record ([`state`]) and the soak's pure judgement
//! ([`soak`]). The process that drives a rollout is the CLI verb `driftdeck rollout start|resume`
//! running in the foreground (`cli::rollout`): it runs the one controller in-process for the
//! rollout's envs, sends it the same `Command::Promote` and `Command::Sync` the `promote` and
//! `sync` verbs send (so the engine's policy — protected envs, `promote_from`, read-only, FROM
//! Synced+Healthy — applies unchanged), prints a progress line per step and writes the record
//! after each one. The console and `rollout status` only read the record.
//!
//! Restart semantics: the record says which wave is in progress and in which step. A driver
//! killed mid-rollout and started again (`rollout start NAME` or `rollout resume NAME`) skips
//! every `done` wave, and for the wave in progress repeats only what cannot have finished: a
//! promotion whose commit already exists finds nothing to promote and is skipped; a sync of the
//! recorded revision is a no-op apply; a soak starts its clock again (the time the driver was
//! dead was not observed, so it cannot count as healthy time).
//!
//! May import model, config, cluster. Must not import tui.

pub mod row;
pub mod soak;
pub mod state;

pub use row::{base_row, row_of};
pub use soak::{Verdict, judge};
pub use state::{Halt, Phase, RolloutState, RolloutStore, WaveRecord, WaveState, object_name};
