//! The operation verbs `sync`, `rollback`, `pause`, `resume` (and the shared [`Session`] that
//! `promote` uses too): each starts the one controller (`controller::driver`) in-process for
//! its env(s) with automation off, sends one `Command`, follows the controller's `Notice`s to
//! the end of the operation (progress on stderr, the result on stdout) and then shuts the
//! controller down, which flushes cluster-held state before the process exits.
//!
//! Refusals (read-only, busy, protected) come from the controller, never from argument checks
//! here: `--confirm ENV` and `--force` are passed through and the engine's policy
//! (`controller::engine::policy`) decides. Exit codes per the CLI contract: 0 done, 1 failed or
//! refused, 2 usage/config/connection — and 2 for a guard that was not confirmed
//! ([`FailureReason::NeedsConfirmation`]): the engine's text says what would have happened and
//! nothing was changed. `resume --all` is all-or-nothing with respect to that guard: the
//! controller refuses it for every env before any is resumed when a protected env's name is
//! missing (`controller::engine::policy::fan_out_confirmation`), and the refusal is printed
//! once. `pause --all` needs no confirmation: it is the emergency stop.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::access::Touches;
use super::{CmdResult, Failure, GlobalArgs, PauseArgs, ResumeArgs, RollbackArgs, SyncArgs};
use crate::config::Config;
use crate::controller::{self, DriverOptions};
use crate::model::{
    Command, EnvTarget, FailureReason, HistoryEntry, Notice, OperationKind, OperationResult,
    Snapshot, short_sha,
};

/// Besides `validation_timeout`: the whole transient-retry budget of one apply and margin.
const OPERATION_MARGIN: Duration = Duration::from_secs(420);
/// How long a pause/resume/promote may take (state read, Git work, one write).
pub(super) const SHORT_WAIT: Duration = Duration::from_secs(60);

/// The controller running in this process for one verb.
pub(super) struct Session {
    pub operator: String,
    commands: mpsc::Sender<Command>,
    notices: mpsc::Receiver<Notice>,
    snapshots: watch::Receiver<Snapshot>,
    driver: JoinHandle<()>,
}

impl Session {
    /// Starts the controller for `envs` (automation off).
    pub fn start(config: Config, read_only: bool, envs: Vec<String>) -> Self {
        let opts = DriverOptions {
            envs: Some(envs),
            ..DriverOptions::manual(read_only)
        };
        let operator = opts.operator.clone();
        let spawned = controller::driver::spawn(config, opts);
        Self {
            operator,
            commands: spawned.commands,
            notices: spawned.notices,
            snapshots: spawned.snapshots,
            driver: spawned.task,
        }
    }

    pub async fn send(&self, command: Command) -> Result<(), Failure> {
        self.commands
            .send(command)
            .await
            .map_err(|_| Failure::Setup("the controller stopped before taking the command".into()))
    }

    /// The next notice, `None` when the wait ran out or the controller is gone.
    pub async fn next(&mut self, wait: Duration) -> Option<Notice> {
        tokio::time::timeout(wait, self.notices.recv())
            .await
            .ok()
            .flatten()
    }

    /// The latest published snapshot.
    pub fn latest(&self) -> Snapshot {
        self.snapshots.borrow().clone()
    }

