//! The async driver: runs one task per environment, each owning that env's sans-IO [`Engine`],
//! feeds it events (Git, live state, cluster-held state, the Lease, operator commands, effect
//! results) and executes the effects it returns. It is the only writer of the [`Snapshot`]:
//! after every `handle` the env's [`crate::controller::engine::EnvView`] and its latest
//! observation are merged into `Snapshot.envs` and published when something changed.
//!
//! May import model, config, source, render, diff, health, cluster (through the controller's
//! own modules). Must not block the runtime (git2 runs on the blocking pool), must not panic,
//! must not print: the console owns the terminal, CLI verbs print from [`Notice`]s.
//!
//! Decisions where the design was silent:
//! - Commands reaching an env before its cluster-held state and branch head were read once are
//!   held back (up to [`READY_WAIT`]) rather than refused, so a keypress in the console's first
//!   second and every CLI verb just work; after the wait the engine decides (and refuses).
//! - Promote is run here, not in an engine: FROM's last `EnvView` decides the check, the Git
//!   work runs on the blocking pool, TO's engine then sees the commit like any other.
//! - Shutdown (command channel closed) flushes: each env waits (bounded) for its last
//!   ConfigMap write, then releases its Lease, so a CLI verb exits only once its pause, hold or
//!   history entry is in the cluster.
//! - A command for every env (`EnvTarget::All`) passes the guard once, here, before it is
//!   fanned out ([`fan_out_confirmation`]): `resume --all` missing a protected env's typed name
//!   reaches no engine at all, so no env is resumed; every env's follower gets the same
//!   refusal. `pause --all` is never guarded (the emergency stop).
//! - The returned future is `Send`: callers `tokio::spawn` it beside the UI.
//! - Rollouts are read, never driven, here: a feed task ([`rollouts`]) reads each configured
//!   rollout's record every [`ROLLOUT_PERIOD`] (5 s) and the loop below folds the rows into
//!   `Snapshot.rollouts`.
//! - An env whose engine is Argo CD or Flux gets the engine-env task
//!   ([`super::external::run`]) instead of the native one; commands reach it through the same
//!   `route`, so the read-only refusal below covers it too.

mod env;
pub mod inspect;
mod jobs;

pub(crate) use jobs::connect;
pub mod object;
mod promote;
mod rollouts;
mod validate;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::model::{Command, Commit, EnvState, FailureReason, Notice, Snapshot};

use super::audit::{AuditLog, AuditRecord};
use super::engine::{EnvView, Guarded, fan_out_confirmation};

pub use env::READY_WAIT;
pub use rollouts::ROLLOUT_PERIOD;

/// How the driver runs.
#[derive(Debug, Clone)]
pub struct DriverOptions {
    /// Refuse every mutating command (the engine refuses too; the driver answers first).
    pub read_only: bool,
    /// Take each env's Lease and run auto-sync / self-heal where won (console, `controller`);
    /// off for CLI verbs.
    pub automation: bool,
    /// `user@host/pid`, see [`operator`].
    pub operator: String,
    pub audit: AuditLog,
    /// Only these envs (CLI verbs); `None`: every configured env.
    pub envs: Option<Vec<String>>,
}

impl DriverOptions {
    /// Automation off, every env, this process as operator, the default audit log.
    pub fn manual(read_only: bool) -> Self {
        Self {
            read_only,
            automation: false,
            operator: operator(),
            audit: AuditLog::at(AuditLog::default_path()),
            envs: None,
        }
    }
}

/// `user@host/pid`: the Lease holder and the operator recorded in history.
pub fn operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}/{}", std::process::id())
}

/// How often the UI should consider data stale: the repo's poll interval clamped to 2–5 s.
pub fn poll_period(poll_interval: Duration) -> Duration {
    poll_interval.clamp(Duration::from_secs(2), Duration::from_secs(5))
}

/// What an env task reports to the driver after each change.
#[derive(Debug, Clone)]
pub(crate) struct EnvUpdate {
    pub index: usize,
    pub state: EnvState,
    pub view: EnvView,
    pub head: Option<Commit>,
    pub repo_error: Option<String>,
}

/// Shared by every task of one driver.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    pub opts: DriverOptions,
    pub notice_tx: mpsc::Sender<Notice>,
}

impl Shared {
    pub async fn notify(&self, notice: Notice) {
        if self.notice_tx.send(notice).await.is_err() {
            tracing::debug!("notice dropped: nobody listens");
        }
    }

    pub fn audit(&self, env: Option<&str>, action: &str, detail: &str) {
        let record = AuditRecord {
            at: Timestamp::now(),
            operator: self.opts.operator.clone(),
            env: env.map(str::to_owned),
            action: action.to_owned(),
            detail: detail.to_owned(),
        };
        if let Err(e) = self.opts.audit.append(&record) {
            tracing::warn!("audit log {}: {e}", self.opts.audit.path().display());
        }
    }

