//! The engine's [`HeldState`] in ConfigMap `driftdeck-<env>` and the Lease of the same name:
//! where they live, how the state is laid out in the ConfigMap's keys, reading and writing it.
//!
//! May import model, config, cluster and the engine's plain data; no Git, no rendering.
//!
//! Layout: one key per concern, each value JSON, so `kubectl get cm driftdeck-dev -o yaml`
//! reads like a status page — `paused`, `hold`, `hold_render_digest`, `last_good`,
//! `synced_revision`, `rejected`, `history` (newest first, at most 50). An absent key is
//! `None`/empty and an empty value is never written.
//!
//! Decisions: a key this version does not know (written by a newer driftdeck, or by hand) is
//! logged and ignored rather than refused, so an upgrade in one console does not blind the
//! others; the next write from this version drops it. A known key whose value does not parse is
//! an error naming the ConfigMap and the key — guessing an empty history or no hold there would
//! let automation redeploy a held revision.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cluster::{self, Cluster, LeaseOutcome};
use crate::config::{Config, EnvConfig};
use crate::model::RunningOperation;

use super::engine::HeldState;

/// How long a Lease stays valid without renewal (the driver renews it every 5 s).
pub const LEASE_DURATION: Duration = Duration::from_secs(15);

const KEY_PAUSED: &str = "paused";
const KEY_HOLD: &str = "hold";
const KEY_HOLD_DIGEST: &str = "hold_render_digest";
const KEY_LAST_GOOD: &str = "last_good";
const KEY_SYNCED: &str = "synced_revision";
const KEY_REJECTED: &str = "rejected";
const KEY_HISTORY: &str = "history";

/// Every key this version reads and writes.
pub const STATE_KEYS: [&str; 7] = [
    KEY_PAUSED,
    KEY_HOLD,
    KEY_HOLD_DIGEST,
    KEY_LAST_GOOD,
    KEY_SYNCED,
    KEY_REJECTED,
    KEY_HISTORY,
];

/// Name of the env's ConfigMap and Lease.
pub fn state_object_name(env: &str) -> String {
    format!("driftdeck-{env}")
}

/// Namespace holding the env's ConfigMap and Lease (config `state_namespace`, default the env's namespace).
pub fn state_namespace(env: &EnvConfig) -> &str {
    &env.state_namespace
}

/// The state as read, with the resourceVersion a write must match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadedState {
    pub state: HeldState,
    /// `None`: the ConfigMap does not exist yet (the first write creates it).
    pub resource_version: Option<String>,
}

/// Reads the env's cluster-held state; a missing ConfigMap is the empty state.
pub async fn load_held(cluster: &Cluster, env: &EnvConfig) -> Result<LoadedState, cluster::Error> {
    let namespace = state_namespace(env);
    let name = state_object_name(&env.name);
    let Some(map) = cluster.read_state(namespace, &name).await? else {
        return Ok(LoadedState::default());
    };
    let label = format!(
        "context {}: ConfigMap {namespace}/{name}",
        cluster.context()
    );
    let state = decode(&map.data, &label)?;
    Ok(LoadedState {
        state,
        resource_version: map.resource_version,
    })
}

/// Connects to the env's cluster (kubeconfig as the config says) and reads its state: for
/// one-shot commands (`history`) that hold no [`Cluster`] of their own.
pub async fn load_held_from(
    config: &Config,
    env: &EnvConfig,
) -> Result<LoadedState, cluster::Error> {
    let kubeconfig = cluster::load_kubeconfig(config.kubeconfig.as_deref())?;
    let cluster = Cluster::connect(kubeconfig.as_ref(), &env.context).await?;
    load_held(&cluster, env).await
}

/// Writes the whole state if the ConfigMap is still at `resource_version` (409 otherwise).
/// Returns the new resourceVersion.
pub async fn store_held(
    cluster: &Cluster,
    env: &EnvConfig,
    state: &HeldState,
    resource_version: Option<&str>,
) -> Result<String, cluster::Error> {
    let namespace = state_namespace(env);
    let name = state_object_name(&env.name);
    let label = format!(
        "context {}: ConfigMap {namespace}/{name}",
        cluster.context()
    );
    let data = encode(state, &label)?;
    cluster
        .write_state(namespace, &name, &data, resource_version)
        .await
}

