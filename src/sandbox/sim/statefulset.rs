//! The statefulset controller: pods `<name>-0..N-1` with stable names, created in order (each
//! only once its predecessors are Ready, unless `podManagementPolicy: Parallel`), removed
//! highest ordinal first, and rolled to a new template one pod at a time from the highest
//! ordinal down to `partition`. Revisions are `<name>-<template hash>` (no ControllerRevision
//! objects are kept).

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};

use super::events::{self, Event, Source};
use super::replicaset::{is_ready, pod_from_template};
use super::txn::Txn;
use super::{Simulator, meta};

const REVISION_LABEL: &str = "controller-revision-hash";

pub(crate) fn reconcile(sim: &mut Simulator, now: Instant, txn: &mut Txn<'_>) {
    let sets = txn.list("apps/v1", "StatefulSet", None);
    if sets.is_empty() {
        return;
    }
    let pods = txn.list("v1", "Pod", None);
    let at = sim.clock.rfc3339(now);
    let index = meta::by_controller(&pods);
    for sts in sets {
        if meta::uid(&sts).is_empty() {
            continue;
        }
        sync(txn, &sts, &index, &at);
    }
}

fn ordinal(sts: &Value, pod: &Value) -> Option<i64> {
    meta::name(pod)
        .strip_prefix(meta::name(sts))?
        .strip_prefix('-')?
        .parse()
        .ok()
}

