//! `driftdeck dora production -o json` on a generated history with known answers: a test helper
//! writes commits with chosen times into the demo repo (a dev change promoted to staging, then
//! to production, three times over) and production's operation history into its ConfigMap on
//! the sandbox (a first sync, a good deployment, a crashloop release that failed validation and
//! was auto-rolled back, the fix, plus a self-heal, a re-sync and a render failure that are not
//! deployments). The five metrics must come back exactly.
//!
//! Known answers (t = 20 days ago; the window is the default 30 days):
//! - deployments: sync R0 (a baseline promotion, t−1h), sync C (t+4h), failed auto-sync F (t+13h), auto-rollback to
//!   C (t+13h05), sync I (t+23h) → 5, frequency 5/30 per day;
//! - lead times through promotions: A→C live 4h10m; D→I 13h10m; G→I 3h10m → median 15000 s,
//!   mean 24600 s, 3 samples (R0 has no predecessor);
//! - change fail rate 1/5 (F); recovery F → rollback 5 min = 300 s, 1 sample;
//! - rework rate 1/5 (the rollback).

use std::path::Path;

use driftdeck::cluster::Cluster;
use driftdeck::config::EnvConfig;
use driftdeck::controller::engine::HeldState;
use driftdeck::controller::held_io;
use driftdeck::model::{FailureReason, HistoryEntry, OperationKind, OperationResult};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::controller_support::Deck;

/// Commits `file` (repo-relative) with `text` at unix time `when`; returns the sha.
fn commit_at(repo: &git2::Repository, file: &str, text: &str, msg: &str, when: i64) -> String {
    let parent = repo.head().unwrap().peel_to_commit().unwrap();
    let mut index = repo.index().unwrap();
    index.read_tree(&parent.tree().unwrap()).unwrap();
    let workdir = repo.workdir().unwrap();
    std::fs::write(workdir.join(file), text).unwrap();
    index.add_path(Path::new(file)).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::new("dev", "dev@example.com", &git2::Time::new(when, 0)).unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, msg, &tree, &[&parent])
        .unwrap()
        .to_string()
}

fn op(
    kind: OperationKind,
    revision: &str,
    started: Timestamp,
    minutes: i64,
    result: OperationResult,
    failure: Option<FailureReason>,
) -> HistoryEntry {
    HistoryEntry {
        id: format!("gen-{}", started.as_millisecond()),
        op: kind,
        revision: revision.to_owned(),
        render_digest: String::new(),
        operator: "gen@host/1".into(),
        started,
        finished: Some(started + SignedDuration::from_mins(minutes)),
        result,
        resources_changed: 1,
        failure,
    }
}

fn production(deck: &Deck) -> EnvConfig {
    let config = driftdeck::config::load(&deck.config()).unwrap();
    config.env("production").unwrap().clone()
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-6)
}

