//! The Argo CD engine: an env driven through an `Application` (`argoproj.io/v1alpha1`) in the
//! env's context, through the Kubernetes API alone — no Argo CD API server, no `argocd login`.
//! [`read`] maps the object to the env's row, [`write`] builds what is written; this file does
//! the IO and follows the operations it starts.
//!
//! The task reads the Application every [`POLL`] (every [`POLL_BUSY`] while an operation it
//! started runs) and after each write: one GET per env per poll. The row after a write is that
//! read's, with the live side kept (the write's answer has none). Polling rather than a watch
//! keeps `observed_at` honest while nothing changes (a quiet watch would look stale).
//!
//! The live side (the app's workloads' images and the pods beside them, read through the
//! env's context) is [`live`]'s: at most once per [`POLL`], never more often than the
//! Application is read.
//!
//! Commands (read-only is refused in the driver's `route` first; see `super`):
//! - `sync` writes `operation` (refused while one is set: [`write::ANOTHER_OPERATION`]) by an
//!   update carrying the read resourceVersion, re-read and retried on 409 (at most
//!   [`WRITE_ATTEMPTS`] times); `OperationStarted`, then `OperationFinished` once
//!   `status.operationState.phase` of this operator's operation is Succeeded (success) or
//!   Failed/Error (failure, Argo's message and failed resources). Sync windows leave it Running
//!   ("blocked by sync window"): the CLI keeps waiting and shows the phase.
//! - `rollback --to ID` pins Argo CD history entry ID (default: the one before the newest),
//!   refused while automated sync is on; also records the Event Argo CD records
//!   (`OperationStarted`, "initiated rollback to ID"); a failure to write the Event is a warning.
//! - `pause` / `resume` merge-patch `automated.enabled` (resume refuses an app without an
//!   `automated` block); `refresh` sets `argocd.argoproj.io/refresh: normal` (only re-reads
//!   when read-only: the annotation is a write).
//! - `sync --dry-run` is refused here: Argo CD's dry-run is an operation of its own that
//!   reports nothing driftdeck could show; `driftdeck diff` shows Argo CD's out-of-sync list.
//! - Terminate (Argo's `operationState.phase: Terminating`) has no driftdeck verb yet, so it
//!   is not offered.
//! - A protected env needs `--confirm ENV` for sync, rollback and resume, as a native env.

mod api;
mod live;
mod read;
mod write;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::cluster::Cluster;
use crate::config::{Config, EnvConfig};
use crate::controller::status::unobservable;
use crate::model::{Command, EnvState, FailureReason, Notice, OperationKind};

use super::super::driver::{EnvUpdate, Shared};
pub(crate) use api::resource as application_resource;
use api::{AppRef, WriteError, get, merge_patch, replace};
pub(crate) use live::{Destination, destination};
pub(crate) use read::text as json_text;

use super::{Pending, Publisher, accepted, base_state, confirm, connect, refuse};

/// How often the Application is read.
const POLL: Duration = Duration::from_secs(2);
/// How often while an operation this console started runs.
const POLL_BUSY: Duration = Duration::from_secs(1);
/// Conflicting updates (someone else wrote the Application in between) before giving up.
const WRITE_ATTEMPTS: usize = 5;
/// Upper bound of one read in the cold path.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// One read of the env's Application (for `status`, `diff`).
pub(crate) async fn observe_cold(config: &Config, env: &EnvConfig) -> EnvState {
    let mut state = base_state(env);
    let Some(app) = AppRef::of(env) else {
        unobservable(&mut state, "not an Argo CD env".into());
        return state;
    };
    let cluster = match connect(config, env).await {
        Ok(c) => c,
        Err(e) => {
            unobservable(&mut state, e);
            return state;
        }
    };
    let server = context_server(config, env);
    match tokio::time::timeout(READ_TIMEOUT, get(&cluster, &app)).await {
        Ok(Ok(obj)) => {
            read::fill(&mut state, &obj, Timestamp::now());
            let read_live = observe_live(&cluster, env, server.as_deref(), &obj, &mut state);
            if tokio::time::timeout(READ_TIMEOUT, read_live).await.is_err() {
                note_error(
                    &mut state,
                    format!(
                        "live workloads: no answer within {}s",
                        READ_TIMEOUT.as_secs()
                    ),
                );
            }
        }
        Ok(Err(e)) => unobservable(&mut state, e),
        Err(_) => unobservable(
            &mut state,
            format!(
                "context {}: {}: no answer within {}s",
                env.context,
                app.text(),
                READ_TIMEOUT.as_secs()
            ),
        ),
    }
    state
}

