//! The real API server tier: one real kube-apiserver + kube-controller-manager per cluster
//! (Kubernetes v1.20.2 over etcd, from `../shared/realk8s/`), started once per test binary on
//! first use and shared by every test of it. Each test works in its own namespace (or its own
//! uniquely named cluster-scoped objects): [`unique`] makes the names.
//!
//! Nothing here is a mock: defaulting, managedFields, server-side apply conflicts, dry-run,
//! RBAC 403s and the Deployment → ReplicaSet → Pod controllers are the real ones. The only
//! stand-in is `kubelet-standin` (see its header in `../shared/realk8s/`), started per context
//! with [`RealK8s::standin`], which marks pods Running/Ready (or crash-looping for `crashloop`
//! image tags) the way a kubelet's status writes would.
//!
//! If the tier cannot be started the calling test fails with the tool's own output: never a
//! silent skip. `up --owner-pid` takes the control plane down when this test binary exits.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use kube::config::{KubeConfigOptions, Kubeconfig};

/// Contexts (and clusters) the shared control plane has; each also has `<name>-viewer`, a
/// user bound to the built-in `view` ClusterRole.
pub const CLUSTERS: [&str; 3] = ["dev", "staging", "production"];

pub struct RealK8s {
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    standins: Mutex<(BTreeSet<String>, Vec<Child>)>,
}

fn tool_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realk8s")
}

/// The control plane shared by every test of this binary, started on first use.
pub fn realk8s() -> &'static RealK8s {
    static CELL: OnceLock<RealK8s> = OnceLock::new();
    CELL.get_or_init(|| {
        let tool = tool_dir();
        assert!(
            tool.join("up").exists(),
            "the real API server tier needs {} (shared/ beside the repo)",
            tool.display()
        );
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("driftdeck-realk8s-{pid}"));
        let out = Command::new(tool.join("up"))
            .arg(&dir)
            .args(["--clusters", &CLUSTERS.join(","), "--viewer"])
            .args(["--owner-pid", &pid.to_string()])
            .stdin(Stdio::null())
            .output()
            .expect("run shared/realk8s/up");
        assert!(
            out.status.success(),
            "realk8s up failed (exit {:?}):\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        RealK8s {
            kubeconfig: dir.join("kubeconfig"),
            dir,
            standins: Mutex::new((BTreeSet::new(), Vec::new())),
        }
    })
}

impl RealK8s {
    /// A kube client for `context` (`dev`, `dev-viewer`, …).
    #[allow(dead_code)] // for tests that call the API through kube-rs; the drift tests use kubectl
    pub async fn client(&self, context: &str) -> kube::Client {
        let kc = Kubeconfig::read_from(&self.kubeconfig).expect("read realk8s kubeconfig");
        let opts = KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .expect("kube config for realk8s context");
        kube::Client::try_from(config).expect("kube client")
    }

    /// `kubectl --context CONTEXT ARGS…` against this tier; the output, whatever the exit.
    pub fn kubectl(&self, context: &str, args: &[&str]) -> Output {
        Command::new("kubectl")
            .env("KUBECONFIG", &self.kubeconfig)
            .args(["--context", context])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("kubectl must be installed for the real API server tier")
    }

    /// Like [`Self::kubectl`], failing the test with kubectl's stderr when it exits non-zero.
    pub fn kubectl_ok(&self, context: &str, args: &[&str]) -> String {
        let out = self.kubectl(context, args);
        assert!(
            out.status.success(),
            "kubectl --context {context} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts the kubelet stand-in for `context` once per test binary (pods become
    /// Running/Ready; `crashloop` image tags crash-loop).
    pub fn standin(&self, context: &str) {
        let mut guard = self.standins.lock().unwrap_or_else(|e| e.into_inner());
        if !guard.0.insert(context.to_string()) {
            return;
        }
        let log = std::fs::File::create(self.dir.join(format!("logs/standin-{context}.log")))
            .expect("standin log file");
        let child = Command::new(tool_dir().join("kubelet-standin"))
            .arg(&self.kubeconfig)
            .arg(context)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("start kubelet-standin");
        guard.1.push(child);
    }
}

/// A name unique within this test binary run: `PREFIX-<pid>-<n>` (a valid DNS label).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
