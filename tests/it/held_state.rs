//! Cluster-held state against the real sandbox over HTTP: the `driftdeck-<env>` ConfigMap
//! (roundtrip, optimistic concurrency, readable keys) and Lease (races, expiry, release), and
//! what `status`, `history` and `diff` (the real binary) make of them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use driftdeck::cluster::{self, Cluster, LeaseOutcome};
use driftdeck::config::EnvConfig;
use driftdeck::controller::engine::{HeldState, Rejected};
use driftdeck::controller::held_io::{self, load_held, store_held};
use driftdeck::model::{
    FailureReason, HistoryEntry, Hold, OperationKind, OperationResult, Pause, RunningOperation,
};
use driftdeck::sandbox::SandboxOptions;
use jiff::{SignedDuration, Timestamp};

use crate::drift_support::{Demo, env_of, text};
use crate::sandbox_support::{Running, start};

const LEASE: Duration = Duration::from_secs(15);

fn env_config(name: &str, namespace: &str) -> EnvConfig {
    EnvConfig {
        name: name.into(),
        path: PathBuf::from(format!("overlays/{name}")),
        context: name.into(),
        namespace: namespace.into(),
        state_namespace: namespace.into(),
        auto_sync: false,
        self_heal: false,
        prune: false,
        protected: false,
        auto_rollback: false,
        allow_empty: false,
        promote_from: None,
        renderer: None,
        ignore_differences: Vec::new(),
        engine: driftdeck::config::EngineSpec::Driftdeck,
    }
}

async fn cluster(sb: &Running, context: &str) -> Cluster {
    Cluster::from_client(sb.client(context).await, context)
}

fn t(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).unwrap()
}

