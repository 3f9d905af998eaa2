//! With dev's cluster answering 20% of requests with 503 and cutting
//! every watch after 10 s, 50 successive commits to dev's image all reach live under auto-sync;
//! the controller does not panic and history has no duplicate entries.

use std::collections::HashSet;
use std::time::Duration;

use driftdeck::model::OperationResult;
use driftdeck::sandbox::faults::FaultConfig;

use crate::controller_support::{API_IMAGE, Deck, Policy, entries_for};

const COMMITS: usize = 50;
/// Per commit: retries back off 5 s, 10 s, … for transient errors.
const PER_COMMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_commits_reach_live_through_503s_and_dropped_watches() {
    let deck = Deck::start(&[("dev", Policy::AUTO)]).await;
    let mut ctl = deck.spawn_controller();
    // dev's first sync happens before the faults: the item is about the 50 commits after it.
    deck.wait_api_tag("dev", "1.4.2", PER_COMMIT).await;
    deck.set_faults(
        "dev",
        FaultConfig {
            error_rate: 0.2,
            error_status: 503,
            drop_watches_every_secs: Some(10),
            ..FaultConfig::default()
        },
    );

    let mut shas = Vec::new();
    for i in 0..COMMITS {
        let tag = format!("1.6.{i}");
        shas.push(deck.commit_tag("dev", API_IMAGE, &tag));
        deck.wait_api_tag("dev", &tag, PER_COMMIT).await;
        eprintln!("commit {} of {COMMITS} live", i + 1);
    }
    let last = shas.last().unwrap().clone();
    deck.wait_for("the last commit's operation to finish", PER_COMMIT, || {
        let h = deck.history("dev");
        let done = entries_for(&h, &last)
            .iter()
            .any(|e| e.result != OperationResult::Running);
        async move { done.then_some(()) }
    })
    .await;

    assert!(ctl.running(), "the controller died:\n{}", ctl.log());
    assert!(!ctl.log().contains("panicked"), "{}", ctl.log());
    let history = deck.history("dev");
    let ids: HashSet<&str> = history.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), history.len(), "duplicate ids: {history:#?}");
    for sha in &shas {
        let applied = entries_for(&history, sha)
            .into_iter()
            .filter(|e| e.result == OperationResult::Succeeded)
            .count();
        assert!(applied <= 1, "{sha} applied {applied} times: {history:#?}");
    }
    assert!(
        entries_for(&history, &last)
            .iter()
            .any(|e| e.result == OperationResult::Succeeded),
        "{history:#?}"
    );
}