    /// Waits (bounded) until the published snapshot satisfies `cond`; whether it did.
    pub async fn snapshot_where(
        &mut self,
        wait: Duration,
        cond: impl Fn(&Snapshot) -> bool,
    ) -> bool {
        tokio::time::timeout(wait, self.snapshots.wait_for(|s| cond(s)))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// A refusal as the CLI reports it: exit 2 when the env's cluster-held state could not be
    /// read at all (a connection problem, not a decision), else exit 1.
    pub fn refusal(&self, env: &str, reason: &FailureReason) -> Failure {
        let error = self
            .snapshots
            .borrow()
            .env(env)
            .and_then(|e| e.error.clone());
        match (reason, error) {
            (FailureReason::NeedsConfirmation(r), _) => Failure::Setup(r.clone()),
            (FailureReason::Refused(r), Some(error)) if r.contains("not read yet") => {
                Failure::Setup(format!("{reason}\n{env}: {error}"))
            }
            _ => Failure::Action(Some(reason.to_string())),
        }
    }

    /// Stops the controller, waiting for it to flush cluster-held state and release Leases;
    /// returns the last snapshot.
    pub async fn finish(self) -> Snapshot {
        let Self {
            commands,
            mut notices,
            snapshots,
            driver,
            ..
        } = self;
        drop(commands);
        let drain = async {
            while let Some(notice) = notices.recv().await {
                progress(&notice);
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(15), async {
            tokio::join!(drain, driver)
        })
        .await;
        snapshots.borrow().clone()
    }
}

/// Prints progress notices to stderr (the result goes to stdout elsewhere).
pub(super) fn progress(notice: &Notice) {
    match notice {
        Notice::OperationStarted { env, op, revision } => {
            eprintln!("{env}: {op} of {} started", short_sha(revision));
        }
        Notice::Warned {
            env: Some(env),
            message,
        } => eprintln!("{env}: {message}"),
        Notice::Warned { env: None, message } => eprintln!("{message}"),
        _ => {}
    }
}

fn check_env(config: &Config, name: &str) -> Result<(), Failure> {
    match config.env(name) {
        Some(_) => Ok(()),
        None => Err(Failure::Setup(super::unknown_env(config, name))),
    }
}

/// Resolves a revision expression to a full sha (the controller takes only full shas). For an
/// engine env it is passed as typed: the engine resolves it against its own source (and a
/// rollback's `--to` is the engine's history id).
async fn resolve(
    config: &Config,
    env: &str,
    revision: Option<String>,
) -> Result<Option<String>, Failure> {
    let Some(revision) = revision else {
        return Ok(None);
    };
    if config
        .env(env)
        .is_some_and(|e| e.engine != crate::config::EngineSpec::Driftdeck)
    {
        return Ok(Some(revision));
    }
    let owned = config.clone();
    tokio::task::spawn_blocking(move || {
        let source = controller::open_source(&owned).map_err(Failure::setup)?;
        source
            .resolve(Some(&revision))
            .map(|r| Some(r.sha))
            .map_err(Failure::setup)
    })
    .await
    .map_err(|e| Failure::Setup(format!("git task failed: {e}")))?
}

/// Follows notices until this process's operation of a kind in `kinds` on `env` finishes.
pub(super) async fn follow(
    session: &mut Session,
    env: &str,
    kinds: &[OperationKind],
    wait: Duration,
    start_wait: Option<Duration>,
    committed: &mut Vec<(String, String)>,
) -> Result<HistoryEntry, Failure> {
    let begun = tokio::time::Instant::now();
    let deadline = begun + wait;
    let mut started: Option<String> = None;
    loop {
        let mut left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if let (None, Some(start_wait)) = (&started, start_wait) {
            let until = (begun + start_wait).saturating_duration_since(tokio::time::Instant::now());
            if until.is_zero() {
                return Err(Failure::Action(None));
            }
            left = left.min(until);
        }
        let Some(notice) = session.next(left).await else {
            if started.is_none() && start_wait.is_some() {
                return Err(Failure::Action(None));
            }
            return Err(Failure::Action(Some(format!(
                "{env}: no result within {}s (the operation may still be running in the \
                 cluster-held history)",
                wait.as_secs()
            ))));
        };
        progress(&notice);
        match notice {
            Notice::Refused {
                env: target,
                reason,
            } if target.as_deref().is_none_or(|t| t == env) => {
                return Err(session.refusal(env, &reason));
            }
            Notice::OperationStarted {
                env: e,
                op,
                revision,
            } if e == env && kinds.contains(&op) => started = Some(revision),
            Notice::OperationFinished { env: e, entry }
                if e == env
                    && entry.operator == session.operator
                    && kinds.contains(&entry.op)
                    && started.as_deref() == Some(entry.revision.as_str()) =>
            {
                return Ok(entry);
            }
            Notice::Committed { sha, summary, .. } => committed.push((sha, summary)),
            _ => {}
        }
    }
}

pub(super) fn operation_wait(config: &Config) -> Duration {
    config.validation_timeout.saturating_add(OPERATION_MARGIN)
}

pub(super) fn reason_of(entry: &HistoryEntry) -> String {
    entry
        .failure
        .as_ref()
        .map(FailureReason::to_string)
        .unwrap_or_else(|| entry.result.to_string())
}

/// `driftdeck sync ENV [--revision R] [--dry-run] [--prune]`.
pub fn sync(global: &GlobalArgs, args: SyncArgs) -> CmdResult {
    let config = super::load_config(global)?;
    check_env(&config, &args.env)?;
    if args.dry_run {
        return super::dry_run::run(&config, &args.env, args.revision.as_deref());
    }
    let rt = super::runtime()?;
    rt.block_on(async {
        let revision = resolve(&config, &args.env, args.revision).await?;
        if !global.read_only {
            super::access::check(&config, &args.env, "sync", Touches::Render).await?;
        }
        let auto_rollback = config.env(&args.env).is_some_and(|e| e.auto_rollback);
        let wait = operation_wait(&config);
        let mut session = Session::start(config, global.read_only, vec![args.env.clone()]);
        session
            .send(Command::Sync {
                env: args.env.clone(),
                revision,
                prune: args.prune.then_some(true),
                dry_run: false,
                confirm: args.confirm,
                force: args.force,
            })
            .await?;
        let mut committed = Vec::new();
        let kinds = [OperationKind::Sync];
        let outcome = follow(&mut session, &args.env, &kinds, wait, None, &mut committed).await;
        let result = match outcome {
            Err(e) => Err(e),
            Ok(entry) if entry.result == OperationResult::Succeeded => {
                println!(
                    "synced {} to {}: {} changed",
                    args.env,
                    short_sha(&entry.revision),
                    entry.resources_changed
                );
                Ok(())
            }
            Ok(entry) => {
                let mut message = format!("sync {} failed: {}", args.env, reason_of(&entry));
                if auto_rollback && validation_failed(&entry) {
                    message.push('\n');
                    message.push_str(&follow_auto_rollback(&mut session, &args.env, wait).await);
                }
                Err(Failure::Action(Some(message)))
            }
        };
        session.finish().await;
        result
    })
}

fn validation_failed(entry: &HistoryEntry) -> bool {
    matches!(
        entry.failure,
        Some(FailureReason::Degraded(_) | FailureReason::ValidationTimeout(_))
    )
}

/// The second line of a failed sync whose env rolls back by itself.
async fn follow_auto_rollback(session: &mut Session, env: &str, wait: Duration) -> String {
    let mut committed = Vec::new();
    let kinds = [OperationKind::AutoRollback];
    // The engine starts the auto-rollback in the same step that fails the sync, or says why
    // it skipped it: a few seconds without a start means there is none.
    let start_wait = Some(Duration::from_secs(5));
    match follow(session, env, &kinds, wait, start_wait, &mut committed).await {
        Ok(entry) if entry.result == OperationResult::Succeeded => format!(
            "driftdeck: {env} was rolled back to {} (auto-rollback); a hold keeps it there \
             until `driftdeck resume {env}` or Git matches",
            short_sha(&entry.revision)
        ),
        Ok(entry) => format!(
            "driftdeck: auto-rollback of {env} to {} failed: {}",
            short_sha(&entry.revision),
            reason_of(&entry)
        ),
        Err(Failure::Action(Some(m)) | Failure::Setup(m)) => {
            format!("driftdeck: auto-rollback of {env}: {m}")
        }
        Err(Failure::Action(None)) => {
            format!("driftdeck: {env} was not rolled back: no earlier good revision")
        }
        Err(Failure::StdoutClosed) => String::new(),
    }
}

/// `driftdeck rollback ENV [--to R] [--revert] [--confirm ENV]`.
pub fn rollback(global: &GlobalArgs, args: RollbackArgs) -> CmdResult {
    let config = super::load_config(global)?;
    check_env(&config, &args.env)?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let to = resolve(&config, &args.env, args.to).await?;
        if !global.read_only {
            super::access::check(&config, &args.env, "rollback", Touches::Render).await?;
        }
        let wait = operation_wait(&config);
        let mut session = Session::start(config, global.read_only, vec![args.env.clone()]);
        session
            .send(Command::Rollback {
                env: args.env.clone(),
                to,
                revert: args.revert,
                confirm: args.confirm,
            })
            .await?;
        let mut committed = Vec::new();
        let kinds = [OperationKind::Rollback];
        let outcome = follow(&mut session, &args.env, &kinds, wait, None, &mut committed).await;
        let result = match outcome {
            Err(e) => Err(e),
            Ok(entry) => {
                for (sha, summary) in &committed {
                    println!("committed {} {summary}", short_sha(sha));
                }
                let revert_sha = committed.last().map(|(sha, _)| sha.clone());
                if entry.result == OperationResult::Succeeded {
                    // With --revert, Git soon renders what the hold keeps live: give the
                    // controller a moment to see the revert commit and end the hold.
                    let released = match &revert_sha {
                        Some(sha) => {
                            session
                                .snapshot_where(Duration::from_secs(5), |s| {
                                    s.env(&args.env).is_some_and(|e| {
                                        e.hold.is_none() && e.revision.as_deref() == Some(sha)
                                    })
                                })
                                .await
                        }
                        None => false,
                    };
                    println!(
                        "rolled back {} to {}: {} changed; {}",
                        args.env,
                        short_sha(&entry.revision),
                        entry.resources_changed,
                        if released {
                            "hold ended: Git now matches"
                        } else {
                            "hold set"
                        }
                    );
                    Ok(())
                } else {
                    Err(Failure::Action(Some(format!(
                        "rollback {} failed: {}",
                        args.env,
                        reason_of(&entry)
                    ))))
                }
            }
        };
        session.finish().await;
        result
    })
}

