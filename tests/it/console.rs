//! The live console end to end: `controller::apply_env` and the controller driver against
//! the sandbox with the demo repo, `driftdeck status` after an apply, and a tmux-driven run of
//! `driftdeck demo` (fails loudly when tmux is absent).

use std::path::{Path, PathBuf};
use std::time::Duration;

use driftdeck::cluster::Cluster;
use driftdeck::config::Config;
use driftdeck::controller;
use driftdeck::model::{Command, FailureReason, Notice, OperationResult, Snapshot, SyncStatus};
use driftdeck::sandbox::SandboxOptions;
use tokio::sync::{mpsc, watch};

use crate::sandbox_support::{self, Running};
use crate::tmux_support::{Tmux, shell_quote};

use driftdeck::demo::run::CLUSTERS;

/// The demo repo and config in a temp dir, a sandbox with every cluster it names, and the
/// sandbox's kubeconfig where the demo config expects it.
async fn demo_with_sandbox() -> (tempfile::TempDir, Running, Config) {
    let dir = tempfile::tempdir().unwrap();
    let layout = driftdeck::demo::init(dir.path()).unwrap();
    let opts = SandboxOptions {
        time_scale: 20.0,
        ..SandboxOptions::default()
    };
    let sandbox = sandbox_support::start(&CLUSTERS, opts).await;
    std::fs::copy(&sandbox.kubeconfig, &layout.kubeconfig).unwrap();
    let config = driftdeck::config::load(&layout.config).unwrap();
    (dir, sandbox, config)
}

async fn apply_head(config: &Config, env_name: &str) -> usize {
    apply_head_answers(config, env_name).await.2.changed
}

/// `apply_env` of `env_name`'s head: the cluster, what was applied, and the apply's report.
async fn apply_head_answers(
    config: &Config,
    env_name: &str,
) -> (Cluster, controller::Desired, controller::Applied) {
    let env = config.env(env_name).unwrap().clone();
    let owned = config.clone();
    let env2 = env.clone();
    let desired = tokio::task::spawn_blocking(move || {
        let source = controller::open_source(&owned).unwrap();
        controller::desired(&source, &env2, None).unwrap()
    })
    .await
    .unwrap();
    let kubeconfig = driftdeck::cluster::load_kubeconfig(config.kubeconfig.as_deref()).unwrap();
    let cluster = Cluster::connect(kubeconfig.as_ref(), &env.context)
        .await
        .unwrap();
    let applied = controller::apply_env(&cluster, &env, &desired)
        .await
        .unwrap();
    (cluster, desired, applied)
}

