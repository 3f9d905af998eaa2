//! Cold, one-shot observation of every env (for `status` and `diff`): Git first (blocking, on
//! the blocking pool), then each env's cluster concurrently, each bounded by a timeout so one
//! unreachable cluster cannot stall the report of the others.
//!
//! `observe_all` pipelines: envs are rendered one after the other on one blocking thread, and
//! each env's observation starts as soon as its render is done, while the next env renders —
//! the cluster round trips of one env hide the render of the next, and at most one render is
//! in flight beside the observations.
//!
//! Errors keep the last good data (issue: a `status` that blanked everything on a Git error
//! hid what was live): a remote that cannot be fetched is reported as each env's `error`, and
//! the envs are still rendered and observed from the cached clone, the error naming the cached
//! revision and when it was last fetched; a head that does not render still reports the
//! synced revision, pause, hold, Lease and history from the cluster.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;

use crate::cluster::{self, Cluster};
use crate::config::{Config, EnvConfig};
use crate::model::{EnvState, Health, HealthCode, SyncStatus};

use super::held_io;
use super::observe::{base_state, observe};
use super::{Desired, desired, open_source};

/// Upper bound for observing one env's cluster.
const OBSERVE_TIMEOUT: Duration = Duration::from_secs(30);

/// The outcome of observing one env.
#[derive(Debug)]
pub struct Observed {
    pub state: EnvState,
}

/// One env's render, and the Git error it was made despite (from the cached clone).
type Rendered = (Result<Desired, String>, Option<String>);

/// Renders every env at `revision` (default: the branch head). One error per env, as text.
fn desired_all(config: &Config, revision: Option<&str>) -> Vec<Rendered> {
    let mut out = Vec::with_capacity(config.environments.len());
    render_each(config, revision, |_, d| {
        out.push(d);
        true
    });
    out
}