/// The envs a pause/resume names.
fn targets(
    config: &Config,
    env: Option<String>,
    all: bool,
) -> Result<(EnvTarget, Vec<String>), Failure> {
    if all {
        let names = config.environments.iter().map(|e| e.name.clone()).collect();
        return Ok((EnvTarget::All, names));
    }
    let env = env.ok_or_else(|| Failure::Setup("name an env or pass --all".into()))?;
    check_env(config, &env)?;
    Ok((EnvTarget::One(env.clone()), vec![env]))
}

/// `driftdeck pause ENV|--all [--reason TEXT]`.
pub fn pause(global: &GlobalArgs, args: PauseArgs) -> CmdResult {
    let config = super::load_config(global)?;
    let (target, envs) = targets(&config, args.env, args.all)?;
    let command = Command::Pause {
        target,
        reason: args.reason,
    };
    toggle(global, config, envs, command, "paused")
}

/// `driftdeck resume ENV|--all`.
pub fn resume(global: &GlobalArgs, args: ResumeArgs) -> CmdResult {
    let config = super::load_config(global)?;
    let (target, envs) = targets(&config, args.env, args.all)?;
    let command = Command::Resume {
        target,
        confirm: args.confirm,
    };
    toggle(global, config, envs, command, "resumed")
}

