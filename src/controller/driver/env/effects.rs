//! The env task's executor: feeds events to the engine and runs the effects it returns, starts
//! the jobs that answer them, and releases the commands held back until the env is known
//! ([`Waiting`](crate::controller::engine::Waiting)). A child module of the env task, sharing
//! its private state.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::model::Notice;

use super::super::super::Desired;
use super::super::super::engine::{Effect, Event};
use super::super::{jobs, validate};
use super::{EnvTask, Msg};

impl EnvTask {
    pub(super) fn spawn_msg<F>(&self, job: F)
    where
        F: std::future::Future<Output = Msg> + Send + 'static,
    {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let msg = job.await;
            let _ = tx.send(msg);
        });
    }

    /// Feeds the waiting commands once the env's state and head are known, or once they
    /// waited long enough (the engine then refuses what it cannot do).
    pub(super) async fn release_waiting(&mut self) -> bool {
        let ready = self.state_io.loaded() && self.git.seen();
        let commands = self.waiting.release(Instant::now(), ready);
        if commands.is_empty() {
            return false;
        }
        for command in commands {
            let at = Timestamp::now();
            self.feed(Event::Command { command, at }).await;
        }
        true
    }

    pub(super) async fn feed(&mut self, event: Event) {
        if let Event::LeaseObserved { mine, .. } = &event {
            self.lease_mine = *mine;
        }
        for effect in self.engine.handle(event) {
            self.run_effect(effect).await;
        }
    }

    /// An apply's result: its warnings, the render it applied (what validation compares),
    /// and a fresh look at live.
    pub(super) async fn on_applied(
        &mut self,
        event: Event,
        desired: Option<Arc<Desired>>,
        warnings: Vec<String>,
    ) {
        for message in warnings {
            let env = Some(self.env.name.clone());
            self.shared.notify(Notice::Warned { env, message }).await;
        }
        if let (Event::Applied { op, .. }, Some(d)) = (&event, desired) {
            self.applied = Some((*op, d));
        }
        self.live.applied(Instant::now());
        self.feed(event).await;
        self.observe_live();
    }

    async fn run_effect(&mut self, effect: Effect) {
        match effect {
            Effect::Apply {
                op,
                revision,
                prune,
            } => {
                let (shared, env) = (self.shared.clone(), self.env.clone());
                let (cluster, source) = (self.cluster.clone(), self.source.clone());
                let head = self
                    .head_desired
                    .clone()
                    .filter(|d| d.revision.sha == revision);
                let (cache, predictions) = (self.live_cache.clone(), self.predictions.clone());
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
                let (cluster, env, tx) = (self.cluster.clone(), self.env.clone(), self.tx.clone());
                let task = tokio::spawn(validate::poll(cluster, env, desired, op, tx));
                self.validating = Some((op, task));
            }
            Effect::StopValidation { op } => match self.validating.take() {
                Some((id, task)) if id == op => task.abort(),
                other => self.validating = other,
            },
            Effect::WriteState { seq, state } => {
                let step = self.state_io.write(seq, state);
                self.state_job(step);
            }
            Effect::Revert {
                op,
                bad_revision,
                good_revision,
            } => {
                let (shared, env, source) =
                    (self.shared.clone(), self.env.clone(), self.source.clone());
                self.spawn_msg(async move {
                    jobs::revert(shared, env, source, op, good_revision, bad_revision).await
                });
            }
            Effect::Refresh => {
                self.poll_git(true);
                self.observe_live();
                let step = self.state_io.refresh();
                self.state_job(step);
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
}
