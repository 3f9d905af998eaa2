//! The README's Argo CD fixture (trimmed from argo-cd's controller/testdata/diff-cache.yaml) and
//! the failure variants it lists, read into the env's row; and what the writes build from it.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{read, write};
use crate::model::{
    DriftKind, EngineName, EnvState, HealthCode, OperationKind, OperationResult, SyncStatus,
};

const FIXTURE: &str = include_str!("../../../../tests/fixtures/engines/argocd-application.yaml");
const REV: &str = "ea8759964626a583667a2bfd08f334ec2070040a";

fn fixture() -> Value {
    serde_saphyr::from_str(FIXTURE).expect("the README fixture parses")
}

fn row(app: &Value) -> EnvState {
    let mut state = EnvState::unknown("prod-eu");
    state.engine = EngineName::ArgoCd;
    read::fill(&mut state, app, Timestamp::UNIX_EPOCH);
    state
}

#[test]
fn the_readme_fixture_reads_as_a_synced_healthy_manual_env() {
    let s = row(&fixture());
    assert_eq!(s.sync, SyncStatus::Synced);
    assert_eq!(s.health.code, HealthCode::Healthy);
    assert_eq!(s.revision.as_deref(), Some(REV));
    assert_eq!(s.synced_revision.as_deref(), Some(REV));
    assert_eq!(s.attempted_revision.as_deref(), Some(REV));
    assert_eq!(s.resources.len(), 2);
    assert!(s.drift.is_empty());
    assert_eq!(s.operation, None, "the operation Succeeded: nothing runs");
    assert_eq!(s.error, None);
    assert_eq!(s.lease_holder, None);
    // Newest first, Argo's ids, who initiated (the fixture's entries predate initiatedBy).
    let ids: Vec<&str> = s.history.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["18", "17"]);
    assert_eq!(s.history[0].result, OperationResult::Succeeded);
    assert_eq!(s.history[0].operator, "unknown");
    // The history pane and rollback picker list Argo's deployments, newest first.
    let deployments: Vec<(&str, &str)> = s
        .commits
        .iter()
        .map(|c| (c.sha.as_str(), c.summary.as_str()))
        .collect();
    assert_eq!(
        deployments,
        [
            (REV, "Argo CD deployment 18"),
            (REV, "Argo CD deployment 17")
        ]
    );
    assert_eq!(
        s.images.get("Application/velero-test"),
        Some(&vec!["nginx:latest".to_owned()])
    );
    assert_eq!(s.namespace, "test-lla");
    assert_eq!(
        s.path,
        "https://github.com/foo/manifests-velero.git//instances/test@test-lla"
    );
    // Manual sync policy: automation is off (said in `automation`), but that is how the app
    // is run, not a hold.
    assert!(
        s.automation
            .as_deref()
            .is_some_and(|a| a.contains("no syncPolicy.automated")),
        "{:?}",
        s.automation
    );
    assert_eq!(s.hold, None, "a manual sync policy is not a hold");
    assert_eq!(s.paused, None, "driftdeck did not pause it");
}

#[test]
fn a_failed_operation_reads_its_attempt_and_reports_failed_resources() {
    let mut app = fixture();
    let state = &mut app["status"]["operationState"];
    state["phase"] = json!("Failed");
    state["message"] = json!("one or more objects failed to apply");
    state["operation"]["initiatedBy"]["username"] = json!("ana@ops/1");
    state["syncResult"]["revision"] = json!("bad0000000000000000000000000000000000000");
    state["syncResult"]["resources"][1]["status"] = json!("SyncFailed");
    state["syncResult"]["resources"][1]["message"] = json!("admission webhook denied");
    let s = row(&app);
    assert_eq!(
        s.attempted_revision.as_deref(),
        Some("bad0000000000000000000000000000000000000")
    );
    assert_eq!(
        s.synced_revision.as_deref(),
        Some(REV),
        "still what history deployed"
    );
    let (result, why) = write::outcome(&app, "ana@ops/1").expect("a terminal phase");
    assert_eq!(result, OperationResult::Failed);
    let why = why.unwrap_or_default();
    assert!(why.contains("one or more objects failed to apply"), "{why}");
    assert!(
        why.contains("Deployment/test-lla: admission webhook denied"),
        "{why}"
    );
    assert_eq!(
        write::outcome(&app, "someone-else"),
        None,
        "another operator's operation is not ours to finish"
    );
}

