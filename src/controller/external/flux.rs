//! The engine-env task for an env driven by a Flux `Kustomization`
//! (kustomize.toolkit.fluxcd.io/v1) and, for reconcile requests, its `GitRepository`
//! (source.toolkit.fluxcd.io/v1): driftdeck reads and writes those CRs exactly as
//! `../shared/engines/README.md` documents (from Flux's docs, `flux reconcile` and Flux's web UI),
//! through the Kubernetes API alone.
//!
//! Read: [`status`] maps the CRs to [`EnvState`]. Drift detail: Flux has none, so driftdeck
//! renders the env itself and diffs it against live with its own pipeline (`controller::observe`,
//! called, not changed) — detect-only: nothing here ever applies what it renders.
//!
//! Drive (each audited, each answered with the same Notices as a native env):
//! - `sync ENV`: a new `reconcile.fluxcd.io/requestedAt` (RFC 3339 with nanoseconds, as
//!   `flux reconcile` writes) on the GitRepository first; once source-controller echoes it in
//!   `status.lastHandledReconcileAt`, the fetched `status.artifact.revision` is the operation's
//!   revision (OperationStarted), then the same on the Kustomization; the operation finishes
//!   when kustomize-controller echoes it: Succeeded when `Ready=True` and `lastAppliedRevision` is
//!   that revision, else Failed with Flux's reason and message. A source that is not a
//!   GitRepository (OCIRepository, Bucket) is not annotated; the revision is then the
//!   Kustomization's `lastAttemptedRevision`. Both waits are bounded by the config's
//!   `validation_timeout` and are the same polling (each reading published); both end when the
//!   Kustomization is suspended meanwhile (the sync then ends as interrupted, and after a
//!   suspension during the source's wait the Kustomization is not annotated).
//! - `sync --revision R` is refused: Flux applies what its source fetched (pin the source's
//!   `spec.ref` or commit to Git). A sync of a suspended Kustomization is refused too: Flux
//!   ignores requests while suspended (`resume` first).
//! - `pause ENV`: merge patch `spec.suspend: true` and annotations
//!   `fluxcd.controlplane.io/suspendedBy: <operator without /pid>` (what Flux's web UI writes) and
//!   `driftdeck.io/suspend-reason` (driftdeck's own, for `--reason`). Never guarded: the
//!   emergency stop.
//! - `resume ENV`: protected envs need `--confirm`; `spec.suspend: false`, both annotations
//!   removed, and a new `requestedAt` (as Flux's web UI does on resume). A Kustomization that is
//!   not suspended is left alone (nothing written, answered as resumed).
//! - `rollback ENV`: refused. Flux has no engine rollback; the message says what to do instead
//!   (pin `GitRepository.spec.ref.commit` and suspend, or `git revert` and sync). Not built here.
//! - Every write is a JSON merge patch with field manager `flux-client-side-apply`, the manager
//!   `flux` and `kubectl annotate --field-manager=flux-client-side-apply` use; a merge patch of
//!   those few fields needs no resourceVersion (it cannot lose another writer's fields).
//! - Read-only refusals happen in the driver's `route`, before a command reaches this task.
//!
//! Polling: one GET of the Kustomization and one of its GitRepository every
//! `controller::poll_period` (2–5 s). The drift observation (render + list + dry-run) runs when
//! the applied or fetched revision changes, after a `refresh`, after every operation, and at most
//! every `repo.poll_interval` otherwise. Commands are handled one at a time: a sync's wait holds
//! later commands back until it ends (one operation at a time, as for native envs), while the
//! state keeps being published — except `pause`, the emergency stop, which is carried out at
//! once; the waiting sync then ends as interrupted (Flux ignores requests while suspended).
//!
//! Which path driftdeck renders: the env's `path` when the config sets one, else the
//! Kustomization's `spec.path` (`./` stripped) — both in driftdeck's own repo (`repo:`). An
//! engine env without `path:` gets `.` from the config (config::engine), so `.` counts as "not
//! set": an env that really renders the repo root with a Kustomization whose `spec.path` is
//! elsewhere cannot say so (set `path` to the folder instead). The
//! Flux source may be another repository; the render is then only meaningful if the config's
//! repo is that source. The revision rendered is the branch head (fetched like every env's repo),
//! not the GitRepository's last artifact: `diff` then says what `driftdeck sync` would change,
//! as for driftdeck's own envs, since a sync fetches the source first — and a file removed
//! from Git shows at once as extra (Flux's prune candidate), before source-controller's next
//! fetch. The namespace objects land in is
//! `spec.targetNamespace`, else the env's `namespace`. Flux's own ownership labels
//! (`kustomize.toolkit.fluxcd.io/name|namespace`) are not drift.

