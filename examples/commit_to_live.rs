//! Figures for issue 5's acceptance items 1 and 2, printed, not asserted:
//! `cargo run --example commit_to_live -- DRIFTDECK_BIN [--commits 20] [--heals 10] [--heal-gap 6]
//! [--time-scale 10]`
//! (run by `scripts/commit-to-live.sh`).
//!
//! Starts an in-process sandbox (dev, staging, production) on 127.0.0.1:0, writes the demo repo
//! and a config with dev on auto-sync and self-heal (the demo's 30 s poll: local repos must be
//! seen by watching, not polling), runs `DRIFTDECK_BIN controller`, then:
//! - commit → live: N commits to dev's log-api image (git2, no checkout); each sample is the
//!   time from the branch ref moving to the sandbox's Deployment pod template carrying the
//!   commit's image, read straight from the store every 2 ms. The next commit waits until the
//!   operation's history entry is finished, so samples do not queue behind validation.
//! - self-heal: `kubectl scale deployment/log-api --replicas=4` M times; each sample is the time
//!   from the store first showing 4 replicas to it showing Git's 1 again. Each scale follows
//!   `--heal-gap` seconds of quiet (default 6): the engine heals an env at most once per 5 s, so
//!   back-to-back scales would measure that rate limit (`--heal-gap 0` does, on purpose).
//!
//! Prints every sample and p50/p95 (nearest rank).

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use driftdeck::model::{HistoryEntry, OperationResult, short_sha};
use driftdeck::sandbox::{self, Sandbox, SandboxOptions};
use driftdeck::source::{Author, RepoSpec, Source};
use serde_json::Value;

mod common;

use common::{
    API_IMAGE, NS, Res, report, secs, set_tag, spawn, until, which_kubectl, write_config,
};

/// How often [`until`] looks at the store again.
const POLL: Duration = Duration::from_millis(2);

struct Opts {
    bin: PathBuf,
    commits: usize,
    heals: usize,
    /// Quiet time before each scale, so a heal is not held back by the previous one's rate
    /// limit (the engine self-heals an env at most once per `SELF_HEAL_INTERVAL`).
    heal_gap: Duration,
    time_scale: f64,
}

