//! Deployment health, as gitops-engine's `health_deployment.go`: Suspended when paused,
//! Degraded when the rollout exceeded its progress deadline, Progressing until every replica is
//! updated and available and old ones are gone. Imports only `crate::model`.

use serde_json::Value;

use super::{condition, int, name, observed, opt_int, text};
use crate::model::{Health, HealthCode};

pub(super) fn assess(obj: &Value) -> Health {
    if super::flag(obj, "/spec/paused") {
        return Health::new(HealthCode::Suspended, "Deployment is paused");
    }
    if !observed(obj) {
        return Health::new(
            HealthCode::Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        );
    }
    if let Some(c) = condition(obj, "Progressing")
        && text(c, "/reason") == "ProgressDeadlineExceeded"
    {
        return Health::new(
            HealthCode::Degraded,
            format!(
                "Deployment {:?} exceeded its progress deadline: {}",
                name(obj),
                text(c, "/message")
            ),
        );
    }
    let wanted = opt_int(obj, "/spec/replicas").unwrap_or(1);
    let replicas = int(obj, "/status/replicas");
    let updated = int(obj, "/status/updatedReplicas");
    let available = int(obj, "/status/availableReplicas");
    if updated < wanted {
        return Health::new(
            HealthCode::Progressing,
            format!(
                "Waiting for rollout to finish: {updated} out of {wanted} new replicas have been updated..."
            ),
        );
    }
    if replicas > updated {
        return Health::new(
            HealthCode::Progressing,
            format!(
                "Waiting for rollout to finish: {} pending termination...",
                super::plural(replicas - updated, "old replica is", "old replicas are")
            ),
        );
    }
    if available < updated {
        return Health::new(
            HealthCode::Progressing,
            format!(
                "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        );
    }
    Health::healthy()
}
