//! Stage one: serde types that mirror `driftdeck.yaml` field for field (ripgrep's `LowArgs`).
//! Unknown fields are rejected here; values stay as written (durations as text, paths
//! unresolved) and carry their positions so stage two can point at them.

use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub repo: Spanned<RawRepo>,
    pub kubeconfig: Option<Spanned<String>>,
    pub validation_timeout: Option<Spanned<String>>,
    pub live_resync: Option<Spanned<String>>,
    pub environments: Spanned<Vec<Spanned<RawEnv>>>,
    #[serde(default)]
    pub notify: Vec<Spanned<super::notify::RawNotify>>,
    #[serde(default)]
    pub rollouts: Vec<Spanned<super::rollout::RawRollout>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepo {
    pub url: Spanned<String>,
    pub branch: Option<Spanned<String>>,
    pub poll_interval: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnv {
    pub name: Spanned<String>,
    /// Required for driftdeck envs; engine envs default it (`config::engine`).
    pub path: Option<Spanned<String>>,
    pub context: Spanned<String>,
    /// Required for driftdeck envs; engine envs default it (`config::engine`).
    pub namespace: Option<Spanned<String>>,
    pub state_namespace: Option<Spanned<String>>,
    #[serde(default)]
    pub auto_sync: bool,
    #[serde(default)]
    pub self_heal: bool,
    #[serde(default)]
    pub prune: bool,
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub auto_rollback: bool,
    #[serde(default)]
    pub allow_empty: bool,
    pub promote_from: Option<Spanned<String>>,
    pub renderer: Option<Spanned<RawRenderer>>,
    #[serde(default)]
    pub ignore_differences: Vec<Spanned<RawIgnoreRule>>,
    #[serde(default)]
    pub notify: Vec<Spanned<super::notify::RawNotify>>,
    pub engine: Option<Spanned<super::engine::RawEngine>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRenderer {
    pub command: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIgnoreRule {
    pub group: Option<String>,
    pub kind: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub json_pointers: Vec<Spanned<String>>,
    #[serde(default)]
    pub managers: Vec<String>,
}
