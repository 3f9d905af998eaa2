//! One environment's task: owns the env's [`Engine`] and its IO gates, turns timers and job
//! results into events, runs the effects and gate steps, and reports the env's merged state.
//!
//! Imports the controller's own modules and `cluster`. Every slow thing (git2, kube calls) runs
//! in a spawned job that answers on this task's message channel, so the loop never waits on
//! IO. What may happen when (one ConfigMap read or write in flight, the head held back for a
//! fresh state read, one Git poll, commands waiting for the env to be known) is decided by the
//! pure gates in `engine` ([`StateIo`], [`GitPoll`], [`LiveGate`], [`Waiting`]), tested there;
//! this file is the struct, the select loop and the dispatch, its child modules the handlers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::cluster::{Cluster, LiveCache};
use crate::config::EnvConfig;
use crate::model::{Command, Commit, EnvState};

use super::super::engine::{Engine, Event, GitPoll, LiveGate, OpId, STATE_POLL, StateIo, Waiting};
use super::super::held_io::LoadedState;
use super::super::{Desired, PredictionCache};
use super::jobs::{GitChange, LiveObs, SourceSlot};
use super::{EnvUpdate, Shared};

mod effects;
mod git;
mod lifecycle;
mod live;
mod repo_watch;
mod starts;
mod state;

pub use super::super::engine::READY_WAIT;
use lifecycle::ticker;
pub(super) use repo_watch::watch_repo;

/// The Git tick: a remote's mirror refs are read this often (cheap), so a commit another env
/// task made in it is seen within a second; a watched local repository is read on its watcher's
/// events instead (`env/repo_watch.rs`). The tick also releases a head past `STATE_GATE`.
const GIT_POLL: Duration = Duration::from_millis(300);
/// How often the live side is looked at: while the env's watches are healthy and quiet this
/// only confirms the last observation (no requests); otherwise live is re-listed and re-diffed.
const LIVE_POLL: Duration = Duration::from_secs(1);
/// The Lease is read (and, with automation, acquired or renewed) this often.
const LEASE_POLL: Duration = Duration::from_secs(5);

/// Results of jobs, back on the env task.
pub(super) enum Msg {
    Event(Event),
    /// A Git poll's result; `fetched`: it fetched from the remote (`GitPoll::ended`).
    Git {
        fetched: bool,
        result: Result<Option<GitChange>, String>,
    },
    Live {
        generation: u64,
        result: Result<LiveObs, String>,
    },
    StateRead(Result<LoadedState, String>),
    /// Err: (409 conflict, message).
    StateStored {
        seq: u64,
        result: Result<String, (bool, String)>,
    },
    Applied {
        event: Event,
        desired: Option<Arc<Desired>>,
        warnings: Vec<String>,
    },
    Cluster(Result<Arc<Cluster>, String>),
    /// The state ConfigMap's watch: its resourceVersion after a change (`None`: absent), or
    /// the watch's error (it re-lists by itself).
    StateChanged(Result<Option<String>, String>),
}

pub(super) struct EnvTask {
    shared: Arc<Shared>,
    env: EnvConfig,
    index: usize,
    update_tx: mpsc::Sender<EnvUpdate>,
    engine: Engine,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    source: SourceSlot,
    /// A local repository's refs, watched (`env/repo_watch.rs`); `None`: polled every tick.
    repo_watch: Option<repo_watch::RepoWatch>,
    cluster: Option<Arc<Cluster>>,
    connecting: bool,
    cluster_error: Option<String>,
    head_sha: Option<String>,
    head_desired: Option<Arc<Desired>>,
    head_commit: Option<Commit>,
    git: GitPoll,
    /// The state ConfigMap's IO gate, holding a new head back for its fresh read.
    state_io: StateIo<GitChange>,
    state_watch: Option<JoinHandle<()>>,
    state_error: Option<String>,
    live: LiveGate,
    /// Watch caches of the env's kinds: what observations, validation and prune read.
    live_cache: Option<Arc<LiveCache>>,
    live_changes: Option<watch::Receiver<u64>>,
    /// The render of `Engine::heal_target` (the synced revision under a rejected head).
    heal_desired: Option<Arc<Desired>>,
    /// Dry-run answers kept between observations (`controller::predictions`).
    predictions: PredictionCache,
    lease_mine: bool,
    applied: Option<(OpId, Arc<Desired>)>,
    validating: Option<(OpId, JoinHandle<()>)>,
    waiting: Waiting<Command>,
    /// Drift rows, resources, pods and commits: what the engine does not keep.
    state: EnvState,
    last_sent: Option<(EnvState, Option<Commit>)>,
}

impl EnvTask {
    /// `repo_changes`: the repository watch's event counter ([`watch_repo`]); `None`: the
    /// repository is polled every tick.
    pub async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        repo_changes: Option<watch::Receiver<u64>>,
    ) {
        self.connect();
        self.repo_watch = repo_changes.map(repo_watch::RepoWatch::new);
        self.poll_git(true);
        let (mut git_tick, mut live_tick) = (ticker(GIT_POLL), ticker(LIVE_POLL));
        let (mut state_tick, mut lease_tick) = (ticker(STATE_POLL), ticker(LEASE_POLL));
        loop {
            // Whether the branch may have changed what the env shows; job starters do not.
            let touched = tokio::select! {
                biased;
                Some(msg) = self.rx.recv() => {
                    self.on_msg(msg).await;
                    true
                }
                command = commands.recv() => match command {
                    Some(command) => {
                        self.waiting.push(Instant::now(), command);
                        false
                    }
                    None => break,
                },
                Some(()) = live::changed(&mut self.live_changes) => {
                    self.live.changed();
                    self.observe_live();
                    false
                }
                Some(()) = repo_watch::changed(&mut self.repo_watch) => {
                    self.poll_git(false);
                    false
                }
                _ = git_tick.tick() => self.git_tick().await,
                _ = live_tick.tick() => {
                    self.live_tick().await;
                    true
                }
                _ = state_tick.tick() => {
                    let step = self.state_io.tick(Instant::now());
                    self.state_step(step).await;
                    false
                }
                _ = lease_tick.tick() => {
                    self.lease();
                    false
                }
            };
            let released = self.release_waiting().await;
            if touched || released {
                self.publish().await;
            }
        }
        self.shutdown().await;
    }

    async fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Event(event) => self.feed(event).await,
            Msg::Cluster(result) => self.on_cluster(result).await,
            Msg::Git { fetched, result } => self.on_git(fetched, result).await,
            Msg::Live { generation, result } => self.on_live(generation, result).await,
            Msg::StateRead(result) => self.on_state_read(result).await,
            Msg::StateChanged(item) => self.on_state_changed(item).await,
            Msg::StateStored { seq, result } => self.on_state_stored(seq, result).await,
            Msg::Applied {
                event,
                desired,
                warnings,
            } => self.on_applied(event, desired, warnings).await,
        }
    }
}
