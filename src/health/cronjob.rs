//! CronJob health, as Argo CD's built-in `batch/CronJob` check: Suspended when suspended,
//! Degraded when the last scheduled run has not succeeded (and none is running), Progressing
//! while the run after a failure is active. Imports only `crate::model`.

use jiff::Timestamp;
use serde_json::Value;

use super::text;
use crate::model::{Health, HealthCode};

pub(super) fn assess(obj: &Value) -> Health {
    if super::flag(obj, "/spec/suspend") {
        return Health::new(HealthCode::Suspended, "CronJob is suspended");
    }
    let time = |p: &str| text(obj, p).parse::<Timestamp>().ok();
    let active = obj
        .pointer("/status/active")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let Some(scheduled) = time("/status/lastScheduleTime") else {
        return Health::new(HealthCode::Healthy, "CronJob has not been scheduled yet");
    };
    let succeeded = time("/status/lastSuccessfulTime");
    let last_failed = succeeded.is_none_or(|s| scheduled > s);
    match (last_failed, active) {
        (false, _) => Health::new(HealthCode::Healthy, "CronJob's last run succeeded"),
        (true, true) if succeeded.is_none() => Health::new(
            HealthCode::Progressing,
            "CronJob's first run is in progress",
        ),
        (true, true) => Health::new(
            HealthCode::Progressing,
            "CronJob's latest run is in progress",
        ),
        (true, false) if succeeded.is_none() => Health::new(
            HealthCode::Degraded,
            format!("CronJob has never run successfully (last scheduled {scheduled})"),
        ),
        (true, false) => Health::new(
            HealthCode::Degraded,
            format!("CronJob's last run (scheduled {scheduled}) did not succeed"),
        ),
    }
}
