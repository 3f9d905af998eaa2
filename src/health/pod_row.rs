//! The pods pane's row: a live Pod flattened into [`PodRow`] — STATUS as kubectl's column
//! computes it (`Init:0/1`, `CrashLoopBackOff`, `Completed`, `Terminating`...), READY,
//! RESTARTS, age, reason, node and owning workload. Imports only `crate::model`.

use jiff::Timestamp;
use serde_json::Value;

use super::pod::container_statuses;
use super::{int, text};
use crate::model::PodRow;

/// Flattens a live Pod for the pods pane. Never fails: absent fields give empty cells.
pub fn pod_row(pod: &Value) -> PodRow {
    let containers = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let total = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(containers.len(), Vec::len);
    let ready = containers
        .iter()
        .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    let restarts: i64 = container_statuses(pod)
        .map(|c| int(c, "/restartCount"))
        .sum();
    PodRow {
        namespace: text(pod, "/metadata/namespace").to_owned(),
        name: text(pod, "/metadata/name").to_owned(),
        status: status(pod),
        ready: format!("{ready}/{total}"),
        restarts: u32::try_from(restarts.max(0)).unwrap_or(u32::MAX),
        created: text(pod, "/metadata/creationTimestamp")
            .parse::<Timestamp>()
            .ok(),
        reason: reason(pod),
        node: text(pod, "/spec/nodeName").to_owned(),
        owner: owner(pod),
        health: super::assess(pod).code,
    }
}

/// kubectl's STATUS column (`printPod` in kubectl's printers).
fn status(pod: &Value) -> String {
    let mut reason = match text(pod, "/status/reason") {
        "" => text(pod, "/status/phase").to_owned(),
        r => r.to_owned(),
    };
    let inits = pod
        .pointer("/status/initContainerStatuses")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let init_total = pod
        .pointer("/spec/initContainers")
        .and_then(Value::as_array)
        .map_or(inits.len(), Vec::len);
    let mut initializing = false;
    for (i, c) in inits.iter().enumerate() {
        if let Some(t) = c.pointer("/state/terminated") {
            if int(t, "/exitCode") == 0 {
                continue;
            }
            reason = match text(t, "/reason") {
                "" if int(t, "/signal") != 0 => format!("Init:Signal:{}", int(t, "/signal")),
                "" => format!("Init:ExitCode:{}", int(t, "/exitCode")),
                r => format!("Init:{r}"),
            };
        } else {
            let waiting = text(c, "/state/waiting/reason");
            reason = if !waiting.is_empty() && waiting != "PodInitializing" {
                format!("Init:{waiting}")
            } else {
                format!("Init:{i}/{init_total}")
            };
        }
        initializing = true;
        break;
    }
    if !initializing {
        let mut has_running = false;
        let containers = pod
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for c in containers.iter().rev() {
            let waiting = text(c, "/state/waiting/reason");
            if !waiting.is_empty() {
                reason = waiting.to_owned();
            } else if let Some(t) = c.pointer("/state/terminated") {
                reason = match text(t, "/reason") {
                    "" if int(t, "/signal") != 0 => format!("Signal:{}", int(t, "/signal")),
                    "" => format!("ExitCode:{}", int(t, "/exitCode")),
                    r => r.to_owned(),
                };
            } else if c.pointer("/state/running").is_some()
                && c.get("ready").and_then(Value::as_bool) == Some(true)
            {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = if super::condition_is(pod, "Ready", "True") {
                "Running".to_owned()
            } else {
                "NotReady".to_owned()
            };
        }
    }
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        reason = if text(pod, "/status/reason") == "NodeLost" {
            "Unknown".to_owned()
        } else {
            "Terminating".to_owned()
        };
    }
    reason
}

