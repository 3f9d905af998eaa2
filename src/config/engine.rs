//! `engine:` of an environment: who reconciles it. Both stages live here (the raw serde mirror
//! and its validation), as in `rollout.rs`, so `raw.rs`/`validate.rs` only gain a field and a
//! call.
//!
//! ```yaml
//! environments:
//!   - {name: dev, path: overlays/dev, context: dev, namespace: app}          # engine: driftdeck
//!   - {name: prod-eu, context: prod-eu, engine: {argocd: {application: api, namespace: argocd}}}
//!   - {name: apps, context: staging, engine: {flux: {kustomization: apps}}}
//! ```
//!
//! Decisions where the design is silent:
//! - `engine: driftdeck` (or no `engine`) is today's behaviour; `argocd` and `flux` name the
//!   custom resource driftdeck drives through the Kubernetes API. The CR namespace defaults to
//!   where each project installs itself: `argocd` and `flux-system`.
//! - For an engine env, `path` and `namespace` may be left out: the engine's CR says what is
//!   deployed where. `path` then defaults to `.` and `namespace` (and so `state_namespace`) to
//!   the CR's namespace. A driftdeck env still requires both.
//! - Names are checked as Kubernetes object names (RFC 1123 subdomain, at most 253) and
//!   namespaces as DNS labels, so a typo fails at load with file:line:col instead of as a 404.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::error::{Error, Pos};
use super::validate::{Ctx, is_dns_label};

/// Where Argo CD installs itself (and its Applications) by default.
pub const ARGOCD_NAMESPACE: &str = "argocd";
/// Where Flux installs itself (and its Kustomizations) by default.
pub const FLUX_NAMESPACE: &str = "flux-system";

/// `engine:` as written: a bare `driftdeck`, or a one-key mapping naming the engine.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawEngine {
    Driftdeck,
    Argocd(Spanned<RawArgo>),
    Flux(Spanned<RawFlux>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArgo {
    pub application: Option<Spanned<String>>,
    pub namespace: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlux {
    pub kustomization: Option<Spanned<String>>,
    pub namespace: Option<Spanned<String>>,
}

/// Who reconciles an environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EngineSpec {
    /// driftdeck's own reconcile loop (today's behaviour).
    #[default]
    Driftdeck,
    /// An Argo CD `Application` (`argoproj.io/v1alpha1`).
    ArgoCd {
        application: String,
        namespace: String,
    },
    /// A Flux `Kustomization` (`kustomize.toolkit.fluxcd.io/v1`).
    Flux {
        kustomization: String,
        namespace: String,
    },
}

impl EngineSpec {
    /// The engine's word, as `status` prints it.
    pub fn name(&self) -> crate::model::EngineName {
        match self {
            EngineSpec::Driftdeck => crate::model::EngineName::Driftdeck,
            EngineSpec::ArgoCd { .. } => crate::model::EngineName::ArgoCd,
            EngineSpec::Flux { .. } => crate::model::EngineName::Flux,
        }
    }

    /// The namespace of the engine's CR; `None` for driftdeck.
    pub fn cr_namespace(&self) -> Option<&str> {
        match self {
            EngineSpec::Driftdeck => None,
            EngineSpec::ArgoCd { namespace, .. } | EngineSpec::Flux { namespace, .. } => {
                Some(namespace)
            }
        }
    }
}

/// Validates an env's `engine:` (absent: driftdeck).
pub fn engine(
    raw: Option<&Spanned<RawEngine>>,
    env: &str,
    ctx: &Ctx<'_>,
) -> Result<EngineSpec, Error> {
    let Some(raw) = raw else {
        return Ok(EngineSpec::Driftdeck);
    };
    match &raw.value {
        RawEngine::Driftdeck => Ok(EngineSpec::Driftdeck),
        RawEngine::Argocd(a) => {
            let (application, namespace) = named(
                a,
                a.value.application.as_ref(),
                a.value.namespace.as_ref(),
                ("argocd", "application", ARGOCD_NAMESPACE),
                env,
                ctx,
            )?;
            Ok(EngineSpec::ArgoCd {
                application,
                namespace,
            })
        }
        RawEngine::Flux(f) => {
            let (kustomization, namespace) = named(
                f,
                f.value.kustomization.as_ref(),
                f.value.namespace.as_ref(),
                ("flux", "kustomization", FLUX_NAMESPACE),
                env,
                ctx,
            )?;
            Ok(EngineSpec::Flux {
                kustomization,
                namespace,
            })
        }
    }
}

/// The CR's name (required) and namespace (defaulted), each checked.
fn named<T>(
    node: &Spanned<T>,
    name: Option<&Spanned<String>>,
    namespace: Option<&Spanned<String>>,
    (engine, field, default_ns): (&str, &str, &str),
    env: &str,
    ctx: &Ctx<'_>,
) -> Result<(String, String), Error> {
    let Some(name) = name else {
        return Err(ctx.err(
            Pos::of_spanned(node),
            format!("environment \"{env}\": engine {engine}: missing {field} (the name of the {engine} resource to drive)"),
        ));
    };
    let n = name.value.trim();
    if !is_object_name(n) {
        return Err(ctx.err(
            Pos::of_spanned(name),
            format!(
                "environment \"{env}\": engine {engine}: {field} \"{}\" is not a Kubernetes object name (lowercase letters, digits, '-' and '.')",
                name.value
            ),
        ));
    }
    let ns = match namespace {
        None => default_ns.to_owned(),
        Some(ns) if is_dns_label(ns.value.trim()) => ns.value.trim().to_owned(),
        Some(ns) => {
            return Err(ctx.err(
                Pos::of_spanned(ns),
                format!(
                    "environment \"{env}\": engine {engine}: namespace \"{}\" is not a namespace name (a DNS label)",
                    ns.value
                ),
            ));
        }
    };
    Ok((n.to_owned(), ns))
}

/// RFC 1123 subdomain: what Kubernetes accepts as most objects' names.
fn is_object_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}
