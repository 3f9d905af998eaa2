//! The console's rollout feed: a driver over every env of the demo config (as the console and
//! watch mode run it) publishes rollout `prod-regions`'s cluster-held record in
//! `Snapshot.rollouts` — written here with the real `RolloutStore` into the sandbox's
//! prod-us-east cluster — and a record it cannot read shows as the row's error. Every wait is
//! `watch::Receiver::wait_for` with a deadline.

use std::collections::BTreeMap;
use std::time::Duration;

use driftdeck::config::Config;
use driftdeck::controller::DriverOptions;
use driftdeck::controller::audit::AuditLog;
use driftdeck::controller::rollout::{Halt, Phase, RolloutState, RolloutStore, WaveState};
use driftdeck::model::{RolloutPhase, RolloutRow, Snapshot};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

use crate::drift_support::Demo;

/// Several feed periods (5 s) plus the sandbox's first reads of six clusters.
const WAIT: Duration = Duration::from_secs(60);

async fn row_where(
    snapshots: &mut watch::Receiver<Snapshot>,
    what: &str,
    cond: impl Fn(&RolloutRow) -> bool,
) -> RolloutRow {
    let found = tokio::time::timeout(
        WAIT,
        snapshots.wait_for(|s| {
            s.rollouts
                .iter()
                .any(|r| r.name == "prod-regions" && cond(r))
        }),
    )
    .await
    .map(|r| r.map(|s| s.clone()));
    let snap = match found {
        Ok(snap) => snap.expect("driver gone"),
        Err(_) => panic!(
            "no snapshot with {what} within {WAIT:?}; last: {:?}",
            snapshots.borrow().rollouts
        ),
    };
    snap.rollouts
        .into_iter()
        .find(|r| r.name == "prod-regions")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_publishes_the_rollout_record_and_its_read_errors() {
    let demo = Demo::start().await;
    let config: Config = driftdeck::config::load(&demo.dir.join("driftdeck.yaml")).unwrap();
    let rollout = config.rollout("prod-regions").unwrap().clone();
    let audit = tempfile::tempdir().unwrap();
    let opts = DriverOptions {
        read_only: true,
        automation: false,
        operator: format!("tester@it/{}", std::process::id()),
        audit: AuditLog::at(audit.path().join("audit.jsonl")),
        envs: None,
    };
    let spawned = driftdeck::controller::driver::spawn(config.clone(), opts);
    let mut snapshots = spawned.snapshots;

    // No record yet: the configured waves, not started, no error.
    let row = row_where(&mut snapshots, "the row before any record", |r| {
        r.phase.is_none() && r.error.is_none()
    })
    .await;
    assert_eq!(row.waves.len(), 3);
    assert!(row.waves.iter().all(|w| w.state == WaveState::Pending));

    // Wave 1 done, wave 2 soaking since 10 s ago (demo soak: 30 s).
    let mut store = RolloutStore::connect(&config, &rollout).await.unwrap();
    assert!(store.load().await.unwrap().is_none());
    let mut state = RolloutState::new(&rollout, BTreeMap::new(), "tester@it/1");
    let soak_start = Timestamp::now()
        .checked_sub(SignedDuration::from_secs(10))
        .unwrap();
    state.wave = 1;
    state.waves[0].state = WaveState::Done;
    state.waves[1].state = WaveState::Soaking;
    state.waves[1].soak_started_at = Some(soak_start);
    store.save(&mut state).await.unwrap();
    let row = row_where(&mut snapshots, "wave 2 soaking", |r| {
        r.phase == Some(RolloutPhase::Running)
    })
    .await;
    assert_eq!(row.wave, 1);
    let states: Vec<WaveState> = row.waves.iter().map(|w| w.state).collect();
    assert_eq!(
        states,
        [WaveState::Done, WaveState::Soaking, WaveState::Pending]
    );
    assert_eq!(
        row.waves[1].soak_ends_at,
        Some(
            soak_start
                .checked_add(SignedDuration::from_secs(30))
                .unwrap()
        ),
        "soak end = soak start + the config's soak"
    );
    assert_eq!(row.waves[0].soak_ends_at, None);

    // Halted at wave 2: where and why reach the row.
    state.phase = Phase::Halted;
    state.waves[1].state = WaveState::Halted;
    state.halt = Some(Halt {
        wave: 2,
        env: Some("prod-eu-west".into()),
        reason: "prod-eu-west is Degraded: CrashLoopBackOff".into(),
        by: "tester@it/1".into(),
        at: Timestamp::now(),
    });
    store.save(&mut state).await.unwrap();
    let row = row_where(&mut snapshots, "the halt", |r| {
        r.phase == Some(RolloutPhase::Halted)
    })
    .await;
    let halt = row.halt.expect("halt in the row");
    assert_eq!(halt.wave, 2);
    assert_eq!(halt.env.as_deref(), Some("prod-eu-west"));
    assert_eq!(halt.reason, "prod-eu-west is Degraded: CrashLoopBackOff");
    assert_eq!(row.error, None);

    // A record that is not JSON: the row keeps the last good read and says what is wrong.
    demo.kubectl(
        "prod-us-east",
        &[
            "-n",
            "log-platform",
            "patch",
            "configmap",
            "driftdeck-rollout-prod-regions",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"rollout":"not json"}}"#,
        ],
    )
    .await;
    let row = row_where(&mut snapshots, "the read error", |r| r.error.is_some()).await;
    let error = row.error.unwrap();
    assert!(
        error.contains("driftdeck-rollout-prod-regions") && error.contains("key rollout"),
        "error names the ConfigMap and key: {error}"
    );
    assert_eq!(row.phase, Some(RolloutPhase::Halted), "last good read kept");

    drop(spawned.commands);
    drop(spawned.notices);
    tokio::time::timeout(Duration::from_secs(20), spawned.task)
        .await
        .expect("driver did not stop")
        .unwrap();
}
