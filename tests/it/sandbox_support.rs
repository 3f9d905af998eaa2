//! Shared helpers for the sandbox tests: start a sandbox on 127.0.0.1:0 with a kubeconfig in
//! a temp dir, and build kube clients over HTTP (through the kubeconfig) or in-process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use driftdeck::sandbox::{self, Sandbox, SandboxOptions};
use kube::config::{KubeConfigOptions, Kubeconfig};

pub struct Running {
    pub sandbox: Sandbox,
    #[allow(dead_code)]
    pub addr: SocketAddr,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Running {
    /// A kube client for `context` through the written kubeconfig (HTTP, path prefix).
    pub async fn client(&self, context: &str) -> kube::Client {
        let kc = Kubeconfig::read_from(&self.kubeconfig).unwrap();
        let opts = KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    }
}

pub async fn start(clusters: &[&str], opts: SandboxOptions) -> Running {
    let sandbox = Sandbox::new(clusters, opts);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let names: Vec<String> = clusters.iter().map(|c| c.to_string()).collect();
    sandbox::kubeconfig::write(
        &kubeconfig,
        addr,
        &names,
        sandbox.options().token.as_deref(),
    )
    .unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sandbox::serve(listener, sandbox.clone(), async {
        let _ = rx.await;
    }));
    Running {
        sandbox,
        addr,
        kubeconfig,
        _dir: dir,
        stop: Some(stop),
    }
}

/// An in-process client (tower service, no socket).
pub fn local_client(sandbox: &Sandbox, cluster: &str) -> kube::Client {
    kube::Client::new(sandbox.service(cluster).unwrap(), "default")
}

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
pub async fn eventually<F, Fut>(limit: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
