//! `driftdeck status -o json` and the console's env rows agree field for field on the same
//! cluster state. The console's rows are the controller driver's `Snapshot` (what the TUI draws
//! from), run in-process; `status` is the real binary's cold path. Both are fed one sandbox in
//! a mixed state: dev synced then scaled by hand (drift), staging synced then paused, production
//! never applied (protected, OutOfSync).
//!
//! Pods settle on their own (a scale-up starts pods), so the two are compared repeatedly until
//! they agree or a deadline passes; a field that disagrees for the whole window fails the test
//! with both sides printed.

use std::time::{Duration, Instant};

use driftdeck::config::Config;
use driftdeck::controller::DriverOptions;
use driftdeck::controller::audit::AuditLog;
use driftdeck::model::{EnvState, Snapshot};
use serde_json::{Value, json};

use crate::drift_support::{Demo, ENVS, text};

const SETTLE: Duration = Duration::from_secs(60);

/// The status contract's fields, built from the console's row for one env.
fn console_row(e: &EnvState) -> Value {
    json!({
        "name": e.name,
        "revision": e.revision,
        "synced_revision": e.synced_revision,
        "sync": e.sync,
        "health": e.health.code,
        "health_message": e.health.message,
        "drift": e.drift_count(),
        "paused": e.paused,
        "hold": e.hold,
        "lease_holder": e.lease_holder,
        "error": e.error,
        "automation": e.automation,
        "operation": e.operation,
        "context": e.context,
        "namespace": e.namespace,
        "path": e.path,
        "protected": e.protected,
        "resources": e.resources.len(),
        "unreadable": e.unreadable,
    })
}

/// The same fields from `status -o json` (the observation time differs by construction).
fn status_row(status: &Value, name: &str) -> Value {
    let env = crate::drift_support::env_of(status, name);
    let mut row = serde_json::Map::new();
    for key in console_row_keys() {
        row.insert(key.to_owned(), env[key].clone());
    }
    Value::Object(row)
}

fn console_row_keys() -> Vec<&'static str> {
    vec![
        "name",
        "revision",
        "synced_revision",
        "sync",
        "health",
        "health_message",
        "drift",
        "paused",
        "hold",
        "lease_holder",
        "error",
        "automation",
        "operation",
        "context",
        "namespace",
        "path",
        "protected",
        "resources",
        "unreadable",
    ]
}

fn disagreements(snapshot: &Snapshot, status: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for name in ENVS {
        let Some(env) = snapshot.env(name) else {
            out.push(format!("{name}: no console row"));
            continue;
        };
        let console = console_row(env);
        let cli = status_row(status, name);
        for key in console_row_keys() {
            if console[key] != cli[key] {
                out.push(format!(
                    "{name}.{key}: console {} vs status {}",
                    console[key], cli[key]
                ));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_and_console_rows_agree_field_for_field() {
    let demo = Demo::start().await;
    for env in ["dev", "staging"] {
        let out = demo.driftdeck(&["sync", env], &[]).await;
        assert!(out.status.success(), "sync {env}: {}", text(&out.stderr));
    }
    demo.wait_rollouts("dev").await;
    let scaled = demo
        .kubectl("dev", &["scale", "deployment/log-api", "--replicas=3"])
        .await;
    assert!(scaled.status.success(), "scale: {}", text(&scaled.stderr));
    let paused = demo
        .driftdeck(&["pause", "staging", "--reason", "change freeze"], &[])
        .await;
    assert!(paused.status.success(), "pause: {}", text(&paused.stderr));

    let config: Config = driftdeck::config::load(&demo.dir.join("driftdeck.yaml")).unwrap();
    let audit = tempfile::tempdir().unwrap();
    let spawned = driftdeck::controller::driver::spawn(
        config,
        DriverOptions {
            read_only: false,
            automation: false,
            operator: format!("tester@it/{}", std::process::id()),
            audit: AuditLog::at(audit.path().join("audit.jsonl")),
            envs: None,
        },
    );
    let snapshots = spawned.snapshots;

    // The mixed state is what both must report, so wait for the console to see all of it.
    let deadline = Instant::now() + SETTLE;
    let mut rx = snapshots.clone();
    let seen = tokio::time::timeout(
        SETTLE,
        rx.wait_for(|s| {
            ENVS.iter()
                .all(|n| s.env(n).is_some_and(|e| e.observed_at.is_some()))
                && s.env("dev").is_some_and(|e| !e.drift.is_empty())
                && s.env("staging").is_some_and(|e| e.paused.is_some())
        }),
    )
    .await
    // The guard `wait_for` returns holds the value's read lock: release it at once.
    .map(|found| found.map(drop));
    assert!(
        matches!(seen, Ok(Ok(()))),
        "the console never showed dev's drift, staging's pause and every env observed"
    );

    let mut last = Vec::new();
    while Instant::now() < deadline {
        let (code, status, stderr) = demo.status_json().await;
        assert_eq!(code, 0, "status -o json: {stderr}");
        let snapshot = snapshots.borrow().clone();
        last = disagreements(&snapshot, &status);
        if last.is_empty() {
            // Both saw the mixed state, not an empty one.
            let dev = crate::drift_support::env_of(&status, "dev");
            assert_eq!(dev["sync"], "OutOfSync", "dev: {dev}");
            let staging = crate::drift_support::env_of(&status, "staging");
            assert_eq!(staging["paused"]["reason"], "change freeze", "{staging}");
            let production = crate::drift_support::env_of(&status, "production");
            assert_eq!(production["protected"], true, "{production}");
            drop(spawned.commands);
            return;
        }
        let mut rx = snapshots.clone();
        let _ = tokio::time::timeout(Duration::from_secs(2), rx.changed()).await;
    }
    panic!(
        "status -o json and the console disagreed for {SETTLE:?}:\n{}",
        last.join("\n")
    );
}
