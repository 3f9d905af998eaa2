//! Health: `assess(obj) -> Health{code, message}` for one live object, one file per kind as
//! gitops-engine's `health_*.go` (and Argo CD's built-in Lua checks for CronJob), plus the
//! pods pane's flattened [`PodRow`](crate::model::PodRow).
//!
//! Imports only `crate::model`. Pure: no IO, no kube client; the cluster module hands in the
//! JSON objects it watches. Missing objects are the caller's business (an object that does not
//! exist is `Missing`, not something this module sees). Kinds without a dedicated check are
//! Healthy when they exist. Input can never panic: absent or mistyped fields read as unset.
//!
//! Decisions where gitops-engine is silent or Go-specific: a Pod being deleted is Progressing;
//! a Namespace that is Terminating is Progressing; an HPA whose `ScalingActive` is False only
//! because it was scaled to zero (`ScalingDisabled`) is Suspended rather than Degraded.

mod cronjob;
mod daemonset;
mod deployment;
mod hpa;
mod ingress;
mod job;
mod namespace;
mod pod;
mod pod_row;
mod pvc;
mod replicaset;
mod service;
mod statefulset;

use serde_json::Value;

use crate::model::{Health, HealthCode};

pub use pod_row::pod_row;

/// The health of one live object, dispatched on its API group and kind.
pub fn assess(obj: &Value) -> Health {
    if !obj.is_object() {
        return Health::new(HealthCode::Unknown, "not a Kubernetes object");
    }
    let api_version = text(obj, "/apiVersion");
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    match (group, text(obj, "/kind")) {
        ("apps" | "extensions", "Deployment") => deployment::assess(obj),
        ("apps", "StatefulSet") => statefulset::assess(obj),
        ("apps" | "extensions", "DaemonSet") => daemonset::assess(obj),
        ("apps" | "extensions", "ReplicaSet") => replicaset::assess(obj),
        ("", "Pod") => pod::assess(obj),
        ("batch", "Job") => job::assess(obj),
        ("batch", "CronJob") => cronjob::assess(obj),
        ("", "Service") => service::assess(obj),
        ("networking.k8s.io" | "extensions", "Ingress") => ingress::assess(obj),
        ("", "PersistentVolumeClaim") => pvc::assess(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => hpa::assess(obj),
        ("", "Namespace") => namespace::assess(obj),
        _ => Health::healthy(),
    }
}

/// A string field by JSON pointer; empty when absent or not a string.
fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// An integer field by JSON pointer, when present and integral.
fn opt_int(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// An integer field by JSON pointer; 0 when absent (Kubernetes omits zero counts).
fn int(obj: &Value, pointer: &str) -> i64 {
    opt_int(obj, pointer).unwrap_or(0)
}

fn flag(obj: &Value, pointer: &str) -> bool {
    obj.pointer(pointer)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn name(obj: &Value) -> &str {
    text(obj, "/metadata/name")
}

/// The `status.conditions` entry of the given type.
fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

/// Whether the status of a condition is the given `"True"`/`"False"`.
fn condition_is(obj: &Value, kind: &str, status: &str) -> bool {
    condition(obj, kind).is_some_and(|c| text(c, "/status") == status)
}

/// Whether the controller has seen the latest spec (`generation <= observedGeneration`).
/// Objects without a generation (fixtures, old servers) count as observed.
fn observed(obj: &Value) -> bool {
    match opt_int(obj, "/metadata/generation") {
        Some(generation) => generation <= int(obj, "/status/observedGeneration"),
        None => true,
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_kinds_are_healthy_when_they_exist() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        assert_eq!(assess(&cm).code, HealthCode::Healthy);
    }

    #[test]
    fn garbage_is_unknown_not_a_panic() {
        assert_eq!(assess(&json!("x")).code, HealthCode::Unknown);
        let odd = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": "x", "status": 3});
        assert_eq!(assess(&odd).code, HealthCode::Progressing);
    }
}
