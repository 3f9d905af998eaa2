//! What a running controller costs the API server once its env's watches have listed, counted
//! on the sandbox's request tally (`sandbox::Cluster::tally`: requests other than watches,
//! lists, dry-run writes) and its log of recent requests: an idle env costs no list and no
//! dry-run, only the Lease renewals and state ConfigMap reads; one changed object costs its
//! dry-run (and at most its defaults probe), not a re-list of every kind.
//!
//! The controller is the in-process driver with automation on, so it holds and renews dev's
//! Lease: its renewals (writes of Lease `driftdeck-dev`, seen on the store's change feed) are
//! the clock of the windows, not sleeps. Dev's self-heal is turned off in the demo config so
//! that the edited object stays drifted (a heal would be an apply, not observation cost).

use std::time::Duration;

use driftdeck::config::Config;
use driftdeck::controller::DriverOptions;
use driftdeck::controller::audit::AuditLog;
use driftdeck::model::{HealthCode, Snapshot, SyncStatus};
use driftdeck::sandbox::{Cluster, FaultConfig, RequestTally};
use tokio::sync::broadcast;

use crate::drift_support::{Demo, text};

const WAIT: Duration = Duration::from_secs(60);
/// Lease renewals (one per 5 s) before the idle window opens: the first listed observation,
/// the prune kinds' watches it starts, and their first events are over by then.
const SETTLE_RENEWALS: usize = 2;
/// Lease renewals the idle window spans (~30 s): longer than the old 30 s resync, so a
/// periodic re-list at that rate cannot fall outside it.
const WINDOW_RENEWALS: usize = 6;

/// The demo with dev synced and healthy, dev's self-heal off, and a controller holding dev's
/// Lease, settled ([`SETTLE_RENEWALS`]). Returns the running driver's handles.
async fn settled_controller() -> (Demo, driftdeck::controller::driver::Spawned) {
    let demo = synced_demo().await;
    let spawned = spawn_settled(&demo).await;
    (demo, spawned)
}

/// The demo with dev synced and healthy and dev's self-heal off; no controller yet.
async fn synced_demo() -> Demo {
    let demo = Demo::start().await;
    let config_path = demo.dir.join("driftdeck.yaml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    let heal_off = config.replacen(
        "auto_sync: true, self_heal: true, prune: true}",
        "auto_sync: true, self_heal: false, prune: true}",
        1,
    );
    assert_ne!(
        heal_off, config,
        "the demo config no longer turns dev's self-heal on"
    );
    std::fs::write(&config_path, heal_off).unwrap();
    let synced = demo.driftdeck(&["sync", "dev"], &[]).await;
    assert!(
        synced.status.success(),
        "sync: {}{}",
        text(&synced.stdout),
        text(&synced.stderr)
    );
    demo.wait_rollouts("dev").await;
    demo
}

/// A controller holding dev's Lease, with dev Synced and Healthy in its snapshot, then settled
/// ([`SETTLE_RENEWALS`]).
async fn spawn_settled(demo: &Demo) -> driftdeck::controller::driver::Spawned {
    let config_path = demo.dir.join("driftdeck.yaml");
    let config: Config = driftdeck::config::load(&config_path).unwrap();
    let operator = format!("cost@it/{}", std::process::id());
    let opts = DriverOptions {
        read_only: false,
        automation: true,
        operator: operator.clone(),
        audit: AuditLog::at(demo.dir.join("audit.jsonl")),
        envs: Some(vec!["dev".into()]),
    };
    let mut spawned = driftdeck::controller::driver::spawn(config, opts);
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
    // Counted from here: the Lease writes of its acquisition are not the settling time.
    let mut leases = demo.sandbox().cluster("dev").unwrap().lock().subscribe();
    renewals(&mut leases, SETTLE_RENEWALS).await;
    spawned
}

async fn snapshot_where(
    spawned: &mut driftdeck::controller::driver::Spawned,
    what: &str,
    cond: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    let found = tokio::time::timeout(WAIT, spawned.snapshots.wait_for(|s| cond(s))).await;
    found
        .unwrap_or_else(|_| panic!("no snapshot with {what} within {WAIT:?}"))
        .expect("driver gone")
        .clone()
}

