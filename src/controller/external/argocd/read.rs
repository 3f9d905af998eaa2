//! An Argo CD `Application` as the env's row: pure, from the object's JSON (the README's "Read"
//! table; types from argo-cd pkg/apis/application/v1alpha1/types.go).
//!
//! Decisions where the design is silent:
//! - `revision` (what Git wants) is `status.sync.revision`, the commit Argo CD resolved the
//!   target to; `synced_revision` is the newest `status.history` entry (what was last deployed);
//!   `attempted_revision` is `status.operationState.syncResult.revision`.
//! - Drift comes from `status.resources`: an `OutOfSync` resource is drift — `Missing` when its
//!   health is `Missing` (not in the cluster), `Extra` when `requiresPruning` is set, else
//!   `Modified`. Argo CD does not store field diffs in the CR, so paths and diff text are empty
//!   but for a line saying where the detail lives.
//! - A resource without a health entry is shown Healthy: Argo CD assesses health only for kinds
//!   with a health check and leaves the rest (ConfigMap, Service…) out of the app's health.
//! - Automation: `spec.syncPolicy.automated` absent or `enabled: false` means Argo CD deploys
//!   nothing by itself and `automation` says so. Only automation turned off (`enabled: false`,
//!   skip-reconcile) shows a `hold` (the hold banner) at the deployed revision, with no bad
//!   revision (Git's is not deployed, not judged bad); a manual sync policy is how the app is
//!   run, not a hold. A pause made by driftdeck
//!   also carries who/when/why in the `driftdeck.io/paused-*` annotations and shows as `paused`.
//!   `argocd.argoproj.io/skip-reconcile: "true"` is reported the same way (status freezes).
//! - Conditions whose type ends in `Error` are the env's `error`; warnings are left out of it
//!   (they do not stop a sync) and shown in the health message when the health has none.
//! - History entries record successful deployments only (that is when Argo CD appends them):
//!   each is a Succeeded sync (AutoSync when `initiatedBy.automated`); the id is Argo's id, the
//!   one `rollback --to` takes.
//! - `commits` (the history pane and the console's rollback picker) are Argo CD's deployments,
//!   newest first, one per history entry: sha = the deployed revision, author = who initiated
//!   it, summary "Argo CD deployment <id>" — driftdeck does not read the Application's Git
//!   source, and a rollback can only go to a revision Argo CD's history holds.
//! - Images: `status.summary.images` under the key `Application/<name>` (Argo CD does not say
//!   which workload runs which image). The task replaces them with the live workloads' images
//!   (`Kind/name`, as every env) when it can read them through the env's context (`live`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use crate::model::{
    Commit, Drift, DriftKind, EnvState, Health, HealthCode, HistoryEntry, Hold, OperationKind,
    OperationResult, Pause, ResourceKey, ResourceRow, RunningOperation, SyncStatus,
};

/// Annotations driftdeck writes on pause (and removes on resume): who, when, why.
pub const PAUSED_BY: &str = "driftdeck.io/paused-by";
pub const PAUSED_AT: &str = "driftdeck.io/paused-at";
pub const PAUSE_REASON: &str = "driftdeck.io/pause-reason";
/// Argo CD's "stop reconciling this app" annotation (alpha).
pub const SKIP_RECONCILE: &str = "argocd.argoproj.io/skip-reconcile";

/// The non-empty string at `pointer`.
pub(crate) fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn time(v: &Value, pointer: &str) -> Option<Timestamp> {
    text(v, pointer).and_then(|s| s.parse().ok())
}

/// The array at `pointer`; empty when there is none.
pub(super) fn list<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

pub fn sync_status(s: Option<&str>) -> SyncStatus {
    match s {
        Some("Synced") => SyncStatus::Synced,
        Some("OutOfSync") => SyncStatus::OutOfSync,
        _ => SyncStatus::Unknown,
    }
}

pub fn health_code(s: Option<&str>) -> HealthCode {
    match s {
        Some("Healthy") => HealthCode::Healthy,
        Some("Progressing") => HealthCode::Progressing,
        Some("Degraded") => HealthCode::Degraded,
        Some("Suspended") => HealthCode::Suspended,
        Some("Missing") => HealthCode::Missing,
        _ => HealthCode::Unknown,
    }
}

