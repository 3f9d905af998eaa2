//! `kill -9` of the controller while a sync is
//! running, then a restart: the env converges to Git and history marks the killed operation
//! `Interrupted` (none is left `Running`).
//!
//! The sync is slowed with 200 ms of latency on every request to dev's cluster and touches a
//! ConfigMap and every Deployment, so the kill lands while it runs: the test waits until the
//! operation is published as running (history entry or the Lease's operation annotation).

use std::time::Duration;

use driftdeck::model::{FailureReason, OperationResult};
use driftdeck::sandbox::faults::FaultConfig;
use serde_json::Value;

use crate::controller_support::{API_IMAGE, Deck, Policy, entries_for, set_tag};

const CONVERGE: Duration = Duration::from_secs(90);

#[tokio::test]
async fn kill_9_during_a_sync_then_restart_converges_and_marks_it_interrupted() {
    // Prune on: the commit renames the generated ConfigMap, and converging includes removing
    // the old one.
    let pruning = Policy {
        prune: true,
        ..Policy::AUTO
    };
    let deck = Deck::start(&[("dev", pruning)]).await;
    let mut first = deck.spawn_controller();
    let head = deck.head();
    deck.wait_for("the first sync to be recorded", CONVERGE, || {
        let done = entries_for(&deck.history("dev"), &head)
            .iter()
            .any(|e| e.result == OperationResult::Succeeded);
        async move { done.then_some(()) }
    })
    .await;

    deck.set_faults(
        "dev",
        FaultConfig {
            latency_ms: 200,
            ..FaultConfig::default()
        },
    );
    let path = "overlays/dev/kustomization.yaml";
    let old = deck.file_at("main", path).unwrap();
    let new = set_tag(&old, API_IMAGE, "1.5.0").replace("LOG_LEVEL=debug", "LOG_LEVEL=trace");
    let sha = deck.commit(&[(path, Some(new))], "dev: log-api 1.5.0, trace logging");

    let running = deck
        .wait_for("the sync of the commit to be running", CONVERGE, || {
            let in_history = entries_for(&deck.history("dev"), &sha)
                .iter()
                .any(|e| e.result == OperationResult::Running);
            let lease = deck.live("dev", "coordination.k8s.io", "leases", "driftdeck-dev");
            let published = lease
                .as_ref()
                .and_then(|l| l.pointer("/metadata/annotations/driftdeck.io~1operation"))
                .and_then(Value::as_str)
                .is_some_and(|op| !op.is_empty());
            async move { (in_history || published).then_some(in_history) }
        })
        .await;
    first.kill9().await;
    eprintln!("killed with the operation running (in history: {running})");
    deck.set_faults("dev", FaultConfig::default());

    let _second = deck.spawn_controller();
    deck.wait_api_tag("dev", "1.5.0", CONVERGE).await;
    deck.wait_for("dev to converge to Git (diff exit 0)", CONVERGE, || async {
        (deck.run(&["diff", "dev"]).await.code == 0).then_some(())
    })
    .await;
    // The restarted controller's own operation finishes; nothing is left Running.
    let history = deck
        .wait_for(
            "every operation in history to be finished",
            CONVERGE,
            || {
                let h = deck.history("dev");
                let settled = h.iter().all(|e| e.result != OperationResult::Running);
                async move { settled.then_some(h) }
            },
        )
        .await;
    let killed = entries_for(&history, &sha)
        .into_iter()
        .find(|e| e.result == OperationResult::Interrupted)
        .unwrap_or_else(|| panic!("the killed sync is not marked Interrupted: {history:#?}"));
    assert!(killed.finished.is_some(), "{killed:#?}");
    assert!(
        matches!(killed.failure, Some(FailureReason::Interrupted(_))),
        "{killed:#?}"
    );
}
