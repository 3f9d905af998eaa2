//! Job health, as gitops-engine's `health_job.go`: Degraded on a `Failed` condition
//! (BackoffLimitExceeded, DeadlineExceeded), Suspended when suspended, Progressing while running,
//! Healthy when `Complete`. Imports only `crate::model`.

use serde_json::Value;

use super::{condition, condition_is, int, text};
use crate::model::{Health, HealthCode};

pub(super) fn assess(obj: &Value) -> Health {
    if let Some(c) = condition(obj, "Failed")
        && text(c, "/status") == "True"
    {
        let reason = text(c, "/reason");
        let message = text(c, "/message");
        return Health::new(
            HealthCode::Degraded,
            match (reason.is_empty(), message.is_empty()) {
                (false, false) => format!("{reason}: {message}"),
                (false, true) => reason.to_owned(),
                (true, _) => message.to_owned(),
            },
        );
    }
    if condition_is(obj, "Complete", "True") {
        return Health::new(
            HealthCode::Healthy,
            text_or(obj, "Complete", "Job completed"),
        );
    }
    if condition_is(obj, "Suspended", "True") || super::flag(obj, "/spec/suspend") {
        return Health::new(HealthCode::Suspended, "Job is suspended");
    }
    Health::new(
        HealthCode::Progressing,
        format!(
            "Job is running: {} active, {} succeeded, {} failed",
            int(obj, "/status/active"),
            int(obj, "/status/succeeded"),
            int(obj, "/status/failed")
        ),
    )
}

fn text_or(obj: &Value, kind: &str, default: &str) -> String {
    condition(obj, kind)
        .map(|c| text(c, "/message"))
        .filter(|m| !m.is_empty())
        .unwrap_or(default)
        .to_owned()
}
