//! The rollout driver: this process, in the foreground, moves a rollout wave by wave through
//! the one controller started in-process for FROM and the rollout's envs (automation off, as
//! every verb). Per wave: `Command::Promote` FROM → each env (a commit each; "nothing to
//! promote" means an earlier run already committed it), `Command::Sync` of each env (sync and
//! validation, as `driftdeck sync`), then the soak (`controller::rollout::judge` on every
//! snapshot). The record in the cluster is written after each step, so a driver killed at any
//! point is continued from the same wave (see `controller::rollout`).
//!
//! A halt — a Degraded env anywhere in the rollout, a failed sync or validation, FROM's
//! versions changing under the rollout, a wave not Synced+Healthy within the validation
//! timeout — pauses every env of the rollout (each with the reason), then records the halt.
//! A promotion the engine refuses (FROM not Synced+Healthy without `--force`) is not a halt:
//! nothing was committed into that env and no region is at fault, so the driver exits 1
//! without pausing anything and the record stays `running` at that wave. A `rollout stop`
//! from another process is noticed within a couple of seconds (the record is re-read during
//! the soak) and ends this driver without further action.
//!
//! Envs of one wave are promoted and synced one after the other, in config order: simpler to
//! follow in the progress lines, and a wave is usually one or two regions.

use std::time::Duration;

use jiff::Timestamp;

use super::rollout::audit;
use super::rollout_verbs::{describe_halt, from_images, pause_all, say};
use super::verbs::{SHORT_WAIT, Session, follow, operation_wait, progress, reason_of};
use super::{CmdResult, Failure};
use crate::config::{Config, RolloutConfig};
use crate::controller::metrics::Metrics;
use crate::controller::notify::Notifier;
use crate::controller::rollout::{
    Halt, Phase, RolloutState, RolloutStore, Verdict, WaveState, judge,
};
use crate::model::{Command, FailureReason, Notice, OperationKind, OperationResult, short_sha};

/// How often the soak re-reads the record (to notice a `rollout stop` from elsewhere).
const RECHECK: Duration = Duration::from_secs(2);
/// How often a soaking wave prints how long it has left.
const SOAK_REPORT: Duration = Duration::from_secs(30);

pub(super) struct Driver {
    rollout: RolloutConfig,
    session: Session,
    store: RolloutStore,
    state: RolloutState,
    confirm: Vec<String>,
    force: bool,
    validation_timeout: Duration,
    sync_wait: Duration,
    /// The config's webhook targets, for `rollout_halted`; `None` when none are configured or
    /// their URLs cannot be resolved (said once on stderr; a rollout does not stop for it).
    notifier: Option<Notifier>,
}

/// How long a halting driver waits for its `rollout_halted` notification to be delivered.
const NOTIFY_DRAIN: Duration = Duration::from_secs(10);

impl Driver {
    pub(super) fn new(
        config: &Config,
        rollout: &RolloutConfig,
        session: Session,
        store: RolloutStore,
        state: RolloutState,
        confirm: Vec<String>,
        force: bool,
    ) -> Self {
        Self {
            force,
            rollout: rollout.clone(),
            session,
            store,
            state,
            confirm,
            validation_timeout: config.validation_timeout,
            sync_wait: operation_wait(config),
            notifier: notifier(config, rollout),
        }
    }

    pub(super) async fn save(&mut self) -> Result<(), Failure> {
        self.store.save(&mut self.state).await.map_err(|e| {
            Failure::Setup(if e.status_code() == Some(409) {
                format!(
                    "{}: changed by another process (a second driver, or `rollout stop`); this driver stops",
                    self.store.label()
                )
            } else {
                e.to_string()
            })
        })
    }

    fn confirm_for(&self, env: &str) -> Option<String> {
        self.confirm.iter().find(|c| *c == env).cloned()
    }

