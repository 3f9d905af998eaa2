//! The workload simulator: what the controllers (deployment, replicaset, statefulset, daemonset,
//! job, cronjob, endpoints, ingress/load balancer, HPA status) and the kubelet of a real cluster would do to
//! the objects in the store.
//!
//! Sans-IO: [`Simulator::step`] looks at the world through an [`ObjectView`] and returns
//! [`Action`]s; the server core applies them (assigning uid, creationTimestamp,
//! resourceVersion) and calls `step` again every ~50–100 ms. Time is passed in as a real
//! `Instant` and scaled by [`SimConfig::time_scale`]; wall-clock timestamps written into objects
//! are derived from the anchor given to [`Simulator::set_wall_clock`]. Nothing here reads a
//! clock, spawns a task or does IO, and it imports nothing of the crate.
//!
//! Convergence is the contract: every controller compares what it would write with what is
//! there and emits nothing when they are equal, so a quiet world produces no actions. Within one
//! step the controllers share a [`Txn`] overlay, so a ReplicaSet scaled by the deployment
//! controller has its status computed from the new spec, and one object gets one Update.
//!
//! One file per controller; `meta` holds the object helpers they share and `events` the v1 Event
//! bookkeeping (count bumps instead of endless new events).

mod clock;
mod container;
mod cronjob;
mod daemonset;
mod deployment;
mod endpoints;
mod events;
mod hpa;
mod ingress;
mod job;
mod meta;
mod pod;
mod replicaset;
#[cfg(test)]
mod scenarios;
mod statefulset;
#[cfg(test)]
mod testkit;
mod txn;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use clock::Clock;
use txn::Txn;

/// Pod annotation carrying the simulator's time scale, so log timestamps and line counts follow
/// simulated time (written only when the scale is not 1).
pub const TIME_SCALE_ANNOTATION: &str = "sandbox.driftdeck.io/time-scale";

/// Read access to one cluster's objects, as the server core's store holds them.
pub trait ObjectView {
    /// Every object of the kind; `namespace: None` means all namespaces.
    fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value>;
    fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value>;
    /// A number that changes whenever any object changes (e.g. the store's latest
    /// resourceVersion). Optional: when given, a step over an unchanged store with no timer due
    /// returns at once instead of re-reading every pod.
    fn revision(&self) -> Option<u64> {
        None
    }
}

/// A write the simulator wants applied. `Create` objects have `apiVersion`, `kind` and
/// `metadata.{name,namespace}` set and are already defaulted. `Update` carries the whole object
/// (spec and status) based on the version read, `metadata.resourceVersion` included, so the core
/// may reject a stale one; the next step then recomputes from the newer state.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Create(Value),
    Update(Value),
    Delete {
        api_version: String,
        kind: String,
        namespace: Option<String>,
        name: String,
    },
}

/// Knobs of the simulated cluster.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Simulated seconds per real second: 10.0 makes a 600 s progress deadline pass in 60 s.
    pub time_scale: f64,
    /// Simulated time from a pod's scheduling to its containers running.
    pub pod_start_delay: Duration,
    /// Node names; pods are scheduled round-robin, DaemonSets run one pod on each.
    pub nodes: Vec<String>,
    /// At most this many Event objects created by the simulator are kept; older ones are
    /// deleted first (a real cluster expires them after an hour — this keeps a store of 10,000
    /// pods from holding 50,000 events).
    pub max_events: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            pod_start_delay: Duration::from_secs(2),
            nodes: vec!["node-a".into(), "node-b".into(), "node-c".into()],
            max_events: 2000,
        }
    }
}

/// The simulated controllers and kubelet of one cluster. Holds only bookkeeping that cannot
/// live in the objects without adding noise (sub-second timings, name counters).
#[derive(Debug)]
pub struct Simulator {
    pub(crate) cfg: SimConfig,
    pub(crate) clock: Clock,
    /// Pod key (`ns/name`) → when it was first seen and when to look at it again.
    pub(crate) pods: HashMap<String, pod::PodTrack>,
    /// Deployment key → uid and the last time it made progress (for the progress deadline).
    pub(crate) progress: HashMap<String, (String, Instant)>,
    /// Round-robin cursor for scheduling.
    pub(crate) next_node: usize,
    /// Counter feeding generated pod-name suffixes.
    pub(crate) name_counter: u64,
    /// Events this simulator created, oldest first, as `(namespace, name)`.
    events: VecDeque<(String, String)>,
    /// The store revision of the last step that found nothing to do.
    quiet_revision: Option<u64>,
    /// The earliest time a timeline (pod start, crash, back-off, progress deadline) changes.
    next_due: Option<Instant>,
}

