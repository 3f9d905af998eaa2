//! The driver's apply job: `Effect::Apply` — render the revision (or take the head's render),
//! apply it to the cluster in kind order, then prune what the render no longer has — answered
//! as one `Event::Applied`.
//!
//! Decisions: nothing is applied unless the whole revision rendered, and an empty render is
//! refused unless the env allows it (`allow_empty`), because applying nothing and then pruning
//! would empty the env. Prune reads its candidates the way an observation does
//! (`controller::read_live`), so it deletes only what the env's own observation would call
//! extra; a delete that finds the object gone counts as done. Failures are typed
//! ([`FailureReason`]) and say whether they are transient, so the engine decides on retries; the
//! count of objects already changed travels with a failure.

use std::sync::Arc;

use jiff::Timestamp;

use crate::cluster::{self, Cluster, LiveCache};
use crate::config::EnvConfig;
use crate::controller::driver::Shared;
use crate::controller::driver::env::Msg;
use crate::controller::engine::{ApplyFailure, ApplyReport, Event, OpId};
use crate::controller::{Desired, PredictionCache, apply_env, read_live};
use crate::model::FailureReason;

use super::git::{SourceSlot, render_at};

fn cluster_failure(e: &cluster::Error) -> ApplyFailure {
    let transient = e.is_transient();
    ApplyFailure {
        reason: if transient {
            FailureReason::ClusterUnreachable(e.to_string())
        } else {
            FailureReason::Apply(e.to_string())
        },
        transient,
        changed: 0,
    }
}

/// `Effect::Apply`: render the whole revision first (a render error applies nothing), refuse
/// an empty render unless the env allows it, apply in kind order, then prune.
#[allow(clippy::too_many_arguments)]
pub(in super::super) async fn apply(
    shared: Arc<Shared>,
    env: EnvConfig,
    cluster: Option<Arc<Cluster>>,
    source: SourceSlot,
    head: Option<Arc<Desired>>,
    op: OpId,
    revision: String,
    prune: bool,
    cache: Option<Arc<LiveCache>>,
    predictions: PredictionCache,
) -> Msg {
    let warnings = Vec::new();
    let rendered = match head {
        Some(d) => Ok(d),
        None => render_at(&shared, &env, &source, revision).await,
    };
    let (result, desired) = match rendered {
        Err(failure) => (Err(failure), None),
        Ok(d) => {
            let result = match &cluster {
                None => Err(ApplyFailure {
                    reason: FailureReason::ClusterUnreachable(format!(
                        "context {}: not connected",
                        env.context
                    )),
                    transient: true,
                    changed: 0,
                }),
                Some(c) => {
                    apply_and_prune(c, &env, &d, prune, cache.as_deref(), &predictions).await
                }
            };
            (result, Some(d))
        }
    };
    Msg::Applied {
        event: Event::Applied {
            op,
            result,
            at: Timestamp::now(),
        },
        desired,
        warnings,
    }
}

async fn apply_and_prune(
    cluster: &Cluster,
    env: &EnvConfig,
    desired: &Desired,
    prune: bool,
    cache: Option<&LiveCache>,
    predictions: &PredictionCache,
) -> Result<ApplyReport, ApplyFailure> {
    if desired.rendered.manifests.is_empty() && !env.allow_empty {
        return Err(ApplyFailure {
            reason: FailureReason::Render(crate::controller::engine::empty_render_reason(
                &env.name,
                &desired.revision.sha,
            )),
            transient: false,
            changed: 0,
        });
    }
    let applied = apply_env(cluster, env, desired)
        .await
        .map_err(|e| e.failure())?;
    let mut changed = applied.changed;
    predictions.seed(desired, applied.answers);
    if prune {
        // An empty render reaches here only with `allow_empty: true` (refused above
        // otherwise): the operator asked for an empty env, so prune empties it.
        changed += prune_extra(cluster, env, desired, cache)
            .await
            .map_err(|f| ApplyFailure {
                changed: f.changed + changed,
                ..f
            })?;
    }
    Ok(ApplyReport {
        changed,
        render_digest: desired.rendered.digest.clone(),
    })
}

/// Deletes this env's managed objects the render no longer has; returns how many. The
/// candidates are the observation's own (`controller::read_live`): from the watch stores when
/// they are listed and healthy, else listed. A candidate already gone is no error (a delete's
/// 404 is success).
async fn prune_extra(
    cluster: &Cluster,
    env: &EnvConfig,
    desired: &Desired,
    cache: Option<&LiveCache>,
) -> Result<usize, ApplyFailure> {
    let (live, _) = read_live(cache, cluster, env, &desired.rendered.manifests)
        .await
        .map_err(|e| cluster_failure(&e))?;
    let mut deleted = 0;
    for obj in &live.extra {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let namespace = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        if kind.is_empty() || name.is_empty() {
            continue;
        }
        cluster
            .delete(api_version, kind, namespace, name)
            .await
            .map_err(|e| cluster_failure(&e))?;
        tracing::info!(env = %env.name, %kind, %name, "pruned");
        deleted += 1;
    }
    Ok(deleted)
}
