//! Envs driven by a Flux `Kustomization`, end to end with the real binary on the real API server
//! tier (Kubernetes v1.20) with Flux's published CRDs installed (`../shared/engines/crds/`), and
//! the same test code on the sandbox (which serves CRDs, though without their `status`
//! subresource: the stand-in then writes status through the object, see its module doc).
//!
//! The Flux controllers cannot run here: [`crate::flux_standin`] stands in for source-controller
//! and kustomize-controller (its module doc says exactly what it does and does not do). What is
//! real: the API server, the CRD schemas, kubectl, Git, and driftdeck's reads and writes.
//!
//! CRD install: kubectl's client-side validation against the 1.20 server's OpenAPI rejects the
//! published Flux CRDs (`unknown field "x-kubernetes-validations"`: CEL rules, Kubernetes 1.25+),
//! so they are applied with `--validate=false`; the 1.20 server then drops that field (the CEL
//! rules are not enforced here) and keeps the rest of the schema as published. The Argo CD CRDs
//! install unchanged.
//!
//! Also here: `driftdeck engines` on a context with 2 Applications and 1 Kustomization prints a
//! block that, pasted into a config, loads, and `status` shows all three envs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

use crate::flux_standin::{FluxStandin, REQUESTED_AT, kustomization_resource, write_status};
use crate::realk8s_support::{realk8s, unique};
use crate::sandbox_kubectl::kubectl_path;
use crate::sandbox_support::{Running, start};

/// Installs the engines' CRDs into the tier's `dev` cluster once per test binary.
pub fn install_engine_crds() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let k = realk8s();
        let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/engines/crds");
        for file in [
            "argocd-application.yaml",
            "argocd-appproject.yaml",
            "flux-gitrepository.yaml",
            "flux-kustomization.yaml",
            "flux-helmrelease.yaml",
        ] {
            let path = crds.join(file).display().to_string();
            // Other modules install the Argo CD CRD too: a concurrent create may lose the race
            // once (AlreadyExists); the next apply updates.
            let args = ["apply", "--validate=false", "-f", path.as_str()];
            let mut out = k.kubectl("dev", &args);
            for _ in 0..3 {
                if out.status.success() {
                    break;
                }
                out = k.kubectl("dev", &args);
            }
            assert!(
                out.status.success(),
                "install {file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for crd in [
            "applications.argoproj.io",
            "gitrepositories.source.toolkit.fluxcd.io",
            "kustomizations.kustomize.toolkit.fluxcd.io",
        ] {
            k.kubectl_ok(
                "dev",
                &[
                    "wait",
                    "--for=condition=Established",
                    "--timeout=60s",
                    &format!("crd/{crd}"),
                ],
            );
        }
    });
}

#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Which API server a bench runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The shared real tier (Kubernetes v1.20), context `dev`, the engines' CRDs installed.
    Real,
    /// A fresh sandbox (one cluster, `dev`) with the same CRDs applied by kubectl.
    Sandbox,
}

/// One namespace on `dev` (real tier or sandbox) with a GitRepository `repo` and a
/// Kustomization `apps` (path `./apps`, target = the namespace), a Git repo whose `apps/` holds a
/// ConfigMap, and a driftdeck config with one env (named like the namespace) driven by that
/// Kustomization, without `path:` (driftdeck renders the Kustomization's `spec.path`).
pub struct FluxBench {
    pub ns: String,
    root: tempfile::TempDir,
    kubeconfig: PathBuf,
    /// Held so a sandbox lives as long as the bench.
    _sandbox: Option<Running>,
    pub standin: Option<FluxStandin>,
}