/// The observation right after a sync reuses the sync's own answers: a dry-run apply of an
/// object just applied answers what the apply answered, so seeding the env's prediction cache
/// with them leaves nothing to dry-run but the defaults probes some objects need — where an
/// unseeded cache dry-runs every live object again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observation_after_a_sync_dry_runs_nothing_the_apply_answered() {
    let (_dir, sandbox, config) = demo_with_sandbox().await;
    let env = config.env("dev").unwrap().clone();
    let (cluster, desired, applied) = apply_head_answers(&config, "dev").await;
    let answered = applied.answers.len();
    let applied_late = desired
        .rendered
        .manifests
        .iter()
        .filter(|m| !matches!(m.kind(), "Namespace" | "CustomResourceDefinition"))
        .count();
    assert_eq!(
        answered,
        applied_late,
        "every object of dev's render but the Namespaces validation applies first has an \
         answer: {:?}",
        applied.answers.iter().map(|a| &a.0).collect::<Vec<_>>()
    );
    let needing_defaults = applied
        .answers
        .iter()
        .filter(|(key, _, answer)| {
            let m = desired.rendered.manifests.iter().find(|m| m.key() == key);
            m.is_some_and(|m| driftdeck::diff::needs_defaults(answer, m))
        })
        .count();
    let live = controller::list_live(&cluster, &env, &desired.rendered.manifests)
        .await
        .unwrap();
    let counter = sandbox.sandbox.cluster("dev").unwrap();

    let seeded = controller::PredictionCache::default();
    seeded.seed(&desired, applied.answers);
    let before = counter.tally();
    let predicted = seeded.predict(&cluster, &env, &desired, &live).await;
    let spent = counter.tally() - before;
    let unanswered = desired.rendered.manifests.len() - answered;
    assert_eq!(
        predicted.len(),
        desired.rendered.manifests.len(),
        "a prediction per live object"
    );
    assert!(
        spent.dry_runs <= (2 * needing_defaults + unanswered) as u64,
        "a seeded observation dry-ran {} times ({needing_defaults} of {answered} answered \
         objects need the defaults probe, {unanswered} were applied by validation): {:#?}",
        spent.dry_runs,
        counter.recent_requests()
    );

    let before = counter.tally();
    controller::PredictionCache::default()
        .predict(&cluster, &env, &desired, &live)
        .await;
    let unseeded = counter.tally() - before;
    assert!(
        unseeded.dry_runs >= answered as u64,
        "an unseeded observation dry-runs every live object, it cost {unseeded:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_env_then_status_shows_the_env_synced() {
    let (_dir, sandbox, config) = demo_with_sandbox().await;
    let changed = apply_head(&config, "dev").await;
    assert!(
        changed >= 5,
        "a first apply creates the env's objects, got {changed}"
    );

    // The stamps observe relies on are on the live objects.
    let client = sandbox_support::local_client(&sandbox.sandbox, "dev");
    let cms: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client, "log-platform");
    let list = cms.list(&Default::default()).await.unwrap();
    assert!(!list.items.is_empty());
    for d in &list.items {
        let labels = d.metadata.labels.clone().unwrap_or_default();
        let ann = d.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(
            labels.get(controller::MANAGED_BY_LABEL).map(String::as_str),
            Some("driftdeck")
        );
        assert_eq!(
            ann.get(controller::ENV_ANNOTATION).map(String::as_str),
            Some("dev")
        );
        assert_eq!(
            ann.get(controller::REVISION_ANNOTATION).map(|r| r.len()),
            Some(40)
        );
    }

    let file = config.file.clone();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args(["status", "-o", "json", "--config"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status failed: {stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let envs = doc["environments"].as_array().unwrap();
    let by_name = |n: &str| envs.iter().find(|e| e["name"] == n).unwrap();
    assert_eq!(by_name("dev")["sync"], "Synced", "{doc:#}");
    assert_eq!(
        by_name("dev")["synced_revision"],
        by_name("dev")["revision"]
    );
    assert_eq!(by_name("staging")["sync"], "OutOfSync", "{doc:#}");
}

/// Channels around a spawned controller driver (automation off, audit log in a temp dir).
struct Ends {
    snapshots: watch::Receiver<Snapshot>,
    notices: mpsc::Receiver<Notice>,
    commands: mpsc::Sender<Command>,
}

async fn drive<F, Fut>(config: Config, read_only: bool, body: F)
where
    F: FnOnce(Ends) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let audit = tempfile::tempdir().unwrap();
    let opts = controller::DriverOptions {
        audit: controller::audit::AuditLog::at(audit.path().join("audit.jsonl")),
        ..controller::DriverOptions::manual(read_only)
    };
    let spawned = controller::driver::spawn(config, opts);
    let driver = spawned.task;
    // The driver stops when nobody watches its snapshots; a body may not look at them.
    let _watching = spawned.snapshots.clone();
    let ends = Ends {
        snapshots: spawned.snapshots,
        notices: spawned.notices,
        commands: spawned.commands,
    };
    body(ends).await;
    driver.abort();
}

/// Waits (up to a deadline) for a snapshot satisfying `cond`.
async fn snapshot_where(
    rx: &mut watch::Receiver<Snapshot>,
    cond: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    let found = tokio::time::timeout(Duration::from_secs(60), rx.wait_for(|s| cond(s)))
        .await
        .expect("no matching snapshot within 60 s")
        .expect("driver gone");
    found.clone()
}

async fn next_notice(rx: &mut mpsc::Receiver<Notice>) -> Notice {
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("no notice within 60 s")
        .expect("driver gone")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_publishes_every_demo_env_with_commits() {
    let (_dir, _sandbox, config) = demo_with_sandbox().await;
    let head = {
        let source = controller::open_source(&config).unwrap();
        source.resolve(None).unwrap().sha
    };
    drive(config, false, |mut ends| async move {
        // Each env is published as its own observations land; wait until every one has.
        let snap = snapshot_where(&mut ends.snapshots, |s| {
            s.repo.head.is_some()
                && s.envs
                    .iter()
                    .all(|e| e.sync != SyncStatus::Unknown && !e.commits.is_empty())
        })
        .await;
        let names: Vec<&str> = snap.envs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, CLUSTERS);
        assert!(!snap.read_only);
        assert!(snap.taken_at.is_some());
        assert_eq!(snap.repo.branch, "main");
        assert_eq!(
            snap.repo.head.as_ref().map(|c| c.sha.as_str()),
            Some(head.as_str())
        );
        for env in &snap.envs {
            assert_eq!(env.error, None, "{}", env.name);
            assert_eq!(env.revision.as_deref(), Some(head.as_str()));
            // Nothing applied yet: every env is missing its objects.
            assert_eq!(env.sync, SyncStatus::OutOfSync, "{}", env.name);
            assert!(!env.commits.is_empty(), "{} has no commits", env.name);
            assert!(
                env.commits.windows(2).all(|w| w[0].time >= w[1].time),
                "{}: commits newest first",
                env.name
            );
        }
        // The head commit touches at least one env; it is that env's newest commit.
        assert!(snap.envs.iter().any(|e| e.commits[0].sha == head));
        // A refresh publishes a newer snapshot.
        let seq = snap.seq;
        ends.commands
            .send(Command::Refresh { env: None })
            .await
            .unwrap();
        snapshot_where(&mut ends.snapshots, |s| s.seq > seq).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_sync_applies_and_the_env_becomes_synced() {
    let (_dir, _sandbox, config) = demo_with_sandbox().await;
    drive(config, false, |mut ends| async move {
        snapshot_where(&mut ends.snapshots, |s| s.seq >= 1).await;
        ends.commands
            .send(Command::Sync {
                env: "staging".into(),
                revision: None,
                prune: None,
                dry_run: false,
                confirm: None,
                force: false,
            })
            .await
            .unwrap();
        assert!(matches!(
            next_notice(&mut ends.notices).await,
            Notice::OperationStarted { ref env, .. } if env == "staging"
        ));
        // Validation runs until the env is Healthy; then the operation finishes.
        match next_notice(&mut ends.notices).await {
            Notice::OperationFinished { env, entry } => {
                assert_eq!(env, "staging");
                assert_eq!(entry.result, OperationResult::Succeeded, "{entry:?}");
                assert!(entry.resources_changed > 0);
                assert_eq!(entry.failure, None);
            }
            other => panic!("expected OperationFinished, got {other:?}"),
        }
        let snap = snapshot_where(&mut ends.snapshots, |s| {
            s.env("staging")
                .is_some_and(|e| e.sync == SyncStatus::Synced)
        })
        .await;
        let staging = snap.env("staging").unwrap();
        assert_eq!(staging.synced_revision, staging.revision);
        assert_eq!(staging.history.len(), 1, "the sync is in the env's history");
        assert_eq!(snap.env("dev").unwrap().sync, SyncStatus::OutOfSync);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_refuses_promote_from_an_env_that_is_not_synced() {
    let (_dir, _sandbox, config) = demo_with_sandbox().await;
    drive(config, false, |mut ends| async move {
        ends.commands
            .send(Command::Promote {
                from: "dev".into(),
                to: "staging".into(),
                message: None,
                force: false,
                confirm: None,
                preview: false,
            })
            .await
            .unwrap();
        match next_notice(&mut ends.notices).await {
            Notice::Refused { env, reason } => {
                assert_eq!(env.as_deref(), Some("staging"));
                assert!(
                    matches!(&reason, FailureReason::Refused(r) if r.contains("Synced and Healthy")),
                    "{reason:?}"
                );
            }
            other => panic!("expected Refused, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_driver_refuses_sync_and_changes_nothing() {
    let (_dir, sandbox, config) = demo_with_sandbox().await;
    drive(config, true, |mut ends| async move {
        ends.commands
            .send(Command::Sync {
                env: "dev".into(),
                revision: None,
                prune: None,
                dry_run: false,
                confirm: None,
                force: false,
            })
            .await
            .unwrap();
        match next_notice(&mut ends.notices).await {
            Notice::Refused { env, reason } => {
                assert_eq!(env.as_deref(), Some("dev"));
                assert!(matches!(reason, FailureReason::ReadOnly(_)), "{reason:?}");
            }
            other => panic!("expected Refused, got {other:?}"),
        }
        let snap = snapshot_where(&mut ends.snapshots, |s| {
            s.env("dev").is_some_and(|e| e.sync != SyncStatus::Unknown)
        })
        .await;
        assert!(snap.read_only);
        assert_eq!(snap.env("dev").unwrap().sync, SyncStatus::OutOfSync);
    })
    .await;
    // Nothing reached the cluster.
    let client = sandbox_support::local_client(&sandbox.sandbox, "dev");
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client, "log-platform");
    assert!(
        deployments
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn demo_in_tmux_shows_every_env_synced_and_quits_cleanly() {
    let tmux = Tmux::new("driftdeck-it", "smoke");
    let dir = tempfile::tempdir().unwrap();
    let state: PathBuf = dir.path().join("demo");
    let script = format!(
        "DRIFTDECK_DEMO_DIR={} {} demo; echo DRIFTDECK-EXITED=$?; sleep 600",
        shell_quote(&state),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_driftdeck"))),
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "smoke",
        "-x",
        "120",
        "-y",
        "36",
        &script,
    ]);
    let screen = tmux.wait_for("every env Synced", Duration::from_secs(90), |s| {
        driftdeck::demo::run::CLUSTERS.iter().all(|env| {
            s.lines()
                .any(|l| l.contains(&format!(" {env} ")) && l.contains("Synced"))
        })
    });
    assert!(screen.contains("Environments (6)"), "{screen}");
    assert!(!screen.contains("OutOfSync"), "{screen}");

    tmux.run(&["send-keys", "-t", "smoke", "q"]);
    let after = tmux.wait_for("the process to end", Duration::from_secs(30), |s| {
        s.contains("DRIFTDECK-EXITED=")
    });
    assert!(after.contains("DRIFTDECK-EXITED=0"), "{after}");
    // The terminal is restored: the alternate screen is off and the console is gone.
    let alternate = tmux.run(&["display-message", "-p", "-t", "smoke", "#{alternate_on}"]);
    assert_eq!(alternate.trim(), "0");
    assert!(!after.contains("Environments (6)"), "{after}");
    assert!(
        state.join("driftdeck.log").exists(),
        "logs go to the state folder"
    );
}
