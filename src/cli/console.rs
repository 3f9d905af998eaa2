//! The console commands: `driftdeck` (no subcommand), `driftdeck watch` and `driftdeck demo
//! [--watch]`. Each wires the controller (`controller::driver::run`, spawned, automation on) to the TUI
//! (`tui::run_in_terminal`) with bare channel ends; `demo` also starts the sandbox in-process and
//! applies every env at the branch head (beside the console) so it opens Synced; its `:demo …`
//! palette requests go to `demo::inject` on their own channel.
//!
//! `demo` draws first and prepares beside it: the envs are known from the config before anything
//! is written (the embedded demo config, or the state folder's own once the repo exists), so the
//! console takes the terminal and shows them as Unknown with "preparing the demo: writing repo…"
//! while `demo::run::prepare` (git2 writing the repo's history, ~300 ms on first use) runs on the
//! blocking pool and the sandbox starts; the controller starts when both are done. A preparation
//! error is shown in the console (header, every env, a toast; commands are refused) until the
//! operator quits, then printed on stderr with exit code 2, as any setup error.
//!
//! While the TUI owns the terminal nothing is printed: tracing goes to a log file in the data
//! dir (`DIR/driftdeck.log` for the demo, opened before the first frame). Quitting stops the
//! controller (releasing its Leases) and the sandbox.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::{CmdResult, Failure, GlobalArgs, load_config};
use crate::cluster::{self, Cluster};
use crate::config::Config;
use crate::controller;
use crate::demo::{self, inject, run as demo_run};
use crate::model::{Command, DemoAction, FailureReason, Notice, RepoState, Snapshot};
use crate::tui::{self, UiOptions};

/// How long quitting waits for the controller (and, for the demo, the sandbox) to stop.
const STOP_WAIT: Duration = Duration::from_secs(12);

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
    let result = rt.block_on(run_console(config, mode, global.theme.as_deref()));
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
    let result = rt.block_on(run_console(config, mode, global.theme.as_deref()));
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

