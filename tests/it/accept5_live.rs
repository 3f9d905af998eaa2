//! Issue 5 acceptance, items 1–3: a commit to dev's image goes live under auto-sync; a
//! `kubectl scale` is healed back to Git; a paused dev reports a new commit as drift without
//! applying it, and `resume` applies it. Outcomes only: the timing figures come from
//! `scripts/commit-to-live.sh`.

use std::time::Duration;

use driftdeck::model::{OperationKind, OperationResult};

use crate::accept5_support::{API_IMAGE, Deck, Policy, env_status, rev_is, same_rev};

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
    deck.wait_for("log-api rolled out", CONVERGE, || {
        let done = deck.rolled_out("dev", "log-api");
        async move { done.then_some(()) }
    })
    .await;
    let before = deck.history("dev").len();

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
        .wait_for("a history entry for the heal", CONVERGE, || {
            let h = deck.history("dev");
            async move {
                (h.len() > before).then_some(())?;
                h.into_iter().find(|e| {
                    matches!(e.op, OperationKind::SelfHeal | OperationKind::AutoSync)
                        && e.result == OperationResult::Succeeded
                })
            }
        })
        .await;
    assert_eq!(healed.op, OperationKind::SelfHeal, "{healed:#?}");
}

#[tokio::test]
async fn paused_dev_reports_a_commit_as_drift_and_resume_applies_it() {
    let deck = Deck::start(&[("dev", Policy::AUTO)]).await;
    let _ctl = deck.spawn_controller();
    deck.wait_api_tag("dev", "1.4.2", CONVERGE).await;

    let run = deck
        .run(&["pause", "dev", "--reason", "release freeze"])
        .await
        .ok("pause dev");
    assert!(run.stdout.contains("paused dev"), "{run:#?}");
    let status = deck.status().await;
    let paused = &env_status(&status, "dev")["paused"];
    assert_eq!(paused["reason"], "release freeze", "{status:#}");

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
    let status = deck.status().await;
    assert!(env_status(&status, "dev")["paused"].is_null(), "{status:#}");
}