#[test]
fn a_sync_blocked_by_a_window_stays_running_with_the_message() {
    let mut app = fixture();
    let state = &mut app["status"]["operationState"];
    state["phase"] = json!("Running");
    state["message"] = json!("Sync operation blocked by sync window");
    app["operation"] = app["status"]["operationState"]["operation"].clone();
    let s = row(&app);
    let op = s.operation.expect("running");
    assert_eq!(op.op, OperationKind::Sync);
    assert_eq!(op.phase, "Running: Sync operation blocked by sync window");
    assert_eq!(op.by, "foo@example.com");
    assert_eq!(op.revision, REV);
    assert_eq!(
        write::outcome(&app, "foo@example.com"),
        None,
        "not finished"
    );
    assert!(
        write::busy(&app).is_some_and(|b| b.starts_with(write::ANOTHER_OPERATION)),
        "a new sync is refused while this one is set"
    );
}

#[test]
fn out_of_sync_degraded_with_a_comparison_error_shows_drift_and_the_error() {
    let mut app = fixture();
    app["status"]["sync"]["status"] = json!("OutOfSync");
    app["status"]["sync"]["revision"] = json!("c0ffee0000000000000000000000000000000000");
    app["status"]["health"] = json!({"status": "Degraded", "message": "1 pod crash-looping"});
    app["status"]["conditions"] = json!([
        {"type": "ComparisonError", "message": "rpc error: repository not accessible"},
        {"type": "SharedResourceWarning", "message": "Service/x is part of two apps"},
    ]);
    app["status"]["resources"][1]["status"] = json!("OutOfSync");
    app["status"]["resources"][0]["status"] = json!("OutOfSync");
    app["status"]["resources"][0]["health"] = json!({"status": "Missing"});
    app["status"]["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "version": "v1", "kind": "ConfigMap", "namespace": "test-lla", "name": "old",
            "status": "OutOfSync", "requiresPruning": true
        }));
    let s = row(&app);
    assert_eq!(s.sync, SyncStatus::OutOfSync);
    assert_eq!(s.health.code, HealthCode::Degraded);
    assert_eq!(s.health.message, "1 pod crash-looping");
    assert_eq!(
        s.error.as_deref(),
        Some("ComparisonError: rpc error: repository not accessible"),
        "errors only: the warning does not stop a sync"
    );
    let kinds: Vec<(String, DriftKind)> = s
        .drift
        .iter()
        .map(|d| (d.key.kind.clone(), d.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Service".to_owned(), DriftKind::Missing),
            ("Deployment".to_owned(), DriftKind::Modified),
            ("ConfigMap".to_owned(), DriftKind::Extra),
        ]
    );
    let count = s.drift_count();
    assert_eq!((count.missing, count.modified, count.extra), (1, 1, 1));
    assert_eq!(s.hold, None, "manual sync policy: not held");
}