    /// Refuses `command` because this driver is read-only (and audits it).
    pub async fn refuse_read_only(&self, env: Option<String>, command: &Command) {
        let verb = command.verb();
        let reason = FailureReason::ReadOnly(format!(
            "{verb} refused{}: this controller runs read-only",
            env.as_deref()
                .map(|e| format!(" for {e}"))
                .unwrap_or_default()
        ));
        self.audit(env.as_deref(), verb, &format!("refused: {reason}"));
        self.notify(Notice::Refused { env, reason }).await;
    }
}

/// The caller's ends of a driver started by [`spawn`]. Dropping `commands` (or every
/// snapshot receiver) stops it; `task` ends once state is flushed and Leases released.
pub struct Spawned {
    pub commands: mpsc::Sender<Command>,
    pub notices: mpsc::Receiver<Notice>,
    pub snapshots: watch::Receiver<Snapshot>,
    pub task: tokio::task::JoinHandle<()>,
}

/// [`run`] on its own task, with its channels made here.
pub fn spawn(config: Config, opts: DriverOptions) -> Spawned {
    let (snapshot_tx, snapshots) = watch::channel(Snapshot::default());
    let (notice_tx, notices) = mpsc::channel(256);
    let (commands, command_rx) = mpsc::channel(16);
    let task = tokio::spawn(run(config, opts, snapshot_tx, notice_tx, command_rx));
    Spawned {
        commands,
        notices,
        snapshots,
        task,
    }
}

/// Runs until the command channel closes or nobody watches the snapshots, then shuts every env
/// down (flushing state, releasing Leases).
pub async fn run(
    config: Config,
    opts: DriverOptions,
    snapshot_tx: watch::Sender<Snapshot>,
    notice_tx: mpsc::Sender<Notice>,
    mut command_rx: mpsc::Receiver<Command>,
) {
    let envs: Vec<_> = config
        .environments
        .iter()
        .filter(|e| opts.envs.as_ref().is_none_or(|only| only.contains(&e.name)))
        .cloned()
        .collect();
    let read_only = opts.read_only;
    let shared = Arc::new(Shared {
        config,
        opts,
        notice_tx,
    });
    let (update_tx, mut update_rx) = mpsc::channel::<EnvUpdate>(64);
    let mut senders: BTreeMap<String, mpsc::Sender<Command>> = BTreeMap::new();
    let mut tasks = Vec::new();
    // One watch of a local repository for every native env task (`env/repo_watch.rs`); held
    // until the tasks have stopped.
    let native = envs
        .iter()
        .any(|e| e.engine == crate::config::EngineSpec::Driftdeck);
    let repo_watch = native
        .then(|| env::watch_repo(&shared.config.repo.url))
        .flatten();
    for (index, env) in envs.iter().enumerate() {
        let (tx, rx) = mpsc::channel(16);
        senders.insert(env.name.clone(), tx);
        if env.engine == crate::config::EngineSpec::Driftdeck {
            let task = env::EnvTask::new(shared.clone(), env.clone(), index, update_tx.clone());
            let repo_changes = repo_watch.as_ref().map(|(_, changes)| changes.clone());
            tasks.push(tokio::spawn(task.run(rx, repo_changes)));
        } else {
            let task =
                super::external::run(shared.clone(), env.clone(), index, update_tx.clone(), rx);
            tasks.push(tokio::spawn(task));
        }
    }
    drop(update_tx);
    let (rollout_tx, mut rollout_rx) = mpsc::channel::<Vec<crate::model::RolloutRow>>(4);
    let rollout_feed = (shared.opts.envs.is_none() && !shared.config.rollouts.is_empty())
        .then(|| tokio::spawn(rollouts::run(shared.config.clone(), rollout_tx)));

    let mut snapshot = {
        let old = snapshot_tx.borrow();
        Snapshot {
            seq: old.seq,
            taken_at: old.taken_at,
            read_only,
            repo: crate::model::RepoState {
                url: shared.config.repo.url.clone(),
                branch: shared.config.repo.branch.clone(),
                head: old.repo.head.clone(),
                error: None,
            },
            envs: envs.iter().map(super::external::base_state).collect(),
            rollouts: shared
                .config
                .rollouts
                .iter()
                .map(super::rollout::base_row)
                .collect(),
        }
    };
    let (views_tx, views) = watch::channel(BTreeMap::<String, EnvView>::new());
    loop {
        tokio::select! {
            command = command_rx.recv() => match command {
                Some(command) => route(&shared, &senders, &views, command).await,
                None => break,
            },
            update = update_rx.recv() => match update {
                Some(update) => publish(&mut snapshot, &snapshot_tx, &views_tx, update),
                None => break,
            },
            Some(rows) = rollout_rx.recv() => {
                if snapshot.rollouts != rows {
                    snapshot.rollouts = rows;
                    snapshot.seq += 1;
                    snapshot.taken_at = Some(Timestamp::now());
                    snapshot_tx.send_replace(snapshot.clone());
                }
            }
            () = snapshot_tx.closed() => break,
        }
    }
    if let Some(feed) = rollout_feed {
        feed.abort();
    }
    drop(senders);
    // The env tasks flush cluster-held state as they stop (a write that lost a conflict is
    // re-read and written again): their last updates still reach the snapshot, so a verb's
    // final snapshot shows the flushed state, not an error the flush has since resolved.
    while let Some(update) = update_rx.recv().await {
        publish(&mut snapshot, &snapshot_tx, &views_tx, update);
    }
    for task in tasks {
        if let Err(e) = task.await {
            tracing::warn!("env task ended abnormally: {e}");
        }
    }
    drop(repo_watch);
}

