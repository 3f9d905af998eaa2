//! The daemonset controller: one pod per simulated node (bound directly to it), extras and pods
//! on unknown nodes removed, and a rolling update that replaces one outdated pod at a time
//! (maxUnavailable 1) once every pod is Ready. Node selectors and taints are not modelled: the
//! simulated nodes are identical and untainted.

use std::time::Instant;

use serde_json::{Value, json};

use super::events::{self, Event, Source};
use super::replicaset::{fresh_name, is_ready, pod_from_template};
use super::txn::Txn;
use super::{Simulator, meta};

const REVISION_LABEL: &str = "controller-revision-hash";

pub(crate) fn reconcile(sim: &mut Simulator, now: Instant, txn: &mut Txn<'_>) {
    let sets = txn.list("apps/v1", "DaemonSet", None);
    if sets.is_empty() {
        return;
    }
    let pods = txn.list("v1", "Pod", None);
    let index = meta::by_controller(&pods);
    let mut taken = pods.iter().map(|o| meta::key(o)).collect();
    let at = sim.clock.rfc3339(now);
    let nodes = sim.cfg.nodes.clone();
    for ds in sets {
        if meta::uid(&ds).is_empty() {
            continue;
        }
        let template = ds.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = meta::template_hash(&template);
        let generation = meta::int_at(&ds, "/metadata/generation", 1);
        let owned: Vec<&Value> = meta::owned_by(&index, &ds);
        let on = |node: &str| -> Vec<&Value> {
            owned
                .iter()
                .copied()
                .filter(|p| meta::str_at(p, "/spec/nodeName") == node)
                .collect()
        };
        let note = |txn: &mut Txn<'_>, reason: &'static str, message: String| {
            let ev = Event {
                reason,
                message,
                warning: false,
                source: Source {
                    component: "daemonset-controller",
                    host: "",
                    field_path: None,
                },
            };
            events::record(txn, &ds, ev, &at);
        };
        for node in &nodes {
            let here = on(node);
            if here.is_empty() {
                let name = fresh_name(sim, &ds, &mut taken);
                let mut pod = pod_from_template(
                    &ds,
                    &template,
                    &name,
                    &[
                        (REVISION_LABEL, hash.clone()),
                        ("pod-template-generation", generation.to_string()),
                    ],
                );
                meta::set_at(&mut pod, &["spec"], "nodeName", json!(node));
                txn.create(pod);
                note(txn, "SuccessfulCreate", format!("Created pod: {name}"));
            }
            for extra in here.iter().skip(1) {
                txn.delete(extra);
                note(
                    txn,
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", meta::name(extra)),
                );
            }
        }
        for stray in owned
            .iter()
            .filter(|p| !nodes.iter().any(|n| n == meta::str_at(p, "/spec/nodeName")))
        {
            txn.delete(stray);
            note(
                txn,
                "SuccessfulDelete",
                format!("Deleted pod: {}", meta::name(stray)),
            );
        }
        let current =
            |p: &&Value| meta::str_at(p, &format!("/metadata/labels/{REVISION_LABEL}")) == hash;
        let scheduled = nodes.iter().filter(|n| !on(n).is_empty()).count();
        let ready = nodes
            .iter()
            .filter(|n| on(n).first().is_some_and(|p| is_ready(p)))
            .count();
        let updated = nodes
            .iter()
            .filter(|n| on(n).first().is_some_and(current))
            .count();
        let rolling = meta::str_at(&ds, "/spec/updateStrategy/type") != "OnDelete";
        if rolling && ready == nodes.len() {
            let outdated = nodes
                .iter()
                .filter_map(|n| on(n).first().copied())
                .find(|p| !current(p));
            if let Some(p) = outdated {
                txn.delete(p);
                note(
                    txn,
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", meta::name(p)),
                );
            }
        }
        let mut status = json!({
            "currentNumberScheduled": scheduled,
            "desiredNumberScheduled": nodes.len(),
            "numberMisscheduled": 0,
            "numberReady": ready,
            "observedGeneration": generation,
        });
        for (k, v) in [
            ("updatedNumberScheduled", updated),
            ("numberAvailable", ready),
            ("numberUnavailable", nodes.len() - ready),
        ] {
            if v > 0 {
                meta::set_at(&mut status, &[], k, json!(v));
            }
        }
        let mut new = (*ds).clone();
        if new.get("status") != Some(&status) {
            meta::set_at(&mut new, &[], "status", status);
            txn.update(new);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use serde_json::json;

    use crate::sandbox::sim::meta;
    use crate::sandbox::sim::testkit::World;

    #[test]
    fn one_ready_pod_per_node_and_rolling_updates() {
        let mut w = World::fast();
        w.apply(json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "log-platform"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}},
                    "spec": {"containers": [{"name": "agent", "image": "log/agent:v1"}]}}}}));
        w.run_until(Duration::from_secs(30), Duration::from_millis(100), |w| {
            w.get("apps/v1", "DaemonSet", "log-platform", "agent")["status"]["numberReady"] == 3
        });
        let ds = w.get("apps/v1", "DaemonSet", "log-platform", "agent");
        assert_eq!(ds["status"]["desiredNumberScheduled"], 3);
        assert_eq!(ds["status"]["updatedNumberScheduled"], 3);
        assert_eq!(ds["status"]["numberAvailable"], 3);
        assert!(ds["status"].get("numberUnavailable").is_none());
        let nodes: BTreeSet<String> = w
            .pods_of("app", "agent")
            .iter()
            .map(|p| meta::str_at(p, "/spec/nodeName").to_string())
            .collect();
        assert_eq!(
            nodes.into_iter().collect::<Vec<_>>(),
            ["node-a", "node-b", "node-c"]
        );

        let mut ds = ds;
        ds["spec"]["template"]["spec"]["containers"][0]["image"] = json!("log/agent:v2");
        w.apply(ds);
        w.run_until(Duration::from_secs(60), Duration::from_millis(100), |w| {
            let ds = w.get("apps/v1", "DaemonSet", "log-platform", "agent");
            ds["status"]["updatedNumberScheduled"] == 3 && ds["status"]["numberReady"] == 3
        });
        let pods = w.pods_of("app", "agent");
        assert_eq!(pods.len(), 3);
        assert!(
            pods.iter()
                .all(|p| p["spec"]["containers"][0]["image"] == "log/agent:v2")
        );
    }
}
