//! Harness for the controller tests (`controller_*`): a fast sandbox (three clusters) on 127.0.0.1:0, a
//! `demo init` repo with a `driftdeck.yaml` whose per-env policy each test chooses, the real
//! `driftdeck` binary (verbs and `controller` children), the real kubectl, and Git commits made
//! with `driftdeck::source` (no checkout: the branch ref moves, the work tree stays).
//!
//! Children get their own HOME, XDG dirs and `DRIFTDECK_AUDIT_LOG` under the test's temp dir so
//! no test touches the user's files. Live objects and cluster-held state are read straight from
//! the sandbox's store, so the tests' own reads are never hit by injected faults. Every wait is a
//! poll with a deadline; a timeout panics with what was awaited and the controllers' log tails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use driftdeck::model::HistoryEntry;
use driftdeck::sandbox::SandboxOptions;
use driftdeck::sandbox::faults::FaultConfig;
use driftdeck::source::{Author, RepoSpec, Source};
use serde_json::Value;

use crate::sandbox_kubectl::kubectl_path;
use crate::sandbox_support::{Running, start};

pub const ENVS: [&str; 3] = ["dev", "staging", "production"];
pub const NS: &str = "log-platform";
pub const API_IMAGE: &str = "ghcr.io/driftdeck-demo/log-api";

/// Simulated seconds per real second: pods start (2 s simulated) in well under a second.
const TIME_SCALE: f64 = 40.0;

/// One env's policy in the written `driftdeck.yaml` (all off by default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    pub auto_sync: bool,
    pub self_heal: bool,
    pub prune: bool,
    pub auto_rollback: bool,
    pub protected: bool,
}

impl Policy {
    pub const OFF: Policy = Policy {
        auto_sync: false,
        self_heal: false,
        prune: false,
        auto_rollback: false,
        protected: false,
    };
    pub const AUTO: Policy = Policy {
        auto_sync: true,
        self_heal: true,
        ..Policy::OFF
    };
}

/// A finished `driftdeck` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn of(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
        }
    }

    /// Whether a stderr line starts with `prefix` (progress lines may precede the error).
    pub fn says(&self, prefix: &str) -> bool {
        self.stderr.lines().any(|l| l.starts_with(prefix))
    }

    /// Asserts exit 0, naming the command on failure.
    pub fn ok(self, what: &str) -> Run {
        assert_eq!(self.code, 0, "{what}: expected exit 0, got {self:#?}");
        self
    }
}

pub struct Deck {
    pub sb: Running,
    root: PathBuf,
    logs: std::sync::Mutex<Vec<PathBuf>>,
    _tmp: tempfile::TempDir,
}

impl Deck {
    /// A sandbox, a demo repo and a config with `policies` (envs not named get [`Policy::OFF`];
    /// production is always protected, as in the demo).
    pub async fn start(policies: &[(&str, Policy)]) -> Deck {
        Self::start_scaled(policies, TIME_SCALE).await
    }

    pub async fn start_scaled(policies: &[(&str, Policy)], time_scale: f64) -> Deck {
        Self::start_on(&ENVS, policies, time_scale).await
    }

