//! `driftdeck sync ENV --dry-run`: the diff the sync would apply (live → the env's render at the
//! revision), printed like `driftdeck diff`, with nothing changed and exit 0 either way. Also
//! the printer `promote` uses for its preview.

use std::io::Write;

use super::{CmdResult, Failure};
use crate::config::Config;
use crate::controller;
use crate::model::{Drift, DriftKind};

pub fn run(config: &Config, env: &str, revision: Option<&str>) -> CmdResult {
    let env = config
        .env(env)
        .ok_or_else(|| Failure::Setup(super::unknown_env(config, env)))?;
    let observed = super::runtime()?.block_on(controller::observe_one(config, env, revision));
    if let Some(e) = &observed.state.error {
        return Err(Failure::Setup(format!("{}: {e}", env.name)));
    }
    print_drift(&observed.state.drift)?;
    if observed.state.drift.is_empty() {
        eprintln!("{}: in sync; a sync would change nothing", env.name);
    } else {
        eprintln!(
            "dry run: {} resources would change in {}; nothing applied",
            observed.state.drift.len(),
            env.name
        );
    }
    Ok(())
}

/// Unified diffs, one block per drifted resource, on stdout (no colour: scripts read this).
pub(super) fn print_drift(drift: &[Drift]) -> CmdResult {
    let mut out = std::io::stdout().lock();
    let mut write = || -> std::io::Result<()> {
        for d in drift {
            let head = match d.kind {
                DriftKind::Missing => "missing (in Git, not in the cluster)".to_owned(),
                DriftKind::Extra => {
                    "extra (managed by driftdeck, no longer in Git: prune candidate)".to_owned()
                }
                DriftKind::Modified => format!("modified: {}", d.paths.join(", ")),
            };
            writeln!(out, "{} {head}", d.key)?;
            writeln!(out, "{}", d.diff.trim_end())?;
            writeln!(out)?;
        }
        Ok(())
    };
    write().map_err(Failure::stdout)
}