/// The context's API server URL, to tell the Application's destination apart.
fn context_server(config: &Config, env: &EnvConfig) -> Option<String> {
    let kubeconfig = crate::cluster::load_kubeconfig(config.kubeconfig.as_deref()).ok()?;
    crate::cluster::context_server(kubeconfig.as_ref(), &env.context)
}

fn note_error(state: &mut EnvState, error: String) {
    state.error = Some(match state.error.take() {
        Some(e) => format!("{e}; {error}"),
        None => error,
    });
}

/// Reads the app's live workloads and pods into `state` when they run in the context's
/// cluster; says why not otherwise. `false` when the read failed (the error is in `state`).
async fn observe_live(
    cluster: &Cluster,
    env: &EnvConfig,
    server: Option<&str>,
    app: &Value,
    state: &mut EnvState,
) -> bool {
    match live::destination(app, server) {
        live::Destination::Elsewhere(where_) => {
            let note = live::elsewhere_note(&read::app_ref(app), &env.context, &where_);
            state.unreadable.push(note);
            true
        }
        live::Destination::Here => match live::read(cluster, app).await {
            Ok(found) => {
                live::apply(state, found);
                true
            }
            Err(e) => {
                note_error(state, e);
                false
            }
        },
    }
}

struct Task {
    shared: Arc<Shared>,
    env: EnvConfig,
    app: AppRef,
    cluster: Option<Arc<Cluster>>,
    /// The context's API server URL (read with the client).
    server: Option<String>,
    /// When the live side was last read (successfully or not): it is due again [`POLL`] later.
    live_at: Option<Instant>,
    publisher: Publisher,
    state: EnvState,
    pending: Option<Pending>,
}

pub(crate) async fn run(
    shared: Arc<Shared>,
    env: EnvConfig,
    index: usize,
    updates: mpsc::Sender<EnvUpdate>,
    mut commands: mpsc::Receiver<Command>,
) {
    let Some(app) = AppRef::of(&env) else { return };
    let mut task = Task {
        state: base_state(&env),
        shared,
        env,
        app,
        cluster: None,
        server: None,
        live_at: None,
        publisher: Publisher::new(index, updates),
        pending: None,
    };
    task.read().await;
    loop {
        let period = if task.pending.is_some() {
            POLL_BUSY
        } else {
            POLL
        };
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => {
                    task.command(command).await;
                    task.read().await;
                }
                None => break,
            },
            () = tokio::time::sleep(period) => task.read().await,
        }
    }
}

impl Task {
    async fn cluster(&mut self) -> Result<Arc<Cluster>, String> {
        if let Some(c) = &self.cluster {
            return Ok(c.clone());
        }
        let c = connect(&self.shared.config, &self.env).await?;
        self.server = context_server(&self.shared.config, &self.env);
        self.cluster = Some(c.clone());
        Ok(c)
    }

    async fn fetch(&mut self) -> Result<Value, String> {
        let cluster = self.cluster().await?;
        get(&cluster, &self.app).await
    }

    /// Reads the Application, refreshes the row, ends a followed operation, publishes.
    async fn read(&mut self) {
        match self.fetch().await {
            Ok(obj) => {
                let last = self.state.clone();
                self.show(&obj);
                self.live(&obj, last).await;
                self.follow(&obj).await;
            }
            Err(e) => {
                // The last good data stays; the error says why it may be old.
                self.state.error = Some(e);
            }
        }
        self.publisher.publish(&self.state).await;
    }

    fn show(&mut self, obj: &Value) {
        let mut state = base_state(&self.env);
        read::fill(&mut state, obj, Timestamp::now());
        self.state = state;
    }

    /// The live side, at most once per [`POLL`]; between reads, and after a failed one, the
    /// last good pods, images and notes stand (`last`: the row before [`Self::show`]).
    async fn live(&mut self, obj: &Value, last: EnvState) {
        let due = self.live_at.is_none_or(|at| at.elapsed() >= POLL);
        let fresh = match (&self.cluster, due) {
            (Some(cluster), true) => {
                let cluster = cluster.clone();
                self.live_at = Some(Instant::now());
                let server = self.server.clone();
                observe_live(&cluster, &self.env, server.as_deref(), obj, &mut self.state).await
            }
            _ => false,
        };
        if !fresh && last.observed_at.is_some() {
            self.state.pods = last.pods;
            self.state.images = last.images;
            self.state.unreadable = last.unreadable;
        }
    }

