//! `driftdeck versions [-o json]`: what version runs where — one row per workload, one column
//! per env: the container image(s) live in that env, plus each env's synced revision, sync and
//! health. A cell whose images differ from the env's upstream (`promote_from`) is marked
//! promotable (`*`), a held env's column `HOLD`.
//!
//! Decisions: images are read live (Deployments, StatefulSets and DaemonSets of the env's
//! namespace, as `kubectl get deploy -o jsonpath` would show them), not from Git: the question
//! during an incident is what runs. Sync, health and the synced revision come from the same
//! observation as `status` (`controller::observe_all`), so the two verbs cannot disagree. An env
//! whose cluster cannot be read keeps its column with the error, and the verb exits 2.
//! An engine env's (Argo CD, Flux) images are those of its observation, which reads the
//! workloads the engine deploys (Argo CD: the Application's resources in its destination
//! namespace; Flux: driftdeck's render of the Kustomization's path in its target namespace),
//! keyed `Kind/name` like every env's, so one workload is one row across engines.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde::Serialize;

use super::{CmdResult, Failure, GlobalArgs, OutputArgs, OutputFormat, load_config};
use crate::cluster::{self, Cluster};
use crate::config::{Config, EngineSpec};
use crate::controller::{self, Observed};
use crate::model::{HealthCode, SyncStatus, WORKLOADS, short_image, short_sha, workload_images};

#[derive(Serialize)]
struct VersionsOut {
    environments: Vec<EnvColumn>,
    workloads: Vec<WorkloadRow>,
}

#[derive(Serialize)]
struct EnvColumn {
    name: String,
    promote_from: Option<String>,
    synced_revision: Option<String>,
    sync: SyncStatus,
    health: HealthCode,
    held: bool,
    error: Option<String>,
}

#[derive(Serialize)]
struct WorkloadRow {
    /// `Kind/name`.
    workload: String,
    /// Per env name: the cell; an env without this workload has none.
    envs: BTreeMap<String, Cell>,
}

#[derive(Serialize, Clone)]
struct Cell {
    /// `container=image`, in spec order.
    images: Vec<String>,
    /// Differs from the upstream env's cell (what a promotion would change).
    promotable: bool,
}

pub fn run(global: &GlobalArgs, args: OutputArgs) -> CmdResult {
    let config = load_config(global)?;
    let rt = super::runtime()?;
    let (observed, images) = rt.block_on(async {
        let observed = controller::observe_all(&config).await;
        let images = live_images(&config, &observed).await;
        (observed, images)
    });
    let doc = build(&config, &observed, images);
    let mut out = std::io::stdout().lock();
    let written = match args.output {
        OutputFormat::Json => serde_json::to_string_pretty(&doc)
            .map_err(std::io::Error::other)
            .and_then(|text| writeln!(out, "{text}")),
        OutputFormat::Text => write_table(&mut out, &doc),
    };
    written.map_err(|e| Failure::Setup(format!("writing to stdout: {e}")))?;
    let failed: Vec<String> = doc
        .environments
        .iter()
        .filter_map(|e| e.error.as_ref().map(|m| format!("{}: {m}", e.name)))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Setup(failed.join("\n")))
    }
}

/// Per env (config order): workload → images, or the error reading them.
async fn live_images(
    config: &Config,
    observed: &[Observed],
) -> Vec<Result<BTreeMap<String, Vec<String>>, String>> {
    let kubeconfig = cluster::load_kubeconfig(config.kubeconfig.as_deref());
    let mut out = Vec::with_capacity(config.environments.len());
    for env in &config.environments {
        if env.engine != EngineSpec::Driftdeck {
            // The engine's own observation read the workloads its CR deploys (their namespace
            // is the CR's destination, not the env's `namespace`, which defaults to the CR's).
            let state = observed.iter().find(|o| o.state.name == env.name);
            out.push(Ok(state
                .map(|o| o.state.images.clone())
                .unwrap_or_default()));
            continue;
        }
        let result = match &kubeconfig {
            Err(e) => Err(e.to_string()),
            Ok(kc) => match Cluster::connect(kc.as_ref(), &env.context).await {
                Err(e) => Err(e.to_string()),
                Ok(c) => workloads_of(&c, &env.namespace).await,
            },
        };
        out.push(result);
    }
    out
}

