//! `driftdeck promote FROM TO [--yes] [-m MSG] [--force] [--confirm TO]`: through the one
//! controller (which checks FROM is Synced and Healthy, TO's confirmation, and writes the
//! commit). Without `--yes` it prints the commit message and the rendered diff TO would get and
//! changes nothing. It does not wait for TO to sync. A guard the controller's policy refuses
//! (protected TO without `--confirm TO`, FROM not TO's `promote_from` without `--force`) exits 2
//! with nothing committed.

use std::time::Duration;

use super::verbs::{Session, progress};
use super::{CmdResult, Failure, GlobalArgs, PromoteArgs};
use crate::model::{Command, Notice, short_sha};

/// FROM's observation, the plan (Git) and the preview's live read.
const WAIT: Duration = Duration::from_secs(90);

pub fn run(global: &GlobalArgs, args: PromoteArgs) -> CmdResult {
    let config = super::load_config(global)?;
    for name in [&args.from, &args.to] {
        if config.env(name).is_none() {
            return Err(Failure::Setup(super::unknown_env(&config, name)));
        }
    }
    let rt = super::runtime()?;
    rt.block_on(async {
        let envs = vec![args.from.clone(), args.to.clone()];
        let mut session = Session::start(config, global.read_only, envs);
        session
            .send(Command::Promote {
                from: args.from.clone(),
                to: args.to.clone(),
                message: args.message,
                force: args.force,
                confirm: args.confirm,
                preview: !args.yes,
            })
            .await?;
        let deadline = tokio::time::Instant::now() + WAIT;
        let result = loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(notice) = session.next(left).await else {
                break Err(Failure::Action(Some(format!(
                    "promote {}→{}: no result within {}s",
                    args.from,
                    args.to,
                    WAIT.as_secs()
                ))));
            };
            progress(&notice);
            match notice {
                Notice::PromotionPreviewed { message, drift, .. } => {
                    println!("{message}");
                    println!();
                    super::dry_run::print_drift(&drift)?;
                    eprintln!("preview only: nothing committed; run again with --yes to commit");
                    break Ok(());
                }
                Notice::Committed { sha, summary, .. } => {
                    println!("committed {} {summary}", short_sha(&sha));
                    break Ok(());
                }
                Notice::Refused { env, reason } if env.as_deref().is_none_or(|e| e == args.to) => {
                    // An unconfirmed guard (protected TO, `promote_from`) exits 2.
                    break Err(session.refusal(&args.to, &reason));
                }
                _ => {}
            }
        };
        session.finish().await;
        result
    })
}
