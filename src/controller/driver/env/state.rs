//! The env task's cluster-held state side: runs the steps of the state IO gate
//! ([`StateIo`](crate::controller::engine::StateIo): one ConfigMap read or write in flight, the
//! new head held back for its fresh read) and feeds their results to the gate and the engine.
//! A child module of the env task, sharing its private state.

use std::time::Instant;

use jiff::Timestamp;

use super::super::super::engine::{Event, StateStep};
use super::super::super::held_io::{LoadedState, load_held, store_held};
use super::super::jobs::GitChange;
use super::{EnvTask, Msg};

impl EnvTask {
    /// Starts the read or write a gate step asks for; a released head is returned for the
    /// caller to feed (it is async, the effect runner that also starts IO is not).
    pub(super) fn state_job(&mut self, step: Option<StateStep<GitChange>>) -> Option<GitChange> {
        let job = match step? {
            StateStep::Head(change) => return Some(change),
            job => job,
        };
        // The gate starts IO only once connected (`StateIo::connected`).
        let cluster = self.cluster.clone()?;
        let env = self.env.clone();
        match job {
            StateStep::Read => self.spawn_msg(async move {
                Msg::StateRead(load_held(&cluster, &env).await.map_err(|e| e.to_string()))
            }),
            StateStep::Write {
                seq,
                state,
                resource_version,
            } => self.spawn_msg(async move {
                let result = store_held(&cluster, &env, &state, resource_version.as_deref())
                    .await
                    .map_err(|e| (e.status_code() == Some(409), e.to_string()));
                Msg::StateStored { seq, result }
            }),
            StateStep::Head(_) => {}
        }
        None
    }

    /// [`EnvTask::state_job`], feeding a released head.
    pub(super) async fn state_step(&mut self, step: Option<StateStep<GitChange>>) {
        if let Some(change) = self.state_job(step) {
            self.feed_git(change).await;
        }
    }

    pub(super) async fn on_state_read(&mut self, result: Result<LoadedState, String>) {
        let now = Instant::now();
        match result {
            Ok(loaded) => {
                self.state_io.read_ended(now, Ok(loaded.resource_version));
                // Fed even with a write queued: the engine lays its pending changes over the
                // fresh state and asks for a write at the new version.
                self.state_error = None;
                self.feed(Event::ClusterStateLoaded {
                    state: loaded.state,
                    at: Timestamp::now(),
                })
                .await;
            }
            Err(e) => {
                self.state_io.read_ended(now, Err(()));
                tracing::warn!(env = %self.env.name, "reading cluster-held state: {e}");
                self.state_error = Some(format!(
                    "cannot read ConfigMap driftdeck-{}: {e}",
                    self.env.name
                ));
            }
        }
        let step = self.state_io.after_io();
        self.state_step(step).await;
    }

    pub(super) async fn on_state_changed(&mut self, item: Result<Option<String>, String>) {
        let (broke, step) = self
            .state_io
            .watched(item.as_ref().cloned().map_err(|_| ()));
        if let (true, Err(e)) = (broke, &item) {
            tracing::debug!(env = %self.env.name, "state watch: {e}");
        }
        self.state_step(step).await;
    }

    pub(super) async fn on_state_stored(
        &mut self,
        seq: u64,
        result: Result<String, (bool, String)>,
    ) {
        let at = Timestamp::now();
        let (conflict, result) = match result {
            Ok(rv) => {
                self.state_io.write_ended(Ok(rv));
                (false, Ok(()))
            }
            Err((conflict, error)) => {
                self.state_io.write_ended(Err(()));
                (conflict, Err(error))
            }
        };
        self.feed(Event::StateWritten { seq, result, at }).await;
        // On a 409 another console wrote first: the gate re-reads; the engine merges its
        // pending changes over the fresh state and writes again.
        let step = self.state_io.after_write(conflict);
        self.state_step(step).await;
    }
}
