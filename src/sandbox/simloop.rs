//! The driver of the workload simulator: one tokio task per cluster that, every tick, lets
//! [`sim::Simulator`](super::sim::Simulator) look at the store (through [`ObjectView`]) and
//! applies the [`Action`]s it returns as ordinary writes — so they get defaults, new
//! resourceVersions and watch events like any client write. A stale `Update` (the object
//! changed since the simulator read it) is dropped; the next tick recomputes. The task holds
//! only a weak reference and ends when the sandbox is dropped. Imports nothing of the crate.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Cluster;
use super::sim::{Action, ObjectView, SimConfig, Simulator};
use super::store::{Propagation, Store, UpdateMode};

pub const TICK: Duration = Duration::from_millis(100);

impl ObjectView for Store {
    fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        match self.type_for_kind(api_version, kind) {
            Some(rt) => Store::list(self, &rt, namespace)
                .map(|s| s.value())
                .collect(),
            None => Vec::new(),
        }
    }

    fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let rt = self.type_for_kind(api_version, kind)?;
        Store::get(self, &rt, namespace.unwrap_or_default(), name)
    }

    /// The latest resourceVersion: unchanged means no object changed, so a step with no timer
    /// due can return at once (an idle sandbox then costs next to no CPU).
    fn revision(&self) -> Option<u64> {
        Some(self.resource_version())
    }
}

/// Applies the simulator's writes; returns how many were refused (stale or invalid).
pub fn apply(store: &mut Store, actions: Vec<Action>) -> usize {
    let mut refused = 0;
    for action in actions {
        let ok = match action {
            Action::Create(obj) => {
                let av = obj["apiVersion"].as_str().unwrap_or_default();
                let kind = obj["kind"].as_str().unwrap_or_default();
                match store.type_for_kind(av, kind) {
                    Some(rt) => store.create(&rt, obj, false).is_ok(),
                    None => false,
                }
            }
            Action::Update(obj) => {
                let av = obj["apiVersion"].as_str().unwrap_or_default();
                let kind = obj["kind"].as_str().unwrap_or_default();
                match store.type_for_kind(av, kind) {
                    Some(rt) => store.update(&rt, obj, UpdateMode::Internal, false).is_ok(),
                    None => false,
                }
            }
            Action::Delete {
                api_version,
                kind,
                namespace,
                name,
            } => match store.type_for_kind(&api_version, &kind) {
                Some(rt) => store
                    .delete(
                        &rt,
                        namespace.as_deref().unwrap_or_default(),
                        &name,
                        Propagation::Background,
                        false,
                    )
                    .is_ok(),
                None => false,
            },
        };
        if !ok {
            refused += 1;
        }
    }
    refused
}

/// Node objects for the simulator's nodes, Ready, so `kubectl get nodes` and `describe pod`
/// show the nodes pods are scheduled on.
pub fn register_nodes(store: &mut Store, nodes: &[String]) {
    let Some(rt) = store.type_for_kind("v1", "Node") else {
        return;
    };
    let now = super::store::now_rfc3339();
    for name in nodes {
        let node = serde_json::json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now}],
                "nodeInfo": {"kubeletVersion": "v1.33.0-driftdeck-sandbox", "operatingSystem": "linux",
                    "architecture": "amd64", "containerRuntimeVersion": "sandbox://1"},
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"}}});
        // Already registered (a second simulator on the same store) is fine.
        let _ = store.create(&rt, node, false);
    }
}

/// Starts the simulator of `cluster` on its own thread; it stops when the sandbox is dropped.
pub fn spawn(cluster: Weak<Cluster>, time_scale: f64) {
    let mut sim = Simulator::new(SimConfig {
        time_scale,
        ..SimConfig::default()
    });
    if let Some(c) = cluster.upgrade() {
        register_nodes(&mut c.lock(), &sim.config().nodes);
    }
    let unix_millis = jiff::Timestamp::now().as_millisecond();
    sim.set_wall_clock(Instant::now(), unix_millis);
    // A plain thread, not a tokio task: a step materialises every object of the kinds the
    // simulator reads, and keeping those allocations on one thread keeps them in one malloc
    // arena instead of spreading (and multiplying) them over every runtime worker's.
    let name = cluster
        .upgrade()
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let spawned = std::thread::Builder::new()
        .name(format!("sandbox-sim-{name}"))
        .spawn(move || {
            let mut pause = TICK;
            loop {
                std::thread::sleep(pause);
                let Some(cluster): Option<Arc<Cluster>> = cluster.upgrade() else {
                    return;
                };
                let started = Instant::now();
                {
                    let mut store = cluster.lock();
                    let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        sim.step(Instant::now(), &*store)
                    }));
                    match step {
                        Ok(actions) => {
                            apply(&mut store, actions);
                        }
                        // A simulator bug on odd input must not stop the API server; the next
                        // tick tries again from the store's state.
                        Err(_) => {
                            tracing::error!(cluster = %cluster.name, "simulator step panicked")
                        }
                    }
                }
                // A step holds the store lock and costs O(objects); with many objects, tick less
                // often so the simulator never takes more than a fifth of the API's time.
                pause = TICK.max(started.elapsed() * 4);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(cluster = %name, "cannot start the simulator thread: {e}");
    }
}
