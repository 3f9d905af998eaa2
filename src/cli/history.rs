//! `driftdeck history ENV [-o json] [--limit N] [--skip N]`: the Git commits that touched any
//! file the env's render reads (its path, its bases, components and patches), newest first.
//!
//! The input set is taken from the render at the branch head: a file that fed the env only in
//! the past (a patch since deleted) is found through the folders that still feed it, not on its
//! own. When the head does not render, the env's folder alone is used and a warning says so.
//! Operations (cluster-held history) join this output with the controller.

use serde::Serialize;

use super::{CmdResult, Failure, GlobalArgs, HistoryArgs, OutputFormat, load_config};
use crate::controller::{self, DesiredError};
use crate::model::Commit;

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
}

pub fn run(global: &GlobalArgs, args: HistoryArgs) -> CmdResult {
    let config = load_config(global)?;
    let env = config
        .env(&args.env)
        .ok_or_else(|| Failure::Setup(super::unknown_env(&config, &args.env)))?;
    let path = controller::env_path(env);
    let source = controller::open_source(&config).map_err(Failure::setup)?;
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
            vec![path.clone()]
        }
        Err(e) => return Err(Failure::setup(e)),
    };
    let commits = source
        .history(&inputs, Some(&head.sha), args.skip, args.limit)
        .map_err(Failure::setup)?;
    match args.output {
        OutputFormat::Json => {
            let out = HistoryOut {
                env: &env.name,
                path: &path,
                branch: &config.repo.branch,
                revision: head.sha.clone(),
                inputs,
                skip: args.skip,
                limit: args.limit,
                commits,
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
        }
    }
    Ok(())
}
