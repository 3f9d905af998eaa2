//! `driftdeck diff ENV [--revision R]`: what a sync of ENV (at R, default the branch head)
//! would change, as unified diffs of live → desired. Exit 0 no drift, 1 drift, 2 error.
//! Colour only on a terminal and never with `NO_COLOR`; Secret values are masked by `diff`.

use std::io::{IsTerminal, Write};

use super::{CmdResult, DiffArgs, Failure, GlobalArgs, load_config};
use crate::controller;
use crate::model::{Drift, DriftKind};

pub fn run(global: &GlobalArgs, args: DiffArgs) -> CmdResult {
    let config = load_config(global)?;
    let env = config
        .env(&args.env)
        .ok_or_else(|| Failure::Setup(super::unknown_env(&config, &args.env)))?;
    let observed = super::runtime()?.block_on(controller::observe_one(
        &config,
        env,
        args.revision.as_deref(),
    ));
    // An engine env's error may be the engine's own report (Flux failing a health check): its
    // drift is still shown when it was observed; only an unobserved env is a setup error.
    if let Some(e) = &observed.state.error
        && observed.state.observation_failed()
    {
        return Err(Failure::Setup(format!("{}: {e}", env.name)));
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut out = std::io::stdout().lock();
    // Who would prune an extra object: driftdeck, or the engine that manages the env.
    let manager = env.engine.name().display_name();
    for d in &observed.state.drift {
        write_drift(&mut out, d, color, manager).map_err(Failure::stdout)?;
    }
    if observed.state.drift.is_empty() {
        Ok(())
    } else {
        Err(Failure::Action(None))
    }
}

fn write_drift(out: &mut impl Write, d: &Drift, color: bool, manager: &str) -> std::io::Result<()> {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    let head = match d.kind {
        DriftKind::Missing => "missing (in Git, not in the cluster)".to_owned(),
        DriftKind::Extra => {
            format!("extra (managed by {manager}, no longer in Git: prune candidate)")
        }
        DriftKind::Modified => format!("modified: {}", d.paths.join(", ")),
    };
    writeln!(out, "{} {}", paint("1", &d.key.to_string()), head)?;
    for line in d.diff.lines() {
        let styled = if line.starts_with("+++") || line.starts_with("---") {
            paint("1", line)
        } else if line.starts_with('+') {
            paint("32", line)
        } else if line.starts_with('-') {
            paint("31", line)
        } else if line.starts_with("@@") {
            paint("36", line)
        } else {
            line.to_owned()
        };
        writeln!(out, "{styled}")?;
    }
    writeln!(out)
}