/// The first waiting or terminated reason with its message, else the pod's own message.
fn reason(pod: &Value) -> String {
    for c in container_statuses(pod) {
        for state in ["/state/waiting", "/state/terminated"] {
            let r = c
                .pointer(&format!("{state}/reason"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if r.is_empty()
                || r == "Completed"
                || r == "PodInitializing"
                || r == "ContainerCreating"
            {
                continue;
            }
            let m = c
                .pointer(&format!("{state}/message"))
                .and_then(Value::as_str)
                .unwrap_or("");
            return if m.is_empty() {
                format!("{}: {r}", text(c, "/name"))
            } else {
                format!("{}: {r}: {m}", text(c, "/name"))
            };
        }
    }
    let message = text(pod, "/status/message");
    if !message.is_empty() {
        return message.to_owned();
    }
    // A restarted container that is not ready again: the last exit is the best clue.
    container_statuses(pod)
        .filter(|c| c.get("ready").and_then(Value::as_bool) != Some(true))
        .find_map(|c| {
            let t = c.pointer("/lastState/terminated")?;
            Some(format!(
                "{}: last exit {} (code {})",
                text(c, "/name"),
                text(t, "/reason"),
                int(t, "/exitCode")
            ))
        })
        .unwrap_or_default()
}

/// `Deployment/api` for a pod of ReplicaSet `api-7f9c8d` (recognised by the pod's
/// `pod-template-hash` label), else the controller owner as `Kind/name`.
fn owner(pod: &Value) -> String {
    let Some(refs) = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
    else {
        return String::new();
    };
    let chosen = refs
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .or_else(|| refs.first());
    let Some(r) = chosen else {
        return String::new();
    };
    let kind = text(r, "/kind");
    let name = text(r, "/name");
    let hash = text(pod, "/metadata/labels/pod-template-hash");
    if kind == "ReplicaSet"
        && !hash.is_empty()
        && let Some(deployment) = name.strip_suffix(hash).and_then(|n| n.strip_suffix('-'))
    {
        return format!("Deployment/{deployment}");
    }
    format!("{kind}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "api-7f9c8d-x2x", "namespace": "prod",
                            "creationTimestamp": "2026-11-20T09:12:44Z",
                            "labels": {"pod-template-hash": "7f9c8d"},
                            "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7f9c8d", "controller": true}]},
               "spec": {"nodeName": "node-1", "containers": [{"name": "api"}, {"name": "side"}]},
               "status": status})
    }

    #[test]
    fn running_pod_row() {
        let row = pod_row(&pod(json!({"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "api", "ready": true, "restartCount": 1, "state": {"running": {}}},
                {"name": "side", "ready": true, "restartCount": 2, "state": {"running": {}}}]})));
        assert_eq!(row.status, "Running");
        assert_eq!(row.ready, "2/2");
        assert_eq!(row.restarts, 3);
        assert_eq!(row.owner, "Deployment/api");
        assert_eq!(row.node, "node-1");
        assert!(row.created.is_some());
        assert_eq!(row.reason, "");
        assert_eq!(row.health, crate::model::HealthCode::Healthy);
    }

    #[test]
    fn crashlooping_pod_row() {
        let row = pod_row(&pod(json!({"phase": "Running",
            "containerStatuses": [
                {"name": "api", "ready": false, "restartCount": 5,
                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}},
                {"name": "side", "ready": true, "restartCount": 0, "state": {"running": {}}}]})));
        assert_eq!(row.status, "CrashLoopBackOff");
        assert_eq!(row.ready, "1/2");
        assert_eq!(row.reason, "api: CrashLoopBackOff: back-off 5m0s");
        assert_eq!(row.health, crate::model::HealthCode::Degraded);
    }

    #[test]
    fn init_and_terminating_status() {
        let mut p = pod(json!({"phase": "Pending",
            "initContainerStatuses": [{"name": "migrate", "state": {"running": {}}}]}));
        p["spec"]["initContainers"] = json!([{"name": "migrate"}]);
        assert_eq!(pod_row(&p).status, "Init:0/1");
        p["metadata"]["deletionTimestamp"] = json!("2026-11-20T10:00:00Z");
        assert_eq!(pod_row(&p).status, "Terminating");
    }

    #[test]
    fn completed_job_pod() {
        let mut p = pod(json!({"phase": "Succeeded", "containerStatuses": [
            {"name": "api", "ready": false, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}));
        p["metadata"]["ownerReferences"] =
            json!([{"kind": "Job", "name": "migrate", "controller": true}]);
        let row = pod_row(&p);
        assert_eq!(row.status, "Completed");
        assert_eq!(row.owner, "Job/migrate");
    }
}