/// `driftdeck demo [--watch] [--read-only]`. Only the cheap steps run before the terminal is
/// taken: the state folder, the log file and the config.
pub fn demo(global: &GlobalArgs, watch: bool) -> CmdResult {
    let dir = demo_run::demo_dir().map_err(Failure::setup)?;
    demo_run::ensure_dir(&dir).map_err(Failure::setup)?;
    init_logging(&dir);
    let prepared = demo_run::is_prepared(&dir);
    let config = demo_config(&dir, prepared)?;
    let mode = Mode {
        read_only: global.read_only || watch,
        watch,
    };
    let preparing = if prepared {
        "starting the demo sandbox…"
    } else {
        "preparing the demo: writing repo…"
    };
    let rt = super::runtime()?;
    let result = rt.block_on(run_demo(
        dir,
        config,
        mode,
        global.theme.as_deref(),
        preparing,
    ));
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

/// The demo's config before `prepare` runs: the folder's own file once the repo exists (the
/// operator may have edited it), else the embedded one `prepare` is about to write there —
/// resolved against the same path either way.
fn demo_config(dir: &Path, prepared: bool) -> Result<Config, Failure> {
    let file = dir.join("driftdeck.yaml");
    let config = if prepared && file.exists() {
        crate::config::load(&file)
    } else {
        crate::config::parse(demo::CONFIG, &file)
    };
    config.map_err(Failure::setup)
}

/// The snapshot the console shows before the controller publishes: every env of the config,
/// nothing known yet.
fn initial_snapshot(config: &Config, read_only: bool) -> Snapshot {
    Snapshot {
        seq: 0,
        taken_at: None,
        read_only,
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
        rollouts: config
            .rollouts
            .iter()
            .map(controller::rollout::base_row)
            .collect(),
    }
}

fn ui_options(config: &Config, mode: Mode, theme: Option<&str>) -> UiOptions {
    let mut opts = UiOptions::load(theme, None);
    opts.read_only = mode.read_only;
    opts.watch_mode = mode.watch;
    opts.poll_interval = controller::poll_period(config.repo.poll_interval);
    // The logs and events views' feeder: reads only, so it runs beside the controller.
    let (ends, (requests, chunks)) = tui::InspectEnds::channel();
    tokio::spawn(controller::driver::inspect::serve_config(
        config.clone(),
        requests,
        chunks,
    ));
    opts.inspect = Some(ends);
    opts
}

fn driver_options(mode: Mode) -> controller::DriverOptions {
    controller::DriverOptions {
        automation: true,
        ..controller::DriverOptions::manual(mode.read_only)
    }
}

/// The controller and the TUI, until the operator quits.
async fn run_console(config: Config, mode: Mode, theme: Option<&str>) -> CmdResult {
    let (snapshot_tx, snapshot_rx) = watch::channel(initial_snapshot(&config, mode.read_only));
    let (notice_tx, notice_rx) = mpsc::channel(64);
    let (command_tx, command_rx) = mpsc::channel(16);
    let opts = ui_options(&config, mode, theme);
    let driver = tokio::spawn(controller::driver::run(
        config,
        driver_options(mode),
        snapshot_tx,
        notice_tx,
        command_rx,
    ));
    let ended = tui::run_in_terminal(snapshot_rx, notice_rx, command_tx, opts).await;
    // The UI dropped its channel ends: the driver flushes state and releases its Leases.
    if tokio::time::timeout(STOP_WAIT, driver).await.is_err() {
        tracing::warn!("the controller did not stop within {STOP_WAIT:?}");
    }
    ended.map_err(|e| Failure::Setup(e.to_string()))
}

/// The controller's ends of the console's channels, held by the demo's backend task until
/// there is a controller to hand them to.
struct BackEnds {
    snapshot_tx: watch::Sender<Snapshot>,
    notice_tx: mpsc::Sender<Notice>,
    command_rx: mpsc::Receiver<Command>,
    demo_rx: mpsc::Receiver<DemoAction>,
}

/// The demo's console: the UI starts at once on a "preparing" snapshot while [`demo_backend`]
/// prepares the folder, starts the sandbox and then runs the controller.
async fn run_demo(
    dir: PathBuf,
    config: Config,
    mode: Mode,
    theme: Option<&str>,
    preparing: &str,
) -> CmdResult {
    let mut initial = initial_snapshot(&config, mode.read_only);
    for env in &mut initial.envs {
        env.health.message = preparing.to_owned();
    }
    let (snapshot_tx, snapshot_rx) = watch::channel(initial);
    let (notice_tx, notice_rx) = mpsc::channel(64);
    let (command_tx, command_rx) = mpsc::channel(16);
    // `:demo …` palette requests: only the demo has a world to inject into.
    let (demo_tx, demo_rx) = mpsc::channel(4);
    let mut opts = ui_options(&config, mode, theme);
    opts.demo_tx = Some(demo_tx);
    let ends = BackEnds {
        snapshot_tx,
        notice_tx,
        command_rx,
        demo_rx,
    };
    let backend = tokio::spawn(demo_backend(dir, config, mode, ends));
    let ended = tui::run_in_terminal(snapshot_rx, notice_rx, command_tx, opts).await;
    // The UI dropped its channel ends: the backend stops the driver, then the sandbox.
    let setup = match tokio::time::timeout(STOP_WAIT, backend).await {
        Ok(Ok(setup)) => setup,
        Ok(Err(e)) => Err(format!("demo: the setup task failed: {e}")),
        Err(_) => {
            tracing::warn!("the demo did not stop within {STOP_WAIT:?}");
            Ok(())
        }
    };
    match (ended, setup) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(ui), Ok(())) => Err(Failure::setup(ui)),
        (Ok(()), Err(setup)) => Err(Failure::Setup(setup)),
        (Err(ui), Err(setup)) => Err(Failure::Setup(format!("{setup}\n{ui}"))),
    }
}

/// What went wrong while getting the demo ready, for the console and stderr.
enum SetupError {
    /// Writing the demo repo or config.
    Prepare(String),
    Sandbox(String),
}

impl SetupError {
    fn message(&self) -> &str {
        match self {
            SetupError::Prepare(m) | SetupError::Sandbox(m) => m,
        }
    }
}

