//! Envs driven by Argo CD `Application`s, with the real CRD installed (as published:
//! `../shared/engines/crds/argocd-application.yaml`), on the real API server tier (Kubernetes
//! 1.20) and on the sandbox — the same test code on both. Argo CD's application controller is
//! [`crate::argocd_standin`] (its module doc says exactly what it does); everything else is real:
//! the `driftdeck` binary, the API server validating every write against the CRD's schema,
//! kubectl.
//!
//! Each bench has its own namespace holding two Applications: `eu` (env `eu`) and `prod`
//! (env `prod`, protected), and its own HOME/XDG dirs and audit log.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::argocd_standin::{ArgoController, Outcome, application, rev};
use crate::realk8s_support::{realk8s, unique};
use crate::sandbox_support::{Running, start};

const CRD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/engines/crds/argocd-application.yaml"
);

pub struct ArgoBench {
    _sandbox: Option<Running>,
    pub kubeconfig: PathBuf,
    pub ns: String,
    root: tempfile::TempDir,
    client: kube::Client,
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(["--context", "dev"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("kubectl must be installed")
}

/// `kubectl create` (the CRD is too large for client-side apply's annotation) and wait until
/// the API server serves it.
fn install_crd(kubeconfig: &Path) {
    let out = kubectl(kubeconfig, &["create", "-f", CRD]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("AlreadyExists"),
        "install the Argo CD Application CRD: {stderr}"
    );
    // Served once a list answers (the sandbox sets no Established condition to wait for).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = kubectl(kubeconfig, &["get", "applications.argoproj.io", "-A"]);
        if out.status.success() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Application CRD not served within 60s: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

impl ArgoBench {
    pub async fn real(stem: &str) -> ArgoBench {
        let k = realk8s();
        static CRD_ONCE: OnceLock<()> = OnceLock::new();
        CRD_ONCE.get_or_init(|| install_crd(&k.kubeconfig));
        let client = k.client("dev").await;
        ArgoBench::new(None, k.kubeconfig.clone(), client, stem).await
    }

    pub async fn sandbox(stem: &str) -> ArgoBench {
        let sb = start(&["dev"], driftdeck::sandbox::SandboxOptions::default()).await;
        install_crd(&sb.kubeconfig);
        let client = sb.client("dev").await;
        let kubeconfig = sb.kubeconfig.clone();
        ArgoBench::new(Some(sb), kubeconfig, client, stem).await
    }

    async fn new(
        sandbox: Option<Running>,
        kubeconfig: PathBuf,
        client: kube::Client,
        stem: &str,
    ) -> ArgoBench {
        let ns = unique(stem);
        let root = tempfile::tempdir().expect("bench dir");
        for d in ["home", "data", "cache", "config", "repo"] {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        git2::Repository::init(root.path().join("repo")).unwrap();
        let out = kubectl(&kubeconfig, &["create", "namespace", &ns]);
        assert!(out.status.success(), "{out:?}");
        let config = format!(
            "repo: {{url: ./repo}}\nkubeconfig: {}\nenvironments:\n  \
             - {{name: eu, context: dev, engine: {{argocd: {{application: eu, namespace: {ns}}}}}}}\n  \
             - {{name: prod, context: dev, protected: true, engine: {{argocd: {{application: prod, namespace: {ns}}}}}}}\n",
            kubeconfig.display()
        );
        std::fs::write(root.path().join("driftdeck.yaml"), config).unwrap();
        ArgoBench {
            _sandbox: sandbox,
            kubeconfig,
            ns,
            root,
            client,
        }
    }

    /// The stand-in controller of Application `name` in this bench's namespace.
    pub fn argo(&self, name: &str) -> ArgoController {
        ArgoController::new(self.client.clone(), &self.ns, name)
    }

    /// Creates Application `name` and seeds its status with `history` (oldest first).
    pub async fn app(&self, name: &str, automated: bool, history: &[&str]) -> ArgoController {
        let argo = self.argo(name);
        argo.create(&application(name, &self.ns, automated)).await;
        argo.seed(history).await;
        argo
    }

    pub async fn driftdeck(&self, args: &[&str]) -> Ran {
        let root = self.root.path();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"))
            .arg("--config")
            .arg(root.join("driftdeck.yaml"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("HOME", root.join("home"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("DRIFTDECK_AUDIT_LOG", root.join("audit.jsonl"))
            .env_remove("KUBECONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .expect("run driftdeck");
        Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The audit log's lines (JSON), as the binary wrote them.
    pub fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.root.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = kubectl(&self.kubeconfig, args);
        assert!(
            out.status.success(),
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A Deployment `api` at `registry.example.com/shop/api:9.9` live in the bench namespace,
    /// where Argo CD's summary of an app says 1.4.2.
    pub fn apply_live_api(&self) {
        let manifests = tempfile::tempdir().unwrap();
        let file = manifests.path().join("api.yaml");
        std::fs::write(
            &file,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  replicas: 1\n  \
             selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    \
             spec: {containers: [{name: api, image: \"registry.example.com/shop/api:9.9\"}]}\n",
        )
        .unwrap();
        self.kubectl_ok(&["apply", "-n", &self.ns, "-f", &file.display().to_string()]);
    }
}

/// Points every resource of an Application's status at namespace `ns`.
fn resources_in(app: &mut Value, ns: &str) {
    for r in app["status"]["resources"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        r["namespace"] = json!(ns);
    }
}

fn env_of(status: &str, name: &str) -> Value {
    let status: Value = serde_json::from_str(status).expect("status -o json");
    status["environments"]
        .as_array()
        .and_then(|envs| envs.iter().find(|e| e["name"] == name))
        .cloned()
        .unwrap_or(Value::Null)
}

async fn status_reports_the_application(bench: ArgoBench) {
    let (r1, r2) = (rev("a1"), rev("b2"));
    let eu = bench.app("eu", true, &[&r1, &r2]).await;
    bench.app("prod", false, &[&r1]).await;
    // The controller has seen a new commit it has not deployed yet, and a Degraded pod.
    eu.update(|app| {
        app["status"]["sync"]["status"] = json!("OutOfSync");
        app["status"]["sync"]["revision"] = json!(rev("c3"));
        app["status"]["health"] = json!({"status": "Degraded", "message": "api: CrashLoopBackOff"});
        app["status"]["resources"][0]["status"] = json!("OutOfSync");
    })
    .await;
    let ran = bench.driftdeck(&["status", "-o", "json"]).await;
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    let eu = env_of(&ran.stdout, "eu");
    assert_eq!(eu["engine"], "argocd", "{eu:#}");
    assert_eq!(eu["sync"], "OutOfSync");
    assert_eq!(eu["health"], "Degraded");
    assert_eq!(eu["health_message"], "api: CrashLoopBackOff");
    assert_eq!(eu["revision"], json!(rev("c3")), "what Git wants");
    assert_eq!(eu["synced_revision"], json!(r2), "the newest deployment");
    assert_eq!(
        eu["drift"],
        json!({"missing": 0, "modified": 1, "extra": 0})
    );
    assert_eq!(
        eu["lease_holder"],
        Value::Null,
        "no driftdeck Lease for an engine env"
    );
    assert_eq!(eu["hold"], Value::Null, "automated sync is on: not held");
    assert_eq!(eu["automation"], Value::Null);
    assert_eq!(eu["error"], Value::Null);

    let prod = env_of(&ran.stdout, "prod");
    assert_eq!(prod["engine"], "argocd");
    assert_eq!(prod["sync"], "Synced");
    assert_eq!(prod["health"], "Healthy");
    assert_eq!(
        prod["synced_revision"],
        json!(r1),
        "the deployed revision: {prod:#}"
    );
    assert_eq!(
        prod["hold"],
        Value::Null,
        "a manual sync policy is how the app is run, not a hold"
    );
    assert!(
        prod["automation"]
            .as_str()
            .is_some_and(|a| a.contains("no syncPolicy.automated")),
        "{prod:#}"
    );

    // `diff` lists what Argo CD reports out of sync: exit 1 on drift.
    let diff = bench.driftdeck(&["diff", "eu"]).await;
    assert_eq!(diff.code, Some(1), "{diff:#?}");
    assert!(
        diff.stdout.contains("Deployment/shop/api modified"),
        "{diff:#?}"
    );
    let diff = bench.driftdeck(&["diff", "prod"]).await;
    assert_eq!(diff.code, Some(0), "prod is Synced: {diff:#?}");

    let table = bench.driftdeck(&["status"]).await;
    let line = table
        .stdout
        .lines()
        .find(|l| l.starts_with("eu "))
        .unwrap_or_default();
    assert!(
        line.contains("argocd"),
        "the table names the engine: {}",
        table.stdout
    );

    // `history` lists Argo CD's deployments as the env's operations, newest first.
    let history = bench.driftdeck(&["history", "eu", "-o", "json"]).await;
    assert_eq!(history.code, Some(0), "{history:#?}");
    let doc: Value = serde_json::from_str(&history.stdout).unwrap();
    let revisions: Vec<&str> = doc["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["revision"].as_str())
        .collect();
    assert_eq!(revisions, [r2.as_str(), r1.as_str()], "{doc:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_an_applications_sync_health_revision_and_hold_on_the_real_server() {
    status_reports_the_application(ArgoBench::real("argo-status").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_an_applications_sync_health_revision_and_hold_on_the_sandbox() {
    status_reports_the_application(ArgoBench::sandbox("argo-status").await).await;
}

async fn sync_writes_an_operation_and_follows_it(bench: ArgoBench) {
    let r1 = rev("a1");
    let eu = bench.app("eu", false, &[&r1]).await;
    let (ran, op) = tokio::join!(
        bench.driftdeck(&["sync", "eu"]),
        eu.run_operation(Outcome::Succeed)
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert!(ran.stdout.starts_with("synced eu to a100000"), "{ran:#?}");
    // Stored as written: a structural schema prunes unknown fields silently, so every field
    // surviving is the API server accepting it against the CRD.
    assert!(
        op["initiatedBy"]["username"]
            .as_str()
            .is_some_and(|u| u.contains('@')),
        "{op:#}"
    );
    assert_eq!(
        op["info"],
        json!([{"name": "Reason", "value": "driftdeck sync"}])
    );
    assert_eq!(op["sync"]["syncStrategy"], json!({"hook": {}}));
    assert_eq!(op["sync"]["prune"], json!(false));
    let app = eu.get().await;
    assert_eq!(app["status"]["operationState"]["phase"], "Succeeded");
    assert_eq!(app["status"]["history"].as_array().map(Vec::len), Some(2));

    // A failed operation: exit 1 with Argo's message and the failed resource.
    let (ran, _) = tokio::join!(
        bench.driftdeck(&["sync", "eu"]),
        eu.run_operation(Outcome::Fail)
    );
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    assert!(
        ran.stderr.contains("one or more objects failed to apply")
            && ran.stderr.contains("Deployment/api"),
        "{ran:#?}"
    );

    let audit = bench.audit();
    assert!(
        audit.iter().any(|r| r["env"] == "eu"
            && r["action"] == "sync"
            && r["detail"]
                .as_str()
                .is_some_and(|d| d.contains("wrote a sync operation"))),
        "{audit:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_writes_a_schema_valid_operation_and_finishes_with_argos_result_on_the_real_server() {
    sync_writes_an_operation_and_follows_it(ArgoBench::real("argo-sync").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_writes_an_operation_and_finishes_with_argos_result_on_the_sandbox() {
    sync_writes_an_operation_and_follows_it(ArgoBench::sandbox("argo-sync").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_server_enforces_the_application_schema_on_operations() {
    // Guards the test above: on this server a wrongly typed operation is rejected, so an
    // accepted one did validate.
    let bench = ArgoBench::real("argo-schema").await;
    let eu = bench.app("eu", false, &[&rev("a1")]).await;
    let mut app = eu.get().await;
    app["operation"] = json!({"sync": {"prune": "yes"}});
    let path = bench.root.path().join("bad.json");
    std::fs::write(&path, app.to_string()).unwrap();
    let out = kubectl(
        &bench.kubeconfig,
        &["replace", "-f", path.to_str().unwrap()],
    );
    assert!(!out.status.success(), "a string prune was accepted");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("operation.sync.prune"),
        "{out:?}"
    );
}

async fn sync_refused_while_another_operation_is_set(bench: ArgoBench) {
    let eu = bench.app("eu", true, &[&rev("a1")]).await;
    eu.update(|app| {
        app["operation"] =
            json!({"initiatedBy": {"automated": true}, "sync": {"revision": rev("b2")}});
    })
    .await;
    let ran = bench.driftdeck(&["sync", "eu"]).await;
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    assert!(
        ran.stderr
            .contains("another operation is already in progress"),
        "{ran:#?}"
    );
    let app = eu.get().await;
    assert_eq!(
        app["operation"]["initiatedBy"],
        json!({"automated": true}),
        "the other operation is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_is_refused_while_another_operation_is_set_on_the_real_server() {
    sync_refused_while_another_operation_is_set(ArgoBench::real("argo-busy").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_is_refused_while_another_operation_is_set_on_the_sandbox() {
    sync_refused_while_another_operation_is_set(ArgoBench::sandbox("argo-busy").await).await;
}

async fn rollback_and_pause_resume(bench: ArgoBench) {
    let (r1, r2) = (rev("a1"), rev("b2"));
    let eu = bench.app("eu", true, &[&r1, &r2]).await;
    let ran = bench.driftdeck(&["rollback", "eu", "--to", "1"]).await;
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    assert!(
        ran.stderr
            .contains("rollback cannot be initiated when auto-sync is enabled"),
        "{ran:#?}"
    );
    assert!(eu.get().await.get("operation").is_none(), "nothing written");

    let ran = bench
        .driftdeck(&["pause", "eu", "--reason", "bad release"])
        .await;
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    let automated = eu.get().await["spec"]["syncPolicy"]["automated"].clone();
    assert_eq!(
        automated,
        json!({"enabled": false, "prune": true, "selfHeal": true}),
        "pause keeps prune/selfHeal"
    );
    let status = bench.driftdeck(&["status", "-o", "json"]).await;
    let env = env_of(&status.stdout, "eu");
    assert_eq!(env["paused"]["reason"], "bad release", "{env:#}");
    assert!(
        env["hold"].is_object(),
        "automation off shows as a hold: {env:#}"
    );

    let (ran, op) = tokio::join!(
        bench.driftdeck(&["rollback", "eu", "--to", "1"]),
        eu.run_operation(Outcome::Succeed)
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert_eq!(
        op["sync"]["revision"],
        json!(r1),
        "pinned to history entry 1"
    );
    assert_eq!(op["sync"]["source"]["path"], "overlays/eu");
    assert_eq!(op["sync"]["syncStrategy"], json!({"apply": {}}));
    assert_eq!(op["sync"]["syncOptions"], json!(["ServerSideApply=true"]));
    let events = bench.kubectl_ok(&[
        "-n",
        &bench.ns,
        "get",
        "events",
        "--field-selector",
        "reason=OperationStarted",
        "-o",
        "json",
    ]);
    assert!(events.contains("initiated rollback to 1"), "{events}");

    let ran = bench.driftdeck(&["resume", "eu"]).await;
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    let app = eu.get().await;
    assert_eq!(
        app["spec"]["syncPolicy"]["automated"],
        json!({"enabled": true, "prune": true, "selfHeal": true})
    );
    assert!(
        app["metadata"]["annotations"]
            .get("driftdeck.io/paused-by")
            .is_none(),
        "{app:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_is_refused_while_automated_then_pins_history_after_pause_on_the_real_server() {
    rollback_and_pause_resume(ArgoBench::real("argo-rollback").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_is_refused_while_automated_then_pins_history_after_pause_on_the_sandbox() {
    rollback_and_pause_resume(ArgoBench::sandbox("argo-rollback").await).await;
}

async fn read_only_and_protected(bench: ArgoBench) {
    let eu = bench.app("eu", true, &[&rev("a1"), &rev("b2")]).await;
    let prod = bench.app("prod", false, &[&rev("a1")]).await;
    let before = eu.get().await["metadata"]["resourceVersion"].clone();
    for args in [
        &["--read-only", "sync", "eu"][..],
        &["--read-only", "rollback", "eu", "--to", "1"],
        &["--read-only", "pause", "eu"],
        &["--read-only", "resume", "eu"],
    ] {
        let ran = bench.driftdeck(args).await;
        assert_eq!(ran.code, Some(1), "{args:?}: {ran:#?}");
        // The driver's `route` refuses (its words), before the command reaches the env task.
        assert!(
            ran.stderr.contains("this controller runs read-only"),
            "{args:?}: {ran:#?}"
        );
    }
    assert_eq!(
        eu.get().await["metadata"]["resourceVersion"],
        before,
        "nothing was written"
    );

    let ran = bench.driftdeck(&["sync", "prod"]).await;
    assert_eq!(ran.code, Some(2), "unconfirmed: {ran:#?}");
    assert!(ran.stderr.contains("--confirm prod"), "{ran:#?}");
    assert!(
        prod.get().await.get("operation").is_none(),
        "nothing written"
    );
    let (ran, _) = tokio::join!(
        bench.driftdeck(&["sync", "prod", "--confirm", "prod"]),
        prod.run_operation(Outcome::Succeed)
    );
    assert_eq!(ran.code, Some(0), "confirmed: {ran:#?}");

    let audit = bench.audit();
    let refused = audit
        .iter()
        .filter(|r| r["detail"].as_str().is_some_and(|d| d.contains("refused")))
        .count();
    assert!(refused >= 5, "every refusal is audited: {audit:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_every_write_and_a_protected_env_needs_confirm_on_the_real_server() {
    read_only_and_protected(ArgoBench::real("argo-guard").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_every_write_and_a_protected_env_needs_confirm_on_the_sandbox() {
    read_only_and_protected(ArgoBench::sandbox("argo-guard").await).await;
}

async fn refresh_sets_argos_refresh_annotation(bench: ArgoBench) {
    use driftdeck::controller::audit::AuditLog;
    use driftdeck::controller::{DriverOptions, driver};
    use driftdeck::model::Command;
    let eu = bench.app("eu", true, &[&rev("a1")]).await;
    bench.app("prod", false, &[&rev("a1")]).await;
    let config = driftdeck::config::load(&bench.root.path().join("driftdeck.yaml")).unwrap();
    let mut opts = DriverOptions::manual(false);
    opts.audit = AuditLog::at(bench.root.path().join("audit.jsonl"));
    let spawned = driver::spawn(config, opts);
    // The console's `:refresh` (every env): Argo CD re-reads Git for each Application.
    spawned
        .commands
        .send(Command::Refresh { env: None })
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let app = eu.get().await;
        if app["metadata"]["annotations"]["argocd.argoproj.io/refresh"] == "normal" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no refresh annotation: {app:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    drop(spawned.commands);
    let _ = spawned.task.await;
    let prod = bench.argo("prod").get().await;
    assert_eq!(
        prod["metadata"]["annotations"]["argocd.argoproj.io/refresh"], "normal",
        "every env was refreshed"
    );
    assert!(
        bench
            .audit()
            .iter()
            .any(|r| r["action"] == "refresh" && r["env"] == "eu"),
        "{:#?}",
        bench.audit()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_sets_argos_refresh_annotation_on_the_real_server() {
    refresh_sets_argos_refresh_annotation(ArgoBench::real("argo-refresh").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_sets_argos_refresh_annotation_on_the_sandbox() {
    refresh_sets_argos_refresh_annotation(ArgoBench::sandbox("argo-refresh").await).await;
}

/// An Application deploying to another cluster than the env's context: its workloads are not
/// read through the context (that would show another cluster's objects as this app's); the
/// env's notes say so and its images stay Argo CD's own summary.
async fn an_app_deploying_elsewhere_is_noted_not_read(bench: ArgoBench) {
    let ns = bench.ns.clone();
    let eu = bench.app("eu", true, &[&rev("a1")]).await;
    bench.app("prod", true, &[&rev("a1")]).await;
    // A Deployment of the same name lives in the context's cluster, in the app's namespace.
    bench.apply_live_api();
    eu.update(|app| {
        app["spec"]["destination"] =
            json!({"server": "https://eu.example.com:6443", "namespace": ns});
        resources_in(app, &ns);
    })
    .await;

    let ran = bench.driftdeck(&["status", "-o", "json"]).await;
    let env = env_of(&ran.stdout, "eu");
    assert!(
        env["unreadable"].as_array().is_some_and(|u| u
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n
                .contains("deploys to server https://eu.example.com:6443")
                && n.contains("not to context dev")))),
        "{env:#}"
    );
    let ran = bench.driftdeck(&["versions", "-o", "json"]).await;
    let doc: Value = serde_json::from_str(&ran.stdout).expect("versions -o json");
    let rows = doc["workloads"].as_array().cloned().unwrap_or_default();
    let eu_rows: Vec<&Value> = rows
        .iter()
        .filter(|w| w["envs"].get("eu").is_some())
        .collect();
    assert_eq!(eu_rows.len(), 1, "{doc:#}");
    assert_eq!(
        eu_rows[0]["workload"], "Application/eu",
        "Argo CD's summary: {doc:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_deploying_to_another_cluster_is_noted_not_read_on_the_real_server() {
    an_app_deploying_elsewhere_is_noted_not_read(ArgoBench::real("argo-elsewhere").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_deploying_to_another_cluster_is_noted_not_read_on_the_sandbox() {
    an_app_deploying_elsewhere_is_noted_not_read(ArgoBench::sandbox("argo-elsewhere").await).await;
}

/// The console's sync and rollback leave the env's row with the live images and pods it read:
/// the Application the write returned has no live side, so it must not stand in for the row
/// until the next live read (the pods pane went blank for a poll after each operation). Driven
/// through the in-process driver, as the console does, watching every published snapshot from
/// the command to its end.
async fn sync_and_rollback_keep_the_live_images_and_pods(bench: ArgoBench) {
    use driftdeck::controller::DriverOptions;
    use driftdeck::controller::audit::AuditLog;
    use driftdeck::model::{Command, Notice, Snapshot};
    use std::time::Duration;

    let ns = bench.ns.clone();
    let on_sandbox = bench._sandbox.is_some();
    let eu = bench.app("eu", false, &[&rev("a1"), &rev("b2")]).await;
    // The app's Deployment runs in the bench namespace at 9.9; Argo CD's summary says 1.4.2.
    bench.apply_live_api();
    eu.update(|app| {
        app["spec"]["destination"]["namespace"] = json!(ns);
        resources_in(app, &ns);
    })
    .await;

    let config = driftdeck::config::load(&bench.root.path().join("driftdeck.yaml")).unwrap();
    let opts = DriverOptions {
        read_only: false,
        automation: false,
        operator: format!("tester@it/{}", std::process::id()),
        audit: AuditLog::at(bench.root.path().join("audit.jsonl")),
        envs: Some(vec!["eu".into()]),
    };
    let mut driver = driftdeck::controller::driver::spawn(config, opts);
    const LIVE: &str = "api=registry.example.com/shop/api:9.9";
    // What the row must keep: the live image, and (where pods run: the sandbox) pods.
    let keeps = |s: &Snapshot| {
        s.env("eu").is_some_and(|e| {
            e.images
                .get("Deployment/api")
                .is_some_and(|i| i.iter().any(|x| x == LIVE))
                && (!on_sandbox || !e.pods.is_empty())
        })
    };
    let wait = Duration::from_secs(60);
    tokio::time::timeout(wait, driver.snapshots.wait_for(|s| keeps(s)))
        .await
        .expect("the live image (and pods on the sandbox) on the row within 60 s")
        .expect("driver gone");

    let commands = [
        Command::Sync {
            env: "eu".into(),
            revision: None,
            prune: None,
            dry_run: false,
            confirm: None,
            force: false,
        },
        Command::Rollback {
            env: "eu".into(),
            to: None,
            revert: false,
            confirm: None,
        },
    ];
    for command in commands {
        let verb = command.verb();
        let argo = bench.argo("eu");
        let standin = tokio::spawn(async move { argo.run_operation(Outcome::Succeed).await });
        driver.snapshots.mark_unchanged();
        driver.commands.send(command).await.unwrap();
        let mut seen = 0;
        let ended = tokio::time::timeout(wait, async {
            loop {
                // Rows first: a row published before the operation's end notice is checked
                // even when both are ready at once (unbiased, the notice could win every time).
                tokio::select! {
                    biased;
                    changed = driver.snapshots.changed() => {
                        changed.expect("driver gone");
                        let snapshot = driver.snapshots.borrow_and_update().clone();
                        seen += 1;
                        assert!(
                            keeps(&snapshot),
                            "after {verb}, a published row lost the live image or the pods: {:#?}",
                            snapshot.env("eu").map(|e| (&e.images, &e.pods, &e.unreadable))
                        );
                    }
                    notice = driver.notices.recv() => match notice.expect("driver gone") {
                        Notice::OperationFinished { env, entry } if env == "eu" => return entry,
                        Notice::Refused { reason, .. } => panic!("{verb} refused: {reason}"),
                        _ => {}
                    },
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{verb} did not finish within {wait:?}"));
        assert_eq!(
            ended.result,
            driftdeck::model::OperationResult::Succeeded,
            "{verb}: {ended:?}"
        );
        assert!(seen > 0, "no row published between {verb} and its end");
        standin.await.expect("stand-in controller");
    }
    drop(driver.commands);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_rollback_keep_the_live_images_and_pods_on_the_real_server() {
    sync_and_rollback_keep_the_live_images_and_pods(ArgoBench::real("argo-keep-live").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_rollback_keep_the_live_images_and_pods_on_the_sandbox() {
    sync_and_rollback_keep_the_live_images_and_pods(ArgoBench::sandbox("argo-keep-live").await)
        .await;
}
