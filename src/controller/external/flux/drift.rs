//! Drift for a Flux env: driftdeck's own render of the Kustomization's path against live, with
//! driftdeck's pipeline (`controller::observe`, called, not changed) plus Flux's prune
//! candidates from its inventory. Detect-only (module doc of [`super`]).

use std::sync::Arc;

use crate::cluster::Cluster;
use crate::config::{Config, EnvConfig, IgnoreRule};
use crate::model::{EnvState, HealthCode, SyncStatus};

use super::status::FluxStatus;

/// Commits per History page (as for driftdeck's own envs).
const COMMITS_PAGE: usize = 50;

/// The env as driftdeck's own render and diff see it: the path (config, else `spec.path`),
/// the target namespace, and Flux's ownership labels ignored.
pub(crate) fn render_env(env: &EnvConfig, flux: &FluxStatus) -> EnvConfig {
    let mut env = env.clone();
    if env.path == std::path::Path::new(".")
        && let Some(p) = &flux.spec_path
    {
        let clean = p.trim().trim_start_matches("./").trim_end_matches('/');
        env.path = if clean.is_empty() {
            ".".into()
        } else {
            clean.into()
        };
    }
    if let Some(ns) = &flux.target_namespace {
        env.namespace.clone_from(ns);
    }
    env.ignore_differences.push(IgnoreRule {
        group: None,
        kind: "*".into(),
        name: None,
        namespace: None,
        json_pointers: vec![
            "/metadata/labels/kustomize.toolkit.fluxcd.io~1name".into(),
            "/metadata/labels/kustomize.toolkit.fluxcd.io~1namespace".into(),
        ],
        managers: Vec::new(),
    });
    env
}

/// Drift driftdeck found makes an env Flux calls in sync OutOfSync (a sync would change it):
/// the one place that says so, whether the drift was observed now or carried from the last
/// observation.
pub(super) fn out_of_sync_when_drifted(state: &mut EnvState) {
    if !state.drift.is_empty() && state.sync == SyncStatus::Synced {
        state.sync = SyncStatus::OutOfSync;
    }
}

/// driftdeck's render of the env at the branch head against live: drift (with Flux's own
/// prune candidates), resources, pods, images and the path's commits into `state`; the caller
/// then decides the sync verdict ([`out_of_sync_when_drifted`]). Detect-only.
pub(crate) async fn observe_drift(
    config: &Config,
    env: &EnvConfig,
    flux: &FluxStatus,
    cluster: &Arc<Cluster>,
    state: &mut EnvState,
) -> Result<(), String> {
    let render_env = render_env(env, flux);
    let owned = config.clone();
    let for_render = render_env.clone();
    let (desired, commits) = tokio::task::spawn_blocking(move || {
        let source = crate::controller::open_source(&owned).map_err(|e| e.to_string())?;
        // A failed fetch keeps the cached clone's head, as for driftdeck's own envs.
        if source.is_remote()
            && let Err(e) = source.fetch()
        {
            tracing::warn!("fetching {}: {e}", owned.repo.url);
        }
        let desired =
            crate::controller::desired(&source, &for_render, None).map_err(|e| e.to_string())?;
        // The History pane's commits: those touching what the render read, up to the head.
        let commits = source
            .history(&desired.rendered.inputs, None, 0, COMMITS_PAGE)
            .unwrap_or_default();
        Ok::<_, String>((desired, commits))
    })
    .await
    .map_err(|e| format!("render task failed: {e}"))??;
    state.commits = commits;
    let mut seen = state.clone();
    crate::controller::observe(&mut seen, &render_env, &desired, cluster)
        .await
        .map_err(|e| e.to_string())?;
    state.drift = seen.drift;
    // Flux's own prune candidates: inventory objects the render no longer has (driftdeck's
    // extras are only objects carrying its own labels). One GET each; detect-only.
    let rendered: Vec<&crate::model::ResourceKey> = desired
        .rendered
        .manifests
        .iter()
        .map(crate::model::Manifest::key)
        .collect();
    for key in &flux.inventory {
        let in_render = rendered.iter().any(|r| {
            (&r.group, &r.kind, &r.name) == (&key.group, &key.kind, &key.name)
                && (r.namespace == key.namespace
                    || (r.namespace.is_empty() && key.namespace == render_env.namespace))
        });
        if in_render {
            continue;
        }
        let Some(api_version) = flux.api_version_of(key) else {
            continue;
        };
        match cluster
            .get(&api_version, &key.kind, &key.namespace, &key.name)
            .await
        {
            Ok(Some(obj)) => state.drift.extend(crate::diff::extra(&obj)),
            Ok(None) => {}
            Err(e) => tracing::debug!("flux inventory {key}: {e}"),
        }
    }
    crate::diff::sort_drift(&mut state.drift);
    state.pods = seen.pods;
    state.images = seen.images;
    state.unreadable = seen.unreadable;
    // Resources: driftdeck's per-object sync and health where the render has the object;
    // Flux's inventory rows for the rest.
    // A render row without a namespace is the inventory's object in the target namespace.
    let mut rows = seen.resources;
    for r in std::mem::take(&mut state.resources) {
        let covered = rows.iter().any(|x| {
            (&x.key.group, &x.key.kind, &x.key.name) == (&r.key.group, &r.key.kind, &r.key.name)
                && (x.key.namespace == r.key.namespace || x.key.namespace.is_empty())
        });
        if !covered {
            rows.push(r);
        }
    }
    state.resources = rows;
    let live_health = crate::model::worst_health(state.resources.iter().map(|r| r.health.code));
    if live_health > state.health.code && state.health.code != HealthCode::Unknown {
        state.health = seen.health;
    }
    Ok(())
}
