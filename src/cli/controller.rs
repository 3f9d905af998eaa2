//! `driftdeck controller`: the headless reconcile loop. Runs the one controller with
//! automation on for every env (it acts where it wins the env's Lease), logs notices to stderr
//! through tracing, and on SIGTERM/SIGINT stops, releasing its Leases, exit 0.

use std::time::Duration;

use super::{CmdResult, Failure, GlobalArgs};
use crate::controller::{self, DriverOptions};
use crate::model::Notice;

pub fn run(global: &GlobalArgs) -> CmdResult {
    let config = super::load_config(global)?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let opts = DriverOptions {
            automation: true,
            ..DriverOptions::manual(global.read_only)
        };
        tracing::info!(operator = %opts.operator, "controller starting");
        let controller::driver::Spawned {
            commands,
            mut notices,
            snapshots: _snapshots,
            task: driver,
        } = controller::driver::spawn(config, opts);
        let stop = stop_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                result = &mut stop => {
                    result?;
                    break;
                }
                notice = notices.recv() => match notice {
                    Some(notice) => log(&notice),
                    None => break,
                },
            }
        }
        tracing::info!("controller stopping: flushing state and releasing Leases");
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