fn main() -> ExitCode {
    let result = parse().and_then(|opts| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(run(opts))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("commit_to_live: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse() -> Res<Opts> {
    let mut args = std::env::args().skip(1);
    let mut opts = Opts {
        bin: PathBuf::new(),
        commits: 20,
        heals: 10,
        heal_gap: Duration::from_secs(6),
        time_scale: 10.0,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--commits" => opts.commits = value("--commits")?.parse()?,
            "--heals" => opts.heals = value("--heals")?.parse()?,
            "--time-scale" => opts.time_scale = value("--time-scale")?.parse()?,
            "--heal-gap" => opts.heal_gap = Duration::from_secs_f64(value("--heal-gap")?.parse()?),
            _ if opts.bin.as_os_str().is_empty() => opts.bin = PathBuf::from(arg),
            other => return Err(format!("unexpected argument {other:?}").into()),
        }
    }
    if opts.bin.as_os_str().is_empty() {
        return Err(
            "usage: commit_to_live DRIFTDECK_BIN [--commits N] [--heals M] [--heal-gap SECS] [--time-scale S]".into(),
        );
    }
    Ok(opts)
}

async fn run(opts: Opts) -> Res<()> {
    let sandbox = Sandbox::new(
        &["dev", "staging", "production"],
        SandboxOptions {
            time_scale: opts.time_scale,
            ..SandboxOptions::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sandbox::serve(listener, sandbox.clone(), async {
        let _ = stopped.await;
    }));

    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    driftdeck::demo::init(root)?;
    let names = ["dev".to_string(), "staging".into(), "production".into()];
    let kubeconfig = root.join("kubeconfig");
    sandbox::kubeconfig::write(&kubeconfig, addr, &names, None)?;
    write_config(root)?;

    let config = root.join("driftdeck.yaml").display().to_string();
    let mut controller = spawn(
        &opts.bin,
        root,
        &["--config", &config, "controller"],
        "controller.log",
    )?;

    let probe = Probe { sandbox: &sandbox };
    let outcome = measure(&opts, root, &kubeconfig, &probe).await;
    let _ = controller.start_kill();
    let _ = controller.wait().await;
    let _ = stop.send(());
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

async fn measure(opts: &Opts, root: &Path, kubeconfig: &Path, probe: &Probe<'_>) -> Res<()> {
    let repo = root.join("repo");
    let spec = RepoSpec {
        url: repo.display().to_string(),
        branch: "main".into(),
    };
    let source = Source::open(&spec, &root.join("cache"))?;
    let head = source.resolve(None)?.sha;
    println!(
        "sandbox time scale {}x; controller: dev auto_sync + self_heal",
        opts.time_scale
    );
    until("dev's first sync", POLL, || {
        std::future::ready(probe.finished(&head))
    })
    .await?;

    let author = Author {
        name: "Figures".into(),
        email: "figures@example.invalid".into(),
    };
    let path = "overlays/dev/kustomization.yaml";
    let mut live = Vec::new();
    for i in 0..opts.commits {
        let tag = format!("1.7.{i}");
        let head = source.resolve(None)?.sha;
        let text = String::from_utf8(source.tree(&head)?.read(path)?)?;
        let edits = vec![(path.to_string(), Some(set_tag(&text, &tag).into_bytes()))];
        let want = format!("{API_IMAGE}:{tag}");
        let sha = source.commit_files("main", &edits, &format!("dev: log-api {tag}"), &author)?;
        let t0 = Instant::now();
        until(&format!("{want} live"), POLL, || {
            std::future::ready(probe.image().as_deref() == Some(want.as_str()))
        })
        .await?;
        let took = t0.elapsed();
        println!(
            "commit {:2} {}: live after {:.3} s",
            i + 1,
            short_sha(&sha),
            secs(took)
        );
        live.push(took);
        until("the operation to finish", POLL, || {
            std::future::ready(probe.finished(&sha))
        })
        .await?;
    }

    let kubectl = which_kubectl()?;
    let mut heals = Vec::new();
    for i in 0..opts.heals {
        tokio::time::sleep(opts.heal_gap).await;
        let mut scale = tokio::process::Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--context", "dev", "-n", NS])
            .args(["scale", "deployment/log-api", "--replicas=4"])
            .stdout(Stdio::null())
            .spawn()?;
        until("kubectl's scale to land", POLL, || {
            std::future::ready(probe.replicas() == Some(4))
        })
        .await?;
        let t0 = Instant::now();
        until("replicas healed to 1", POLL, || {
            std::future::ready(probe.replicas() == Some(1))
        })
        .await?;
        let took = t0.elapsed();
        scale.wait().await?;
        println!(
            "heal {:2}: replicas back to 1 after {:.3} s",
            i + 1,
            secs(took)
        );
        heals.push(took);
        // Let the heal's own operation finish so the next scale is a fresh drift.
        until("the heal to be recorded", POLL, || {
            std::future::ready(
                probe
                    .history()
                    .first()
                    .is_some_and(|e| e.result != OperationResult::Running),
            )
        })
        .await?;
    }

    println!();
    report("commit → live", &mut live);
    report("self-heal after kubectl scale", &mut heals);
    Ok(())
}

struct Probe<'a> {
    sandbox: &'a Sandbox,
}

impl Probe<'_> {
    fn get(&self, group: &str, plural: &str, name: &str) -> Option<Value> {
        let cluster = self.sandbox.cluster("dev").ok()?;
        let store = cluster.lock();
        let rt = store.find_type(group, "v1", plural)?;
        store.get(&rt, NS, name)
    }

    fn image(&self) -> Option<String> {
        self.get("apps", "deployments", "log-api")?
            .pointer("/spec/template/spec/containers/0/image")?
            .as_str()
            .map(str::to_owned)
    }

    fn replicas(&self) -> Option<i64> {
        self.get("apps", "deployments", "log-api")?
            .pointer("/spec/replicas")?
            .as_i64()
    }

    fn history(&self) -> Vec<HistoryEntry> {
        self.get("", "configmaps", "driftdeck-dev")
            .and_then(|cm| cm.pointer("/data/history")?.as_str().map(str::to_owned))
            .and_then(|h| serde_json::from_str(&h).ok())
            .unwrap_or_default()
    }

    fn finished(&self, sha: &str) -> bool {
        self.history().iter().any(|e| {
            e.revision.len() >= 7
                && sha.starts_with(&e.revision)
                && e.result != OperationResult::Running
        })
    }
}
