//! The vocabulary every other module speaks: plain data, no IO, no behaviour beyond small
//! derivations (a manifest's key, the worst health of a set).
//!
//! Imports nothing from the crate. Everything here is `Clone` and serializable so it can cross
//! the controller → UI channels, be written to the cluster-held history and be printed as JSON
//! by the CLI.
//!
//! The join key between desired and live state is [`ResourceKey`] (gitops-engine's
//! `ResourceKey{Group,Kind,Namespace,Name}`); cluster-scoped objects have an empty namespace.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod ignore;
mod image;
mod inspect;
mod merge_keys;
mod rollout;
mod tracking;
pub use ignore::IgnoreRule;
pub use image::{ImageRef, parse_image, split_image};
pub use inspect::{
    ConditionRow, EventRow, EventsRequest, InspectChunk, InspectRequest, LogRequest, ObjectDetail,
    ObjectRequest, WORKLOADS, short_image, workload_images,
};
pub use merge_keys::{ListKey, list_merge_key};
pub use rollout::{RolloutHaltRow, RolloutPhase, RolloutRow, WaveRow, WaveState};
pub use tracking::{
    ENV_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OPERATION_ANNOTATION, REVISION_ANNOTATION,
    STATE_LABEL,
};

/// The identity of one Kubernetes object across Git and the cluster. The API *version* is not
/// part of it: `apps/v1` and `apps/v1beta2` Deployments named `api` are the same object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceKey {
    /// API group; empty for the core group (`v1`).
    pub group: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ResourceKey {
    pub fn new(
        group: impl Into<String>,
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The group of an `apiVersion` string: `apps/v1` → `apps`, `v1` → ``.
    pub fn group_of(api_version: &str) -> &str {
        match api_version.rsplit_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }
}

impl fmt::Display for ResourceKey {
    /// `Deployment/log-platform/log-api`, `apps` omitted as kubectl does for well-known kinds;
    /// cluster-scoped objects print as `Namespace/log-platform`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Why an object could not be turned into a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("not a mapping")]
    NotAnObject,
    #[error("missing or empty field `{0}`")]
    MissingField(&'static str),
}

/// One Kubernetes object as JSON, with its key derived once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    key: ResourceKey,
    api_version: String,
    object: Value,
}

impl Manifest {
    /// Wraps an object, requiring `apiVersion`, `kind` and `metadata.name`.
    pub fn new(object: Value) -> Result<Self, ManifestError> {
        let (api_version, key) = Self::identity(&object)?;
        Ok(Self {
            key,
            api_version,
            object,
        })
    }

    fn identity(object: &Value) -> Result<(String, ResourceKey), ManifestError> {
        let map = object.as_object().ok_or(ManifestError::NotAnObject)?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let api_version = text(map.get("apiVersion"));
        if api_version.is_empty() {
            return Err(ManifestError::MissingField("apiVersion"));
        }
        let kind = text(map.get("kind"));
        if kind.is_empty() {
            return Err(ManifestError::MissingField("kind"));
        }
        let metadata = map.get("metadata");
        let name = text(metadata.and_then(|m| m.get("name")));
        if name.is_empty() {
            return Err(ManifestError::MissingField("metadata.name"));
        }
        let namespace = text(metadata.and_then(|m| m.get("namespace")));
        let group = ResourceKey::group_of(&api_version).to_owned();
        Ok((api_version, ResourceKey::new(group, kind, namespace, name)))
    }

    pub fn key(&self) -> &ResourceKey {
        &self.key
    }

    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    pub fn kind(&self) -> &str {
        &self.key.kind
    }

    pub fn name(&self) -> &str {
        &self.key.name
    }

    pub fn namespace(&self) -> &str {
        &self.key.namespace
    }

    pub fn object(&self) -> &Value {
        &self.object
    }

    pub fn into_object(self) -> Value {
        self.object
    }

    /// Mutable access to the object; the key is re-derived afterwards, so renames and
    /// namespace changes are reflected. An edit that removes the identity fields is an error
    /// and leaves the key as it was.
    pub fn edit<R>(&mut self, f: impl FnOnce(&mut Value) -> R) -> Result<R, ManifestError> {
        let out = f(&mut self.object);
        let (api_version, key) = Self::identity(&self.object)?;
        self.api_version = api_version;
        self.key = key;
        Ok(out)
    }
}

/// A commit as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// Full 40-hex sha.
    pub sha: String,
    pub author: String,
    pub email: String,
    pub time: Timestamp,
    pub summary: String,
    /// Paths (relative to the repo root) this commit changed against its first parent.
    pub files: Vec<String>,
}

