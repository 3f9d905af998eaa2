//! The driver's jobs: one function per slow thing an env task starts — connect, poll Git,
//! observe live state, apply (+ prune), revert, the Lease — each returning plain data or the
//! event the engine expects.
//!
//! Imports the controller's modules, `cluster`, `source`. Blocking git2 work runs through
//! `spawn_blocking`; a job never panics, it reports errors as data.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;

use crate::cluster::{self, Cluster, LeaseOutcome, LiveCache};
use crate::config::{Config, EnvConfig};
use crate::model::{
    Commit, Drift, DriftCount, EnvState, FailureReason, Health, PodRow, ResourceRow,
};
use crate::source::{Author, Source};

use super::super::engine::{ApplyFailure, ApplyReport, CommitReport, Event, OpId, RenderSummary};
use super::super::held_io::{state_namespace, state_object_name};
use super::super::retry_transient;
use super::super::{
    Desired, DesiredError, LiveSource, PredictionCache, apply_env, assess, desired, env_path,
    open_source, read_live,
};
use super::Shared;
use super::env::Msg;

/// How long one live observation may take.
const OBSERVE_TIMEOUT: Duration = Duration::from_secs(20);
/// The Lease's duration; renewed every 5 s.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// Commits per env in a snapshot (the first page of the history pane).
const COMMITS_PAGE: usize = 50;

/// The env's open repository, opened on first use on the blocking pool.
#[derive(Clone, Default)]
pub(super) struct SourceSlot(Arc<Mutex<Option<Source>>>);

impl SourceSlot {
    /// Runs `f` with the open source (opening it first). Blocking.
    fn with<T>(
        &self,
        config: &Config,
        f: impl FnOnce(&Source) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut slot = self
            .0
            .lock()
            .map_err(|_| "git: repository lock poisoned".to_owned())?;
        if slot.is_none() {
            *slot = Some(open_source(config).map_err(|e| e.to_string())?);
        }
        match slot.as_ref() {
            Some(source) => f(source),
            None => Err("git: repository not open".into()),
        }
    }
}

/// A new branch head: its render (or why it failed) and first page of commits.
pub(super) struct GitChange {
    pub sha: String,
    pub head: Option<Commit>,
    pub desired: Result<Arc<Desired>, String>,
    pub commits: Vec<Commit>,
}

/// The engine's summary of a render.
pub(super) fn summary(d: &Desired) -> RenderSummary {
    RenderSummary {
        digest: d.rendered.digest.clone(),
        resources: d.rendered.manifests.len(),
    }
}

