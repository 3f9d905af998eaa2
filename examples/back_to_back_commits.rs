//! Figures for back-to-back commits, printed, not asserted:
//! `cargo run --release --example back_to_back_commits -- DRIFTDECK_BIN [--commits 20]
//! [--every 1] [--time-scale 10]` (run by `scripts/back-to-back-commits.sh`).
//!
//! Runs `DRIFTDECK_BIN sandbox` as its own process (dev, staging, production), writes the demo
//! repo and a config with dev on auto-sync and self-heal, runs `DRIFTDECK_BIN controller`, waits
//! for dev's first sync, then commits a new log-api image to dev every `--every` seconds
//! without waiting for anything (git2, no checkout). A probe task reads dev's Deployment
//! through the sandbox's API every 5 ms and notes when each image first shows in its pod
//! template. Printed:
//! - per commit: commit → live, and what dev's history says happened to it (`applied`: its
//!   auto-sync finished Succeeded; `superseded`: Interrupted by the next head; `skipped`: no
//!   operation at all, because a newer head arrived before one could start);
//! - p50/p95 (nearest rank) of commit → live over the commits that went live;
//! - whether the operations started in commit order and whether any commit was applied twice.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{API_IMAGE, NS, Res, report, secs, set_tag, spawn, until, write_config};
use driftdeck::model::{HistoryEntry, OperationKind, OperationResult, short_sha};
use driftdeck::source::{Author, RepoSpec, Source};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};

struct Opts {
    bin: std::path::PathBuf,
    commits: usize,
    every: Duration,
    time_scale: f64,
}