impl Commit {
    pub fn short_sha(&self) -> &str {
        short_sha(&self.sha)
    }
}

/// The first 7 characters of a sha (or the whole string if shorter).
pub fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// A resolved revision: what the user typed and the commit it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// What was asked for: a branch, tag, full or short sha, or `HEAD`.
    pub requested: String,
    /// Full sha of the commit.
    pub sha: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub enum SyncStatus {
    Synced,
    OutOfSync,
    #[default]
    Unknown,
}

impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncStatus::Synced => "Synced",
            SyncStatus::OutOfSync => "OutOfSync",
            SyncStatus::Unknown => "Unknown",
        })
    }
}

/// Health of one resource or, as the maximum over its resources, of an environment.
/// Ordered from best to worst (Argo CD's order), so `max()` is "the worst".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub enum HealthCode {
    Healthy,
    Suspended,
    Progressing,
    Missing,
    Degraded,
    #[default]
    Unknown,
}

impl fmt::Display for HealthCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HealthCode::Healthy => "Healthy",
            HealthCode::Suspended => "Suspended",
            HealthCode::Progressing => "Progressing",
            HealthCode::Missing => "Missing",
            HealthCode::Degraded => "Degraded",
            HealthCode::Unknown => "Unknown",
        })
    }
}

/// A health verdict with the human reason behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub code: HealthCode,
    /// E.g. "2 of 3 updated replicas available"; empty when there is nothing to say.
    pub message: String,
}

impl Health {
    pub fn new(code: HealthCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn healthy() -> Self {
        Self::new(HealthCode::Healthy, "")
    }
}

/// The worst health of a set; `Healthy` for an empty set.
pub fn worst_health<I: IntoIterator<Item = HealthCode>>(codes: I) -> HealthCode {
    codes.into_iter().max().unwrap_or(HealthCode::Healthy)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DriftKind {
    /// In Git, not in the cluster.
    Missing,
    /// In both, and a sync would change the live object.
    Modified,
    /// Managed by driftdeck for this env, no longer in Git: a prune candidate.
    Extra,
}

impl fmt::Display for DriftKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DriftKind::Missing => "Missing",
            DriftKind::Modified => "Modified",
            DriftKind::Extra => "Extra",
        })
    }
}

/// One resource that differs between Git and the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub key: ResourceKey,
    pub kind: DriftKind,
    /// JSON-pointer-like field paths that differ (`/spec/replicas`,
    /// `/spec/template/spec/containers/name=api/image`). Empty for Missing/Extra.
    pub paths: Vec<String>,
    /// Unified diff of the normalized YAML (live → desired), Secret values masked.
    pub diff: String,
}

/// Drift counts by kind, as `status -o json` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DriftCount {
    pub missing: usize,
    pub modified: usize,
    pub extra: usize,
}

impl DriftCount {
    pub fn of(drift: &[Drift]) -> Self {
        let mut count = Self::default();
        for d in drift {
            match d.kind {
                DriftKind::Missing => count.missing += 1,
                DriftKind::Modified => count.modified += 1,
                DriftKind::Extra => count.extra += 1,
            }
        }
        count
    }

    pub fn total(&self) -> usize {
        self.missing + self.modified + self.extra
    }
}

/// Set by `pause`; an env with a pause does no auto-sync and no self-heal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub by: String,
    pub at: Timestamp,
    pub reason: String,
}

/// Set by a rollback: auto-sync will not redeploy `bad_revision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// The revision rolled back to (what is live).
    pub revision: String,
    /// The revision rolled back from.
    pub bad_revision: String,
    pub by: String,
    pub at: Timestamp,
    pub reason: String,
}

/// Why an operation failed or was refused; shown by the UI and recorded in history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", content = "detail")]
pub enum FailureReason {
    #[error("git: {0}")]
    Git(String),
    #[error("render failed: {0}")]
    Render(String),
    #[error("cluster unreachable: {0}")]
    ClusterUnreachable(String),
    #[error("apply failed: {0}")]
    Apply(String),
    #[error("prune refused: {0}")]
    PruneRefused(String),
    #[error("validation timed out: {0}")]
    ValidationTimeout(String),
    #[error("degraded: {0}")]
    Degraded(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("read-only: {0}")]
    ReadOnly(String),
    /// A guard of the env's policy (protected, `promote_from`, a held or failed revision) was
    /// not satisfied; the text says what would have happened and how to confirm it.
    #[error("needs confirmation: {0}")]
    NeedsConfirmation(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("interrupted: {0}")]
    Interrupted(String),
}

