//! The rollout verbs' entry points (`start`, `resume`, `stop`) and their helpers: reading the
//! record, the up-front plan, pausing and resuming the rollout's envs. The wave-by-wave drive
//! itself is [`super::rollout_drive`]; the decisions are in `super::rollout`'s module docs.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use super::rollout::{audit, load};
use super::rollout_drive::Driver;
use super::verbs::{SHORT_WAIT, Session, progress};
use super::{CmdResult, Failure};
use crate::config::{Config, RolloutConfig};
use crate::controller::rollout::{Halt, Phase, RolloutState, WaveState};
use crate::model::{Command, EnvTarget, Notice};

/// Envs the session runs: FROM (its versions and health) and every env of the rollout.
pub(super) fn session_envs(rollout: &RolloutConfig) -> Vec<String> {
    std::iter::once(rollout.from.as_str())
        .chain(rollout.envs())
        .map(str::to_owned)
        .collect()
}

pub(super) fn say(rollout: &RolloutConfig, line: impl AsRef<str>) {
    eprintln!("rollout {}: {}", rollout.name, line.as_ref());
}

pub async fn start(
    config: Config,
    rollout: &RolloutConfig,
    yes: bool,
    confirm: Vec<String>,
    force: bool,
) -> CmdResult {
    let (store, existing) = load(&config, rollout).await?;
    match existing.as_ref().map(|s| s.phase) {
        Some(Phase::Halted | Phase::Stopped) => {
            let s = existing.as_ref().map(describe_halt).unwrap_or_default();
            return Err(Failure::Action(Some(format!(
                "rollout {} is {s}; `driftdeck rollout resume {}` un-pauses its envs and continues it",
                rollout.name, rollout.name
            ))));
        }
        _ if !yes => {
            print_plan(rollout, existing.as_ref());
            eprintln!("preview only: nothing changed; run again with --yes to start");
            return Ok(());
        }
        _ => {}
    }
    let session = Session::start(config.clone(), false, session_envs(rollout));
    let state = match existing {
        Some(state) if state.phase == Phase::Running => {
            say(
                rollout,
                format!(
                    "continuing at wave {} ({})",
                    state.wave + 1,
                    state
                        .waves
                        .get(state.wave)
                        .map(|w| w.state.to_string())
                        .unwrap_or_default()
                ),
            );
            audit(
                &session.operator,
                "continue",
                &format!("{} at wave {}", rollout.name, state.wave + 1),
            );
            state
        }
        _ => {
            let images = from_images(&session, rollout).await?;
            let state = RolloutState::new(rollout, images, &session.operator);
            audit(
                &session.operator,
                "start",
                &format!(
                    "{}: {} → {}",
                    rollout.name,
                    rollout.from,
                    wave_list(rollout)
                ),
            );
            state
        }
    };
    let mut driver = Driver::new(&config, rollout, session, store, state, confirm, force);
    driver.save().await?;
    driver.run().await
}

pub async fn resume(
    config: Config,
    rollout: &RolloutConfig,
    confirm: Vec<String>,
    force: bool,
) -> CmdResult {
    let (store, existing) = load(&config, rollout).await?;
    let Some(mut state) = existing else {
        return Err(Failure::Action(Some(format!(
            "rollout {} was never started; `driftdeck rollout start {} --yes` starts it",
            rollout.name, rollout.name
        ))));
    };
    if state.phase == Phase::Done {
        println!("rollout {} is done; nothing to resume", rollout.name);
        return Ok(());
    }
    let mut session = Session::start(config.clone(), false, session_envs(rollout));
    if matches!(state.phase, Phase::Halted | Phase::Stopped) {
        let envs: Vec<String> = rollout.envs().map(str::to_owned).collect();
        for env in &envs {
            session
                .send(Command::Resume {
                    target: EnvTarget::One(env.clone()),
                    confirm: confirm.clone(),
                })
                .await?;
        }
        toggled(&mut session, &envs, true).await?;
        say(rollout, format!("resumed {}", envs.join(", ")));
        if let Some(wave) = state.waves.get_mut(state.wave)
            && wave.state == WaveState::Halted
        {
            // Promotion is idempotent (nothing to promote once committed): repeat the wave.
            wave.state = WaveState::Promoting;
        }
        state.phase = Phase::Running;
        state.halt = None;
    }
    // Resuming is the operator's decision to go on with what FROM runs now (a fixed release
    // after a halt, say); a driver merely continuing (`start --yes`) keeps the pinned versions.
    let current = from_images(&session, rollout).await?;
    if current != state.from_images {
        say(
            rollout,
            format!(
                "taking {}'s current image versions from here on",
                rollout.from
            ),
        );
        state.from_images = current;
    }
    audit(
        &session.operator,
        "resume",
        &format!("{} at wave {}", rollout.name, state.wave + 1),
    );
    let mut driver = Driver::new(&config, rollout, session, store, state, confirm, force);
    driver.save().await?;
    driver.run().await
}

