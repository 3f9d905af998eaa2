//! Pod health, as gitops-engine's `health_pod.go`: with restart policy Always, a container
//! waiting with an `Err*`/`*Error`/`*BackOff` reason (CrashLoopBackOff, ImagePullBackOff,
//! ErrImagePull, CreateContainerConfigError...) or killed for memory (OOMKilled) makes the Pod
//! Degraded; a Failed phase is Degraded; Pending is Progressing; Running is Healthy once Ready.
//! Imports only `crate::model`.

use serde_json::Value;

use super::{int, name, text};
use crate::model::{Health, HealthCode};

/// Whether a waiting reason means the container cannot start rather than is starting.
pub(super) fn failing_reason(reason: &str) -> bool {
    reason.starts_with("Err") || reason.ends_with("Error") || reason.ends_with("BackOff")
}

/// Init containers first, then containers: the order kubectl reports them in.
pub(super) fn container_statuses(pod: &Value) -> impl Iterator<Item = &Value> {
    ["/status/initContainerStatuses", "/status/containerStatuses"]
        .into_iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten()
}

pub(super) fn restart_policy(pod: &Value) -> &str {
    match text(pod, "/spec/restartPolicy") {
        "" => "Always",
        other => other,
    }
}

/// One line for a failing container, e.g. "CrashLoopBackOff: back-off restarting failed
/// container api in pod api-7f9c (restarted 5 times)".
fn describe(pod: &Value, status: &Value, reason: &str) -> String {
    let container = text(status, "/name");
    let pod_name = name(pod);
    let restarts = int(status, "/restartCount");
    let last = text(status, "/lastState/terminated/reason");
    let mut line = match reason {
        "CrashLoopBackOff" => format!(
            "CrashLoopBackOff: back-off restarting failed container {container} in pod {pod_name}"
        ),
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull" => format!(
            "{reason}: cannot pull image {:?} for container {container} in pod {pod_name}",
            text(status, "/image")
        ),
        "OOMKilled" => {
            format!("OOMKilled: container {container} in pod {pod_name} ran out of memory")
        }
        _ => {
            let detail = text(status, "/state/waiting/message");
            if detail.is_empty() {
                format!("{reason}: container {container} in pod {pod_name}")
            } else {
                format!("{reason}: container {container} in pod {pod_name}: {detail}")
            }
        }
    };
    let mut extra = Vec::new();
    if restarts > 0 {
        extra.push(format!(
            "restarted {}",
            super::plural(restarts, "time", "times")
        ));
    }
    if !last.is_empty() && last != reason && last != "Completed" {
        extra.push(format!("last exit: {last}"));
    }
    if !extra.is_empty() {
        line.push_str(&format!(" ({})", extra.join("; ")));
    }
    line
}

pub(super) fn assess(pod: &Value) -> Health {
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        return Health::new(HealthCode::Progressing, "Pod is terminating");
    }
    let policy = restart_policy(pod);
    if policy == "Always" {
        let failing: Vec<String> = container_statuses(pod)
            .filter_map(|s| {
                let waiting = text(s, "/state/waiting/reason");
                if failing_reason(waiting) {
                    return Some(describe(pod, s, waiting));
                }
                let terminated = text(s, "/state/terminated/reason");
                (terminated == "OOMKilled").then(|| describe(pod, s, terminated))
            })
            .collect();
        if !failing.is_empty() {
            return Health::new(HealthCode::Degraded, failing.join(", "));
        }
    }
    let message = text(pod, "/status/message");
    match text(pod, "/status/phase") {
        "Pending" => {
            let why = if message.is_empty() {
                pending_reason(pod)
            } else {
                message.to_owned()
            };
            Health::new(HealthCode::Progressing, why)
        }
        "Succeeded" => Health::new(HealthCode::Healthy, message),
        "Failed" => {
            let why = if message.is_empty() {
                failed_reason(pod)
            } else {
                message.to_owned()
            };
            Health::new(HealthCode::Degraded, why)
        }
        "Running" => {
            if policy != "Always" {
                return Health::new(HealthCode::Progressing, message);
            }
            if super::condition_is(pod, "Ready", "True") {
                return Health::healthy();
            }
            let crashed = container_statuses(pod).any(|s| {
                s.pointer("/lastState/terminated")
                    .is_some_and(Value::is_object)
            });
            if crashed {
                let reason = if message.is_empty() {
                    format!(
                        "a container of pod {} terminated and is not ready",
                        name(pod)
                    )
                } else {
                    message.to_owned()
                };
                return Health::new(HealthCode::Degraded, reason);
            }
            Health::new(
                HealthCode::Progressing,
                format!("Waiting for pod {} to become ready", name(pod)),
            )
        }
        other => Health::new(
            HealthCode::Unknown,
            if other.is_empty() {
                "Pod has no phase yet".to_owned()
            } else {
                format!("Pod phase {other}")
            },
        ),
    }
}

/// Why a Pending pod is waiting: the PodScheduled condition's message, or a container's
/// waiting reason.
fn pending_reason(pod: &Value) -> String {
    if let Some(c) = super::condition(pod, "PodScheduled")
        && text(c, "/status") == "False"
    {
        return format!("{}: {}", text(c, "/reason"), text(c, "/message"));
    }
    container_statuses(pod)
        .map(|s| text(s, "/state/waiting/reason"))
        .find(|r| !r.is_empty())
        .map_or_else(String::new, str::to_owned)
}

/// Why a Failed pod failed: the first terminated container with a non-zero exit.
fn failed_reason(pod: &Value) -> String {
    container_statuses(pod)
        .find_map(|s| {
            let t = s.pointer("/state/terminated")?;
            let code = int(t, "/exitCode");
            (code != 0).then(|| {
                format!(
                    "container {} exited with code {code} ({})",
                    text(s, "/name"),
                    text(t, "/reason")
                )
            })
        })
        .unwrap_or_else(|| format!("pod {} failed", name(pod)))
}
