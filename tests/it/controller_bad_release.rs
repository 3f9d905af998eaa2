//! A `crashloop` release fails validation — with auto_rollback the
//! previous revision is live again under a hold and history records both operations with the
//! reason; without it the sync fails with exit 1. `rollback production` brings back last_good
//! with a hold another process sees and auto-sync does not undo; `rollback --revert` commits the
//! revert, after which the hold clears.

use std::time::Duration;

use driftdeck::model::{FailureReason, OperationKind, OperationResult};

use crate::controller_support::{
    API_IMAGE, Deck, Policy, Soft, entries_for, env_status, rev_is, same_rev,
};

const CONVERGE: Duration = Duration::from_secs(60);

fn image(tag: &str) -> String {
    format!("{API_IMAGE}:{tag}")
}

#[tokio::test]
async fn crashloop_release_with_auto_rollback_restores_the_previous_revision_under_a_hold() {
    let auto_rollback = Policy {
        auto_rollback: true,
        protected: true,
        ..Policy::OFF
    };
    let deck = Deck::start(&[("production", auto_rollback)]).await;
    let good = deck.without_production_hpa();
    deck.sync_ok("production").await;
    assert_eq!(
        deck.live_image("production", "log-api"),
        Some(image("1.4.1"))
    );

    let bad = deck.commit_tag("production", API_IMAGE, "1.4.3-crashloop");
    let run = deck
        .run(&["sync", "production", "--confirm", "production"])
        .await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.says("driftdeck: sync production failed"), "{run:#?}");
    assert!(run.stderr.contains("CrashLoopBackOff"), "{run:#?}");
    assert!(
        run.stderr.to_lowercase().contains("rolled back"),
        "the CLI must say it rolled back: {run:#?}"
    );

    // The previous revision is live again...
    assert_eq!(
        deck.live_image("production", "log-api"),
        Some(image("1.4.1"))
    );
    // ...under a hold, in the cluster and as another process's `status` shows it.
    let mut soft = Soft::default();
    check_hold(&deck, &mut soft, &good, &bad).await;

    // History: the failed sync with its reason, then the rollback (newest first).
    let history = deck.history("production");
    let failed = entries_for(&history, &bad)
        .into_iter()
        .find(|e| e.op == OperationKind::Sync)
        .unwrap_or_else(|| panic!("no sync of {bad} in {history:#?}"));
    assert_eq!(failed.result, OperationResult::Failed, "{failed:#?}");
    assert!(
        matches!(&failed.failure, Some(FailureReason::Degraded(m)) if m.contains("CrashLoopBackOff")),
        "{failed:#?}"
    );
    let back = history
        .iter()
        .position(|e| e.op == OperationKind::AutoRollback && rev_is(&e.revision, &good))
        .unwrap_or_else(|| panic!("no auto-rollback to {good} in {history:#?}"));
    assert_eq!(history[back].result, OperationResult::Succeeded);
    let failed_at = history
        .iter()
        .position(|e| std::ptr::eq(e, failed))
        .unwrap();
    assert!(
        back < failed_at,
        "rollback must follow the failed sync: {history:#?}"
    );

    // `history -o json` shows the same operations.
    let json = deck.history_json("production").await;
    let ops: Vec<&str> = json["operations"]
        .as_array()
        .map(|ops| ops.iter().filter_map(|o| o["op"].as_str()).collect())
        .unwrap_or_default();
    soft.check(
        ops.contains(&"AutoRollback") && ops.contains(&"Sync"),
        || format!("history -o json lacks the operations: {json:#}"),
    );
    soft.finish();
}

/// Production is held at `good` after `bad`: in its ConfigMap (asserted), and as another
/// process's `status -o json` shows it (a soft check).
async fn check_hold(deck: &Deck, soft: &mut Soft, good: &str, bad: &str) {
    let held = deck.held_key("production", "hold");
    assert!(
        same_rev(&held["revision"], good) && same_rev(&held["bad_revision"], bad),
        "ConfigMap hold is not {good} (bad {bad}): {held:#}"
    );
    check_status_hold(deck, soft, good, bad).await;
}

/// `status -o json` (a second process) shows the hold from `good` back from `bad`.
async fn check_status_hold(deck: &Deck, soft: &mut Soft, good: &str, bad: &str) {
    let status = deck.status().await;
    let hold = &env_status(&status, "production")["hold"];
    soft.check(
        same_rev(&hold["revision"], good) && same_rev(&hold["bad_revision"], bad),
        || format!("status -o json does not show the hold {good} (bad {bad}): {status:#}"),
    );
}

