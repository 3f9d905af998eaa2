//! StatefulSet health, as gitops-engine's `health_statefulset.go`: Progressing until the spec is
//! observed, every replica is ready and the rolling update (or its partition) is complete.
//! Imports only `crate::model`.

use serde_json::Value;

use super::{int, observed, opt_int, text};
use crate::model::{Health, HealthCode};

pub(super) fn assess(obj: &Value) -> Health {
    let progressing = |m: String| Health::new(HealthCode::Progressing, m);
    if int(obj, "/status/observedGeneration") == 0 || !observed(obj) {
        return progressing("Waiting for statefulset spec update to be observed...".into());
    }
    let wanted = opt_int(obj, "/spec/replicas").unwrap_or(1);
    let ready = int(obj, "/status/readyReplicas");
    if ready < wanted {
        return progressing(format!(
            "Waiting for {} to be ready...",
            super::plural(wanted - ready, "pod", "pods")
        ));
    }
    let updated = int(obj, "/status/updatedReplicas");
    let strategy = text(obj, "/spec/updateStrategy/type");
    if strategy == "RollingUpdate" || strategy.is_empty() {
        let partition = int(obj, "/spec/updateStrategy/rollingUpdate/partition");
        if partition > 0 {
            let expected = wanted - partition;
            if updated < expected {
                return progressing(format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {expected} new pods have been updated..."
                ));
            }
            return Health::new(
                HealthCode::Healthy,
                format!("partitioned roll out complete: {updated} new pods have been updated..."),
            );
        }
    }
    if strategy == "OnDelete" {
        return Health::new(
            HealthCode::Healthy,
            format!("statefulset has {ready} ready pods"),
        );
    }
    let update_revision = text(obj, "/status/updateRevision");
    if update_revision != text(obj, "/status/currentRevision") {
        return progressing(format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}..."
        ));
    }
    Health::new(
        HealthCode::Healthy,
        format!(
            "statefulset rolling update complete {} pods at revision {}...",
            int(obj, "/status/currentReplicas"),
            text(obj, "/status/currentRevision")
        ),
    )
}