/// The ConfigMap's `data` for `state`. `label` names the ConfigMap in errors.
pub fn encode(state: &HeldState, label: &str) -> Result<BTreeMap<String, String>, cluster::Error> {
    let mut data = BTreeMap::new();
    let mut put = |key: &str, value: Result<Option<String>, serde_json::Error>| match value {
        Ok(Some(text)) => {
            data.insert(key.to_owned(), text);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(bad_key(label, key, &e)),
    };
    put(KEY_PAUSED, json_opt(state.paused.as_ref()))?;
    put(KEY_HOLD, json_opt(state.hold.as_ref()))?;
    put(KEY_HOLD_DIGEST, json_opt(state.hold_render_digest.as_ref()))?;
    put(KEY_LAST_GOOD, json_opt(state.last_good.as_ref()))?;
    put(KEY_SYNCED, json_opt(state.synced_revision.as_ref()))?;
    put(
        KEY_REJECTED,
        json_opt(Some(&state.rejected).filter(|r| !r.is_empty())),
    )?;
    put(
        KEY_HISTORY,
        json_opt(Some(&state.history).filter(|h| !h.is_empty())),
    )?;
    Ok(data)
}

/// [`HeldState`] from a ConfigMap's `data`. A known key that does not parse is an error naming
/// `label` and the key; unknown keys are logged and ignored.
pub fn decode(data: &BTreeMap<String, String>, label: &str) -> Result<HeldState, cluster::Error> {
    for key in data.keys() {
        if !STATE_KEYS.contains(&key.as_str()) {
            tracing::warn!("{label}: ignoring unknown key {key:?}");
        }
    }
    Ok(HeldState {
        paused: parse_key(data, KEY_PAUSED, label)?,
        hold: parse_key(data, KEY_HOLD, label)?,
        hold_render_digest: parse_key(data, KEY_HOLD_DIGEST, label)?,
        last_good: parse_key(data, KEY_LAST_GOOD, label)?,
        synced_revision: parse_key(data, KEY_SYNCED, label)?,
        rejected: parse_key(data, KEY_REJECTED, label)?.unwrap_or_default(),
        history: parse_key(data, KEY_HISTORY, label)?.unwrap_or_default(),
    })
}

/// Pretty JSON so that multi-field values show one field per line under `kubectl -o yaml`.
fn json_opt<T: Serialize>(value: Option<&T>) -> Result<Option<String>, serde_json::Error> {
    value.map(serde_json::to_string_pretty).transpose()
}

fn parse_key<T: DeserializeOwned>(
    data: &BTreeMap<String, String>,
    key: &str,
    label: &str,
) -> Result<Option<T>, cluster::Error> {
    match data.get(key) {
        // `null` (hand-cleared) reads as absent, like a missing key.
        Some(text) if !text.trim().is_empty() => {
            serde_json::from_str::<Option<T>>(text).map_err(|e| bad_key(label, key, &e))
        }
        _ => Ok(None),
    }
}

fn bad_key(label: &str, key: &str, e: &serde_json::Error) -> cluster::Error {
    cluster::Error::BadObject {
        what: format!("{label}: key {key:?}"),
        message: format!("not valid JSON for this key: {e}"),
    }
}

/// What the env's Lease says now: the live holder and the operation it publishes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseView {
    /// `user@host/pid`; `None` when unheld, released or expired.
    pub holder: Option<String>,
    /// The holder's running operation; `None` when idle or not readable.
    pub operation: Option<RunningOperation>,
}

/// The env's Lease as seen at `now`; a missing Lease is unheld.
pub async fn read_lease_view(
    cluster: &Cluster,
    env: &EnvConfig,
    now: Timestamp,
) -> Result<LeaseView, cluster::Error> {
    let name = state_object_name(&env.name);
    let Some(record) = cluster.read_lease(state_namespace(env), &name).await? else {
        return Ok(LeaseView::default());
    };
    let Some(holder) = record.live_holder(now).map(str::to_owned) else {
        return Ok(LeaseView::default());
    };
    Ok(LeaseView {
        holder: Some(holder),
        operation: record.operation.as_deref().and_then(parse_operation),
    })
}

/// Who holds the env's Lease at `now` (`None`: nobody, or it expired).
pub async fn read_lease_holder(
    cluster: &Cluster,
    env: &EnvConfig,
    now: Timestamp,
) -> Result<Option<String>, cluster::Error> {
    Ok(read_lease_view(cluster, env, now).await?.holder)
}

/// Acquires or renews the env's Lease for `holder` (duration [`LEASE_DURATION`]), publishing
/// `operation` on it.
pub async fn acquire_env_lease(
    cluster: &Cluster,
    env: &EnvConfig,
    holder: &str,
    operation: Option<&RunningOperation>,
    now: Timestamp,
) -> Result<LeaseOutcome, cluster::Error> {
    let operation = operation.map(operation_annotation);
    cluster
        .acquire_lease(
            state_namespace(env),
            &state_object_name(&env.name),
            holder,
            LEASE_DURATION,
            operation.as_deref(),
            now,
        )
        .await
}

/// Gives up the env's Lease if `holder` holds it.
pub async fn release_env_lease(
    cluster: &Cluster,
    env: &EnvConfig,
    holder: &str,
) -> Result<(), cluster::Error> {
    cluster
        .release_lease(state_namespace(env), &state_object_name(&env.name), holder)
        .await
}

