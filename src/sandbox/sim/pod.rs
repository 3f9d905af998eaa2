//! The scheduler and kubelet: binds unscheduled pods round-robin onto the simulated nodes and
//! writes each pod's status (phase, conditions, containerStatuses, IPs, qosClass) and kubelet
//! events as a function of simulated time since it was first seen (see `container`).
//!
//! Each pod is recomputed only when it changed or its timeline reaches its next milestone, so a
//! store of many quiet pods costs little per step.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::container::{self, Input, Restart};
use super::events::{self, Event, Source};
use super::txn::Txn;
use super::{Simulator, TIME_SCALE_ANNOTATION, meta};

/// What the simulator remembers about a pod between steps.
#[derive(Clone, Debug)]
pub(crate) struct PodTrack {
    pub uid: String,
    /// When the pod was first seen (scheduled): simulated time zero of its timeline.
    pub t0: Instant,
    /// The resourceVersion last looked at and when the timeline next changes.
    pub seen_rv: String,
    pub next_check: Option<Instant>,
}

pub(crate) fn reconcile(sim: &mut Simulator, now: Instant, txn: &mut Txn<'_>) {
    let pods = txn.list("v1", "Pod", None);
    let present: HashSet<String> = pods.iter().map(|o| meta::key(o)).collect();
    sim.pods.retain(|k, _| present.contains(k));
    for pod in pods {
        // Not stored yet (created this step): its uid, and so its event names, are unknown.
        if meta::uid(&pod).is_empty() || pod.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let key = meta::key(&pod);
        let rv = meta::str_at(&pod, "/metadata/resourceVersion").to_string();
        let track = match sim.pods.get(&key) {
            Some(t) if t.uid == meta::uid(&pod) => {
                let due = t.next_check.is_some_and(|n| now >= n);
                if t.seen_rv == rv && !due {
                    if let Some(n) = t.next_check {
                        sim.due(n);
                    }
                    continue;
                }
                t.clone()
            }
            _ => PodTrack {
                uid: meta::uid(&pod).to_string(),
                t0: now,
                seen_rv: String::new(),
                next_check: None,
            },
        };
        let next = kubelet(sim, now, txn, &pod, track.t0);
        if let Some(n) = next {
            sim.due(n);
        }
        sim.pods.insert(
            key,
            PodTrack {
                seen_rv: rv,
                next_check: next,
                ..track
            },
        );
    }
}

