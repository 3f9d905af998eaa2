//! Cluster-held state: ConfigMap `driftdeck-<env>` (read and written with optimistic
//! concurrency) and Lease `driftdeck-<env>` (who runs the env's automation). Raw data only: the
//! controller owns what the ConfigMap's keys mean.
//!
//! Imports only `crate::model` (through `super`). Must not interpret the ConfigMap's keys.
//!
//! Decisions:
//! - Both objects carry `app.kubernetes.io/managed-by: driftdeck` (so `kubectl get -l` finds
//!   them) and `driftdeck.io/state: "true"`, and never the `driftdeck.io/env` annotation: that
//!   annotation is what makes an object part of an env's managed set (drift `Extra`, prune),
//!   and the state must never be pruned by the sync it records.
//! - The ConfigMap is written whole (`create`, or `replace` carrying the resourceVersion it was
//!   read at), so a concurrent writer's change is never silently overwritten: the loser gets
//!   the server's 409 and re-reads.
//! - The Lease follows client-go's leader election: read, then create or replace with the
//!   resourceVersion read. Holder changes count `leaseTransitions`; a release clears
//!   `holderIdentity` so another console takes over without waiting for expiry.
//! - A missing namespace is created (a plain create of a bare Namespace) on the first write
//!   only, when the server answers 404 to the create: the common path costs no extra request.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;

use super::{Cluster, Error};

use crate::model::MANAGED_BY_VALUE;
pub use crate::model::{MANAGED_BY_LABEL, OPERATION_ANNOTATION, STATE_LABEL};

