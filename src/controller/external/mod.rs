//! Environments whose engine is not driftdeck: an in-cluster Argo CD `Application` ([`argocd`])
//! or Flux `Kustomization` ([`flux`]) that driftdeck reads and drives through the Kubernetes
//! API alone (no Argo API server, no `argocd login`). The shapes read and written are those of
//! `../shared/engines/README.md`, drawn from the engines' own sources.
//!
//! One task per such env ([`run`]), spawned by `controller::driver::run` in place of the native
//! env task: it reads the CR, maps it to the env's `EnvState` (the same row the console, `status`
//! and watch mode show for every env), publishes it as an `EnvUpdate`, and executes the
//! operator's `Command`s by writing the CR the way the engine's own tools do. The cold path
//! (`status`, `diff`) calls [`observe_cold`], which reads the CR once.
//!
//! The same policy applies as on driftdeck's own path (writing the CR bypasses the engine's own
//! RBAC and project checks, so driftdeck's checks are the only ones on this path):
//! - read-only: refused in the driver's `route` before a command reaches this task (kept there
//!   so there is one refusal for every engine); a task also refuses a mutating command itself
//!   when the driver is read-only, in case one slips through;
//! - protected envs need the env name typed ([`confirm`], the engine's `confirmation`);
//! - every accepted or refused command is written to the audit log, and the CLI's followers get
//!   the same `Notice`s as for a native env: `Refused`, `OperationStarted` +
//!   `OperationFinished` (sync, rollback), `Paused`, `Resumed`.
//!
//! Decisions where the design is silent:
//! - There is no driftdeck Lease for an engine env: the engine's controller is the only writer
//!   of the live objects, so `lease_holder` stays `None`; who runs an operation shows in
//!   `operation.by` (the CR's `initiatedBy`).
//! - There is no driftdeck ConfigMap for an engine env either: pause, hold and history are the
//!   engine's own (Argo `automated.enabled` and `status.history`; Flux `spec.suspend`).
//! - Git data (commits, promote) still comes from driftdeck's own repo; the engine env has no
//!   render of its own in driftdeck, so `revision` is the engine's target revision.

pub(crate) mod argocd;
pub(crate) mod flux;

use std::sync::Arc;

use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::cluster::Cluster;
use crate::config::{Config, EngineSpec, EnvConfig};
use crate::model::{
    Command, DriftCount, EnvState, FailureReason, HistoryEntry, Notice, OperationKind,
    OperationResult,
};

use super::driver::{EnvUpdate, Shared};
use super::engine::{EnvView, Guarded, confirmation};

/// The engine-env task: dispatches on the env's engine. Ends when `commands` closes.
pub(crate) async fn run(
    shared: Arc<Shared>,
    env: EnvConfig,
    index: usize,
    updates: mpsc::Sender<EnvUpdate>,
    commands: mpsc::Receiver<Command>,
) {
    match &env.engine {
        EngineSpec::ArgoCd { .. } => argocd::run(shared, env, index, updates, commands).await,
        EngineSpec::Flux { .. } => flux::run(shared, env, index, updates, commands).await,
        EngineSpec::Driftdeck => {
            // The driver spawns the native task for these; say so rather than hang commands.
            let mut state = base_state(&env);
            state.error = Some("internal: a driftdeck env reached the engine-env task".into());
            Publisher::new(index, updates).publish(&state).await;
        }
    }
}

/// One cold read of an engine env (for `status`, `diff`).
pub async fn observe_cold(config: &Config, env: &EnvConfig) -> EnvState {
    match &env.engine {
        EngineSpec::ArgoCd { .. } => argocd::observe_cold(config, env).await,
        EngineSpec::Flux { .. } => flux::observe_cold(config, env).await,
        EngineSpec::Driftdeck => {
            let mut state = base_state(env);
            state.error = Some("internal: a driftdeck env reached the engine-env observer".into());
            state
        }
    }
}

/// The env's row before anything is read, with its engine named.
pub fn base_state(env: &EnvConfig) -> EnvState {
    let mut state = super::base_state(env);
    state.engine = env.engine.name();
    state
}

/// A client for the env's context, from the config's kubeconfig.
pub(crate) async fn connect(config: &Config, env: &EnvConfig) -> Result<Arc<Cluster>, String> {
    super::driver::connect(config.kubeconfig.clone(), env.context.clone()).await
}

/// Whether a protected env's typed name lets `command` act; `plan` says what would happen.
/// Pause is never guarded (the emergency stop), nor is refresh.
pub(crate) fn confirm(env: &EnvConfig, command: &Command, plan: &str) -> Result<(), FailureReason> {
    let (verb, typed) = match command {
        Command::Sync { confirm, .. } => (Guarded::Sync, confirm.as_deref()),
        Command::Rollback { confirm, .. } => (Guarded::Rollback, confirm.as_deref()),
        Command::Resume { confirm, .. } => {
            let typed = confirm.iter().find(|c| **c == env.name).or(confirm.first());
            (Guarded::Resume, typed.map(String::as_str))
        }
        Command::Pause { .. } | Command::Refresh { .. } | Command::Promote { .. } => return Ok(()),
    };
    confirmation(env.protected, &env.name, verb, typed, plan)
}