mod api;

/// The Kustomization API resource, for `driftdeck engines`.
pub(crate) use api::kustomizations as kustomization_resource;
mod drift;
pub(crate) mod status;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::cluster::Cluster;
use crate::config::{Config, EnvConfig};
use crate::model::{Command, EnvState, FailureReason, OperationKind, OperationResult, SyncStatus};

use super::super::driver::{EnvUpdate, Shared};
use super::{
    Pending, Publisher, accepted, base_state, confirm, connect, read_only_refusal, refuse,
};
use status::{FluxStatus, REQUESTED_AT, SUSPEND_REASON, SUSPENDED_BY, sha_of};

use api::{
    Target, gitrepositories, kustomizations, patch, read_crs, read_kustomization, request,
    source_of,
};
use drift::{observe_drift, render_env};

/// The whole state of a Flux env, read once (for cold `status` and `diff`).
pub(crate) async fn observe_cold(config: &Config, env: &EnvConfig) -> EnvState {
    let mut state = base_state(env);
    let Some(target) = Target::of(env) else {
        state.error = Some("not a Flux env".into());
        return state;
    };
    let cluster = match connect(config, env).await {
        Ok(c) => c,
        Err(e) => {
            state.error = Some(e);
            return state;
        }
    };
    let (ks, source) = match read_crs(&cluster, &target).await {
        Ok(crs) => crs,
        Err(e) => {
            state.error = Some(e);
            return state;
        }
    };
    let flux = status::read(&ks, source.as_ref());
    let mut state = state_of(env, &flux);
    let observed = observe_drift(config, env, &flux, &cluster, &mut state).await;
    drift::add_drift_verdict(&mut state, observed.as_ref().err().map(String::as_str));
    // `observed_at` says the drift was observed: `diff` shows it even when Flux reports a failure.
    if observed.is_ok() {
        state.observed_at = Some(Timestamp::now());
    }
    state
}

/// The env's state as the Flux reading says, before any drift observation.
fn state_of(env: &EnvConfig, flux: &FluxStatus) -> EnvState {
    let mut state = base_state(env);
    flux.apply_to(&mut state);
    state.path = crate::controller::env_path(&render_env(env, flux));
    state
}

/// A reconcile request value: RFC 3339 with nanoseconds, as `flux reconcile` writes it.
fn new_token() -> String {
    Timestamp::now().to_string()
}

/// The operator as a Flux `suspendedBy` names a person: `user@host`, without driftdeck's `/pid`.
fn person(operator: &str) -> &str {
    operator.rsplit_once('/').map_or(operator, |(who, _)| who)
}

const ROLLBACK_REFUSAL: &str = "Flux has no rollback of a Kustomization; to go back, pin the \
    source (GitRepository spec.ref.commit) and `driftdeck pause` the env, or `git revert` the \
    bad commit and `driftdeck sync` the env. driftdeck does not write either for Flux envs";

