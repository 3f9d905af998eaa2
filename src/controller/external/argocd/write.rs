//! What driftdeck writes into an Argo CD `Application`, built purely from the object read (the
//! README's "Drive" list; Argo's own server code named beside each).
//!
//! - sync: `operation` with `initiatedBy.username` = the operator and `info` Reason, as
//!   util/argo/argo.go `SetAppOperation` does: refused while `operation` is set, and
//!   `status.operationState` cleared in the same update (so the next terminal phase read is
//!   this operation's);
//! - rollback: a sync pinned to one `status.history` entry (revision(s), source(s)), strategy
//!   `apply`, no prune, the spec's sync options (server/application/application.go `Rollback`);
//!   refused while automated sync is on, as Argo's server refuses it;
//! - pause/resume: a merge patch of `spec.syncPolicy.automated.enabled` (prune/selfHeal kept),
//!   plus driftdeck's `paused-*` annotations (who/when/why; removed on resume);
//! - refresh: the `argocd.argoproj.io/refresh: normal` annotation (the controller removes it).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::read::{
    PAUSE_REASON, PAUSED_AT, PAUSED_BY, app_ref, automated_enabled, has_automated, id_text, list,
};
use crate::model::OperationResult;

/// Argo CD's own words (util/argo/argo.go), so scripts matching them keep working.
pub const ANOTHER_OPERATION: &str = "another operation is already in progress";
/// Argo CD's own words (server/application/application.go).
pub const ROLLBACK_WHILE_AUTOMATED: &str = "rollback cannot be initiated when auto-sync is enabled";
pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// Why a new operation may not be written now: one is already set.
pub fn busy(app: &Value) -> Option<String> {
    let op = app.get("operation").filter(|o| o.is_object())?;
    let by = op
        .pointer("/initiatedBy/username")
        .and_then(Value::as_str)
        .unwrap_or(
            if op
                .pointer("/initiatedBy/automated")
                .and_then(Value::as_bool)
                == Some(true)
            {
                "automated sync"
            } else {
                "unknown"
            },
        );
    Some(format!(
        "{ANOTHER_OPERATION} on {} (initiated by {by}); nothing was written",
        app_ref(app)
    ))
}

/// The `operation` of a manual sync.
pub fn sync_operation(operator: &str, revision: Option<&str>, prune: bool) -> Value {
    let mut sync = json!({
        "prune": prune,
        "syncStrategy": {"hook": {}},
    });
    if let Some(r) = revision {
        sync["revision"] = json!(r);
    }
    json!({
        "initiatedBy": {"username": operator},
        "info": [{"name": "Reason", "value": "driftdeck sync"}],
        "sync": sync,
    })
}

/// The history entry a rollback goes to: `to` as an Argo CD history id, else as a revision
/// (full sha or a prefix of at least 7: the newest entry that deployed it — what the console's
/// picker sends), else (no `to`) the entry before the newest.
pub fn rollback_target<'a>(app: &'a Value, to: Option<&str>) -> Result<&'a Value, String> {
    let history = list(app, "/status/history");
    let ids = || {
        if history.is_empty() {
            return "none".to_owned();
        }
        history
            .iter()
            .filter_map(|h| h.get("id").map(id_text))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match to {
        Some(id) => history
            .iter()
            .find(|h| h.get("id").map(id_text).as_deref() == Some(id))
            .or_else(|| {
                (id.len() >= 7).then(|| {
                    history.iter().rev().find(|h| {
                        h.get("revision")
                            .and_then(Value::as_str)
                            .is_some_and(|r| r.starts_with(id))
                    })
                })?
            })
            .ok_or_else(|| {
                format!(
                    "{} has no history entry with id or revision {id} (ids: {}); `--to` takes \
                     an Argo CD history id or a revision it deployed",
                    app_ref(app),
                    ids()
                )
            }),
        None => history.iter().rev().nth(1).ok_or_else(|| {
            format!(
                "{} has no earlier deployment to roll back to (history ids: {})",
                app_ref(app),
                ids()
            )
        }),
    }
}

