//! The env task's live side: watch caches of the env's kinds trigger re-observation, a quiet
//! tick confirms the last observation without a request, and observation results are taken
//! in. When to observe, whether to list or read the watches, and which results count is the
//! pure [`LiveGate`](crate::controller::engine::LiveGate)'s to decide (tested in `engine`); this runs what it says. A child module
//! of the env task, sharing its private state.
//!
//! Decisions: an observation is the same diff as `status` and `diff` make (so they agree on
//! every field), over a `LiveSet` read from the env's watch stores once every watch has listed
//! (`controller::read_live`): a watch event costs no list. Live is listed instead at cold start
//! (the first observation, which also discovers the prune kinds the watches then follow), while
//! any watch is failing or slow to list (then every second, as before), for a few seconds
//! after this task's own apply (`LIST_AFTER_APPLY`: the stores may not hold it yet), and on
//! the periodic resync, `live_resync:` in the config (default 5 min; a watch can be stuck
//! without an error). A watch just started (the prune kinds the first list discovered, or the
//! kinds of a new head) is waited for, not listed beside: its first list is the same request,
//! and listing every kind because one store is still filling cost a whole re-list of the env
//! right after every cold start. Past [`WATCH_START_GRACE`] a slow first list no longer holds
//! the observation back.
//! Dry-runs are asked only for objects whose live `resourceVersion` moved since the last answer,
//! or whose answer is older than `controller::PREDICTION_TTL` (the env task's
//! `PredictionCache`), so a change to one object costs one dry-run, and an idle env none.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::watch;

use crate::cluster::LiveCache;
use crate::model::DriftCount;

use super::super::super::LiveSource;
use super::super::super::engine::{Event, LiveResult, LiveStart, LiveTick, SERVER_SILENCE};
use super::super::jobs::{self, LiveObs};
use super::{EnvTask, Msg};

/// How long an observation waits for a new watch's first list instead of listing
/// (`LiveCache::starting`).
const WATCH_START_GRACE: Duration = Duration::from_secs(10);

impl EnvTask {
    /// Points the watch caches at the kinds of the head's render (starting them on first use).
    pub(super) fn rewatch(&mut self) {
        let (Some(cluster), Some(desired)) = (&self.cluster, &self.head_desired) else {
            return;
        };
        let cache = self
            .live_cache
            .get_or_insert_with(|| Arc::new(LiveCache::new(cluster.clone())));
        if self.live_changes.is_none() {
            self.live_changes = Some(cache.subscribe());
        }
        cache.watch(&crate::controller::watch_specs(
            cluster,
            &self.env,
            &desired.rendered.manifests,
        ));
    }

    /// Whether the env's API server answered within `SERVER_SILENCE` (see `LiveGate`).
    fn server_answering(&self) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.answered_within(SERVER_SILENCE))
    }

    /// Observes live if the gate allows it now.
    pub(super) fn observe_live(&mut self) {
        let inputs = (
            self.engine.applying(),
            self.cluster.is_some(),
            self.head_desired.is_some(),
            self.server_answering(),
        );
        let resync = self.shared.config.live_resync;
        let cache = &self.live_cache;
        let starting = || {
            cache
                .as_ref()
                .is_some_and(|c| c.starting(WATCH_START_GRACE))
        };
        let (generation, from_watches) =
            match self.live.start(Instant::now(), resync, inputs, starting) {
                LiveStart::Wait => return,
                LiveStart::Connect => return self.connect(),
                LiveStart::Observe {
                    generation,
                    from_watches,
                } => (generation, from_watches),
            };
        let (Some(cluster), Some(desired)) = (self.cluster.clone(), self.head_desired.clone())
        else {
            return; // `start` saw both.
        };
        // Without a cache the observation lists.
        let cache = self.live_cache.clone().filter(|_| from_watches);
        let env = self.env.clone();
        // Under a rejected head, also drift from the synced revision: what self-heal keeps.
        let heal = self.engine.heal_target().map(str::to_owned);
        let (shared, source, cached, predictions) = (
            self.shared.clone(),
            self.source.clone(),
            self.heal_desired.clone(),
            self.predictions.clone(),
        );
        self.spawn_msg(async move {
            let mut result = jobs::observe_live(
                cluster.clone(),
                env.clone(),
                desired,
                predictions.clone(),
                cache.clone(),
            )
            .await;
            if let (Ok(obs), Some(revision)) = (&mut result, heal) {
                obs.heal = jobs::observe_heal(
                    shared,
                    cluster,
                    env,
                    source,
                    cached,
                    revision,
                    predictions,
                    cache,
                )
                .await;
            }
            Msg::Live { generation, result }
        });
    }

    /// Once a second: the last observation confirmed as of now without a request, when the
    /// gate finds it still holds (every watch listed, healthy and quiet); else observed again.
    pub(super) async fn live_tick(&mut self) {
        let quiet = self.live_cache.as_ref().is_some_and(|c| {
            let status = c.status();
            status.ready && status.error.is_none()
        });
        let resync = self.shared.config.live_resync;
        let answering = self.server_answering();
        match self.live.tick(Instant::now(), resync, quiet, answering) {
            LiveTick::Confirm { drift, health } => {
                let at = Timestamp::now();
                self.feed(Event::LiveObserved { drift, health, at }).await;
            }
            LiveTick::Observe => self.observe_live(),
        }
    }

    /// An observation's result: taken if made at the current head, else observed again.
    pub(super) async fn on_live(&mut self, generation: u64, result: Result<LiveObs, String>) {
        let listed = result
            .as_ref()
            .is_ok_and(|obs| obs.source == LiveSource::Listed);
        let verdict = self.live.ended(Instant::now(), generation, listed);
        if listed {
            // The list discovered the prune kinds, which the watches follow from now.
            self.rewatch();
        }
        match verdict {
            LiveResult::Drop => return self.observe_live(),
            // Changed while observed: this result may already be out of date, but it is
            // newer than the last; take it and look again.
            LiveResult::Take { again: true } => self.observe_live(),
            LiveResult::Take { again: false } => {}
        }
        let at = Timestamp::now();
        match result {
            Ok(mut obs) => {
                if let Some(heal) = obs.heal.take() {
                    let revision = heal.desired.revision.sha.clone();
                    self.heal_desired = Some(heal.desired);
                    let drift = heal.drift;
                    self.feed(Event::HealDriftObserved {
                        revision,
                        drift,
                        at,
                    })
                    .await;
                }
                let count = DriftCount::of(&obs.drift);
                let health = obs.health.clone();
                self.live
                    .observed(Instant::now(), generation, count, health.clone());
                self.state.drift = obs.drift;
                self.state.resources = obs.resources;
                self.state.pods = obs.pods;
                self.state.images = obs.images;
                self.state.unreadable = obs.unreadable;
                self.feed(Event::LiveObserved {
                    drift: count,
                    health,
                    at,
                })
                .await;
            }
            Err(error) if self.live.failure_shown(Instant::now()) => {
                self.feed(Event::LiveUnavailable { error, at }).await;
            }
            Err(error) => {
                tracing::debug!(env = %self.env.name, "live observation failed: {error}");
            }
        }
    }
}

/// The next change of a watch counter; never, without one (or once its sender is gone).
pub(super) async fn changed(rx: &mut Option<watch::Receiver<u64>>) -> Option<()> {
    if let Some(rx) = rx
        && rx.changed().await.is_ok()
    {
        return Some(());
    }
    std::future::pending().await
}
