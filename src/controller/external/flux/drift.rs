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

/// driftdeck's findings over Flux's word, in one place for every reading (drift observed now or
/// carried from the last observation): drift makes an env Flux calls Synced OutOfSync (a sync
/// would change it), and a failed drift observation joins Flux's own error as "…; drift: <why>".
pub(super) fn add_drift_verdict(state: &mut EnvState, drift_error: Option<&str>) {
    if !state.drift.is_empty() && state.sync == SyncStatus::Synced {
        state.sync = SyncStatus::OutOfSync;
    }
    if let Some(e) = drift_error {
        state.error = Some(match state.error.take() {
            Some(flux_error) => format!("{flux_error}; drift: {e}"),
            None => format!("drift: {e}"),
        });
    }
}

/// driftdeck's render of the env at the branch head against live: drift (with Flux's own
/// prune candidates), resources, pods, images and the path's commits into `state`; the caller
/// then decides the sync verdict ([`add_drift_verdict`]). Detect-only.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Drift, DriftKind, ResourceKey};

    fn synced(error: Option<&str>) -> EnvState {
        let mut state = EnvState::unknown("apps");
        state.sync = SyncStatus::Synced;
        state.error = error.map(str::to_owned);
        state
    }

    #[test]
    fn drift_makes_a_synced_flux_env_out_of_sync_and_a_failed_observation_joins_fluxs_error() {
        let mut clean = synced(None);
        add_drift_verdict(&mut clean, None);
        assert_eq!((clean.sync, clean.error), (SyncStatus::Synced, None));

        let mut drifted = synced(None);
        drifted.drift.push(Drift {
            key: ResourceKey::new("", "ConfigMap", "apps", "a"),
            kind: DriftKind::Missing,
            paths: Vec::new(),
            diff: String::new(),
        });
        add_drift_verdict(&mut drifted, None);
        assert_eq!(drifted.sync, SyncStatus::OutOfSync);

        let mut failing = synced(Some("HealthCheckFailed: timeout"));
        add_drift_verdict(&mut failing, Some("render: no such path"));
        assert_eq!(
            failing.error.as_deref(),
            Some("HealthCheckFailed: timeout; drift: render: no such path")
        );
        let mut only_drift = synced(None);
        add_drift_verdict(&mut only_drift, Some("render: no such path"));
        assert_eq!(
            only_drift.error.as_deref(),
            Some("drift: render: no such path")
        );
    }
}
