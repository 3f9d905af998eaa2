//! One environment's task: owns the env's [`Engine`], turns timers and job results into
//! events, runs the engine's effects, and reports the env's merged state to the driver.
//!
//! Imports the controller's own modules and `cluster`. Every slow thing (git2, kube calls) runs
//! in a spawned job that answers on this task's message channel, so the loop never waits on
//! IO and effect results arrive as ordinary events. Cluster-held state IO is serialized (one
//! read or write in flight) so a write always carries the resourceVersion of the latest read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::cluster::{Cluster, LiveCache};
use crate::config::EnvConfig;
use crate::model::{Command, Commit, EnvState, Notice};

use live::changed;

use super::super::engine::{Effect, Engine, Event, HeldState, OpId, Policy};
use super::super::held_io::LoadedState;
use super::super::{Desired, PredictionCache, base_state};
use super::jobs::{self, GitChange, LiveObs, SourceSlot};
use super::{EnvUpdate, Shared, validate};

mod live;
mod repo_watch;
mod starts;

pub(super) use repo_watch::watch_repo;

/// How long a command waits for the env's first state read and Git observation.
pub const READY_WAIT: Duration = Duration::from_secs(15);
/// The Git tick: a remote's mirror refs are read this often (cheap), so a commit another env
/// task made in it is seen within a second; a watched local repository is read on its watcher's
/// events instead (`env/repo_watch.rs`). The tick also releases a head waiting for the state
/// read (`STATE_GATE`).
const GIT_POLL: Duration = Duration::from_millis(300);
/// How often the live side is looked at: while the env's watches are healthy and quiet this
/// only confirms the last observation (no requests); otherwise live is re-listed and re-diffed.
/// A watch event, an apply or a new head re-observe at once.
const LIVE_POLL: Duration = Duration::from_secs(1);
/// Cluster-held state is re-read this often while its watch is not healthy, to see other
/// consoles' pauses and holds: an emergency stop (`pause --all`) then shows in every console
/// within about a second. Each read is a ConfigMap GET per env.
const STATE_POLL: Duration = Duration::from_secs(1);
/// With the state ConfigMap's watch healthy, a change is read as soon as the watch reports it
/// (a pause shows in other consoles within a round trip), and the poll only re-reads this
/// often, in case a watch stalls without an error: the idle cost is one GET per env per
/// resync instead of one per second.
const STATE_RESYNC: Duration = Duration::from_secs(10);
/// The Lease is read (and, with automation, acquired or renewed) this often.
const LEASE_POLL: Duration = Duration::from_secs(5);
/// A new head waits at most this long for its fresh state read.
const STATE_GATE: Duration = Duration::from_secs(3);
/// How long shutdown waits for the last ConfigMap write.
const FLUSH_WAIT: Duration = Duration::from_secs(10);