/// Lease writes retried after a conflict that left the lease free (a release raced us).
const LEASE_ATTEMPTS: usize = 3;

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
        let api: Api<ConfigMap> = Api::namespaced(self.client().clone(), namespace);
        let found = super::retry_transient(|| async {
            api.get_opt(name)
                .await
                .map_err(|e| self.api_error(format!("read ConfigMap {namespace}/{name}"), e))
        })
        .await?;
        Ok(found.map(|cm| StateMap {
            data: cm.data.unwrap_or_default(),
            resource_version: cm.metadata.resource_version,
        }))
    }

    /// Changes to ConfigMap `name` in `namespace`, as the resourceVersion it now has (`None`:
    /// deleted or absent after the initial list): one item after the initial list and one per
    /// change. A watch error comes out as an `Err` item and the watcher re-lists by itself, so
    /// the stream goes on after it. Lets a console see another process's pause or hold as soon
    /// as the API server has it, instead of at its next poll.
    pub fn watch_state(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl futures::Stream<Item = Result<Option<String>, Error>> + use<> {
        use futures::StreamExt;
        use kube::runtime::{WatchStreamExt, watcher};
        let api: Api<ConfigMap> = Api::namespaced(self.client().clone(), namespace);
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let context = self.context().to_owned();
        let what = format!("watch ConfigMap {namespace}/{name}");
        let mut seen: Option<String> = None;
        // Backoff between failed re-lists: an unreachable server is not asked in a tight loop.
        watcher(api, config)
            .default_backoff()
            .filter_map(move |event| {
                let out = match event {
                    Ok(watcher::Event::Init) => {
                        seen = None;
                        None
                    }
                    Ok(watcher::Event::InitApply(cm)) => {
                        seen = cm.metadata.resource_version;
                        None
                    }
                    Ok(watcher::Event::InitDone) => Some(Ok(seen.clone())),
                    Ok(watcher::Event::Apply(cm)) => Some(Ok(cm.metadata.resource_version)),
                    Ok(watcher::Event::Delete(_)) => Some(Ok(None)),
                    Err(e) => Some(Err(Error::Connect {
                        context: context.clone(),
                        message: format!("{what}: {e}"),
                    })),
                };
                std::future::ready(out)
            })
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
        let api: Api<ConfigMap> = Api::namespaced(self.client().clone(), namespace);
        let mut cm = ConfigMap {
            metadata: state_meta(namespace, name),
            data: Some(data.clone()),
            ..ConfigMap::default()
        };
        let what = format!("write ConfigMap {namespace}/{name}");
        cm.metadata.resource_version = resource_version.map(str::to_owned);
        // Retried as a whole: a write whose answer was lost comes back as a 409 (a lost race
        // to the caller, which re-reads), never as a silent double write.
        let written = super::retry_transient(|| async {
            match resource_version {
                Some(_) => api.replace(name, &PostParams::default(), &cm).await,
                None => {
                    self.create_in_namespace(&api, namespace, &cm, &what)
                        .await?
                }
            }
            .map_err(|e| self.api_error(what.clone(), e))
        })
        .await?;
        written
            .metadata
            .resource_version
            .ok_or_else(|| Error::BadObject {
                what: format!("context {}: {what}", self.context()),
                message: "the server returned no resourceVersion".into(),
            })
    }

    /// Lease `name` in `namespace`; `None` when it does not exist.
    pub async fn read_lease(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<LeaseRecord>, Error> {
        Ok(self
            .get_lease(namespace, name)
            .await?
            .map(|l| LeaseRecord::of(&l)))
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
        let api: Api<Lease> = Api::namespaced(self.client().clone(), namespace);
        let what = format!("acquire Lease {namespace}/{name} for {holder}");
        let mut current = self.get_lease(namespace, name).await?;
        for _ in 0..LEASE_ATTEMPTS {
            let written = match &current {
                None => {
                    let lease = Lease {
                        metadata: state_meta(namespace, name),
                        spec: Some(LeaseSpec::default()),
                    };
                    let lease = claimed(lease, holder, duration, operation, now);
                    self.create_in_namespace(&api, namespace, &lease, &what)
                        .await?
                }
                Some(lease) => {
                    let record = LeaseRecord::of(lease);
                    if record.live_holder(now).is_some_and(|h| h != holder) {
                        return Ok(LeaseOutcome::HeldBy(record));
                    }
                    let lease = claimed(lease.clone(), holder, duration, operation, now);
                    api.replace(name, &PostParams::default(), &lease).await
                }
            };
            match written {
                Ok(lease) => return Ok(LeaseOutcome::Held(LeaseRecord::of(&lease))),
                // 409: another console wrote first (created it, or replaced our version).
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    current = self.get_lease(namespace, name).await?;
                    if let Some(lease) = &current {
                        let record = LeaseRecord::of(lease);
                        if record.live_holder(now).is_some_and(|h| h != holder) {
                            return Ok(LeaseOutcome::HeldBy(record));
                        }
                    }
                }
                Err(e) => return Err(self.api_error(what, e)),
            }
        }
        // Still contended after every attempt: report whoever is there now.
        match self.get_lease(namespace, name).await? {
            Some(lease) => Ok(LeaseOutcome::HeldBy(LeaseRecord::of(&lease))),
            None => Err(Error::BadObject {
                what: format!("context {}: {what}", self.context()),
                message: "the Lease kept changing under concurrent writers".into(),
            }),
        }
    }

    /// Gives the Lease up if `holder` holds it (clean shutdown), so another console takes
    /// over at once instead of after expiry.
    pub async fn release_lease(
        &self,
        namespace: &str,
        name: &str,
        holder: &str,
    ) -> Result<(), Error> {
        let api: Api<Lease> = Api::namespaced(self.client().clone(), namespace);
        let what = format!("release Lease {namespace}/{name} held by {holder}");
        for _ in 0..LEASE_ATTEMPTS {
            let Some(mut lease) = self.get_lease(namespace, name).await? else {
                return Ok(());
            };
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() != Some(holder) {
                return Ok(());
            }
            spec.holder_identity = None;
            spec.renew_time = None;
            spec.acquire_time = None;
            if let Some(annotations) = lease.metadata.annotations.as_mut() {
                annotations.remove(OPERATION_ANNOTATION);
            }
            match api.replace(name, &PostParams::default(), &lease).await {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(status)) if status.code == 409 => {}
                Err(e) => return Err(self.api_error(what, e)),
            }
        }
        Err(Error::BadObject {
            what: format!("context {}: {what}", self.context()),
            message: "the Lease kept changing under concurrent writers".into(),
        })
    }

    async fn get_lease(&self, namespace: &str, name: &str) -> Result<Option<Lease>, Error> {
        let api: Api<Lease> = Api::namespaced(self.client().clone(), namespace);
        super::retry_transient(|| async {
            api.get_opt(name)
                .await
                .map_err(|e| self.api_error(format!("read Lease {namespace}/{name}"), e))
        })
        .await
    }

    /// Creates `obj`; when the server says the namespace does not exist, creates the namespace
    /// and tries once more. The inner result is the create's own answer (409 included).
    async fn create_in_namespace<K>(
        &self,
        api: &Api<K>,
        namespace: &str,
        obj: &K,
        what: &str,
    ) -> Result<Result<K, kube::Error>, Error>
    where
        K: kube::Resource
            + Clone
            + std::fmt::Debug
            + serde::Serialize
            + serde::de::DeserializeOwned,
    {
        match api.create(&PostParams::default(), obj).await {
            Err(kube::Error::Api(status)) if status.code == 404 => {
                self.ensure_namespace(namespace, what).await?;
                Ok(api.create(&PostParams::default(), obj).await)
            }
            other => Ok(other),
        }
    }

    /// Creates the namespace when it is missing — a plain create, never an apply: an apply by
    /// field manager `driftdeck` of a bare Namespace would take away the labels a concurrent
    /// sync just applied under the same manager. Someone else creating it first is fine.
    async fn ensure_namespace(&self, namespace: &str, what: &str) -> Result<(), Error> {
        let api: Api<Namespace> = Api::all(self.client().clone());
        let bare = Namespace {
            metadata: kube::api::ObjectMeta {
                name: Some(namespace.to_owned()),
                ..Default::default()
            },
            ..Default::default()
        };
        // Created under driftdeck's name (an Update, not an Apply): what the server defaults
        // into it is then not a foreign writer's change to show as drift, and a later apply of
        // the env's own Namespace neither conflicts with it nor removes it.
        let params = PostParams {
            field_manager: Some(super::FIELD_MANAGER.to_owned()),
            ..PostParams::default()
        };
        match api.create(&params, &bare).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            Err(e) => Err(self.api_error(format!("{what}: create namespace {namespace}"), e)),
        }
    }
}

