//! Service health, as gitops-engine's `health_service.go`: a LoadBalancer Service is
//! Progressing until the cloud gives it an ingress address; every other type is Healthy.
//! Imports only `crate::model`.

use serde_json::Value;

use super::text;
use crate::model::{Health, HealthCode};

pub(super) fn assess(obj: &Value) -> Health {
    if text(obj, "/spec/type") != "LoadBalancer" {
        return Health::healthy();
    }
    match load_balancer_address(obj) {
        Some(address) => Health::new(HealthCode::Healthy, format!("load balancer at {address}")),
        None => Health::new(
            HealthCode::Progressing,
            "Waiting for the load balancer to get an external address",
        ),
    }
}

/// The first `status.loadBalancer.ingress` IP or hostname (shared with Ingress).
pub(super) fn load_balancer_address(obj: &Value) -> Option<String> {
    let ingress = obj.pointer("/status/loadBalancer/ingress")?.as_array()?;
    ingress.iter().find_map(|i| {
        [text(i, "/ip"), text(i, "/hostname")]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(str::to_owned)
    })
}
