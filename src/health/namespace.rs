//! Namespace health: Active is Healthy, Terminating is Progressing (deletion waits for every
//! object in it). Imports only `crate::model`.

use serde_json::Value;

use super::text;
use crate::model::{Health, HealthCode};

pub(super) fn assess(obj: &Value) -> Health {
    match text(obj, "/status/phase") {
        "Terminating" => Health::new(
            HealthCode::Progressing,
            format!("Namespace {} is terminating", super::name(obj)),
        ),
        _ => Health::healthy(),
    }
}
