//! Helpers for the drift acceptance tests: a sandbox on 127.0.0.1:0 (three clusters, fast
//! time), a demo repo from the real `driftdeck demo init`, the real kubectl (required) and the
//! real `driftdeck` binary.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use driftdeck::sandbox::SandboxOptions;

use crate::sandbox_kubectl::kubectl_path;
use crate::sandbox_support::{Running, start};

pub const ENVS: [&str; 3] = ["dev", "staging", "production"];

pub struct Demo {
    /// Held so the server lives as long as the test; dropping it stops the sandbox.
    running: Running,
    /// `demo init` output: `repo/`, `driftdeck.yaml`, and the sandbox's `kubeconfig`.
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Demo {
    /// A sandbox with the demo clusters and a demo repo whose config points at it.
    pub async fn start() -> Demo {
        // Every cluster the demo config names (its regions too), so `status` reaches them all.
        let sandbox = start(
            &driftdeck::demo::run::CLUSTERS,
            SandboxOptions {
                time_scale: 30.0,
                ..SandboxOptions::default()
            },
        )
        .await;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo");
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"))
            .args(["demo", "init"])
            .arg(&dir)
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "demo init: {}", text(&out.stderr));
        std::fs::copy(&sandbox.kubeconfig, dir.join("kubeconfig")).unwrap();
        Demo {
            running: sandbox,
            dir,
            _tmp: tmp,
        }
    }

    /// The sandbox serving the demo's clusters.
    pub fn sandbox(&self) -> &driftdeck::sandbox::Sandbox {
        &self.running.sandbox
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.join("repo")
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// kubectl against `context`, in namespace log-platform; asserts success.
    pub async fn kubectl(&self, context: &str, args: &[&str]) -> Output {
        let out = self.kubectl_raw(context, args).await;
        assert!(
            out.status.success(),
            "kubectl --context {context} {args:?} failed: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        out
    }

    pub async fn kubectl_raw(&self, context: &str, args: &[&str]) -> Output {
        tokio::process::Command::new(kubectl_path())
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(["--context", context, "-n", "log-platform"])
            .args(args)
            .output()
            .await
            .unwrap()
    }

    /// `kubectl apply --server-side -k overlays/<env>`, then waits for every Deployment's
    /// rollout (kubectl's own wait, with a deadline).
    pub async fn apply_env(&self, env: &str) {
        let overlay = self.repo().join("overlays").join(env);
        self.kubectl(
            env,
            &["apply", "--server-side", "-k", overlay.to_str().unwrap()],
        )
        .await;
        self.wait_rollouts(env).await;
    }

    pub async fn wait_rollouts(&self, env: &str) {
        self.kubectl(env, &["rollout", "status", "deployment", "--timeout=120s"])
            .await;
    }

    /// The real binary with `--config driftdeck.yaml`, `NO_COLOR`, and extra env vars.
    pub async fn driftdeck(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"));
        c.arg("--config")
            .arg(self.dir.join("driftdeck.yaml"))
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("KUBECONFIG");
        for (k, v) in vars {
            c.env(k, v);
        }
        tokio::time::timeout(Duration::from_secs(120), c.output())
            .await
            .expect("driftdeck did not finish within 120 s")
            .unwrap()
    }

    /// `driftdeck diff ENV`: (exit code, stdout, stderr).
    pub async fn diff(&self, env: &str) -> (i32, String, String) {
        let out = self.driftdeck(&["diff", env], &[]).await;
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    }

    /// `driftdeck status -o json`: (exit code, parsed stdout, stderr).
    pub async fn status_json(&self) -> (i32, serde_json::Value, String) {
        let out = self.driftdeck(&["status", "-o", "json"], &[]).await;
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "status -o json is not JSON ({e}): {}\nstderr: {}",
                text(&out.stdout),
                text(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), json, text(&out.stderr))
    }

    /// Commits everything in the repo's work tree with the git CLI.
    pub async fn commit_all(&self, message: &str) {
        git(&self.repo(), &["add", "-A"]).await;
        git(
            &self.repo(),
            &[
                "-c",
                "user.name=Drift Test",
                "-c",
                "user.email=drift@test.invalid",
                "commit",
                "-q",
                "-m",
                message,
            ],
        )
        .await;
    }
}

async fn git(repo: &Path, args: &[&str]) {
    let out = tokio::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The env object named `name` in a `status -o json` document.
pub fn env_of<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["environments"]
        .as_array()
        .and_then(|envs| envs.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("env {name} missing from status: {status}"))
}
