//! Rollback under a running controller, on the real API server tier and on the sandbox (same
//! test code): a `driftdeck controller` with auto-sync holds the env's Lease; a bad commit (a
//! `crashloop` image) lands; `driftdeck rollback ENV --to GOOD` runs at three moments — as the
//! commit lands, once the controller has started deploying it, once it is live — 20 times on
//! the real server, 6 on the sandbox.
//! Each time: the rollback exits 0; when it returns, the good image is live (checked with
//! kubectl) and stays so (watched for 3 s: the controller may not deploy the bad commit
//! again); `status -o json` shows the hold at the good revision. Then a new good commit and
//! `resume` start the next round.
//!
//! Also `rollback --revert` on both servers: only the env's files are reverted, the hold clears
//! once Git renders the target, and a revert that cannot be made applies nothing and holds nothing.
//!
//! Stand-in: on the real tier, pods are made Running/Ready (or CrashLoopBackOff for a
//! `crashloop` image) by the kubelet stand-in, not a kubelet; everything else is the real API
//! server and controller manager.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::real_drift_support::Bench;

/// Rounds on the real server (the issue's figure); the sandbox runs the same code fewer times.
const ROUNDS: usize = 20;
const SANDBOX_ROUNDS: usize = 6;
const LIMIT: Duration = Duration::from_secs(120);

