//! Reading a Flux `Kustomization` (kustomize.toolkit.fluxcd.io/v1) and its `GitRepository`
//! (source.toolkit.fluxcd.io/v1) into driftdeck's [`EnvState`] words. Pure: JSON in, data out;
//! the fields and their meaning are the ones `../shared/engines/README.md` lists from Flux's
//! own docs (kustomizations.md "Kustomization Status", gitrepositories.md).
//!
//! Decisions (where Flux and driftdeck's words differ):
//! - `revision` (what Git wants) is the GitRepository's `status.artifact.revision`: what the
//!   source controller fetched and the Kustomization will apply next. Without a readable
//!   GitRepository it is `lastAttemptedRevision`. `synced_revision` is `lastAppliedRevision`,
//!   `attempted_revision` is `lastAttemptedRevision`.
//!   Revisions are shown as their SHA (`main@sha1:abc…` → `abc…`), the form driftdeck's history
//!   and `short_sha` use; the full Flux revision is kept in messages.
//! - `sync`: `Unknown` before the controller ever reported (no `Ready` condition); `OutOfSync`
//!   when the attempted revision differs from the applied one (failing on the new revision), when
//!   the fetched source revision is not the applied one yet, or when driftdeck's own diff finds
//!   drift (added by the caller); else `Synced`.
//! - `health`: `Stalled=True` → Degraded; `Ready=False` → Degraded with the reason
//!   (`HealthCheckFailed`, `BuildFailed`, …) and message, except `DependencyNotReady` and
//!   `Progressing*` reasons, which are Progressing; `Reconciling=True` or `Ready=Unknown` →
//!   Progressing; `Ready=True` → Healthy unless the `Healthy` condition is False (Degraded).
//! - `error`: the Stalled or failing Ready message, and "failing on <attempted> (applied
//!   <applied>)" when they differ; `None` when Flux reports nothing wrong.
//! - `spec.suspend` → `paused`, by `fluxcd.controlplane.io/suspendedBy` (what Flux's web UI
//!   writes; "unknown" when absent), at the time of the managedFields entry that owns
//!   `spec.suspend` (Flux records no suspend time; creation time as the last resort), with the
//!   reason driftdeck wrote in `driftdeck.io/suspend-reason`. `automation` then says what a
//!   suspended Kustomization does not do and how it ends.
//! - `status.history` (Flux keeps the last 5, newest first) → [`HistoryEntry`]s of kind
//!   auto-sync (Flux reconciles on its interval; it does not record who asked), operator
//!   `kustomize-controller`, started/finished = first/last reconciled, result from
//!   `lastReconciledStatus`. `render_digest` is Flux's digest.
//! - `status.inventory.entries[].id` (`<ns>_<name>_<group>_<kind>`) → resources; their
//!   sync/health are refined by driftdeck's own observation when the caller has one. An
//!   inventory object driftdeck's render no longer has is Extra drift (what Flux prunes, with
//!   `prune: true`, on its next reconcile), found by the caller.
//! - An unhandled `reconcile.fluxcd.io/requestedAt` (annotation ≠ `lastHandledReconcileAt`) or
//!   `Reconciling=True` is the running operation.

use jiff::Timestamp;
use serde_json::Value;

use crate::model::{
    EnvState, FailureReason, Health, HealthCode, HistoryEntry, OperationKind, OperationResult,
    Pause, ResourceKey, ResourceRow, RunningOperation, SyncStatus,
};

/// The annotation whose new value asks Flux to reconcile now.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
/// Who suspended it (Flux web UI's annotation).
pub const SUSPENDED_BY: &str = "fluxcd.controlplane.io/suspendedBy";
/// driftdeck's own note of why it suspended (`pause --reason`).
pub const SUSPEND_REASON: &str = "driftdeck.io/suspend-reason";
/// Who Flux's history entries are credited to.
pub const FLUX_OPERATOR: &str = "kustomize-controller";

/// One `status.conditions[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Condition {
    pub status: String,
    pub reason: String,
    pub message: String,
    pub since: Option<Timestamp>,
}

