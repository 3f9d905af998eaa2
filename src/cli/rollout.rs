//! `driftdeck rollout start|status|stop|resume NAME`: progressive rollouts (config `rollouts:`).
//!
//! `start` and `resume` (entry points in `rollout_verbs`) drive the rollout in the foreground
//! (`rollout_drive`): this process is the driver, printing a progress line per step on stderr,
//! until the rollout is done (exit 0), halted or stopped (exit 1). Its record lives in the cluster (`controller::rollout::state`), so
//! a driver killed at any point is continued by `rollout start NAME --yes` or `rollout resume
//! NAME` from any machine. `status` and `stop` only read/write that record and pause envs.
//!
//! Decisions where the design is silent:
//! - `start` without `--yes` prints the plan (waves, FROM's versions) and changes nothing, as
//!   `promote` does. A record that is `running` (its driver died) is continued by `start --yes`;
//!   a `halted` or `stopped` one is refused with a pointer to `resume`, which un-pauses the
//!   rollout's envs first and takes FROM's *current* versions (the record pins FROM's versions
//!   at start; FROM changing under a running rollout halts it); a `done` one is started afresh.
//! - Protected envs of the rollout need `--confirm ENV` each, checked for every wave before
//!   anything happens (the engine's `fan_out_confirmation`, the same text `resume --all` gives),
//!   and every promotion must follow the env's `promote_from` (no override). `--force` only
//!   lets FROM be promoted while it is not Synced+Healthy, exactly as `promote --force` (the
//!   engine records it in the audit log and the commit's `Driftdeck-Forced:` trailer).
//! - `stop` pauses every env of the rollout even when the rollout was never started or is done:
//!   it is an emergency stop, and refusing it on a technicality would be worse.
//! - Every start, continue, resume, stop, halt and finish is one line in the audit log (action
//!   `rollout <verb>`), besides the lines the controller writes for each promotion, sync and pause.

use std::time::Duration;

use clap::{Args, Subcommand};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::{CmdResult, Failure, GlobalArgs, OutputFormat};
use crate::config::{Config, RolloutConfig};
use crate::controller::audit::{AuditLog, AuditRecord};
use crate::controller::engine::{Guarded, fan_out_confirmation, promotion_route};
use crate::controller::rollout::{Phase, RolloutState, RolloutStore, WaveState};
use crate::model::short_sha;

#[derive(Debug, Args)]
pub struct RolloutArgs {
    #[command(subcommand)]
    pub action: RolloutAction,
}

#[derive(Debug, Subcommand)]
pub enum RolloutAction {
    /// Drive a rollout in the foreground: wave by wave, promote, sync, validate, soak.
    Start(DriveArgs),
    /// Where a rollout is: each wave's state, time left in the soak, why it halted.
    Status(StatusArgs),
    /// Emergency stop: pause every env of the rollout and mark it stopped.
    Stop(StopArgs),
    /// Un-pause a halted or stopped rollout's envs and drive it on from its wave.
    Resume(DriveArgs),
}

#[derive(Debug, Args)]
pub struct DriveArgs {
    /// Rollout name (config `rollouts:`).
    pub name: String,
    /// Act; without it `start` prints the plan and changes nothing.
    #[arg(long)]
    pub yes: bool,
    /// Type each protected env's name to confirm it (repeat for several).
    #[arg(long, value_name = "ENV")]
    pub confirm: Vec<String>,
    /// Promote even when FROM is not Synced and Healthy (as `promote --force`; recorded in the
    /// audit log and each commit). `promote_from` routes are still enforced.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Rollout name (config `rollouts:`).
    pub name: String,
    /// Output format: text for people, json for scripts.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Rollout name (config `rollouts:`).
    pub name: String,
    /// Why, recorded with the stop and with every env's pause.
    #[arg(long)]
    pub reason: String,
}

