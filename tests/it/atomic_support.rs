//! Helpers for the all-or-nothing sync tests, written once for both servers: a [`Server`] is
//! either the real API server tier (Kubernetes v1.20, `realk8s_support`) or a sandbox on
//! 127.0.0.1:0; a [`GitopsEnv`] is a temporary Git repository with one plain-YAML env
//! pointed at that server in a namespace of its own, driven through the real `driftdeck`
//! binary and checked with the real `kubectl`.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use driftdeck::sandbox::SandboxOptions;

use crate::realk8s_support::{realk8s, unique};
use crate::sandbox_kubectl::kubectl_path;
use crate::sandbox_support::{Running, start};

pub struct Server {
    pub kubeconfig: PathBuf,
    pub context: String,
    /// Held so a sandbox lives as long as the test.
    _sandbox: Option<Running>,
}

impl Server {
    /// The shared real API server tier's `dev` cluster (started on first use).
    pub async fn real() -> Server {
        let k = tokio::task::spawn_blocking(realk8s).await.unwrap();
        Server {
            kubeconfig: k.kubeconfig.clone(),
            context: "dev".into(),
            _sandbox: None,
        }
    }

    /// A fresh sandbox with one cluster, `dev`.
    pub async fn sandbox() -> Server {
        let running = start(&["dev"], SandboxOptions::default()).await;
        Server {
            kubeconfig: running.kubeconfig.clone(),
            context: "dev".into(),
            _sandbox: Some(running),
        }
    }

    /// `kubectl --context dev ARGS…`, whatever the exit.
    pub async fn kubectl(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(kubectl_path())
            .env("KUBECONFIG", &self.kubeconfig)
            .args(["--context", &self.context])
            .args(args)
            .output()
            .await
            .unwrap()
    }

    /// The object as JSON, or `None` when kubectl says it is not found.
    pub async fn get(&self, namespace: &str, what: &str) -> Option<serde_json::Value> {
        let out = self
            .kubectl(&["-n", namespace, "get", what, "-o", "json"])
            .await;
        if !out.status.success() {
            let err = text(&out.stderr);
            assert!(
                err.contains("NotFound") || err.contains("not found"),
                "{what}: {err}"
            );
            return None;
        }
        Some(serde_json::from_slice(&out.stdout).unwrap())
    }
}

pub struct GitopsEnv {
    pub namespace: String,
    dir: tempfile::TempDir,
}

impl GitopsEnv {
    /// A repo with an empty `env/` folder and a config whose env `dev` targets `server` in a
    /// new unique namespace (no auto-sync, self-heal or prune unless `self_heal`).
    pub async fn new(server: &Server, prefix: &str, self_heal: bool) -> GitopsEnv {
        let dir = tempfile::tempdir().unwrap();
        let namespace = unique(prefix);
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("env")).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]).await;
        let config = format!(
            "repo: {{url: {}, branch: main, poll_interval: 1s}}\nkubeconfig: {}\n\
             validation_timeout: 60s\nenvironments:\n  - {{name: dev, path: env, context: {}, \
             namespace: {namespace}, auto_sync: false, self_heal: {self_heal}, prune: false}}\n",
            repo.display(),
            server.kubeconfig.display(),
            server.context
        );
        std::fs::write(dir.path().join("driftdeck.yaml"), config).unwrap();
        GitopsEnv { namespace, dir }
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("driftdeck.yaml")
    }

    /// Writes `env/<file>`, `__NS__` replaced by the env's namespace (plain YAML manifests
    /// name their namespace, as a kustomize render does).
    pub fn write(&self, file: &str, yaml: &str) {
        let yaml = yaml.replace("__NS__", &self.namespace);
        std::fs::write(self.repo().join("env").join(file), yaml).unwrap();
    }

    /// Commits the work tree; returns the new commit's full sha.
    pub async fn commit(&self, message: &str) -> String {
        git(&self.repo(), &["add", "-A"]).await;
        git(
            &self.repo(),
            &[
                "-c",
                "user.name=Atomic Test",
                "-c",
                "user.email=atomic@test.invalid",
                "commit",
                "-q",
                "-m",
                message,
            ],
        )
        .await;
        git(&self.repo(), &["rev-parse", "HEAD"])
            .await
            .trim()
            .to_owned()
    }

    /// The real binary with this env's config: (exit code, stdout + stderr).
    pub async fn driftdeck(&self, args: &[&str]) -> (i32, String) {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"));
        c.arg("--config")
            .arg(self.config())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("KUBECONFIG")
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(180), c.output())
            .await
            .expect("driftdeck did not finish within 180 s")
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!("{}{}", text(&out.stdout), text(&out.stderr)),
        )
    }

    /// `driftdeck controller` with this env's config, killed when dropped; its stderr goes to
    /// `controller.log` beside the config ([`GitopsEnv::controller_log`]).
    pub fn spawn_controller(&self) -> tokio::process::Child {
        let log = std::fs::File::create(self.dir.path().join("controller.log")).unwrap();
        tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"))
            .arg("--config")
            .arg(self.config())
            .arg("controller")
            .env("NO_COLOR", "1")
            .env_remove("KUBECONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    /// What the controller logged so far (for failure messages).
    pub fn controller_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("controller.log")).unwrap_or_default()
    }

    /// `status -o json`'s object for env `dev`, and the exit code.
    /// `status` shows `bad` as the head revision and keeps `good` as the synced one.
    pub async fn assert_status_keeps_synced(&self, good: &str, bad: &str) {
        let (code, status) = self.status().await;
        assert_ne!(code, 2, "status: {status}");
        assert_eq!(
            status["revision"].as_str().map(|r| bad.starts_with(r)),
            Some(true),
            "{status}"
        );
        let synced = status["synced_revision"].as_str().unwrap_or_default();
        assert!(
            !synced.is_empty() && good.starts_with(synced),
            "status keeps the previous synced revision {good}: {status}"
        );
    }

    pub async fn status(&self) -> (i32, serde_json::Value) {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"));
        c.arg("--config")
            .arg(self.config())
            .args(["status", "-o", "json"])
            .env("NO_COLOR", "1")
            .env_remove("KUBECONFIG");
        let out = c.output().await.unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "status -o json ({e}): {}{}",
                text(&out.stdout),
                text(&out.stderr)
            )
        });
        (
            out.status.code().unwrap_or(-1),
            doc["environments"][0].clone(),
        )
    }
}

async fn git(repo: &Path, args: &[&str]) -> String {
    let out = tokio::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
