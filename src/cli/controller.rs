//! `driftdeck controller`: the headless reconcile loop. Runs the one controller with
//! automation on for every env (it acts where it wins the env's Lease), logs notices to stderr
//! through tracing, and on SIGTERM/SIGINT stops, releasing its Leases, exit 0.
//!
//! Besides the notices of its own actions it logs each env's automation switching off or on
//! because of cluster-held state (a pause or hold set or ended by any process: a console, a
//! CLI verb, another controller), from its published snapshot — what this controller's engine
//! now honours, not what some other process wrote — so an operator reading the log after an
//! emergency stop sees when this controller stopped.
//!
//! With `--metrics ADDR` it serves Prometheus metrics, `/healthz` and `/readyz`
//! ([`crate::controller::metrics`]); the address is bound before the reconcile loop starts, so
//! a taken port or a refused non-loopback address fails the command at once (exit 2).
//! The config's `notify:` targets are started here too ([`crate::controller::notify`]); an unset
//! `url_env` variable likewise fails the command at once.

use std::sync::Arc;
use std::time::Duration;

use super::{CmdResult, Failure, GlobalArgs};
use crate::controller::metrics::{self, Metrics};
use crate::controller::notify::{self, Notifier};
use crate::controller::{self, DriverOptions};
use crate::model::{EnvState, Notice, Snapshot, short_sha};

#[derive(Debug, clap::Args)]
pub struct ControllerArgs {
    /// Serve Prometheus metrics, /healthz and /readyz on this address (e.g. 127.0.0.1:9100).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    /// Allow --metrics on a non-loopback address (the endpoint has no authentication).
    #[arg(long, requires = "metrics")]
    pub metrics_allow_remote: bool,
}

pub fn run(global: &GlobalArgs, args: ControllerArgs) -> CmdResult {
    let config = super::load_config(global)?;
    let bind = args
        .metrics
        .as_deref()
        .map(|addr| metrics::bind_address(addr, args.metrics_allow_remote))
        .transpose()
        .map_err(Failure::Setup)?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let listener =
            match bind {
                Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                    Failure::Setup(format!("--metrics {addr}: cannot listen: {e}"))
                })?),
                None => None,
            };
        let metrics = Arc::new(Metrics::new());
        let notifier = Notifier::start(&config, metrics.clone()).map_err(Failure::Setup)?;
        let opts = DriverOptions {
            automation: true,
            ..DriverOptions::manual(global.read_only)
        };
        tracing::info!(operator = %opts.operator, "controller starting");
        let controller::driver::Spawned {
            commands,
            mut notices,
            mut snapshots,
            task: driver,
        } = controller::driver::spawn(config, opts);
        let (serving_tx, serving_rx) = tokio::sync::oneshot::channel::<()>();
        if let Some(listener) = listener {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
            }
            tokio::spawn(metrics::serve(
                listener,
                metrics.clone(),
                snapshots.clone(),
                async move {
                    let _ = serving_rx.await;
                },
            ));
        }
        if !notifier.is_empty() {
            tokio::spawn(notify::watch_snapshots(notifier.clone(), snapshots.clone()));
        }
        let stop = stop_signal();
        tokio::pin!(stop);
        let mut seen = snapshots.borrow_and_update().clone();
        let mut watching = true;
        loop {
            tokio::select! {
                result = &mut stop => {
                    result?;
                    break;
                }
                notice = notices.recv() => match notice {
                    Some(notice) => {
                        if let Notice::OperationFinished { env, entry } = &notice {
                            metrics.operation_finished(env, entry);
                        }
                        notifier.on_notice(&notice);
                        log(&notice);
                    }
                    None => break,
                },
                changed = snapshots.changed(), if watching => {
                    if changed.is_err() {
                        watching = false;
                        continue;
                    }
                    let now = snapshots.borrow_and_update().clone();
                    log_automation_changes(&seen, &now);
                    seen = now;
                }
            }
        }
        tracing::info!("controller stopping: flushing state and releasing Leases");
        drop(serving_tx);
        drop(commands);
        let drain = async {
            while let Some(n) = notices.recv().await {
                log(&n)
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(15), async {
            tokio::join!(drain, driver)
        })
        .await;
        Ok(())
    })
}

async fn stop_signal() -> Result<(), Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| Failure::Setup(format!("installing the SIGTERM handler: {e}")))?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

/// Logs each env whose pause or hold, as this controller's engine sees it, came or went.
fn log_automation_changes(before: &Snapshot, now: &Snapshot) {
    for env in &now.envs {
        let old = before.env(&env.name);
        let was_paused = old.is_some_and(|o| o.paused.is_some());
        match (&env.paused, was_paused) {
            (Some(p), false) => tracing::info!(
                env = %env.name,
                by = %p.by,
                reason = %p.reason,
                "automation off: paused"
            ),
            (None, true) => tracing::info!(env = %env.name, "automation on: pause ended"),
            _ => {}
        }
        log_hold_change(env, old);
    }
}

fn log_hold_change(env: &EnvState, old: Option<&EnvState>) {
    let had = old.and_then(|o| o.hold.as_ref());
    match (&env.hold, had) {
        (Some(h), None) => tracing::info!(
            env = %env.name,
            at = %short_sha(&h.revision),
            bad = %short_sha(&h.bad_revision),
            by = %h.by,
            reason = %h.reason,
            "automation off: hold"
        ),
        (None, Some(_)) => tracing::info!(env = %env.name, "automation: hold ended"),
        _ => {}
    }
}

fn log(notice: &Notice) {
    match notice {
        Notice::Warned { env, message } => {
            tracing::warn!(env = env.as_deref().unwrap_or("-"), "{message}");
        }
        Notice::Refused { env, reason } => {
            tracing::warn!(env = env.as_deref().unwrap_or("-"), "refused: {reason}");
        }
        Notice::OperationFinished { env, entry } => tracing::info!(
            %env,
            op = %entry.op,
            revision = %crate::model::short_sha(&entry.revision),
            result = %entry.result,
            changed = entry.resources_changed,
            failure = ?entry.failure.as_ref().map(ToString::to_string),
            "operation finished"
        ),
        other => tracing::info!("{other:?}"),
    }
}