    /// [`Deck::start_scaled`] with one sandbox cluster per name in `clusters` (the config
    /// written still names only [`ENVS`]; a test with more envs writes its own).
    pub async fn start_on(clusters: &[&str], policies: &[(&str, Policy)], time_scale: f64) -> Deck {
        let sb = start(
            clusters,
            SandboxOptions {
                time_scale,
                ..SandboxOptions::default()
            },
        )
        .await;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        driftdeck::demo::init(&root).unwrap();
        std::fs::copy(&sb.kubeconfig, root.join("kubeconfig")).unwrap();
        for d in ["home", "data", "cache", "config"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let deck = Deck {
            sb,
            root,
            logs: std::sync::Mutex::new(Vec::new()),
            _tmp: tmp,
        };
        deck.write_config(policies);
        deck
    }

    pub fn repo(&self) -> PathBuf {
        self.root.join("repo")
    }

    pub fn config(&self) -> PathBuf {
        self.root.join("driftdeck.yaml")
    }

    /// The private HOME/XDG/audit environment of [`Deck::command`], as `K=V` words for a shell
    /// line (the console tests run the binary in tmux).
    pub fn env_words(&self) -> String {
        use crate::tmux_support::shell_quote;
        let dirs = [
            ("HOME", "home"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_CACHE_HOME", "cache"),
            ("XDG_CONFIG_HOME", "config"),
        ];
        let mut words: Vec<String> = dirs
            .iter()
            .map(|(k, d)| format!("{k}={}", shell_quote(&self.root.join(d))))
            .collect();
        words.push(format!(
            "DRIFTDECK_AUDIT_LOG={}",
            shell_quote(&self.audit_log())
        ));
        words.join(" ")
    }

    pub fn audit_log(&self) -> PathBuf {
        self.root.join("audit.jsonl")
    }

    /// (Re)writes `driftdeck.yaml`: absolute paths, a 1 s poll, a 60 s validation timeout.
    pub fn write_config(&self, policies: &[(&str, Policy)]) {
        let q = |p: &Path| serde_json::to_string(&p.display().to_string()).unwrap();
        let mut yaml = format!(
            "repo: {{url: {}, branch: main, poll_interval: 1s}}\nkubeconfig: {}\nvalidation_timeout: 60s\nenvironments:\n",
            q(&self.repo()),
            q(&self.root.join("kubeconfig"))
        );
        for (env, from) in [
            ("dev", None),
            ("staging", Some("dev")),
            ("production", Some("staging")),
        ] {
            let p = policies
                .iter()
                .find(|(n, _)| *n == env)
                .map_or(Policy::OFF, |(_, p)| *p);
            let protected = p.protected || env == "production";
            yaml.push_str(&format!(
                "  - {{name: {env}, path: overlays/{env}, context: {env}, namespace: {NS}, auto_sync: {}, self_heal: {}, prune: {}, auto_rollback: {}, protected: {protected}",
                p.auto_sync, p.self_heal, p.prune, p.auto_rollback
            ));
            if let Some(from) = from {
                yaml.push_str(&format!(", promote_from: {from}"));
            }
            yaml.push_str("}\n");
        }
        std::fs::write(self.config(), yaml).unwrap();
    }

    /// The binary with `--config`, private HOME/XDG dirs and audit log, no colour.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"));
        c.arg("--config")
            .arg(self.config())
            .args(args)
            .env("NO_COLOR", "1")
            .env("HOME", self.root.join("home"))
            .env("XDG_DATA_HOME", self.root.join("data"))
            .env("XDG_CACHE_HOME", self.root.join("cache"))
            .env("XDG_CONFIG_HOME", self.root.join("config"))
            .env("DRIFTDECK_AUDIT_LOG", self.audit_log())
            .env_remove("RUST_LOG")
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// Runs a verb to completion (at most 150 s: a sync waits for validation).
    pub async fn run(&self, args: &[&str]) -> Run {
        let out = tokio::time::timeout(Duration::from_secs(150), self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("driftdeck {args:?} did not finish within 150 s"))
            .unwrap();
        Run::of(out)
    }

    /// `driftdeck status -o json`, parsed.
    pub async fn status(&self) -> Value {
        let run = self.run(&["status", "-o", "json"]).await;
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("status -o json is not JSON ({e}): {run:#?}"))
    }

    /// `driftdeck history ENV -o json`, parsed.
    pub async fn history_json(&self, env: &str) -> Value {
        let run = self
            .run(&["history", env, "-o", "json"])
            .await
            .ok("history");
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("history -o json is not JSON ({e}): {run:#?}"))
    }

    /// Starts `driftdeck controller` (killed when dropped); its stderr goes to a log file.
    pub fn spawn_controller(&self) -> Controller {
        self.spawn_controller_with(&[])
    }

    /// [`Deck::spawn_controller`] with extra environment (a remote's `SSH_AUTH_SOCK`, say).
    pub fn spawn_controller_with(&self, env: &[(&str, &std::ffi::OsStr)]) -> Controller {
        self.spawn_controller_args(&[], env)
    }