/// Schedules and runs one pod; returns when its timeline next changes.
fn kubelet(
    sim: &mut Simulator,
    now: Instant,
    txn: &mut Txn<'_>,
    pod: &Value,
    t0: Instant,
) -> Option<Instant> {
    let mut new = pod.clone();
    let mut node = meta::str_at(pod, "/spec/nodeName").to_string();
    let newly_bound = node.is_empty();
    if newly_bound {
        node = sim.cfg.nodes[sim.next_node % sim.cfg.nodes.len()].clone();
        sim.next_node = sim.next_node.wrapping_add(1);
        meta::set_at(&mut new, &["spec"], "nodeName", json!(node));
    }
    if sim.cfg.time_scale != 1.0 {
        meta::set_at(
            &mut new,
            &["metadata", "annotations"],
            TIME_SCALE_ANNOTATION,
            json!(sim.cfg.time_scale.to_string()),
        );
    }
    let elapsed = sim.sim_elapsed(t0, now).as_secs_f64();
    let restart = match meta::str_at(pod, "/spec/restartPolicy") {
        "Never" => Restart::Never,
        "OnFailure" => Restart::OnFailure,
        _ => Restart::Always,
    };
    let containers: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut outcomes = Vec::with_capacity(containers.len());
    for c in &containers {
        let input = Input {
            pod: meta::name(pod),
            namespace: meta::namespace(pod),
            uid: meta::uid(pod),
            container: meta::str_at(c, "/name"),
            image: meta::str_at(c, "/image"),
            restart,
            start_delay: sim.cfg.pod_start_delay.as_secs_f64(),
            elapsed,
        };
        outcomes.push((
            meta::str_at(c, "/name").to_string(),
            container::outcome(&input),
        ));
    }

    let all_started = outcomes.iter().all(|(_, o)| o.ever_started);
    let all_ready = !outcomes.is_empty() && outcomes.iter().all(|(_, o)| o.ready);
    let all_done = !outcomes.is_empty() && outcomes.iter().all(|(_, o)| o.finished.is_some());
    let any_failed = outcomes.iter().any(|(_, o)| o.finished == Some(false));
    let phase = if all_done && !any_failed {
        "Succeeded"
    } else if any_failed && restart == Restart::Never && all_done {
        "Failed"
    } else if all_started {
        "Running"
    } else {
        "Pending"
    };
    let d = sim.cfg.pod_start_delay.as_secs_f64();
    let ready_cond = |ty: &str| {
        if all_ready {
            json!({"type": ty, "status": "True", "lastProbeTime": null, "lastTransitionTime": container::at(d)})
        } else if phase == "Succeeded" || phase == "Failed" {
            let run = if any_failed {
                container::CRASH_RUN_SECS
            } else {
                container::JOB_RUN_SECS
            };
            let end = d + run;
            json!({"type": ty, "status": "False", "reason": "PodCompleted", "lastProbeTime": null,
                   "lastTransitionTime": container::at(end)})
        } else {
            let unready: Vec<&str> = outcomes
                .iter()
                .filter(|(_, o)| !o.ready)
                .map(|(n, _)| n.as_str())
                .collect();
            json!({"type": ty, "status": "False", "reason": "ContainersNotReady",
                   "message": format!("containers with unready status: [{}]", unready.join(" ")),
                   "lastProbeTime": null, "lastTransitionTime": container::at(0.0)})
        }
    };
    let sandbox_ready = phase != "Succeeded" && phase != "Failed";
    let conditions = json!([
        {"type": "PodReadyToStartContainers", "status": if sandbox_ready { "True" } else { "False" },
         "lastProbeTime": null, "lastTransitionTime": container::at(0.0)},
        {"type": "Initialized", "status": "True", "lastProbeTime": null,
         "lastTransitionTime": container::at(0.0)},
        ready_cond("Ready"),
        ready_cond("ContainersReady"),
        {"type": "PodScheduled", "status": "True", "lastProbeTime": null,
         "lastTransitionTime": container::at(0.0)},
    ]);
    let node_index = sim
        .cfg
        .nodes
        .iter()
        .position(|n| *n == node)
        .unwrap_or((meta::fnv64a(node.as_bytes()) % 200) as usize);
    let host_ip = format!("172.18.0.{}", 2 + node_index % 250);
    let h = meta::fnv64a(meta::key(pod).as_bytes());
    let pod_ip = format!("10.244.{}.{}", node_index % 250, 2 + h % 250);
    let statuses: Vec<Value> = outcomes.iter().map(|(_, o)| o.status.clone()).collect();
    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": container::at(0.0),
        "containerStatuses": statuses,
        "qosClass": qos_class(&containers),
    });
    resolve_times(&mut status, &|s| {
        sim.clock.rfc3339(sim.real_after(t0, secs(s)))
    });
    meta::set_at(&mut new, &[], "status", status);
    let changed = new != *pod;
    if changed {
        txn.update(new.clone());
    }

    let wall = |s: f64| sim.clock.rfc3339(sim.real_after(t0, secs(s)));
    events::ensure(
        txn,
        &new,
        Event {
            reason: "Scheduled",
            message: format!("Successfully assigned {} to {node}", meta::key(pod)),
            warning: false,
            source: Source {
                component: "default-scheduler",
                host: "",
                field_path: None,
            },
        },
        1,
        &wall(0.0),
        &wall(0.0),
    );
    for (name, o) in &outcomes {
        for occ in &o.events {
            events::ensure(
                txn,
                &new,
                Event {
                    reason: occ.reason,
                    message: occ.message.clone(),
                    warning: occ.warning,
                    source: Source {
                        component: "kubelet",
                        host: &node,
                        field_path: Some(format!("spec.containers{{{name}}}")),
                    },
                },
                occ.count,
                &wall(occ.first),
                &wall(occ.last.max(occ.first)),
            );
        }
    }
    outcomes
        .iter()
        .filter_map(|(_, o)| o.next_change)
        .reduce(f64::min)
        .map(|s| sim.real_after(t0, secs(s)))
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::ZERO)
}

/// Replaces every `{"$t": seconds}` marker with the wall-clock timestamp `to_wall` gives.
fn resolve_times(v: &mut Value, to_wall: &dyn Fn(f64) -> String) {
    match v {
        Value::Object(m) => {
            if m.len() == 1
                && let Some(s) = m.get("$t").and_then(Value::as_f64)
            {
                *v = json!(to_wall(s));
                return;
            }
            for child in m.values_mut() {
                resolve_times(child, to_wall);
            }
        }
        Value::Array(a) => {
            for child in a {
                resolve_times(child, to_wall);
            }
        }
        _ => {}
    }
}

/// Guaranteed when every container's limits equal its requests for cpu and memory, BestEffort
/// when none sets any, else Burstable — the kubelet's rule, simplified to cpu and memory.
fn qos_class(containers: &[Value]) -> &'static str {
    let res = |c: &Value, which: &str| -> Map<String, Value> {
        c.pointer(&format!("/resources/{which}"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let none = containers
        .iter()
        .all(|c| res(c, "requests").is_empty() && res(c, "limits").is_empty());
    if none {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let limits = res(c, "limits");
        let requests = res(c, "requests");
        ["cpu", "memory"].iter().all(|k| {
            limits.get(*k).is_some() && requests.get(*k).is_none_or(|r| Some(r) == limits.get(*k))
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}