/// The Lease annotation text for a running operation (compact JSON).
pub fn operation_annotation(op: &RunningOperation) -> String {
    // A struct of strings, an enum and a timestamp always serializes.
    serde_json::to_string(op).unwrap_or_default()
}

/// The running operation from the Lease annotation; `None` when it does not parse (another
/// version's shape): the holder is still shown, just not what it runs.
pub fn parse_operation(text: &str) -> Option<RunningOperation> {
    serde_json::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::engine::Rejected;
    use crate::model::{FailureReason, HistoryEntry, Hold, OperationKind, OperationResult, Pause};

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    fn full_state() -> HeldState {
        HeldState {
            paused: Some(Pause {
                by: "ana@box/1".into(),
                at: at(100),
                reason: "freeze".into(),
            }),
            hold: Some(Hold {
                revision: "good".into(),
                bad_revision: "bad".into(),
                by: "ana@box/1".into(),
                at: at(200),
                reason: "crashloop".into(),
            }),
            hold_render_digest: Some("d-good".into()),
            last_good: Some("good".into()),
            synced_revision: Some("good".into()),
            rejected: vec![Rejected {
                revision: "bad".into(),
                render_digest: Some("d-bad".into()),
            }],
            history: vec![HistoryEntry {
                id: "ana-1".into(),
                op: OperationKind::AutoRollback,
                revision: "good".into(),
                render_digest: "d-good".into(),
                operator: "ana@box/1".into(),
                started: at(150),
                finished: Some(at(160)),
                result: OperationResult::Failed,
                resources_changed: 3,
                failure: Some(FailureReason::Degraded("api: CrashLoopBackOff".into())),
            }],
        }
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let state = full_state();
        let data = encode(&state, "cm").unwrap();
        assert_eq!(
            data.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "history",
                "hold",
                "hold_render_digest",
                "last_good",
                "paused",
                "rejected",
                "synced_revision"
            ]
        );
        assert_eq!(data["last_good"], "\"good\"");
        assert_eq!(decode(&data, "cm").unwrap(), state);
    }

    #[test]
    fn empty_state_writes_no_keys_and_reads_back_empty() {
        let data = encode(&HeldState::default(), "cm").unwrap();
        assert!(data.is_empty(), "{data:?}");
        assert_eq!(decode(&data, "cm").unwrap(), HeldState::default());
    }

    #[test]
    fn garbled_value_names_configmap_and_key() {
        let mut data = encode(&full_state(), "cm").unwrap();
        data.insert("hold".into(), "{not json".into());
        let err = decode(&data, "context dev: ConfigMap ns/driftdeck-dev")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ConfigMap ns/driftdeck-dev"), "{err}");
        assert!(err.contains("\"hold\""), "{err}");
    }

    #[test]
    fn wrong_shape_is_an_error_too() {
        let data = BTreeMap::from([("history".to_string(), "{\"a\":1}".to_string())]);
        let err = decode(&data, "cm").unwrap_err().to_string();
        assert!(err.contains("\"history\""), "{err}");
    }

    #[test]
    fn unknown_keys_and_null_values_are_ignored() {
        let data = BTreeMap::from([
            ("future_key".to_string(), "{{{".to_string()),
            ("paused".to_string(), "null".to_string()),
            ("last_good".to_string(), "\"abc\"".to_string()),
        ]);
        let state = decode(&data, "cm").unwrap();
        assert_eq!(state.last_good.as_deref(), Some("abc"));
        assert!(state.paused.is_none());
    }

    #[test]
    fn a_full_history_stays_far_below_the_configmap_limit() {
        let mut state = full_state();
        let entry = state.history[0].clone();
        state.history = (0..crate::controller::engine::HISTORY_LIMIT)
            .map(|i| HistoryEntry {
                id: format!("ana@box/1-{i}"),
                revision: "0123456789abcdef0123456789abcdef01234567".into(),
                render_digest: "f".repeat(64),
                failure: Some(FailureReason::Apply("x".repeat(300))),
                ..entry.clone()
            })
            .collect();
        let data = encode(&state, "cm").unwrap();
        let size: usize = data.iter().map(|(k, v)| k.len() + v.len()).sum();
        // 1 MiB is the object limit; leave room for hand-added annotations.
        assert!(size < 100_000, "{size} bytes");
        assert_eq!(decode(&data, "cm").unwrap().history.len(), 50);
    }

    #[test]
    fn operation_annotation_roundtrips() {
        let op = RunningOperation {
            op: OperationKind::Sync,
            revision: "abc".into(),
            by: "ana@box/1".into(),
            started: at(5),
            phase: "applying 3/10".into(),
        };
        assert_eq!(parse_operation(&operation_annotation(&op)), Some(op));
        assert_eq!(parse_operation("syncing"), None);
    }
}
