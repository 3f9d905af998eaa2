//! The env task's live side: watch caches of the env's kinds trigger re-observation, a quiet
//! tick confirms the last observation without a request, and observation results are taken
//! in. A child module of the env task, sharing its private state.
//!
//! Decisions: an observation is the same diff as `status` and `diff` make (so they agree on
//! every field), over a `LiveSet` read from the env's watch stores once every watch has listed
//! (`controller::read_live`): a watch event costs no list. Live is listed instead at cold start
//! (the first observation, which also discovers the prune kinds the watches then follow), while
//! any watch is failing or slow to list (then every second, as before), for a few seconds
//! after this task's own apply ([`LIST_AFTER_APPLY`]: the stores may not hold it yet), and on
//! the periodic resync, `live_resync:` in the config (default 5 min; a watch can be stuck
//! without an error). A watch just started (the prune kinds the first list discovered, or the
//! kinds of a new head) is waited for, not listed beside: its first list is the same request,
//! and listing every kind because one store is still filling cost a whole re-list of the env
//! right after every cold start. Past [`WATCH_START_GRACE`] a slow first list no longer holds
//! the observation back.
//! Dry-runs are asked only for objects whose live `resourceVersion` moved since the last answer,
//! or whose answer is older than `controller::PREDICTION_TTL` (the env task's
//! `PredictionCache`), so a change to one object costs one dry-run, and an idle env none.

use std::time::{Duration, Instant};

use std::sync::Arc;

use jiff::Timestamp;
use tokio::sync::watch;

use crate::cluster::LiveCache;
use crate::model::{DriftCount, Health};

use super::super::super::LiveSource;
use super::super::super::engine::Event;
use super::super::jobs::LiveObs;
use super::EnvTask;

/// Failed live observations are reported only once the last good one is this old.
pub(super) const LIVE_GRACE: Duration = Duration::from_secs(30);

/// For this long after this task's own apply, observations list instead of reading the
/// watches: a store may not have received the apply's changes yet (a watch delivers them a
/// moment later, longer while it reconnects), and an observation from it would show the
/// objects just applied as drift, which self-heal would then "repair" with a second operation.
pub(super) const LIST_AFTER_APPLY: Duration = Duration::from_secs(5);

/// How long an observation waits for a new watch's first list instead of listing
/// (`LiveCache::starting`).
pub(super) const WATCH_START_GRACE: Duration = Duration::from_secs(10);

/// A good observation's summary, when it was taken, and the `live_gen` it was made at.
pub(in super::super) struct LastObservation {
    at: Instant,
    generation: u64,
    drift: DriftCount,
    health: Health,
}

impl LastObservation {
    fn younger_than(&self, age: Duration) -> bool {
        self.at.elapsed() < age
    }
}

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

    /// Whether the next observation lists rather than reads the watches: never listed yet, or
    /// the last list is older than the configured `live_resync`.
    /// Also right after this task's own apply ([`LIST_AFTER_APPLY`]).
    pub(super) fn resync_due(&self) -> bool {
        self.live_listed_at
            .is_none_or(|t| t.elapsed() >= self.shared.config.live_resync)
            || self
                .applied_at
                .is_some_and(|t| t.elapsed() < LIST_AFTER_APPLY)
    }

    /// Once a second: with every watch listed, healthy and quiet since the last observation
    /// (made at the current head) and no resync due, that observation still holds and is
    /// confirmed as of now without a request; otherwise live is observed again.
    pub(super) async fn live_tick(&mut self) {
        let current = !self.live_busy
            && !self.live_dirty
            && self.live_cache.as_ref().is_some_and(|c| {
                let status = c.status();
                status.ready && status.error.is_none()
            });
        match &self.live_last {
            Some(last) if current && last.generation == self.live_gen && !self.resync_due() => {
                let (drift, health) = (last.drift, last.health.clone());
                self.feed(Event::LiveObserved {
                    drift,
                    health,
                    at: Timestamp::now(),
                })
                .await;
            }
            _ => self.observe_live(),
        }
    }

    /// An observation's result: taken if made at the current head, else observed again.
    pub(super) async fn on_live(&mut self, generation: u64, result: Result<LiveObs, String>) {
        self.live_busy = false;
        if result
            .as_ref()
            .is_ok_and(|obs| obs.source == LiveSource::Listed)
        {
            // The resync clock restarts before any re-observation below, which then reads the
            // watches; the list discovered the prune kinds, which the watches follow from now.
            self.live_listed_at = Some(Instant::now());
            self.rewatch();
        }
        if generation != self.live_gen {
            self.observe_live();
            return;
        }
        if self.live_dirty {
            // Changed while observed: this result may already be out of date, but it
            // is newer than the last; take it and look again.
            self.observe_live();
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
                self.live_last = Some(LastObservation {
                    at: Instant::now(),
                    generation,
                    drift: count,
                    health: health.clone(),
                });
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
            Err(error) => {
                let recent = self
                    .live_last
                    .as_ref()
                    .is_some_and(|l| l.younger_than(LIVE_GRACE));
                if recent {
                    tracing::debug!(env = %self.env.name, "live observation failed: {error}");
                } else {
                    self.feed(Event::LiveUnavailable { error, at }).await;
                }
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