    /// Ends the operation this console started once Argo CD reports its end.
    async fn follow(&mut self, obj: &Value) {
        if let Some((result, failure)) = write::outcome(obj, &self.shared.opts.operator)
            && let Some(pending) = self.pending.take()
        {
            pending
                .finish(
                    &self.shared,
                    &self.env.name,
                    result,
                    failure.map(FailureReason::Apply),
                )
                .await;
        }
    }

    async fn command(&mut self, command: Command) {
        let env = self.env.name.clone();
        // The driver's `route` refuses these first; this guard only matters if one slips by.
        if self.shared.opts.read_only && command.is_mutating() {
            self.shared.refuse_read_only(Some(env), &command).await;
            return;
        }
        let outcome = match &command {
            Command::Refresh { .. } => self.refresh(&command).await,
            Command::Pause { reason, .. } => self.pause(&command, reason).await,
            Command::Resume { .. } => self.resume(&command).await,
            Command::Sync { dry_run: true, .. } => Err(FailureReason::Refused(format!(
                "sync --dry-run of {env}: {} is driven by Argo CD; `driftdeck diff {env}` shows \
                 what Argo CD reports out of sync",
                self.app.text()
            ))),
            Command::Sync {
                revision, prune, ..
            } => self.sync(&command, revision.clone(), *prune).await,
            Command::Rollback { to, .. } => self.rollback(&command, to.clone()).await,
            // `route` runs promote itself and never sends it here; the arm keeps the match
            // exhaustive with a refusal rather than a silent no-op.
            Command::Promote { .. } => Err(FailureReason::Refused(
                "promote is a Git commit made by the controller, not an env operation".into(),
            )),
        };
        if let Err(reason) = outcome {
            refuse(&self.shared, &env, &command, reason).await;
        }
    }

    fn busy_here(&self) -> Result<(), FailureReason> {
        match &self.pending {
            Some(p) => Err(FailureReason::Refused(format!(
                "{} is busy: {} of {} started by this console is running; try again when it \
                 finishes",
                self.env.name, p.op, p.revision
            ))),
            None => Ok(()),
        }
    }

    async fn refresh(&mut self, command: &Command) -> Result<(), FailureReason> {
        if self.shared.opts.read_only {
            return Ok(());
        }
        let cluster = self
            .cluster()
            .await
            .map_err(FailureReason::ClusterUnreachable)?;
        merge_patch(&cluster, &self.app, &write::refresh_patch())
            .await
            .map_err(FailureReason::Apply)?;
        accepted(
            &self.shared,
            &self.env.name,
            command,
            &format!("set {} on {}", write::REFRESH_ANNOTATION, self.app.text()),
        );
        Ok(())
    }

    async fn pause(&mut self, command: &Command, reason: &str) -> Result<(), FailureReason> {
        let cluster = self
            .cluster()
            .await
            .map_err(FailureReason::ClusterUnreachable)?;
        let app = get(&cluster, &self.app)
            .await
            .map_err(FailureReason::ClusterUnreachable)?;
        let env = self.env.name.clone();
        if !read::has_automated(&app) {
            // Nothing to switch off: Argo CD already deploys only on request.
            self.shared
                .notify(Notice::Warned {
                    env: Some(env.clone()),
                    message: format!(
                        "{} has no automated sync: it was already paused; nothing was written",
                        self.app.text()
                    ),
                })
                .await;
            accepted(
                &self.shared,
                &env,
                command,
                "paused: automated sync already off",
            );
        } else {
            let patch = write::pause_patch(&self.shared.opts.operator, Timestamp::now(), reason);
            merge_patch(&cluster, &self.app, &patch)
                .await
                .map_err(FailureReason::Apply)?;
            accepted(
                &self.shared,
                &env,
                command,
                &format!(
                    "paused: automated.enabled=false on {}: {reason}",
                    self.app.text()
                ),
            );
        }
        self.shared.notify(Notice::Paused { env }).await;
        Ok(())
    }

    async fn resume(&mut self, command: &Command) -> Result<(), FailureReason> {
        let plan = format!("re-enable automated sync of {}", self.app.text());
        confirm(&self.env, command, &plan)?;
        let cluster = self
            .cluster()
            .await
            .map_err(FailureReason::ClusterUnreachable)?;
        let app = get(&cluster, &self.app)
            .await
            .map_err(FailureReason::ClusterUnreachable)?;
        let patch = write::resume_patch(&app).map_err(FailureReason::Refused)?;
        merge_patch(&cluster, &self.app, &patch)
            .await
            .map_err(FailureReason::Apply)?;
        let env = self.env.name.clone();
        accepted(
            &self.shared,
            &env,
            command,
            &format!("resumed: automated.enabled=true on {}", self.app.text()),
        );
        self.shared.notify(Notice::Resumed { env }).await;
        Ok(())
    }

