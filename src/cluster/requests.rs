//! How many requests this process sent to each cluster (kubeconfig context): what driftdeck
//! costs an API server, for the controller's `/metrics`.
//!
//! Counted client-side by a tower layer every [`super::Cluster::connect`] client carries, in one
//! process-wide table keyed by context (several `Cluster`s for one context add up). A watch
//! counts once when it is opened, not per event. Clients built with
//! [`super::Cluster::from_client`] (tests over the sandbox's tower service) are not counted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

fn table() -> &'static Mutex<BTreeMap<String, Arc<AtomicU64>>> {
    static TABLE: OnceLock<Mutex<BTreeMap<String, Arc<AtomicU64>>>> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// The counter of `context`, created at zero on first use.
pub(super) fn counter(context: &str) -> Arc<AtomicU64> {
    let mut table = table()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    table.entry(context.to_owned()).or_default().clone()
}

/// Requests sent so far, per context.
pub fn api_requests() -> BTreeMap<String, u64> {
    table()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .map(|(context, n)| (context.clone(), n.load(Ordering::Relaxed)))
        .collect()
}
