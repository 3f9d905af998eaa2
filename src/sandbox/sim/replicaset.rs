//! The replicaset controller: keeps `spec.replicas` pods (named `<rs>-<5 chars>`, controlled by
//! the ReplicaSet) and writes the ReplicaSet's status. Also home of [`pod_from_template`], which
//! every workload controller uses to stamp out pods.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::{Value, json};

use super::events::{self, Event, Source};
use super::txn::Txn;
use super::{Simulator, meta};
use crate::sandbox::defaults::apply_defaults;

pub(crate) fn reconcile(sim: &mut Simulator, now: Instant, txn: &mut Txn<'_>) {
    let rss = txn.list("apps/v1", "ReplicaSet", None);
    if rss.is_empty() {
        return;
    }
    let pods = txn.list("v1", "Pod", None);
    let index = meta::by_controller(&pods);
    let mut taken: HashSet<String> = pods.iter().map(|o| meta::key(o)).collect();
    let at = sim.clock.rfc3339(now);
    for rs in rss {
        // Created this step: its pods need its uid for their owner reference.
        if meta::uid(&rs).is_empty() {
            continue;
        }
        let template = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let selector = rs.pointer("/spec/selector").cloned().unwrap_or(Value::Null);
        // The API server rejects a ReplicaSet whose template does not match its selector; here
        // it would make pods that never count, forever — so such a ReplicaSet is left alone.
        if !meta::selector_matches(&selector, &meta::labels(&template)) {
            continue;
        }
        let mut owned: Vec<&Value> = meta::owned_by(&index, &rs)
            .into_iter()
            .filter(|p| meta::selector_matches(&selector, &meta::labels(p)))
            .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
            .collect();
        let want = usize::try_from(meta::int_at(&rs, "/spec/replicas", 1).max(0)).unwrap_or(0);
        let source = || Source {
            component: "replicaset-controller",
            host: "",
            field_path: None,
        };
        if owned.len() < want {
            for _ in owned.len()..want {
                let name = fresh_name(sim, &rs, &mut taken);
                txn.create(pod_from_template(&rs, &template, &name, &[]));
                let message = format!("Created pod: {name}");
                let ev = Event {
                    reason: "SuccessfulCreate",
                    message,
                    warning: false,
                    source: source(),
                };
                events::record(txn, &rs, ev, &at);
            }
        } else if owned.len() > want {
            owned.sort_by_key(|p| deletion_rank(p));
            for p in &owned[..owned.len() - want] {
                txn.delete(p);
                let ev = Event {
                    reason: "SuccessfulDelete",
                    message: format!("Deleted pod: {}", meta::name(p)),
                    warning: false,
                    source: source(),
                };
                events::record(txn, &rs, ev, &at);
            }
        }
        write_status(txn, &rs, &owned_status(&owned, &template));
    }
}

/// The counts a ReplicaSet status reports for its current pods.
pub(crate) struct Counts {
    pub replicas: usize,
    pub fully_labeled: usize,
    pub ready: usize,
}

fn owned_status(pods: &[&Value], template: &Value) -> Counts {
    let want_labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    Counts {
        replicas: pods.len(),
        fully_labeled: pods
            .iter()
            .filter(|p| meta::map_selector_matches(&want_labels, &meta::labels(p)))
            .count(),
        ready: pods.iter().filter(|p| is_ready(p)).count(),
    }
}

fn write_status(txn: &mut Txn<'_>, rs: &Value, c: &Counts) {
    // Re-read: the deployment controller may have rescaled it earlier in this step.
    let mut new = txn
        .get("apps/v1", "ReplicaSet", meta::namespace(rs), meta::name(rs))
        .unwrap_or_else(|| rs.clone());
    let mut status = json!({
        "replicas": c.replicas,
        "observedGeneration": meta::int_at(&new, "/metadata/generation", 1),
    });
    for (k, v) in [
        ("fullyLabeledReplicas", c.fully_labeled),
        ("readyReplicas", c.ready),
        ("availableReplicas", c.ready),
    ] {
        if v > 0 {
            meta::set_at(&mut status, &[], k, json!(v));
        }
    }
    if new.get("status") != Some(&status) {
        meta::set_at(&mut new, &[], "status", status);
        txn.update(new);
    }
}

/// Whether a pod's Ready condition is True.
pub(crate) fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                meta::str_at(c, "/type") == "Ready" && meta::str_at(c, "/status") == "True"
            })
        })
}

/// Which pods go first when scaling down (the replicaset controller's order): unscheduled
/// before scheduled, pending before running, unready before ready, more restarts first, newer
/// first.
fn deletion_rank(p: &Value) -> (bool, u8, bool, i64, std::cmp::Reverse<String>) {
    let phase = match meta::str_at(p, "/status/phase") {
        "Pending" | "" => 0,
        "Unknown" => 1,
        _ => 2,
    };
    let restarts: i64 = p
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().map(|c| meta::int_at(c, "/restartCount", 0)).sum())
        .unwrap_or(0);
    (
        !meta::str_at(p, "/spec/nodeName").is_empty(),
        phase,
        is_ready(p),
        -restarts,
        std::cmp::Reverse(format!(
            "{}{}",
            meta::str_at(p, "/metadata/creationTimestamp"),
            meta::name(p)
        )),
    )
}

/// A pod name `<owner>-<5 chars>` not yet used in the namespace.
pub(crate) fn fresh_name(
    sim: &mut Simulator,
    owner: &Value,
    taken: &mut HashSet<String>,
) -> String {
    loop {
        sim.name_counter = sim.name_counter.wrapping_add(1);
        let seed = format!(
            "{}/{}/{}",
            meta::uid(owner),
            meta::name(owner),
            sim.name_counter
        );
        let name = format!("{}-{}", meta::name(owner), meta::suffix(&seed, 5));
        if taken.insert(format!("{}/{name}", meta::namespace(owner))) {
            return name;
        }
    }
}

/// A defaulted Pod made from `template`, controlled by `owner`, with extra labels.
pub(crate) fn pod_from_template(
    owner: &Value,
    template: &Value,
    name: &str,
    extra_labels: &[(&str, String)],
) -> Value {
    let mut labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in extra_labels {
        labels.insert((*k).to_string(), json!(v));
    }
    let mut metadata = json!({
        "name": name,
        "namespace": meta::namespace(owner),
        "generateName": format!("{}-", meta::name(owner)),
        "labels": labels,
        "ownerReferences": meta::controller_ref(owner),
    });
    if let Some(a) = template
        .pointer("/metadata/annotations")
        .filter(|a| a.is_object())
    {
        meta::set_at(&mut metadata, &[], "annotations", a.clone());
    }
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or(json!({})),
        "status": {"phase": "Pending"},
    });
    apply_defaults(&mut pod);
    pod
}