    async fn sync(
        &mut self,
        command: &Command,
        revision: Option<String>,
        prune: Option<bool>,
    ) -> Result<(), FailureReason> {
        let prune = prune.unwrap_or(self.env.prune);
        let target = revision.as_deref().unwrap_or("its target revision");
        let plan = format!(
            "sync {} to {target} (prune {})",
            self.app.text(),
            if prune { "on" } else { "off" }
        );
        confirm(&self.env, command, &plan)?;
        self.busy_here()?;
        let operator = self.shared.opts.operator.clone();
        let written = self
            .write_operation(|_| Ok(write::sync_operation(&operator, revision.as_deref(), prune)))
            .await?;
        let shown = revision
            .or_else(|| {
                written
                    .pointer("/status/sync/revision")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "HEAD".into());
        accepted(
            &self.shared,
            &self.env.name,
            command,
            &format!("wrote a sync operation to {} ({plan})", self.app.text()),
        );
        self.pending =
            Some(Pending::start(&self.shared, &self.env.name, OperationKind::Sync, shown).await);
        Ok(())
    }

    async fn rollback(
        &mut self,
        command: &Command,
        to: Option<String>,
    ) -> Result<(), FailureReason> {
        let plan = format!(
            "roll {} back to history entry {}",
            self.app.text(),
            to.as_deref().unwrap_or("before the newest")
        );
        confirm(&self.env, command, &plan)?;
        self.busy_here()?;
        let operator = self.shared.opts.operator.clone();
        let mut chosen: Option<(String, String)> = None;
        let written = self
            .write_operation(|app| {
                let entry = write::rollback_target(app, to.as_deref())?;
                let op = write::rollback_operation(app, &operator, entry)?;
                chosen = Some((
                    entry.get("id").map(read::id_text).unwrap_or_default(),
                    entry
                        .get("revision")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                ));
                Ok(op)
            })
            .await?;
        let (id, revision) = chosen.unwrap_or_default();
        accepted(
            &self.shared,
            &self.env.name,
            command,
            &format!(
                "wrote a rollback operation to {} (history entry {id}, revision {revision})",
                self.app.text()
            ),
        );
        self.rollback_event(&written, &id).await;
        self.pending = Some(
            Pending::start(
                &self.shared,
                &self.env.name,
                OperationKind::Rollback,
                revision,
            )
            .await,
        );
        Ok(())
    }

    /// GET, refuse if an operation is set, build the operation from what was read, UPDATE
    /// with the read resourceVersion; a 409 re-reads and tries again.
    async fn write_operation(
        &mut self,
        mut build: impl FnMut(&Value) -> Result<Value, String>,
    ) -> Result<Value, FailureReason> {
        let cluster = self
            .cluster()
            .await
            .map_err(FailureReason::ClusterUnreachable)?;
        for _ in 0..WRITE_ATTEMPTS {
            let mut app = get(&cluster, &self.app)
                .await
                .map_err(FailureReason::ClusterUnreachable)?;
            if let Some(busy) = write::busy(&app) {
                return Err(FailureReason::Refused(busy));
            }
            let operation = build(&app).map_err(FailureReason::Refused)?;
            write::set_operation(&mut app, operation);
            match replace(&cluster, &self.app, &app).await {
                Ok(written) => return Ok(written),
                Err(WriteError::Conflict) => continue,
                Err(WriteError::Other(e)) => return Err(FailureReason::Apply(e)),
            }
        }
        Err(FailureReason::Conflict(format!(
            "{} changed under every one of {WRITE_ATTEMPTS} updates; nothing was written",
            self.app.text()
        )))
    }

    /// The Event Argo CD's server records for a rollback; a failure is only a warning.
    async fn rollback_event(&mut self, app: &Value, id: &str) {
        let Ok(cluster) = self.cluster().await else {
            return;
        };
        let created = api::rollback_event(&cluster, &self.app, app, id).await;
        if let Err(e) = created {
            self.shared
                .notify(Notice::Warned {
                    env: Some(self.env.name.clone()),
                    message: format!("rollback started, but its Event was not recorded: {e}"),
                })
                .await;
        }
    }
}