#[tokio::test]
async fn crashloop_release_without_auto_rollback_fails_with_exit_1() {
    let deck = Deck::start(&[]).await;
    deck.sync_ok("staging").await;
    let bad = deck.commit_tag("staging", API_IMAGE, "1.4.3-crashloop");

    let run = deck.run(&["sync", "staging"]).await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.says("driftdeck: sync staging failed"), "{run:#?}");
    assert!(run.stderr.contains("CrashLoopBackOff"), "{run:#?}");
    // No rollback, no hold: the failed release stays live for the operator to see.
    assert_eq!(
        deck.live_image("staging", "log-api"),
        Some(image("1.4.3-crashloop"))
    );
    let status = deck.status().await;
    assert!(
        env_status(&status, "staging")["hold"].is_null(),
        "{status:#}"
    );
    let history = deck.history("staging");
    let failed = entries_for(&history, &bad);
    assert_eq!(failed.len(), 1, "{history:#?}");
    assert_eq!(failed[0].result, OperationResult::Failed);
    assert!(
        matches!(failed[0].failure, Some(FailureReason::Degraded(_))),
        "{:#?}",
        failed[0]
    );
}

#[tokio::test]
async fn rollback_holds_production_and_auto_sync_does_not_undo_it() {
    let production = Policy {
        auto_sync: true,
        auto_rollback: true,
        protected: true,
        ..Policy::OFF
    };
    let deck = Deck::start(&[("production", production)]).await;
    let good = deck.without_production_hpa();
    deck.sync_ok("production").await;
    let bad = deck.commit_tag("production", API_IMAGE, "1.4.3");
    deck.sync_ok("production").await;
    assert_eq!(
        deck.live_image("production", "log-api"),
        Some(image("1.4.3"))
    );

    // A protected env needs its name typed: `--confirm production`.
    deck.run(&["rollback", "production", "--confirm", "production"])
        .await
        .ok("rollback production");
    assert_eq!(
        deck.live_image("production", "log-api"),
        Some(image("1.4.1"))
    );
    let mut soft = Soft::default();
    check_hold(&deck, &mut soft, &good, &bad).await;
    let history = deck.history("production");
    assert!(
        history.iter().any(|e| e.op == OperationKind::Rollback
            && rev_is(&e.revision, &good)
            && e.result == OperationResult::Succeeded),
        "{history:#?}"
    );

    // A controller with auto-sync on takes production's Lease and still does not redeploy.
    let ctl = deck.spawn_controller();
    let ctl = &ctl;
    deck.wait_for(
        "the controller to hold production's Lease",
        CONVERGE,
        || {
            let holder = deck.lease_holder("production");
            async move { holder.filter(|h| ctl.is(h)).map(|_| ()) }
        },
    )
    .await;
    let redeployed = deck
        .happens_within(Duration::from_secs(5), || {
            deck.live_image("production", "log-api") != Some(image("1.4.1"))
        })
        .await;
    assert!(
        !redeployed,
        "auto-sync undid the rollback\n{}",
        deck.log_tails()
    );
    assert!(
        !deck.held_key("production", "hold").is_null(),
        "the hold went away"
    );
    check_status_hold(&deck, &mut soft, &good, &bad).await;
    soft.finish();
}

/// Sync A then B; `rollback production --revert` (with a controller running production's
/// automation): the rollback is live, one `Revert …` commit on top of B gives production A's
/// files back, and once Git renders the held state again the hold ends.
#[tokio::test]
async fn rollback_revert_commits_the_revert_and_then_the_hold_clears() {
    let production = Policy {
        auto_sync: true,
        auto_rollback: true,
        protected: true,
        ..Policy::OFF
    };
    let deck = Deck::start(&[("production", production)]).await;
    let good = deck.without_production_hpa();
    deck.sync_ok("production").await;
    let bad = deck.commit_tag("production", API_IMAGE, "1.4.3");
    deck.sync_ok("production").await;
    let ctl = deck.spawn_controller();
    let ctl = &ctl;
    deck.wait_for(
        "the controller to hold production's Lease",
        CONVERGE,
        || {
            let holder = deck.lease_holder("production");
            async move { holder.filter(|h| ctl.is(h)).map(|_| ()) }
        },
    )
    .await;

    let run = deck
        .run(&[
            "rollback",
            "production",
            "--revert",
            "--confirm",
            "production",
        ])
        .await
        .ok("rollback --revert");
    assert_eq!(
        deck.live_image("production", "log-api"),
        Some(image("1.4.1"))
    );
    let head = deck.head();
    assert_ne!(head, bad, "no revert commit");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with(&format!("committed {} Revert", &head[..7]))),
        "{run:#?}"
    );
    let (parents, message) = deck.commit_info(&head);
    assert_eq!(parents, vec![bad.clone()]);
    assert!(message.starts_with("Revert"), "{message}");
    let path = "overlays/production/kustomization.yaml";
    assert_eq!(deck.file_at(&head, path), deck.file_at(&good, path));
    assert_eq!(deck.changed_files(&bad, &head), vec![path.to_string()]);

    // Git renders the held state again: the hold ends and production is Synced at the revert.
    deck.wait_for("the hold to clear", CONVERGE, || async {
        let status = deck.status().await;
        let prod = env_status(&status, "production");
        (prod["hold"].is_null() && prod["sync"] == "Synced").then_some(())
    })
    .await;
    assert_eq!(
        deck.live_image("production", "log-api"),
        Some(image("1.4.1"))
    );
}
