//! The driver's observation jobs: one read of the env's live state against a render
//! ([`observe_live`]) and, under a rejected head, the same read against the synced revision's
//! render for self-heal ([`observe_heal`]).
//!
//! Decisions: live comes from the watch stores when they can stand for a list, else it is
//! listed (`controller::read_live` decides), and only objects the prediction cache holds no
//! valid answer for are dry-run again. One observation is bounded by [`OBSERVE_TIMEOUT`]: a
//! cluster that does not answer is reported as an error naming its context, never waited on.
//! A heal observation that cannot render or read returns `None`, so self-heal waits as it does
//! for any failed observation rather than acting on a guess.

use std::sync::Arc;
use std::time::Duration;

use crate::cluster::{Cluster, LiveCache};
use crate::config::EnvConfig;
use crate::controller::driver::Shared;
use crate::controller::{Desired, LiveSource, PredictionCache, assess, read_live};
use crate::model::{Drift, DriftCount, EnvState, Health, PodRow, ResourceRow};

use super::git::{SourceSlot, render_at};

/// How long one live observation may take.
const OBSERVE_TIMEOUT: Duration = Duration::from_secs(20);

/// What one live observation found.
pub(in super::super) struct LiveObs {
    pub drift: Vec<Drift>,
    pub resources: Vec<ResourceRow>,
    pub pods: Vec<PodRow>,
    pub images: std::collections::BTreeMap<String, Vec<String>>,
    pub health: Health,
    pub unreadable: Vec<String>,
    /// Drift from the synced revision, observed only under a rejected head.
    pub heal: Option<HealObs>,
    /// Whether live was read from the watch stores or listed.
    pub source: LiveSource,
}

/// Live against the render of `Engine::heal_target`.
pub(in super::super) struct HealObs {
    pub desired: Arc<Desired>,
    pub drift: DriftCount,
}

/// One observation: live from the watch stores of `cache` when they can stand for a list,
/// else listed (`controller::read_live`; `None`: list); dry-runs only what `predictions` holds
/// no valid answer for.
pub(in super::super) async fn observe_live(
    cluster: Arc<Cluster>,
    env: EnvConfig,
    desired: Arc<Desired>,
    predictions: PredictionCache,
    cache: Option<Arc<LiveCache>>,
) -> Result<LiveObs, String> {
    let work = async {
        let (live, source) = read_live(
            cache.as_deref(),
            &cluster,
            &env,
            &desired.rendered.manifests,
        )
        .await
        .map_err(|e| e.to_string())?;
        let predicted = predictions.predict(&cluster, &env, &desired, &live).await;
        let mut state = EnvState::unknown(&env.name);
        assess(&mut state, &env, &desired, &live, &predicted);
        Ok(LiveObs {
            drift: state.drift,
            resources: state.resources,
            pods: state.pods,
            images: state.images,
            health: state.health,
            unreadable: state.unreadable,
            heal: None,
            source,
        })
    };
    match tokio::time::timeout(OBSERVE_TIMEOUT, work).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "context {}: no answer within {}s",
            env.context,
            OBSERVE_TIMEOUT.as_secs()
        )),
    }
}

/// Drift of live from `revision`'s render (`cached` when it is that revision's), for self-heal
/// under a rejected head. `None` when it cannot be rendered or observed: self-heal then waits,
/// as for any failed observation.
#[allow(clippy::too_many_arguments)]
pub(in super::super) async fn observe_heal(
    shared: Arc<Shared>,
    cluster: Arc<Cluster>,
    env: EnvConfig,
    source: SourceSlot,
    cached: Option<Arc<Desired>>,
    revision: String,
    predictions: PredictionCache,
    cache: Option<Arc<LiveCache>>,
) -> Option<HealObs> {
    let desired = match cached.filter(|d| d.revision.sha == revision) {
        Some(d) => d,
        None => render_at(&shared, &env, &source, revision).await.ok()?,
    };
    let obs = observe_live(cluster, env, desired.clone(), predictions, cache)
        .await
        .ok()?;
    Some(HealObs {
        drift: DriftCount::of(&obs.drift),
        desired,
    })
}
