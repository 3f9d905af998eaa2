//! A commit to dev's image goes live under auto-sync; a
//! `kubectl scale` is healed back to Git; a paused dev reports a new commit as drift without
//! applying it, and `resume` applies it. Outcomes only: the timing figures come from
//! `scripts/commit-to-live.sh`.

use std::collections::HashSet;
use std::time::Duration;

use driftdeck::model::{HistoryEntry, OperationKind, OperationResult};
use driftdeck::sandbox::faults::FaultConfig;

use crate::controller_support::{
    API_IMAGE, Deck, Policy, Soft, entries_for, env_status, rev_is, same_rev,
};

/// Whether `history` has a finished entry for `sha`.
fn finished(history: &[HistoryEntry], sha: &str) -> bool {
    history
        .iter()
        .any(|e| rev_is(&e.revision, sha) && e.result != OperationResult::Running)
}

/// Generous: a loaded CI machine, a debug build, three clusters.
const CONVERGE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn auto_sync_makes_a_commit_to_devs_image_live() {
    let deck = Deck::start(&[("dev", Policy::AUTO)]).await;
    let _ctl = deck.spawn_controller();
    deck.wait_api_tag("dev", "1.4.2", CONVERGE).await;

    let sha = deck.commit_tag("dev", API_IMAGE, "1.5.0");
    deck.wait_api_tag("dev", "1.5.0", CONVERGE).await;

    let rev = sha.as_str();
    let entry = deck
        .wait_for("a finished history entry for the commit", CONVERGE, || {
            let h = deck.history("dev");
            async move {
                h.into_iter()
                    .find(|e| rev_is(&e.revision, rev) && e.result != OperationResult::Running)
            }
        })
        .await;
    assert_eq!(entry.result, OperationResult::Succeeded, "{entry:#?}");
    assert_eq!(entry.op, OperationKind::AutoSync, "{entry:#?}");
    assert!(entry.resources_changed >= 1, "{entry:#?}");
    let status = deck.status().await;
    let dev = env_status(&status, "dev");
    assert!(same_rev(&dev["synced_revision"], &sha), "{dev:#}");
}

#[tokio::test]
async fn self_heal_undoes_a_kubectl_scale() {
    let deck = Deck::start(&[("dev", Policy::AUTO)]).await;
    let _ctl = deck.spawn_controller();
    deck.wait_api_tag("dev", "1.4.2", CONVERGE).await;
    let first = deck.head();
    deck.wait_for("the first sync to finish", CONVERGE, || {
        let done = finished(&deck.history("dev"), &first);
        async move { done.then_some(()) }
    })
    .await;
    let before: HashSet<String> = deck.history("dev").into_iter().map(|e| e.id).collect();

    deck.kubectl("dev", &["scale", "deployment/log-api", "--replicas=4"])
        .await
        .ok("kubectl scale");
    deck.wait_for("replicas back to Git's 1", CONVERGE, || {
        let r = deck.live_replicas("dev", "log-api");
        async move { (r == Some(1)).then_some(()) }
    })
    .await;

    // The heal is an operation of its own, recorded like any other.
    let healed = deck
        .wait_for("a finished history entry for the heal", CONVERGE, || {
            let h = deck.history("dev");
            let new = h
                .into_iter()
                .find(|e| !before.contains(&e.id) && e.result != OperationResult::Running);
            async move { new }
        })
        .await;
    assert_eq!(healed.op, OperationKind::SelfHeal, "{healed:#?}");
    assert_eq!(healed.result, OperationResult::Succeeded, "{healed:#?}");
}

#[tokio::test]
async fn paused_dev_reports_a_commit_as_drift_and_resume_applies_it() {
    let deck = Deck::start(&[("dev", Policy::AUTO)]).await;
    let _ctl = deck.spawn_controller();
    let first = deck.head();
    deck.wait_for("the first sync to finish", CONVERGE, || {
        let done = finished(&deck.history("dev"), &first);
        async move { done.then_some(()) }
    })
    .await;

    let mut soft = Soft::default();
    let run = deck
        .run(&["pause", "dev", "--reason", "release freeze"])
        .await
        .ok("pause dev");
    assert!(run.stdout.contains("paused dev"), "{run:#?}");
    let held = deck.held_key("dev", "paused");
    assert_eq!(
        held["reason"], "release freeze",
        "ConfigMap paused: {held:#}"
    );
    let status = deck.status().await;
    let paused = &env_status(&status, "dev")["paused"];
    soft.check(paused["reason"] == "release freeze", || {
        format!("status -o json does not show the pause: {status:#}")
    });

    let sha = deck.commit_tag("dev", API_IMAGE, "1.5.1");
    // Detect-only: the new commit shows as drift...
    deck.wait_for("status to report the commit as drift", CONVERGE, || async {
        let status = deck.status().await;
        let dev = env_status(&status, "dev");
        (same_rev(&dev["revision"], &sha)
            && dev["sync"] == "OutOfSync"
            && dev["drift"]["modified"].as_u64().unwrap_or(0) >= 1)
            .then_some(())
    })
    .await;
    // ...and is not applied, over several poll intervals of the running controller.
    let applied = deck
        .happens_within(Duration::from_secs(5), || {
            deck.live_image("dev", "log-api").as_deref() == Some(&format!("{API_IMAGE}:1.5.1"))
        })
        .await;
    assert!(
        !applied,
        "a paused dev applied a commit\n{}",
        deck.log_tails()
    );

    let run = deck.run(&["resume", "dev"]).await.ok("resume dev");
    assert!(run.stdout.contains("resumed dev"), "{run:#?}");
    deck.wait_api_tag("dev", "1.5.1", CONVERGE).await;
    assert!(deck.held_key("dev", "paused").is_null());
    let status = deck.status().await;
    assert!(env_status(&status, "dev")["paused"].is_null(), "{status:#}");
    soft.finish();
}

/// A pause written by another process while this controller is in the middle of an operation
/// (here: a sync slowed by 100 ms of latency per request) must still stop the next auto-sync:
/// the controller's own write of its history must not lose or ignore the pause.
#[tokio::test]
async fn a_pause_written_during_an_operation_stops_the_next_auto_sync() {
    let deck = Deck::start(&[("dev", Policy::AUTO)]).await;
    deck.set_faults(
        "dev",
        FaultConfig {
            latency_ms: 100,
            ..FaultConfig::default()
        },
    );
    let _ctl = deck.spawn_controller();
    let first = deck.head();
    deck.wait_for("the first sync to be running", CONVERGE, || {
        let running = entries_for(&deck.history("dev"), &first)
            .iter()
            .any(|e| e.result == OperationResult::Running);
        async move { running.then_some(()) }
    })
    .await;
    deck.run(&["pause", "dev", "--reason", "mid-operation"])
        .await
        .ok("pause dev");
    deck.commit_tag("dev", API_IMAGE, "1.5.2");
    deck.wait_for("the first sync to finish", CONVERGE, || {
        let done = finished(&deck.history("dev"), &first);
        async move { done.then_some(()) }
    })
    .await;
    deck.set_faults("dev", FaultConfig::default());

    let applied = deck
        .happens_within(Duration::from_secs(5), || {
            deck.live_image("dev", "log-api").as_deref() == Some(&format!("{API_IMAGE}:1.5.2"))
        })
        .await;
    assert!(
        !applied,
        "dev applied a commit after being paused\n{}",
        deck.log_tails()
    );
    let paused = deck.held_key("dev", "paused");
    assert_eq!(
        paused["reason"], "mid-operation",
        "the pause was lost: {paused:#}"
    );
}