#[test]
fn automated_disabled_is_a_hold_and_a_driftdeck_pause_names_who_and_why() {
    let mut app = fixture();
    app["spec"]["syncPolicy"]["automated"] =
        json!({"enabled": false, "prune": true, "selfHeal": true});
    let s = row(&app);
    assert!(
        s.automation
            .as_deref()
            .is_some_and(|a| a.contains("automated.enabled: false")),
        "{:?}",
        s.automation
    );
    let hold = s.hold.expect("automation turned off is a hold");
    assert_eq!(hold.bad_revision, "", "Git's revision is not judged bad");
    assert_eq!(s.paused, None, "not paused by driftdeck");

    let patch = write::pause_patch("ana@ops/1", Timestamp::UNIX_EPOCH, "incident 7");
    json_patch_merge(&mut app, &patch);
    let s = row(&app);
    let pause = s.paused.expect("paused by driftdeck");
    assert_eq!(pause.by, "ana@ops/1");
    assert_eq!(pause.reason, "incident 7");
    assert_eq!(
        app["spec"]["syncPolicy"]["automated"],
        json!({"enabled": false, "prune": true, "selfHeal": true}),
        "prune/selfHeal kept"
    );
    let resume = write::resume_patch(&app).expect("automated exists");
    json_patch_merge(&mut app, &resume);
    let s = row(&app);
    assert_eq!((s.paused, s.hold, s.automation), (None, None, None));
    assert_eq!(
        app["spec"]["syncPolicy"]["automated"]["enabled"],
        json!(true)
    );
}

#[test]
fn resume_refuses_an_app_configured_for_manual_sync() {
    let err = write::resume_patch(&fixture()).unwrap_err();
    assert!(err.contains("no automated sync policy"), "{err}");
}

#[test]
fn rollback_pins_a_history_entry_and_is_refused_while_automated() {
    let mut app = fixture();
    let entry = write::rollback_target(&app, Some("17")).expect("id 17 exists");
    let op = write::rollback_operation(&app, "ana@ops/1", entry).expect("manual app");
    assert_eq!(op["sync"]["revision"], json!(REV));
    assert_eq!(op["sync"]["source"]["path"], json!("instances/test"));
    assert_eq!(op["sync"]["syncStrategy"], json!({"apply": {}}));
    assert_eq!(op["sync"]["prune"], json!(false));
    assert_eq!(
        op["sync"]["syncOptions"],
        app["spec"]["syncPolicy"]["syncOptions"]
    );
    assert_eq!(op["initiatedBy"]["username"], json!("ana@ops/1"));
    assert_eq!(read::info(&op, "Reason"), Some("driftdeck rollback to 17"));
    // Default: the entry before the newest.
    let previous = write::rollback_target(&app, None).unwrap();
    assert_eq!(previous["id"], json!(17));
    // A revision (what the console's picker sends): the newest entry that deployed it.
    let by_revision = write::rollback_target(&app, Some(&REV[..7])).unwrap();
    assert_eq!(by_revision["id"], json!(18));
    let missing = write::rollback_target(&app, Some("99")).unwrap_err();
    assert!(missing.contains("ids: 17, 18"), "{missing}");

    app["spec"]["syncPolicy"]["automated"] = json!({"prune": true});
    let entry = write::rollback_target(&app, Some("17")).unwrap().clone();
    let refused = write::rollback_operation(&app, "ana@ops/1", &entry).unwrap_err();
    assert!(
        refused.starts_with(write::ROLLBACK_WHILE_AUTOMATED),
        "{refused}"
    );
}

#[test]
fn a_sync_sets_the_operation_and_clears_the_last_operation_state() {
    let mut app = fixture();
    let op = write::sync_operation("ana@ops/1", None, false);
    write::set_operation(&mut app, op);
    assert_eq!(
        app["operation"]["initiatedBy"]["username"],
        json!("ana@ops/1")
    );
    assert_eq!(
        app["operation"]["sync"]["syncStrategy"],
        json!({"hook": {}})
    );
    assert!(
        app["operation"]["sync"].get("revision").is_none(),
        "spec revision"
    );
    assert!(app["status"].get("operationState").is_none());
    assert_eq!(
        write::outcome(&app, "ana@ops/1"),
        None,
        "nothing reported yet"
    );
    let s = row(&app);
    let op = s.operation.expect("requested");
    assert!(op.phase.starts_with("Requested"), "{}", op.phase);
}

/// RFC 7386 merge patch, as the API server applies a `Patch::Merge`.
fn json_patch_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    json_patch_merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}