/// How an automatic operation a newer head took over is worded; history read back from the
/// cluster is recognised by it ([`HistoryEntry::superseded_by_a_new_head`]).
const SUPERSEDED_BY: &str = "superseded by ";

impl FailureReason {
    /// The reason an automatic operation ends with when a newer head `sha` takes over.
    pub fn superseded_by(sha: &str) -> Self {
        FailureReason::Interrupted(format!("{SUPERSEDED_BY}{}", short_sha(sha)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OperationKind {
    Sync,
    AutoSync,
    SelfHeal,
    Rollback,
    AutoRollback,
    Promote,
}

impl fmt::Display for OperationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OperationKind::Sync => "sync",
            OperationKind::AutoSync => "auto-sync",
            OperationKind::SelfHeal => "self-heal",
            OperationKind::Rollback => "rollback",
            OperationKind::AutoRollback => "auto-rollback",
            OperationKind::Promote => "promote",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OperationResult {
    Running,
    Succeeded,
    Failed,
    /// The console running it died or lost its lease mid-way.
    Interrupted,
}

impl fmt::Display for OperationResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OperationResult::Running => "Running",
            OperationResult::Succeeded => "Succeeded",
            OperationResult::Failed => "Failed",
            OperationResult::Interrupted => "Interrupted",
        })
    }
}

/// One operation in an env's cluster-held history (the last 50 are kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Unique per operation; `<operator>-<start unix ms>` is enough.
    pub id: String,
    pub op: OperationKind,
    pub revision: String,
    /// sha256 of the canonical render that was applied.
    pub render_digest: String,
    pub operator: String,
    pub started: Timestamp,
    pub finished: Option<Timestamp>,
    pub result: OperationResult,
    pub resources_changed: usize,
    pub failure: Option<FailureReason>,
}

impl HistoryEntry {
    /// An automatic operation a newer head took over ([`FailureReason::superseded_by`]); not
    /// one a rollback took over ("superseded by a rollback to …").
    pub fn superseded_by_a_new_head(&self) -> bool {
        self.result == OperationResult::Interrupted
            && matches!(&self.failure, Some(FailureReason::Interrupted(why))
                if why.starts_with(SUPERSEDED_BY) && !why.starts_with("superseded by a rollback"))
    }
}

/// One row of the pods pane, flattened from a live Pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    /// Phase or, when more telling, the container state reason (`CrashLoopBackOff`).
    pub status: String,
    /// "ready/total" containers.
    pub ready: String,
    pub restarts: u32,
    pub created: Option<Timestamp>,
    /// Waiting/terminated reason or condition message; empty when healthy.
    pub reason: String,
    pub node: String,
    /// Owning workload, e.g. `Deployment/log-api`, for grouping.
    pub owner: String,
    pub health: HealthCode,
}

/// One desired-or-live resource of an env with its health and sync state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRow {
    pub key: ResourceKey,
    pub sync: SyncStatus,
    pub health: Health,
}

/// An operation in progress in some console (from the Lease).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningOperation {
    pub op: OperationKind,
    pub revision: String,
    pub by: String,
    pub started: Timestamp,
    /// Free text progress: "applying 12/40", "validating: 2 of 3 replicas available".
    pub phase: String,
}

/// Who reconciles an environment: driftdeck's own loop, or an in-cluster engine driftdeck drives
/// through its custom resource. Printed and serialized as `driftdeck`, `argocd`, `flux`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub enum EngineName {
    #[default]
    #[serde(rename = "driftdeck")]
    Driftdeck,
    #[serde(rename = "argocd")]
    ArgoCd,
    #[serde(rename = "flux")]
    Flux,
}

impl EngineName {
    /// The engine's name as its users write it in prose ("Argo CD", not the config word).
    pub fn display_name(self) -> &'static str {
        match self {
            EngineName::Driftdeck => "driftdeck",
            EngineName::ArgoCd => "Argo CD",
            EngineName::Flux => "Flux",
        }
    }
}