struct FluxTask {
    shared: Arc<Shared>,
    env: EnvConfig,
    target: Target,
    publisher: Publisher,
    cluster: Option<Arc<Cluster>>,
    state: EnvState,
    /// The last Flux reading.
    flux: Option<FluxStatus>,
    /// (applied, fetched) revisions drift was last observed for, and when.
    drift_for: Option<(Option<String>, Option<String>, Instant)>,
    drift_due: bool,
    /// Why the last drift observation failed: it stands beside each reading's own Flux error
    /// until the next observation.
    drift_error: Option<String>,
    commands: mpsc::Receiver<Command>,
    /// Commands that arrived while a sync waited, in order (a pause does not wait).
    queued: std::collections::VecDeque<Command>,
    closed: bool,
}

/// Runs the env until `commands` closes.
pub(crate) async fn run(
    shared: Arc<Shared>,
    env: EnvConfig,
    index: usize,
    updates: mpsc::Sender<EnvUpdate>,
    commands: mpsc::Receiver<Command>,
) {
    let Some(target) = Target::of(&env) else {
        return;
    };
    let mut task = FluxTask {
        state: base_state(&env),
        shared,
        env,
        target,
        publisher: Publisher::new(index, updates),
        cluster: None,
        flux: None,
        drift_for: None,
        drift_due: true,
        drift_error: None,
        commands,
        queued: std::collections::VecDeque::new(),
        closed: false,
    };
    let period = crate::controller::poll_period(task.shared.config.repo.poll_interval);
    task.poll().await;
    loop {
        if let Some(command) = task.queued.pop_front() {
            task.command(command).await;
            continue;
        }
        if task.closed {
            break;
        }
        tokio::select! {
            command = task.commands.recv() => match command {
                Some(command) => task.command(command).await,
                None => break,
            },
            () = tokio::time::sleep(period) => {
                task.poll().await;
            }
        }
    }
}

impl FluxTask {
    async fn cluster(&mut self) -> Result<Arc<Cluster>, String> {
        if let Some(c) = &self.cluster {
            return Ok(c.clone());
        }
        let c = connect(&self.shared.config, &self.env).await?;
        self.cluster = Some(c.clone());
        Ok(c)
    }

    /// Reads the CRs (and, when due, drift) and publishes the state; the reading.
    async fn poll(&mut self) -> Option<FluxStatus> {
        let read = match self.cluster().await {
            Ok(cluster) => read_crs(&cluster, &self.target)
                .await
                .map(|crs| (cluster, crs)),
            Err(e) => Err(e),
        };
        let (cluster, (ks, source)) = match read {
            Ok(r) => r,
            Err(e) => {
                // Keep the last reading on screen, marked by the error.
                self.state.error = Some(e);
                self.state.sync = SyncStatus::Unknown;
                self.publisher.publish(&self.state).await;
                return None;
            }
        };
        let flux = status::read(&ks, source.as_ref());
        let key = (flux.last_applied.clone(), flux.source_revision.clone());
        let due = self.drift_due
            || match &self.drift_for {
                None => true,
                Some((applied, fetched, at)) => {
                    (applied, fetched) != (&key.0, &key.1)
                        || at.elapsed() >= self.shared.config.repo.poll_interval
                }
            };
        let mut state = state_of(&self.env, &flux);
        if due {
            let observed =
                observe_drift(&self.shared.config, &self.env, &flux, &cluster, &mut state).await;
            self.drift_error = observed.err();
            self.drift_for = Some((key.0, key.1, Instant::now()));
            self.drift_due = false;
            state.observed_at = Some(Timestamp::now());
        } else {
            // Between observations the last drift detail stands.
            let last = &mut self.state;
            state.drift = std::mem::take(&mut last.drift);
            state.pods = std::mem::take(&mut last.pods);
            state.images = std::mem::take(&mut last.images);
            state.unreadable = std::mem::take(&mut last.unreadable);
            state.commits = std::mem::take(&mut last.commits);
            if !last.resources.is_empty() {
                state.resources = std::mem::take(&mut last.resources);
            }
            state.observed_at = last.observed_at.or(Some(Timestamp::now()));
        }
        drift::add_drift_verdict(&mut state, self.drift_error.as_deref());
        self.state = state;
        self.flux = Some(flux.clone());
        self.publisher.publish(&self.state).await;
        Some(flux)
    }