    /// [`Deck::spawn_controller`] with extra arguments (`--metrics ADDR`) and environment.
    pub fn spawn_controller_args(
        &self,
        args: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Controller {
        let mut logs = self.logs.lock().unwrap();
        let log = self.root.join(format!("controller-{}.log", logs.len()));
        let file = std::fs::File::create(&log).unwrap();
        let argv: Vec<&str> = std::iter::once("controller")
            .chain(args.iter().copied())
            .collect();
        let child = self
            .command(&argv)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        logs.push(log.clone());
        Controller {
            pid: child.id().unwrap(),
            child,
            log,
        }
    }

    /// The tail of every controller log this deck started, for failure messages.
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for log in self.logs.lock().unwrap().iter() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            // kube's own per-request error lines drown the controller's; keep the latter.
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| !l.contains("kube_client::client::builder"))
                .collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            out.push_str(&format!("--- {}:\n{tail}\n", log.display()));
        }
        out
    }

    /// Polls `probe` (every 100 ms) until it yields a value or `limit` passes; panics on timeout
    /// with `what` and the controllers' logs.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, limit: Duration, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(v) = probe().await {
                return v;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {limit:?} waiting for {what}\n{}",
                    self.log_tails()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether `cond` becomes true within `window` (polled every 100 ms): for asserting that
    /// something does NOT happen while the controller has had every chance to do it.
    pub async fn happens_within(&self, window: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + window;
        while Instant::now() < deadline {
            if cond() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        cond()
    }

    // ---- Git ----

    fn source(&self) -> Source {
        let spec = RepoSpec {
            url: self.repo().display().to_string(),
            branch: "main".into(),
        };
        Source::open(&spec, &self.root.join("cache")).unwrap()
    }

    /// Full sha of the branch head.
    pub fn head(&self) -> String {
        self.source().resolve(None).unwrap().sha
    }

    /// A file's text at `rev` (`None` when absent).
    pub fn file_at(&self, rev: &str, path: &str) -> Option<String> {
        let src = self.source();
        let sha = src.resolve(Some(rev)).unwrap().sha;
        let tree = src.tree(&sha).unwrap();
        tree.read(path).ok().map(|b| text(&b))
    }

    /// Commits `edits` (path, new text or `None` to delete) on `main`; returns the full sha.
    pub fn commit(&self, edits: &[(&str, Option<String>)], message: &str) -> String {
        let edits: Vec<_> = edits
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_ref().map(|s| s.as_bytes().to_vec())))
            .collect();
        let author = Author {
            name: "Accept Test".into(),
            email: "accept@test.invalid".into(),
        };
        self.source()
            .commit_files("main", &edits, message, &author)
            .unwrap()
    }

    /// Commits `env`'s kustomize `images:` tag for `image` (e.g. [`API_IMAGE`]); returns the sha.
    pub fn commit_tag(&self, env: &str, image: &str, tag: &str) -> String {
        let path = format!("overlays/{env}/kustomization.yaml");
        let old = self.file_at("main", &path).unwrap();
        let new = set_tag(&old, image, tag);
        assert_ne!(old, new, "{path} already has {image}:{tag}");
        self.commit(&[(&path, Some(new))], &format!("{env}: {image} → {tag}"))
    }

    /// Commits production's overlay without its HorizontalPodAutoscaler. The sandbox does not
    /// simulate HPAs (no `AbleToScale` condition), so health keeps one Progressing ("Waiting to
    /// autoscale") and production could never validate; the tests that need a Healthy
    /// production start from this commit.
    pub fn without_production_hpa(&self) -> String {
        let path = "overlays/production/kustomization.yaml";
        let old = self.file_at("main", path).unwrap();
        let new: String = old
            .lines()
            .filter(|l| !l.contains("log-api-hpa.yaml"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_ne!(old, new, "production's overlay lists no HPA any more");
        self.commit(&[(path, Some(new))], "production: no HPA (sandbox)")
    }

    /// Files changed between two commits (`git diff --name-only`, via git2).
    pub fn changed_files(&self, old: &str, new: &str) -> Vec<String> {
        let repo = git2::Repository::open(self.repo()).unwrap();
        let tree = |s: &str| {
            repo.find_commit(git2::Oid::from_str(s).unwrap())
                .unwrap()
                .tree()
                .unwrap()
        };
        let diff = repo
            .diff_tree_to_tree(Some(&tree(old)), Some(&tree(new)), None)
            .unwrap();
        diff.deltas()
            .filter_map(|d| d.new_file().path().or(d.old_file().path()))
            .map(|p| p.display().to_string())
            .collect()
    }

    /// (parent shas, full message) of a commit.
    pub fn commit_info(&self, sha: &str) -> (Vec<String>, String) {
        let repo = git2::Repository::open(self.repo()).unwrap();
        let c = repo.find_commit(git2::Oid::from_str(sha).unwrap()).unwrap();
        (
            c.parent_ids().map(|p| p.to_string()).collect(),
            c.message().unwrap_or_default().to_string(),
        )
    }

    // ---- the cluster, read from the sandbox's store ----

    /// An object from `cluster`'s store (`group` "" for the core API).
    pub fn live(&self, cluster: &str, group: &str, plural: &str, name: &str) -> Option<Value> {
        let c = self.sb.sandbox.cluster(cluster).unwrap();
        let store = c.lock();
        let version = match group {
            "apps" | "networking.k8s.io" | "coordination.k8s.io" | "policy" => "v1",
            "autoscaling" => "v2",
            _ => "v1",
        };
        let rt = store
            .find_type(group, version, plural)
            .unwrap_or_else(|| panic!("sandbox has no {group}/{version} {plural}"));
        store.get(&rt, NS, name)
    }

    /// The image of a Deployment's first container (`None` while it does not exist).
    pub fn live_image(&self, cluster: &str, deployment: &str) -> Option<String> {
        let d = self.live(cluster, "apps", "deployments", deployment)?;
        d.pointer("/spec/template/spec/containers/0/image")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// A Deployment's `spec.replicas`.
    pub fn live_replicas(&self, cluster: &str, deployment: &str) -> Option<i64> {
        self.live(cluster, "apps", "deployments", deployment)?
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
    }

    /// ConfigMap `driftdeck-<env>`'s data (`None` while it does not exist).
    pub fn held(&self, env: &str) -> Option<BTreeMap<String, String>> {
        let cm = self.live(env, "", "configmaps", &format!("driftdeck-{env}"))?;
        let data = cm.get("data").cloned().unwrap_or(Value::Null);
        Some(serde_json::from_value(data).unwrap_or_default())
    }

    /// One key of the held state, parsed as JSON (`Null` when absent or empty).
    pub fn held_key(&self, env: &str, key: &str) -> Value {
        self.held(env)
            .and_then(|d| d.get(key).cloned())
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                serde_json::from_str(&s)
                    .unwrap_or_else(|e| panic!("driftdeck-{env} key {key} is not JSON ({e}): {s}"))
            })
            .unwrap_or(Value::Null)
    }

    /// The env's cluster-held operation history, newest first.
    pub fn history(&self, env: &str) -> Vec<HistoryEntry> {
        match self.held_key(env, "history") {
            Value::Null => Vec::new(),
            v => serde_json::from_value(v.clone()).unwrap_or_else(|e| {
                panic!("driftdeck-{env} history is not [HistoryEntry] ({e}): {v}")
            }),
        }
    }

    /// The Lease `driftdeck-<env>`'s holder, if any (expiry not considered).
    pub fn lease_holder(&self, env: &str) -> Option<String> {
        self.live(
            env,
            "coordination.k8s.io",
            "leases",
            &format!("driftdeck-{env}"),
        )?
        .pointer("/spec/holderIdentity")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
    }

    pub fn set_faults(&self, cluster: &str, cfg: FaultConfig) {
        self.sb.sandbox.set_faults(Some(cluster), cfg).unwrap();
    }

    /// kubectl against `context` in the demo namespace.
    pub async fn kubectl(&self, context: &str, args: &[&str]) -> Run {
        let out = tokio::process::Command::new(kubectl_path())
            .arg("--kubeconfig")
            .arg(self.root.join("kubeconfig"))
            .args(["--context", context, "-n", NS])
            .args(args)
            .output()
            .await
            .unwrap();
        Run::of(out)
    }

    /// `driftdeck sync ENV --confirm ENV` must succeed and the env's log-api must be rolled
    /// out (the typed name satisfies a protected env and is ignored by the others).
    pub async fn sync_ok(&self, env: &str) -> Run {
        let run = self
            .run(&["sync", env, "--confirm", env])
            .await
            .ok(&format!("sync {env}"));
        assert!(
            run.stdout.contains(&format!("synced {env} to ")),
            "sync {env} stdout: {run:#?}"
        );
        run
    }

    /// Waits until `env`'s log-api runs `API_IMAGE:tag`.
    pub async fn wait_api_tag(&self, env: &str, tag: &str, limit: Duration) {
        let want = format!("{API_IMAGE}:{tag}");
        self.wait_for(&format!("{env} log-api to run {want}"), limit, || {
            let done = self.live_image(env, "log-api").as_deref() == Some(want.as_str());
            async move { done.then_some(()) }
        })
        .await;
    }
}

