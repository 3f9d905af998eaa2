//! DaemonSet health, as gitops-engine's `health_daemonset.go`: Progressing until every
//! scheduled node runs an updated, available pod. Imports only `crate::model`.

use serde_json::Value;

use super::{int, name, observed, text};
use crate::model::{Health, HealthCode};

pub(super) fn assess(obj: &Value) -> Health {
    if !observed(obj) {
        return Health::new(
            HealthCode::Progressing,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        );
    }
    let desired = int(obj, "/status/desiredNumberScheduled");
    let updated = int(obj, "/status/updatedNumberScheduled");
    if text(obj, "/spec/updateStrategy/type") == "OnDelete" {
        return Health::new(
            HealthCode::Healthy,
            format!("daemon set {updated} out of {desired} new pods have been updated"),
        );
    }
    if updated < desired {
        return Health::new(
            HealthCode::Progressing,
            format!(
                "Waiting for daemon set {:?} rollout to finish: {updated} out of {desired} new pods have been updated...",
                name(obj)
            ),
        );
    }
    let available = int(obj, "/status/numberAvailable");
    if available < desired {
        return Health::new(
            HealthCode::Progressing,
            format!(
                "Waiting for daemon set {:?} rollout to finish: {available} of {desired} updated pods are available...",
                name(obj)
            ),
        );
    }
    Health::healthy()
}
