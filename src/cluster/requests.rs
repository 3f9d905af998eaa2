//! How many requests this process sent to each cluster (kubeconfig context): what driftdeck
//! costs an API server, for the controller's `/metrics`; and when each client last got an
//! answer ([`Answered`]).
//!
//! Counted client-side by a tower layer every [`super::Cluster::connect`] client carries, in one
//! process-wide table keyed by context (several `Cluster`s for one context add up). A watch
//! counts once when it is opened, not per event. Clients built with
//! [`super::Cluster::from_client`] (tests over the sandbox's tower service) are not counted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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

/// When a client's API server last answered a request, with any status. A frozen API server
/// (a stopped process, a half-dead node, a black-holed network) keeps its connections open and
/// answers nothing: its watches report no error, only silence, which from the client looks
/// exactly like a quiet cluster. This is what tells the two apart.
#[derive(Debug, Default)]
pub struct Answered(Mutex<Option<Instant>>);

impl Answered {
    pub(super) fn now(&self) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    }

    /// Whether an answer came within `window` of now.
    pub fn within(&self, window: Duration) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|t| t.elapsed() < window)
    }
}
