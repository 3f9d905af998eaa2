//! The load-balancer controller: what an ingress controller and a cloud provider's service
//! controller do in a real cluster — publish an address in `status.loadBalancer.ingress` of
//! every Ingress and every Service of type LoadBalancer, and keep it there. Without it every
//! Ingress would stay Progressing forever, because health waits for that address.
//!
//! The address `10.x.y.z` is an FNV hash of the object's kind/namespace/name, so it is stable across restarts and steps and needs no bookkeeping. An
//! address already present is left alone (someone else published it). Services of other types
//! lose nothing: a Service that stops being a LoadBalancer keeps what it had, as the sandbox
//! has no cloud to release it from. Imports only the simulator's siblings.

use std::time::Instant;

use serde_json::{Value, json};

use super::txn::Txn;
use super::{Simulator, meta};

pub(crate) fn reconcile(_sim: &mut Simulator, _now: Instant, txn: &mut Txn<'_>) {
    for ing in txn.list("networking.k8s.io/v1", "Ingress", None) {
        publish(txn, &ing, "Ingress");
    }
    for svc in txn.list("v1", "Service", None) {
        if meta::str_at(&svc, "/spec/type") == "LoadBalancer" {
            publish(txn, &svc, "Service");
        }
    }
}

/// Writes the address into `obj` unless it already has one, or is being deleted.
fn publish(txn: &mut Txn<'_>, obj: &Value, kind: &str) {
    let present = obj
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if present || obj.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let mut new = obj.clone();
    meta::set_at(
        &mut new,
        &["status"],
        "loadBalancer",
        json!({"ingress": [{"ip": address(obj, kind)}]}),
    );
    txn.update(new);
}

/// A deterministic `10.x.y.z` for the object (never `.0` or `.255` in the last octet).
pub(crate) fn address(obj: &Value, kind: &str) -> String {
    let seed = format!("{kind}/{}", meta::key(obj));
    let h = meta::fnv32a(seed.as_bytes());
    let [_, x, y, z] = h.to_be_bytes();
    format!("10.{}.{}.{}", x, y, 1 + z % 254)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::sandbox::sim::testkit::World;

    fn ingress(name: &str) -> serde_json::Value {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": "log-platform"},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "logs.example.internal",
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend":
                    {"service": {"name": "log-api", "port": {"name": "http"}}}}]}}]}})
    }

    fn ip_of(obj: &serde_json::Value) -> String {
        obj["status"]["loadBalancer"]["ingress"][0]["ip"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn ingresses_get_a_stable_address_and_keep_it() {
        let mut w = World::fast();
        w.apply(ingress("log-api"));
        w.apply(ingress("other"));
        w.settle();
        let a = w.get("networking.k8s.io/v1", "Ingress", "log-platform", "log-api");
        let ip = ip_of(&a);
        assert!(ip.starts_with("10."), "{a}");
        assert_eq!(ip.split('.').count(), 4);
        let b = w.get("networking.k8s.io/v1", "Ingress", "log-platform", "other");
        assert_ne!(ip, ip_of(&b));

        // Quiet afterwards (convergence), and a spec change does not move the address.
        assert_eq!(w.settle(), 0);
        assert!(w.step().is_empty());
        let mut changed = w.get("networking.k8s.io/v1", "Ingress", "log-platform", "log-api");
        changed["spec"]["rules"][0]["host"] = json!("logs.dev.example.internal");
        w.apply(changed);
        w.settle();
        let again = w.get("networking.k8s.io/v1", "Ingress", "log-platform", "log-api");
        assert_eq!(ip_of(&again), ip);
        assert_eq!(
            again["spec"]["rules"][0]["host"],
            "logs.dev.example.internal"
        );

        // A fresh world computes the same address for the same object.
        let mut w2 = World::fast();
        w2.apply(ingress("log-api"));
        w2.settle();
        let a2 = w2.get("networking.k8s.io/v1", "Ingress", "log-platform", "log-api");
        assert_eq!(ip_of(&a2), ip);
    }

    #[test]
    fn load_balancer_services_get_an_address_others_do_not() {
        let mut w = World::fast();
        w.apply(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "edge", "namespace": "log-platform"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}}));
        w.apply(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "internal", "namespace": "log-platform"},
            "spec": {"ports": [{"port": 80}]}}));
        w.settle();
        let edge = w.get("v1", "Service", "log-platform", "edge");
        assert!(ip_of(&edge).starts_with("10."), "{edge}");
        let internal = w.get("v1", "Service", "log-platform", "internal");
        assert!(
            internal.pointer("/status/loadBalancer/ingress").is_none(),
            "{internal}"
        );
    }
}
