//! Two `driftdeck controller`s on one config. Exactly one holds
//! dev's Lease and it does not flap; after `kill -9` of the holder the other takes over (the
//! Lease lasts 15 s and is renewed every 5 s, so takeover is due within 20 s); no commit is
//! applied twice — history has one entry per commit.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use driftdeck::model::OperationResult;

use crate::controller_support::{API_IMAGE, Deck, Policy, Soft, entries_for, env_status, rev_is};

const CONVERGE: Duration = Duration::from_secs(60);

/// The Lease's promise (15 s) plus one renewal period (5 s), plus slack for a loaded machine.
const TAKEOVER: Duration = Duration::from_secs(25);

async fn wait_succeeded(deck: &Deck, sha: &str) {
    deck.wait_for(
        &format!("history to record {sha} as applied"),
        CONVERGE,
        || {
            let h = deck.history("dev");
            async move {
                h.iter()
                    .any(|e| rev_is(&e.revision, sha) && e.result == OperationResult::Succeeded)
                    .then_some(())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn two_controllers_share_one_lease_and_the_survivor_takes_over_after_kill_9() {
    let deck = Deck::start(&[("dev", Policy::AUTO)]).await;
    let first = deck.head();
    let mut a = deck.spawn_controller();
    let mut b = deck.spawn_controller();
    wait_succeeded(&deck, &first).await;

    let holder = deck
        .wait_for(
            "dev's Lease to name one of the controllers",
            CONVERGE,
            || {
                let h = deck.lease_holder("dev");
                let ours = h.filter(|h| a.is(h) || b.is(h));
                async move { ours }
            },
        )
        .await;
    let flapped = deck
        .happens_within(Duration::from_secs(3), || {
            deck.lease_holder("dev").as_deref() != Some(holder.as_str())
        })
        .await;
    assert!(
        !flapped,
        "dev's Lease changed hands with both controllers alive"
    );
    for env in ["staging", "production"] {
        if let Some(h) = deck.lease_holder(env) {
            assert!(
                a.is(&h) || b.is(&h),
                "{env}'s Lease held by a stranger: {h}"
            );
        }
    }
    let mut soft = Soft::default();
    let status = deck.status().await;
    soft.check(
        env_status(&status, "dev")["lease_holder"] == holder.as_str(),
        || format!("status -o json does not name the Lease holder {holder}: {status:#}"),
    );

    let c1 = deck.commit_tag("dev", API_IMAGE, "1.5.0");
    deck.wait_api_tag("dev", "1.5.0", CONVERGE).await;
    wait_succeeded(&deck, &c1).await;

    let (dead, survivor) = if a.is(&holder) {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    dead.kill9().await;
    let killed = Instant::now();
    let survivor_pid = survivor.pid;
    deck.wait_for("the survivor to take dev's Lease", TAKEOVER, || {
        let h = deck.lease_holder("dev");
        let taken = h.is_some_and(|h| h.ends_with(&format!("/{survivor_pid}")));
        async move { taken.then_some(()) }
    })
    .await;
    eprintln!("takeover after kill -9: {:?}", killed.elapsed());

    let c2 = deck.commit_tag("dev", API_IMAGE, "1.5.1");
    deck.wait_api_tag("dev", "1.5.1", CONVERGE).await;
    wait_succeeded(&deck, &c2).await;
    assert!(survivor.running(), "{}", survivor.log());

    let history = deck.history("dev");
    for sha in [&first, &c1, &c2] {
        let applied = entries_for(&history, sha);
        assert_eq!(
            applied.len(),
            1,
            "{sha} applied more than once: {history:#?}"
        );
        assert_eq!(
            applied[0].result,
            OperationResult::Succeeded,
            "{history:#?}"
        );
    }
    let ids: HashSet<&str> = history.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), history.len(), "duplicate ids: {history:#?}");
    soft.finish();
}