/// Waits for `n` writes of Lease `driftdeck-dev` on the store's change feed.
async fn renewals(
    changes: &mut broadcast::Receiver<std::sync::Arc<driftdeck::sandbox::change::Change>>,
    n: usize,
) {
    let mut seen = 0;
    let counted = tokio::time::timeout(WAIT * 2, async {
        while seen < n {
            match changes.recv().await {
                Ok(c) if c.plural == "leases" && &*c.object.index().name == "driftdeck-dev" => {
                    seen += 1;
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("sandbox store gone"),
            }
        }
    })
    .await;
    assert!(
        counted.is_ok(),
        "{seen} of {n} Lease renewals within {:?}",
        WAIT * 2
    );
}

/// The requests of the window that began at `before`: the tail of the cluster's recent log.
fn since(cluster: &Cluster, before: RequestTally) -> (RequestTally, Vec<String>) {
    let recent = cluster.recent_requests();
    let spent = cluster.tally() - before;
    let n = usize::try_from(spent.requests).unwrap().min(recent.len());
    (spent, recent[recent.len() - n..].to_vec())
}

/// Lease and state ConfigMap traffic: what an idle controller is allowed.
fn is_renewal(request: &str) -> bool {
    request.contains("/leases/driftdeck-dev") || request.contains("/configmaps/driftdeck-dev")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_watched_env_costs_no_list_and_no_dry_run() {
    let (demo, spawned) = settled_controller().await;
    let cluster = demo.sandbox().cluster("dev").unwrap();
    let mut leases = cluster.lock().subscribe();
    let before = cluster.tally();
    renewals(&mut leases, WINDOW_RENEWALS).await;
    let (spent, requests) = since(&cluster, before);
    assert_eq!(
        (spent.lists, spent.dry_runs),
        (0, 0),
        "an idle env over {WINDOW_RENEWALS} Lease renewals cost {spent:?}: {requests:#?}"
    );
    let other: Vec<&String> = requests.iter().filter(|r| !is_renewal(r)).collect();
    assert!(
        other.is_empty(),
        "an idle env cost requests besides its Lease and state ConfigMap: {other:#?}"
    );
    drop(spawned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_changed_object_costs_at_most_two_requests() {
    let (demo, mut spawned) = settled_controller().await;
    let cluster = demo.sandbox().cluster("dev").unwrap();
    let snapshot = spawned.snapshots.borrow().clone();
    let config_map = snapshot
        .env("dev")
        .and_then(|e| e.resources.iter().find(|r| r.key.kind == "ConfigMap"))
        .map(|r| r.key.name.clone())
        .expect("dev's render has its generated ConfigMap");
    let mut leases = cluster.lock().subscribe();
    let before = cluster.tally();
    let client = crate::sandbox_support::local_client(demo.sandbox(), "dev");
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, "log-platform");
    cms.patch(
        &config_map,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(serde_json::json!({"data": {"LOG_LEVEL": "trace"}})),
    )
    .await
    .unwrap();
    snapshot_where(&mut spawned, "the edited ConfigMap as drift", |s| {
        s.env("dev")
            .is_some_and(|e| e.drift.iter().any(|d| d.key.name == config_map))
    })
    .await;
    // Anything the change still sets off lands before the next Lease renewal.
    renewals(&mut leases, 1).await;
    let (spent, requests) = since(&cluster, before);
    let caused: Vec<&String> = requests
        .iter()
        .filter(|r| !is_renewal(r))
        .filter(|r| !(r.starts_with("PATCH") && r.contains(&config_map) && !r.contains("dryRun")))
        .collect();
    assert_eq!(spent.lists, 0, "one change re-listed: {requests:#?}");
    assert!(
        caused.len() <= 2,
        "one changed object cost {} requests (besides the edit and the Lease): {caused:#?}",
        caused.len()
    );
    assert!(
        spent.dry_runs >= 1,
        "the changed object was not dry-run again: {requests:#?}"
    );
    drop(spawned);
}

/// A cold start lists each of the env's kinds once. The first observation lists and discovers
/// the prune kinds, whose watches then start; the next ticks wait for those watches' first
/// lists instead of listing every kind beside them, even on an API server slow enough (1.5 s a
/// request) that several ticks pass before the watches are in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_lists_each_kind_once_while_its_watches_fill() {
    let demo = synced_demo().await;
    let cluster = demo.sandbox().cluster("dev").unwrap();
    demo.sandbox()
        .set_faults(
            Some("dev"),
            FaultConfig {
                latency_ms: 1500,
                ..FaultConfig::default()
            },
        )
        .unwrap();
    let before = cluster.tally();
    let spawned = spawn_settled(&demo).await;
    let (_, requests) = since(&cluster, before);
    // The observation's own lists; a watch's list pages with `limit=`.
    let listed = |plural: &str| -> Vec<&String> {
        requests
            .iter()
            .filter(|r| r.starts_with("GET ") && r.contains(&format!("/{plural}?")))
            .filter(|r| !r.contains("limit="))
            .collect()
    };
    for plural in ["deployments", "services", "configmaps", "pods"] {
        assert_eq!(
            listed(plural).len(),
            1,
            "{plural} listed other than once from the start until settled: {requests:#?}"
        );
    }
    drop(spawned);
}
