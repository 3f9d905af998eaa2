//! `driftdeck pause dev` from the CLI, 20 times over, against a controller that holds dev's Lease
//! with self-heal on and has drift to repair: once the verb has returned, no automatic operation
//! starts in the controller, and nothing is applied to dev unless an operation recorded before
//! the pause was still in flight.
//!
//! The controller is the in-process driver with automation on (as the console runs it); the
//! verbs are the real binary, a separate process that shares nothing with the controller but
//! the API server. Each repetition edits dev's generated ConfigMap through a kube client (drift
//! self-heal repairs), runs `pause dev` at once, and notes when it returned and the store's
//! resourceVersion then.
//!
//! Why the drift is still there when the pause returns: self-heal starts at most once per
//! `SELF_HEAL_INTERVAL` (5 s), and each repetition's drift lands just after a heal (the previous
//! repetition's, or a priming one before the first), so the heal is due a few seconds after the
//! verb returned (tens of milliseconds after the edit). Drifting into a controller whose interval
//! had passed was tried first: its heal started and finished before the verb returned in all 20
//! repetitions, so the pause never had anything to stop and a controller ignoring it passed.
//! The test asserts that at least one repetition had its drift still live when the pause
//! returned; a heal that did start before is allowed (it was in flight).
//!
//! The window ends on the controller's own facts, not a sleep: no operation running and a live
//! observation taken later than the pause's return plus `SELF_HEAL_INTERVAL`. Every observation
//! runs the engine's convergence, so by then a heal that ignored the pause has started and
//! finished. Then the checks, from the sandbox's store (what was recorded, not what one process
//! believes): no automatic history entry in ConfigMap `driftdeck-dev` started after the pause
//! returned; no write to the edited ConfigMap after the pause's resourceVersion unless an
//! automatic operation was `Running` in the state at that moment; and the controller shows the
//! pause with this repetition's reason. `resume dev` then lets self-heal repair the drift, so the
//! next repetition starts clean (and just after a heal). About 6 s a repetition.
//!
//! What this does not reach: a pause landing in the milliseconds between the engine's heal
//! decision and its record write (the start gate's 409 path, `controller::engine::gate`). Here
//! the controller reads the pause through the state ConfigMap's watch long before the heal is
//! due; the engine's gate tests (`engine::tests::gate`) feed that order directly.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use driftdeck::config::Config;
use driftdeck::controller::DriverOptions;
use driftdeck::controller::audit::AuditLog;
use driftdeck::controller::driver::Spawned;
use driftdeck::controller::engine::SELF_HEAL_INTERVAL;
use driftdeck::model::{
    HealthCode, HistoryEntry, Notice, OperationKind, OperationResult, Snapshot, SyncStatus,
};
use driftdeck::sandbox::{Cluster, Store};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;

use crate::drift_support::{Demo, text};