/// Fetches a remote source; the error says which cached revision is shown instead and when
/// it was last fetched.
fn fetch_error(source: &crate::source::Source) -> Option<String> {
    if !source.is_remote() {
        return None;
    }
    let error = source.fetch().err()?;
    let shown = source
        .resolve(None)
        .map(|r| crate::model::short_sha(&r.sha).to_owned())
        .unwrap_or_else(|_| "-".into());
    let fetched = std::fs::metadata(source.git_dir().join("FETCH_HEAD"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map(|t| format!("last fetched at {}", t.strftime("%Y-%m-%d %H:%M:%S UTC")))
        .unwrap_or_else(|| "never fetched since the clone".into());
    Some(format!(
        "{error} (showing the cached revision {shown}, {fetched})"
    ))
}

/// Renders each env in turn at one commit and hands each result (with the env's index) to
/// `emit` as soon as it is ready; stops early when `emit` returns false.
fn render_each(
    config: &Config,
    revision: Option<&str>,
    mut emit: impl FnMut(usize, Rendered) -> bool,
) {
    let source = match open_source(config) {
        Ok(s) => s,
        Err(e) => {
            for i in 0..config.environments.len() {
                emit(i, (Err(e.to_string()), None));
            }
            return;
        }
    };
    let git_error = fetch_error(&source);
    // Resolve once so every env is rendered at the same commit.
    let sha = match source.resolve(revision) {
        Ok(r) => r.sha,
        Err(e) => {
            for i in 0..config.environments.len() {
                emit(i, (Err(e.to_string()), git_error.clone()));
            }
            return;
        }
    };
    for (i, env) in config.environments.iter().enumerate() {
        let rendered = desired(&source, env, Some(&sha)).map_err(|e| e.to_string());
        if !emit(i, (rendered, git_error.clone())) {
            return;
        }
    }
}

async fn desired_all_blocking(config: &Config, revision: Option<&str>) -> Vec<Rendered> {
    let owned = config.clone();
    let revision = revision.map(str::to_owned);
    tokio::task::spawn_blocking(move || desired_all(&owned, revision.as_deref()))
        .await
        .unwrap_or_else(|e| {
            config
                .environments
                .iter()
                .map(|_| (Err(format!("rendering failed: {e}")), None))
                .collect()
        })
}

/// The row of an env that could not be read: `error` says why, sync and health are Unknown.
pub(crate) fn unobservable(state: &mut EnvState, error: String) {
    state.error = Some(error);
    state.sync = SyncStatus::Unknown;
    state.health = Health::new(HealthCode::Unknown, "");
}

async fn observe_env(
    env: &EnvConfig,
    (desired, git_error): Rendered,
    kubeconfig: &Result<Option<kube::config::Kubeconfig>, String>,
) -> Observed {
    let mut observed = observe_rendered(env, desired, kubeconfig).await;
    if let Some(git) = git_error {
        // The Git error first: it is why everything else may be out of date.
        let state = &mut observed.state;
        state.error = Some(match state.error.take() {
            Some(other) => format!("{git}; {other}"),
            None => git,
        });
    }
    observed
}

async fn observe_rendered(
    env: &EnvConfig,
    desired: Result<Desired, String>,
    kubeconfig: &Result<Option<kube::config::Kubeconfig>, String>,
) -> Observed {
    let mut state = base_state(env);
    let desired = match desired {
        Ok(d) => d,
        Err(e) => {
            unobservable(&mut state, e.clone());
            // What the cluster holds (synced revision, pause, hold, history) is still shown.
            if let Ok(kubeconfig) = kubeconfig
                && let Ok(cluster) = Cluster::connect(kubeconfig.as_ref(), &env.context).await
            {
                fill_held_after(&mut state, env, &cluster).await;
            }
            return Observed { state };
        }
    };
    state.revision = Some(desired.revision.sha.clone());
    let kubeconfig = match kubeconfig {
        Ok(kc) => kc,
        Err(e) => {
            unobservable(&mut state, e.clone());
            return Observed { state };
        }
    };
    let cluster = match Cluster::connect(kubeconfig.as_ref(), &env.context).await {
        Ok(c) => Arc::new(c),
        Err(e) => {
            unobservable(&mut state, e.to_string());
            return Observed { state };
        }
    };
    match tokio::time::timeout(
        OBSERVE_TIMEOUT,
        observe(&mut state, env, &desired, &cluster),
    )
    .await
    {
        Ok(Ok(())) => fill_held_after(&mut state, env, &cluster).await,
        // The server answered, but not with everything (a kind it does not serve, a 403 on one
        // list): what it holds about the env (pause, hold, synced revision) is still shown.
        Ok(Err(e)) => {
            unobservable(&mut state, e.to_string());
            fill_held_after(&mut state, env, &cluster).await;
        }
        // No answer: a second wait for the ConfigMap would double the time to say so.
        Err(_) => unobservable(
            &mut state,
            format!(
                "context {}: no answer within {}s",
                env.context,
                OBSERVE_TIMEOUT.as_secs()
            ),
        ),
    }
    Observed { state }
}

/// [`fill_held`] after an earlier failure: the earlier error stays first (it is why the rest
/// may be missing), the held state's own error follows when it says something else.
async fn fill_held_after(state: &mut EnvState, env: &EnvConfig, cluster: &Cluster) {
    let earlier = state.error.take();
    fill_held(state, env, cluster).await;
    state.error = match (earlier, state.error.take()) {
        (Some(e), Some(other)) if other != e => Some(format!("{e}; {other}")),
        (Some(e), _) => Some(e),
        (None, other) => other,
    };
}

/// Pause, hold, synced revision and operations from ConfigMap `driftdeck-<env>`, and the live
/// holder of its Lease with the operation it publishes. A missing ConfigMap or Lease leaves the
/// fields empty; an unreadable or garbled one is the env's error (a hold nobody can see would
/// let an operator redeploy the bad revision).
async fn fill_held(state: &mut EnvState, env: &EnvConfig, cluster: &Cluster) {
    let now = jiff::Timestamp::now();
    let reads = async {
        tokio::join!(
            held_io::load_held(cluster, env),
            held_io::read_lease_view(cluster, env, now)
        )
    };
    let (held, lease) = match tokio::time::timeout(OBSERVE_TIMEOUT, reads).await {
        Ok(both) => both,
        Err(_) => {
            state.error = Some(format!(
                "context {}: cluster-held state: no answer within {}s",
                env.context,
                OBSERVE_TIMEOUT.as_secs()
            ));
            return;
        }
    };
    match held {
        Ok(loaded) => {
            let held = loaded.state;
            state.automation = held.automation_note(&env.name, state.revision.as_deref(), None);
            state.paused = held.paused;
            state.hold = held.hold;
            if held.synced_revision.is_some() {
                state.synced_revision = held.synced_revision;
            }
            state.history = held.history;
        }
        Err(e) => state.error = Some(e.to_string()),
    }
    match lease {
        Ok(view) => {
            state.lease_holder = view.holder;
            state.operation = view.operation;
        }
        // The built-in `view` role cannot read Leases: the holder is unknown, not an error.
        Err(e) if e.is_forbidden() => state.unreadable.push(e.to_string()),
        Err(e) => {
            state.error.get_or_insert_with(|| e.to_string());
        }
    }
}

/// Observes every configured env at the branch head: driftdeck's own envs through the
/// pipeline (module doc), engine envs by reading their CR ([`super::external::observe_cold`]),
/// all concurrently; the result is in config order.
pub async fn observe_all(config: &Config) -> Vec<Observed> {
    let is_native = |e: &EnvConfig| e.engine == crate::config::EngineSpec::Driftdeck;
    if config.environments.iter().all(is_native) {
        return observe_native(config).await;
    }
    let mut native = config.clone();
    native.environments.retain(is_native);
    let engines = config
        .environments
        .iter()
        .filter(|e| !is_native(e))
        .map(|env| super::external::observe_cold(config, env));
    let (native, engines) = tokio::join!(
        async {
            if native.environments.is_empty() {
                Vec::new()
            } else {
                observe_native(&native).await
            }
        },
        futures::future::join_all(engines)
    );
    let (mut native, mut engines) = (native.into_iter(), engines.into_iter());
    config
        .environments
        .iter()
        .map(|env| {
            let state = if is_native(env) {
                native.next().map(|o| o.state)
            } else {
                engines.next()
            };
            Observed {
                state: state.unwrap_or_else(|| {
                    let mut state = super::external::base_state(env);
                    unobservable(&mut state, "not observed".into());
                    state
                }),
            }
        })
        .collect()
}

/// [`observe_all`] for driftdeck's own envs (every env of `config`).
async fn observe_native(config: &Config) -> Vec<Observed> {
    let kubeconfig =
        cluster::load_kubeconfig(config.kubeconfig.as_deref()).map_err(|e| e.to_string());
    // Capacity 1: the renderer runs at most one env ahead of the observations it feeds.
    let (tx, mut rendered) = mpsc::channel::<(usize, Rendered)>(1);
    let owned = config.clone();
    let renderer = tokio::task::spawn_blocking(move || {
        render_each(&owned, None, |i, d| tx.blocking_send((i, d)).is_ok());
    });
    let mut results: Vec<Option<Observed>> = config.environments.iter().map(|_| None).collect();
    let mut running = FuturesUnordered::new();
    let mut rendering = true;
    while rendering || !running.is_empty() {
        tokio::select! {
            next = rendered.recv(), if rendering => match next {
                Some((i, d)) => {
                    if let Some(env) = config.environments.get(i) {
                        let kubeconfig = &kubeconfig;
                        running.push(async move { (i, observe_env(env, d, kubeconfig).await) });
                    }
                }
                None => rendering = false,
            },
            Some((i, observed)) = running.next() => {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(observed);
                }
            }
        }
    }
    let render_error = match renderer.await {
        Ok(()) => "rendering stopped before this env".to_owned(),
        Err(e) => format!("rendering failed: {e}"),
    };
    config
        .environments
        .iter()
        .zip(results)
        .map(|(env, r)| {
            r.unwrap_or_else(|| {
                let mut state = base_state(env);
                unobservable(&mut state, render_error.clone());
                Observed { state }
            })
        })
        .collect()
}

/// Observes one env at `revision` (default: the branch head).
pub async fn observe_one(config: &Config, env: &EnvConfig, revision: Option<&str>) -> Observed {
    if env.engine != crate::config::EngineSpec::Driftdeck {
        // The engine decides what it deploys; `revision` has no meaning for its CR.
        return Observed {
            state: super::external::observe_cold(config, env).await,
        };
    }
    let mut one = config.clone();
    one.environments.retain(|e| e.name == env.name);
    let desired = desired_all_blocking(&one, revision)
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| (Err(format!("unknown env {}", env.name)), None));
    let kubeconfig =
        cluster::load_kubeconfig(config.kubeconfig.as_deref()).map_err(|e| e.to_string());
    observe_env(env, desired, &kubeconfig).await
}