fn main() -> std::process::ExitCode {
    let result = parse().and_then(|opts| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(run(opts))
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("back_to_back_commits: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

fn parse() -> Res<Opts> {
    let mut args = std::env::args().skip(1);
    let mut opts = Opts {
        bin: Default::default(),
        commits: 20,
        every: Duration::from_secs(1),
        time_scale: 10.0,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--commits" => opts.commits = value("--commits")?.parse()?,
            "--every" => opts.every = Duration::from_secs_f64(value("--every")?.parse()?),
            "--time-scale" => opts.time_scale = value("--time-scale")?.parse()?,
            _ if opts.bin.as_os_str().is_empty() => opts.bin = arg.into(),
            other => return Err(format!("unexpected argument {other:?}").into()),
        }
    }
    if opts.bin.as_os_str().is_empty() {
        return Err("usage: back_to_back_commits DRIFTDECK_BIN [--commits N] [--every SECS] [--time-scale S]".into());
    }
    Ok(opts)
}

/// How often [`until`] looks again.
const POLL: Duration = Duration::from_millis(20);

async fn run(opts: Opts) -> Res<()> {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    driftdeck::demo::init(root)?;
    let kubeconfig = root.join("kubeconfig");
    let kc = kubeconfig.display().to_string();
    let scale = opts.time_scale.to_string();
    let mut sandbox = spawn(
        &opts.bin,
        root,
        &[
            "sandbox",
            "--kubeconfig",
            &kc,
            "--clusters",
            "dev,staging,production",
            "--time-scale",
            &scale,
        ],
        "sandbox.log",
    )?;
    until("the sandbox's kubeconfig", POLL, || async {
        std::fs::read_to_string(&kubeconfig).is_ok_and(|t| t.contains("current-context:"))
    })
    .await?;
    write_config(root)?;
    let config = root.join("driftdeck.yaml").display().to_string();
    let mut controller = spawn(
        &opts.bin,
        root,
        &["--config", &config, "controller"],
        "controller.log",
    )?;

    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(
            Kubeconfig::read_from(&kubeconfig)?,
            &KubeConfigOptions {
                context: Some("dev".into()),
                ..Default::default()
            },
        )
        .await?,
    )?;
    let outcome = measure(&opts, root, client).await;
    let _ = controller.start_kill();
    let _ = controller.wait().await;
    let _ = sandbox.start_kill();
    let _ = sandbox.wait().await;
    if outcome.is_err() {
        let text = std::fs::read_to_string(root.join("controller.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        eprintln!(
            "controller log tail:\n{}",
            lines[lines.len().saturating_sub(30)..].join("\n")
        );
    }
    outcome
}

async fn history(cms: &Api<ConfigMap>) -> Vec<HistoryEntry> {
    let Ok(cm) = cms.get("driftdeck-dev").await else {
        return Vec::new();
    };
    cm.data
        .and_then(|d| d.get("history").cloned())
        .and_then(|h| serde_json::from_str(&h).ok())
        .unwrap_or_default()
}

fn image_of(d: &Deployment) -> Option<String> {
    d.spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .image
        .clone()
}

async fn measure(opts: &Opts, root: &Path, client: kube::Client) -> Res<()> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let cms: Api<ConfigMap> = Api::namespaced(client, NS);
    let spec = RepoSpec {
        url: root.join("repo").display().to_string(),
        branch: "main".into(),
    };
    let source = Source::open(&spec, &root.join("cache"))?;
    let first = source.resolve(None)?.sha;
    until("dev's first sync", POLL, || async {
        history(&cms)
            .await
            .iter()
            .any(|e| e.revision == first && e.result != OperationResult::Running)
    })
    .await?;
    println!(
        "separate sandbox process, time scale {}x; controller: dev auto_sync + self_heal; a commit every {:.1} s",
        opts.time_scale,
        secs(opts.every)
    );

    // image → when the probe first saw it in the pod template.
    let seen: Arc<Mutex<BTreeMap<String, Instant>>> = Arc::default();
    let probe = {
        let seen = seen.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(d) = deployments.get("log-api").await
                    && let Some(image) = image_of(&d)
                    && let Ok(mut seen) = seen.lock()
                {
                    seen.entry(image).or_insert_with(Instant::now);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let author = Author {
        name: "Figures".into(),
        email: "figures@example.invalid".into(),
    };
    let path = "overlays/dev/kustomization.yaml";
    let mut commits: Vec<(String, String, Instant)> = Vec::new();
    let mut tick = tokio::time::interval(opts.every);
    for i in 0..opts.commits {
        tick.tick().await;
        let tag = format!("1.8.{i}");
        let head = source.resolve(None)?.sha;
        let text = String::from_utf8(source.tree(&head)?.read(path)?)?;
        let edits = vec![(path.to_string(), Some(set_tag(&text, &tag).into_bytes()))];
        let sha = source.commit_files("main", &edits, &format!("dev: log-api {tag}"), &author)?;
        commits.push((sha, format!("{API_IMAGE}:{tag}"), Instant::now()));
    }
    let Some((last, _, _)) = commits.last().cloned() else {
        return Ok(());
    };
    until("the last commit's operation to finish", POLL, || async {
        history(&cms)
            .await
            .iter()
            .any(|e| e.revision == last && e.result != OperationResult::Running)
    })
    .await?;
    probe.abort();

    let history = history(&cms).await;
    let seen = seen.lock().map_err(|_| "probe lock poisoned")?.clone();
    let mut live = Vec::new();
    let (mut applied, mut superseded, mut skipped, mut twice, mut other) = (0, 0, 0, 0, 0);
    for (i, (sha, image, at)) in commits.iter().enumerate() {
        let ops: Vec<&HistoryEntry> = history
            .iter()
            .filter(|e| e.revision == *sha && e.op == OperationKind::AutoSync)
            .collect();
        let fate = match ops.as_slice() {
            [] => {
                skipped += 1;
                "skipped".to_string()
            }
            [e] if e.result == OperationResult::Succeeded => {
                applied += 1;
                "applied".to_string()
            }
            [e] if e.superseded_by_a_new_head() => {
                superseded += 1;
                "superseded".to_string()
            }
            [e] => {
                other += 1;
                format!(
                    "{}: {}",
                    e.result,
                    e.failure
                        .as_ref()
                        .map(|f| f.to_string())
                        .unwrap_or_default()
                )
            }
            many => {
                twice += 1;
                format!("{} operations", many.len())
            }
        };
        let took = seen.get(image).map(|t| t.saturating_duration_since(*at));
        if let Some(took) = took {
            live.push(took);
        }
        println!(
            "commit {:2} {}: {:>10}  live after {}",
            i + 1,
            short_sha(sha),
            fate,
            took.map_or("never".to_string(), |d| format!("{:.3} s", secs(d)))
        );
    }
    // History is newest first: the commits' operations, oldest first, must follow commit order.
    let order: Vec<usize> = history
        .iter()
        .rev()
        .filter(|e| e.op == OperationKind::AutoSync)
        .filter_map(|e| commits.iter().position(|(sha, _, _)| *sha == e.revision))
        .collect();
    let in_order = order.windows(2).all(|w| w[0] < w[1]);
    println!();
    report("commit → live", &mut live);
    println!(
        "{} commits: {applied} applied, {superseded} superseded, {skipped} skipped, {other} other, {twice} applied more than once; operations in commit order: {in_order}",
        commits.len()
    );
    Ok(())
}
