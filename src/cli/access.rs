//! The permission check every mutating verb makes before it starts: asks the env's cluster
//! (`cluster::access`, a `SelfSubjectAccessReview` each) whether this user may do what the verb
//! will do, and refuses in one line when not — exit 1, naming the verb, the resource and the
//! missing permission, with nothing changed.
//!
//! What each verb needs (the same list `deploy/rbac/driftdeck-operator.yaml` grants):
//! - `sync`, `rollback`: `patch` and `create` (server-side apply; the API server authorizes an
//!   apply that creates the object as `create` too) on every kind of the env's render at the
//!   branch head (rollback's older revision renders the same kinds in all but rare cases; a
//!   kind only it has is refused by the server as before), and `create` + `update` on
//!   ConfigMaps in the state namespace (history, hold);
//! - `pause`, `resume`: `create` + `update` on ConfigMaps in the state namespace;
//! - every verb on an engine env (Argo CD, Flux): `get`, `update`, `patch` on its CR in the
//!   CR's namespace, nothing else (the engine applies, with its own service account).
//!
//! The check is advisory in one direction only: a denial refuses, but anything it cannot
//! establish (a render error, an unreachable cluster, a server without the review API) lets the
//! verb go ahead and report that failure the usual way, so the check never adds a failure mode.

use std::collections::BTreeSet;

use crate::cluster::{Cluster, Permission, load_kubeconfig};
use crate::config::{Config, EngineSpec, EnvConfig};
use crate::controller;

use super::Failure;

/// What the verb will change besides the cluster-held state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Touches {
    /// Applies the env's rendered objects.
    Render,
    /// Only the cluster-held state (pause, resume).
    StateOnly,
}

/// Refuses `verb` on `env` with one line when this user lacks a permission it needs.
pub(super) async fn check(
    config: &Config,
    env_name: &str,
    verb: &str,
    touches: Touches,
) -> Result<(), Failure> {
    let Some(env) = config.env(env_name) else {
        return Ok(());
    };
    let Ok(kubeconfig) = load_kubeconfig(config.kubeconfig.as_deref()) else {
        return Ok(());
    };
    let Ok(cluster) = Cluster::connect(kubeconfig.as_ref(), &env.context).await else {
        return Ok(());
    };
    let mut needed = Vec::new();
    if let Some((group, resource, namespace)) = engine_resource(env) {
        // An engine env's verbs write only its CR (README: get, update, patch); a rollback
        // also records an Event, whose refusal is only a warning.
        for verb in ["get", "update", "patch"] {
            needed.push(Permission::new(verb, group, resource, namespace));
        }
    } else {
        if touches == Touches::Render {
            needed.extend(render_permissions(config, env, &cluster).await);
        }
        for verb in ["create", "update"] {
            needed.push(Permission::new(
                verb,
                "",
                "configmaps",
                &env.state_namespace,
            ));
        }
    }
    match cluster.first_denied(&needed).await {
        Ok(Some((permission, reason))) => Err(Failure::Action(Some(refusal(
            verb,
            (&env.name, &env.context),
            &permission,
            &reason,
        )))),
        Ok(None) | Err(_) => Ok(()),
    }
}

/// The CR an engine env's verbs write: (group, resource, namespace); `None` for driftdeck.
pub(super) fn engine_resource(env: &EnvConfig) -> Option<(&'static str, &'static str, &str)> {
    match &env.engine {
        EngineSpec::Driftdeck => None,
        EngineSpec::ArgoCd { namespace, .. } => Some(("argoproj.io", "applications", namespace)),
        EngineSpec::Flux { namespace, .. } => {
            Some(("kustomize.toolkit.fluxcd.io", "kustomizations", namespace))
        }
    }
}

/// The one line of a refusal.
fn refusal(
    verb: &str,
    (env, context): (&str, &str),
    permission: &Permission,
    reason: &str,
) -> String {
    let why = if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    };
    format!(
        "{verb} {env}: forbidden: the user of context {context} may not {permission}{why}; \
         nothing changed"
    )
}

/// `patch` and `create` on each kind the env's head renders, where its objects land.
async fn render_permissions(
    config: &Config,
    env: &EnvConfig,
    cluster: &Cluster,
) -> Vec<Permission> {
    let owned_config = config.clone();
    let owned_env = env.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        let source = controller::open_source(&owned_config).ok()?;
        controller::desired(&source, &owned_env, None).ok()
    })
    .await
    .ok()
    .flatten();
    let Some(desired) = rendered else {
        return Vec::new();
    };
    let mut kinds = BTreeSet::new();
    for m in &desired.rendered.manifests {
        let ns = if m.namespace().is_empty() {
            env.namespace.clone()
        } else {
            m.namespace().to_owned()
        };
        kinds.insert((m.api_version().to_owned(), m.kind().to_owned(), ns));
    }
    let mut needed = BTreeSet::new();
    for (api_version, kind, ns) in kinds {
        let Ok(resolved) = cluster.resolve(&api_version, &kind).await else {
            continue;
        };
        let ns = if resolved.namespaced {
            ns
        } else {
            String::new()
        };
        needed.insert((resolved.resource.group, resolved.resource.plural, ns));
    }
    // Per resource, patch (what every apply is) before create (what a first apply also is).
    needed
        .into_iter()
        .flat_map(|(group, plural, ns)| {
            ["patch", "create"].map(|verb| Permission::new(verb, &group, &plural, &ns))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_one_line_naming_verb_resource_and_permission() {
        let p = Permission::new("patch", "apps", "deployments", "shop");
        let line = refusal("sync", ("dev", "dev-viewer"), &p, "");
        assert_eq!(
            line,
            "sync dev: forbidden: the user of context dev-viewer may not patch deployments.apps \
             in namespace shop; nothing changed"
        );
        assert!(!line.contains('\n'));
    }
}
