//! The endpoints controller: for every Service with a selector, an Endpoints object of the same
//! name listing the matching pods' IPs (ready ones under `addresses`, the rest under
//! `notReadyAddresses`) and the service's ports resolved to container ports. Endpoints of
//! Services that no longer exist are deleted; Services without a selector are left to their
//! owners, as in Kubernetes.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::replicaset::is_ready;
use super::txn::Txn;
use super::{Simulator, meta};

pub(crate) fn reconcile(_sim: &mut Simulator, _now: Instant, txn: &mut Txn<'_>) {
    let services = txn.list("v1", "Service", None);
    let existing = txn.list("v1", "Endpoints", None);
    let managed: HashSet<String> = services
        .iter()
        .filter(|s| selector(s).is_some())
        .map(|o| meta::key(o))
        .collect();
    let all_services: HashSet<String> = services.iter().map(|o| meta::key(o)).collect();
    for ep in &existing {
        // Only Endpoints this controller would manage: their Service is gone.
        if !all_services.contains(&meta::key(ep))
            && ep.pointer("/metadata/ownerReferences").is_none()
        {
            txn.delete(ep);
        }
    }
    if managed.is_empty() {
        return;
    }
    let pods = txn.list("v1", "Pod", None);
    for svc in &services {
        let Some(sel) = selector(svc) else {
            continue;
        };
        let ns = meta::namespace(svc);
        let mut matching: Vec<&Value> = pods
            .iter()
            .map(|p| &**p)
            .filter(|p| meta::namespace(p) == ns)
            .filter(|p| meta::map_selector_matches(&sel, &meta::labels(p)))
            .filter(|p| !meta::str_at(p, "/status/podIP").is_empty())
            .filter(|p| !matches!(meta::str_at(p, "/status/phase"), "Succeeded" | "Failed"))
            .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
            .collect();
        matching.sort_by_key(|p| {
            (
                meta::str_at(p, "/status/podIP").to_string(),
                meta::name(p).to_string(),
            )
        });
        let subsets = subsets(svc, &matching);
        let mut want = json!({
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": meta::name(svc), "namespace": ns},
        });
        let labels = meta::labels(svc);
        if !labels.is_empty() {
            meta::set_at(&mut want, &["metadata"], "labels", Value::Object(labels));
        }
        if !subsets.is_empty() {
            meta::set_at(&mut want, &[], "subsets", json!(subsets));
        }
        match existing.iter().find(|e| meta::key(e) == meta::key(svc)) {
            None => txn.create(want),
            Some(cur) => {
                let mut new = (**cur).clone();
                if let Some(m) = new.as_object_mut() {
                    match want.get("subsets") {
                        Some(s) => m.insert("subsets".into(), s.clone()),
                        None => m.remove("subsets"),
                    };
                }
                if let Some(l) = want.pointer("/metadata/labels") {
                    meta::set_at(&mut new, &["metadata"], "labels", l.clone());
                }
                if new != **cur {
                    txn.update(new);
                }
            }
        }
    }
}

fn selector(svc: &Value) -> Option<Map<String, Value>> {
    if meta::str_at(svc, "/spec/type") == "ExternalName" {
        return None;
    }
    svc.pointer("/spec/selector")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .cloned()
}

fn subsets(svc: &Value, pods: &[&Value]) -> Vec<Value> {
    if pods.is_empty() {
        return Vec::new();
    }
    let address = |p: &Value| {
        json!({
            "ip": meta::str_at(p, "/status/podIP"),
            "nodeName": meta::str_at(p, "/spec/nodeName"),
            "targetRef": {"kind": "Pod", "name": meta::name(p), "namespace": meta::namespace(p),
                          "uid": meta::uid(p)},
        })
    };
    let ready: Vec<Value> = pods
        .iter()
        .filter(|p| is_ready(p))
        .map(|p| address(p))
        .collect();
    let not_ready: Vec<Value> = pods
        .iter()
        .filter(|p| !is_ready(p))
        .map(|p| address(p))
        .collect();
    let ports: Vec<Value> = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ps| ps.iter().filter_map(|sp| resolve_port(sp, pods)).collect())
        .unwrap_or_default();
    let mut subset = json!({"ports": ports});
    if !ready.is_empty() {
        meta::set_at(&mut subset, &[], "addresses", json!(ready));
    }
    if !not_ready.is_empty() {
        meta::set_at(&mut subset, &[], "notReadyAddresses", json!(not_ready));
    }
    vec![subset]
}