/// Checks whose failure should not hide the rest of a scenario (e.g. what `status` shows
/// while the cluster-held state itself is checked directly): collected, asserted at the end.
#[derive(Default)]
pub struct Soft(Vec<String>);

impl Soft {
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    pub fn finish(self) {
        assert!(
            self.0.is_empty(),
            "failed checks:\n- {}",
            self.0.join("\n- ")
        );
    }
}

/// A `driftdeck controller` child.
pub struct Controller {
    pub pid: u32,
    child: tokio::process::Child,
    log: PathBuf,
}

impl Controller {
    /// `kill -9`: no chance to release Leases or finish history.
    pub async fn kill9(&mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    /// Whether it is still running (not crashed).
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether `holder` (`user@host/pid`) names this process.
    pub fn is(&self, holder: &str) -> bool {
        holder.rsplit('/').next() == Some(self.pid.to_string().as_str())
    }
}

/// `text` with the `newTag:` of `image`'s `images:` entry replaced by `tag`.
pub fn set_tag(text: &str, image: &str, tag: &str) -> String {
    let mut out = Vec::new();
    let mut in_entry = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("- name:") {
            in_entry = t.trim_start_matches("- name:").trim() == image;
        }
        if in_entry && t.starts_with("newTag:") {
            let indent = &line[..line.len() - t.len()];
            out.push(format!("{indent}newTag: {tag}"));
            in_entry = false;
            continue;
        }
        out.push(line.to_string());
    }
    out.join("\n") + "\n"
}