pub async fn stop(config: Config, rollout: &RolloutConfig, reason: &str) -> CmdResult {
    let (mut store, existing) = load(&config, rollout).await?;
    let envs: Vec<String> = rollout.envs().map(str::to_owned).collect();
    let mut session = Session::start(config.clone(), false, session_envs(rollout));
    let operator = session.operator.clone();
    let pause_reason = format!("rollout {} stopped: {reason}", rollout.name);
    let paused = pause_all(&mut session, &envs, &pause_reason).await;
    session.finish().await;
    let mut state =
        existing.unwrap_or_else(|| RolloutState::new(rollout, BTreeMap::new(), &operator));
    let wave = state.wave.min(state.waves.len().saturating_sub(1));
    if state.phase == Phase::Running
        && let Some(w) = state.waves.get_mut(wave)
        && w.state != WaveState::Pending
    {
        w.state = WaveState::Halted;
    }
    state.phase = Phase::Stopped;
    state.halt = Some(Halt {
        wave: wave + 1,
        env: None,
        reason: reason.to_owned(),
        by: operator.clone(),
        at: Timestamp::now(),
    });
    store.save(&mut state).await.map_err(Failure::setup)?;
    audit(&operator, "stop", &format!("{}: {reason}", rollout.name));
    paused?;
    println!(
        "stopped rollout {} at wave {}: paused {}",
        rollout.name,
        wave + 1,
        envs.join(", ")
    );
    Ok(())
}

pub(super) fn describe_halt(s: &RolloutState) -> String {
    match &s.halt {
        Some(h) => format!("{} at wave {}: {}", s.phase, h.wave, h.reason),
        None => s.phase.to_string(),
    }
}

pub(super) fn wave_list(rollout: &RolloutConfig) -> String {
    rollout
        .waves
        .iter()
        .map(|w| format!("[{}]", w.join(", ")))
        .collect::<Vec<_>>()
        .join(" → ")
}

pub(super) fn print_plan(rollout: &RolloutConfig, existing: Option<&RolloutState>) {
    println!(
        "rollout {}: promote {}'s image versions to {}, soak {}s per wave; any Degraded env halts and pauses every wave",
        rollout.name,
        rollout.from,
        wave_list(rollout),
        rollout.soak.as_secs()
    );
    if let Some(s) = existing.filter(|s| s.phase == Phase::Running) {
        println!(
            "(a driver left it running at wave {}: --yes continues there)",
            s.wave + 1
        );
    }
}

/// FROM's live images, once FROM has been observed.
pub(super) async fn from_images(
    session: &Session,
    rollout: &RolloutConfig,
) -> Result<BTreeMap<String, Vec<String>>, Failure> {
    let deadline = tokio::time::Instant::now() + SHORT_WAIT;
    loop {
        let snap = session.latest();
        if let Some(env) = snap.env(&rollout.from)
            && env.observed_at.is_some()
            && !env.images.is_empty()
        {
            return Ok(env.images.clone());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Failure::Setup(format!(
                "{}: not observed within {}s{}",
                rollout.from,
                SHORT_WAIT.as_secs(),
                snap.env(&rollout.from)
                    .and_then(|e| e.error.as_deref())
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Pauses each env (no confirmation: the emergency stop); waits for each `Paused`.
pub(super) async fn pause_all(
    session: &mut Session,
    envs: &[String],
    reason: &str,
) -> Result<(), Failure> {
    for env in envs {
        session
            .send(Command::Pause {
                target: EnvTarget::One(env.clone()),
                reason: reason.to_owned(),
            })
            .await?;
    }
    toggled(session, envs, false).await
}

/// Waits for one `Paused` (or `Resumed`) per env; a refusal or a missing answer is an error.
pub(super) async fn toggled(
    session: &mut Session,
    envs: &[String],
    resumed: bool,
) -> Result<(), Failure> {
    let mut open: Vec<String> = envs.to_vec();
    let mut failures = Vec::new();
    let deadline = tokio::time::Instant::now() + SHORT_WAIT;
    while !open.is_empty() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(notice) = session.next(left).await else {
            break;
        };
        progress(&notice);
        let (env, refusal) = match notice {
            Notice::Paused { env } if !resumed => (env, None),
            Notice::Resumed { env } if resumed => (env, None),
            Notice::Refused {
                env: Some(env),
                reason,
            } => (env, Some(reason)),
            _ => continue,
        };
        if let Some(i) = open.iter().position(|e| *e == env) {
            open.remove(i);
            if let Some(reason) = refusal {
                match session.refusal(&env, &reason) {
                    Failure::Setup(m) => return Err(Failure::Setup(m)),
                    _ => failures.push(format!("{env}: {reason}")),
                }
            }
        }
    }
    for env in open {
        failures.push(format!("{env}: no answer within {}s", SHORT_WAIT.as_secs()));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::Action(Some(failures.join("\ndriftdeck: "))))
    }
}
