//! The env task's life: building it, connecting to its cluster, publishing its merged state to
//! the driver, and the bounded shutdown (the last ConfigMap write, then the Lease given up). A
//! child module of the env task, sharing its private state.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::cluster::Cluster;
use crate::config::EnvConfig;
use crate::model::{Command, EnvState};

use super::super::super::engine::{Engine, Event, GitPoll, LiveGate, Policy, StateIo, Waiting};
use super::super::super::{PredictionCache, base_state};
use super::super::jobs::{self, SourceSlot};
use super::super::{EnvUpdate, Shared};
use super::EnvTask;

/// How long shutdown waits for the last ConfigMap write.
const FLUSH_WAIT: Duration = Duration::from_secs(10);

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
            git: GitPoll::default(),
            state_io: StateIo::default(),
            state_watch: None,
            state_error: None,
            live: LiveGate::default(),
            live_cache: None,
            live_changes: None,
            heal_desired: None,
            predictions: PredictionCache::default(),
            lease_mine: false,
            applied: None,
            validating: None,
            waiting: Waiting::<Command>::default(),
            last_sent: None,
        }
    }

    pub(super) async fn on_cluster(&mut self, result: Result<Arc<Cluster>, String>) {
        self.connecting = false;
        match result {
            Ok(cluster) => {
                self.cluster = Some(cluster);
                self.cluster_error = None;
                self.rewatch();
                self.watch_state();
                let step = self.state_io.connected();
                self.state_step(step).await;
                self.lease();
                self.observe_live();
            }
            Err(error) => {
                self.cluster_error = Some(error.clone());
                let at = Timestamp::now();
                self.feed(Event::LiveUnavailable { error, at }).await;
            }
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
                .or_else(|| self.git.error().map(str::to_owned))
                .or_else(|| self.state_error.clone());
        }
        state
    }

    pub(super) async fn publish(&mut self) {
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
            repo_error: self.git.error().map(str::to_owned),
        };
        self.last_sent = Some(current);
        if self.update_tx.send(update).await.is_err() {
            tracing::debug!(env = %self.env.name, "driver gone");
        }
    }

    /// Waits (bounded) for the last ConfigMap write, then gives the Lease up.
    pub(super) async fn shutdown(mut self) {
        if let Some(task) = self.state_watch.take() {
            task.abort();
        }
        if let Some((_, task)) = self.validating.take() {
            task.abort();
        }
        let deadline = tokio::time::Instant::now() + FLUSH_WAIT;
        while self.state_io.unflushed() {
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

/// A timer whose missed ticks are delayed, not burst: a busy task catches up with one tick.
pub(super) fn ticker(period: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(period);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}
