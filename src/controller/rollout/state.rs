//! A rollout's progress as it is kept in the cluster: ConfigMap `driftdeck-rollout-<name>`, key
//! `rollout` (one JSON value), in the state namespace of the first env of the first wave, on that
//! env's cluster. Written whole with the resourceVersion it was read at, so two processes
//! driving the same rollout cannot both advance it: the second write loses with a 409 and the
//! loser stops with a message naming the ConfigMap.
//!
//! Why one ConfigMap and not keys in each env's `driftdeck-<env>`: the rollout is one record
//! (which wave, why it halted) that must change atomically; spread over three clusters, a crash
//! between writes would leave waves disagreeing about where the rollout is.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::cluster::{self, Cluster};
use crate::config::{Config, RolloutConfig};

/// The ConfigMap key holding the JSON record.
pub const KEY: &str = "rollout";

// The words are the model's, so the console's row and this record cannot drift apart.
pub use crate::model::{RolloutHaltRow as Halt, RolloutPhase as Phase, WaveState};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveRecord {
    pub envs: Vec<String>,
    pub state: WaveState,
    /// The promotion commit per env of the wave (absent when FROM's versions were already there).
    #[serde(default)]
    pub commits: BTreeMap<String, String>,
    /// The revision the wave's envs were synced to.
    #[serde(default)]
    pub revision: Option<String>,
    #[serde(default)]
    pub soak_started_at: Option<Timestamp>,
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutState {
    pub name: String,
    pub from: String,
    pub phase: Phase,
    /// 0-based index of the wave in progress (== waves.len() when done).
    pub wave: usize,
    pub waves: Vec<WaveRecord>,
    /// FROM's live images when the rollout started (workload → `container=image`): what every
    /// wave gets. FROM changing under a running rollout halts it.
    #[serde(default)]
    pub from_images: BTreeMap<String, Vec<String>>,
    pub started_by: String,
    pub started_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub halt: Option<Halt>,
}

impl RolloutState {
    /// A fresh record: every wave pending.
    pub fn new(
        rollout: &RolloutConfig,
        from_images: BTreeMap<String, Vec<String>>,
        by: &str,
    ) -> Self {
        let now = Timestamp::now();
        Self {
            name: rollout.name.clone(),
            from: rollout.from.clone(),
            phase: Phase::Running,
            wave: 0,
            waves: rollout
                .waves
                .iter()
                .map(|envs| WaveRecord {
                    envs: envs.clone(),
                    state: WaveState::Pending,
                    commits: BTreeMap::new(),
                    revision: None,
                    soak_started_at: None,
                    finished_at: None,
                })
                .collect(),
            from_images,
            started_by: by.to_owned(),
            started_at: now,
            updated_at: now,
            halt: None,
        }
    }
}

/// The ConfigMap's name.
pub fn object_name(rollout: &str) -> String {
    format!("driftdeck-rollout-{rollout}")
}

/// The rollout's record in its cluster, with the resourceVersion a write must match.
pub struct RolloutStore {
    cluster: Cluster,
    namespace: String,
    name: String,
    resource_version: Option<String>,
}

impl RolloutStore {
    /// Connects to the first wave env's cluster.
    pub async fn connect(config: &Config, rollout: &RolloutConfig) -> Result<Self, cluster::Error> {
        let home = rollout
            .waves
            .first()
            .and_then(|w| w.first())
            .and_then(|e| config.env(e))
            .ok_or_else(|| cluster::Error::BadObject {
                what: format!("rollout {}", rollout.name),
                message: "has no first env".into(),
            })?;
        let kubeconfig = cluster::load_kubeconfig(config.kubeconfig.as_deref())?;
        let cluster = Cluster::connect(kubeconfig.as_ref(), &home.context).await?;
        Ok(Self {
            cluster,
            namespace: home.state_namespace.clone(),
            name: object_name(&rollout.name),
            resource_version: None,
        })
    }

    /// `context C: ConfigMap NS/NAME`, for messages.
    pub fn label(&self) -> String {
        format!(
            "context {}: ConfigMap {}/{}",
            self.cluster.context(),
            self.namespace,
            self.name
        )
    }

    /// Reads the record (`None`: never started).
    pub async fn load(&mut self) -> Result<Option<RolloutState>, cluster::Error> {
        let Some(map) = self.cluster.read_state(&self.namespace, &self.name).await? else {
            self.resource_version = None;
            return Ok(None);
        };
        self.resource_version = map.resource_version;
        let Some(text) = map.data.get(KEY) else {
            return Ok(None);
        };
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| cluster::Error::BadObject {
                what: format!("{}: key {KEY}", self.label()),
                message: e.to_string(),
            })
    }

    /// Writes the whole record if nobody wrote since this store last read or wrote it.
    pub async fn save(&mut self, state: &mut RolloutState) -> Result<(), cluster::Error> {
        state.updated_at = Timestamp::now();
        let text = serde_json::to_string(state).map_err(|e| cluster::Error::BadObject {
            what: self.label(),
            message: e.to_string(),
        })?;
        let data = BTreeMap::from([(KEY.to_owned(), text)]);
        let rv = self
            .cluster
            .write_state(
                &self.namespace,
                &self.name,
                &data,
                self.resource_version.as_deref(),
            )
            .await?;
        self.resource_version = Some(rv);
        Ok(())
    }
}