fn publish(
    snapshot: &mut Snapshot,
    snapshot_tx: &watch::Sender<Snapshot>,
    views_tx: &watch::Sender<BTreeMap<String, EnvView>>,
    update: EnvUpdate,
) {
    views_tx.send_modify(|v| {
        v.insert(update.view.name.clone(), update.view.clone());
    });
    if merge(snapshot, update) {
        snapshot.seq += 1;
        snapshot.taken_at = Some(Timestamp::now());
        snapshot_tx.send_replace(snapshot.clone());
    }
}

/// Folds one env's update into the snapshot; whether anything changed.
fn merge(snapshot: &mut Snapshot, update: EnvUpdate) -> bool {
    let mut changed = false;
    if let Some(slot) = snapshot.envs.get_mut(update.index)
        && *slot != update.state
    {
        *slot = update.state;
        changed = true;
    }
    if update.head.is_some() && snapshot.repo.head != update.head {
        snapshot.repo.head = update.head;
        changed = true;
    }
    if snapshot.repo.error != update.repo_error {
        snapshot.repo.error = update.repo_error;
        changed = true;
    }
    changed
}

/// The guard of a command for every env of this driver, decided before any env sees it.
fn fan_out_guard(
    shared: &Shared,
    senders: &BTreeMap<String, mpsc::Sender<Command>>,
    command: &Command,
) -> Result<(), FailureReason> {
    let Command::Resume { confirm, .. } = command else {
        return Ok(());
    };
    // Config order (dev → staging → production), as the operator reads them everywhere.
    let envs: Vec<(&str, bool)> = shared
        .config
        .environments
        .iter()
        .filter(|e| senders.contains_key(&e.name))
        .map(|e| (e.name.as_str(), e.protected))
        .collect();
    fan_out_confirmation(&envs, Guarded::Resume, confirm)
}

async fn route(
    shared: &Arc<Shared>,
    senders: &BTreeMap<String, mpsc::Sender<Command>>,
    views: &watch::Receiver<BTreeMap<String, EnvView>>,
    command: Command,
) {
    let env = command.target_env().map(str::to_owned);
    if shared.opts.read_only && command.is_mutating() {
        // Fan-out commands get one refusal per env so each env's follower sees it.
        match &env {
            Some(_) => shared.refuse_read_only(env.clone(), &command).await,
            None => {
                for name in senders.keys() {
                    shared.refuse_read_only(Some(name.clone()), &command).await;
                }
            }
        }
        return;
    }
    if let Command::Promote { .. } = command {
        tokio::spawn(promote::run(shared.clone(), command, views.clone()));
        return;
    }
    match env {
        Some(name) => match senders.get(&name) {
            Some(tx) => {
                if tx.send(command).await.is_err() {
                    tracing::warn!("env {name}: its task has stopped");
                }
            }
            None => {
                let reason = FailureReason::Refused(format!(
                    "no environment named {name:?} in this controller"
                ));
                shared.audit(Some(&name), command.verb(), &format!("refused: {reason}"));
                shared
                    .notify(Notice::Refused {
                        env: Some(name),
                        reason,
                    })
                    .await;
            }
        },
        None => {
            if let Err(reason) = fan_out_guard(shared, senders, &command) {
                for name in senders.keys() {
                    shared.audit(Some(name), command.verb(), &format!("refused: {reason}"));
                    shared
                        .notify(Notice::Refused {
                            env: Some(name.clone()),
                            reason: reason.clone(),
                        })
                        .await;
                }
                return;
            }
            for (name, tx) in senders {
                if tx.send(command.clone()).await.is_err() {
                    tracing::warn!("env {name}: its task has stopped");
                }
            }
        }
    }
}