pub fn run(global: &GlobalArgs, args: RolloutArgs) -> CmdResult {
    let config = super::load_config(global)?;
    let name = match &args.action {
        RolloutAction::Start(a) | RolloutAction::Resume(a) => &a.name,
        RolloutAction::Status(a) => &a.name,
        RolloutAction::Stop(a) => &a.name,
    };
    let rollout = config
        .rollout(name)
        .cloned()
        .ok_or_else(|| Failure::Setup(unknown_rollout(&config, name)))?;
    let rt = super::runtime()?;
    rt.block_on(async {
        match args.action {
            RolloutAction::Status(a) => status(&config, &rollout, a.output).await,
            RolloutAction::Stop(a) => {
                read_only(global, "stop")?;
                super::rollout_verbs::stop(config, &rollout, &a.reason).await
            }
            RolloutAction::Start(a) => {
                read_only(global, "start")?;
                guards(&config, &rollout, &a.confirm)?;
                super::rollout_verbs::start(config, &rollout, a.yes, a.confirm, a.force).await
            }
            RolloutAction::Resume(a) => {
                read_only(global, "resume")?;
                guards(&config, &rollout, &a.confirm)?;
                super::rollout_verbs::resume(config, &rollout, a.confirm, a.force).await
            }
        }
    })
}

fn unknown_rollout(config: &Config, name: &str) -> String {
    let names: Vec<&str> = config.rollouts.iter().map(|r| r.name.as_str()).collect();
    let have = if names.is_empty() {
        "none configured".to_owned()
    } else {
        format!("configured: {}", names.join(", "))
    };
    format!(
        "{}: no rollout named {name:?} ({have})",
        config.file.display()
    )
}

fn read_only(global: &GlobalArgs, verb: &str) -> Result<(), Failure> {
    if global.read_only {
        return Err(Failure::Action(Some(format!(
            "read-only: rollout {verb} changes Git and cluster-held state; nothing was changed"
        ))));
    }
    Ok(())
}

/// Every guard of every wave, before anything happens: protected envs confirmed, every
/// promotion on its env's `promote_from` route.
fn guards(config: &Config, rollout: &RolloutConfig, confirm: &[String]) -> Result<(), Failure> {
    let mut envs = Vec::new();
    for name in rollout.envs() {
        let env = config
            .env(name)
            .ok_or_else(|| Failure::Setup(super::unknown_env(config, name)))?;
        promotion_route(&rollout.from, name, env.promote_from.as_deref(), false)
            .map_err(|r| Failure::Setup(r.to_string()))?;
        envs.push((name, env.protected));
    }
    // The policy decides; the refusal is worded for a rollout (the fan-out text reads "would
    // <verb> ENVS", which for a promotion is not English).
    fan_out_confirmation(&envs, Guarded::PromoteInto, confirm).map_err(|_| {
        let missing: Vec<String> = envs
            .iter()
            .filter(|(name, protected)| *protected && !confirm.iter().any(|c| c == name))
            .map(|(name, _)| format!("--confirm {name}"))
            .collect();
        Failure::Setup(format!(
            "rollout {}: needs confirmation: it promotes {} into protected envs; add {}; \
             nothing was changed",
            rollout.name,
            rollout.from,
            missing.join(" ")
        ))
    })
}

/// One audit line; a failed append is reported, never fatal (as the controller does).
pub(super) fn audit(operator: &str, action: &str, detail: &str) {
    let record = AuditRecord {
        at: Timestamp::now(),
        operator: operator.to_owned(),
        env: None,
        action: format!("rollout {action}"),
        detail: detail.to_owned(),
    };
    if let Err(e) = AuditLog::at(AuditLog::default_path()).append(&record) {
        eprintln!("driftdeck: audit log: {e}");
    }
}

/// The rollout's record, read from its cluster.
pub(super) async fn load(
    config: &Config,
    rollout: &RolloutConfig,
) -> Result<(RolloutStore, Option<RolloutState>), Failure> {
    let mut store = RolloutStore::connect(config, rollout)
        .await
        .map_err(Failure::setup)?;
    let state = store.load().await.map_err(Failure::setup)?;
    Ok((store, state))
}