/// Results of jobs, back on the env task.
pub(super) enum Msg {
    Event(Event),
    /// A Git poll's result; `fetched`: it fetched from the remote (only such a poll clears a
    /// fetch error: the cheap local polls in between cannot tell whether the remote is back).
    Git {
        fetched: bool,
        result: Result<Option<GitChange>, String>,
    },
    Live {
        generation: u64,
        result: Result<LiveObs, String>,
    },
    StateRead(Result<LoadedState, String>),
    StateStored {
        seq: u64,
        /// Err: (409 conflict, message).
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
    git_busy: bool,
    git_seen: bool,
    git_error: Option<String>,
    /// `git_error` came from a fetch.
    git_error_fetch: bool,
    /// When Git last answered (the age of the data shown while it fails).
    git_ok_at: Option<Timestamp>,
    last_fetch: Option<Instant>,
    live_busy: bool,
    /// A new head waiting for a state read that started after it was seen, so a pause or
    /// hold written just before the commit is known before automation considers the commit.
    pending_git: Option<(Instant, GitChange)>,
    fresh_read: bool,
    /// Bumped when the head or live changes under an observation in flight: older results
    /// compare live against a stale render and are dropped.
    live_gen: u64,
    /// Watch caches of the env's kinds: what observations, validation and prune read, and
    /// whose change counter triggers re-observation.
    live_cache: Option<Arc<LiveCache>>,
    /// When live was last listed rather than read from the watches (the resync clock).
    live_listed_at: Option<Instant>,
    /// When this task's last apply ended: observations list for a while after it
    /// (`live::LIST_AFTER_APPLY`).
    applied_at: Option<Instant>,
    live_changes: Option<watch::Receiver<u64>>,
    /// A watched object changed since the observation in flight began.
    live_dirty: bool,
    /// The last good observation: what a quiet tick confirms, and what makes a single failed
    /// observation within [`live::LIVE_GRACE`] of it go unreported (a flaky API server must
    /// not stall automation).
    live_last: Option<live::LastObservation>,
    /// The render of `Engine::heal_target` (the synced revision under a rejected head).
    heal_desired: Option<Arc<Desired>>,
    /// Dry-run answers kept between observations (`controller::predictions`).
    predictions: PredictionCache,
    state_busy: bool,
    state_rv: Option<String>,
    /// The state ConfigMap's watch task, and whether its last item was not an error.
    state_watch: Option<JoinHandle<()>>,
    state_watch_ok: bool,
    /// When the state was last read successfully (the poll skips reads within
    /// [`STATE_RESYNC`] of it while the watch is healthy).
    state_read_at: Option<Instant>,
    /// The watch reported a change while a read or write was in flight: read once it ends.
    state_stale: bool,
    queued_write: Option<(u64, HeldState)>,
    loaded: bool,
    state_error: Option<String>,
    lease_mine: bool,
    applied: Option<(OpId, Arc<Desired>)>,
    validating: Option<(OpId, JoinHandle<()>)>,
    waiting: Vec<(Instant, Command)>,
    /// Drift rows, resources, pods and commits: what the engine does not keep.
    state: EnvState,
    last_sent: Option<(EnvState, Option<Commit>)>,
}

impl EnvTask {
    pub fn new(
        shared: Arc<Shared>,
        env: EnvConfig,
        index: usize,
        update_tx: mpsc::Sender<EnvUpdate>,
    ) -> Self {
        let policy = Policy {
            auto_sync: env.auto_sync,
            self_heal: env.self_heal,
            prune: env.prune,
            auto_rollback: env.auto_rollback,
            protected: env.protected,
            validation_timeout: shared.config.validation_timeout,
            allow_empty: env.allow_empty,
        };
        let engine = Engine::new(
            env.name.clone(),
            shared.opts.operator.clone(),
            policy,
            shared.opts.read_only,
        );
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            state: base_state(&env),
            shared,
            env,
            index,
            update_tx,
            engine,
            tx,
            rx,
            source: SourceSlot::default(),
            repo_watch: None,
            cluster: None,
            connecting: false,
            cluster_error: None,
            head_sha: None,
            head_desired: None,
            head_commit: None,
            git_busy: false,
            git_seen: false,
            git_error: None,
            git_error_fetch: false,
            git_ok_at: None,
            last_fetch: None,
            live_busy: false,
            pending_git: None,
            fresh_read: false,
            live_gen: 0,
            live_cache: None,
            live_listed_at: None,
            applied_at: None,
            live_changes: None,
            live_dirty: false,
            live_last: None,
            heal_desired: None,
            predictions: PredictionCache::default(),
            state_busy: false,
            state_rv: None,
            state_watch: None,
            state_watch_ok: false,
            state_read_at: None,
            state_stale: false,
            queued_write: None,
            loaded: false,
            state_error: None,
            lease_mine: false,
            applied: None,
            validating: None,
            waiting: Vec::new(),
            last_sent: None,
        }
    }

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
        let mut git_tick = ticker(GIT_POLL);
        let mut live_tick = ticker(LIVE_POLL);
        let mut state_tick = ticker(STATE_POLL);
        let mut lease_tick = ticker(LEASE_POLL);
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
                        self.waiting.push((Instant::now(), command));
                        false
                    }
                    None => break,
                },
                Some(()) = changed(&mut self.live_changes) => {
                    self.live_dirty = true;
                    self.observe_live();
                    false
                }
                Some(()) = repo_watch::changed(&mut self.repo_watch) => {
                    self.poll_git(false);
                    false
                }
                _ = git_tick.tick() => {
                    let gated = self.pending_git.as_ref().is_some_and(|(t, _)| t.elapsed() >= STATE_GATE);
                    if gated && let Some((_, change)) = self.pending_git.take() {
                        self.feed_git(change).await;
                    }
                    let poll_interval = self.shared.config.repo.poll_interval;
                    if self.repo_watch.as_ref().is_none_or(|w| w.tick_polls(poll_interval)) {
                        self.poll_git(false);
                    }
                    gated
                }
                _ = live_tick.tick() => {
                    self.live_tick().await;
                    true
                }
                _ = state_tick.tick() => {
                    let recent = self.state_watch_ok
                        && self.state_read_at.is_some_and(|t| t.elapsed() < STATE_RESYNC);
                    if self.queued_write.is_none() && !recent {
                        self.read_state();
                    }
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

    fn spawn_msg<F>(&self, job: F)
    where
        F: std::future::Future<Output = Msg> + Send + 'static,
    {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let msg = job.await;
            let _ = tx.send(msg);
        });
    }

    /// Feeds waiting commands once the env's state and head are known, or when they waited
    /// long enough (the engine then refuses what it cannot do).
    async fn release_waiting(&mut self) -> bool {
        if self.waiting.is_empty() {
            return false;
        }
        let ready = self.loaded && self.git_seen;
        let expired = self
            .waiting
            .first()
            .is_some_and(|(t, _)| t.elapsed() >= READY_WAIT);
        if !(ready || expired) {
            return false;
        }
        for (_, command) in std::mem::take(&mut self.waiting) {
            let at = Timestamp::now();
            self.feed(Event::Command { command, at }).await;
        }
        true
    }

    async fn feed(&mut self, event: Event) {
        if let Event::LeaseObserved { mine, .. } = &event {
            self.lease_mine = *mine;
        }
        if let Event::ClusterStateLoaded { .. } = &event {
            self.loaded = true;
        }
        for effect in self.engine.handle(event) {
            self.run_effect(effect).await;
        }
    }

    async fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Event(event) => self.feed(event).await,
            Msg::Cluster(result) => {
                self.connecting = false;
                match result {
                    Ok(cluster) => {
                        self.cluster = Some(cluster);
                        self.cluster_error = None;
                        self.rewatch();
                        self.watch_state();
                        self.read_state();
                        self.lease();
                        self.observe_live();
                    }
                    Err(error) => {
                        self.cluster_error = Some(error.clone());
                        self.feed(Event::LiveUnavailable {
                            error,
                            at: Timestamp::now(),
                        })
                        .await;
                    }
                }
            }
            Msg::Git { fetched, result } => {
                self.git_busy = false;
                if result.is_ok() && (fetched || !self.git_error_fetch) {
                    self.git_error = None;
                    self.git_ok_at = Some(Timestamp::now());
                }
                match result {
                    Ok(None) => {}
                    Ok(Some(change)) => {
                        if self.loaded && self.cluster.is_some() {
                            self.pending_git = Some((Instant::now(), change));
                            if self.state_busy {
                                self.fresh_read = true;
                            } else {
                                self.read_state();
                            }
                        } else {
                            self.feed_git(change).await;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(env = %self.env.name, "git: {e}");
                        self.git_error_fetch = fetched;
                        self.git_error = Some(self.git_error_text(&e));
                    }
                }
            }
            Msg::Live { generation, result } => self.on_live(generation, result).await,
            Msg::StateRead(result) => {
                self.state_busy = false;
                match result {
                    Ok(loaded) => {
                        // Fed even with a write queued: the engine lays its pending changes
                        // over the fresh state and asks for a write at the new version.
                        self.state_error = None;
                        self.state_read_at = Some(Instant::now());
                        self.state_rv = loaded.resource_version;
                        self.feed(Event::ClusterStateLoaded {
                            state: loaded.state,
                            at: Timestamp::now(),
                        })
                        .await;
                    }
                    Err(e) => {
                        tracing::warn!(env = %self.env.name, "reading cluster-held state: {e}");
                        self.state_error = Some(format!(
                            "cannot read ConfigMap driftdeck-{}: {e}",
                            self.env.name
                        ));
                    }
                }
                self.after_state_io().await;
            }
            Msg::StateChanged(Ok(rv)) => {
                self.state_watch_ok = true;
                if rv != self.state_rv {
                    self.state_stale = true;
                    self.after_state_io().await;
                }
            }
            Msg::StateChanged(Err(e)) => {
                if self.state_watch_ok {
                    tracing::debug!(env = %self.env.name, "state watch: {e}");
                }
                self.state_watch_ok = false;
            }
            Msg::StateStored { seq, result } => {
                self.state_busy = false;
                let at = Timestamp::now();
                match result {
                    Ok(rv) => {
                        self.state_rv = Some(rv);
                        self.feed(Event::StateWritten {
                            seq,
                            result: Ok(()),
                            at,
                        })
                        .await;
                        self.after_state_io().await;
                    }
                    Err((conflict, error)) => {
                        self.feed(Event::StateWritten {
                            seq,
                            result: Err(error),
                            at,
                        })
                        .await;
                        if conflict {
                            // Another console wrote first: re-read; the engine merges its
                            // pending changes over the fresh state and writes again.
                            self.queued_write = None;
                            self.read_state();
                        } else {
                            self.after_state_io().await;
                        }
                    }
                }
            }
            Msg::Applied {
                event,
                desired,
                warnings,
            } => {
                for message in warnings {
                    self.shared
                        .notify(Notice::Warned {
                            env: Some(self.env.name.clone()),
                            message,
                        })
                        .await;
                }
                if let (Event::Applied { op, .. }, Some(d)) = (&event, desired) {
                    self.applied = Some((*op, d));
                }
                self.applied_at = Some(Instant::now());
                self.live_gen += 1;
                self.feed(event).await;
                self.observe_live();
            }
        }
    }

    async fn feed_git(&mut self, change: GitChange) {
        self.git_seen = true;
        self.live_gen += 1;
        self.head_sha = Some(change.sha.clone());
        self.head_commit = change.head;
        self.state.commits = change.commits;
        let render = match change.desired {
            Ok(d) => {
                let summary = jobs::summary(&d);
                self.head_desired = Some(d);
                self.rewatch();
                Ok(summary)
            }
            Err(e) => {
                self.head_desired = None;
                Err(e)
            }
        };
        self.feed(Event::GitObserved {
            revision: change.sha,
            render,
            at: Timestamp::now(),
        })
        .await;
        self.observe_live();
    }

    /// After a ConfigMap read or write: the queued write, else the read a new head waits for,
    /// else the head itself.
    async fn after_state_io(&mut self) {
        if self.state_busy {
            return;
        }
        if self.queued_write.is_some() {
            self.start_queued_write();
            return;
        }
        if self.state_stale {
            self.state_stale = false;
            self.read_state();
            return;
        }
        if self.pending_git.is_some() && self.fresh_read {
            self.fresh_read = false;
            self.read_state();
            return;
        }
        if let Some((_, change)) = self.pending_git.take() {
            self.feed_git(change).await;
        }
    }

    async fn run_effect(&mut self, effect: Effect) {
        match effect {
            Effect::Apply {
                op,
                revision,
                prune,
            } => {
                let shared = self.shared.clone();
                let env = self.env.clone();
                let cluster = self.cluster.clone();
                let source = self.source.clone();
                let head = self
                    .head_desired
                    .clone()
                    .filter(|d| d.revision.sha == revision);
                let cache = self.live_cache.clone();
                let predictions = self.predictions.clone();
                self.spawn_msg(async move {
                    jobs::apply(
                        shared,
                        env,
                        cluster,
                        source,
                        head,
                        op,
                        revision,
                        prune,
                        cache,
                        predictions,
                    )
                    .await
                });
            }
            Effect::Validate { op } => {
                let desired = match &self.applied {
                    Some((id, d)) if *id == op => d.clone(),
                    _ => match &self.head_desired {
                        Some(d) => d.clone(),
                        None => return,
                    },
                };
                if let Some((_, task)) = self.validating.take() {
                    task.abort();
                }
                let task = tokio::spawn(validate::poll(
                    self.cluster.clone(),
                    self.env.clone(),
                    desired,
                    op,
                    self.tx.clone(),
                ));
                self.validating = Some((op, task));
            }
            Effect::StopValidation { op } => {
                if let Some((id, task)) = self.validating.take() {
                    if id == op {
                        task.abort();
                    } else {
                        self.validating = Some((id, task));
                    }
                }
            }
            Effect::WriteState { seq, state } => {
                self.queued_write = Some((seq, state));
                if !self.state_busy {
                    self.start_queued_write();
                }
            }
            Effect::Revert {
                op,
                bad_revision,
                good_revision,
            } => {
                let shared = self.shared.clone();
                let env = self.env.clone();
                let source = self.source.clone();
                self.spawn_msg(async move {
                    jobs::revert(shared, env, source, op, good_revision, bad_revision).await
                });
            }
            Effect::Refresh => {
                self.poll_git(true);
                self.observe_live();
                if self.queued_write.is_none() {
                    self.read_state();
                }
            }
            Effect::Notify(notice) => self.shared.notify(notice).await,
            Effect::WakeAt(when) => {
                let wait =
                    Duration::try_from(when.duration_since(Timestamp::now())).unwrap_or_default();
                self.spawn_msg(async move {
                    tokio::time::sleep(wait).await;
                    let at = Timestamp::now().max(when);
                    Msg::Event(Event::Tick { at })
                });
            }
            Effect::Audit { action, detail } => {
                self.shared.audit(Some(&self.env.name), &action, &detail);
            }
        }
    }

    /// A Git failure as shown: the error, and which revision is still shown and since when.
    fn git_error_text(&self, error: &str) -> String {
        match (&self.head_sha, self.git_ok_at) {
            (Some(sha), Some(at)) => format!(
                "{error} (showing the last good revision {}, read at {})",
                crate::model::short_sha(sha),
                at.strftime("%H:%M:%S UTC")
            ),
            _ => error.to_owned(),
        }
    }

    /// The env as the snapshot shows it: observation and commits, with the engine's facts.
    fn display(&self) -> EnvState {
        let mut state = self.state.clone();
        self.engine.view().fill(&mut state);
        if state.error.is_none() {
            state.error = self
                .cluster_error
                .clone()
                .map(|e| format!("cluster unreachable: {e}"))
                .or_else(|| self.git_error.clone())
                .or_else(|| self.state_error.clone());
        }
        state
    }

    async fn publish(&mut self) {
        let state = self.display();
        let current = (state, self.head_commit.clone());
        if self.last_sent.as_ref() == Some(&current) {
            return;
        }
        let update = EnvUpdate {
            index: self.index,
            state: current.0.clone(),
            view: self.engine.view(),
            head: current.1.clone(),
            repo_error: self.git_error.clone(),
        };
        self.last_sent = Some(current);
        if self.update_tx.send(update).await.is_err() {
            tracing::debug!(env = %self.env.name, "driver gone");
        }
    }

    /// Waits (bounded) for the last ConfigMap write, then gives the Lease up.
    async fn shutdown(mut self) {
        if let Some(task) = self.state_watch.take() {
            task.abort();
        }
        if let Some((_, task)) = self.validating.take() {
            task.abort();
        }
        let deadline = tokio::time::Instant::now() + FLUSH_WAIT;
        while self.state_busy || self.queued_write.is_some() {
            if self.cluster.is_none() {
                break;
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(msg)) => self.on_msg(msg).await,
                _ => {
                    tracing::warn!(env = %self.env.name, "cluster-held state not flushed before shutdown");
                    break;
                }
            }
        }
        self.publish().await;
        if self.lease_mine
            && let Some(cluster) = &self.cluster
        {
            jobs::release_lease(cluster, &self.env, &self.shared.opts.operator).await;
        }
    }
}

fn ticker(period: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(period);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}