#[tokio::test]
async fn dora_json_returns_the_known_values_of_all_five_metrics() {
    let deck = Deck::start(&[]).await;
    let repo = git2::Repository::open(deck.repo()).unwrap();
    // Whole seconds: Git keeps commit times in seconds.
    let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    let t = now - SignedDuration::from_hours(20 * 24);
    let at = |h: i64, m: i64| t + SignedDuration::from_mins(h * 60 + m);
    let secs = |h: i64| at(h, 0).as_second();
    let note = |env: &str| format!("overlays/{env}/CHANGES");

    // Baseline: the demo's own history (dated today) ends in promotions that R0 carries, so
    // the generated changes are traced from these two, not into the demo's commits.
    let _z1 = commit_at(
        &repo,
        &note("staging"),
        "1.4.2\n",
        "promote(dev→staging): api 1.4.1 → 1.4.2",
        secs(-3),
    );
    let r0 = commit_at(
        &repo,
        &note("production"),
        "1.4.2\n",
        "promote(staging→production): api 1.4.1 → 1.4.2",
        secs(-2),
    );
    let _a = commit_at(&repo, &note("dev"), "1.5.0\n", "api 1.5.0", secs(0));
    let _b = commit_at(
        &repo,
        &note("staging"),
        "1.5.0\n",
        "promote(dev→staging): api 1.4.2 → 1.5.0",
        secs(1),
    );
    let c = commit_at(
        &repo,
        &note("production"),
        "1.5.0\n",
        "promote(staging→production): api 1.4.1 → 1.5.0",
        secs(2),
    );
    let _d = commit_at(&repo, &note("dev"), "1.6.0\n", "api 1.6.0", secs(10));
    let _e = commit_at(
        &repo,
        &note("staging"),
        "1.6.0\n",
        "promote(dev→staging): api 1.5.0 → 1.6.0",
        secs(11),
    );
    let f = commit_at(
        &repo,
        &note("production"),
        "1.6.0\n",
        "promote(staging→production): api 1.5.0 → 1.6.0",
        secs(12),
    );
    let _g = commit_at(&repo, &note("dev"), "1.6.1\n", "api 1.6.1 (fix)", secs(20));
    let _h = commit_at(
        &repo,
        &note("staging"),
        "1.6.1\n",
        "promote(dev→staging): api 1.6.0 → 1.6.1",
        secs(21),
    );
    let i = commit_at(
        &repo,
        &note("production"),
        "1.6.1\n",
        "promote(staging→production): api 1.6.0 → 1.6.1",
        secs(22),
    );

    use OperationKind::*;
    use OperationResult::*;
    let mut history = vec![
        op(Sync, &r0, at(-1, 0), 1, Succeeded, None),
        op(Sync, &c, at(4, 0), 10, Succeeded, None),
        op(
            AutoSync,
            &f,
            at(13, 0),
            5,
            Failed,
            Some(FailureReason::Degraded("CrashLoopBackOff".into())),
        ),
        op(AutoRollback, &c, at(13, 5), 5, Succeeded, None),
        op(Sync, &i, at(23, 0), 10, Succeeded, None),
        op(SelfHeal, &i, at(30, 0), 1, Succeeded, None),
        op(Sync, &i, at(31, 0), 1, Succeeded, None),
        op(
            Sync,
            &i,
            at(32, 0),
            1,
            Failed,
            Some(FailureReason::Render("bad patch".into())),
        ),
    ];
    history.reverse(); // newest first, as the ConfigMap keeps it
    let env = production(&deck);
    let cluster = Cluster::from_client(deck.sb.client("production").await, "production");
    let state = HeldState {
        history,
        ..HeldState::default()
    };
    held_io::store_held(&cluster, &env, &state, None)
        .await
        .unwrap();

    let run = deck
        .run(&["dora", "production", "-o", "json"])
        .await
        .ok("dora");
    let out: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("dora -o json is not JSON ({e}): {run:#?}"));
    let prod = &out["environments"][0];
    assert_eq!(prod["name"], "production", "{out:#}");
    assert_eq!(prod["history_entries"], 8, "{out:#}");
    assert_eq!(prod["history_covers_window"], true, "{out:#}");
    let m = &prod["metrics"];

    let freq = &m["deployment_frequency"];
    assert_eq!(freq["deployments"], 5, "{out:#}");
    assert!(close(&freq["per_day"], 5.0 / 30.0), "{out:#}");
    assert!(
        freq["how"].as_str().is_some_and(|h| !h.is_empty()),
        "{out:#}"
    );

    let lead = &m["change_lead_time"];
    assert_eq!(lead["samples"], 3, "{out:#}");
    assert!(close(&lead["median_seconds"], 15000.0), "{out:#}");
    assert!(close(&lead["mean_seconds"], 24600.0), "{out:#}");

    let fail = &m["change_fail_rate"];
    assert_eq!(
        (fail["count"].clone(), fail["deployments"].clone()),
        (Value::from(1), Value::from(5)),
        "{out:#}"
    );
    assert!(close(&fail["rate"], 0.2), "{out:#}");

    let recovery = &m["failed_deployment_recovery_time"];
    assert_eq!(recovery["samples"], 1, "{out:#}");
    assert_eq!(recovery["unrecovered"], 0, "{out:#}");
    assert!(close(&recovery["median_seconds"], 300.0), "{out:#}");

    let rework = &m["deployment_rework_rate"];
    assert_eq!(rework["count"], 1, "{out:#}");
    assert!(close(&rework["rate"], 0.2), "{out:#}");

    // Pooled over the one env asked for: the same figures.
    assert_eq!(out["overall"], prod["metrics"], "{out:#}");
}
