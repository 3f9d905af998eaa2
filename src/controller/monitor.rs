//! The monitor: a small, honest stand-in for the reconcile driver (issue 5). It observes every
//! env on a timer and on `Refresh`, publishes each observation as a [`Snapshot`], and executes
//! `Sync` (apply at a revision, no prune, no validation). Every other mutating command is
//! refused with a reason that says so; in read-only mode every mutating command is refused.
//!
//! May import model, config, source, render, cluster through the controller's own modules.
//! Must not panic, must not block the runtime (Git work runs on the blocking pool), and must
//! not touch the terminal: errors land in `EnvState::error` and in [`Notice`]s.
//!
//! Decisions where the design was silent:
//! - The poll period is the repo's `poll_interval` clamped to 2–5 s, so the console is live on
//!   the demo without hammering a real cluster.
//! - Operations this console ran are kept in `EnvState::history` in memory (newest first, 50)
//!   until cluster-held history exists; a failed sync's reason stays in `EnvState::error` until
//!   that env syncs successfully or its observation reports an error of its own.
//! - One command at a time: a sync holds the loop, commands queue in the channel meanwhile.
//! - The returned future is not `Send` for every lifetime (rustc's higher-ranked lifetime
//!   limitation around `observe`'s `buffer_unordered` of closure-made futures), so callers run
//!   it beside the UI in one task (`select!`/`join!`) rather than `tokio::spawn` it.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{mpsc, watch};

use crate::cluster::{self, Cluster};
use crate::config::{Config, EnvConfig};
use crate::model::{
    Command, Commit, FailureReason, HistoryEntry, Notice, OperationKind, OperationResult,
    RepoState, RunningOperation, Snapshot,
};

use super::{Desired, DesiredError, apply_env, desired, observe_all, open_source};

/// Commits per env in a snapshot (the first page of the history pane).
const COMMITS_PAGE: usize = 50;
/// Operations kept per env in memory.
const HISTORY_KEPT: usize = 50;
/// Shortest and longest time between two observations.
const MIN_PERIOD: Duration = Duration::from_secs(2);
const MAX_PERIOD: Duration = Duration::from_secs(5);

/// Why every verb but sync is refused by this build.
pub const NOT_YET: &str = "promote/rollback/pause arrive with the reconcile controller (issue 5); this build observes and syncs only";

/// How often the monitor observes for a given poll interval.
fn poll_period(poll_interval: Duration) -> Duration {
    poll_interval.clamp(MIN_PERIOD, MAX_PERIOD)
}

/// Runs until the command channel closes (the UI is gone) or nobody watches the snapshots.
pub async fn run_monitor(
    config: Config,
    read_only: bool,
    snapshot_tx: watch::Sender<Snapshot>,
    notice_tx: mpsc::Sender<Notice>,
    mut command_rx: mpsc::Receiver<Command>,
) {
    let seq = snapshot_tx.borrow().seq;
    let mut monitor = Monitor {
        operator: operator(),
        seq,
        config,
        read_only,
        snapshot_tx,
        notice_tx,
        history: BTreeMap::new(),
        failures: BTreeMap::new(),
    };
    let mut ticker = tokio::time::interval(poll_period(monitor.config.repo.poll_interval));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => monitor.publish().await,
            command = command_rx.recv() => match command {
                Some(command) => monitor.handle(command).await,
                None => return,
            },
        }
        if monitor.snapshot_tx.is_closed() {
            return;
        }
    }
}

struct Monitor {
    config: Config,
    read_only: bool,
    operator: String,
    seq: u64,
    snapshot_tx: watch::Sender<Snapshot>,
    notice_tx: mpsc::Sender<Notice>,
    /// This console's operations per env, newest first.
    history: BTreeMap<String, Vec<HistoryEntry>>,
    /// The last failed sync's reason per env, until the env syncs again.
    failures: BTreeMap<String, String>,
}

impl Monitor {
    async fn notify(&self, notice: Notice) {
        if self.notice_tx.send(notice).await.is_err() {
            tracing::debug!("notice dropped: the UI is gone");
        }
    }

    async fn refuse(&self, env: Option<String>, reason: FailureReason) {
        tracing::info!(?env, %reason, "command refused");
        self.notify(Notice::Refused { env, reason }).await;
    }

    fn send(&mut self, mut snapshot: Snapshot) {
        self.seq += 1;
        snapshot.seq = self.seq;
        self.snapshot_tx.send_replace(snapshot);
    }