impl Condition {
    fn is(&self, status: &str) -> bool {
        self.status == status
    }
}

/// A Kustomization (and its source) as driftdeck reads it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FluxStatus {
    pub ready: Option<Condition>,
    pub reconciling: Option<Condition>,
    pub stalled: Option<Condition>,
    pub healthy: Option<Condition>,
    pub last_applied: Option<String>,
    pub last_attempted: Option<String>,
    pub last_handled_reconcile_at: Option<String>,
    pub requested_at: Option<String>,
    pub inventory: Vec<ResourceKey>,
    /// Each inventory entry's version (`v`), to address the live object.
    pub inventory_versions: std::collections::BTreeMap<ResourceKey, String>,
    pub history: Vec<HistoryEntry>,
    pub suspended: bool,
    pub suspended_by: Option<String>,
    pub suspend_reason: Option<String>,
    pub suspended_at: Option<Timestamp>,
    /// `spec.path`, as written (`./kustomize`).
    pub spec_path: Option<String>,
    pub target_namespace: Option<String>,
    /// The GitRepository's `status.artifact.revision`, when it was read.
    pub source_revision: Option<String>,
    /// The GitRepository's `status.lastHandledReconcileAt`, when it was read.
    pub source_handled_reconcile_at: Option<String>,
    pub source_ready: Option<Condition>,
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn time(v: &Value, pointer: &str) -> Option<Timestamp> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn condition(obj: &Value, kind: &str) -> Option<Condition> {
    let c = obj
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?;
    Some(Condition {
        status: text(c, "/status").unwrap_or_else(|| "Unknown".into()),
        reason: text(c, "/reason").unwrap_or_default(),
        message: text(c, "/message").unwrap_or_default(),
        since: time(c, "/lastTransitionTime"),
    })
}

/// The SHA of a Flux revision (`main@sha1:abc` → `abc`, `sha256:d` → `d`); other forms verbatim.
pub fn sha_of(revision: &str) -> &str {
    let after_at = revision.rsplit_once('@').map_or(revision, |(_, r)| r);
    after_at.split_once(':').map_or(after_at, |(_, sha)| sha)
}

/// An inventory id `<ns>_<name>_<group>_<kind>` as a key (`None` when malformed).
pub fn inventory_key(id: &str) -> Option<ResourceKey> {
    // Names and namespaces are DNS names (no '_'); groups have none either, so four fields.
    let mut parts = id.splitn(4, '_');
    let namespace = parts.next()?;
    let name = parts.next()?;
    let group = parts.next()?;
    let kind = parts.next()?;
    (!name.is_empty() && !kind.is_empty()).then(|| ResourceKey::new(group, kind, namespace, name))
}

fn history_entry(h: &Value) -> Option<HistoryEntry> {
    let started = time(h, "/firstReconciled")?;
    let status = text(h, "/lastReconciledStatus").unwrap_or_default();
    let succeeded = status == "ReconciliationSucceeded";
    let revision = text(h, "/metadata/revision").unwrap_or_default();
    Some(HistoryEntry {
        id: text(h, "/digest").unwrap_or_default(),
        op: OperationKind::AutoSync,
        revision: sha_of(&revision).to_owned(),
        render_digest: text(h, "/digest").unwrap_or_default(),
        operator: FLUX_OPERATOR.to_owned(),
        started,
        finished: time(h, "/lastReconciled"),
        result: if succeeded {
            OperationResult::Succeeded
        } else {
            OperationResult::Failed
        },
        resources_changed: 0,
        failure: (!succeeded).then(|| {
            FailureReason::Degraded(format!(
                "{status} at {revision} ({} reconciliations)",
                h.get("totalReconciliations")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            ))
        }),
    })
}

/// When a `requestedAt` value was written: RFC 3339 (what driftdeck and `flux reconcile`
/// write), else integer Unix seconds (what some scripts write).
fn requested_time(token: &str) -> Option<Timestamp> {
    token.parse::<Timestamp>().ok().or_else(|| {
        token
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
    })
}