async fn workloads_of(
    c: &Cluster,
    namespace: &str,
) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut found = BTreeMap::new();
    for kind in WORKLOADS {
        let objects = c
            .list_lean("apps/v1", kind, namespace, "")
            .await
            .map_err(|e| e.to_string())?;
        for obj in objects {
            if let Some((workload, images)) = workload_images(&obj) {
                found.insert(workload, images);
            }
        }
    }
    Ok(found)
}

fn build(
    config: &Config,
    observed: &[Observed],
    images: Vec<Result<BTreeMap<String, Vec<String>>, String>>,
) -> VersionsOut {
    let mut environments = Vec::new();
    let mut per_env: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (env, live) in config.environments.iter().zip(images) {
        let state = observed
            .iter()
            .map(|o| &o.state)
            .find(|s| s.name == env.name);
        let (live, live_error) = match live {
            Ok(l) => (l, None),
            Err(e) => (BTreeMap::new(), Some(e)),
        };
        per_env.insert(env.name.clone(), live);
        environments.push(EnvColumn {
            name: env.name.clone(),
            promote_from: env.promote_from.clone(),
            synced_revision: state.and_then(|s| s.synced_revision.clone()),
            sync: state.map_or(SyncStatus::Unknown, |s| s.sync),
            health: state.map_or(HealthCode::Unknown, |s| s.health.code),
            held: state.is_some_and(|s| s.hold.is_some()),
            error: live_error.or_else(|| state.and_then(|s| s.error.clone())),
        });
    }
    let names: BTreeSet<&String> = per_env.values().flat_map(BTreeMap::keys).collect();
    let workloads = names
        .into_iter()
        .map(|workload| {
            let envs = environments
                .iter()
                .filter_map(|col| {
                    let images = per_env.get(&col.name)?.get(workload)?.clone();
                    let upstream = col
                        .promote_from
                        .as_ref()
                        .and_then(|u| per_env.get(u))
                        .and_then(|m| m.get(workload));
                    let promotable = upstream.is_some_and(|u| *u != images);
                    Some((col.name.clone(), Cell { images, promotable }))
                })
                .collect();
            WorkloadRow {
                workload: workload.clone(),
                envs,
            }
        })
        .collect();
    VersionsOut {
        environments,
        workloads,
    }
}

fn write_table(out: &mut impl Write, doc: &VersionsOut) -> std::io::Result<()> {
    let width = doc
        .workloads
        .iter()
        .map(|w| w.workload.len())
        .max()
        .unwrap_or(8)
        .max(8);
    write!(out, "{:<width$}", "WORKLOAD")?;
    for e in &doc.environments {
        let held = if e.held { " HOLD" } else { "" };
        write!(out, "  {:<24}", format!("{}{held}", e.name.to_uppercase()))?;
    }
    writeln!(out)?;
    write!(out, "{:<width$}", "(synced)")?;
    for e in &doc.environments {
        let rev = e.synced_revision.as_deref().map_or("-", short_sha);
        write!(out, "  {:<24}", format!("{rev} {} {}", e.sync, e.health))?;
    }
    writeln!(out)?;
    for w in &doc.workloads {
        write!(out, "{:<width$}", w.workload)?;
        for e in &doc.environments {
            let cell = w.envs.get(&e.name).map_or_else(
                || "-".to_owned(),
                |c| {
                    let tags: Vec<&str> = c.images.iter().map(|i| short_image(i)).collect();
                    format!("{}{}", tags.join(","), if c.promotable { " *" } else { "" })
                },
            );
            write!(out, "  {cell:<24}")?;
        }
        writeln!(out)?;
    }
    if doc
        .workloads
        .iter()
        .any(|w| w.envs.values().any(|c| c.promotable))
    {
        writeln!(out, "* differs from the env it is promoted from")?;
    }
    for e in &doc.environments {
        if let Some(err) = &e.error {
            writeln!(out, "{}: {err}", e.name)?;
        }
    }
    Ok(())
}
