//! `Command::Promote`, run by the driver itself: promotion is a Git commit into TO's path, not
//! an env operation, so no engine runs it. FROM's [`EnvView`] decides the check (waiting up to
//! `READY_WAIT` for FROM to be observed); the plan and the commit run on the blocking pool;
//! a preview reports the drift of the plan's render against TO's live state.
//!
//! Imports the controller's modules (`promote`, observation helpers), `cluster`, `source`.
//! Never writes anything for a preview; every outcome is a [`Notice`] and an audit line.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::EnvConfig;
use crate::model::{Command, Drift, EnvState, FailureReason, HealthCode, Notice, SyncStatus};
use crate::render::Rendered;

use super::super::engine::{EnvView, promotion_check};
use super::super::promote::{PromoteError, PromotionPlan, commit_promotion, plan_promotion};
use super::super::{Desired, assess, list_live, open_source, predict};
use super::env::READY_WAIT;
use super::{Shared, jobs};

pub(super) async fn run(
    shared: Arc<Shared>,
    command: Command,
    mut views: watch::Receiver<BTreeMap<String, EnvView>>,
) {
    let Command::Promote {
        from,
        to,
        message,
        force,
        confirm,
        preview,
    } = command
    else {
        return;
    };
    let action = if preview {
        "promote --preview"
    } else {
        "promote"
    };
    let result = promote(
        &shared,
        &from,
        &to,
        message.as_deref(),
        force,
        confirm.as_deref(),
        preview,
        &mut views,
    )
    .await;
    match result {
        Ok(notice) => {
            let detail = match &notice {
                Notice::Committed { sha, summary, .. } => {
                    format!(
                        "{from}→{to}: committed {} {summary}",
                        crate::model::short_sha(sha)
                    )
                }
                Notice::PromotionPreviewed { drift, .. } => {
                    format!(
                        "{from}→{to}: previewed, {} resources would change",
                        drift.len()
                    )
                }
                _ => format!("{from}→{to}"),
            };
            shared.audit(Some(&to), action, &detail);
            shared.notify(notice).await;
        }
        Err(reason) => {
            shared.audit(
                Some(&to),
                action,
                &format!("{from}→{to}: refused: {reason}"),
            );
            shared
                .notify(Notice::Refused {
                    env: Some(to),
                    reason,
                })
                .await;
        }
    }
}

/// FROM's view once it has been observed (or what is known after the wait).
async fn from_view(
    views: &mut watch::Receiver<BTreeMap<String, EnvView>>,
    from: &str,
) -> Option<EnvView> {
    let observed = |v: &BTreeMap<String, EnvView>| {
        v.get(from).is_some_and(|view| {
            view.sync != SyncStatus::Unknown || view.health.code != HealthCode::Unknown
        })
    };
    let _ = tokio::time::timeout(READY_WAIT, views.wait_for(observed)).await;
    views.borrow().get(from).cloned()
}