    async fn command(&mut self, command: Command) {
        let name = self.env.name.clone();
        if let Some(reason) = read_only_refusal(&self.shared, &name, &command) {
            return refuse(&self.shared, &name, &command, reason).await;
        }
        match &command {
            Command::Sync {
                revision, dry_run, ..
            } => {
                if *dry_run {
                    let reason = FailureReason::Refused(format!(
                        "{name}: a Flux env has no dry-run sync; `driftdeck diff {name}` shows \
                         what differs from driftdeck's render"
                    ));
                    return refuse(&self.shared, &name, &command, reason).await;
                }
                if let Some(r) = revision {
                    let reason = FailureReason::Refused(format!(
                        "{name}: Flux applies what its source fetched, not a chosen revision \
                         ({}); pin the GitRepository's spec.ref or change Git, then sync",
                        crate::model::short_sha(r)
                    ));
                    return refuse(&self.shared, &name, &command, reason).await;
                }
                let plan = format!(
                    "ask Flux to reconcile {} now (reconcile.fluxcd.io/requestedAt)",
                    self.target.describe()
                );
                if let Err(reason) = confirm(&self.env, &command, &plan) {
                    return refuse(&self.shared, &name, &command, reason).await;
                }
                self.sync(&command).await;
            }
            Command::Pause { .. } => self.pause_now(command).await,
            Command::Resume { .. } => {
                let plan = format!(
                    "resume {} (spec.suspend: false) and ask Flux to reconcile it",
                    self.target.describe()
                );
                if let Err(reason) = confirm(&self.env, &command, &plan) {
                    return refuse(&self.shared, &name, &command, reason).await;
                }
                self.resume(&command).await;
            }
            Command::Rollback { .. } => {
                let reason = FailureReason::Refused(format!("{name}: {ROLLBACK_REFUSAL}"));
                refuse(&self.shared, &name, &command, reason).await;
            }
            Command::Refresh { .. } => {
                self.drift_due = true;
                self.poll().await;
            }
            Command::Promote { .. } => {
                // The driver runs promotions itself (a Git change); none reaches an env task.
                let reason = FailureReason::Refused(format!(
                    "{name}: promote is run by the driver, not by the env's task"
                ));
                refuse(&self.shared, &name, &command, reason).await;
            }
        }
    }

    /// A `pause` command (never guarded: the emergency stop), refused only read-only.
    async fn pause_now(&mut self, command: Command) {
        let name = self.env.name.clone();
        if let Some(reason) = read_only_refusal(&self.shared, &name, &command) {
            return refuse(&self.shared, &name, &command, reason).await;
        }
        if let Command::Pause { reason, .. } = &command {
            self.pause(&command, reason).await;
        }
    }

    async fn pause(&mut self, command: &Command, reason: &str) {
        let name = self.env.name.clone();
        let cluster = match self.cluster().await {
            Ok(c) => c,
            Err(e) => {
                let why = FailureReason::ClusterUnreachable(e);
                return refuse(&self.shared, &name, command, why).await;
            }
        };
        let by = person(&self.shared.opts.operator).to_owned();
        let body = json!({
            "spec": {"suspend": true},
            "metadata": {"annotations": {
                SUSPENDED_BY: by,
                SUSPEND_REASON: if reason.is_empty() { Value::Null } else { json!(reason) },
            }}
        });
        let t = &self.target;
        if let Err(e) = patch(&cluster, &kustomizations(), &t.namespace, &t.name, body).await {
            return refuse(&self.shared, &name, command, FailureReason::Apply(e)).await;
        }
        accepted(
            &self.shared,
            &name,
            command,
            &format!("{}: spec.suspend=true, suspendedBy={by}", t.describe()),
        );
        self.poll().await;
        self.shared
            .notify(crate::model::Notice::Paused { env: name })
            .await;
    }

