//! HorizontalPodAutoscaler health, as gitops-engine's `health_hpa.go`: Degraded when it cannot
//! scale (`AbleToScale` False: FailedGetScale, FailedUpdateScale) or cannot compute a target
//! (`ScalingActive` False: FailedGetResourceMetric, InvalidSelector...), Healthy when able to
//! scale, Progressing before the controller reports. Imports only `crate::model`.

use serde_json::Value;

use super::{condition, text};
use crate::model::{Health, HealthCode};

pub(super) fn assess(obj: &Value) -> Health {
    let state = |kind: &str| condition(obj, kind).map(|c| (text(c, "/status"), c));
    if let Some(("False", c)) = state("AbleToScale") {
        return degraded(c);
    }
    if let Some(("False", c)) = state("ScalingActive") {
        if text(c, "/reason") == "ScalingDisabled" {
            return Health::new(HealthCode::Suspended, text(c, "/message"));
        }
        return degraded(c);
    }
    if let Some(("True", _)) = state("AbleToScale") {
        let message = match state("ScalingLimited") {
            Some(("True", c)) => text(c, "/message").to_owned(),
            _ => String::new(),
        };
        return Health::new(HealthCode::Healthy, message);
    }
    Health::new(HealthCode::Progressing, "Waiting to autoscale")
}

fn degraded(c: &Value) -> Health {
    Health::new(
        HealthCode::Degraded,
        format!("{}: {}", text(c, "/reason"), text(c, "/message")),
    )
}
