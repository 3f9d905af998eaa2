//! Ingress health, as gitops-engine's `health_ingress.go`: Progressing until the controller
//! publishes an address in `status.loadBalancer.ingress`. Imports only `crate::model`.

use serde_json::Value;

use super::service::load_balancer_address;
use crate::model::{Health, HealthCode};

pub(super) fn assess(obj: &Value) -> Health {
    match load_balancer_address(obj) {
        Some(address) => Health::new(HealthCode::Healthy, format!("served at {address}")),
        None => Health::new(
            HealthCode::Progressing,
            "Waiting for the ingress controller to publish an address",
        ),
    }
}