/// Pause or resume: one `Paused`/`Resumed` (or `Refused`) per env, then the state is flushed.
fn toggle(
    global: &GlobalArgs,
    config: Config,
    envs: Vec<String>,
    command: Command,
    done: &str,
) -> CmdResult {
    let rt = super::runtime()?;
    rt.block_on(async {
        if !global.read_only {
            for env in &envs {
                let verb = if done == "paused" { "pause" } else { "resume" };
                super::access::check(&config, env, verb, Touches::StateOnly).await?;
            }
        }
        let mut session = Session::start(config, global.read_only, envs.clone());
        session.send(command).await?;
        let mut open: Vec<String> = envs.clone();
        let mut refused = Vec::new();
        // Connection problems and unconfirmed guards: exit 2.
        let mut unreachable = Vec::new();
        let mut ok = Vec::new();
        let deadline = tokio::time::Instant::now() + SHORT_WAIT;
        while !open.is_empty() {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(notice) = session.next(left).await else {
                break;
            };
            progress(&notice);
            let (env, refusal) = match notice {
                Notice::Paused { env } | Notice::Resumed { env } => (env, None),
                Notice::Refused {
                    env: Some(env),
                    reason,
                } => (env, Some(reason)),
                _ => continue,
            };
            if let Some(i) = open.iter().position(|e| *e == env) {
                open.remove(i);
                match refusal {
                    Some(reason) => match session.refusal(&env, &reason) {
                        Failure::Setup(m) => unreachable.push(m),
                        _ => refused.push(reason.to_string()),
                    },
                    None => ok.push(env),
                }
            }
        }
        let last = session.finish().await;
        let mut failures = refused;
        for env in &open {
            failures.push(format!("{env}: no answer within {}s", SHORT_WAIT.as_secs()));
        }
        for env in &ok {
            let unwritten = last
                .env(env)
                .and_then(|s| s.error.as_deref())
                .filter(|e| e.contains("could not write ConfigMap"));
            match unwritten {
                Some(error) => failures.push(format!("{env}: {error}")),
                None => println!("{done} {env}"),
            }
        }
        if !unreachable.is_empty() {
            failures.extend(unreachable);
            // A fan-out refused before any env acted (`resume --all` unconfirmed) reaches
            // every env with the same text: say it once.
            let mut seen = std::collections::BTreeSet::new();
            failures.retain(|f| seen.insert(f.clone()));
            Err(Failure::Setup(failures.join("\ndriftdeck: ")))
        } else if failures.is_empty() {
            Ok(())
        } else {
            Err(Failure::Action(Some(failures.join("\ndriftdeck: "))))
        }
    })
}