/// Prepares the state folder and starts the sandbox (side by side: the sandbox does not read
/// the repo), then runs the controller and the first apply until the UI lets go. A setup error
/// is shown in the console and returned (for stderr) once the operator has quit.
async fn demo_backend(
    dir: PathBuf,
    config: Config,
    mode: Mode,
    ends: BackEnds,
) -> Result<(), String> {
    let started = Instant::now();
    let sandbox = match prepare_and_start(&dir).await {
        Ok(sandbox) => sandbox,
        Err(error) => {
            tracing::error!("demo setup failed: {}", error.message());
            refuse_until_quit(ends, &error).await;
            return Err(error.message().to_owned());
        }
    };
    tracing::info!(elapsed_ms = started.elapsed().as_millis(), "demo ready");
    let BackEnds {
        snapshot_tx,
        notice_tx,
        command_rx,
        demo_rx,
    } = ends;
    if snapshot_tx.is_closed() {
        // The operator quit while the demo was being prepared.
        sandbox.stop().await;
        return Ok(());
    }
    // "Preparing" no longer holds; the envs are Unknown until the controller's first look.
    snapshot_tx.send_modify(|snap| {
        snap.seq += 1;
        for env in &mut snap.envs {
            env.health.message.clear();
        }
    });
    // The first apply (under a second) is recorded before the controller starts: run beside
    // it, the controller's auto-sync of the same head raced the record's ConfigMap write and
    // the console opened on a "could not write ConfigMap … Conflict" toast and a redundant
    // auto-sync. Commands typed meanwhile wait in the channel.
    apply_all(&config).await;
    let world = inject::DemoWorld::in_dir(sandbox.sandbox.clone(), &dir);
    inject::spawn(world, demo_rx, notice_tx.clone());
    controller::driver::run(
        config,
        driver_options(mode),
        snapshot_tx,
        notice_tx,
        command_rx,
    )
    .await;
    sandbox.stop().await;
    Ok(())
}

async fn prepare_and_start(dir: &Path) -> Result<demo_run::DemoSandbox, SetupError> {
    let owned = dir.to_path_buf();
    let prepare = tokio::task::spawn_blocking(move || demo_run::prepare(&owned));
    let sandbox = demo_run::start_sandbox(dir).await;
    match prepare.await {
        Ok(Ok(_config)) => {}
        Ok(Err(e)) => return Err(SetupError::Prepare(e.to_string())),
        Err(e) => return Err(SetupError::Prepare(format!("writing the demo: {e}"))),
    }
    sandbox.map_err(|e| SetupError::Sandbox(e.to_string()))
}

/// Shows a setup error in the console (every env, the header for a repo error, a toast) and
/// answers every command and `:demo` request with it until the UI lets go.
async fn refuse_until_quit(ends: BackEnds, error: &SetupError) {
    let BackEnds {
        snapshot_tx,
        notice_tx,
        mut command_rx,
        mut demo_rx,
    } = ends;
    snapshot_tx.send_modify(|snap| failed_snapshot(snap, error));
    let message = format!("demo setup failed: {}", error.message());
    let _ = notice_tx
        .send(Notice::Warned {
            env: None,
            message: message.clone(),
        })
        .await;
    let refusal = || Notice::Refused {
        env: None,
        reason: FailureReason::Refused(format!("{message}; quit and fix it, then start again")),
    };
    let mut demo_open = true;
    loop {
        tokio::select! {
            command = command_rx.recv() => match command {
                Some(_) => { let _ = notice_tx.send(refusal()).await; }
                None => return,
            },
            request = demo_rx.recv(), if demo_open => match request {
                Some(_) => { let _ = notice_tx.send(refusal()).await; }
                None => demo_open = false,
            },
        }
    }
}