    /// Runs to the end; the session is always shut down (flushing cluster-held state).
    pub(super) async fn run(mut self) -> CmdResult {
        let result = self.waves().await;
        self.session.finish().await;
        result
    }

    async fn waves(&mut self) -> CmdResult {
        while let Some(wave) = self.state.waves.get(self.state.wave).cloned() {
            let i = self.state.wave;
            let label = format!("wave {} [{}]", i + 1, wave.envs.join(", "));
            match wave.state {
                WaveState::Pending | WaveState::Promoting | WaveState::Halted => {
                    self.promote_wave(i, &label).await?
                }
                WaveState::Syncing => self.sync_wave(i, &label).await?,
                WaveState::Soaking => self.soak_wave(i, &label).await?,
                WaveState::Done => self.state.wave += 1,
            }
        }
        self.state.phase = Phase::Done;
        self.save().await?;
        audit(&self.session.operator, "done", &self.rollout.name);
        println!(
            "rollout {} done: {} waves promoted from {}, synced, validated and soaked",
            self.rollout.name,
            self.state.waves.len(),
            self.rollout.from
        );
        Ok(())
    }

    async fn promote_wave(&mut self, i: usize, label: &str) -> CmdResult {
        let from_now = from_images(&self.session, &self.rollout).await?;
        if from_now != self.state.from_images {
            let reason = format!(
                "{}'s image versions changed since the rollout started; `driftdeck rollout \
                 resume {}` takes its current versions",
                self.rollout.from, self.rollout.name
            );
            return self.halt(i, None, reason).await;
        }
        self.state.waves[i].state = WaveState::Promoting;
        self.save().await?;
        let envs = self.state.waves[i].envs.clone();
        for env in &envs {
            say(
                &self.rollout,
                format!("{label}: promoting {} → {env}", self.rollout.from),
            );
            self.session
                .send(Command::Promote {
                    from: self.rollout.from.clone(),
                    to: env.clone(),
                    message: None,
                    force: self.force,
                    confirm: self.confirm_for(env),
                    preview: false,
                })
                .await?;
            match self.promotion_outcome(env).await? {
                Some((sha, summary)) => {
                    say(
                        &self.rollout,
                        format!("{label}: committed {} {summary}", short_sha(&sha)),
                    );
                    self.state.waves[i].commits.insert(env.clone(), sha.clone());
                    self.state.waves[i].revision = Some(sha);
                }
                None => say(
                    &self.rollout,
                    format!(
                        "{label}: {env} already has {}'s versions",
                        self.rollout.from
                    ),
                ),
            }
        }
        self.state.waves[i].state = WaveState::Syncing;
        self.save().await?;
        self.sync_wave(i, label).await
    }