impl fmt::Display for EngineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineName::Driftdeck => "driftdeck",
            EngineName::ArgoCd => "argocd",
            EngineName::Flux => "flux",
        })
    }
}

/// Everything the console knows about one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvState {
    pub name: String,
    /// Path in the repo (`overlays/production`).
    pub path: String,
    pub context: String,
    pub namespace: String,
    pub protected: bool,
    pub promote_from: Option<String>,
    /// What Git wants: the branch head this env's render was taken from.
    pub revision: Option<String>,
    /// The revision last applied successfully (from cluster-held state).
    pub synced_revision: Option<String>,
    pub sync: SyncStatus,
    pub health: Health,
    pub drift: Vec<Drift>,
    pub resources: Vec<ResourceRow>,
    pub pods: Vec<PodRow>,
    pub paused: Option<Pause>,
    pub hold: Option<Hold>,
    /// Why automation is not deploying the head, and how to end it (pause, hold, a failed
    /// revision auto-sync skips); `None` when automation is free to act.
    #[serde(default)]
    pub automation: Option<String>,
    /// `user@host/pid` holding the env's Lease; `None` when unheld or expired.
    pub lease_holder: Option<String>,
    pub operation: Option<RunningOperation>,
    /// Operations, newest first.
    pub history: Vec<HistoryEntry>,
    /// Commits touching this env's inputs, newest first (first page).
    pub commits: Vec<Commit>,
    /// Last error (render, cluster, git) in one line; `None` when all is well.
    pub error: Option<String>,
    /// What this user may not read, one line each with the API's 403 reason: kinds searched
    /// for prune candidates (`KIND in NAMESPACE: REASON`; extras among them are unknown) and
    /// the env's Lease (its holder is unknown).
    pub unreadable: Vec<String>,
    /// When live data was last received; the UI shows staleness from it.
    pub observed_at: Option<Timestamp>,
    /// Live workloads (`Kind/name`) and their containers' images (`container=image`), from
    /// the same observation as `resources`: what version runs here.
    #[serde(default)]
    pub images: std::collections::BTreeMap<String, Vec<String>>,
    /// Who reconciles the env (config `engine:`).
    #[serde(default)]
    pub engine: EngineName,
    /// The revision an engine last tried to deploy (Argo CD's `operationState.syncResult.revision`,
    /// Flux's `lastAttemptedRevision`): ahead of `synced_revision` while a new revision fails.
    /// `None` for driftdeck envs, whose attempts are in `history`.
    #[serde(default)]
    pub attempted_revision: Option<String>,
}

impl EnvState {
    /// A fresh state for an env nothing is known about yet.
    pub fn unknown(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            path: String::new(),
            context: String::new(),
            namespace: String::new(),
            protected: false,
            promote_from: None,
            revision: None,
            synced_revision: None,
            sync: SyncStatus::Unknown,
            health: Health::new(HealthCode::Unknown, ""),
            drift: Vec::new(),
            resources: Vec::new(),
            pods: Vec::new(),
            paused: None,
            hold: None,
            automation: None,
            lease_holder: None,
            operation: None,
            history: Vec::new(),
            commits: Vec::new(),
            error: None,
            unreadable: Vec::new(),
            observed_at: None,
            images: std::collections::BTreeMap::new(),
            engine: EngineName::Driftdeck,
            attempted_revision: None,
        }
    }

    pub fn drift_count(&self) -> DriftCount {
        DriftCount::of(&self.drift)
    }

    /// Whether `error` means the env could not be observed (`status` and `diff` exit 2). An
    /// engine env's error may be the engine's own report on an env that was read fine (Argo
    /// CD's `ComparisonError`, Flux failing a health check): that is shown, not a failure to
    /// observe.
    pub fn observation_failed(&self) -> bool {
        self.error.is_some() && (self.engine == EngineName::Driftdeck || self.observed_at.is_none())
    }
}

/// The repository as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RepoState {
    pub url: String,
    pub branch: String,
    pub head: Option<Commit>,
    /// Last fetch/read error; `None` when fine.
    pub error: Option<String>,
}

/// The controller's whole truth at one instant, published on a `tokio::sync::watch`.
/// The UI renders only from this.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Bumped on every publish; the UI redraws only when it changes.
    pub seq: u64,
    pub taken_at: Option<Timestamp>,
    pub read_only: bool,
    pub repo: RepoState,
    /// In config order (dev → staging → production).
    pub envs: Vec<EnvState>,
    /// Every configured rollout, in config order (empty when the config has none).
    #[serde(default)]
    pub rollouts: Vec<RolloutRow>,
}

