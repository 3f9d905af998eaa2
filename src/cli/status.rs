//! `driftdeck status [-o json]`: per env, what Git wants, what runs, drift, health and the
//! cluster-held state. Envs are observed concurrently; an unreachable cluster makes its env
//! `Unknown` with the reason and the others are still reported. Exit 2 when any env could not
//! be observed (config, Git or cluster error), else 0 — drift is not an error here (`diff` is
//! the command whose exit code reports drift).

use std::io::Write;

use serde::Serialize;

use super::{CmdResult, Failure, GlobalArgs, OutputArgs, OutputFormat, load_config};
use crate::controller::{self, Observed};
use crate::model::{
    DriftCount, EngineName, EnvState, HealthCode, Hold, Pause, RunningOperation, SyncStatus,
    short_sha,
};

#[derive(Serialize)]
struct StatusOut<'a> {
    environments: Vec<EnvOut<'a>>,
}

/// The contract's shape (ARCHITECTURE.md, "CLI contract"); fields may be added, not renamed.
#[derive(Serialize)]
struct EnvOut<'a> {
    name: &'a str,
    revision: Option<&'a str>,
    synced_revision: Option<&'a str>,
    sync: SyncStatus,
    health: HealthCode,
    health_message: &'a str,
    drift: DriftCount,
    paused: Option<&'a Pause>,
    hold: Option<&'a Hold>,
    lease_holder: Option<&'a str>,
    error: Option<&'a str>,
    /// Why automation does not deploy the head and how that ends; null when it is free to.
    automation: Option<&'a str>,
    /// The Lease holder's running operation, if it publishes one.
    operation: Option<&'a RunningOperation>,
    context: &'a str,
    namespace: &'a str,
    path: &'a str,
    protected: bool,
    resources: usize,
    observed_at: Option<String>,
    /// Prune-candidate kinds this user may not list (`KIND in NAMESPACE: REASON`): extras
    /// among them are unknown.
    unreadable: &'a [String],
    /// Who reconciles the env: `driftdeck`, `argocd` or `flux`.
    engine: EngineName,
    /// The revision the engine last tried to deploy (engine envs); null for driftdeck envs.
    attempted_revision: Option<&'a str>,
}

impl<'a> From<&'a EnvState> for EnvOut<'a> {
    fn from(e: &'a EnvState) -> Self {
        Self {
            name: &e.name,
            revision: e.revision.as_deref(),
            synced_revision: e.synced_revision.as_deref(),
            sync: e.sync,
            health: e.health.code,
            health_message: &e.health.message,
            drift: e.drift_count(),
            paused: e.paused.as_ref(),
            hold: e.hold.as_ref(),
            lease_holder: e.lease_holder.as_deref(),
            error: e.error.as_deref(),
            automation: e.automation.as_deref(),
            operation: e.operation.as_ref(),
            context: &e.context,
            namespace: &e.namespace,
            path: &e.path,
            protected: e.protected,
            resources: e.resources.len(),
            observed_at: e.observed_at.map(|t| t.to_string()),
            unreadable: &e.unreadable,
            engine: e.engine,
            attempted_revision: e.attempted_revision.as_deref(),
        }
    }
}

pub fn run(global: &GlobalArgs, args: OutputArgs) -> CmdResult {
    let config = load_config(global)?;
    let observed: Vec<Observed> = super::runtime()?.block_on(controller::observe_all(&config));
    let failed = observed.iter().any(|o| o.state.observation_failed());
    let states: Vec<&EnvState> = observed.iter().map(|o| &o.state).collect();
    let mut out = std::io::stdout().lock();
    let written = match args.output {
        OutputFormat::Json => {
            let doc = StatusOut {
                environments: states.iter().map(|s| EnvOut::from(*s)).collect(),
            };
            serde_json::to_string_pretty(&doc)
                .map_err(std::io::Error::other)
                .and_then(|text| writeln!(out, "{text}"))
        }
        OutputFormat::Text => write_table(&mut out, &states),
    };
    written.map_err(Failure::stdout)?;
    if failed {
        for s in states.iter().filter(|s| s.observation_failed()) {
            if let Some(e) = &s.error {
                eprintln!("driftdeck: {}: {e}", s.name);
            }
        }
        return Err(Failure::Setup(
            "some environments could not be observed".into(),
        ));
    }
    Ok(())
}

fn write_table(out: &mut impl Write, states: &[&EnvState]) -> std::io::Result<()> {
    // As wide as the longest env name, so every column lines up.
    let w = states
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0)
        .max(14);
    writeln!(
        out,
        "{:<w$} {:<8} {:<8} {:<10} {:<12} {:<9} {:<9} NOTES",
        "ENV", "GIT", "SYNCED", "SYNC", "HEALTH", "DRIFT", "ENGINE"
    )?;
    for s in states {
        let rev = |r: &Option<String>| r.as_deref().map(short_sha).unwrap_or("-").to_owned();
        let d = s.drift_count();
        let mut notes = Vec::new();
        if s.protected {
            notes.push("protected".to_owned());
        }
        if let Some(p) = &s.paused {
            let reason = if p.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", p.reason)
            };
            notes.push(format!("PAUSED by {}{reason}", p.by));
        }
        if let Some(h) = &s.hold {
            notes.push(if h.bad_revision.is_empty() {
                format!("HOLD at {}", short_sha(&h.revision))
            } else {
                format!(
                    "HOLD at {} (bad {})",
                    short_sha(&h.revision),
                    short_sha(&h.bad_revision)
                )
            });
        }
        if let Some(l) = &s.lease_holder {
            notes.push(format!("held by {l}"));
        }
        if let Some(op) = &s.operation {
            notes.push(format!(
                "{} {} running: {}",
                op.op,
                short_sha(&op.revision),
                op.phase
            ));
        }
        if let Some(a) = &s.automation {
            notes.push(a.clone());
        }
        for u in &s.unreadable {
            notes.push(format!("unknown, not readable: {u}"));
        }
        if let Some(e) = &s.error {
            notes.push(format!("error: {e}"));
        } else if !s.health.message.is_empty() {
            notes.push(s.health.message.clone());
        }
        writeln!(
            out,
            "{:<w$} {:<8} {:<8} {:<10} {:<12} {:<9} {:<9} {}",
            s.name,
            rev(&s.revision),
            rev(&s.synced_revision),
            s.sync.to_string(),
            s.health.code.to_string(),
            format!("{}/{}/{}", d.missing, d.modified, d.extra),
            s.engine.to_string(),
            notes.join("; ")
        )?;
    }
    Ok(())
}