    /// `Some((sha, summary))` for a commit, `None` when TO already had the versions; a refusal
    /// halts (a guard not confirmed is exit 2 and halts nothing: nothing was done).
    async fn promotion_outcome(&mut self, env: &str) -> Result<Option<(String, String)>, Failure> {
        let deadline = tokio::time::Instant::now() + SHORT_WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(notice) = self.session.next(left).await else {
                let i = self.state.wave;
                self.halt(
                    i,
                    Some(env),
                    format!(
                        "promotion into {env}: no result within {}s",
                        SHORT_WAIT.as_secs()
                    ),
                )
                .await?;
                return Ok(None);
            };
            progress(&notice);
            match notice {
                Notice::Committed { sha, summary, .. } => return Ok(Some((sha, summary))),
                Notice::Refused {
                    env: Some(e),
                    reason,
                } if e == env => {
                    if let FailureReason::Refused(text) = &reason
                        && text.starts_with("nothing to promote")
                    {
                        return Ok(None);
                    }
                    if let FailureReason::NeedsConfirmation(_) = reason {
                        return Err(self.session.refusal(env, &reason));
                    }
                    // A refused promotion changed nothing in the wave (FROM not Synced+Healthy,
                    // say): no region is at fault, so nothing is paused. The record stays
                    // `running` at this wave and `rollout start --yes` continues once fixed.
                    return Err(Failure::Action(Some(format!(
                        "rollout {}: promotion into {env} refused: {reason}; nothing was \
                         committed into {env}; `driftdeck rollout start {} --yes` continues \
                         wave {} once that is fixed",
                        self.rollout.name,
                        self.rollout.name,
                        self.state.wave + 1
                    ))));
                }
                _ => {}
            }
        }
    }

    async fn sync_wave(&mut self, i: usize, label: &str) -> CmdResult {
        let envs = self.state.waves[i].envs.clone();
        let revision = self.state.waves[i].revision.clone();
        for env in &envs {
            say(
                &self.rollout,
                format!(
                    "{label}: syncing {env} to {}",
                    revision
                        .as_deref()
                        .map(short_sha)
                        .unwrap_or("the branch head")
                ),
            );
            self.session
                .send(Command::Sync {
                    env: env.clone(),
                    revision: revision.clone(),
                    prune: None,
                    dry_run: false,
                    confirm: self.confirm_for(env),
                    force: false,
                })
                .await?;
            let mut committed = Vec::new();
            let kinds = [OperationKind::Sync];
            match follow(
                &mut self.session,
                env,
                &kinds,
                self.sync_wait,
                None,
                &mut committed,
            )
            .await
            {
                Ok(entry) if entry.result == OperationResult::Succeeded => {
                    say(
                        &self.rollout,
                        format!(
                            "{label}: {env} synced and validated at {}",
                            short_sha(&entry.revision)
                        ),
                    );
                    if self.state.waves[i].revision.is_none() {
                        self.state.waves[i].revision = Some(entry.revision.clone());
                    }
                }
                Ok(entry) => {
                    let reason = format!("sync of {env} failed: {}", reason_of(&entry));
                    return self.halt(i, Some(env), reason).await;
                }
                Err(Failure::Setup(m)) => return Err(Failure::Setup(m)),
                Err(Failure::Action(m)) => {
                    let reason =
                        format!("sync of {env}: {}", m.unwrap_or_else(|| "no result".into()));
                    return self.halt(i, Some(env), reason).await;
                }
                Err(Failure::StdoutClosed) => return Err(Failure::StdoutClosed),
            }
        }
        self.state.waves[i].state = WaveState::Soaking;
        self.state.waves[i].soak_started_at = Some(Timestamp::now());
        self.save().await?;
        self.soak_wave(i, label).await
    }

    async fn soak_wave(&mut self, i: usize, label: &str) -> CmdResult {
        let soak = self.rollout.soak;
        // A soak (re)starts its clock when this driver starts watching it: time nobody watched
        // is not healthy time.
        self.state.waves[i].soak_started_at = Some(Timestamp::now());
        self.save().await?;
        say(
            &self.rollout,
            format!("{label}: soaking {}s", soak.as_secs()),
        );
        let mut good_since: Option<tokio::time::Instant> = None;
        let mut bad_since = tokio::time::Instant::now();
        let mut last_check = tokio::time::Instant::now();
        let mut last_report = tokio::time::Instant::now();
        loop {
            let now = tokio::time::Instant::now();
            match judge(&self.rollout, i, &self.session.latest()) {
                Verdict::Halt { env, reason } => return self.halt(i, Some(&env), reason).await,
                Verdict::Waiting(why) => {
                    if good_since.take().is_some() {
                        say(&self.rollout, format!("{label}: soak clock stopped: {why}"));
                        bad_since = now;
                    }
                    if now.duration_since(bad_since) > self.validation_timeout {
                        let reason = format!(
                            "{label} not Synced+Healthy for {}s during the soak: {why}",
                            self.validation_timeout.as_secs()
                        );
                        return self.halt(i, None, reason).await;
                    }
                }
                Verdict::Good => {
                    let since = *good_since.get_or_insert(now);
                    if now.duration_since(since) >= soak {
                        break;
                    }
                }
            }
            if now.duration_since(last_report) >= SOAK_REPORT {
                last_report = now;
                let left = good_since.map_or(soak, |s| soak.saturating_sub(now.duration_since(s)));
                say(
                    &self.rollout,
                    format!("{label}: soak {}s left", left.as_secs()),
                );
            }
            if now.duration_since(last_check) >= RECHECK {
                last_check = now;
                self.check_record().await?;
            }
            // Wakes on the next notice or after a short tick; notices must be drained anyway.
            if let Some(notice) = self.session.next(Duration::from_millis(250)).await {
                progress(&notice);
            }
        }
        self.state.waves[i].state = WaveState::Done;
        self.state.waves[i].finished_at = Some(Timestamp::now());
        self.state.wave = i + 1;
        self.save().await?;
        say(&self.rollout, format!("{label}: soaked; done"));
        audit(
            &self.session.operator,
            "wave done",
            &format!("{} {label}", self.rollout.name),
        );
        Ok(())
    }

    /// Re-reads the record: a `rollout stop` (or another driver) ends this one.
    async fn check_record(&mut self) -> CmdResult {
        let theirs = self.store.load().await.map_err(Failure::setup)?;
        match theirs {
            Some(s) if s.phase == Phase::Running && s.wave == self.state.wave => Ok(()),
            Some(s) => Err(Failure::Action(Some(format!(
                "rollout {} was changed elsewhere ({}); this driver stops",
                self.rollout.name,
                describe_halt(&s)
            )))),
            None => Err(Failure::Action(Some(format!(
                "rollout {}: its record {} was deleted; this driver stops",
                self.rollout.name,
                self.store.label()
            )))),
        }
    }

    /// Pauses every env of the rollout, records the halt, and ends the drive with exit 1.
    async fn halt(&mut self, i: usize, env: Option<&str>, reason: String) -> CmdResult {
        say(&self.rollout, format!("HALT at wave {}: {reason}", i + 1));
        let envs: Vec<String> = self.rollout.envs().map(str::to_owned).collect();
        let pause_reason = format!(
            "rollout {} halted at wave {}: {reason}",
            self.rollout.name,
            i + 1
        );
        let paused = pause_all(&mut self.session, &envs, &pause_reason).await;
        self.state.phase = Phase::Halted;
        self.state.waves[i].state = WaveState::Halted;
        self.state.halt = Some(Halt {
            wave: i + 1,
            env: env.map(str::to_owned),
            reason: reason.clone(),
            by: self.session.operator.clone(),
            at: Timestamp::now(),
        });
        self.save().await?;
        audit(
            &self.session.operator,
            "halted",
            &format!("{} at wave {}: {reason}", self.rollout.name, i + 1),
        );
        let mut message = format!(
            "rollout {} halted at wave {}: {reason}; paused {}",
            self.rollout.name,
            i + 1,
            envs.join(", ")
        );
        if let Err(Failure::Action(Some(m)) | Failure::Setup(m)) = paused {
            message.push_str(&format!("\ndriftdeck: pausing failed: {m}"));
        }
        if let Some(notifier) = self.notifier.take() {
            let at = env.unwrap_or(self.rollout.name.as_str());
            notifier.rollout_halted(&self.rollout.name, at, &reason);
            notifier.drain(NOTIFY_DRAIN).await;
        }
        Err(Failure::Action(Some(message)))
    }
}

/// The webhook targets a halt is announced to (`notify:` with `rollout_halted`).
fn notifier(config: &Config, rollout: &RolloutConfig) -> Option<Notifier> {
    if config.notify.is_empty() {
        return None;
    }
    match Notifier::start(config, std::sync::Arc::new(Metrics::new())) {
        Ok(n) => Some(n),
        Err(e) => {
            say(
                rollout,
                format!("notifications are off for this drive: {e}"),
            );
            None
        }
    }
}