impl FluxBench {
    pub async fn new(stem: &str, protected: bool, server: Server) -> FluxBench {
        let (sandbox, kubeconfig) = match server {
            Server::Real => {
                install_engine_crds();
                (None, realk8s().kubeconfig.clone())
            }
            Server::Sandbox => {
                let sb = start(&["dev"], driftdeck::sandbox::SandboxOptions::default()).await;
                let kubeconfig = sb.kubeconfig.clone();
                (Some(sb), kubeconfig)
            }
        };
        let ns = unique(stem);
        let root = tempfile::tempdir().expect("temp dir");
        for d in ["home", "data", "cache", "config", "repo/apps"] {
            std::fs::create_dir_all(root.path().join(d)).expect("dirs");
        }
        let bench = FluxBench {
            ns: ns.clone(),
            root,
            kubeconfig,
            _sandbox: sandbox,
            standin: None,
        };
        if server == Server::Sandbox {
            let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/engines/crds");
            for file in [
                "argocd-application.yaml",
                "flux-gitrepository.yaml",
                "flux-kustomization.yaml",
            ] {
                let path = crds.join(file).display().to_string();
                bench.kubectl_ok(&["apply", "--validate=false", "-f", &path]);
            }
        }
        bench.git(&["init", "-q", "-b", "main"]);
        bench.commit_level("info");
        let q = |p: &Path| serde_json::to_string(&p.display().to_string()).expect("path");
        let yaml = format!(
            "repo: {{url: {}, branch: main, poll_interval: 1s}}\nkubeconfig: {}\nvalidation_timeout: 60s\nenvironments:\n  - {{name: {ns}, context: dev, namespace: {ns}, protected: {protected}, engine: {{flux: {{kustomization: apps, namespace: {ns}}}}}}}\n",
            q(&bench.root.path().join("repo")),
            q(&bench.kubeconfig),
        );
        std::fs::write(bench.root.path().join("driftdeck.yaml"), yaml).expect("config");
        bench.kubectl_ok(&["create", "namespace", &ns]);
        let crs = format!(
            r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: repo, namespace: {ns}}}
spec: {{interval: 5m, url: "https://example.com/repo.git", ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: {ns}}}
spec:
  interval: 10m
  path: ./apps
  prune: true
  targetNamespace: {ns}
  sourceRef: {{kind: GitRepository, name: repo}}
"#
        );
        let file = bench.root.path().join("flux.yaml");
        std::fs::write(&file, crs).expect("write CRs");
        bench.kubectl_ok(&["apply", "-f", &file.display().to_string()]);
        bench
    }

    /// A kube client for `dev` of this bench's server.
    pub async fn client(&self) -> kube::Client {
        let kc = Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let opts = KubeConfigOptions {
            context: Some("dev".into()),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .expect("kube config");
        kube::Client::try_from(config).expect("kube client")
    }

    /// Starts the Flux stand-in for this namespace and waits until it has reconciled once.
    pub async fn start_flux(&mut self) {
        self.start_flux_slow(Duration::ZERO).await;
    }

    /// [`Self::start_flux`] with a stand-in that handles each reconcile request `delay` after
    /// it first sees it.
    pub async fn start_flux_slow(&mut self, delay: Duration) {
        let client = self.client().await;
        self.standin = Some(FluxStandin::start(
            client,
            &self.ns,
            self.root.path().join("repo"),
            delay,
        ));
        self.wait_for("the first reconcile", |ks| {
            ks.pointer("/status/lastAppliedRevision").is_some()
        })
        .await;
    }

    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.root.path().join("repo"))
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Commits the ConfigMap `settings` with `level`.
    pub fn commit_level(&self, level: &str) {
        std::fs::write(
            self.root.path().join("repo/apps/settings.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{level: {level}}}\n"
            ),
        )
        .expect("write");
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", &format!("level {level}")]);
    }

    /// Commits `text` at `path` under the repo (`None`: removes the file).
    pub fn commit_file(&self, path: &str, text: Option<&str>) {
        let file = self.root.path().join("repo").join(path);
        match text {
            Some(t) => {
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).expect("dirs");
                }
                std::fs::write(&file, t).expect("write")
            }
            None => std::fs::remove_file(&file).expect("remove"),
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", &format!("change {path}")]);
    }

    /// Appends `lines` (more `environments:` entries) to the bench's config.
    pub fn config_append(&self, lines: &str) {
        let path = self.root.path().join("driftdeck.yaml");
        let mut config = std::fs::read_to_string(&path).expect("config");
        config.push_str(lines);
        std::fs::write(&path, config).expect("config");
    }

    pub fn head(&self) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.root.path().join("repo"))
            .args(["rev-parse", "HEAD"])
            .output()
            .expect("git");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// kubectl against `dev` of this bench's server, failing the test on a non-zero exit.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = Command::new(kubectl_path())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["--context", "dev"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("kubectl");
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The Kustomization as JSON.
    pub async fn kustomization(&self) -> Value {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client().await, &self.ns, &kustomization_resource());
        serde_json::to_value(api.get("apps").await.expect("get kustomization")).expect("json")
    }

    /// Waits (60 s deadline) until the Kustomization satisfies `cond`.
    pub async fn wait_for(&self, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ks = self.kustomization().await;
            if cond(&ks) {
                return ks;
            }
            assert!(Instant::now() < deadline, "{what} within 60 s: {ks:#}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The real binary with this bench's config, started and not awaited (output piped).
    pub fn spawn_driftdeck(&self, args: &[&str]) -> tokio::process::Child {
        let root = self.root.path();
        tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"))
            .arg("--config")
            .arg(root.join("driftdeck.yaml"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("USER", "alice")
            .env("HOME", root.join("home"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env_remove("KUBECONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start driftdeck")
    }

    pub async fn driftdeck(&self, args: &[&str]) -> Ran {
        let root = self.root.path();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"))
            .arg("--config")
            .arg(root.join("driftdeck.yaml"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("USER", "alice")
            .env("HOME", root.join("home"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env_remove("KUBECONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(180), out)
            .await
            .unwrap_or_else(|_| panic!("driftdeck {args:?} did not finish within 180 s"))
            .expect("run driftdeck");
        Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// This env's object of `status -o json`.
    pub async fn status(&self) -> Value {
        let ran = self.driftdeck(&["status", "-o", "json"]).await;
        let status: Value = serde_json::from_str(&ran.stdout)
            .unwrap_or_else(|e| panic!("status -o json ({e}): {ran:#?}"));
        status["environments"]
            .as_array()
            .and_then(|envs| envs.iter().find(|e| e["name"] == self.ns.as_str()))
            .cloned()
            .unwrap_or_else(|| panic!("env {} in {status:#}", self.ns))
    }
}

fn annotation(ks: &Value, name: &str) -> Option<String> {
    ks.pointer("/metadata/annotations")
        .and_then(|a| a.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

async fn status_of_a_flux_env_comes_from_the_kustomization_and_its_source(server: Server) {
    let mut bench = FluxBench::new("flux-status", false, server).await;
    let before = bench.driftdeck(&["status", "-o", "json"]).await;
    let env = bench.status().await;
    assert_eq!(env["engine"], "flux", "{before:#?}");
    assert_eq!(
        env["sync"], "Unknown",
        "no Ready condition yet is Unknown: {env:#}"
    );
    bench.start_flux().await;
    let head = bench.head();
    let env = bench.status().await;
    assert_eq!(env["engine"], "flux", "{env:#}");
    assert_eq!(env["sync"], "Synced", "{env:#}");
    assert_eq!(env["health"], "Healthy", "{env:#}");
    assert_eq!(env["revision"], head.as_str(), "{env:#}");
    assert_eq!(env["synced_revision"], head.as_str(), "{env:#}");
    assert_eq!(env["paused"], Value::Null, "{env:#}");
    assert_eq!(env["error"], Value::Null, "{env:#}");
    assert_eq!(
        env["resources"], 1,
        "the inventory's one ConfigMap: {env:#}"
    );
    assert_eq!(
        env["path"], "apps",
        "no path in the config: the Kustomization's spec.path (./apps) is rendered: {env:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_a_flux_env_comes_from_the_kustomization_and_its_source_on_the_real_server() {
    status_of_a_flux_env_comes_from_the_kustomization_and_its_source(Server::Real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_a_flux_env_comes_from_the_kustomization_and_its_source_on_the_sandbox() {
    status_of_a_flux_env_comes_from_the_kustomization_and_its_source(Server::Sandbox).await;
}

async fn sync_of_a_flux_env_requests_a_reconcile_and_finishes_when_flux_handles_it(server: Server) {
    let mut bench = FluxBench::new("flux-sync", false, server).await;
    // Flux takes a while to handle the request: a sync that did not wait would return first.
    bench.start_flux_slow(Duration::from_secs(3)).await;
    bench.commit_level("debug");
    let head = bench.head();
    let ran = bench.driftdeck(&["sync", &bench.ns]).await;
    assert_eq!(ran.code, Some(0), "sync: {ran:#?}");
    assert!(
        ran.stdout
            .contains(&format!("synced {} to {}", bench.ns, &head[..7])),
        "{ran:#?}"
    );
    let ks = bench.kustomization().await;
    let token = annotation(&ks, REQUESTED_AT).expect("requestedAt written");
    assert_eq!(
        ks.pointer("/status/lastHandledReconcileAt")
            .and_then(Value::as_str),
        Some(token.as_str()),
        "sync returned once Flux handled its request: {ks:#}"
    );
    assert_eq!(
        ks.pointer("/status/lastAppliedRevision")
            .and_then(Value::as_str),
        Some(format!("main@sha1:{head}").as_str())
    );
    let level = bench.kubectl_ok(&[
        "-n",
        &bench.ns,
        "get",
        "configmap",
        "settings",
        "-o",
        "jsonpath={.data.level}",
    ]);
    assert_eq!(level, "debug", "the stand-in applied the new revision");
    let managers = bench.kubectl_ok(&[
        "-n",
        &bench.ns,
        "get",
        "kustomization",
        "apps",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    assert!(
        managers.contains("flux-client-side-apply"),
        "the annotation is written the way `flux reconcile` writes it: {managers}"
    );
    let repo = bench.kubectl_ok(&[
        "-n",
        &bench.ns,
        "get",
        "gitrepository",
        "repo",
        "-o",
        "json",
    ]);
    let repo: Value = serde_json::from_str(&repo).expect("json");
    assert!(
        annotation(&repo, REQUESTED_AT).is_some(),
        "the source is asked first (flux reconcile --with-source): {repo:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_of_a_flux_env_requests_a_reconcile_and_finishes_when_flux_handles_it_on_the_real_server()
 {
    sync_of_a_flux_env_requests_a_reconcile_and_finishes_when_flux_handles_it(Server::Real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_of_a_flux_env_requests_a_reconcile_and_finishes_when_flux_handles_it_on_the_sandbox()
{
    sync_of_a_flux_env_requests_a_reconcile_and_finishes_when_flux_handles_it(Server::Sandbox)
        .await;
}

async fn pause_and_resume_of_a_flux_env_toggle_suspend_and_suspended_by(server: Server) {
    let mut bench = FluxBench::new("flux-pause", false, server).await;
    bench.start_flux().await;
    let untouched = bench.kustomization().await;
    let ran = bench.driftdeck(&["resume", &bench.ns]).await;
    assert_eq!(ran.code, Some(0), "resume of a running env: {ran:#?}");
    assert_eq!(
        bench.kustomization().await["metadata"]["resourceVersion"],
        untouched["metadata"]["resourceVersion"],
        "resuming what is not suspended writes nothing (no reconcile requested)"
    );
    let ran = bench
        .driftdeck(&["pause", &bench.ns, "--reason", "incident 9"])
        .await;
    assert_eq!(ran.code, Some(0), "pause: {ran:#?}");
    let ks = bench.kustomization().await;
    assert_eq!(
        ks.pointer("/spec/suspend"),
        Some(&Value::Bool(true)),
        "{ks:#}"
    );
    let by = annotation(&ks, "fluxcd.controlplane.io/suspendedBy").expect("suspendedBy");
    assert!(by.starts_with("alice@"), "{by}");
    let env = bench.status().await;
    assert_eq!(env["paused"]["by"], by.as_str(), "{env:#}");
    assert_eq!(env["paused"]["reason"], "incident 9", "{env:#}");
    assert!(
        env["automation"]
            .as_str()
            .is_some_and(|a| a.contains("suspended")),
        "{env:#}"
    );
    let before = annotation(&ks, REQUESTED_AT);
    let ran = bench.driftdeck(&["resume", &bench.ns]).await;
    assert_eq!(ran.code, Some(0), "resume: {ran:#?}");
    let ks = bench.kustomization().await;
    assert_eq!(
        ks.pointer("/spec/suspend"),
        Some(&Value::Bool(false)),
        "{ks:#}"
    );
    assert_eq!(
        annotation(&ks, "fluxcd.controlplane.io/suspendedBy"),
        None,
        "{ks:#}"
    );
    let after = annotation(&ks, REQUESTED_AT);
    assert!(
        after.is_some() && after != before,
        "resume asks for a reconcile: {before:?} → {after:?}"
    );
    let env = bench.status().await;
    assert_eq!(env["paused"], Value::Null, "{env:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_of_a_flux_env_toggle_suspend_and_suspended_by_on_the_real_server() {
    pause_and_resume_of_a_flux_env_toggle_suspend_and_suspended_by(Server::Real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_of_a_flux_env_toggle_suspend_and_suspended_by_on_the_sandbox() {
    pause_and_resume_of_a_flux_env_toggle_suspend_and_suspended_by(Server::Sandbox).await;
}

async fn diff_of_a_flux_env_is_driftdecks_render_against_live(server: Server) {
    let mut bench = FluxBench::new("flux-diff", false, server).await;
    bench.start_flux().await;
    let ran = bench.driftdeck(&["diff", &bench.ns]).await;
    assert_eq!(
        ran.code,
        Some(0),
        "what Flux applied matches the render (its own labels are not drift): {ran:#?}"
    );
    bench.kubectl_ok(&[
        "-n",
        &bench.ns,
        "patch",
        "configmap",
        "settings",
        "--type=merge",
        "-p",
        r#"{"data":{"level":"trace"}}"#,
    ]);
    let ran = bench.driftdeck(&["diff", &bench.ns]).await;
    assert_eq!(ran.code, Some(1), "a live edit is drift: {ran:#?}");
    assert!(
        ran.stdout
            .contains("ConfigMap/settings modified: /data/level"),
        "{ran:#?}"
    );
    assert!(
        ran.stdout.contains("-  level: trace") && ran.stdout.contains("+  level: info"),
        "live → driftdeck's render of the path: {ran:#?}"
    );
    let level = bench.kubectl_ok(&[
        "-n",
        &bench.ns,
        "get",
        "configmap",
        "settings",
        "-o",
        "jsonpath={.data.level}",
    ]);
    assert_eq!(level, "trace", "diff is detect-only: nothing was applied");
    // An object Flux applied that Git no longer has: Flux's prune candidate, shown as extra.
    bench.commit_file(
        "apps/old.yaml",
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: old}\ndata: {a: b}\n"),
    );
    let ran = bench.driftdeck(&["sync", &bench.ns]).await;
    assert_eq!(ran.code, Some(0), "sync: {ran:#?}");
    bench.commit_file("apps/old.yaml", None);
    let ran = bench.driftdeck(&["diff", &bench.ns]).await;
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    assert!(
        ran.stdout.contains(&format!(
            "ConfigMap/{}/old extra (managed by Flux, no longer in Git: prune candidate)",
            bench.ns
        )),
        "{ran:#?}"
    );
    bench.kubectl_ok(&["-n", &bench.ns, "get", "configmap", "old"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_of_a_flux_env_is_driftdecks_render_against_live_on_the_real_server() {
    diff_of_a_flux_env_is_driftdecks_render_against_live(Server::Real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_of_a_flux_env_is_driftdecks_render_against_live_on_the_sandbox() {
    diff_of_a_flux_env_is_driftdecks_render_against_live(Server::Sandbox).await;
}

async fn read_only_refuses_every_flux_write(server: Server) {
    let mut bench = FluxBench::new("flux-ro", false, server).await;
    bench.start_flux().await;
    let before = bench.kustomization().await;
    for verb in [
        vec!["--read-only", "sync", bench.ns.as_str()],
        vec!["--read-only", "pause", bench.ns.as_str()],
        vec!["--read-only", "resume", bench.ns.as_str()],
        vec!["--read-only", "rollback", bench.ns.as_str()],
    ] {
        let ran = bench.driftdeck(&verb).await;
        assert_eq!(ran.code, Some(1), "{verb:?}: {ran:#?}");
        assert!(ran.stderr.contains("read-only"), "{verb:?}: {ran:#?}");
    }
    let after = bench.kustomization().await;
    assert_eq!(
        annotation(&after, REQUESTED_AT),
        annotation(&before, REQUESTED_AT)
    );
    assert_eq!(
        after.pointer("/spec/suspend"),
        before.pointer("/spec/suspend")
    );
    assert_eq!(
        after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"],
        "nothing was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_every_flux_write_on_the_real_server() {
    read_only_refuses_every_flux_write(Server::Real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_every_flux_write_on_the_sandbox() {
    read_only_refuses_every_flux_write(Server::Sandbox).await;
}

async fn a_protected_flux_env_needs_confirm(server: Server) {
    let mut bench = FluxBench::new("flux-guard", true, server).await;
    bench.start_flux().await;
    let before = bench.kustomization().await;
    let ran = bench.driftdeck(&["sync", &bench.ns]).await;
    assert_eq!(ran.code, Some(2), "unconfirmed: {ran:#?}");
    let ran = bench.driftdeck(&["pause", &bench.ns]).await;
    // pause is the emergency stop: never guarded (as for driftdeck's own envs).
    assert_eq!(ran.code, Some(0), "pause: {ran:#?}");
    let ran = bench.driftdeck(&["resume", &bench.ns]).await;
    assert_eq!(ran.code, Some(2), "unconfirmed resume: {ran:#?}");
    let ks = bench.kustomization().await;
    assert_eq!(ks.pointer("/spec/suspend"), Some(&Value::Bool(true)));
    assert_eq!(
        annotation(&ks, REQUESTED_AT),
        annotation(&before, REQUESTED_AT),
        "no reconcile was requested"
    );
    let ran = bench
        .driftdeck(&["resume", &bench.ns, "--confirm", &bench.ns])
        .await;
    assert_eq!(ran.code, Some(0), "confirmed resume: {ran:#?}");
    let ran = bench
        .driftdeck(&["sync", &bench.ns, "--confirm", &bench.ns])
        .await;
    assert_eq!(ran.code, Some(0), "confirmed sync: {ran:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_flux_env_needs_confirm_on_the_real_server() {
    a_protected_flux_env_needs_confirm(Server::Real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_flux_env_needs_confirm_on_the_sandbox() {
    a_protected_flux_env_needs_confirm(Server::Sandbox).await;
}

async fn rollback_of_a_flux_env_is_refused_with_what_to_do_instead(server: Server) {
    let mut bench = FluxBench::new("flux-rollback", false, server).await;
    bench.start_flux().await;
    let ran = bench.driftdeck(&["rollback", &bench.ns]).await;
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    assert!(
        ran.stderr.contains("Flux has no rollback") && ran.stderr.contains("git revert"),
        "{ran:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_of_a_flux_env_is_refused_with_what_to_do_instead_on_the_real_server() {
    rollback_of_a_flux_env_is_refused_with_what_to_do_instead(Server::Real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_of_a_flux_env_is_refused_with_what_to_do_instead_on_the_sandbox() {
    rollback_of_a_flux_env_is_refused_with_what_to_do_instead(Server::Sandbox).await;
}

async fn a_failing_flux_env_shows_fluxs_failure_and_still_diffs(server: Server) {
    let mut bench = FluxBench::new("flux-failing", false, server).await;
    bench.start_flux().await;
    let bad = "0123456789abcdef0123456789abcdef01234567";
    let api: Api<DynamicObject> =
        Api::namespaced_with(bench.client().await, &bench.ns, &kustomization_resource());
    // What kustomize-controller writes when a new revision fails its health check (README,
    // "Failed Kustomization"); the stand-in itself only writes successes.
    write_status(
        &api,
        "apps",
        serde_json::json!({
            "lastAttemptedRevision": format!("main@sha1:{bad}"),
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "HealthCheckFailed",
                 "message": "health check failed after 1m0s: timeout waiting for: [Deployment/x/api status: 'InProgress']",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"},
                {"type": "Reconciling", "status": "True", "reason": "ProgressingWithRetry",
                 "message": "Detecting drift", "lastTransitionTime": "2026-01-01T00:00:00Z"}
            ]
        }),
    )
    .await
    .expect("write the failure");
    let env = bench.status().await;
    assert_eq!(env["health"], "Degraded", "{env:#}");
    assert_eq!(env["sync"], "OutOfSync", "{env:#}");
    assert_eq!(env["attempted_revision"], bad, "{env:#}");
    assert_eq!(env["synced_revision"], bench.head().as_str(), "{env:#}");
    let error = env["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("HealthCheckFailed")
            && error.contains(&format!("failing on main@sha1:{bad}")),
        "{env:#}"
    );
    let ran = bench.driftdeck(&["diff", &bench.ns]).await;
    assert_eq!(
        ran.code,
        Some(0),
        "Flux's failure is not a diff error, and live still matches the render: {ran:#?}"
    );
    bench.kubectl_ok(&[
        "-n",
        &bench.ns,
        "patch",
        "configmap",
        "settings",
        "--type=merge",
        "-p",
        r#"{"data":{"level":"trace"}}"#,
    ]);
    let ran = bench.driftdeck(&["diff", &bench.ns]).await;
    assert_eq!(ran.code, Some(1), "{ran:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_flux_env_shows_fluxs_failure_and_still_diffs_on_the_real_server() {
    a_failing_flux_env_shows_fluxs_failure_and_still_diffs(Server::Real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_flux_env_shows_fluxs_failure_and_still_diffs_on_the_sandbox() {
    a_failing_flux_env_shows_fluxs_failure_and_still_diffs(Server::Sandbox).await;
}

async fn pause_of_a_flux_env_does_not_wait_behind_a_sync(server: Server) {
    let mut bench = FluxBench::new("flux-stop", false, server).await;
    // A stand-in that takes an hour to handle a request: the sync below waits for it.
    bench.start_flux_slow(Duration::from_secs(3600)).await;
    let before = annotation(&bench.kustomization().await, REQUESTED_AT);
    let sync = bench.spawn_driftdeck(&["sync", &bench.ns]);
    bench
        .wait_for("the sync's request on the Kustomization", |ks| {
            annotation(ks, REQUESTED_AT).is_some() && annotation(ks, REQUESTED_AT) != before
        })
        .await;
    let ran = bench
        .driftdeck(&["pause", &bench.ns, "--reason", "stop"])
        .await;
    assert_eq!(ran.code, Some(0), "pause while a sync waits: {ran:#?}");
    let out = tokio::time::timeout(Duration::from_secs(120), sync.wait_with_output())
        .await
        .expect("the sync ends")
        .expect("sync output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Queued behind the sync, the pause would have run only after the sync's 60 s wait ran out
    // ("did not handle ... within 60s"): the sync ends because the pause happened meanwhile.
    assert!(
        stderr.contains("was suspended") && stderr.contains("before Flux handled"),
        "{stderr}"
    );
    let ks = bench.kustomization().await;
    assert_eq!(
        ks.pointer("/spec/suspend"),
        Some(&Value::Bool(true)),
        "{ks:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_of_a_flux_env_does_not_wait_behind_a_sync_on_the_real_server() {
    pause_of_a_flux_env_does_not_wait_behind_a_sync(Server::Real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_of_a_flux_env_does_not_wait_behind_a_sync_on_the_sandbox() {
    pause_of_a_flux_env_does_not_wait_behind_a_sync(Server::Sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engines_block_for_two_applications_and_a_kustomization_loads_and_shows_all_three() {
    install_engine_crds();
    let k = realk8s();
    let ns = unique("engines");
    k.kubectl_ok("dev", &["create", "namespace", &ns]);
    let root = tempfile::tempdir().expect("temp dir");
    let crs = format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {ns}-api, namespace: {ns}}}
spec:
  project: default
  source: {{repoURL: "https://example.com/repo.git", path: apps/api, targetRevision: main}}
  destination: {{server: "https://kubernetes.default.svc", namespace: {ns}}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {ns}-web, namespace: {ns}}}
spec:
  project: default
  source: {{repoURL: "https://example.com/repo.git", path: apps/web, targetRevision: main}}
  destination: {{server: "https://kubernetes.default.svc", namespace: {ns}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: {ns}-apps, namespace: {ns}}}
spec:
  interval: 10m
  path: ./apps/flux
  prune: true
  targetNamespace: {ns}
  sourceRef: {{kind: GitRepository, name: repo}}
"#
    );
    let file = root.path().join("crs.yaml");
    std::fs::write(&file, crs).expect("write");
    k.kubectl_ok("dev", &["apply", "-f", &file.display().to_string()]);

    let run = |args: &[&str], config: Option<&Path>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftdeck"));
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let out = cmd
            .args(args)
            .env("KUBECONFIG", &k.kubeconfig)
            .env("HOME", root.path())
            .env("XDG_CACHE_HOME", root.path().join("cache"))
            .env("XDG_DATA_HOME", root.path().join("data"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run driftdeck");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["engines", "--context", "dev"], None);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let ours: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("  - {name: ") && l.contains(&format!("namespace: {ns}}}")))
        .collect();
    assert_eq!(ours.len(), 3, "one env line per CR of this test:\n{stdout}");
    assert!(
        ours.iter().any(|l| l.contains(&format!(
            "engine: {{flux: {{kustomization: {ns}-apps, namespace: {ns}}}}}"
        ))),
        "{stdout}"
    );
    assert_eq!(
        ours.iter()
            .filter(|l| l.contains("engine: {argocd: {application: "))
            .count(),
        2,
        "{stdout}"
    );
    // Paste it into a config with a repo, and ask for status.
    let repo = root.path().join("repo");
    std::fs::create_dir_all(repo.join("apps")).expect("repo");
    std::fs::write(repo.join("apps/x.yaml"), "").expect("file");
    for args in [
        vec!["init", "-q", "-b", "main"],
        vec!["add", "-A"],
        vec![
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            "init",
        ],
    ] {
        let ok = Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(&args)
            .status()
            .expect("git");
        assert!(ok.success(), "git {args:?}");
    }
    let config = root.path().join("driftdeck.yaml");
    std::fs::write(
        &config,
        format!(
            "repo: {{url: {}, branch: main}}\nkubeconfig: {}\nenvironments:\n{}\n",
            serde_json::to_string(&repo.display().to_string()).expect("q"),
            serde_json::to_string(&k.kubeconfig.display().to_string()).expect("q"),
            ours.join("\n")
        ),
    )
    .expect("config");
    let (code, stdout, stderr) = run(&["status", "-o", "json"], Some(&config));
    let status: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("status -o json ({e}), exit {code:?}:\n{stdout}\n{stderr}"));
    let envs = status["environments"].as_array().expect("environments");
    let names: Vec<(&str, &str)> = envs
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or(""),
                e["engine"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            (format!("{ns}-api").as_str(), "argocd"),
            (format!("{ns}-web").as_str(), "argocd"),
            (format!("{ns}-apps").as_str(), "flux"),
        ],
        "{status:#}\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engines_reports_a_forbidden_list_and_treats_an_uninstalled_kind_as_none() {
    install_engine_crds();
    let k = realk8s();
    let home = tempfile::tempdir().expect("temp dir");
    let run = |context: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
            .args(["engines", "--context", context])
            .env("KUBECONFIG", &k.kubeconfig)
            .env("HOME", home.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run driftdeck");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // `view` does not cover custom resources: the lists are refused, and said so, exit 1.
    let (code, stdout, stderr) = run("dev-viewer");
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    for kind in [
        "applications.argoproj.io",
        "kustomizations.kustomize.toolkit.fluxcd.io",
    ] {
        assert!(
            stderr.contains("context dev-viewer: listing")
                && stderr.contains(kind)
                && stderr.contains("Forbidden"),
            "{kind}: {stderr}"
        );
    }
    // The CRDs are installed on `dev` only: elsewhere there is none of either engine.
    let (code, stdout, stderr) = run("staging");
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("no Argo CD Applications or Flux Kustomizations in context staging")
            && stdout.contains("applications.argoproj.io): not installed in context staging")
            && stdout.contains(
                "kustomizations.kustomize.toolkit.fluxcd.io): not installed in context staging"
            ),
        "{stdout}"
    );
}

/// `doctor` on an engine env asks for what driftdeck does there (get/update/patch on the
/// Kustomization), not for the rights to apply the objects Flux applies, and names Flux as the
/// env's engine instead of warning about Flux's marks on its objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_a_flux_envs_cr_permissions_not_the_objects_flux_applies() {
    let mut bench = FluxBench::new("flux-doctor", false, Server::Real).await;
    bench.start_flux().await;
    let ran = bench.driftdeck(&["doctor"]).await;
    let env = bench.ns.clone();
    assert!(
        ran.stdout.lines().any(
            |l| l.starts_with(&format!("ok   rbac {env} (sync)")) && l.contains("all 3 things")
        ),
        "{ran:#?}"
    );
    assert!(
        ran.stdout
            .lines()
            .any(|l| l.starts_with(&format!("ok   engines {env}: reconciled by flux"))),
        "{ran:#?}"
    );
}