#[allow(clippy::too_many_arguments)]
async fn promote(
    shared: &Arc<Shared>,
    from: &str,
    to: &str,
    message: Option<&str>,
    force: bool,
    confirm: Option<&str>,
    preview: bool,
    views: &mut watch::Receiver<BTreeMap<String, EnvView>>,
) -> Result<Notice, FailureReason> {
    let config = &shared.config;
    let unknown = |name: &str| FailureReason::Refused(format!("no environment named {name:?}"));
    let from_env = config.env(from).cloned().ok_or_else(|| unknown(from))?;
    let to_env = config.env(to).cloned().ok_or_else(|| unknown(to))?;
    let view = from_view(views, from)
        .await
        .ok_or_else(|| FailureReason::Refused(format!("{from} is not run by this controller")))?;
    let route = to_env.promote_from.as_deref();
    let mut forced = None;
    if !preview {
        forced = promotion_check(&view, to, to_env.protected, route, force, confirm)?;
        if let Some(note) = &forced {
            shared.audit(Some(to), "promote --force", &format!("{from}→{to}: {note}"));
        }
    } else if let Err(reason) = promotion_check(&view, to, false, route, force, None) {
        // A preview changes nothing: show it, but say the commit would be refused.
        shared
            .notify(Notice::Warned {
                env: Some(to.to_owned()),
                message: format!("a promotion would be refused now: {reason}"),
            })
            .await;
    }
    let from_revision = view
        .synced_revision
        .clone()
        .or(view.revision.clone())
        .ok_or_else(|| FailureReason::Refused(format!("{from} has no known revision yet")))?;
    let message = message.map(str::to_owned);
    if preview {
        let plan = blocking_plan(shared, from_env, from_revision, to_env.clone(), message).await?;
        let drift = preview_drift(shared, &to_env, &plan).await?;
        return Ok(Notice::PromotionPreviewed {
            from: from.to_owned(),
            to: to.to_owned(),
            message: plan.message,
            drift,
        });
    }
    let author = jobs::author(&shared.opts.operator);
    let owned = shared.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let source = open_source(&owned.config)?;
        commit_promotion(
            &source,
            &from_env,
            &from_revision,
            &to_env,
            message.as_deref(),
            forced.as_deref(),
            &author,
        )
    })
    .await
    .map_err(|e| FailureReason::Git(format!("promotion task failed: {e}")))?;
    let (published, _plan) = joined.map_err(failure)?;
    Ok(Notice::Committed {
        sha: published.sha,
        summary: published.summary,
        pushed: published.pushed,
    })
}

fn failure(e: PromoteError) -> FailureReason {
    match e {
        e @ PromoteError::NothingToPromote { .. } => FailureReason::Refused(e.to_string()),
        e @ PromoteError::Render { .. } => FailureReason::Render(e.to_string()),
        e @ PromoteError::Unsupported(_) => FailureReason::Refused(e.to_string()),
        PromoteError::Source(e) => FailureReason::Git(e.to_string()),
    }
}

async fn blocking_plan(
    shared: &Arc<Shared>,
    from_env: EnvConfig,
    from_revision: String,
    to_env: EnvConfig,
    message: Option<String>,
) -> Result<PromotionPlan, FailureReason> {
    let owned = shared.clone();
    tokio::task::spawn_blocking(move || {
        let source = open_source(&owned.config)?;
        plan_promotion(
            &source,
            &from_env,
            &from_revision,
            &to_env,
            message.as_deref(),
        )
    })
    .await
    .map_err(|e| FailureReason::Git(format!("promotion task failed: {e}")))?
    .map_err(failure)
}

/// The drift TO would see if its render were the plan's: TO's live state against it.
async fn preview_drift(
    shared: &Arc<Shared>,
    to_env: &EnvConfig,
    plan: &PromotionPlan,
) -> Result<Vec<Drift>, FailureReason> {
    let cluster = jobs::connect(shared.config.kubeconfig.clone(), to_env.context.clone())
        .await
        .map_err(FailureReason::ClusterUnreachable)?;
    let desired = Desired {
        revision: crate::model::Revision {
            requested: plan.base_revision.clone(),
            sha: plan.base_revision.clone(),
        },
        rendered: Rendered {
            manifests: plan.rendered.clone(),
            digest: String::new(),
            inputs: Vec::new(),
        },
    };
    let work = async {
        let live = list_live(&cluster, to_env, &desired.rendered.manifests).await?;
        let predicted = predict(&cluster, to_env, &desired, &live).await;
        let mut state = EnvState::unknown(&to_env.name);
        assess(&mut state, to_env, &desired, &live, &predicted);
        Ok::<_, crate::cluster::Error>(state.drift)
    };
    match tokio::time::timeout(Duration::from_secs(30), work).await {
        Ok(Ok(drift)) => Ok(drift),
        Ok(Err(e)) => Err(FailureReason::ClusterUnreachable(e.to_string())),
        Err(_) => Err(FailureReason::ClusterUnreachable(format!(
            "context {}: no answer within 30s",
            to_env.context
        ))),
    }
}