fn sync(
    txn: &mut Txn<'_>,
    sts: &Value,
    index: &std::collections::HashMap<&str, Vec<&Value>>,
    at: &str,
) {
    let name = meta::name(sts);
    let replicas = meta::int_at(sts, "/spec/replicas", 1).max(0);
    let parallel = meta::str_at(sts, "/spec/podManagementPolicy") == "Parallel";
    let partition = meta::int_at(sts, "/spec/updateStrategy/rollingUpdate/partition", 0).max(0);
    let on_delete = meta::str_at(sts, "/spec/updateStrategy/type") == "OnDelete";
    let template = sts.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let update_revision = format!("{name}-{}", meta::template_hash(&template));
    let owned: BTreeMap<i64, &Value> = meta::owned_by(index, sts)
        .into_iter()
        .filter_map(|p| ordinal(sts, p).map(|o| (o, p)))
        .collect();
    let source = || Source {
        component: "statefulset-controller",
        host: "",
        field_path: None,
    };
    let note = |txn: &mut Txn<'_>, reason: &'static str, message: String| {
        let ev = Event {
            reason,
            message,
            warning: false,
            source: source(),
        };
        events::record(txn, sts, ev, at);
    };

    // Create missing ordinals (in order unless Parallel).
    for i in 0..replicas {
        if owned.contains_key(&i) {
            if !parallel && !owned.get(&i).is_some_and(|p| is_ready(p)) {
                break;
            }
            continue;
        }
        let pod_name = format!("{name}-{i}");
        let mut pod = pod_from_template(
            sts,
            &template,
            &pod_name,
            &[
                (REVISION_LABEL, update_revision.clone()),
                ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
                ("apps.kubernetes.io/pod-index", i.to_string()),
            ],
        );
        if let Some(m) = pod.pointer_mut("/metadata").and_then(Value::as_object_mut) {
            m.remove("generateName");
        }
        meta::set_at(&mut pod, &["spec"], "hostname", json!(pod_name));
        let service = meta::str_at(sts, "/spec/serviceName");
        if !service.is_empty() {
            meta::set_at(&mut pod, &["spec"], "subdomain", json!(service));
        }
        txn.create(pod);
        note(
            txn,
            "SuccessfulCreate",
            format!("create Pod {pod_name} in StatefulSet {name} successful"),
        );
        if !parallel {
            break;
        }
    }

    // Scale down from the highest ordinal.
    let excess: Vec<&&Value> = owned.range(replicas..).rev().map(|(_, p)| p).collect();
    let take = if parallel {
        excess.len()
    } else {
        excess.len().min(1)
    };
    for p in excess.into_iter().take(take) {
        txn.delete(p);
        note(
            txn,
            "SuccessfulDelete",
            format!(
                "delete Pod {} in StatefulSet {name} successful",
                meta::name(p)
            ),
        );
    }

    // Roll one outdated pod at a time, highest ordinal first, once everything is Ready.
    let all_ready = (0..replicas).all(|i| owned.get(&i).is_some_and(|p| is_ready(p)));
    if all_ready && !on_delete {
        let outdated = owned.range(partition..replicas).rev().find(|(_, p)| {
            meta::str_at(p, &format!("/metadata/labels/{REVISION_LABEL}")) != update_revision
        });
        if let Some((_, p)) = outdated {
            txn.delete(p);
            note(
                txn,
                "SuccessfulDelete",
                format!(
                    "delete Pod {} in StatefulSet {name} successful",
                    meta::name(p)
                ),
            );
        }
    }

    // Status from the pods as they are now.
    let live: Vec<&Value> = owned.range(0..replicas).map(|(_, p)| *p).collect();
    let updated = live
        .iter()
        .filter(|p| {
            meta::str_at(p, &format!("/metadata/labels/{REVISION_LABEL}")) == update_revision
        })
        .count();
    let ready = live.iter().filter(|p| is_ready(p)).count();
    let current_revision = if updated == live.len() && live.len() as i64 == replicas {
        update_revision.clone()
    } else {
        match meta::str_at(sts, "/status/currentRevision") {
            "" => update_revision.clone(),
            r => r.to_string(),
        }
    };
    let current = live
        .iter()
        .filter(|p| {
            meta::str_at(p, &format!("/metadata/labels/{REVISION_LABEL}")) == current_revision
        })
        .count();
    let mut status = json!({
        "replicas": owned.len(),
        "availableReplicas": ready,
        "collisionCount": 0,
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "observedGeneration": meta::int_at(sts, "/metadata/generation", 1),
    });
    for (k, v) in [
        ("readyReplicas", ready),
        ("currentReplicas", current),
        ("updatedReplicas", updated),
    ] {
        if v > 0 {
            meta::set_at(&mut status, &[], k, json!(v));
        }
    }
    let mut new = txn
        .get("apps/v1", "StatefulSet", meta::namespace(sts), name)
        .unwrap_or_else(|| sts.clone());
    if new.get("status") != Some(&status) {
        meta::set_at(&mut new, &[], "status", status);
        txn.update(new);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use crate::sandbox::sim::meta;
    use crate::sandbox::sim::testkit::{World, is_ready};

    fn store(replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "store", "namespace": "log-platform"},
            "spec": {"replicas": replicas, "serviceName": "store",
                "selector": {"matchLabels": {"app": "store"}},
                "template": {"metadata": {"labels": {"app": "store"}},
                    "spec": {"containers": [{"name": "store", "image": image}]}}}})
    }

    fn names(w: &World) -> Vec<String> {
        let mut n: Vec<String> = w
            .pods_of("app", "store")
            .iter()
            .map(|p| meta::name(p).to_string())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn pods_come_up_in_order_and_roll_from_the_top() {
        let mut w = World::fast();
        w.apply(store(3, "log/store:v1"));
        w.settle();
        assert_eq!(
            names(&w),
            ["store-0"],
            "store-1 waits for store-0 to be Ready"
        );
        w.run_until(Duration::from_secs(30), Duration::from_millis(100), |w| {
            let s = w.get("apps/v1", "StatefulSet", "log-platform", "store");
            s["status"]["readyReplicas"] == 3
        });
        assert_eq!(names(&w), ["store-0", "store-1", "store-2"]);
        let p = w.get("v1", "Pod", "log-platform", "store-1");
        assert_eq!(p["spec"]["hostname"], "store-1");
        assert_eq!(p["spec"]["subdomain"], "store");
        assert_eq!(p["metadata"]["labels"]["apps.kubernetes.io/pod-index"], "1");

        let mut s = w.get("apps/v1", "StatefulSet", "log-platform", "store");
        s["spec"]["template"]["spec"]["containers"][0]["image"] = json!("log/store:v2");
        w.apply(s);
        w.run_until(Duration::from_secs(60), Duration::from_millis(100), |w| {
            let s = w.get("apps/v1", "StatefulSet", "log-platform", "store");
            s["status"]["updatedReplicas"] == 3
                && s["status"]["readyReplicas"] == 3
                && s["status"]["currentRevision"] == s["status"]["updateRevision"]
        });
        for p in w.pods_of("app", "store") {
            assert_eq!(p["spec"]["containers"][0]["image"], "log/store:v2");
            assert!(is_ready(&p));
        }

        let mut s = w.get("apps/v1", "StatefulSet", "log-platform", "store");
        s["spec"]["replicas"] = json!(1);
        w.apply(s);
        w.run_until(Duration::from_secs(30), Duration::from_millis(100), |w| {
            names(w) == ["store-0"]
        });
    }
}