/// Whether Argo CD's automated sync is on (`automated` present and not `enabled: false`).
pub fn automated_enabled(app: &Value) -> bool {
    match app.pointer("/spec/syncPolicy/automated") {
        Some(Value::Object(a)) => a.get("enabled").and_then(Value::as_bool) != Some(false),
        _ => false,
    }
}

/// Whether the `automated` block exists at all (resume only re-enables an existing one).
pub fn has_automated(app: &Value) -> bool {
    matches!(
        app.pointer("/spec/syncPolicy/automated"),
        Some(Value::Object(_))
    )
}

/// `namespace/name` of the Application, for messages.
pub fn app_ref(app: &Value) -> String {
    format!(
        "Application {}/{}",
        text(app, "/metadata/namespace").unwrap_or("?"),
        text(app, "/metadata/name").unwrap_or("?")
    )
}

/// Fills `state` from the Application `app`. `state` starts from the env's base row.
pub fn fill(state: &mut EnvState, app: &Value, now: Timestamp) {
    let name = text(app, "/metadata/name").unwrap_or_default().to_owned();
    state.sync = sync_status(text(app, "/status/sync/status"));
    state.health = Health::new(
        health_code(text(app, "/status/health/status")),
        text(app, "/status/health/message").unwrap_or_default(),
    );
    state.revision = text(app, "/status/sync/revision")
        .or_else(|| {
            list(app, "/status/sync/revisions")
                .first()
                .and_then(Value::as_str)
        })
        .map(str::to_owned);
    state.attempted_revision =
        text(app, "/status/operationState/syncResult/revision").map(str::to_owned);
    state.history = history(app);
    state.synced_revision = state.history.first().map(|h| h.revision.clone());
    state.commits = state
        .history
        .iter()
        .map(|h| Commit {
            sha: h.revision.clone(),
            author: h.operator.clone(),
            email: String::new(),
            time: h.finished.unwrap_or(h.started),
            summary: format!("Argo CD deployment {}", h.id),
            files: Vec::new(),
        })
        .collect();
    if let Some(path) = source_path(app) {
        state.path = path;
    }
    if let Some(ns) = text(app, "/spec/destination/namespace") {
        state.namespace = ns.to_owned();
    }
    state.resources = resources(app);
    state.drift = drift(app);
    state.operation = operation(app);
    let (errors, warnings) = conditions(app);
    state.error = (!errors.is_empty()).then(|| errors.join("; "));
    if state.health.message.is_empty() && !warnings.is_empty() {
        state.health.message = warnings.join("; ");
    }
    state.images = match list(app, "/status/summary/images") {
        [] => BTreeMap::new(),
        images => BTreeMap::from([(
            format!("Application/{name}"),
            images
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        )]),
    };
    state.lease_holder = None;
    state.paused = pause(app);
    state.hold = hold(app, state);
    state.automation = automation(app);
    state.observed_at = Some(now);
}

/// `path` of the (first) source, with the repo: `REPO//PATH@TARGET` or the chart.
fn source_path(app: &Value) -> Option<String> {
    let source = app
        .pointer("/spec/source")
        .or_else(|| app.pointer("/spec/sources/0"))?;
    let repo = text(source, "/repoURL").unwrap_or_default();
    let at = text(source, "/targetRevision").unwrap_or("HEAD");
    let what = text(source, "/path").or_else(|| text(source, "/chart"))?;
    Some(format!("{repo}//{what}@{at}"))
}

fn key_of(r: &Value) -> ResourceKey {
    ResourceKey::new(
        text(r, "/group").unwrap_or_default(),
        text(r, "/kind").unwrap_or_default(),
        text(r, "/namespace").unwrap_or_default(),
        text(r, "/name").unwrap_or_default(),
    )
}

