//! Cluster-held state: ConfigMap `driftdeck-<env>` (read and written with optimistic
//! concurrency) and Lease `driftdeck-<env>` (who runs the env's automation). Raw data only: the
//! controller owns what the ConfigMap's keys mean.
//!
//! Imports only `crate::model` (through `super`). INTERFACE STUB: the bodies are filled in by
//! the cluster-held-state work; the signatures are the contract the driver codes against.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use super::{Cluster, Error};

/// A ConfigMap's `data` with the resourceVersion it was read at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StateMap {
    pub data: BTreeMap<String, String>,
    pub resource_version: Option<String>,
}

/// A Lease as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    pub holder: Option<String>,
    pub acquired: Option<Timestamp>,
    pub renewed: Option<Timestamp>,
    pub duration: Duration,
    /// What the holder publishes about its running operation (JSON text, annotation
    /// `driftdeck.io/operation`), `None` when idle.
    pub operation: Option<String>,
    pub resource_version: Option<String>,
}

impl LeaseRecord {
    /// The holder, unless the lease expired (`renewed + duration < now`) or is released.
    pub fn live_holder(&self, now: Timestamp) -> Option<&str> {
        let holder = self.holder.as_deref().filter(|h| !h.is_empty())?;
        let renewed = self.renewed.or(self.acquired)?;
        let span = jiff::SignedDuration::try_from(self.duration).ok()?;
        let expires = renewed.checked_add(span).ok()?;
        (expires >= now).then_some(holder)
    }
}

/// What an acquire attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// Acquired or renewed: `holder` is us.
    Held(LeaseRecord),
    /// Someone else holds an unexpired lease.
    HeldBy(LeaseRecord),
}

impl Cluster {
    /// ConfigMap `name` in `namespace`; `None` when it does not exist (nor its namespace).
    pub async fn read_state(&self, namespace: &str, name: &str) -> Result<Option<StateMap>, Error> {
        let _ = (namespace, name);
        Err(stub("read_state"))
    }

    /// Creates the ConfigMap (and its namespace if missing) when `resource_version` is `None`,
    /// else replaces it only if still at `resource_version`. A lost race is an `Error::Api`
    /// with `status_code() == Some(409)`. Returns the new resourceVersion.
    pub async fn write_state(
        &self,
        namespace: &str,
        name: &str,
        data: &BTreeMap<String, String>,
        resource_version: Option<&str>,
    ) -> Result<String, Error> {
        let _ = (namespace, name, data, resource_version);
        Err(stub("write_state"))
    }

    /// Lease `name` in `namespace`; `None` when it does not exist.
    pub async fn read_lease(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<LeaseRecord>, Error> {
        let _ = (namespace, name);
        Err(stub("read_lease"))
    }

    /// Acquires the Lease for `holder` when it is free, expired or already ours (then renews it
    /// and sets `operation`); otherwise reports the live holder. Creates Lease (and namespace)
    /// when missing. Optimistic concurrency: losing a race reports `HeldBy` the winner.
    pub async fn acquire_lease(
        &self,
        namespace: &str,
        name: &str,
        holder: &str,
        duration: Duration,
        operation: Option<&str>,
        now: Timestamp,
    ) -> Result<LeaseOutcome, Error> {
        let _ = (namespace, name, holder, duration, operation, now);
        Err(stub("acquire_lease"))
    }

    /// Gives the Lease up if `holder` holds it (clean shutdown), so another console takes
    /// over at once instead of after expiry.
    pub async fn release_lease(
        &self,
        namespace: &str,
        name: &str,
        holder: &str,
    ) -> Result<(), Error> {
        let _ = (namespace, name, holder);
        Err(stub("release_lease"))
    }
}

fn stub(what: &str) -> Error {
    Error::BadObject {
        what: what.to_owned(),
        message: "cluster-held state is not implemented yet".to_owned(),
    }
}
