//! `driftdeck demo`'s setup half: a state folder holding the demo repo and config (written once,
//! reused on later runs so history and operator changes persist), and the embedded sandbox
//! started in-process on a free loopback port with a kubeconfig beside the config. The CLI draws
//! its first frame before calling [`prepare`] and [`start_sandbox`] (both run beside the
//! console, and neither needs the other), then applies and monitors; this file knows nothing of
//! those.
//!
//! May import `crate::sandbox` (and this module's `init`). Must not touch anything outside the
//! state folder, and never listens on anything but loopback.
//!
//! Decisions: the folder is `$DRIFTDECK_DEMO_DIR` when set (tests use it), else the
//! `directories` data dir's `demo/`; simulated time runs [`TIME_SCALE`] times faster so pods
//! become Ready within a few seconds; the kubeconfig is rewritten on every start because the
//! port changes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::sandbox::{self, Sandbox, SandboxOptions};

/// The demo's simulated clusters, one per env of the demo config.
pub const CLUSTERS: [&str; 6] = [
    "dev",
    "staging",
    "production",
    "prod-us-east",
    "prod-eu-west",
    "prod-ap-south",
];
/// Simulated seconds per real second.
pub const TIME_SCALE: f64 = 5.0;
/// Overrides the demo's state folder.
pub const DIR_ENV: &str = "DRIFTDECK_DEMO_DIR";

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no data folder for this user (no home?); set {DIR_ENV} to a folder for the demo")]
    NoDataDir,
    #[error(transparent)]
    Init(#[from] super::Error),
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("demo sandbox: {0}")]
    Sandbox(#[from] sandbox::Error),
}

/// The demo's state folder.
pub fn demo_dir() -> Result<PathBuf, RunError> {
    if let Some(dir) = std::env::var_os(DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("io", "driftdeck", "driftdeck")
        .map(|d| d.data_dir().join("demo"))
        .ok_or(RunError::NoDataDir)
}

/// Creates the state folder (cheap; the console needs it for its log file before anything
/// else is written).
pub fn ensure_dir(dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|source| RunError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Whether `dir` already holds the demo repo, so [`prepare`] has (almost) nothing to write.
pub fn is_prepared(dir: &Path) -> bool {
    dir.join("repo").join(".git").exists()
}

/// Makes sure `dir` holds the demo repo and config: writes both on first use, rewrites only
/// a missing config next to an existing repo. Returns the config file. Blocking (git2 writes
/// the repo's history, a few hundred ms on first use): call it off the UI's thread.
pub fn prepare(dir: &Path) -> Result<PathBuf, RunError> {
    ensure_dir(dir)?;
    let config = dir.join("driftdeck.yaml");
    if !is_prepared(dir) {
        return Ok(super::init(dir)?.config);
    }
    if !config.exists() {
        std::fs::write(&config, super::CONFIG).map_err(|source| RunError::Io {
            path: config.clone(),
            source,
        })?;
    }
    Ok(config)
}

/// The sandbox serving the demo's clusters; stops when [`DemoSandbox::stop`] is awaited or
/// the value is dropped.
pub struct DemoSandbox {
    pub sandbox: Sandbox,
    pub addr: SocketAddr,
    pub kubeconfig: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl DemoSandbox {
    /// Stops serving and waits until every connection is closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!("demo sandbox task ended badly: {e}");
        }
    }
}

impl Drop for DemoSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts the sandbox on 127.0.0.1 (a free port) inside the current tokio runtime and writes
/// `dir/kubeconfig` with one context per cluster.
pub async fn start_sandbox(dir: &Path) -> Result<DemoSandbox, RunError> {
    let listen = "127.0.0.1:0";
    let bind_err = |source| sandbox::Error::Bind {
        addr: listen.to_owned(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(bind_err)?;
    let addr = listener.local_addr().map_err(bind_err)?;
    let opts = SandboxOptions {
        time_scale: TIME_SCALE,
        ..SandboxOptions::default()
    };
    let sb = Sandbox::new(&CLUSTERS, opts);
    let kubeconfig = dir.join("kubeconfig");
    let names: Vec<String> = CLUSTERS.iter().map(|c| (*c).to_owned()).collect();
    sandbox::kubeconfig::write(&kubeconfig, addr, &names, None)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(sandbox::serve(listener, sb.clone(), async {
        let _ = stopped.await;
    }));
    tracing::info!(%addr, kubeconfig = %kubeconfig.display(), "demo sandbox listening");
    Ok(DemoSandbox {
        sandbox: sb,
        addr,
        kubeconfig,
        stop: Some(stop),
        task: Some(task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_writes_once_and_reuses_the_repo() {
        let dir = tempfile::tempdir().unwrap();
        let config = prepare(dir.path()).unwrap();
        assert!(config.exists());
        assert!(dir.path().join("repo/.git").exists());
        std::fs::remove_file(&config).unwrap();
        // A second run must not fail on the existing repo, and restores the config.
        let again = prepare(dir.path()).unwrap();
        assert_eq!(again, config);
        assert!(again.exists());
        assert!(is_prepared(dir.path()));
    }

    #[test]
    fn prepare_names_the_path_when_the_folder_is_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        assert!(!is_prepared(&file));
        let err = prepare(&file).unwrap_err().to_string();
        assert!(err.contains(&file.display().to_string()), "{err}");
        let err = ensure_dir(&file).unwrap_err().to_string();
        assert!(err.contains(&file.display().to_string()), "{err}");
    }
}