fn resources(app: &Value) -> Vec<ResourceRow> {
    list(app, "/status/resources")
        .iter()
        .map(|r| ResourceRow {
            key: key_of(r),
            sync: sync_status(text(r, "/status")),
            health: match text(r, "/health/status") {
                None => Health::healthy(),
                code => Health::new(
                    health_code(code),
                    text(r, "/health/message").unwrap_or_default(),
                ),
            },
        })
        .collect()
}

fn drift(app: &Value) -> Vec<Drift> {
    list(app, "/status/resources")
        .iter()
        .filter(|r| text(r, "/status") == Some("OutOfSync"))
        .map(|r| {
            let kind = if r.get("requiresPruning").and_then(Value::as_bool) == Some(true) {
                DriftKind::Extra
            } else if text(r, "/health/status") == Some("Missing") {
                DriftKind::Missing
            } else {
                DriftKind::Modified
            };
            Drift {
                key: key_of(r),
                kind,
                paths: Vec::new(),
                diff: format!(
                    "# Argo CD reports this resource OutOfSync; its field diff is computed by \
                     Argo CD and not stored in {}\n",
                    app_ref(app)
                ),
            }
        })
        .collect()
}

fn initiator(op: &Value) -> String {
    match (
        text(op, "/initiatedBy/username"),
        op.pointer("/initiatedBy/automated")
            .and_then(Value::as_bool),
    ) {
        (Some(user), _) => user.to_owned(),
        (None, Some(true)) => "automated".to_owned(),
        _ => "unknown".to_owned(),
    }
}

fn history(app: &Value) -> Vec<HistoryEntry> {
    let mut out: Vec<HistoryEntry> = list(app, "/status/history")
        .iter()
        .map(|h| {
            let started = time(h, "/deployStartedAt")
                .or_else(|| time(h, "/deployedAt"))
                .unwrap_or(Timestamp::UNIX_EPOCH);
            let automated = h.pointer("/initiatedBy/automated").and_then(Value::as_bool);
            HistoryEntry {
                id: h.get("id").map(id_text).unwrap_or_default(),
                op: if automated == Some(true) {
                    OperationKind::AutoSync
                } else {
                    OperationKind::Sync
                },
                revision: text(h, "/revision")
                    .or_else(|| list(h, "/revisions").first().and_then(Value::as_str))
                    .unwrap_or_default()
                    .to_owned(),
                render_digest: String::new(),
                operator: initiator(h),
                started,
                finished: time(h, "/deployedAt"),
                result: OperationResult::Succeeded,
                resources_changed: 0,
                failure: None,
            }
        })
        .collect();
    out.reverse();
    out
}

/// A history id as text (it is an integer in the CR).
pub fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The operation in flight: `status.operationState` while Running/Terminating, or a requested
/// `operation` the controller has not picked up yet.
fn operation(app: &Value) -> Option<RunningOperation> {
    let state = app.pointer("/status/operationState");
    let phase = state.and_then(|s| text(s, "/phase"));
    let running = matches!(phase, Some("Running" | "Terminating"));
    let requested = app.get("operation").filter(|o| o.is_object());
    let op = match (running, requested) {
        (true, _) => state.and_then(|s| s.get("operation")).or(requested)?,
        (false, Some(op)) => op,
        (false, None) => return None,
    };
    // Argo CD records no kind; driftdeck's (and Argo's own UI's) rollback says so in `info`.
    let kind = if info(op, "Reason").is_some_and(|r| r.contains("rollback")) {
        OperationKind::Rollback
    } else {
        OperationKind::Sync
    };
    let revision = text(op, "/sync/revision")
        .or_else(|| state.and_then(|s| text(s, "/syncResult/revision")))
        .unwrap_or("target")
        .to_owned();
    let phase_text = match (running, state) {
        (true, Some(s)) => match text(s, "/message") {
            Some(m) => format!("{}: {m}", phase.unwrap_or_default()),
            None => phase.unwrap_or_default().to_owned(),
        },
        _ => "Requested: waiting for the Argo CD application controller".to_owned(),
    };
    Some(RunningOperation {
        op: kind,
        revision,
        by: initiator(op),
        started: state
            .filter(|_| running)
            .and_then(|s| time(s, "/startedAt"))
            .unwrap_or(Timestamp::UNIX_EPOCH),
        phase: phase_text,
    })
}

