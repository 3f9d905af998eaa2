//! ReplicaSet health, as gitops-engine's `health_replicaset.go`: Degraded on a true
//! `ReplicaFailure` condition (quota, admission), Progressing until replicas are available.
//! Imports only `crate::model`.

use serde_json::Value;

use super::{condition, int, observed, opt_int, text};
use crate::model::{Health, HealthCode};

pub(super) fn assess(obj: &Value) -> Health {
    if !observed(obj) {
        return Health::new(
            HealthCode::Progressing,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        );
    }
    if let Some(c) = condition(obj, "ReplicaFailure")
        && text(c, "/status") == "True"
    {
        return Health::new(
            HealthCode::Degraded,
            format!("{}: {}", text(c, "/reason"), text(c, "/message")),
        );
    }
    let wanted = opt_int(obj, "/spec/replicas").unwrap_or(1);
    let available = int(obj, "/status/availableReplicas");
    if available < wanted {
        return Health::new(
            HealthCode::Progressing,
            format!(
                "Waiting for rollout to finish: {available} out of {wanted} new replicas are available..."
            ),
        );
    }
    Health::healthy()
}