impl Snapshot {
    pub fn env(&self, name: &str) -> Option<&EnvState> {
        self.envs.iter().find(|e| e.name == name)
    }
}

/// Which envs a pause/resume targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnvTarget {
    One(String),
    All,
}

/// An imperative request from the UI or the CLI to the controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Sync {
        env: String,
        /// Default: the branch head.
        revision: Option<String>,
        /// `None`: the env's configured prune policy.
        prune: Option<bool>,
        dry_run: bool,
        /// The typed env name; a protected env needs it (`--confirm ENV`).
        #[serde(default)]
        confirm: Option<String>,
        /// Deploy a held or failed revision anyway (`--force`, or the console's confirmation).
        #[serde(default)]
        force: bool,
    },
    Promote {
        from: String,
        to: String,
        /// Replaces the generated commit message.
        message: Option<String>,
        /// Promote even when FROM is not Synced and Healthy.
        force: bool,
        /// The typed env name; must equal `to` when `to` is protected.
        confirm: Option<String>,
        /// Only compute and report the rendered diff TO would get.
        preview: bool,
    },
    Rollback {
        env: String,
        /// Default: the previous `last_good`.
        to: Option<String>,
        revert: bool,
        confirm: Option<String>,
    },
    Pause {
        target: EnvTarget,
        reason: String,
    },
    Resume {
        target: EnvTarget,
        /// Typed env names; each protected env resumed needs its own.
        #[serde(default)]
        confirm: Vec<String>,
    },
    Refresh {
        env: Option<String>,
    },
}

impl Command {
    /// The verb as operators type it, for audit lines and messages.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Sync { dry_run: true, .. } => "sync --dry-run",
            Command::Sync { .. } => "sync",
            Command::Promote { .. } => "promote",
            Command::Rollback { .. } => "rollback",
            Command::Pause { .. } => "pause",
            Command::Resume { .. } => "resume",
            Command::Refresh { .. } => "refresh",
        }
    }

    /// The env the command is for (a promotion's TO); `None` for every env.
    pub fn target_env(&self) -> Option<&str> {
        match self {
            Command::Sync { env, .. } | Command::Rollback { env, .. } => Some(env),
            Command::Promote { to, .. } => Some(to),
            Command::Pause { target, .. } | Command::Resume { target, .. } => match target {
                EnvTarget::One(env) => Some(env),
                EnvTarget::All => None,
            },
            Command::Refresh { env } => env.as_deref(),
        }
    }

    /// Whether the command changes the cluster, Git or cluster-held state (refused read-only).
    pub fn is_mutating(&self) -> bool {
        match self {
            Command::Sync { dry_run, .. } => !dry_run,
            Command::Promote { preview, .. } => !preview,
            Command::Rollback { .. } | Command::Pause { .. } | Command::Resume { .. } => true,
            Command::Refresh { .. } => false,
        }
    }
}

/// Something that happened, for toasts and the CLI's progress lines. Past tense.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    OperationStarted {
        env: String,
        op: OperationKind,
        revision: String,
    },
    OperationFinished {
        env: String,
        entry: HistoryEntry,
    },
    /// A command was refused before anything changed.
    Refused {
        env: Option<String>,
        reason: FailureReason,
    },
    /// A promotion preview: the rendered diff TO would get.
    PromotionPreviewed {
        from: String,
        to: String,
        message: String,
        drift: Vec<Drift>,
    },
    Committed {
        sha: String,
        summary: String,
        pushed: bool,
    },
    Paused {
        env: String,
    },
    Resumed {
        env: String,
    },
    Warned {
        env: Option<String>,
        message: String,
    },
}