/// A client for `context` of the kubeconfig at `kubeconfig` (the default one when `None`).
pub(crate) async fn connect(
    kubeconfig: Option<PathBuf>,
    context: String,
) -> Result<Arc<Cluster>, String> {
    let kubeconfig = cluster::load_kubeconfig(kubeconfig.as_deref()).map_err(|e| e.to_string())?;
    Cluster::connect(kubeconfig.as_ref(), &context)
        .await
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Reads the branch head (fetching first when `fetch` and remote); `None` when it is still
/// `last`. Blocking.
pub(super) fn poll_git(
    slot: &SourceSlot,
    config: &Config,
    env: &EnvConfig,
    last: Option<&str>,
    fetch: bool,
) -> Result<Option<GitChange>, String> {
    slot.with(config, |source| {
        if fetch && source.is_remote() {
            source.fetch().map_err(|e| e.to_string())?;
        }
        let sha = source.resolve(None).map_err(|e| e.to_string())?.sha;
        if last == Some(sha.as_str()) {
            return Ok(None);
        }
        let rendered = desired(source, env, Some(&sha));
        let inputs = match &rendered {
            Ok(d) => d.rendered.inputs.clone(),
            Err(_) => vec![env_path(env)],
        };
        let commits = source
            .history(&inputs, Some(&sha), 0, COMMITS_PAGE)
            .unwrap_or_default();
        Ok(Some(GitChange {
            head: source.commit(&sha).ok(),
            desired: rendered.map(Arc::new).map_err(|e| e.to_string()),
            commits,
            sha,
        }))
    })
}

/// What one live observation found.
pub(super) struct LiveObs {
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
pub(super) struct HealObs {
    pub desired: Arc<Desired>,
    pub drift: DriftCount,
}

/// One observation: live from the watch stores of `cache` when they can stand for a list,
/// else listed (`controller::read_live`; `None`: list); dry-runs only what `predictions` holds
/// no valid answer for.
pub(super) async fn observe_live(
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
pub(super) async fn observe_heal(
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

fn git_failure(e: impl std::fmt::Display) -> ApplyFailure {
    ApplyFailure {
        reason: FailureReason::Git(e.to_string()),
        transient: false,
        changed: 0,
    }
}

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
pub(super) async fn apply(
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

async fn render_at(
    shared: &Arc<Shared>,
    env: &EnvConfig,
    source: &SourceSlot,
    revision: String,
) -> Result<Arc<Desired>, ApplyFailure> {
    let shared = shared.clone();
    let env = env.clone();
    let source = source.clone();
    let joined = tokio::task::spawn_blocking(move || {
        source.with(&shared.config, |s| {
            Ok(desired(s, &env, Some(&revision)).map_err(|e| match e {
                DesiredError::Source(e) => git_failure(e),
                e @ DesiredError::Render { .. } => ApplyFailure {
                    reason: FailureReason::Render(e.to_string()),
                    transient: false,
                    changed: 0,
                },
            }))
        })
    })
    .await;
    match joined {
        Ok(Ok(Ok(d))) => Ok(Arc::new(d)),
        Ok(Ok(Err(failure))) => Err(failure),
        Ok(Err(e)) => Err(git_failure(e)),
        Err(e) => Err(git_failure(format!("render task failed: {e}"))),
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
            reason: FailureReason::Render(super::super::engine::empty_render_reason(
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

/// The commit author for this console's operator `user@host/pid`.
pub(super) fn author(operator: &str) -> Author {
    let user_host = operator.split('/').next().unwrap_or(operator);
    let name = user_host.split('@').next().unwrap_or(user_host);
    Author {
        name: format!("driftdeck ({name})"),
        email: user_host.to_owned(),
    }
}

/// `Effect::Revert`: one commit reverting good..=bad on the branch head.
///
/// Only the env's own files are reverted: its folder and every file its render read at the
/// good or the bad revision (its bases and components). A commit in the range that also changed
/// another env keeps that change; the revert message lists what it kept.
pub(super) async fn revert(
    shared: Arc<Shared>,
    env: EnvConfig,
    source: SourceSlot,
    op: OpId,
    good: String,
    bad: String,
) -> Msg {
    let author = author(&shared.opts.operator);
    let config = shared.config.clone();
    let joined = tokio::task::spawn_blocking(move || {
        source.with(&config, |s| {
            let folder = format!("{}/", crate::controller::desired::env_path(&env));
            let mut inputs = std::collections::BTreeSet::new();
            for rev in [&good, &bad] {
                if let Ok(d) = crate::controller::desired::desired(s, &env, Some(rev)) {
                    inputs.extend(d.rendered.inputs);
                }
            }
            let scope = |path: &str| path.starts_with(&folder) || inputs.contains(path);
            s.revert_range(&good, &bad, None, &author, &scope)
                .map_err(|e| e.to_string())
        })
    })
    .await;
    let result = match joined {
        Ok(Ok(p)) => Ok(CommitReport {
            sha: p.sha,
            summary: p.summary,
            pushed: p.pushed,
        }),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(format!("revert task failed: {e}")),
    };
    Msg::Event(Event::Committed {
        op,
        result,
        at: Timestamp::now(),
    })
}

/// Reads the Lease (reported first, an expired holder as `None`), then with `automation`
/// acquires or renews it. Errors are logged; nothing is reported for a failed round.
pub(super) async fn lease(
    cluster: &Cluster,
    env: &EnvConfig,
    operator: &str,
    automation: bool,
    operation: Option<String>,
) -> Vec<Event> {
    let namespace = state_namespace(env);
    let name = state_object_name(&env.name);
    let now = Timestamp::now();
    let mut events = Vec::new();
    match cluster.read_lease(namespace, &name).await {
        Ok(record) => {
            let holder = record
                .as_ref()
                .and_then(|r| r.live_holder(now))
                .map(str::to_owned);
            events.push(Event::LeaseObserved {
                mine: holder.as_deref() == Some(operator),
                holder,
                at: now,
            });
        }
        // Still try to renew: a flaky read must not let our Lease expire.
        Err(e) => tracing::warn!(env = %env.name, "reading Lease {name}: {e}"),
    }
    if !automation {
        return events;
    }
    let at = Timestamp::now();
    let acquire = retry_transient(|| {
        cluster.acquire_lease(
            namespace,
            &name,
            operator,
            LEASE_DURATION,
            operation.as_deref(),
            at,
        )
    });
    match acquire.await {
        Ok(LeaseOutcome::Held(_)) => events.push(Event::LeaseObserved {
            mine: true,
            holder: Some(operator.to_owned()),
            at,
        }),
        Ok(LeaseOutcome::HeldBy(record)) => events.push(Event::LeaseObserved {
            mine: false,
            holder: record.live_holder(at).map(str::to_owned),
            at,
        }),
        Err(e) => tracing::warn!(env = %env.name, "acquiring Lease {name}: {e}"),
    }
    events
}

pub(super) async fn release_lease(cluster: &Cluster, env: &EnvConfig, operator: &str) {
    let name = state_object_name(&env.name);
    let release = cluster.release_lease(state_namespace(env), &name, operator);
    match tokio::time::timeout(Duration::from_secs(3), release).await {
        Ok(Ok(())) => tracing::info!(env = %env.name, "released Lease {name}"),
        Ok(Err(e)) => tracing::warn!(env = %env.name, "releasing Lease {name}: {e}"),
        Err(_) => tracing::warn!(env = %env.name, "releasing Lease {name}: no answer"),
    }
}