    async fn resume(&mut self, command: &Command) {
        let name = self.env.name.clone();
        let cluster = match self.cluster().await {
            Ok(c) => c,
            Err(e) => {
                let why = FailureReason::ClusterUnreachable(e);
                return refuse(&self.shared, &name, command, why).await;
            }
        };
        // Resuming what is not suspended writes nothing (`resume --all` must not make every
        // Flux env reconcile).
        if self.poll().await.is_some_and(|f| !f.suspended) {
            accepted(
                &self.shared,
                &name,
                command,
                &format!("{}: not suspended, nothing written", self.target.describe()),
            );
            self.shared
                .notify(crate::model::Notice::Resumed { env: name })
                .await;
            return;
        }
        let token = new_token();
        let body = json!({
            "spec": {"suspend": false},
            "metadata": {"annotations": {
                SUSPENDED_BY: Value::Null,
                SUSPEND_REASON: Value::Null,
                REQUESTED_AT: token,
            }}
        });
        let t = &self.target;
        if let Err(e) = patch(&cluster, &kustomizations(), &t.namespace, &t.name, body).await {
            return refuse(&self.shared, &name, command, FailureReason::Apply(e)).await;
        }
        accepted(
            &self.shared,
            &name,
            command,
            &format!(
                "{}: spec.suspend=false, suspendedBy removed, requestedAt={token}",
                t.describe()
            ),
        );
        self.poll().await;
        self.shared
            .notify(crate::model::Notice::Resumed { env: name })
            .await;
    }

    /// Waits `pause` while a sync waits for Flux: a `pause` that arrives meanwhile is carried out
    /// at once (the emergency stop never waits behind a sync); other commands queue.
    async fn between_reads(&mut self, pause: Duration) {
        let sleep = tokio::time::sleep(pause);
        tokio::pin!(sleep);
        loop {
            if self.closed {
                sleep.await;
                return;
            }
            tokio::select! {
                () = &mut sleep => return,
                command = self.commands.recv() => match command {
                    Some(command @ Command::Pause { .. }) => self.pause_now(command).await,
                    Some(command) => self.queued.push_back(command),
                    None => self.closed = true,
                },
            }
        }
    }