impl LeaseRecord {
    fn of(lease: &Lease) -> Self {
        let spec = lease.spec.clone().unwrap_or_default();
        let seconds = spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0);
        Self {
            holder: spec.holder_identity.filter(|h| !h.is_empty()),
            acquired: spec.acquire_time.map(|t| t.0),
            renewed: spec.renew_time.map(|t| t.0),
            duration: Duration::from_secs(seconds),
            operation: lease
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(OPERATION_ANNOTATION))
                .cloned(),
            resource_version: lease.metadata.resource_version.clone(),
        }
    }
}

/// Metadata of a state object: name, namespace and the state labels, no env annotation.
fn state_meta(namespace: &str, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(BTreeMap::from([
            (MANAGED_BY_LABEL.to_owned(), MANAGED_BY_VALUE.to_owned()),
            (STATE_LABEL.to_owned(), "true".to_owned()),
        ])),
        ..ObjectMeta::default()
    }
}

/// `lease` taken (or renewed) by `holder` at `now`, keeping its resourceVersion.
fn claimed(
    mut lease: Lease,
    holder: &str,
    duration: Duration,
    operation: Option<&str>,
    now: Timestamp,
) -> Lease {
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    let renewing = spec.holder_identity.as_deref() == Some(holder);
    if !renewing {
        spec.acquire_time = Some(MicroTime(now));
        if spec
            .holder_identity
            .as_deref()
            .is_some_and(|h| !h.is_empty())
        {
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
    } else if spec.acquire_time.is_none() {
        spec.acquire_time = Some(MicroTime(now));
    }
    spec.holder_identity = Some(holder.to_owned());
    spec.renew_time = Some(MicroTime(now));
    spec.lease_duration_seconds = Some(i32::try_from(duration.as_secs()).unwrap_or(i32::MAX));
    let annotations = lease.metadata.annotations.get_or_insert_with(BTreeMap::new);
    match operation {
        Some(op) => {
            annotations.insert(OPERATION_ANNOTATION.to_owned(), op.to_owned());
        }
        None => {
            annotations.remove(OPERATION_ANNOTATION);
        }
    }
    let labels = lease.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGED_BY_VALUE.to_owned());
    labels.insert(STATE_LABEL.to_owned(), "true".to_owned());
    lease
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn fresh() -> Lease {
        Lease {
            metadata: state_meta("ns", "driftdeck-dev"),
            spec: Some(LeaseSpec::default()),
        }
    }

    #[test]
    fn claim_renew_and_take_over_count_transitions_and_keep_acquire_time() {
        let d = Duration::from_secs(15);
        let first = claimed(fresh(), "a", d, Some("{}"), at(0));
        let spec = first.spec.clone().unwrap();
        assert_eq!(
            spec.lease_transitions, None,
            "a first claim is no transition"
        );
        assert_eq!(spec.lease_duration_seconds, Some(15));
        let renewed = claimed(first, "a", d, None, at(5));
        let r = LeaseRecord::of(&renewed);
        assert_eq!((r.acquired, r.renewed), (Some(at(0)), Some(at(5))));
        assert_eq!(r.operation, None);
        let taken = claimed(renewed, "b", d, None, at(30));
        let r = LeaseRecord::of(&taken);
        assert_eq!(r.holder.as_deref(), Some("b"));
        assert_eq!(r.acquired, Some(at(30)));
        assert_eq!(taken.spec.unwrap().lease_transitions, Some(1));
    }

    #[test]
    fn live_holder_respects_expiry_and_empty_holders() {
        let lease = claimed(fresh(), "a", Duration::from_secs(15), None, at(0));
        let r = LeaseRecord::of(&lease);
        assert_eq!(r.live_holder(at(15)), Some("a"));
        assert_eq!(r.live_holder(at(16)), None);
        let mut empty = lease;
        if let Some(spec) = empty.spec.as_mut() {
            spec.holder_identity = Some(String::new());
        }
        assert_eq!(LeaseRecord::of(&empty).live_holder(at(1)), None);
    }

    #[test]
    fn state_objects_carry_the_state_label_and_no_env_annotation() {
        let meta = state_meta("ns", "driftdeck-dev");
        let labels = meta.labels.unwrap();
        assert_eq!(labels[STATE_LABEL], "true");
        assert_eq!(labels[MANAGED_BY_LABEL], "driftdeck");
        assert!(meta.annotations.is_none());
    }
}
