//! `driftdeck dora [ENV…] [--since 30d] [-o json]`: the five DORA metrics per env and pooled,
//! from Git and the operation history in each env's cluster-held ConfigMap
//! ([`crate::controller::dora`] defines every figure). No env named: every configured env.
//!
//! An env whose cluster cannot be read is reported with its error and left out of the pooled
//! figures; the command still exits 0 if at least one env was read, 2 if none was.

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::{CmdResult, Failure, GlobalArgs, OutputFormat, load_config};
use crate::controller::dora::{self, Cached, PathHistory, Samples};
use crate::controller::engine::HISTORY_LIMIT;
use crate::controller::{self, held_io};
use crate::model::Commit;
use crate::source::Source;

/// Bound on reading one env's history.
const READ_TIMEOUT: Duration = Duration::from_secs(15);
/// How far back one env's path history is walked for lead times.
const PATH_HISTORY_LIMIT: usize = 5000;

#[derive(Debug, clap::Args)]
pub struct DoraArgs {
    /// Environments (default: all).
    pub envs: Vec<String>,
    /// The window, back from now: 30d, 12h, 2w.
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// Output format: text for people, json for scripts.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: OutputFormat,
}

#[derive(Serialize)]
struct EnvOut {
    name: String,
    /// Operations the ConfigMap holds (at most `history_limit`).
    history_entries: usize,
    history_oldest: Option<Timestamp>,
    /// False when the history was full and its oldest entry is newer than the window's start:
    /// the figures cover only the part of the window the history still holds.
    history_covers_window: bool,
    metrics: Option<dora::Metrics>,
    error: Option<String>,
}

#[derive(Serialize)]
struct Out {
    since: Timestamp,
    until: Timestamp,
    window_days: f64,
    history_limit: usize,
    environments: Vec<EnvOut>,
    /// All read envs' samples pooled.
    overall: dora::Metrics,
}

struct Git<'a> {
    source: &'a Source,
    paths: std::collections::HashMap<String, String>,
}

impl PathHistory for Git<'_> {
    fn path_history(&self, env: &str, rev: &str) -> Result<Vec<Commit>, String> {
        let path = self
            .paths
            .get(env)
            .ok_or_else(|| format!("no environment {env} in the config"))?;
        self.source
            .history(std::slice::from_ref(path), Some(rev), 0, PATH_HISTORY_LIMIT)
            .map_err(|e| e.to_string())
    }
}

/// `30d`, `2w`, `12h`, `90m` → a duration.
fn window(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let n: u64 = text[..split].parse().ok()?;
    let unit = match &text[split..] {
        "w" => 7 * 86_400,
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        _ => return None,
    };
    n.checked_mul(unit).map(Duration::from_secs)
}

pub fn run(global: &GlobalArgs, args: DoraArgs) -> CmdResult {
    let config = load_config(global)?;
    let span = window(&args.since).ok_or_else(|| {
        Failure::Setup(format!(
            "--since {}: expected a window like 30d, 2w or 12h",
            args.since
        ))
    })?;
    let envs: Vec<&crate::config::EnvConfig> = if args.envs.is_empty() {
        config.environments.iter().collect()
    } else {
        args.envs
            .iter()
            .map(|n| {
                config
                    .env(n)
                    .ok_or_else(|| Failure::Setup(super::unknown_env(&config, n)))
            })
            .collect::<Result<_, _>>()?
    };
    let until = Timestamp::now();
    let since = until
        .checked_sub(jiff::SignedDuration::try_from(span).map_err(Failure::setup)?)
        .map_err(Failure::setup)?;
    let source = controller::open_source(&config).map_err(Failure::setup)?;
    let git = Git {
        source: &source,
        paths: config
            .environments
            .iter()
            .map(|e| (e.name.clone(), controller::env_path(e)))
            .collect(),
    };
    let git = Cached::new(&git);
    let runtime = super::runtime()?;
    let days = span.as_secs_f64() / 86_400.0;
    let mut pooled = Samples::default();
    let mut out_envs = Vec::new();
    for env in envs {
        let read = runtime.block_on(async {
            tokio::time::timeout(READ_TIMEOUT, held_io::load_held_from(&config, env)).await
        });
        let history = match read {
            Ok(Ok(loaded)) => loaded.state.history,
            Ok(Err(e)) => {
                out_envs.push(env_error(&env.name, e.to_string()));
                continue;
            }
            Err(_) => {
                out_envs.push(env_error(
                    &env.name,
                    format!(
                        "context {}: no answer within {}s",
                        env.context,
                        READ_TIMEOUT.as_secs()
                    ),
                ));
                continue;
            }
        };
        let oldest = history.iter().map(|e| e.started).min();
        let covers = history.len() < HISTORY_LIMIT || oldest.is_some_and(|o| o <= since);
        match dora::samples(&env.name, &history, since, until, &git) {
            Ok(s) => {
                pooled.pool(&s);
                out_envs.push(EnvOut {
                    name: env.name.clone(),
                    history_entries: history.len(),
                    history_oldest: oldest,
                    history_covers_window: covers,
                    metrics: Some(dora::metrics(&s, days)),
                    error: None,
                });
            }
            Err(e) => out_envs.push(env_error(&env.name, format!("git: {e}"))),
        }
    }
    if out_envs.iter().all(|e| e.error.is_some()) {
        let why: Vec<String> = out_envs
            .iter()
            .filter_map(|e| e.error.as_ref().map(|m| format!("{}: {m}", e.name)))
            .collect();
        return Err(Failure::Setup(format!(
            "no operation history could be read: {}",
            why.join("; ")
        )));
    }
    let out = Out {
        since,
        until,
        window_days: days,
        history_limit: HISTORY_LIMIT,
        environments: out_envs,
        overall: dora::metrics(&pooled, days),
    };
    match args.output {
        OutputFormat::Json => {
            let text = serde_json::to_string_pretty(&out).map_err(Failure::setup)?;
            println!("{text}");
        }
        OutputFormat::Text => print_text(&out),
    }
    Ok(())
}

