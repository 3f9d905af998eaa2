//! The controller driver in-process against the sandbox and a `driftdeck demo init` repo:
//! a sync applies and records history in ConfigMap `driftdeck-dev`; a paused env reports a new
//! commit as drift and does not apply it until resumed; read-only refuses every mutating verb
//! (and audits it); a head that does not render applies nothing. The issue-5 acceptance
//! scenarios (commit→live timings, self-heal, Lease takeover, faults) live elsewhere.

use std::time::Duration;

use driftdeck::config::Config;
use driftdeck::controller::DriverOptions;
use driftdeck::controller::audit::AuditLog;
use driftdeck::model::{
    Command, EnvTarget, FailureReason, HealthCode, Notice, OperationKind, OperationResult,
    Snapshot, SyncStatus,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::drift_support::{Demo, text};

const WAIT: Duration = Duration::from_secs(60);

struct Driver {
    commands: mpsc::Sender<Command>,
    notices: mpsc::Receiver<Notice>,
    snapshots: watch::Receiver<Snapshot>,
    task: JoinHandle<()>,
    audit: tempfile::TempDir,
}

impl Driver {
    fn start(demo: &Demo, read_only: bool, automation: bool) -> Driver {
        let config: Config = driftdeck::config::load(&demo.dir.join("driftdeck.yaml")).unwrap();
        let audit = tempfile::tempdir().unwrap();
        let opts = DriverOptions {
            read_only,
            automation,
            operator: format!("tester@it/{}", std::process::id()),
            audit: AuditLog::at(audit.path().join("audit.jsonl")),
            envs: Some(vec!["dev".into()]),
        };
        // Spawned: the driver's future is Send.
        let spawned = driftdeck::controller::driver::spawn(config, opts);
        Driver {
            commands: spawned.commands,
            notices: spawned.notices,
            snapshots: spawned.snapshots,
            task: spawned.task,
            audit,
        }
    }

    async fn send(&self, command: Command) {
        self.commands.send(command).await.unwrap();
    }

    /// The first notice matching `pred` (others are skipped), within [`WAIT`].
    async fn notice(&mut self, what: &str, pred: impl Fn(&Notice) -> bool) -> Notice {
        let found = tokio::time::timeout(WAIT, async {
            loop {
                let n = self.notices.recv().await.expect("driver gone");
                if pred(&n) {
                    return n;
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {what} notice within {WAIT:?}"))
    }

    async fn snapshot_where(&mut self, what: &str, cond: impl Fn(&Snapshot) -> bool) -> Snapshot {
        let found = tokio::time::timeout(WAIT, self.snapshots.wait_for(|s| cond(s))).await;
        found
            .unwrap_or_else(|_| panic!("no snapshot with {what} within {WAIT:?}"))
            .expect("driver gone")
            .clone()
    }

    /// Closes the command channel and waits for the driver to flush and stop.
    async fn stop(self) -> Vec<serde_json::Value> {
        let Driver {
            commands,
            task,
            audit,
            notices,
            snapshots,
        } = self;
        drop(commands);
        drop(notices);
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("driver did not stop")
            .unwrap();
        drop(snapshots);
        let log = std::fs::read_to_string(audit.path().join("audit.jsonl")).unwrap_or_default();
        log.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

async fn head(demo: &Demo) -> String {
    let out = tokio::process::Command::new("git")
        .arg("-C")
        .arg(demo.repo())
        .args(["rev-parse", "HEAD"])
        .output()
        .await
        .unwrap();
    text(&out.stdout).trim().to_owned()
}

async fn configmap_history(demo: &Demo) -> Vec<serde_json::Value> {
    let out = demo
        .kubectl("dev", &["get", "configmap", "driftdeck-dev", "-o", "json"])
        .await;
    let cm: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let history = cm["data"]["history"].as_str().expect("history key");
    serde_json::from_str(history).unwrap()
}

async fn live_image(demo: &Demo) -> String {
    let out = demo
        .kubectl(
            "dev",
            &[
                "get",
                "deployment",
                "log-api",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            ],
        )
        .await;
    text(&out.stdout)
}

fn sync_dev() -> Command {
    Command::Sync {
        env: "dev".into(),
        revision: None,
        prune: None,
        dry_run: false,
        confirm: None,
        force: false,
    }
}

fn finished(n: &Notice) -> bool {
    matches!(n, Notice::OperationFinished { env, .. } if env == "dev")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_applies_validates_and_records_history_in_the_configmap() {
    let demo = Demo::start().await;
    let head = head(&demo).await;
    let mut driver = Driver::start(&demo, false, false);
    driver.send(sync_dev()).await;
    let Notice::OperationFinished { entry, .. } = driver.notice("finished", finished).await else {
        unreachable!()
    };
    assert_eq!(entry.result, OperationResult::Succeeded, "{entry:?}");
    assert_eq!(entry.op, OperationKind::Sync);
    assert_eq!(entry.revision, head);
    assert!(entry.resources_changed > 0);
    let snap = driver
        .snapshot_where("dev synced", |s| {
            s.env("dev").is_some_and(|e| e.sync == SyncStatus::Synced)
        })
        .await;
    assert_eq!(
        snap.env("dev").unwrap().synced_revision.as_deref(),
        Some(head.as_str())
    );
    let audit = driver.stop().await;
    assert!(audit.iter().any(|r| r["action"] == "sync"), "{audit:?}");
    let history = configmap_history(&demo).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["result"], "Succeeded");
    assert_eq!(history[0]["revision"], head.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_env_shows_a_new_commit_as_drift_and_applies_it_only_after_resume() {
    let demo = Demo::start().await;
    demo.apply_env("dev").await;
    let mut driver = Driver::start(&demo, false, true);
    driver
        .send(Command::Pause {
            target: EnvTarget::All,
            reason: "freeze".into(),
        })
        .await;
    driver
        .notice(
            "paused",
            |n| matches!(n, Notice::Paused { env } if env == "dev"),
        )
        .await;
    let kustomization = demo.repo().join("overlays/dev/kustomization.yaml");
    let text = std::fs::read_to_string(&kustomization).unwrap();
    std::fs::write(
        &kustomization,
        text.replace("newTag: 1.4.2", "newTag: 1.4.9"),
    )
    .unwrap();
    demo.commit_all("log-api 1.4.9 in dev").await;
    let new_head = head(&demo).await;
    let snap = driver
        .snapshot_where("the new head as drift", |s| {
            s.env("dev").is_some_and(|e| {
                e.revision.as_deref() == Some(new_head.as_str()) && e.sync == SyncStatus::OutOfSync
            })
        })
        .await;
    let dev = snap.env("dev").unwrap();
    assert!(dev.paused.is_some());
    assert!(
        dev.drift.iter().any(|d| d.key.name == "log-api"),
        "{:?}",
        dev.drift
    );
    assert!(
        dev.operation.is_none(),
        "a paused env started {:?}",
        dev.operation
    );
    assert!(live_image(&demo).await.ends_with(":1.4.2"));

    driver
        .send(Command::Resume {
            target: EnvTarget::One("dev".into()),
            confirm: Vec::new(),
        })
        .await;
    let Notice::OperationFinished { entry, .. } = driver.notice("auto-sync", finished).await else {
        unreachable!()
    };
    assert_eq!(entry.op, OperationKind::AutoSync);
    assert_eq!(entry.revision, new_head);
    assert_eq!(entry.result, OperationResult::Succeeded, "{entry:?}");
    assert!(live_image(&demo).await.ends_with(":1.4.9"));
    driver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_every_mutating_verb_and_audits_it() {
    let demo = Demo::start().await;
    let mut driver = Driver::start(&demo, true, true);
    let verbs = [
        sync_dev(),
        Command::Rollback {
            env: "dev".into(),
            to: None,
            revert: false,
            confirm: None,
        },
        Command::Pause {
            target: EnvTarget::One("dev".into()),
            reason: String::new(),
        },
        Command::Resume {
            target: EnvTarget::All,
            confirm: Vec::new(),
        },
        Command::Promote {
            from: "dev".into(),
            to: "staging".into(),
            message: None,
            force: true,
            confirm: None,
            preview: false,
        },
    ];
    for command in verbs {
        driver.send(command.clone()).await;
        let refused = driver
            .notice("refusal", |n| matches!(n, Notice::Refused { .. }))
            .await;
        let Notice::Refused { reason, .. } = refused else {
            unreachable!()
        };
        assert!(
            matches!(reason, FailureReason::ReadOnly(_)),
            "{command:?}: {reason}"
        );
    }
    let audit = driver.stop().await;
    assert_eq!(audit.len(), 5, "one audit line per refusal: {audit:?}");
    let cm = demo
        .kubectl_raw("dev", &["get", "configmap", "driftdeck-dev"])
        .await;
    assert!(!cm.status.success(), "read-only wrote cluster-held state");
    let deployments = demo
        .kubectl("dev", &["get", "deployments", "-o", "name"])
        .await;
    assert!(
        text(&deployments.stdout).trim().is_empty(),
        "read-only applied something"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_that_does_not_render_applies_nothing() {
    let demo = Demo::start().await;
    let kustomization = demo.repo().join("overlays/dev/kustomization.yaml");
    let text_before = std::fs::read_to_string(&kustomization).unwrap();
    std::fs::write(
        &kustomization,
        format!("{text_before}\nresources: [missing-file.yaml]\npatchesJson: 3\n"),
    )
    .unwrap();
    demo.commit_all("broken dev overlay").await;
    let mut driver = Driver::start(&demo, false, false);
    driver.send(sync_dev()).await;
    let Notice::OperationFinished { entry, .. } = driver.notice("finished", finished).await else {
        unreachable!()
    };
    assert_eq!(entry.result, OperationResult::Failed);
    assert!(
        matches!(entry.failure, Some(FailureReason::Render(_))),
        "{:?}",
        entry.failure
    );
    driver.stop().await;
    let deployments = demo
        .kubectl("dev", &["get", "deployments", "-o", "name"])
        .await;
    assert!(
        text(&deployments.stdout).trim().is_empty(),
        "a failed render applied something"
    );
}

/// `driftdeck sync` on a cluster where the env's namespace does not exist yet, then `diff`:
/// nothing may be left over. (The first cluster-held state write creates the namespace; when it
/// re-applied a bare Namespace under driftdeck's field manager it raced the sync's own apply and
/// stripped the Namespace's labels — staging showed drift right after a successful sync.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_into_a_fresh_cluster_leaves_no_drift() {
    let demo = Demo::start().await;
    let audit = tempfile::tempdir().unwrap();
    let audit_log = audit.path().join("audit.jsonl");
    let audit_log = audit_log.to_str().unwrap();
    for env in ["dev", "staging", "production"] {
        // production is protected: every entry point needs the typed name.
        let out = demo
            .driftdeck(
                &["sync", env, "--confirm", env],
                &[("DRIFTDECK_AUDIT_LOG", audit_log)],
            )
            .await;
        assert!(
            out.status.success(),
            "sync {env}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let (code, stdout, stderr) = demo.diff(env).await;
        assert_eq!(
            code, 0,
            "diff {env} after sync must be empty:\n{stdout}{stderr}"
        );
        assert!(stdout.trim().is_empty(), "diff {env} printed: {stdout}");
    }
}

/// Live state is watched, not polled: once dev is Synced and Healthy and nothing changes in
/// its cluster, the driver makes only its ConfigMap and Lease reads (and at most one resync),
/// where re-observing every second costs a list per kind, the pods and a dry-run per object,
/// each second. A change made with kubectl is still seen at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_cluster_is_watched_not_polled() {
    let demo = Demo::start().await;
    demo.apply_env("dev").await;
    demo.wait_rollouts("dev").await;
    let mut driver = Driver::start(&demo, false, false);
    driver
        .snapshot_where("dev Synced and Healthy", |s| {
            s.env("dev").is_some_and(|e| {
                e.sync == SyncStatus::Synced && e.health.code == HealthCode::Healthy
            })
        })
        .await;
    let cluster = demo.sandbox().cluster("dev").unwrap();
    // Steady state is reached once the watches have listed: some window in which no object
    // changed (a change rightly causes a fresh observation) must cost only the ConfigMap and
    // Lease reads (~5 in 6 s). One observation of dev is ~14 lists and ~9 dry-runs, so
    // polling every second costs over 100 in every window; a resync every 30 s costs ~23 in
    // one window of five.
    let window = Duration::from_secs(6);
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (rv, before) = (cluster.lock().resource_version(), cluster.requests());
        tokio::time::sleep(window).await;
        let quiet = cluster.lock().resource_version() == rv;
        let requests = cluster.requests() - before;
        seen.push((quiet, requests));
        if quiet && requests <= 12 {
            break;
        }
    }
    assert!(
        seen.iter().any(|&(quiet, n)| quiet && n <= 12),
        "(quiet, requests) per {window:?} window: {seen:?}: live is polled, not watched"
    );
    demo.kubectl(
        "dev",
        &[
            "-n",
            "log-platform",
            "scale",
            "deploy/log-api",
            "--replicas=4",
        ],
    )
    .await;
    driver
        .snapshot_where("the scale as drift", |s| {
            s.env("dev")
                .is_some_and(|e| e.drift.iter().any(|d| d.key.name == "log-api"))
        })
        .await;
    driver.stop().await;
}

/// ConfigMaps added to dev's overlay for [`one_changed_object_costs_one_dry_run_not_one_per_object`].
const MANY: usize = 80;

/// A watch event costs a dry-run only for what changed: the driver keeps each object's dry-run
/// answer while its live resourceVersion stays, so with dev grown by 80 ConfigMaps, one edited
/// ConfigMap costs one observation's lists and one dry-run (plus its defaults probe), not a
/// dry-run per object (over 80 requests for that observation alone). Counted on the sandbox's
/// request counter; the edit is one request through an in-process client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_changed_object_costs_one_dry_run_not_one_per_object() {
    let demo = Demo::start().await;
    let overlay = demo.repo().join("overlays/dev");
    let many: Vec<String> = (0..MANY)
        .map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: many-{i}}}\ndata: {{k: \"{i}\"}}\n"))
        .collect();
    std::fs::write(overlay.join("many.yaml"), many.join("---\n")).unwrap();
    let kustomization = std::fs::read_to_string(overlay.join("kustomization.yaml")).unwrap();
    std::fs::write(
        overlay.join("kustomization.yaml"),
        kustomization.replace("  - ../../base\n", "  - ../../base\n  - many.yaml\n"),
    )
    .unwrap();
    demo.commit_all("80 more ConfigMaps").await;
    let synced = demo.driftdeck(&["sync", "dev"], &[]).await;
    assert!(
        synced.status.success(),
        "sync: {}{}",
        text(&synced.stdout),
        text(&synced.stderr)
    );
    demo.wait_rollouts("dev").await;

    let mut driver = Driver::start(&demo, false, false);
    driver
        .snapshot_where("dev Synced", |s| {
            s.env("dev").is_some_and(|e| e.sync == SyncStatus::Synced)
        })
        .await;
    let cluster = demo.sandbox().cluster("dev").unwrap();
    // Steady state first: a window in which no object changed and few requests were made
    // (as in `a_quiet_cluster_is_watched_not_polled`).
    let window = Duration::from_secs(6);
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (rv, before) = (cluster.lock().resource_version(), cluster.requests());
        tokio::time::sleep(window).await;
        let quiet = cluster.lock().resource_version() == rv;
        let requests = cluster.requests() - before;
        seen.push((quiet, requests));
        if quiet && requests <= 12 {
            break;
        }
    }
    assert!(
        seen.iter().any(|&(quiet, n)| quiet && n <= 12),
        "no quiet window: {seen:?}"
    );

    let before = cluster.requests();
    let client = crate::sandbox_support::local_client(demo.sandbox(), "dev");
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, "log-platform");
    cms.patch(
        "many-7",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(serde_json::json!({"data": {"k": "edited"}})),
    )
    .await
    .unwrap();
    driver
        .snapshot_where("the edit as drift", |s| {
            s.env("dev")
                .is_some_and(|e| e.drift.iter().any(|d| d.key.name == "many-7"))
        })
        .await;
    let spent = cluster.requests() - before;
    assert!(
        spent < MANY as u64,
        "one edited object cost {spent} requests in an env of {} objects: \
         every object is dry-run again on each change",
        MANY + 9
    );
    driver.stop().await;
}