/// The value of `operation.info[name]`.
pub fn info<'a>(op: &'a Value, name: &str) -> Option<&'a str> {
    list(op, "/info")
        .iter()
        .find(|i| text(i, "/name") == Some(name))
        .and_then(|i| text(i, "/value"))
}

fn conditions(app: &Value) -> (Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for c in list(app, "/status/conditions") {
        let kind = text(c, "/type").unwrap_or("Condition");
        let line = format!("{kind}: {}", text(c, "/message").unwrap_or_default());
        if kind.ends_with("Error") {
            errors.push(line);
        } else {
            warnings.push(line);
        }
    }
    (errors, warnings)
}

fn annotation<'a>(app: &'a Value, name: &str) -> Option<&'a str> {
    app.pointer("/metadata/annotations")
        .and_then(|a| a.get(name))
        .and_then(Value::as_str)
}

fn skip_reconcile(app: &Value) -> bool {
    annotation(app, SKIP_RECONCILE) == Some("true")
}

/// A pause driftdeck made (its annotations) while automation is off.
fn pause(app: &Value) -> Option<Pause> {
    if automated_enabled(app) {
        return None;
    }
    let by = annotation(app, PAUSED_BY)?;
    Some(Pause {
        by: by.to_owned(),
        at: annotation(app, PAUSED_AT)
            .and_then(|t| t.parse().ok())
            .unwrap_or(Timestamp::UNIX_EPOCH),
        reason: annotation(app, PAUSE_REASON).unwrap_or_default().to_owned(),
    })
}

/// Automation turned off (`automated.enabled: false`, or skip-reconcile) = Argo CD deploys
/// nothing new: a hold at what is deployed. An app whose policy is manual sync (no `automated`
/// at all) is not held: that is how it is run, not an incident; `automation` says it.
fn hold(app: &Value, state: &EnvState) -> Option<Hold> {
    let turned_off = (has_automated(app) && !automated_enabled(app)) || skip_reconcile(app);
    if !turned_off {
        return None;
    }
    let deployed = state.synced_revision.clone().unwrap_or_default();
    let at = annotation(app, PAUSED_AT)
        .and_then(|t| t.parse().ok())
        .or_else(|| state.history.first().and_then(|h| h.finished))
        .or_else(|| time(app, "/metadata/creationTimestamp"))
        .unwrap_or(Timestamp::UNIX_EPOCH);
    // Git's revision is not deployed, but nothing says it is bad: no bad revision.
    Some(Hold {
        revision: deployed,
        bad_revision: String::new(),
        by: annotation(app, PAUSED_BY).unwrap_or("argocd").to_owned(),
        at,
        reason: hold_reason(app),
    })
}

fn hold_reason(app: &Value) -> String {
    if skip_reconcile(app) {
        format!("{SKIP_RECONCILE}: \"true\" on {}", app_ref(app))
    } else if has_automated(app) {
        match annotation(app, PAUSE_REASON).filter(|r| !r.is_empty()) {
            Some(reason) => format!("automated sync disabled: {reason}"),
            None => "automated sync disabled (automated.enabled: false)".to_owned(),
        }
    } else {
        "manual sync policy (no automated sync)".to_owned()
    }
}

fn automation(app: &Value) -> Option<String> {
    let app_ref = app_ref(app);
    if skip_reconcile(app) {
        return Some(format!(
            "Argo CD does not reconcile {app_ref} ({SKIP_RECONCILE}: \"true\"); its status is \
             frozen until the annotation is removed"
        ));
    }
    if automated_enabled(app) {
        return None;
    }
    Some(if has_automated(app) {
        format!(
            "Argo CD automated sync is disabled on {app_ref} (automated.enabled: false); \
             `driftdeck resume` re-enables it"
        )
    } else {
        format!(
            "Argo CD automated sync is off on {app_ref} (no syncPolicy.automated); it deploys \
             only on `driftdeck sync`"
        )
    })
}
