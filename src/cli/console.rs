//! The console commands: `driftdeck` (no subcommand), `driftdeck watch` and `driftdeck demo
//! [--watch]`. Each wires the controller (`controller::driver::run`, spawned, automation on) to the TUI
//! (`tui::run_in_terminal`) with bare channel ends; `demo` first prepares its state folder,
//! starts the sandbox in-process and applies every env at the branch head (beside the console,
//! so the first frame does not wait) so it opens Synced; its `:demo …` palette requests go to
//! `demo::inject` on their own channel.
//!
//! While the TUI owns the terminal nothing is printed: tracing goes to a log file in the data
//! dir (`DIR/driftdeck.log` for the demo). Quitting stops the controller (releasing its Leases) and the sandbox.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::{CmdResult, Failure, GlobalArgs, load_config};
use crate::cluster::{self, Cluster};
use crate::config::Config;
use crate::controller;
use crate::demo::{inject, run as demo_run};
use crate::model::{RepoState, Snapshot};
use crate::tui::{self, UiOptions};

/// How the console is shown.
#[derive(Debug, Clone, Copy)]
struct Mode {
    read_only: bool,
    watch: bool,
}

/// `driftdeck [--config F] [--read-only] [--theme T]`.
pub fn console(global: &GlobalArgs) -> CmdResult {
    let config = load_config(global)?;
    init_logging(&data_dir());
    let mode = Mode {
        read_only: global.read_only,
        watch: false,
    };
    let rt = super::runtime()?;
    let result = rt.block_on(run_console(config, mode, global.theme.as_deref(), None));
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

/// `driftdeck watch [--config F]`: the read-only wall monitor.
pub fn watch(global: &GlobalArgs) -> CmdResult {
    let config = load_config(global)?;
    init_logging(&data_dir());
    let mode = Mode {
        read_only: true,
        watch: true,
    };
    let rt = super::runtime()?;
    let result = rt.block_on(run_console(config, mode, global.theme.as_deref(), None));
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

/// `driftdeck demo [--watch] [--read-only]`.
pub fn demo(global: &GlobalArgs, watch: bool) -> CmdResult {
    let dir = demo_run::demo_dir().map_err(Failure::setup)?;
    let config_file = demo_run::prepare(&dir).map_err(Failure::setup)?;
    init_logging(&dir);
    let mode = Mode {
        read_only: global.read_only || watch,
        watch,
    };
    let rt = super::runtime()?;
    let result = rt.block_on(async {
        let sandbox = demo_run::start_sandbox(&dir)
            .await
            .map_err(Failure::setup)?;
        let config = crate::config::load(&config_file).map_err(Failure::setup)?;
        // The first apply runs beside the console, so its first frame does not wait for it.
        let apply = tokio::spawn({
            let config = config.clone();
            async move { apply_all(&config).await }
        });
        let world = inject::DemoWorld::in_dir(sandbox.sandbox.clone(), &dir);
        let result = run_console(config, mode, global.theme.as_deref(), Some(world)).await;
        apply.abort();
        sandbox.stop().await;
        result
    });
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

/// Applies every env at the branch head (the demo starts Synced). Failures are logged and
/// left for the console to show as drift.
async fn apply_all(config: &Config) {
    let owned = config.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        let source = controller::open_source(&owned).map_err(|e| e.to_string())?;
        let head = source.resolve(None).map_err(|e| e.to_string())?;
        Ok::<_, String>(
            owned
                .environments
                .iter()
                .map(|env| controller::desired(&source, env, Some(&head.sha)))
                .collect::<Vec<_>>(),
        )
    })
    .await;
    let rendered = match rendered {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return tracing::error!("demo: cannot read the repo: {e}"),
        Err(e) => return tracing::error!("demo: render task failed: {e}"),
    };
    let kubeconfig = match cluster::load_kubeconfig(config.kubeconfig.as_deref()) {
        Ok(k) => k,
        Err(e) => return tracing::error!("demo: {e}"),
    };
    for (env, desired) in config.environments.iter().zip(rendered) {
        let desired = match desired {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("demo: {}: {e}", env.name);
                continue;
            }
        };
        let applied = match Cluster::connect(kubeconfig.as_ref(), &env.context).await {
            Ok(c) => controller::apply_env(&c, env, &desired)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match applied {
            Ok(n) => tracing::info!(env = %env.name, changed = n, "demo: applied"),
            Err(e) => tracing::error!("demo: {}: {e}", env.name),
        }
    }
}

/// The controller and the TUI, until the operator quits.
async fn run_console(
    config: Config,
    mode: Mode,
    theme: Option<&str>,
    demo: Option<inject::DemoWorld>,
) -> CmdResult {
    let initial = Snapshot {
        seq: 0,
        taken_at: None,
        read_only: mode.read_only,
        repo: RepoState {
            url: config.repo.url.clone(),
            branch: config.repo.branch.clone(),
            head: None,
            error: None,
        },
        envs: config
            .environments
            .iter()
            .map(controller::base_state)
            .collect(),
    };
    let (snapshot_tx, snapshot_rx) = watch::channel(initial);
    let (notice_tx, notice_rx) = mpsc::channel(64);
    let (command_tx, command_rx) = mpsc::channel(16);
    let mut opts = UiOptions::load(theme, None);
    opts.read_only = mode.read_only;
    opts.watch_mode = mode.watch;
    opts.poll_interval = controller::poll_period(config.repo.poll_interval);
    if let Some(world) = demo {
        // `:demo …` palette requests: only the demo has a world to inject into.
        let (demo_tx, demo_rx) = mpsc::channel(4);
        opts.demo_tx = Some(demo_tx);
        inject::spawn(world, demo_rx, notice_tx.clone());
    }
    let driver_opts = controller::DriverOptions {
        automation: true,
        ..controller::DriverOptions::manual(mode.read_only)
    };
    let driver = tokio::spawn(controller::driver::run(
        config,
        driver_opts,
        snapshot_tx,
        notice_tx,
        command_rx,
    ));
    let ended = tui::run_in_terminal(snapshot_rx, notice_rx, command_tx, opts).await;
    // The UI dropped its channel ends: the driver flushes state and releases its Leases.
    if tokio::time::timeout(Duration::from_secs(12), driver)
        .await
        .is_err()
    {
        tracing::warn!("the controller did not stop within 12 s");
    }
    ended.map_err(|e| Failure::Setup(e.to_string()))
}

fn data_dir() -> PathBuf {
    directories::ProjectDirs::from("io", "driftdeck", "driftdeck")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("driftdeck"))
}

/// Tracing to `dir/driftdeck.log` (append); `RUST_LOG` filters, default `info`. When the file
/// cannot be opened, logs are dropped rather than drawn over the console.
fn init_logging(dir: &Path) {
    let path = dir.join("driftdeck.log");
    let file = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
    });
    let Ok(file) = file else { return };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}
