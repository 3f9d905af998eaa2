//! The controller under the sandbox's faults (20% 503s, watches cut every 7 s, 100 ms latency
//! on every request): commits made at a steady pace without waiting for each to go live are
//! each applied or superseded, in commit order, none twice, and live ends at the last commit.
//!
//! `FAULT_SOAK_COMMITS` (default 8) and `FAULT_SOAK_PACE_MS` (default 2000) scale the run;
//! `scripts/fault-soak.sh` runs it with 50 commits and prints the figures this test prints
//! (commit → live latency per commit while the faults are on). The assertions are about order
//! and once-only, never about time: a slow machine only makes the figures worse.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use driftdeck::model::{OperationKind, OperationResult};
use driftdeck::sandbox::faults::FaultConfig;

use crate::controller_support::{API_IMAGE, Deck, Policy, entries_for};

/// How long the last commit may take to reach live (a deadline, not a measured figure).
const CONVERGE_LIMIT: Duration = Duration::from_secs(300);

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The commit index of a live `API_IMAGE:1.8.<i>` tag.
fn index_of(image: Option<String>) -> Option<usize> {
    image?
        .strip_prefix(&format!("{API_IMAGE}:1.8."))?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_under_faults_apply_in_order_once_and_converge() {
    let commits = knob("FAULT_SOAK_COMMITS", 8) as usize;
    let pace = Duration::from_millis(knob("FAULT_SOAK_PACE_MS", 2000));
    let deck = Deck::start(&[("dev", Policy::AUTO)]).await;
    let mut ctl = deck.spawn_controller();
    deck.wait_api_tag("dev", "1.4.2", CONVERGE_LIMIT).await;
    deck.set_faults(
        "dev",
        FaultConfig {
            latency_ms: 100,
            error_rate: 0.2,
            error_status: 503,
            drop_watches_every_secs: Some(7),
            ..FaultConfig::default()
        },
    );

    // Commit at the pace, sampling live every 100 ms: when each commit (or a later one) was
    // first seen live.
    let mut shas = Vec::new();
    let mut committed_at = Vec::new();
    let mut live_at: HashMap<usize, Instant> = HashMap::new();
    let sample = |live_at: &mut HashMap<usize, Instant>, upto: usize| {
        if let Some(i) = index_of(deck.live_image("dev", "log-api")) {
            for j in 0..=i.min(upto) {
                live_at.entry(j).or_insert_with(Instant::now);
            }
        }
    };
    for i in 0..commits {
        shas.push(deck.commit_tag("dev", API_IMAGE, &format!("1.8.{i}")));
        committed_at.push(Instant::now());
        let next = Instant::now() + pace;
        while Instant::now() < next {
            sample(&mut live_at, i);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let last = commits - 1;
    let deadline = Instant::now() + CONVERGE_LIMIT;
    while !live_at.contains_key(&last) {
        assert!(
            Instant::now() < deadline,
            "the last commit never went live:\n{}",
            deck.log_tails()
        );
        sample(&mut live_at, last);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last_sha = shas[last].clone();
    deck.wait_for(
        "the last commit's operation to finish",
        CONVERGE_LIMIT,
        || {
            let done = entries_for(&deck.history("dev"), &last_sha)
                .iter()
                .any(|e| e.result != OperationResult::Running);
            async move { done.then_some(()) }
        },
    )
    .await;

    // Figures: commit → live (this commit or a later one) while the faults were on.
    let mut latencies: Vec<f64> = (0..commits)
        .map(|i| live_at[&i].duration_since(committed_at[i]).as_secs_f64())
        .collect();
    let last_latency = latencies[last];
    latencies.sort_by(f64::total_cmp);
    let history = deck.history("dev");
    let applied: Vec<usize> = {
        let mut ok: Vec<_> = history
            .iter()
            .filter(|e| e.result == OperationResult::Succeeded)
            .filter_map(|e| shas.iter().position(|s| *s == e.revision).map(|i| (e, i)))
            .collect();
        ok.sort_by_key(|(e, _)| e.started);
        ok.into_iter().map(|(_, i)| i).collect()
    };
    eprintln!(
        "fault soak: {commits} commits every {} ms; applied {} (in order: {applied:?}), \
         superseded {}; commit→live p50 {:.1} s, p90 {:.1} s, max {:.1} s; last commit live \
         after {last_latency:.1} s",
        pace.as_millis(),
        applied.len(),
        commits - applied.len(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 9 / 10],
        latencies[latencies.len() - 1],
    );

    assert!(ctl.running(), "the controller died:\n{}", ctl.log());
    assert!(!ctl.log().contains("panicked"), "{}", ctl.log());
    assert!(
        applied.windows(2).all(|w| w[0] < w[1]),
        "applied out of order or twice: {applied:?}\n{history:#?}"
    );
    assert_eq!(applied.last(), Some(&last), "{history:#?}");
    let heals = history
        .iter()
        .filter(|e| e.op == OperationKind::SelfHeal && shas.contains(&e.revision))
        .count();
    assert_eq!(heals, 0, "a revision just applied was healed: {history:#?}");
}
