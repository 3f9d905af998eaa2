//! `driftdeck history ENV [-o json] [--limit N] [--skip N]`: the Git commits that touched any
//! file the env's render reads (its path, its bases, components and patches), newest first.
//!
//! The input set is taken from the render at the branch head: a file that fed the env only in
//! the past (a patch since deleted) is found through the folders that still feed it, not on its
//! own. When the head does not render, the env's folder alone is used and a warning says so.
//!
//! Then the env's operations (sync, rollback, promote… from ConfigMap `driftdeck-<env>`,
//! newest first). An unreachable cluster does not fail the command: the commits are still
//! printed, `operations` is empty with `operations_error` set, and stderr says why.

use std::time::Duration;

use serde::Serialize;

use super::{CmdResult, Failure, GlobalArgs, HistoryArgs, OutputFormat, load_config};
use crate::controller::held_io;
use crate::controller::{self, DesiredError};
use crate::model::{Commit, HistoryEntry, short_sha};

/// Bound on reaching the cluster for operations: the commits must not wait on a dead cluster.
const OPERATIONS_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Serialize)]
struct HistoryOut<'a> {
    env: &'a str,
    path: &'a str,
    branch: &'a str,
    revision: String,
    inputs: Vec<String>,
    skip: usize,
    limit: usize,
    commits: Vec<Commit>,
    /// Operations from the cluster-held history, newest first.
    operations: Vec<HistoryEntry>,
    /// Why `operations` could not be read; `null` when they were.
    operations_error: Option<String>,
}

pub fn run(global: &GlobalArgs, args: HistoryArgs) -> CmdResult {
    let config = load_config(global)?;
    let env = config
        .env(&args.env)
        .ok_or_else(|| Failure::Setup(super::unknown_env(&config, &args.env)))?;
    let path = controller::env_path(env);
    let (revision, inputs, commits) = match git_side(&config, env, &path, &args) {
        Ok(git) => git,
        // An engine env's operations are worth showing without Git: the engine's source may
        // not be driftdeck's repository.
        Err(Failure::Setup(e)) if env.engine != crate::config::EngineSpec::Driftdeck => {
            eprintln!(
                "driftdeck: warning: commits of {} unavailable: {e}",
                env.name
            );
            (String::new(), Vec::new(), Vec::new())
        }
        Err(e) => return Err(e),
    };
    let (operations, operations_error) = match read_operations(&super::runtime()?, &config, env) {
        Ok(ops) => (ops, None),
        Err(e) => {
            eprintln!(
                "driftdeck: warning: operations of {} unavailable: {e}",
                env.name
            );
            (Vec::new(), Some(e))
        }
    };
    match args.output {
        OutputFormat::Json => {
            let out = HistoryOut {
                env: &env.name,
                path: &path,
                branch: &config.repo.branch,
                revision,
                inputs,
                skip: args.skip,
                limit: args.limit,
                commits,
                operations,
                operations_error,
            };
            let text = serde_json::to_string_pretty(&out).map_err(Failure::setup)?;
            println!("{text}");
        }
        OutputFormat::Text => {
            for c in &commits {
                let when = c.time.strftime("%Y-%m-%d %H:%M");
                println!("{}  {when}  {:<16}  {}", c.short_sha(), c.author, c.summary);
            }
            if commits.is_empty() {
                println!("no commits touch {path} ({} input files)", inputs.len());
            }
            if operations_error.is_none() {
                println!();
                print_operations(&operations);
            }
        }
    }
    Ok(())
}

/// The branch head, the env's render inputs at it, and the commits touching them.
fn git_side(
    config: &crate::config::Config,
    env: &crate::config::EnvConfig,
    path: &str,
    args: &HistoryArgs,
) -> Result<(String, Vec<String>, Vec<Commit>), Failure> {
    let source = controller::open_source(config).map_err(Failure::setup)?;
    let head = source.resolve(None).map_err(Failure::setup)?;
    let inputs = match controller::desired(&source, env, Some(&head.sha)) {
        Ok(desired) => desired.rendered.inputs,
        Err(DesiredError::Render { error, .. }) => {
            eprintln!(
                "driftdeck: warning: {} does not render at {} ({error}); showing commits under {} only",
                env.name,
                crate::model::short_sha(&head.sha),
                path
            );
            vec![path.to_owned()]
        }
        Err(e) => return Err(Failure::setup(e)),
    };
    let commits = source
        .history(&inputs, Some(&head.sha), args.skip, args.limit)
        .map_err(Failure::setup)?;
    Ok((head.sha, inputs, commits))
}

fn read_operations(
    runtime: &tokio::runtime::Runtime,
    config: &crate::config::Config,
    env: &crate::config::EnvConfig,
) -> Result<Vec<HistoryEntry>, String> {
    // An engine env's operations are the engine's own history (Argo CD's deployments, Flux's
    // reconciliations), read from its CR; driftdeck keeps no ConfigMap for it.
    if env.engine != crate::config::EngineSpec::Driftdeck {
        let observe = async {
            tokio::time::timeout(
                OPERATIONS_TIMEOUT,
                controller::observe_one(config, env, None),
            )
            .await
        };
        return match runtime.block_on(observe) {
            Ok(observed) if observed.state.observation_failed() => {
                Err(observed.state.error.unwrap_or_default())
            }
            Ok(observed) => Ok(observed.state.history),
            Err(_) => Err(format!(
                "context {}: no answer within {}s",
                env.context,
                OPERATIONS_TIMEOUT.as_secs()
            )),
        };
    }
    // The timer must be created inside the runtime.
    let load = async {
        tokio::time::timeout(OPERATIONS_TIMEOUT, held_io::load_held_from(config, env)).await
    };
    match runtime.block_on(load) {
        Ok(Ok(loaded)) => Ok(loaded.state.history),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "context {}: no answer within {}s",
            env.context,
            OPERATIONS_TIMEOUT.as_secs()
        )),
    }
}

fn print_operations(operations: &[HistoryEntry]) {
    if operations.is_empty() {
        println!("no operations recorded");
        return;
    }
    println!("OPERATIONS");
    for e in operations {
        let when = e.started.strftime("%Y-%m-%d %H:%M:%S");
        let took = e
            .finished
            .and_then(|f| f.duration_since(e.started).try_into().ok())
            .map(|d: std::time::Duration| format!(" in {}s", d.as_secs()))
            .unwrap_or_default();
        let failure = e
            .failure
            .as_ref()
            .map(|f| format!(": {f}"))
            .unwrap_or_default();
        println!(
            "{when}  {:<13}  {:<8}  {:<11}  {:<16}  {} changed{took}{failure}",
            e.op.to_string(),
            short_sha(&e.revision),
            e.result.to_string(),
            e.operator,
            e.resources_changed
        );
    }
}