/// A `:demo …` palette request: an effect injected into the demo's sandbox or repo so a
/// newcomer can watch self-heal, validation and rollback happen. Only `driftdeck demo` acts
/// on it (the UI sends it on an optional channel; the demo module carries it out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DemoAction {
    /// Scale a dev Deployment behind Git's back (live drift).
    Drift,
    /// Commit a `crashloop` image into the env's path (a bad release).
    Break { env: String },
    /// Commit the images back to working tags wherever a bad release was committed.
    Heal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_a_new_head_took_over_is_told_from_one_a_rollback_took_over() {
        let ended = |failure: FailureReason| HistoryEntry {
            id: "bot-1".into(),
            op: OperationKind::AutoSync,
            revision: "c1".repeat(20),
            render_digest: String::new(),
            operator: "bot".into(),
            started: Timestamp::UNIX_EPOCH,
            finished: Some(Timestamp::UNIX_EPOCH),
            result: OperationResult::Interrupted,
            resources_changed: 0,
            failure: Some(failure),
        };
        let head = "3c5e7a9b1d2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c";
        let superseded = ended(FailureReason::superseded_by(head));
        assert!(superseded.superseded_by_a_new_head());
        assert_eq!(
            superseded
                .failure
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some(format!("interrupted: superseded by {}", short_sha(head)).as_str())
        );
        let rolled_back = ended(FailureReason::Interrupted(
            "superseded by a rollback to c1 by bob@host/7".into(),
        ));
        assert!(!rolled_back.superseded_by_a_new_head());
        let still_running = HistoryEntry {
            result: OperationResult::Running,
            ..superseded
        };
        assert!(!still_running.superseded_by_a_new_head());
    }

    #[test]
    fn an_engines_own_error_on_an_observed_env_is_not_a_failure_to_observe() {
        let mut s = EnvState::unknown("prod");
        s.error = Some("ComparisonError: manifest generation timed out".into());
        assert!(s.observation_failed(), "not observed at all");
        s.engine = EngineName::ArgoCd;
        assert!(s.observation_failed(), "an engine env not read yet");
        s.observed_at = Some(Timestamp::UNIX_EPOCH);
        assert!(
            !s.observation_failed(),
            "read fine; the error is Argo CD's report"
        );
        s.engine = EngineName::Driftdeck;
        assert!(
            s.observation_failed(),
            "driftdeck's own env: an error is a failed observation"
        );
    }
    use serde_json::json;

    #[test]
    fn manifest_key_uses_group_not_version() {
        let m = Manifest::new(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "prod"}
        }))
        .unwrap();
        assert_eq!(
            m.key(),
            &ResourceKey::new("apps", "Deployment", "prod", "api")
        );
        assert_eq!(m.key().to_string(), "Deployment/prod/api");
    }

    #[test]
    fn manifest_without_name_is_rejected() {
        let err = Manifest::new(json!({"apiVersion": "v1", "kind": "ConfigMap"})).unwrap_err();
        assert_eq!(err, ManifestError::MissingField("metadata.name"));
    }

    #[test]
    fn edit_rederives_key() {
        let mut m = Manifest::new(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}
        }))
        .unwrap();
        m.edit(|o| o["metadata"]["name"] = json!("b")).unwrap();
        assert_eq!(m.name(), "b");
    }

    #[test]
    fn worst_health_is_the_maximum() {
        use HealthCode::*;
        assert_eq!(worst_health([Healthy, Progressing, Degraded]), Degraded);
        assert_eq!(worst_health([Healthy, Suspended]), Suspended);
        assert_eq!(worst_health([]), Healthy);
        assert!(Unknown > Degraded && Degraded > Missing && Missing > Progressing);
    }

    #[test]
    fn engine_names_print_and_serialize_as_config_words_and_default_to_driftdeck() {
        for (e, word) in [
            (EngineName::Driftdeck, "driftdeck"),
            (EngineName::ArgoCd, "argocd"),
            (EngineName::Flux, "flux"),
        ] {
            assert_eq!(e.to_string(), word);
            assert_eq!(serde_json::to_value(e).unwrap(), json!(word));
        }
        // A snapshot written before engines existed still reads.
        let mut old = serde_json::to_value(EnvState::unknown("dev")).unwrap();
        old.as_object_mut().unwrap().remove("engine");
        let back: EnvState = serde_json::from_value(old).unwrap();
        assert_eq!(back.engine, EngineName::Driftdeck);
    }

    #[test]
    fn only_preview_and_refresh_and_dry_run_are_read_only() {
        let sync = |dry_run| Command::Sync {
            env: "dev".into(),
            revision: None,
            prune: None,
            dry_run,
            confirm: None,
            force: false,
        };
        assert!(sync(false).is_mutating());
        assert!(!sync(true).is_mutating());
        assert!(!Command::Refresh { env: None }.is_mutating());
        assert!(
            Command::Pause {
                target: EnvTarget::All,
                reason: String::new()
            }
            .is_mutating()
        );
    }
}