/// The `operation` of a rollback to history entry `entry`; refused while automated is on.
pub fn rollback_operation(app: &Value, operator: &str, entry: &Value) -> Result<Value, String> {
    if automated_enabled(app) {
        return Err(format!(
            "{ROLLBACK_WHILE_AUTOMATED} ({}); pause the env first (`driftdeck pause`)",
            app_ref(app)
        ));
    }
    let id = entry.get("id").map(id_text).unwrap_or_default();
    let mut sync = json!({
        "syncStrategy": {"apply": {}},
        "prune": false,
    });
    for field in ["revision", "revisions", "source", "sources"] {
        if let Some(v) = entry.get(field).filter(|v| !v.is_null()) {
            sync[field] = v.clone();
        }
    }
    if let Some(options) = app.pointer("/spec/syncPolicy/syncOptions") {
        sync["syncOptions"] = options.clone();
    }
    Ok(json!({
        "initiatedBy": {"username": operator},
        "info": [{"name": "Reason", "value": format!("driftdeck rollback to {id}")}],
        "sync": sync,
    }))
}

/// Sets `operation` and clears `status.operationState` (Argo's `SetAppOperation`).
pub fn set_operation(app: &mut Value, operation: Value) {
    app["operation"] = operation;
    if let Some(status) = app.get_mut("status").and_then(Value::as_object_mut) {
        status.remove("operationState");
    }
}

/// The merge patch of `pause`: automation off, who/when/why recorded.
pub fn pause_patch(operator: &str, at: Timestamp, reason: &str) -> Value {
    json!({
        "metadata": {"annotations": {
            PAUSED_BY: operator,
            PAUSED_AT: at.to_string(),
            PAUSE_REASON: reason,
        }},
        "spec": {"syncPolicy": {"automated": {"enabled": false}}},
    })
}

/// The merge patch of `resume`: automation back on, driftdeck's pause annotations removed.
/// Refused when there is no `automated` block: driftdeck does not turn auto-sync on for an app
/// configured for manual sync.
pub fn resume_patch(app: &Value) -> Result<Value, String> {
    if !has_automated(app) {
        return Err(format!(
            "{} has no automated sync policy to resume (manual sync); driftdeck does not turn \
             auto-sync on",
            app_ref(app)
        ));
    }
    Ok(json!({
        "metadata": {"annotations": {PAUSED_BY: null, PAUSED_AT: null, PAUSE_REASON: null}},
        "spec": {"syncPolicy": {"automated": {"enabled": true}}},
    }))
}

pub fn refresh_patch() -> Value {
    json!({"metadata": {"annotations": {REFRESH_ANNOTATION: "normal"}}})
}

/// The end of an operation `operator` started, once `status.operationState` reports one:
/// the result and, for a failure, Argo's message with each failed resource.
pub fn outcome(app: &Value, operator: &str) -> Option<(OperationResult, Option<String>)> {
    let state = app.pointer("/status/operationState")?;
    let by = state
        .pointer("/operation/initiatedBy/username")
        .and_then(Value::as_str);
    if by.is_some_and(|b| b != operator) {
        return None;
    }
    let message = state
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match state.get("phase").and_then(Value::as_str) {
        Some("Succeeded") => Some((OperationResult::Succeeded, None)),
        Some(phase @ ("Failed" | "Error")) => {
            let failed: Vec<String> = list(state, "/syncResult/resources")
                .iter()
                .filter(|r| r.get("status").and_then(Value::as_str) == Some("SyncFailed"))
                .map(|r| {
                    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default();
                    format!("{}/{}: {}", s("kind"), s("name"), s("message"))
                })
                .collect();
            let mut text = format!("Argo CD operation {phase}: {message}");
            if !failed.is_empty() {
                text.push_str(&format!(" ({})", failed.join("; ")));
            }
            Some((OperationResult::Failed, Some(text)))
        }
        _ => None,
    }
}