/// When `spec.suspend` was last written: the managedFields entry that owns it.
fn suspend_time(ks: &Value) -> Option<Timestamp> {
    ks.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .filter(|e| {
            e.pointer("/fieldsV1/f:spec/f:suspend").is_some()
                && e.get("subresource").and_then(Value::as_str).is_none()
        })
        .filter_map(|e| time(e, "/time"))
        .max()
}

/// `status.inventory.entries`, in one walk: the keys in order and each key's version.
fn inventory(
    ks: &Value,
) -> (
    Vec<ResourceKey>,
    std::collections::BTreeMap<ResourceKey, String>,
) {
    let mut keys = Vec::new();
    let mut versions = std::collections::BTreeMap::new();
    let entries = ks
        .pointer("/status/inventory/entries")
        .and_then(Value::as_array);
    for e in entries.into_iter().flatten() {
        let Some(key) = e.get("id").and_then(Value::as_str).and_then(inventory_key) else {
            continue;
        };
        if let Some(v) = e.get("v").and_then(Value::as_str) {
            versions.insert(key.clone(), v.to_owned());
        }
        keys.push(key);
    }
    (keys, versions)
}

/// Reads a Kustomization and (when it could be read) its GitRepository.
pub fn read(ks: &Value, source: Option<&Value>) -> FluxStatus {
    let annotation = |name: &str| {
        ks.pointer("/metadata/annotations")
            .and_then(|a| a.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let suspended = ks.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
    let (inventory, inventory_versions) = inventory(ks);
    FluxStatus {
        ready: condition(ks, "Ready"),
        reconciling: condition(ks, "Reconciling"),
        stalled: condition(ks, "Stalled"),
        healthy: condition(ks, "Healthy"),
        last_applied: text(ks, "/status/lastAppliedRevision"),
        last_attempted: text(ks, "/status/lastAttemptedRevision"),
        last_handled_reconcile_at: text(ks, "/status/lastHandledReconcileAt"),
        requested_at: annotation(REQUESTED_AT),
        inventory,
        inventory_versions,
        history: ks
            .pointer("/status/history")
            .and_then(Value::as_array)
            .map(|hs| hs.iter().filter_map(history_entry).collect())
            .unwrap_or_default(),
        suspended,
        suspended_by: annotation(SUSPENDED_BY),
        suspend_reason: annotation(SUSPEND_REASON),
        suspended_at: suspended
            .then(|| suspend_time(ks).or_else(|| time(ks, "/metadata/creationTimestamp")))
            .flatten(),
        spec_path: text(ks, "/spec/path"),
        target_namespace: text(ks, "/spec/targetNamespace"),
        source_revision: source.and_then(|s| text(s, "/status/artifact/revision")),
        source_handled_reconcile_at: source.and_then(|s| text(s, "/status/lastHandledReconcileAt")),
        source_ready: source.and_then(|s| condition(s, "Ready")),
    }
}

impl FluxStatus {
    /// The `apiVersion` of an inventory entry (`apps/v1`, `v1`), when its version is known.
    pub fn api_version_of(&self, key: &ResourceKey) -> Option<String> {
        let v = self.inventory_versions.get(key)?;
        Some(if key.group.is_empty() {
            v.clone()
        } else {
            format!("{}/{v}", key.group)
        })
    }

    /// Whether the controller has handled the reconcile request `token`.
    pub fn handled(&self, token: &str) -> bool {
        self.last_handled_reconcile_at.as_deref() == Some(token)
    }

    /// Whether source-controller has handled the reconcile request `token` on the
    /// GitRepository (`false` when the GitRepository could not be read).
    pub fn source_handled(&self, token: &str) -> bool {
        self.source_handled_reconcile_at.as_deref() == Some(token)
    }

    /// The applied revision differs from the one Flux last tried: it is failing on the new one.
    pub fn failing_on_new_revision(&self) -> Option<(&str, &str)> {
        match (self.last_attempted.as_deref(), self.last_applied.as_deref()) {
            (Some(attempted), applied) if Some(attempted) != applied => {
                Some((attempted, applied.unwrap_or("nothing")))
            }
            _ => None,
        }
    }

    pub fn health(&self) -> Health {
        let say = |c: &Condition| {
            if c.message.is_empty() {
                c.reason.clone()
            } else {
                format!("{}: {}", c.reason, c.message)
            }
        };
        if let Some(c) = self.stalled.as_ref().filter(|c| c.is("True")) {
            return Health::new(HealthCode::Degraded, format!("stalled: {}", say(c)));
        }
        let Some(ready) = &self.ready else {
            return Health::new(
                HealthCode::Unknown,
                "no Ready condition yet: kustomize-controller has not reported on it",
            );
        };
        if ready.is("False") {
            let waiting =
                ready.reason == "DependencyNotReady" || ready.reason.starts_with("Progressing");
            let code = if waiting {
                HealthCode::Progressing
            } else {
                HealthCode::Degraded
            };
            return Health::new(code, say(ready));
        }
        if let Some(c) = self.reconciling.as_ref().filter(|c| c.is("True")) {
            return Health::new(HealthCode::Progressing, say(c));
        }
        if !ready.is("True") {
            return Health::new(HealthCode::Progressing, say(ready));
        }
        if let Some(c) = self.healthy.as_ref().filter(|c| c.is("False")) {
            return Health::new(HealthCode::Degraded, say(c));
        }
        Health::new(HealthCode::Healthy, say(ready))
    }

    pub fn sync(&self) -> SyncStatus {
        if self.ready.is_none() {
            return SyncStatus::Unknown;
        }
        let behind_source = match (&self.source_revision, &self.last_applied) {
            (Some(fetched), Some(applied)) => sha_of(fetched) != sha_of(applied),
            (Some(_), None) => true,
            _ => false,
        };
        if self.failing_on_new_revision().is_some() || behind_source {
            SyncStatus::OutOfSync
        } else {
            SyncStatus::Synced
        }
    }

    pub fn error(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(c) = self.stalled.as_ref().filter(|c| c.is("True")) {
            parts.push(format!("stalled ({}): {}", c.reason, c.message));
        } else if let Some(c) = self.ready.as_ref().filter(|c| c.is("False"))
            && self.health().code == HealthCode::Degraded
        {
            parts.push(format!("{}: {}", c.reason, c.message));
        }
        if let Some((attempted, applied)) = self.failing_on_new_revision() {
            parts.push(format!("failing on {attempted} (applied {applied})"));
        }
        if let Some(c) = self.source_ready.as_ref().filter(|c| c.is("False")) {
            parts.push(format!("source: {}: {}", c.reason, c.message));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    pub fn pause(&self) -> Option<Pause> {
        self.suspended.then(|| Pause {
            by: self
                .suspended_by
                .clone()
                .unwrap_or_else(|| "unknown (no fluxcd.controlplane.io/suspendedBy)".into()),
            at: self.suspended_at.unwrap_or(Timestamp::UNIX_EPOCH),
            reason: self.suspend_reason.clone().unwrap_or_default(),
        })
    }

    /// The running operation: an unhandled reconcile request, else Flux reconciling.
    pub fn operation(&self) -> Option<RunningOperation> {
        let revision = self
            .last_attempted
            .as_deref()
            .map(|r| sha_of(r).to_owned())
            .unwrap_or_default();
        if let Some(token) = &self.requested_at
            && !self.handled(token)
        {
            return Some(RunningOperation {
                op: OperationKind::Sync,
                revision,
                by: "reconcile.fluxcd.io/requestedAt".into(),
                started: requested_time(token).unwrap_or(Timestamp::UNIX_EPOCH),
                phase: format!("requested at {token}, not handled yet"),
            });
        }
        let c = self.reconciling.as_ref().filter(|c| c.is("True"))?;
        Some(RunningOperation {
            op: OperationKind::AutoSync,
            revision,
            by: FLUX_OPERATOR.into(),
            started: c.since.unwrap_or(Timestamp::UNIX_EPOCH),
            phase: format!("{}: {}", c.reason, c.message),
        })
    }

    /// Why Flux is not deploying what Git has, and how that ends; `None` when it is free to.
    pub fn automation(&self, env: &str) -> Option<String> {
        if self.suspended {
            return Some(format!(
                "suspended in Flux (spec.suspend): no new revisions, no drift correction; \
                 `driftdeck resume {env}` ends it"
            ));
        }
        self.failing_on_new_revision().map(|(attempted, _)| {
            format!("Flux is failing on {attempted}; it retries on its interval (`driftdeck sync {env}` retries now)")
        })
    }

    /// Folds this into `state` (a base state for the env): everything the CR says.
    pub fn apply_to(&self, state: &mut EnvState) {
        state.revision = self
            .source_revision
            .as_deref()
            .or(self.last_attempted.as_deref())
            .map(|r| sha_of(r).to_owned());
        state.synced_revision = self.last_applied.as_deref().map(|r| sha_of(r).to_owned());
        state.attempted_revision = self.last_attempted.as_deref().map(|r| sha_of(r).to_owned());
        state.sync = self.sync();
        state.health = self.health();
        state.error = self.error();
        state.paused = self.pause();
        state.hold = None;
        state.automation = self.automation(&state.name);
        state.operation = self.operation();
        state.lease_holder = None;
        state.history = self.history.clone();
        let code = state.health.code;
        state.resources = self
            .inventory
            .iter()
            .map(|key| ResourceRow {
                key: key.clone(),
                sync: SyncStatus::Synced,
                health: Health::new(
                    if code == HealthCode::Healthy {
                        HealthCode::Healthy
                    } else {
                        HealthCode::Unknown
                    },
                    "",
                ),
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's fixture (../shared/engines/README.md, Flux), verbatim.
    const FIXTURE: &str = include_str!("../../../../tests/fixtures/engines/flux-podinfo.yaml");

    fn fixture() -> (Value, Value) {
        let docs: Vec<Value> = serde_saphyr::from_multiple(FIXTURE).unwrap();
        (docs[0].clone(), docs[1].clone())
    }

    fn set(v: &mut Value, pointer: &str, value: Value) {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let slot = v.pointer_mut(parent).unwrap();
        slot.as_object_mut().unwrap().insert(key.to_owned(), value);
    }

    #[test]
    fn the_readme_fixture_reads_as_ready_and_applied() {
        let (ks, git) = fixture();
        let s = read(&ks, Some(&git));
        assert_eq!(
            s.last_applied.as_deref(),
            Some("master@sha1:450796ddb2ab6724ee1cc32a4be56da032d1cca0")
        );
        assert!(s.handled("1733500000"));
        assert_eq!(s.health().code, HealthCode::Healthy);
        assert_eq!(
            s.inventory,
            vec![
                ResourceKey::new("", "Service", "default", "podinfo"),
                ResourceKey::new("apps", "Deployment", "default", "podinfo"),
                ResourceKey::new(
                    "autoscaling",
                    "HorizontalPodAutoscaler",
                    "default",
                    "podinfo"
                ),
            ]
        );
        assert_eq!(
            s.api_version_of(&ResourceKey::new(
                "apps",
                "Deployment",
                "default",
                "podinfo"
            )),
            Some("apps/v1".to_owned())
        );
        assert_eq!(
            s.api_version_of(&ResourceKey::new("", "Service", "default", "podinfo")),
            Some("v1".to_owned())
        );
        assert_eq!(s.history.len(), 2);
        assert_eq!(
            s.history[0].revision,
            "450796ddb2ab6724ee1cc32a4be56da032d1cca0"
        );
        assert_eq!(s.history[0].result, OperationResult::Succeeded);
        assert_eq!(s.history[1].result, OperationResult::Failed);
        assert!(
            s.history[1]
                .failure
                .as_ref()
                .unwrap()
                .to_string()
                .contains("HealthCheckFailed")
        );
        assert_eq!(s.spec_path.as_deref(), Some("./kustomize"));
        let target = super::super::api::Target {
            name: "podinfo".into(),
            namespace: "default".into(),
        };
        assert_eq!(
            super::super::api::source_of(&ks, &target),
            Some(("podinfo".into(), "default".into()))
        );
        // The source fetched a newer commit than the one applied: Flux has not applied it yet.
        assert_eq!(s.sync(), SyncStatus::OutOfSync);
        let mut state = EnvState::unknown("apps");
        s.apply_to(&mut state);
        assert_eq!(
            state.revision.as_deref(),
            Some("363a6a8fe6a7f13e05d34c163b0ef02a777da20a")
        );
        assert_eq!(
            state.synced_revision.as_deref(),
            Some("450796ddb2ab6724ee1cc32a4be56da032d1cca0")
        );
        assert_eq!(state.error, None);
        assert_eq!(state.paused, None);
        assert_eq!(state.operation, None);
        assert_eq!(state.resources.len(), 3);
    }

    #[test]
    fn the_same_revision_fetched_and_applied_is_synced() {
        let (ks, mut git) = fixture();
        set(
            &mut git,
            "/status/artifact/revision",
            "master@sha1:450796ddb2ab6724ee1cc32a4be56da032d1cca0".into(),
        );
        assert_eq!(read(&ks, Some(&git)).sync(), SyncStatus::Synced);
        assert_eq!(read(&ks, None).sync(), SyncStatus::Synced);
    }

    #[test]
    fn a_failed_health_check_on_a_new_revision_is_degraded_out_of_sync_and_says_so() {
        let (mut ks, _) = fixture();
        set(
            &mut ks,
            "/status/lastAttemptedRevision",
            "master@sha1:67e2c98a60dc92283531412a9e604dd4bae005a9".into(),
        );
        set(
            &mut ks,
            "/status/conditions",
            serde_json::json!([
                {"type": "Ready", "status": "False", "reason": "HealthCheckFailed",
                 "message": "health check failed after 1m0s: timeout waiting for: [Deployment/default/podinfo status: 'InProgress']",
                 "lastTransitionTime": "2023-03-07T11:20:00Z"},
                {"type": "Reconciling", "status": "True", "reason": "ProgressingWithRetry",
                 "message": "Detecting drift for revision master@sha1:67e2c98a with a timeout of 1m0s",
                 "lastTransitionTime": "2023-03-07T11:19:00Z"}
            ]),
        );
        let s = read(&ks, None);
        assert_eq!(s.health().code, HealthCode::Degraded);
        assert!(
            s.health()
                .message
                .starts_with("HealthCheckFailed: health check failed")
        );
        let mut state = EnvState::unknown("apps");
        s.apply_to(&mut state);
        assert_eq!(
            state.attempted_revision.as_deref(),
            Some("67e2c98a60dc92283531412a9e604dd4bae005a9")
        );
        assert_ne!(state.attempted_revision, state.synced_revision);
        assert_eq!(s.sync(), SyncStatus::OutOfSync);
        let error = s.error().unwrap();
        assert!(error.contains("HealthCheckFailed"), "{error}");
        assert!(
            error.contains(
                "failing on master@sha1:67e2c98a60dc92283531412a9e604dd4bae005a9 (applied master@sha1:450796ddb2ab6724ee1cc32a4be56da032d1cca0)"
            ),
            "{error}"
        );
        let op = s.operation().unwrap();
        assert_eq!(op.op, OperationKind::AutoSync);
        assert!(op.phase.starts_with("ProgressingWithRetry"), "{}", op.phase);
        assert!(s.automation("apps").unwrap().contains("failing on"));
    }

    #[test]
    fn a_suspended_kustomization_is_paused_by_whoever_suspendedby_names() {
        let (mut ks, _) = fixture();
        set(&mut ks, "/spec/suspend", true.into());
        set(
            &mut ks,
            "/metadata/annotations",
            serde_json::json!({SUSPENDED_BY: "alice@example.com", SUSPEND_REASON: "incident 42"}),
        );
        set(
            &mut ks,
            "/metadata/managedFields",
            serde_json::json!([
                {"manager": "flux-client-side-apply", "operation": "Update",
                 "time": "2025-08-16T09:00:00Z", "fieldsV1": {"f:spec": {"f:suspend": {}}}},
                {"manager": "kustomize-controller", "operation": "Update", "subresource": "status",
                 "time": "2025-08-17T09:00:00Z", "fieldsV1": {"f:status": {}}}
            ]),
        );
        let s = read(&ks, None);
        let pause = s.pause().unwrap();
        assert_eq!(pause.by, "alice@example.com");
        assert_eq!(pause.reason, "incident 42");
        assert_eq!(
            pause.at,
            "2025-08-16T09:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(
            s.automation("apps")
                .unwrap()
                .starts_with("suspended in Flux")
        );
        set(&mut ks, "/metadata/annotations", serde_json::json!({}));
        assert!(read(&ks, None).pause().unwrap().by.starts_with("unknown"));
    }

    #[test]
    fn an_unhandled_reconcile_request_is_the_running_operation() {
        let (mut ks, _) = fixture();
        set(
            &mut ks,
            "/metadata/annotations",
            serde_json::json!({REQUESTED_AT: "1733500100"}),
        );
        let s = read(&ks, None);
        assert!(!s.handled("1733500100"));
        let op = s.operation().unwrap();
        assert_eq!(op.op, OperationKind::Sync);
        assert_eq!(op.phase, "requested at 1733500100, not handled yet");
    }

    #[test]
    fn a_source_request_is_handled_once_the_gitrepository_echoes_it() {
        let (ks, mut git) = fixture();
        let token = "2025-08-16T09:00:00.123456789Z";
        assert!(!read(&ks, Some(&git)).source_handled(token));
        set(&mut git, "/status/lastHandledReconcileAt", token.into());
        let s = read(&ks, Some(&git));
        assert!(s.source_handled(token));
        assert!(!s.source_handled("2025-08-16T09:00:01Z"));
        // The Kustomization's own echo is not the source's.
        assert!(!read(&ks, None).source_handled("1733500000"));
    }

    #[test]
    fn a_reconcile_request_in_rfc3339_or_unix_seconds_started_when_it_says() {
        let (mut ks, _) = fixture();
        let token = "2025-08-16T09:00:00.123456789Z";
        set(
            &mut ks,
            "/metadata/annotations",
            serde_json::json!({REQUESTED_AT: token}),
        );
        let op = read(&ks, None).operation().unwrap();
        assert_eq!(op.started, token.parse::<Timestamp>().unwrap());
        set(
            &mut ks,
            "/metadata/annotations",
            serde_json::json!({REQUESTED_AT: "1733500100"}),
        );
        let op = read(&ks, None).operation().unwrap();
        assert_eq!(op.started, Timestamp::from_second(1_733_500_100).unwrap());
    }

    #[test]
    fn no_status_yet_is_unknown_not_healthy() {
        let ks = serde_json::json!({"metadata": {"name": "a", "namespace": "flux-system"},
                                    "spec": {"path": "./x"}});
        let s = read(&ks, None);
        assert_eq!(s.sync(), SyncStatus::Unknown);
        assert_eq!(s.health().code, HealthCode::Unknown);
        assert_eq!(s.error(), None);
    }

    #[test]
    fn stalled_wins_over_ready() {
        let (mut ks, _) = fixture();
        let mut conditions = ks.pointer("/status/conditions").unwrap().clone();
        conditions.as_array_mut().unwrap().push(serde_json::json!(
            {"type": "Stalled", "status": "True", "reason": "AccessDenied",
             "message": "cross-namespace references are not allowed"}));
        set(&mut ks, "/status/conditions", conditions);
        let s = read(&ks, None);
        assert_eq!(s.health().code, HealthCode::Degraded);
        assert!(s.error().unwrap().starts_with("stalled (AccessDenied)"));
    }

    #[test]
    fn revisions_and_inventory_ids_parse_their_flux_forms() {
        assert_eq!(sha_of("main@sha1:abc"), "abc");
        assert_eq!(sha_of("sha256:def"), "def");
        assert_eq!(sha_of("v1.0.1@sha1:abc"), "abc");
        assert_eq!(sha_of("abc"), "abc");
        assert_eq!(
            inventory_key("_shop__Namespace"),
            Some(ResourceKey::new("", "Namespace", "", "shop"))
        );
        assert_eq!(inventory_key("bad"), None);
    }
}
