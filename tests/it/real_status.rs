//! `status` shows what the cluster holds about an env (pause, hold) even when the live side
//! cannot be observed in full — here a render with a kind the server does not serve — on the
//! real API server and on the sandbox (same code). Before, a failed observation dropped the
//! pause from `status`: an SRE saw an emergency-stopped env as not paused. And a protected
//! env's sync plan never claims drift counts about a cluster it could not read.

use serde_json::Value;

use crate::real_drift_support::Bench;

fn env_of(status: &str, ns: &str) -> Value {
    let status: Value = serde_json::from_str(status).expect("status -o json");
    status["environments"]
        .as_array()
        .and_then(|envs| envs.iter().find(|e| e["name"] == ns))
        .cloned()
        .unwrap_or(Value::Null)
}

async fn pause_shows_though_live_is_unobservable(bench: Bench) {
    let ns = bench.ns.clone();
    bench.commit(
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {ns}}}\ndata: {{level: info}}\n---\napiVersion: gadgets.{ns}.example.com/v1\nkind: Gadget\nmetadata: {{name: g, namespace: {ns}}}\n"
        ),
        "a kind the server does not serve",
    );
    let ran = bench
        .driftdeck(&["pause", &ns, "--reason", "incident 7"])
        .await;
    assert_eq!(ran.code, Some(0), "pause: {ran:#?}");
    let ran = bench.driftdeck(&["status", "-o", "json"]).await;
    let env = env_of(&ran.stdout, &ns);
    assert!(
        env["error"].as_str().is_some_and(|e| e.contains("Gadget")),
        "the observation error names the kind: {env:#}"
    );
    assert_eq!(
        env["paused"]["reason"], "incident 7",
        "the pause shows though live could not be observed: {env:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_shows_in_status_when_live_is_unobservable_on_the_real_server() {
    pause_shows_though_live_is_unobservable(Bench::real("unobservable")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_shows_in_status_when_live_is_unobservable_on_the_sandbox() {
    pause_shows_though_live_is_unobservable(Bench::sandbox("unobservable").await).await;
}
