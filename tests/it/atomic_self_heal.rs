//! Self-heal under a rejected head, on the real API server tier (Kubernetes v1.20) and on the
//! sandbox with the same test code: the env is synced at a good commit, the next commit holds
//! a Deployment the server refuses (`replicas: "abc"`) and fails; a live edit made afterwards
//! is still healed by the running controller, which re-applies the good commit while the bad
//! one stays failed and nothing of it goes live (checked object by object with `kubectl`).

use std::time::{Duration, Instant};

use crate::atomic_support::{GitopsEnv, Server};

const CONFIG_A_V1: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: __NS__}\ndata: {v: \"1\"}\n";
const CONFIG_A_V2: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: __NS__}\ndata: {v: \"2\"}\n";
const CONFIG_B: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: __NS__}\ndata: {v: \"new\"}\n";
const CONFIG_C: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: __NS__}\ndata: {k: \"git\"}\n";
/// Every server refuses it: `replicas` is not an integer.
const BAD_DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad, namespace: __NS__}\n\
spec:\n  replicas: \"abc\"\n  selector: {matchLabels: {app: bad}}\n  template:\n    \
metadata: {labels: {app: bad}}\n    spec:\n      containers:\n      - {name: c, image: \"busybox:1\"}\n";

fn revision_of(obj: &serde_json::Value) -> &str {
    obj["metadata"]["annotations"]["driftdeck.io/revision"]
        .as_str()
        .unwrap_or_default()
}

/// Polls `probe` every 200 ms until it holds or `limit` passes.
async fn within<F, Fut>(limit: Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if probe().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn live_edit_is_healed_to_the_synced_revision_under_a_rejected_head(server: &Server) {
    let env = GitopsEnv::new(server, "atomic-heal", true).await;
    let ns = env.namespace.clone();
    env.write("a.yaml", CONFIG_A_V1);
    env.write("c.yaml", CONFIG_C);
    let good = env.commit("good").await;
    let (code, out) = env.driftdeck(&["sync", "dev"]).await;
    assert_eq!(code, 0, "the first sync must succeed: {out}");

    env.write("a.yaml", CONFIG_A_V2);
    env.write("b.yaml", CONFIG_B);
    env.write("bad.yaml", BAD_DEPLOYMENT);
    let bad = env.commit("one rejected object").await;
    let (code, out) = env.driftdeck(&["sync", "dev"]).await;
    assert_eq!(code, 1, "a rejected object must fail the sync: {out}");
    assert!(
        out.contains("Deployment") && out.contains("bad") && out.contains("replicas"),
        "the failure names the object and the server's reason: {out}"
    );

    // The live edit, then the controller: it must put the good commit's value back.
    let out = server
        .kubectl(&[
            "-n",
            &ns,
            "patch",
            "configmap",
            "c",
            "-p",
            r#"{"data":{"k":"edited"}}"#,
        ])
        .await;
    assert!(out.status.success(), "{out:?}");
    let _controller = env.spawn_controller();
    let healed = within(Duration::from_secs(90), || async {
        server
            .get(&ns, "configmap/c")
            .await
            .is_some_and(|c| c["data"]["k"] == "git")
    })
    .await;
    assert!(
        healed,
        "the live edit of ConfigMap c was not healed\n{}",
        env.controller_log()
    );

    // Object by object: nothing of the rejected commit is live.
    let a = server.get(&ns, "configmap/a").await.expect("ConfigMap a");
    assert_eq!(a["data"]["v"], "1", "ConfigMap a was changed: {a}");
    assert_eq!(revision_of(&a), good);
    let c = server.get(&ns, "configmap/c").await.expect("ConfigMap c");
    assert_eq!(revision_of(&c), good, "healed from the good commit: {c}");
    assert!(
        server.get(&ns, "configmap/b").await.is_none(),
        "ConfigMap b of the rejected commit went live"
    );
    assert!(server.get(&ns, "deployment/bad").await.is_none());

    // Status keeps the good commit as synced; the head is the rejected one.
    env.assert_status_keeps_synced(&good, &bad).await;

    // History: the heal applied the good commit; the rejected one failed once and was not
    // applied again.
    let (code, history) = env.driftdeck(&["history", "dev", "-o", "json"]).await;
    assert_eq!(code, 0, "{history}");
    let doc: serde_json::Value = serde_json::from_str(&history).unwrap();
    let ops = doc["operations"].as_array().cloned().unwrap_or_default();
    let of = |rev: &str, op: &str| {
        ops.iter()
            .filter(|e| e["revision"] == rev && e["op"] == op)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(
        of(&good, "SelfHeal")
            .iter()
            .any(|e| e["result"] == "Succeeded"),
        "a self-heal of the good commit: {history}"
    );
    assert!(of(&bad, "SelfHeal").is_empty(), "{history}");
    let bad_syncs = of(&bad, "Sync");
    assert_eq!(bad_syncs.len(), 1, "{history}");
    assert_eq!(bad_syncs[0]["result"], "Failed", "{history}");
}

#[tokio::test(flavor = "multi_thread")]
async fn live_edit_healed_under_rejected_head_on_real_server() {
    live_edit_is_healed_to_the_synced_revision_under_a_rejected_head(&Server::real().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn live_edit_healed_under_rejected_head_on_sandbox() {
    live_edit_is_healed_to_the_synced_revision_under_a_rejected_head(&Server::sandbox().await)
        .await;
}
