//! The emergency stop from the CLI while two controllers run every env's automation:
//! `pause --all --reason TEXT` returns only once every env's pause is in its cluster-held state,
//! with a new commit landing at that very moment (20 rounds), and no automatic operation starts
//! after the verb returned — in either controller, whichever holds the Lease (each round watches
//! dev's history for 3 s after the pause: no auto-sync or self-heal of the new commit may start
//! then). `status` (any process) then shows every env paused by whom and why, and `resume --all`
//! needs the protected env's name typed.
//!
//! What makes it hold: an operation is recorded in the env's ConfigMap (a compare-and-swap on
//! its resourceVersion) before anything is applied, so the pause and the holder's record are
//! ordered by the API server (`controller::engine::gate`).

use std::time::Duration;

use driftdeck::model::OperationKind;
use jiff::Timestamp;

use crate::controller_support::{API_IMAGE, Deck, ENVS, Policy, env_status};

const ROUNDS: usize = 20;

#[tokio::test]
async fn pause_all_records_who_and_why_on_every_env_across_controllers() {
    let deck = Deck::start(&[("dev", Policy::AUTO), ("staging", Policy::AUTO)]).await;
    let _first = deck.spawn_controller();
    let _second = deck.spawn_controller();
    deck.wait_api_tag("dev", "1.4.2", Duration::from_secs(60))
        .await;

    let run = deck.run(&["resume", "--all"]).await;
    assert_eq!(
        run.code, 2,
        "resume --all without --confirm production: {run:#?}"
    );

    for round in 0..ROUNDS {
        deck.run(&["resume", "--all", "--confirm", "production"])
            .await
            .ok("resume --all --confirm production");
        // A commit lands while the stop is being pulled.
        let tag = format!("1.6.{round}");
        deck.commit_tag("dev", API_IMAGE, &tag);
        let reason = format!("incident {round}");
        deck.run(&["pause", "--all", "--reason", &reason])
            .await
            .ok("pause --all");
        let returned = Timestamp::now();
        let started_after = || {
            deck.history("dev").into_iter().find(|e| {
                matches!(e.op, OperationKind::AutoSync | OperationKind::SelfHeal)
                    && e.started > returned
            })
        };
        let late = deck
            .happens_within(Duration::from_secs(3), || started_after().is_some())
            .await;
        assert!(
            !late,
            "round {round}: an automatic operation started after `pause --all` returned at \
             {returned}: {:#?}\n{}",
            started_after(),
            deck.log_tails()
        );

        let status = deck.status().await;
        for env in ENVS {
            let paused = &env_status(&status, env)["paused"];
            assert_eq!(
                paused["reason"],
                reason.as_str(),
                "round {round} {env}: {status:#}"
            );
            assert!(
                paused["by"].as_str().is_some_and(|b| !b.is_empty()),
                "{status:#}"
            );
        }
    }
}

/// A headless controller says in its log when it honours a pause another process set, and
/// when the pause ends: the operator can see when automation stopped after an emergency stop.
#[tokio::test]
async fn controller_logs_automation_off_and_on_for_a_pause_set_elsewhere() {
    let deck = Deck::start(&[("dev", Policy::AUTO)]).await;
    let controller = deck.spawn_controller();
    deck.run(&["pause", "--all", "--reason", "incident-77"])
        .await
        .ok("pause --all");
    let off = |env: &str, log: &str| {
        log.lines().any(|l| {
            l.contains("automation off: paused")
                && l.contains(&format!("env={env} "))
                && l.contains("reason=incident-77")
        })
    };
    deck.wait_for(
        "the controller to log every env's automation off",
        Duration::from_secs(20),
        || {
            let log = controller.log();
            std::future::ready(ENVS.iter().all(|env| off(env, &log)).then_some(()))
        },
    )
    .await;

    deck.run(&["resume", "--all", "--confirm", "production"])
        .await
        .ok("resume --all --confirm production");
    deck.wait_for(
        "the controller to log every env's pause ended",
        Duration::from_secs(20),
        || {
            let log = controller.log();
            let on = |env: &str| {
                log.lines().any(|l| {
                    l.contains("automation on: pause ended") && l.ends_with(&format!("env={env}"))
                })
            };
            std::future::ready(ENVS.iter().all(|env| on(env)).then_some(()))
        },
    )
    .await;
}
