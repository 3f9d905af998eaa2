//! Self-heal converges in one operation: with `self_heal` on and a `driftdeck controller`
//! running, an env var added by hand (`kubectl set env`, a field Git does not set) is removed by
//! exactly one self-heal operation, and no further operation follows while the env stays in
//! sync. Before the takeover of other managers' fields, the forced apply left the var in place
//! and self-heal re-synced every few seconds forever.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::real_drift_support::Bench;

/// How long to wait for the heal, and how long to watch for a second operation afterwards
/// (several self-heal rounds of the controller's 5 s drift check).
const HEAL: Duration = Duration::from_secs(120);
const QUIET: Duration = Duration::from_secs(20);

fn self_heals(history: &[Value]) -> usize {
    history.iter().filter(|e| e["op"] == "SelfHeal").count()
}

fn has_foo(bench: &Bench) -> bool {
    let d = bench.live("deployment", "api");
    d["spec"]["template"]["spec"]["containers"][0]["env"]
        .to_string()
        .contains("FOO")
}

async fn heals_once(bench: Bench) {
    let render = bench.render();
    let only: Vec<&str> = render
        .split("\n---\n")
        .filter(|d| d.contains("\nkind: Deployment\n") || d.contains("\nkind: ServiceAccount\n"))
        .collect();
    bench.commit(&only.join("\n---\n"), "the env");
    bench.sync(&[]).await;
    assert_eq!(bench.diff().await.code, Some(0), "in sync before the edit");
    bench.set_self_heal(true);
    let _controller = bench.spawn_controller();
    bench.kubectl_ok(&["-n", &bench.ns, "set", "env", "deployment/api", "FOO=bar"]);
    let start = Instant::now();
    while self_heals(&bench.history()) == 0 || has_foo(&bench) {
        assert!(
            start.elapsed() < HEAL,
            "no self-heal removed FOO within {HEAL:?}; history {:?}\n{}",
            bench.history(),
            bench.controller_log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Watched for a bounded window: a looping self-heal adds an entry every few seconds.
    let quiet_until = Instant::now() + QUIET;
    while Instant::now() < quiet_until {
        let n = self_heals(&bench.history());
        assert_eq!(n, 1, "self-heal ran {n} times: {:#?}", bench.history());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(bench.diff().await.code, Some(0), "in sync after the heal");
    assert!(!has_foo(&bench));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn self_heal_removes_a_hand_added_env_var_in_one_operation_on_the_real_server() {
    heals_once(Bench::real("heal")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn self_heal_removes_a_hand_added_env_var_in_one_operation_on_the_sandbox() {
    heals_once(Bench::sandbox("heal").await).await;
}