/// A service port as an endpoint port: a numeric targetPort as is, a named one looked up in the
/// pods' container ports (dropped when no pod declares it, as Kubernetes does).
fn resolve_port(sp: &Value, pods: &[&Value]) -> Option<Value> {
    let target = sp.get("targetPort").or_else(|| sp.get("port"))?;
    let port = match target {
        Value::Number(n) => n.as_i64()?,
        Value::String(name) => match name.parse::<i64>() {
            Ok(n) => n,
            Err(_) => pods.iter().find_map(|p| named_port(p, name))?,
        },
        _ => return None,
    };
    let mut out =
        json!({"port": port, "protocol": sp.get("protocol").cloned().unwrap_or(json!("TCP"))});
    if let Some(n) = sp
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        meta::set_at(&mut out, &[], "name", json!(n));
    }
    Some(out)
}

fn named_port(pod: &Value, name: &str) -> Option<i64> {
    pod.pointer("/spec/containers")?
        .as_array()?
        .iter()
        .filter_map(|c| c.get("ports").and_then(Value::as_array))
        .flatten()
        .find(|p| meta::str_at(p, "/name") == name)
        .and_then(|p| p.get("containerPort"))
        .and_then(Value::as_i64)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::sandbox::sim::testkit::{World, deployment};

    #[test]
    fn endpoints_follow_ready_pods() {
        let mut w = World::fast();
        w.apply(deployment("api", 2, "log/api:v1"));
        w.apply(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "api", "namespace": "log-platform", "labels": {"app": "api"}},
            "spec": {"selector": {"app": "api"},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}));
        w.settle();
        let ep = w.get("v1", "Endpoints", "log-platform", "api");
        assert_eq!(ep["metadata"]["labels"]["app"], "api");
        w.run_until(Duration::from_secs(30), Duration::from_millis(100), |w| {
            w.get("v1", "Endpoints", "log-platform", "api")["subsets"][0]["addresses"]
                .as_array()
                .is_some_and(|a| a.len() == 2)
        });
        let ep = w.get("v1", "Endpoints", "log-platform", "api");
        let subset = &ep["subsets"][0];
        assert_eq!(
            subset["ports"],
            json!([{"name": "http", "port": 8080, "protocol": "TCP"}])
        );
        assert!(subset.get("notReadyAddresses").is_none());
        assert_eq!(subset["addresses"][0]["targetRef"]["kind"], "Pod");
        assert!(
            subset["addresses"][0]["ip"]
                .as_str()
                .unwrap()
                .starts_with("10.244.")
        );

        // A bad rollout adds not-ready addresses; deleting the service removes its endpoints.
        let mut d = w.get("apps/v1", "Deployment", "log-platform", "api");
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("log/api:unready");
        w.apply(d);
        w.run_until(Duration::from_secs(30), Duration::from_millis(100), |w| {
            w.get("v1", "Endpoints", "log-platform", "api")["subsets"][0]
                .get("notReadyAddresses")
                .is_some()
        });
        w.delete("v1", "Service", "log-platform", "api");
        w.settle();
        assert!(w.all("v1", "Endpoints").is_empty());
    }

    #[test]
    fn services_without_selectors_are_left_alone() {
        let mut w = World::fast();
        w.apply(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "external", "namespace": "log-platform"},
            "spec": {"ports": [{"port": 9200}]}}));
        w.apply(json!({"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "external", "namespace": "log-platform"},
            "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 9200}]}]}));
        assert_eq!(w.settle(), 0);
        let ep = w.get("v1", "Endpoints", "log-platform", "external");
        assert_eq!(ep["subsets"][0]["addresses"][0]["ip"], "192.0.2.10");
    }
}