fn env_error(name: &str, error: String) -> EnvOut {
    eprintln!("driftdeck: warning: {name}: {error}");
    EnvOut {
        name: name.to_owned(),
        history_entries: 0,
        history_oldest: None,
        history_covers_window: false,
        metrics: None,
        error: Some(error),
    }
}

/// `42s`, `5.0m`, `3.2h`, `1.5d`.
fn span(seconds: f64) -> String {
    match seconds.abs() {
        s if s < 60.0 => format!("{seconds:.0}s"),
        s if s < 3600.0 => format!("{:.1}m", seconds / 60.0),
        s if s < 86_400.0 => format!("{:.1}h", seconds / 3600.0),
        _ => format!("{:.1}d", seconds / 86_400.0),
    }
}

fn hours(d: &dora::Durations) -> String {
    match (d.median_seconds, d.mean_seconds) {
        (Some(m), Some(a)) => format!("median {}, mean {} (n={})", span(m), span(a), d.samples),
        _ => "no samples".into(),
    }
}

fn percent(r: &dora::Rate) -> String {
    match r.rate {
        Some(x) => format!("{:.0}% ({}/{})", x * 100.0, r.count, r.deployments),
        None => "no deployments".into(),
    }
}

fn print_block(name: &str, m: &dora::Metrics) {
    println!("{name}");
    let f = &m.deployment_frequency;
    println!(
        "  deployment frequency          {:.2}/day ({} in {:.0} days)",
        f.per_day, f.deployments, f.days
    );
    println!(
        "  change lead time              {}",
        hours(&m.change_lead_time)
    );
    println!(
        "  change fail rate              {}",
        percent(&m.change_fail_rate)
    );
    let r = &m.failed_deployment_recovery_time;
    println!(
        "  failed deployment recovery    {}{}",
        hours(r),
        r.unrecovered
            .filter(|n| *n > 0)
            .map(|n| format!(", {n} unrecovered"))
            .unwrap_or_default()
    );
    println!(
        "  deployment rework rate        {}",
        percent(&m.deployment_rework_rate)
    );
}

fn print_text(out: &Out) {
    println!(
        "DORA metrics, {} → {} ({:.0} days)\n",
        out.since.strftime("%Y-%m-%d %H:%M"),
        out.until.strftime("%Y-%m-%d %H:%M"),
        out.window_days
    );
    for env in &out.environments {
        match (&env.metrics, &env.error) {
            (Some(m), _) => {
                print_block(&env.name, m);
                if !env.history_covers_window {
                    println!(
                        "  note: the history holds only the last {} operations (since {}); figures cover that part of the window",
                        out.history_limit,
                        env.history_oldest
                            .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_default()
                    );
                }
            }
            (None, Some(e)) => println!("{}\n  unavailable: {e}", env.name),
            (None, None) => {}
        }
        println!();
    }
    print_block("all environments", &out.overall);
}