async fn status(config: &Config, rollout: &RolloutConfig, output: OutputFormat) -> CmdResult {
    let (_, state) = load(config, rollout).await?;
    let now = Timestamp::now();
    match output {
        OutputFormat::Json => {
            let value = status_json(rollout, state.as_ref(), now);
            let text = serde_json::to_string_pretty(&value)
                .map_err(|e| Failure::Setup(format!("encoding status: {e}")))?;
            println!("{text}");
        }
        OutputFormat::Text => print!("{}", status_text(rollout, state.as_ref(), now)),
    }
    Ok(())
}

/// Seconds of soak left for a wave that is soaking.
pub(super) fn soak_left(soak: Duration, started: Option<Timestamp>, now: Timestamp) -> Option<u64> {
    let started = started?;
    let elapsed = now.duration_since(started).as_secs().max(0) as u64;
    Some(soak.as_secs().saturating_sub(elapsed))
}

/// `rollout status -o json`: one object; `phase` is `not_started` without a record.
pub fn status_json(rollout: &RolloutConfig, state: Option<&RolloutState>, now: Timestamp) -> Value {
    let Some(s) = state else {
        let waves: Vec<Value> = rollout
            .waves
            .iter()
            .enumerate()
            .map(|(i, envs)| json!({"wave": i + 1, "envs": envs, "state": "pending"}))
            .collect();
        return json!({
            "name": rollout.name, "from": rollout.from, "soak_secs": rollout.soak.as_secs(),
            "phase": "not_started", "wave": null, "waves": waves, "halt": null,
        });
    };
    let waves: Vec<Value> = s
        .waves
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let left = (w.state == WaveState::Soaking)
                .then(|| soak_left(rollout.soak, w.soak_started_at, now))
                .flatten();
            json!({
                "wave": i + 1, "envs": w.envs, "state": w.state.to_string(),
                "commits": w.commits, "revision": w.revision,
                "soak_started_at": w.soak_started_at, "soak_left_secs": left,
                "finished_at": w.finished_at,
            })
        })
        .collect();
    let wave = (s.phase != Phase::Done).then_some(s.wave + 1);
    json!({
        "name": s.name, "from": s.from, "soak_secs": rollout.soak.as_secs(),
        "phase": s.phase.to_string(), "wave": wave, "waves": waves, "halt": s.halt,
        "from_images": s.from_images, "started_by": s.started_by, "started_at": s.started_at,
        "updated_at": s.updated_at,
    })
}

fn status_text(rollout: &RolloutConfig, state: Option<&RolloutState>, now: Timestamp) -> String {
    let mut out = String::new();
    let head = |phase: &str| {
        format!(
            "rollout {} ({} → {} waves, soak {}s): {phase}\n",
            rollout.name,
            rollout.from,
            rollout.waves.len(),
            rollout.soak.as_secs()
        )
    };
    let Some(s) = state else {
        out.push_str(&head("not started"));
        for (i, envs) in rollout.waves.iter().enumerate() {
            out.push_str(&format!(
                "  wave {}  {:<32} pending\n",
                i + 1,
                envs.join(", ")
            ));
        }
        return out;
    };
    let phase = match s.phase {
        Phase::Done => "done".to_owned(),
        p => format!("{p}, wave {} of {}", s.wave + 1, s.waves.len()),
    };
    out.push_str(&head(&phase));
    for (i, w) in s.waves.iter().enumerate() {
        let mut line = format!(
            "  wave {}  {:<32} {:<9}",
            i + 1,
            w.envs.join(", "),
            w.state.to_string()
        );
        if let Some(rev) = &w.revision {
            line.push_str(&format!(" {}", short_sha(rev)));
        }
        if w.state == WaveState::Soaking
            && let Some(left) = soak_left(rollout.soak, w.soak_started_at, now)
        {
            line.push_str(&format!(" soak {left}s left"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if let Some(h) = &s.halt {
        let env = h
            .env
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} at wave {}{env}: {} — by {} at {}\n",
            if s.phase == Phase::Stopped {
                "stopped"
            } else {
                "halted"
            },
            h.wave,
            h.reason,
            h.by,
            h.at
        ));
    }
    out
}
