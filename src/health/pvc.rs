//! PersistentVolumeClaim health, as gitops-engine's `health_pvc.go`: Bound is Healthy, Pending
//! Progressing, Lost Degraded. Imports only `crate::model`.

use serde_json::Value;

use super::{name, text};
use crate::model::{Health, HealthCode};

pub(super) fn assess(obj: &Value) -> Health {
    match text(obj, "/status/phase") {
        "Bound" => Health::healthy(),
        "Pending" => Health::new(
            HealthCode::Progressing,
            format!("Waiting for a volume to bind claim {}", name(obj)),
        ),
        "Lost" => Health::new(
            HealthCode::Degraded,
            format!(
                "Claim {} lost its volume {}",
                name(obj),
                text(obj, "/spec/volumeName")
            ),
        ),
        "" => Health::new(
            HealthCode::Progressing,
            "Waiting for the claim to be processed",
        ),
        other => Health::new(HealthCode::Unknown, format!("unknown claim phase {other}")),
    }
}