fn failed_snapshot(snap: &mut Snapshot, error: &SetupError) {
    snap.seq += 1;
    // No "press q" hint: the keymap may bind quit elsewhere, and the footer names the key.
    let message = format!("demo setup failed: {}", error.message());
    if let SetupError::Prepare(m) = error {
        snap.repo.error = Some(m.clone());
    }
    for env in &mut snap.envs {
        env.health.message.clear();
        env.error = Some(message.clone());
    }
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
        let started = jiff::Timestamp::now();
        let applied = match Cluster::connect(kubeconfig.as_ref(), &env.context).await {
            Ok(c) => match controller::apply_env(&c, env, &desired).await {
                Ok(controller::Applied { changed: n, .. }) => {
                    // Recorded like any apply, so the env shows its synced revision (not `-`)
                    // and history has the operation.
                    if let Err(e) = record_first_apply(&c, env, &desired, started, n).await {
                        tracing::warn!("demo: {}: recording the first apply: {e}", env.name);
                    }
                    Ok(n)
                }
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        match applied {
            Ok(n) => tracing::info!(env = %env.name, changed = n, "demo: applied"),
            Err(e) => tracing::error!("demo: {}: {e}", env.name),
        }
    }
}

/// Writes the demo's first apply into the env's cluster-held state (synced revision and a
/// history entry), unless the controller already recorded a sync there. The controller writes
/// only the keys it changed (merged on the re-read state), so this write does not fight it; a
/// conflict (409) only loses the record, which the log says.
async fn record_first_apply(
    cluster: &Cluster,
    env: &crate::config::EnvConfig,
    desired: &controller::Desired,
    started: jiff::Timestamp,
    changed: usize,
) -> Result<(), cluster::Error> {
    let loaded = controller::held_io::load_held(cluster, env).await?;
    let mut state = loaded.state;
    if state.synced_revision.is_some() {
        return Ok(());
    }
    let revision = desired.revision.sha.clone();
    let operator = format!("{} (demo)", controller::operator());
    state.synced_revision = Some(revision.clone());
    state.history.insert(
        0,
        crate::model::HistoryEntry {
            id: format!("{operator}-{}", started.as_millisecond()),
            op: crate::model::OperationKind::Sync,
            revision,
            render_digest: desired.rendered.digest.clone(),
            operator,
            started,
            finished: Some(jiff::Timestamp::now()),
            result: crate::model::OperationResult::Succeeded,
            resources_changed: changed,
            failure: None,
        },
    );
    controller::held_io::store_held(cluster, env, &state, loaded.resource_version.as_deref())
        .await
        .map(|_| ())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HealthCode;

    #[test]
    fn demo_config_before_the_repo_exists_is_the_embedded_one_in_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        // A stale config without a repo beside it: `prepare` will replace it, so it is not used.
        std::fs::write(dir.path().join("driftdeck.yaml"), "not: [a config").unwrap();
        let config = demo_config(dir.path(), false).unwrap();
        let names: Vec<&str> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, crate::demo::run::CLUSTERS);
        let kubeconfig = config.kubeconfig.unwrap();
        assert!(kubeconfig.ends_with("kubeconfig"), "{kubeconfig:?}");
        assert!(
            kubeconfig.starts_with(std::path::absolute(dir.path()).unwrap()),
            "{kubeconfig:?} is resolved in the state folder"
        );
    }

    #[test]
    fn demo_config_once_prepared_is_the_folders_own() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("driftdeck.yaml"), "not: [a config").unwrap();
        let err = demo_config(dir.path(), true).unwrap_err();
        let Failure::Setup(message) = err else {
            panic!("a bad config is a setup error")
        };
        assert!(message.contains("driftdeck.yaml"), "{message}");
    }

    #[test]
    fn a_setup_error_shows_on_every_env_and_a_repo_error_in_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let config = demo_config(dir.path(), false).unwrap();
        let mut snap = initial_snapshot(&config, false);
        snap.envs[0].health.message = "preparing the demo: writing repo…".into();
        let error = SetupError::Prepare("/x/repo: already exists".into());
        failed_snapshot(&mut snap, &error);
        assert_eq!(snap.seq, 1, "a new seq, or the UI would not redraw");
        assert_eq!(snap.repo.error.as_deref(), Some("/x/repo: already exists"));
        for env in &snap.envs {
            let shown = env.error.as_deref().unwrap_or_default();
            assert!(shown.contains("/x/repo: already exists"), "{shown}");
            assert!(env.health.message.is_empty(), "no longer preparing");
            assert_eq!(env.health.code, HealthCode::Unknown);
        }
        let mut snap = initial_snapshot(&config, false);
        failed_snapshot(&mut snap, &SetupError::Sandbox("bind".into()));
        assert_eq!(snap.repo.error, None, "a sandbox error is not a git error");
        assert!(snap.envs.iter().all(|e| e.error.is_some()));
    }
}