/// The `newTag` of `image` in a kustomization's text.
pub fn tag_of(text: &str, image: &str) -> Option<String> {
    let mut in_entry = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("- name:") {
            in_entry = t.trim_start_matches("- name:").trim() == image;
        }
        if in_entry && let Some(tag) = t.strip_prefix("newTag:") {
            return Some(tag.trim().to_string());
        }
    }
    None
}

/// `Some(env)` of a `status -o json` document.
pub fn env_status<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["environments"]
        .as_array()
        .and_then(|envs| envs.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("env {name} missing from status: {status}"))
}

/// Whether a revision field (full or short sha) names `sha`.
pub fn same_rev(field: &Value, sha: &str) -> bool {
    field.as_str().is_some_and(|r| rev_is(r, sha))
}

/// Whether `rev` (full or at least 7 hex digits) names the commit `sha`.
pub fn rev_is(rev: &str, sha: &str) -> bool {
    rev.len() >= 7 && (sha.starts_with(rev) || rev.starts_with(sha))
}

/// The entries of `history` for `sha`, newest first.
pub fn entries_for<'a>(history: &'a [HistoryEntry], sha: &str) -> Vec<&'a HistoryEntry> {
    history
        .iter()
        .filter(|e| rev_is(&e.revision, sha))
        .collect()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The harness itself: a commit made here is what the binary renders (branch ref moved, no
/// checkout needed), the config parses with every policy, and the store reads see kubectl's
/// writes. Without this, a driver failure and a harness bug would look alike.
#[tokio::test]
async fn harness_commits_reach_render_and_store_reads_see_kubectl() {
    let all = Policy {
        auto_sync: true,
        self_heal: true,
        prune: true,
        auto_rollback: true,
        protected: true,
    };
    let deck = Deck::start(&[("dev", all), ("staging", Policy::AUTO)]).await;
    let before = deck.head();
    let sha = deck.commit_tag("dev", API_IMAGE, "9.9.9");
    assert_eq!(deck.commit_info(&sha).0, vec![before.clone()]);
    assert_eq!(
        deck.changed_files(&before, &sha),
        vec!["overlays/dev/kustomization.yaml".to_string()]
    );
    let run = deck
        .run(&["render", "--env", "dev"])
        .await
        .ok("render --env dev");
    assert!(
        run.stdout.contains(&format!("{API_IMAGE}:9.9.9")),
        "{run:#?}"
    );

    let status = deck.status().await;
    assert!(
        same_rev(&env_status(&status, "dev")["revision"], &sha),
        "{status:#}"
    );

    deck.kubectl("dev", &["create", "namespace", NS])
        .await
        .ok("kubectl create namespace");
    deck.kubectl(
        "dev",
        &[
            "create",
            "configmap",
            "driftdeck-dev",
            "--from-literal=paused=null",
        ],
    )
    .await
    .ok("kubectl create configmap");
    assert_eq!(deck.held_key("dev", "paused"), Value::Null);
    assert!(deck.held("dev").is_some());
    assert!(deck.history("dev").is_empty());
}