/// `PAUSE_RACE_REPETITIONS` overrides it (`scripts/pause-race.sh`).
const REPETITIONS: usize = 20;
const NS: &str = "log-platform";
/// For any one wait on the controller; a repetition takes a few seconds.
const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_automatic_operation_starts_after_pause_returns_while_self_heal_has_drift_to_repair() {
    let demo = Demo::start().await;
    let synced = verb(&demo, &["sync", "dev"]).await;
    assert!(
        synced.status.success(),
        "sync dev: {}{}",
        text(&synced.stdout),
        text(&synced.stderr)
    );
    demo.wait_rollouts("dev").await;
    let (mut spawned, notices) = controller(&demo).await;
    let cluster = demo.sandbox().cluster("dev").unwrap();
    let config_map = spawned
        .snapshots
        .borrow()
        .env("dev")
        .and_then(|e| e.resources.iter().find(|r| r.key.kind == "ConfigMap"))
        .map(|r| r.key.name.clone())
        .expect("dev's render has its generated ConfigMap");
    let desired = log_level(&cluster, &config_map).expect("dev's ConfigMap sets LOG_LEVEL");
    let client = crate::sandbox_support::local_client(demo.sandbox(), "dev");
    let cms: kube::Api<ConfigMap> = kube::Api::namespaced(client, NS);
    let drift = |value: String| {
        let cms = cms.clone();
        let config_map = config_map.clone();
        async move {
            let patch = serde_json::json!({"data": {"LOG_LEVEL": value}});
            cms.patch(
                &config_map,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(patch),
            )
            .await
            .unwrap();
        }
    };

    // One heal first, so that the first repetition's drift, like every later one's, lands
    // just after a heal and waits out self-heal's interval.
    drift("prime".into()).await;
    repaired(
        &mut spawned,
        &cluster,
        &config_map,
        &desired,
        "the priming drift",
    )
    .await;

    let repetitions = std::env::var("PAUSE_RACE_REPETITIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(REPETITIONS);
    // Repetitions whose drift was still live when the pause returned (the pause is what kept
    // self-heal from it), and those where a heal started before (allowed; of those, the ones
    // still running then): printed, so a run shows which side of the race it exercised.
    let mut outstanding = Vec::new();
    let mut healed_first = Vec::new();
    let mut in_flight_reps = Vec::new();
    let began = Instant::now();
    for rep in 1..=repetitions {
        let drifted = format!("race-{rep}");
        let drifted_at = Timestamp::now();
        drift(drifted.clone()).await;
        let reason = format!("race {rep}");
        let paused = verb(&demo, &["pause", "dev", "--reason", &reason]).await;
        let returned = Timestamp::now();
        let (mark, at_mark, level_at_mark) = {
            let store = cluster.lock();
            let level = config_map_in(&store, &config_map)
                .and_then(|cm| cm.pointer("/data/LOG_LEVEL").cloned());
            (store.resource_version(), history_in(&store), level)
        };
        assert!(
            paused.status.success(),
            "repetition {rep}: pause dev: {}{}",
            text(&paused.stdout),
            text(&paused.stderr)
        );
        let in_flight: Vec<&HistoryEntry> = at_mark
            .iter()
            .filter(|e| automatic(e.op) && e.result == OperationResult::Running)
            .collect();
        if !in_flight.is_empty() {
            in_flight_reps.push(rep);
        }
        if at_mark
            .iter()
            .any(|e| automatic(e.op) && e.started > drifted_at)
        {
            healed_first.push(rep);
        }
        if level_at_mark.as_ref().and_then(Value::as_str) == Some(drifted.as_str()) {
            outstanding.push(rep);
        }

        // Long enough for a heal that ignored the pause to have started, and to have finished.
        let heal_due = returned.checked_add(SELF_HEAL_INTERVAL).unwrap();
        let after = snapshot_where(
            &mut spawned,
            &format!("repetition {rep}: dev observed after {heal_due}, no operation running"),
            |s| {
                s.env("dev").is_some_and(|e| {
                    e.operation.is_none() && e.observed_at.is_some_and(|t| t > heal_due)
                })
            },
        )
        .await;

        let history = history_in(&cluster.lock());
        let started_after: Vec<&HistoryEntry> = history
            .iter()
            .filter(|e| automatic(e.op) && e.started > returned)
            .collect();
        let written_after: Vec<String> = if in_flight.is_empty() {
            changes_to(&cluster, mark, &config_map)
        } else {
            Vec::new()
        };
        assert!(
            started_after.is_empty() && written_after.is_empty(),
            "repetition {rep}: `pause dev` returned at {returned} (resourceVersion {mark}) with \
             LOG_LEVEL={level_at_mark:?} live; automatic operations started after it: \
             {started_after:#?}\nwrites of ConfigMap {config_map} after it (no operation was in \
             flight then): {written_after:#?}\ncontroller notices: {:#?}",
            notices.lock().unwrap()
        );
        let shown = after.env("dev").and_then(|e| e.paused.clone());
        assert!(
            shown.as_ref().is_some_and(|p| p.reason == reason),
            "repetition {rep}: {SELF_HEAL_INTERVAL:?} after `pause dev` returned, the controller \
             shows dev's pause as {shown:?}"
        );

        let resumed = verb(&demo, &["resume", "dev"]).await;
        assert!(
            resumed.status.success(),
            "repetition {rep}: resume dev: {}{}",
            text(&resumed.stdout),
            text(&resumed.stderr)
        );
        let what = format!("repetition {rep}: LOG_LEVEL={drifted} after resume");
        repaired(&mut spawned, &cluster, &config_map, &desired, &what).await;
    }
    let heals = history_in(&cluster.lock())
        .iter()
        .filter(|e| e.op == OperationKind::SelfHeal && e.result == OperationResult::Succeeded)
        .count();
    let skipped = notices
        .lock()
        .unwrap()
        .iter()
        .filter(|n| matches!(n, Notice::Warned { message, .. } if message.contains("not started")))
        .count();
    eprintln!(
        "pause race: {repetitions} repetitions in {:.1?}; drift still live when pause returned in \
         {outstanding:?}; a heal started before pause returned in {healed_first:?}, still \
         running then in {in_flight_reps:?}; {heals} self-heals succeeded; {skipped} dropped at \
         the start gate",
        began.elapsed()
    );
    assert!(
        !outstanding.is_empty(),
        "self-heal repaired every repetition's drift before `pause dev` returned: the pause never \
         had a heal to stop, so the checks above proved nothing"
    );
    drop(spawned);
}

/// Waits until self-heal has repaired dev: the store has the desired LOG_LEVEL back (only an
/// apply puts it there, so the controller has seen the drift), and the controller shows no
/// pause, no operation and no drift.
async fn repaired(
    spawned: &mut Spawned,
    cluster: &Cluster,
    config_map: &str,
    desired: &str,
    what: &str,
) {
    snapshot_where(spawned, &format!("self-heal to repair {what}"), |s| {
        log_level(cluster, config_map).as_deref() == Some(desired)
            && s.env("dev").is_some_and(|e| {
                e.paused.is_none()
                    && e.operation.is_none()
                    && e.drift.is_empty()
                    && e.sync == SyncStatus::Synced
            })
    })
    .await;
}

/// The in-process controller of dev with automation on, holding dev's Lease with dev Synced
/// and Healthy; its notices drained into the returned list (the driver waits on a full channel).
async fn controller(demo: &Demo) -> (Spawned, Arc<Mutex<Vec<Notice>>>) {
    let config: Config = driftdeck::config::load(&demo.dir.join("driftdeck.yaml")).unwrap();
    let dev = config
        .environments
        .iter()
        .find(|e| e.name == "dev")
        .unwrap();
    assert!(
        dev.auto_sync && dev.self_heal,
        "the demo config no longer turns dev's auto-sync and self-heal on"
    );
    let operator = format!("pause-race@it/{}", std::process::id());
    let opts = DriverOptions {
        read_only: false,
        automation: true,
        operator: operator.clone(),
        audit: AuditLog::at(demo.dir.join("audit.jsonl")),
        envs: Some(vec!["dev".into()]),
    };
    let mut spawned = driftdeck::controller::driver::spawn(config, opts);
    let notices = Arc::new(Mutex::new(Vec::new()));
    let mut rx = std::mem::replace(&mut spawned.notices, tokio::sync::mpsc::channel(1).1);
    let kept = notices.clone();
    tokio::spawn(async move {
        while let Some(n) = rx.recv().await {
            kept.lock().unwrap().push(n);
        }
    });
    snapshot_where(
        &mut spawned,
        "dev Synced, Healthy, its Lease held here",
        |s| {
            s.env("dev").is_some_and(|e| {
                e.sync == SyncStatus::Synced
                    && e.health.code == HealthCode::Healthy
                    && e.lease_holder.as_deref() == Some(operator.as_str())
            })
        },
    )
    .await;
    (spawned, notices)
}

async fn snapshot_where(
    spawned: &mut Spawned,
    what: &str,
    cond: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    let found = tokio::time::timeout(WAIT, spawned.snapshots.wait_for(|s| cond(s)))
        .await
        .ok()
        .and_then(Result::ok)
        .map(|s| s.clone());
    found.unwrap_or_else(|| {
        let last = spawned.snapshots.borrow().env("dev").cloned();
        panic!(
            "no snapshot with {what} within {WAIT:?}; dev's last: paused {:?}, operation {:?}, \
             sync {:?}, drift {:?}, observed {:?}",
            last.as_ref().map(|e| &e.paused),
            last.as_ref().map(|e| &e.operation),
            last.as_ref().map(|e| e.sync),
            last.as_ref().map(|e| &e.drift),
            last.as_ref().map(|e| e.observed_at),
        )
    })
}

fn automatic(op: OperationKind) -> bool {
    matches!(op, OperationKind::AutoSync | OperationKind::SelfHeal)
}

/// The real binary, its audit log in the demo's directory rather than the user's data dir.
async fn verb(demo: &Demo, args: &[&str]) -> std::process::Output {
    let audit = demo.dir.join("audit.jsonl").display().to_string();
    demo.driftdeck(args, &[("DRIFTDECK_AUDIT_LOG", &audit)])
        .await
}

fn config_map_in(store: &Store, name: &str) -> Option<Value> {
    let rt = store.find_type("", "v1", "configmaps").unwrap();
    store.get(&rt, NS, name)
}

/// dev's recorded operation history (ConfigMap `driftdeck-dev`), newest first.
fn history_in(store: &Store) -> Vec<HistoryEntry> {
    config_map_in(store, "driftdeck-dev")
        .and_then(|cm| {
            cm.pointer("/data/history")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .filter(|h| !h.trim().is_empty())
        .map(|h| serde_json::from_str(&h).unwrap())
        .unwrap_or_default()
}

fn log_level(cluster: &Cluster, name: &str) -> Option<String> {
    config_map_in(&cluster.lock(), name)?
        .pointer("/data/LOG_LEVEL")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Writes of ConfigMap `name` after resourceVersion `after`, as `rv: LOG_LEVEL=…`.
fn changes_to(cluster: &Cluster, after: u64, name: &str) -> Vec<String> {
    let changes = cluster
        .lock()
        .changes_since(after)
        .expect("the sandbox's change log no longer reaches back to the pause");
    changes
        .iter()
        .filter(|c| c.plural == "configmaps" && c.namespace == NS)
        .filter(|c| &*c.object.index().name == name)
        .map(|c| {
            let level = c.object.value().pointer("/data/LOG_LEVEL").cloned();
            format!("{} {}: LOG_LEVEL={level:?}", c.rv, c.kind.as_str())
        })
        .collect()
}