fn app(ns: &str, tag: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ServiceAccount
metadata: {{name: api, namespace: {ns}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      serviceAccountName: api
      containers:
      - name: api
        image: registry.example/api:{tag}
        ports: [{{containerPort: 8080, protocol: TCP}}]
"#
    )
}

fn live_tag(bench: &Bench) -> String {
    let d = bench.live("deployment", "api");
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .and_then(|i| i.rsplit(':').next())
        .unwrap_or_default()
        .to_owned()
}

/// Polls `cond` every 200 ms until it holds; fails with `what` after [`LIMIT`].
async fn wait_until(bench: &Bench, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < LIMIT,
            "timed out waiting for {what}; history {:#?}\n{}",
            bench.history(),
            bench.controller_log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn deploying(history: &[Value], revision: &str) -> bool {
    history.iter().any(|e| e["revision"] == revision)
}

async fn rollback_rounds(bench: Bench, rounds: usize) {
    let ns = bench.ns.clone();
    bench.set_automation(true, false);
    bench.commit(&app(&ns, "v0"), "v0");
    bench.sync(&[]).await;
    let _controller = bench.spawn_controller();
    let mut good = bench.head();
    let mut good_tag = "v0".to_owned();
    for round in 0..rounds {
        let bad_tag = format!("bad{round}-crashloop");
        bench.commit(&app(&ns, &bad_tag), &format!("bad {round}"));
        let bad = bench.head();
        match round % 3 {
            0 => {}
            1 => {
                wait_until(
                    &bench,
                    "the controller to start deploying the bad commit",
                    || deploying(&bench.history(), &bad),
                )
                .await
            }
            _ => {
                wait_until(&bench, "the bad image to be live", || {
                    live_tag(&bench) == bad_tag
                })
                .await
            }
        }
        let ran = bench.driftdeck(&["rollback", &ns, "--to", &good]).await;
        assert_eq!(ran.code, Some(0), "round {round}: {ran:#?}");
        assert_eq!(
            live_tag(&bench),
            good_tag,
            "round {round}: when rollback returns, the good image is live"
        );
        let status = bench.driftdeck(&["status", "-o", "json"]).await;
        let status: Value = serde_json::from_str(&status.stdout).expect("status -o json");
        let env = status["environments"]
            .as_array()
            .and_then(|envs| envs.iter().find(|e| e["name"] == ns.as_str()))
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(
            env["hold"]["revision"], good,
            "round {round}: status shows the hold at the good revision: {env:#}"
        );
        let watch_until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < watch_until {
            assert_ne!(
                live_tag(&bench),
                bad_tag,
                "round {round}: the bad commit came back after the rollback; history {:#?}\n{}",
                bench.history(),
                bench.controller_log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Next round: a new good commit, and the hold lifted; auto-sync deploys it.
        good_tag = format!("v{}", round + 1);
        bench.commit(&app(&ns, &good_tag), &format!("good {}", round + 1));
        let ran = bench.driftdeck(&["resume", &ns]).await;
        assert_eq!(ran.code, Some(0), "round {round}: resume: {ran:#?}");
        wait_until(&bench, "auto-sync of the next good commit", || {
            live_tag(&bench) == good_tag
        })
        .await;
        good = bench.head();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollback_under_a_running_controller_never_leaves_the_bad_revision_live_on_the_real_server()
{
    rollback_rounds(Bench::real("rollback"), ROUNDS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollback_under_a_running_controller_never_leaves_the_bad_revision_live_on_the_sandbox() {
    rollback_rounds(Bench::sandbox("rollback").await, SANDBOX_ROUNDS).await;
}

fn env_of(status: &Value, ns: &str) -> Value {
    status["environments"]
        .as_array()
        .and_then(|envs| envs.iter().find(|e| e["name"] == ns))
        .cloned()
        .unwrap_or(Value::Null)
}

/// `rollback --revert` with two bad commits on the head, the first of which also changed
/// another env's file: the revert commit restores only this env's file (the other change
/// stays), the good image is live, and the hold ends once Git's head renders the target.
/// Then a revert that cannot be made (a later commit changed the env's file again) fails with
/// exit 1: nothing applied, no hold.
async fn revert_rounds(bench: Bench) {
    let ns = bench.ns.clone();
    bench.commit(&app(&ns, "v0"), "v0");
    bench.sync(&[]).await;
    let good = bench.head();
    bench.commit_with(
        &app(&ns, "bad1-crashloop"),
        "other/notes.txt",
        "staging's change\n",
        "bad 1, and a staging note",
    );
    bench.commit(&app(&ns, "bad2-crashloop"), "bad 2");
    let ran = bench.driftdeck(&["sync", &ns]).await;
    assert_eq!(ran.code, Some(1), "the crashloop release fails: {ran:#?}");
    assert_eq!(live_tag(&bench), "bad2-crashloop");

    let ran = bench
        .driftdeck(&["rollback", &ns, "--to", &good, "--revert"])
        .await;
    assert_eq!(ran.code, Some(0), "rollback --revert: {ran:#?}");
    assert_eq!(live_tag(&bench), "v0", "the target runs");
    assert_eq!(
        bench.file_at_head("env/all.yaml").as_deref(),
        Some(app(&ns, "v0").as_str()),
        "Git's env file is the target's again"
    );
    assert_eq!(
        bench.file_at_head("other/notes.txt").as_deref(),
        Some("staging's change\n"),
        "another env's change in a reverted commit stays"
    );
    let start = Instant::now();
    loop {
        let status = bench.driftdeck(&["status", "-o", "json"]).await;
        let status: Value = serde_json::from_str(&status.stdout).expect("status -o json");
        if env_of(&status, &ns)["hold"].is_null() {
            break;
        }
        assert!(
            start.elapsed() < LIMIT,
            "the hold did not clear once Git rendered the target: {:#}",
            env_of(&status, &ns)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A revert that cannot be made: bad3 is live, then a later commit changes the env's file.
    bench.commit(&app(&ns, "bad3-crashloop"), "bad 3");
    let bad3 = bench.head();
    assert_eq!(bench.driftdeck(&["sync", &ns]).await.code, Some(1));
    let reverted = bench.history().len();
    bench.commit(&app(&ns, "v4-hotfix"), "a hotfix on top");
    let ran = bench
        .driftdeck(&["rollback", &ns, "--to", &good, "--revert"])
        .await;
    assert_eq!(ran.code, Some(1), "a revert that conflicts fails: {ran:#?}");
    assert!(
        ran.stderr.contains("nothing was applied"),
        "says nothing was applied: {ran:#?}"
    );
    assert_eq!(live_tag(&bench), "bad3-crashloop", "nothing applied");
    let status = bench.driftdeck(&["status", "-o", "json"]).await;
    let status: Value = serde_json::from_str(&status.stdout).expect("status -o json");
    assert!(
        env_of(&status, &ns)["hold"].is_null(),
        "no hold: {:#}",
        env_of(&status, &ns)
    );
    assert!(
        bench.history().len() > reverted,
        "the failed rollback is recorded"
    );
    assert_ne!(bench.head(), bad3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollback_revert_reverts_only_the_envs_files_and_the_hold_clears_on_the_real_server() {
    revert_rounds(Bench::real("revert")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollback_revert_reverts_only_the_envs_files_and_the_hold_clears_on_the_sandbox() {
    revert_rounds(Bench::sandbox("revert").await).await;
}