    /// Observes every env now and publishes the result.
    async fn publish(&mut self) {
        let (observed, git) = tokio::join!(observe_all(&self.config), git_facts(&self.config));
        let mut envs: Vec<_> = observed.into_iter().map(|o| o.state).collect();
        for (env, commits) in envs.iter_mut().zip(git.commits) {
            match commits {
                Ok(c) => env.commits = c,
                Err(e) if env.error.is_none() => env.error = Some(e),
                Err(_) => {}
            }
            if let Some(h) = self.history.get(&env.name) {
                env.history = h.clone();
            }
            if env.error.is_none()
                && let Some(f) = self.failures.get(&env.name)
            {
                env.error = Some(f.clone());
            }
        }
        let (head, error) = match git.head {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        let snapshot = Snapshot {
            seq: 0,
            taken_at: Some(Timestamp::now()),
            read_only: self.read_only,
            repo: RepoState {
                url: self.config.repo.url.clone(),
                branch: self.config.repo.branch.clone(),
                head,
                error,
            },
            envs,
        };
        self.send(snapshot);
    }

    async fn handle(&mut self, command: Command) {
        let target = command_env(&command);
        if command.is_mutating() && self.read_only {
            let reason = FailureReason::ReadOnly(
                "this console was started with --read-only (or in watch mode)".into(),
            );
            return self.refuse(target, reason).await;
        }
        match command {
            Command::Refresh { .. } => self.publish().await,
            Command::Sync { dry_run: true, .. } => {
                let reason = FailureReason::Refused(
                    "dry-run sync from the console arrives with issue 5; press d for the diff"
                        .into(),
                );
                self.refuse(target, reason).await;
            }
            Command::Sync {
                env,
                revision,
                prune,
                ..
            } => {
                let Some(env_config) = self.config.env(&env).cloned() else {
                    let reason = FailureReason::Refused(format!("no environment named {env:?}"));
                    return self.refuse(Some(env), reason).await;
                };
                if prune == Some(true) {
                    let message = "prune arrives with issue 5: extra objects are left in place";
                    self.notify(Notice::Warned {
                        env: Some(env.clone()),
                        message: message.into(),
                    })
                    .await;
                }
                self.sync(&env_config, revision).await;
                self.publish().await;
            }
            Command::Promote { preview: true, .. } => {
                let reason =
                    FailureReason::Refused("promotion previews arrive with the reconcile controller (issue 5); this build observes and syncs only".into());
                self.refuse(target, reason).await;
            }
            Command::Promote { .. }
            | Command::Rollback { .. }
            | Command::Pause { .. }
            | Command::Resume { .. } => {
                self.refuse(target, FailureReason::Refused(NOT_YET.into()))
                    .await;
            }
        }
    }

    /// One sync: render at `revision`, apply, record the outcome and tell the UI.
    async fn sync(&mut self, env: &EnvConfig, revision: Option<String>) {
        let started = Timestamp::now();
        let rendered = render_blocking(&self.config, env, revision.clone()).await;
        let requested = revision.unwrap_or_else(|| self.config.repo.branch.clone());
        let (sha, digest) = match &rendered {
            Ok(d) => (d.revision.sha.clone(), d.rendered.digest.clone()),
            Err(_) => (requested, String::new()),
        };
        self.notify(Notice::OperationStarted {
            env: env.name.clone(),
            op: OperationKind::Sync,
            revision: sha.clone(),
        })
        .await;
        self.show_running(env, &sha, started);
        let outcome = match rendered {
            Ok(d) => apply(&self.config, env, &d).await,
            Err(reason) => Err(reason),
        };
        let (result, resources_changed, failure) = match outcome {
            Ok(n) => (OperationResult::Succeeded, n, None),
            Err(reason) => (OperationResult::Failed, 0, Some(reason)),
        };
        tracing::info!(env = %env.name, revision = %sha, ?result, resources_changed, ?failure, "sync finished");
        match &failure {
            Some(reason) => {
                self.failures
                    .insert(env.name.clone(), format!("sync failed: {reason}"));
            }
            None => {
                self.failures.remove(&env.name);
            }
        }
        let entry = HistoryEntry {
            id: format!("{}-{}", self.operator, started.as_millisecond()),
            op: OperationKind::Sync,
            revision: sha,
            render_digest: digest,
            operator: self.operator.clone(),
            started,
            finished: Some(Timestamp::now()),
            result,
            resources_changed,
            failure,
        };
        let kept = self.history.entry(env.name.clone()).or_default();
        kept.insert(0, entry.clone());
        kept.truncate(HISTORY_KEPT);
        self.notify(Notice::OperationFinished {
            env: env.name.clone(),
            entry,
        })
        .await;
    }

    /// Republishes the last snapshot with the env's running operation filled in.
    fn show_running(&mut self, env: &EnvConfig, sha: &str, started: Timestamp) {
        let mut snapshot = self.snapshot_tx.borrow().clone();
        if let Some(state) = snapshot.envs.iter_mut().find(|e| e.name == env.name) {
            state.operation = Some(RunningOperation {
                op: OperationKind::Sync,
                revision: sha.to_owned(),
                by: self.operator.clone(),
                started,
                phase: "applying".into(),
            });
            self.send(snapshot);
        }
    }
}

fn command_env(command: &Command) -> Option<String> {
    match command {
        Command::Sync { env, .. } | Command::Rollback { env, .. } => Some(env.clone()),
        Command::Promote { to, .. } => Some(to.clone()),
        Command::Pause { target, .. } | Command::Resume { target } => match target {
            crate::model::EnvTarget::One(env) => Some(env.clone()),
            crate::model::EnvTarget::All => None,
        },
        Command::Refresh { env } => env.clone(),
    }
}

/// `user@host/pid`, as the Lease holder will be named.
fn operator() -> String {
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

async fn render_blocking(
    config: &Config,
    env: &EnvConfig,
    revision: Option<String>,
) -> Result<Desired, FailureReason> {
    let config = config.clone();
    let env = env.clone();
    tokio::task::spawn_blocking(move || {
        let source = open_source(&config).map_err(|e| FailureReason::Git(e.to_string()))?;
        desired(&source, &env, revision.as_deref()).map_err(|e| match e {
            DesiredError::Source(e) => FailureReason::Git(e.to_string()),
            e @ DesiredError::Render { .. } => FailureReason::Render(e.to_string()),
        })
    })
    .await
    .unwrap_or_else(|e| Err(FailureReason::Render(format!("render task failed: {e}"))))
}

async fn apply(config: &Config, env: &EnvConfig, d: &Desired) -> Result<usize, FailureReason> {
    let unreachable = |e: String| FailureReason::ClusterUnreachable(e);
    let kubeconfig = cluster::load_kubeconfig(config.kubeconfig.as_deref())
        .map_err(|e| unreachable(e.to_string()))?;
    let cluster = Cluster::connect(kubeconfig.as_ref(), &env.context)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    apply_env(&cluster, env, d).await.map_err(|e| match e {
        e if e.is_unreachable() => FailureReason::ClusterUnreachable(e.to_string()),
        e => FailureReason::Apply(e.to_string()),
    })
}

/// What Git says: the branch head, and each env's first page of commits.
struct GitFacts {
    head: Result<Commit, String>,
    commits: Vec<Result<Vec<Commit>, String>>,
}

async fn git_facts(config: &Config) -> GitFacts {
    let owned = config.clone();
    let count = config.environments.len();
    tokio::task::spawn_blocking(move || git_facts_blocking(&owned))
        .await
        .unwrap_or_else(|e| GitFacts {
            head: Err(format!("git task failed: {e}")),
            commits: (0..count)
                .map(|_| Err(format!("git task failed: {e}")))
                .collect(),
        })
}

fn git_facts_blocking(config: &Config) -> GitFacts {
    let fail_all = |e: String| GitFacts {
        head: Err(e.clone()),
        commits: config.environments.iter().map(|_| Err(e.clone())).collect(),
    };
    let source = match open_source(config) {
        Ok(s) => s,
        Err(e) => return fail_all(e.to_string()),
    };
    if let Err(e) = source.fetch() {
        tracing::warn!("fetch {}: {e}", config.repo.url);
    }
    let head = match source.resolve(None) {
        Ok(r) => r.sha,
        Err(e) => return fail_all(e.to_string()),
    };
    let commits = config
        .environments
        .iter()
        .map(|env| {
            // Commits touching anything the env's render reads; its folder alone when the
            // head does not render (the render error is reported by the observation).
            let inputs = match desired(&source, env, Some(&head)) {
                Ok(d) => d.rendered.inputs,
                Err(_) => vec![super::env_path(env)],
            };
            source
                .history(&inputs, Some(&head), 0, COMMITS_PAGE)
                .map_err(|e| e.to_string())
        })
        .collect();
    GitFacts {
        head: source.commit(&head).map_err(|e| e.to_string()),
        commits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_period_is_clamped_to_two_to_five_seconds() {
        assert_eq!(poll_period(Duration::from_secs(30)), MAX_PERIOD);
        assert_eq!(poll_period(Duration::from_millis(100)), MIN_PERIOD);
        assert_eq!(poll_period(Duration::from_secs(3)), Duration::from_secs(3));
    }

    #[test]
    fn command_env_names_the_target() {
        let c = Command::Promote {
            from: "dev".into(),
            to: "staging".into(),
            message: None,
            force: false,
            confirm: None,
            preview: false,
        };
        assert_eq!(command_env(&c).as_deref(), Some("staging"));
        let all = Command::Pause {
            target: crate::model::EnvTarget::All,
            reason: String::new(),
        };
        assert_eq!(command_env(&all), None);
    }
}