impl Simulator {
    pub fn new(cfg: SimConfig) -> Self {
        let mut cfg = cfg;
        if !(cfg.time_scale.is_finite() && cfg.time_scale > 0.0) {
            cfg.time_scale = 1.0;
        }
        if cfg.nodes.is_empty() {
            cfg.nodes = SimConfig::default().nodes;
        }
        Self {
            cfg,
            clock: Clock::default(),
            pods: HashMap::new(),
            progress: HashMap::new(),
            next_node: 0,
            name_counter: 0,
            events: VecDeque::new(),
            quiet_revision: None,
            next_due: None,
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Anchors wall-clock timestamps: `at` corresponds to `unix_millis` since the epoch. Call it
    /// once with `Instant::now()` and the system time; without it timestamps start at
    /// [`clock::DEFAULT_EPOCH_MILLIS`] at the first step.
    pub fn set_wall_clock(&mut self, at: Instant, unix_millis: i64) {
        self.clock = Clock::anchored(at, unix_millis);
    }

    /// Looks at the world and returns what the controllers and kubelet would do now. Returns
    /// nothing when nothing needs doing.
    pub fn step(&mut self, now: Instant, view: &dyn ObjectView) -> Vec<Action> {
        self.clock.anchor_if_unset(now);
        let revision = view.revision();
        if revision.is_some()
            && revision == self.quiet_revision
            && self.next_due.is_none_or(|due| now < due)
        {
            return Vec::new();
        }
        self.next_due = None;
        let mut txn = Txn::new(view);
        deployment::reconcile(self, now, &mut txn);
        replicaset::reconcile(self, now, &mut txn);
        statefulset::reconcile(self, now, &mut txn);
        daemonset::reconcile(self, now, &mut txn);
        job::reconcile(self, now, &mut txn);
        cronjob::reconcile(self, now, &mut txn);
        pod::reconcile(self, now, &mut txn);
        endpoints::reconcile(self, now, &mut txn);
        ingress::reconcile(self, now, &mut txn);
        hpa::reconcile(self, now, &mut txn);
        self.expire_events(&mut txn);
        let actions = txn.into_actions();
        // Only a step that changed nothing proves the store at this revision is settled.
        self.quiet_revision = if actions.is_empty() { revision } else { None };
        actions
    }

    /// Keeps the simulator's events within [`SimConfig::max_events`], deleting the oldest.
    fn expire_events(&mut self, txn: &mut Txn<'_>) {
        self.events.extend(txn.created("v1", "Event"));
        while self.events.len() > self.cfg.max_events {
            let Some((namespace, name)) = self.events.pop_front() else {
                break;
            };
            txn.delete(&serde_json::json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"namespace": namespace, "name": name}}));
        }
    }

    /// Notes that some timeline changes at `at`, so a step then must not be skipped.
    pub(crate) fn due(&mut self, at: Instant) {
        self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
    }

    /// Simulated time elapsed between `since` and `now`.
    pub(crate) fn sim_elapsed(&self, since: Instant, now: Instant) -> Duration {
        let real = now.saturating_duration_since(since).as_secs_f64();
        Duration::try_from_secs_f64(real * self.cfg.time_scale).unwrap_or(Duration::MAX)
    }

    /// The real instant at which `sim` simulated time has passed since `since`.
    pub(crate) fn real_after(&self, since: Instant, sim: Duration) -> Instant {
        let real = Duration::try_from_secs_f64(sim.as_secs_f64() / self.cfg.time_scale)
            .unwrap_or(Duration::from_secs(u64::from(u32::MAX)));
        since.checked_add(real).unwrap_or(since)
    }
}