/// A mutating command on a read-only driver (normally refused in `route` already). Flux's
/// task guards with this; Argo CD's calls [`Shared::refuse_read_only`], `route`'s own refusal.
pub(crate) fn read_only_refusal(
    shared: &Shared,
    env: &str,
    command: &Command,
) -> Option<FailureReason> {
    (shared.opts.read_only && command.is_mutating()).then(|| {
        FailureReason::ReadOnly(format!(
            "{} {env}: this console is read-only",
            command.verb()
        ))
    })
}

/// Audits and announces a refusal: nothing was changed.
pub(crate) async fn refuse(shared: &Shared, env: &str, command: &Command, reason: FailureReason) {
    shared.audit(
        Some(env),
        command.verb(),
        &format!("{env}: refused: {reason} (by {})", shared.opts.operator),
    );
    shared
        .notify(Notice::Refused {
            env: Some(env.to_owned()),
            reason,
        })
        .await;
}

/// Audits an accepted command and what it wrote.
pub(crate) fn accepted(shared: &Shared, env: &str, command: &Command, detail: &str) {
    shared.audit(
        Some(env),
        command.verb(),
        &format!("{env}: {detail} (by {})", shared.opts.operator),
    );
}

/// An operation this console started on an engine env, until the engine reports its end.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub op: OperationKind,
    pub revision: String,
    pub started: Timestamp,
}

impl Pending {
    /// Announces the start (the CLI's follower waits for it).
    pub async fn start(shared: &Shared, env: &str, op: OperationKind, revision: String) -> Self {
        let pending = Self {
            op,
            revision: revision.clone(),
            started: Timestamp::now(),
        };
        shared
            .notify(Notice::OperationStarted {
                env: env.to_owned(),
                op,
                revision,
            })
            .await;
        pending
    }

    /// Announces and audits the end; the entry is what the CLI prints.
    pub async fn finish(
        self,
        shared: &Shared,
        env: &str,
        result: OperationResult,
        failure: Option<FailureReason>,
    ) -> HistoryEntry {
        let finished = Timestamp::now();
        let entry = HistoryEntry {
            id: format!("{}-{}", shared.opts.operator, self.started.as_millisecond()),
            op: self.op,
            revision: self.revision,
            render_digest: String::new(),
            operator: shared.opts.operator.clone(),
            started: self.started,
            finished: Some(finished),
            result,
            resources_changed: 0,
            failure,
        };
        let detail = match &entry.failure {
            Some(f) => format!("{} {}: {f}", entry.op, entry.result),
            None => format!("{} {}", entry.op, entry.result),
        };
        shared.audit(
            Some(env),
            &entry.op.to_string(),
            &format!("{env}: {detail} (by {})", shared.opts.operator),
        );
        shared
            .notify(Notice::OperationFinished {
                env: env.to_owned(),
                entry: entry.clone(),
            })
            .await;
        entry
    }
}

/// Sends the env's row to the driver when it changed.
pub(crate) struct Publisher {
    index: usize,
    updates: mpsc::Sender<EnvUpdate>,
    last: Option<EnvState>,
}

impl Publisher {
    pub fn new(index: usize, updates: mpsc::Sender<EnvUpdate>) -> Self {
        Self {
            index,
            updates,
            last: None,
        }
    }

    pub async fn publish(&mut self, state: &EnvState) {
        if self.last.as_ref() == Some(state) {
            return;
        }
        let update = EnvUpdate {
            index: self.index,
            state: state.clone(),
            view: view_of(state),
            head: None,
            repo_error: None,
        };
        if self.updates.send(update).await.is_err() {
            tracing::debug!("env {}: the driver stopped listening", state.name);
        }
        self.last = Some(state.clone());
    }
}

/// The engine's facts as an `EnvView` (the promotion check reads views).
pub(crate) fn view_of(state: &EnvState) -> EnvView {
    EnvView {
        name: state.name.clone(),
        revision: state.revision.clone(),
        render_digest: None,
        synced_revision: state.synced_revision.clone(),
        last_good: None,
        sync: state.sync,
        health: state.health.clone(),
        drift: DriftCount::of(&state.drift),
        paused: state.paused.clone(),
        hold: state.hold.clone(),
        automation: state.automation.clone(),
        lease_holder: state.lease_holder.clone(),
        operation: state.operation.clone(),
        history: state.history.clone(),
        error: state.error.clone(),
        observed_at: state.observed_at,
    }
}