    /// Polls (publishing each reading) until `done` holds, the Kustomization is suspended (Flux
    /// then ignores requests) or `wait` runs out; whether `done` held.
    async fn wait_until(&mut self, wait: Duration, done: impl Fn(&FluxStatus) -> bool) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            match self.poll().await {
                Some(f) if done(&f) => return true,
                Some(f) if f.suspended => return false,
                _ => {}
            }
            if Instant::now() >= deadline {
                return false;
            }
            self.between_reads(Duration::from_millis(250)).await;
        }
    }

    /// A sync ended by a suspension (by `by`) before Flux handled its request `token`.
    fn interrupted(&self, by: Option<&str>, token: &str) -> FailureReason {
        FailureReason::Interrupted(format!(
            "{} was suspended (by {}) before Flux handled requestedAt={token}; Flux ignores \
             requests while suspended",
            self.target.describe(),
            by.unwrap_or("unknown")
        ))
    }

    async fn sync(&mut self, command: &Command) {
        let name = self.env.name.clone();
        let (cluster, ks) = match self.cluster().await {
            Ok(cluster) => match read_kustomization(&cluster, &self.target).await {
                Ok(ks) => (cluster, ks),
                Err(e) => {
                    let why = FailureReason::ClusterUnreachable(e);
                    return refuse(&self.shared, &name, command, why).await;
                }
            },
            Err(e) => {
                let why = FailureReason::ClusterUnreachable(e);
                return refuse(&self.shared, &name, command, why).await;
            }
        };
        let before = status::read(&ks, None);
        if before.suspended {
            let reason = FailureReason::Refused(format!(
                "{name}: {} is suspended (by {}); Flux ignores reconcile requests while \
                 suspended: `driftdeck resume {name}` first",
                self.target.describe(),
                before.suspended_by.as_deref().unwrap_or("unknown"),
            ));
            return refuse(&self.shared, &name, command, reason).await;
        }
        let wait = self.shared.config.validation_timeout;
        let token = new_token();
        let source = source_of(&ks, &self.target);
        // The source first (`flux reconcile --with-source`): the revision it fetched is the one
        // this sync applies.
        let mut revision = before
            .last_attempted
            .as_deref()
            .map(|r| sha_of(r).to_owned())
            .unwrap_or_default();
        if let Some(src) = &source {
            if let Err(e) = patch(
                &cluster,
                &gitrepositories(),
                &src.1,
                &src.0,
                request(&token),
            )
            .await
            {
                return refuse(&self.shared, &name, command, FailureReason::Apply(e)).await;
            }
            accepted(
                &self.shared,
                &name,
                command,
                &format!("GitRepository {}/{}: requestedAt={token}", src.1, src.0),
            );
            let fetched = {
                let token = token.clone();
                self.wait_until(wait, move |f| f.source_handled(&token))
                    .await
            };
            if !fetched {
                let pending =
                    Pending::start(&self.shared, &name, OperationKind::Sync, revision).await;
                // Flux ignores requests while suspended: a pause meanwhile ends the wait.
                let reason = match self.flux.as_ref().filter(|f| f.suspended) {
                    Some(now) => self.interrupted(now.suspended_by.as_deref(), &token),
                    None => FailureReason::ValidationTimeout(format!(
                        "GitRepository {}/{} did not handle requestedAt={token} within {}s (is \
                         source-controller running?)",
                        src.1,
                        src.0,
                        wait.as_secs()
                    )),
                };
                self.drift_due = true;
                pending
                    .finish(&self.shared, &name, OperationResult::Failed, Some(reason))
                    .await;
                return;
            }
            // The reading that showed the request handled has the revision fetched for it.
            if let Some(fetched) = self
                .flux
                .as_ref()
                .and_then(|f| f.source_revision.as_deref())
            {
                revision = sha_of(fetched).to_owned();
            }
        }
        let pending =
            Pending::start(&self.shared, &name, OperationKind::Sync, revision.clone()).await;
        let t = &self.target;
        if let Err(e) = patch(
            &cluster,
            &kustomizations(),
            &t.namespace,
            &t.name,
            request(&token),
        )
        .await
        {
            pending
                .finish(
                    &self.shared,
                    &name,
                    OperationResult::Failed,
                    Some(FailureReason::Apply(e)),
                )
                .await;
            return;
        }
        accepted(
            &self.shared,
            &name,
            command,
            &format!("{}: requestedAt={token}", t.describe()),
        );
        let handled = {
            let token = token.clone();
            self.wait_until(wait, move |f| f.handled(&token)).await
        };
        self.drift_due = true;
        self.poll().await;
        let failure = match (handled, &self.flux) {
            (false, Some(now)) if now.suspended => {
                Some(self.interrupted(now.suspended_by.as_deref(), &token))
            }
            (false, _) | (true, None) => Some(FailureReason::ValidationTimeout(format!(
                "{} did not handle requestedAt={token} within {}s (is kustomize-controller \
                 running?)",
                self.target.describe(),
                wait.as_secs()
            ))),
            (true, Some(done)) => {
                let applied = done.last_applied.as_deref().map(sha_of).unwrap_or("");
                let ready = done.ready.as_ref().is_some_and(|c| c.status == "True");
                if !ready {
                    Some(FailureReason::Degraded(
                        done.error().unwrap_or_else(|| done.health().message),
                    ))
                } else if !revision.is_empty() && applied != revision {
                    Some(FailureReason::Apply(format!(
                        "Flux applied {} instead of {revision}",
                        done.last_applied.as_deref().unwrap_or("nothing")
                    )))
                } else {
                    None
                }
            }
        };
        let result = if failure.is_some() {
            OperationResult::Failed
        } else {
            OperationResult::Succeeded
        };
        pending.finish(&self.shared, &name, result, failure).await;
    }
}