fn full_state() -> HeldState {
    HeldState {
        paused: Some(Pause {
            by: "ana@box/7".into(),
            at: t(1),
            reason: "change freeze".into(),
        }),
        hold: Some(Hold {
            revision: "1111111111111111111111111111111111111111".into(),
            bad_revision: "2222222222222222222222222222222222222222".into(),
            by: "ana@box/7".into(),
            at: t(2),
            reason: "api crashlooping".into(),
        }),
        hold_render_digest: Some("digest-good".into()),
        last_good: Some("1111111111111111111111111111111111111111".into()),
        synced_revision: Some("1111111111111111111111111111111111111111".into()),
        rejected: vec![Rejected {
            revision: "2222222222222222222222222222222222222222".into(),
            render_digest: Some("digest-bad".into()),
        }],
        history: vec![
            HistoryEntry {
                id: "ana-3".into(),
                op: OperationKind::Rollback,
                revision: "1111111111111111111111111111111111111111".into(),
                render_digest: "digest-good".into(),
                operator: "ana@box/7".into(),
                started: t(3),
                finished: Some(t(4)),
                result: OperationResult::Succeeded,
                resources_changed: 2,
                failure: None,
            },
            HistoryEntry {
                id: "ana-1".into(),
                op: OperationKind::Sync,
                revision: "2222222222222222222222222222222222222222".into(),
                render_digest: "digest-bad".into(),
                operator: "ana@box/7".into(),
                started: t(1),
                finished: Some(t(2)),
                result: OperationResult::Failed,
                resources_changed: 5,
                failure: Some(FailureReason::Degraded("api: CrashLoopBackOff".into())),
            },
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_held_state_roundtrips_and_creates_its_namespace() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let c = cluster(&sb, "dev").await;
    // A namespace nothing created yet: the first write must create it.
    let env = env_config("dev", "state-roundtrip");
    let empty = load_held(&c, &env).await.unwrap();
    assert_eq!(empty.state, HeldState::default());
    assert_eq!(empty.resource_version, None);

    let state = full_state();
    let rv = store_held(&c, &env, &state, None).await.unwrap();
    let loaded = load_held(&c, &env).await.unwrap();
    assert_eq!(loaded.state, state);
    assert_eq!(loaded.resource_version.as_deref(), Some(rv.as_str()));

    // The object: state labels, no env annotation (never part of an env's managed set).
    let cm = c
        .get("v1", "ConfigMap", "state-roundtrip", "driftdeck-dev")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cm["metadata"]["labels"]["driftdeck.io/state"], "true");
    assert_eq!(
        cm["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "driftdeck"
    );
    assert!(
        cm["metadata"]["annotations"]["driftdeck.io/env"].is_null(),
        "{cm}"
    );
    assert!(!driftdeck::diff::is_managed(&cm, "dev"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_write_gets_409_and_a_reread_can_write() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let c = cluster(&sb, "dev").await;
    let env = env_config("dev", "default");
    let first = HeldState {
        last_good: Some("a".into()),
        ..HeldState::default()
    };
    let rv1 = store_held(&c, &env, &first, None).await.unwrap();
    let second = HeldState {
        last_good: Some("b".into()),
        ..HeldState::default()
    };
    let rv2 = store_held(&c, &env, &second, Some(&rv1)).await.unwrap();
    assert_ne!(rv1, rv2);

    // Another console still at rv1 loses.
    let stale = HeldState {
        last_good: Some("stale".into()),
        ..HeldState::default()
    };
    let err = store_held(&c, &env, &stale, Some(&rv1)).await.unwrap_err();
    assert_eq!(err.status_code(), Some(409), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("context dev") && message.contains("default/driftdeck-dev"),
        "{message}"
    );
    // A create racing an existing ConfigMap loses the same way.
    let err = store_held(&c, &env, &stale, None).await.unwrap_err();
    assert_eq!(err.status_code(), Some(409), "{err}");

    let fresh = load_held(&c, &env).await.unwrap();
    assert_eq!(fresh.state.last_good.as_deref(), Some("b"));
    assert_eq!(fresh.resource_version.as_deref(), Some(rv2.as_str()));
    store_held(&c, &env, &stale, fresh.resource_version.as_deref())
        .await
        .unwrap();
    assert_eq!(
        load_held(&c, &env)
            .await
            .unwrap()
            .state
            .last_good
            .as_deref(),
        Some("stale")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbled_key_is_an_error_naming_configmap_and_key() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let c = cluster(&sb, "dev").await;
    let env = env_config("dev", "default");
    let data = BTreeMap::from([("hold".to_string(), "{oops".to_string())]);
    c.write_state("default", "driftdeck-dev", &data, None)
        .await
        .unwrap();
    let err = load_held(&c, &env).await.unwrap_err().to_string();
    assert!(
        err.contains("ConfigMap default/driftdeck-dev") && err.contains("\"hold\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_holders_racing_get_exactly_one_lease() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let a = cluster(&sb, "dev").await;
    let b = cluster(&sb, "dev").await;
    let now = Timestamp::now();
    for round in 0..10 {
        let name = format!("driftdeck-race{round}");
        // Odd rounds race on an existing, expired lease (replace); even ones on creation.
        if round % 2 == 1 {
            let old = now - SignedDuration::from_secs(60);
            a.acquire_lease("default", &name, "old@host/1", LEASE, None, old)
                .await
                .unwrap();
        }
        let (ra, rb) = tokio::join!(
            a.acquire_lease("default", &name, "a@host/1", LEASE, None, now),
            b.acquire_lease("default", &name, "b@host/2", LEASE, None, now),
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let winner = match (&ra, &rb) {
            (LeaseOutcome::Held(w), LeaseOutcome::HeldBy(l))
            | (LeaseOutcome::HeldBy(l), LeaseOutcome::Held(w)) => {
                assert_eq!(w.holder, l.holder, "the loser must name the winner");
                w.holder.clone().unwrap()
            }
            other => panic!("round {round}: expected exactly one Held: {other:?}"),
        };
        let stored = a.read_lease("default", &name).await.unwrap().unwrap();
        assert_eq!(stored.live_holder(now), Some(winner.as_str()));
        assert_eq!(stored.duration, LEASE);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_lease_goes_to_the_other_holder() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let c = cluster(&sb, "dev").await;
    // A namespace that does not exist yet: the Lease's create makes it.
    let ns = "lease-expiry";
    let t0 = t(0);
    let got = c
        .acquire_lease(ns, "driftdeck-dev", "a@h/1", LEASE, None, t0)
        .await
        .unwrap();
    assert!(matches!(got, LeaseOutcome::Held(_)), "{got:?}");
    let within = t0 + SignedDuration::from_secs(10);
    match c
        .acquire_lease(ns, "driftdeck-dev", "b@h/2", LEASE, None, within)
        .await
        .unwrap()
    {
        LeaseOutcome::HeldBy(r) => assert_eq!(r.holder.as_deref(), Some("a@h/1")),
        other => panic!("b must not take an unexpired lease: {other:?}"),
    }
    // a renews at +10 s: still a's at +20 s.
    c.acquire_lease(ns, "driftdeck-dev", "a@h/1", LEASE, None, within)
        .await
        .unwrap();
    let later = t0 + SignedDuration::from_secs(20);
    assert!(matches!(
        c.acquire_lease(ns, "driftdeck-dev", "b@h/2", LEASE, None, later)
            .await
            .unwrap(),
        LeaseOutcome::HeldBy(_)
    ));
    // Unrenewed past +25 s: b takes over, and a is told so.
    let expired = t0 + SignedDuration::from_secs(26);
    match c
        .acquire_lease(ns, "driftdeck-dev", "b@h/2", LEASE, None, expired)
        .await
        .unwrap()
    {
        LeaseOutcome::Held(r) => {
            assert_eq!(r.holder.as_deref(), Some("b@h/2"));
            assert_eq!(r.acquired, Some(expired));
        }
        other => panic!("b must take an expired lease: {other:?}"),
    }
    match c
        .acquire_lease(ns, "driftdeck-dev", "a@h/1", LEASE, None, expired)
        .await
        .unwrap()
    {
        LeaseOutcome::HeldBy(r) => assert_eq!(r.holder.as_deref(), Some("b@h/2")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_lease_goes_to_the_other_at_once_and_renewal_publishes_the_operation() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let c = cluster(&sb, "dev").await;
    let now = t(0);
    let op = r#"{"op":"Sync","revision":"abc","by":"a@h/1","started":"2026-11-22T00:00:00Z","phase":"applying"}"#;
    let got = c
        .acquire_lease("default", "driftdeck-dev", "a@h/1", LEASE, Some(op), now)
        .await
        .unwrap();
    let LeaseOutcome::Held(first) = got else {
        panic!("{got:?}")
    };
    assert_eq!(first.operation.as_deref(), Some(op));
    // Renewal keeps the acquire time, moves the renew time, clears the finished operation.
    let renew_at = now + SignedDuration::from_secs(5);
    let LeaseOutcome::Held(renewed) = c
        .acquire_lease("default", "driftdeck-dev", "a@h/1", LEASE, None, renew_at)
        .await
        .unwrap()
    else {
        panic!("renewal failed")
    };
    assert_eq!(renewed.acquired, first.acquired);
    assert_eq!(renewed.renewed, Some(renew_at));
    assert_eq!(renewed.operation, None);

    // Someone else's release is a no-op.
    c.release_lease("default", "driftdeck-dev", "b@h/2")
        .await
        .unwrap();
    assert!(matches!(
        c.acquire_lease("default", "driftdeck-dev", "b@h/2", LEASE, None, renew_at)
            .await
            .unwrap(),
        LeaseOutcome::HeldBy(_)
    ));
    c.release_lease("default", "driftdeck-dev", "a@h/1")
        .await
        .unwrap();
    let after = c
        .read_lease("default", "driftdeck-dev")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.live_holder(renew_at), None);
    match c
        .acquire_lease("default", "driftdeck-dev", "b@h/2", LEASE, None, renew_at)
        .await
        .unwrap()
    {
        LeaseOutcome::Held(r) => assert_eq!(r.holder.as_deref(), Some("b@h/2")),
        other => panic!("b must take a released lease at once: {other:?}"),
    }
    // Releasing a Lease that does not exist is fine.
    c.release_lease("default", "driftdeck-none", "a@h/1")
        .await
        .unwrap();
}

/// `status`, `history` and `diff` of the real binary, after another "console" wrote the state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_history_and_diff_show_cluster_held_state() {
    let demo = Demo::start().await;
    let kc = cluster::load_kubeconfig(Some(&demo.kubeconfig()))
        .unwrap()
        .unwrap();
    let dev_cluster = Cluster::connect(Some(&kc), "dev").await.unwrap();
    let env = env_config("dev", "log-platform");
    let state = full_state();
    store_held(&dev_cluster, &env, &state, None).await.unwrap();
    let running = RunningOperation {
        op: OperationKind::Sync,
        revision: "3333333333333333333333333333333333333333".into(),
        by: "ana@box/7".into(),
        started: Timestamp::now(),
        phase: "applying 3/12".into(),
    };
    let annotation = held_io::operation_annotation(&running);
    // Long enough to outlive the binary's run; the holder renews every few seconds in real use.
    let got = dev_cluster
        .acquire_lease(
            "log-platform",
            "driftdeck-dev",
            "ana@box/7",
            Duration::from_secs(600),
            Some(&annotation),
            Timestamp::now(),
        )
        .await
        .unwrap();
    assert!(matches!(got, LeaseOutcome::Held(_)), "{got:?}");

    let (code, status, err) = demo.status_json().await;
    assert_eq!(code, 0, "{status}\n{err}");
    let dev = env_of(&status, "dev");
    assert_eq!(dev["paused"]["by"], "ana@box/7", "{dev}");
    assert_eq!(dev["paused"]["reason"], "change freeze", "{dev}");
    let hold = &dev["hold"];
    assert_eq!(
        hold["revision"], "1111111111111111111111111111111111111111",
        "{dev}"
    );
    assert_eq!(
        hold["bad_revision"], "2222222222222222222222222222222222222222",
        "{dev}"
    );
    assert_eq!(hold["by"], "ana@box/7");
    assert_eq!(hold["reason"], "api crashlooping");
    assert!(hold["at"].is_string(), "{hold}");
    assert_eq!(dev["lease_holder"], "ana@box/7", "{dev}");
    assert_eq!(
        dev["synced_revision"], "1111111111111111111111111111111111111111",
        "{dev}"
    );
    assert_eq!(dev["operation"]["phase"], "applying 3/12", "{dev}");
    // The state ConfigMap carries the managed-by label in the env's namespace, yet is no Extra.
    assert_eq!(dev["drift"]["extra"], 0, "{dev}");
    let staging = env_of(&status, "staging");
    for field in ["paused", "hold", "lease_holder"] {
        assert!(staging[field].is_null(), "{field}: {staging}");
    }

    let out = demo.driftdeck(&["status"], &[]).await;
    let table = text(&out.stdout);
    let dev_line = table
        .lines()
        .find(|l| l.starts_with("dev "))
        .unwrap_or_else(|| panic!("{table}"));
    for badge in [
        "PAUSED by ana@box/7",
        "HOLD at 1111111",
        "held by ana@box/7",
    ] {
        assert!(dev_line.contains(badge), "{badge:?} missing: {dev_line}");
    }

    let out = demo.driftdeck(&["history", "dev", "-o", "json"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !history["commits"].as_array().unwrap().is_empty(),
        "{history}"
    );
    let ops = history["operations"].as_array().unwrap();
    let ids: Vec<&str> = ops.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ana-3", "ana-1"], "{history}");
    assert_eq!(ops[1]["failure"]["reason"], "Degraded", "{history}");
    assert!(history["operations_error"].is_null(), "{history}");
    let out = demo.driftdeck(&["history", "dev"], &[]).await;
    let listing = text(&out.stdout);
    assert!(listing.contains("OPERATIONS"), "{listing}");
    assert!(
        listing.contains("degraded: api: CrashLoopBackOff"),
        "{listing}"
    );

    // Nothing of dev was applied, so diff reports Missing objects, but never the state objects.
    let (code, diff_out, diff_err) = demo.diff("dev").await;
    assert_eq!(code, 1, "{diff_out}\n{diff_err}");
    assert!(
        !diff_out.contains("driftdeck-dev"),
        "the state ConfigMap shows in diff:\n{diff_out}"
    );

    // kubectl shows one readable key per concern.
    let out = demo
        .kubectl("dev", &["get", "cm", "driftdeck-dev", "-o", "json"])
        .await;
    let cm: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let data = cm["data"].as_object().unwrap();
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "history",
            "hold",
            "hold_render_digest",
            "last_good",
            "paused",
            "rejected",
            "synced_revision"
        ]
    );
    let hold: serde_json::Value = serde_json::from_str(data["hold"].as_str().unwrap()).unwrap();
    assert_eq!(hold["reason"], "api crashlooping");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_without_a_cluster_still_prints_commits() {
    let demo = Demo::start().await;
    let out = tokio::process::Command::new(crate::sandbox_kubectl::kubectl_path())
        .args([
            "config",
            "set-cluster",
            "dev",
            "--server=http://127.0.0.1:1",
        ])
        .arg("--kubeconfig")
        .arg(demo.kubeconfig())
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = demo.driftdeck(&["history", "dev", "-o", "json"], &[]).await;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("operations of dev unavailable"), "{stderr}");
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!history["commits"].as_array().unwrap().is_empty());
    assert_eq!(history["operations"], serde_json::json!([]));
    assert!(history["operations_error"].is_string(), "{history}");
}
