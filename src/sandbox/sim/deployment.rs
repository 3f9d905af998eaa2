//! The deployment controller: one ReplicaSet per pod template (`<deploy>-<pod-template-hash>`),
//! rolling updates that honour maxSurge/maxUnavailable (or Recreate), revision annotations,
//! revisionHistoryLimit cleanup, and the Deployment status with its Available and Progressing
//! conditions — including ProgressDeadlineExceeded when no progress was made within
//! `progressDeadlineSeconds` of simulated time. Follows kube-controller-manager's
//! `rolling.go`/`sync.go`/`progress.go`; paused deployments only scale.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::events::{self, Event, Source};
use super::txn::{Obj, Txn};
use super::{Simulator, meta};
use crate::sandbox::defaults::apply_defaults;

const REVISION: &str = "deployment.kubernetes.io/revision";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX: &str = "deployment.kubernetes.io/max-replicas";
const HASH: &str = "pod-template-hash";

pub(crate) fn reconcile(sim: &mut Simulator, now: Instant, txn: &mut Txn<'_>) {
    let deps = txn.list("apps/v1", "Deployment", None);
    let live: HashSet<String> = deps.iter().map(|o| meta::key(o)).collect();
    sim.progress.retain(|k, _| live.contains(k));
    if deps.is_empty() {
        return;
    }
    let all_rs = txn.list("apps/v1", "ReplicaSet", None);
    for d in deps {
        if meta::uid(&d).is_empty() || d.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        sync(sim, now, txn, &d, &all_rs);
    }
}

/// A ReplicaSet as the rollout sees it: spec replicas (mutable here) and observed counts.
struct Rs {
    obj: Value,
    replicas: i64,
    available: i64,
    revision: i64,
}

impl Rs {
    fn of(obj: &Value) -> Self {
        Self {
            replicas: meta::int_at(obj, "/spec/replicas", 1).max(0),
            available: meta::int_at(obj, "/status/availableReplicas", 0),
            revision: revision(obj),
            obj: obj.clone(),
        }
    }
}

fn revision(obj: &Value) -> i64 {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn sync(sim: &mut Simulator, now: Instant, txn: &mut Txn<'_>, d: &Value, all_rs: &[Obj]) {
    let at = sim.clock.rfc3339(now);
    let replicas = meta::int_at(d, "/spec/replicas", 1).max(0);
    let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let hash = meta::template_hash(&template);
    let mut owned: Vec<Rs> = all_rs
        .iter()
        .filter(|rs| meta::namespace(rs) == meta::namespace(d) && meta::controlled_by(rs, d))
        .map(|r| Rs::of(r))
        .collect();
    owned.sort_by_key(|r| (r.revision, meta::name(&r.obj).to_string()));
    let new_pos = owned
        .iter()
        .position(|r| meta::str_at(&r.obj, &format!("/metadata/labels/{HASH}")) == hash);
    let mut new = new_pos.map(|i| owned.remove(i));
    let mut old = owned;
    let max_old_rev = old.iter().map(|r| r.revision).max().unwrap_or(0);
    let paused = d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
    let rolling = meta::str_at(d, "/spec/strategy/type") != "Recreate";
    let (surge, unavailable) = if rolling {
        let ru = d.pointer("/spec/strategy/rollingUpdate");
        let s = meta::int_or_percent(ru.and_then(|r| r.get("maxSurge")), replicas, true, 0);
        let u = meta::int_or_percent(ru.and_then(|r| r.get("maxUnavailable")), replicas, false, 0);
        if s == 0 && u == 0 { (0, 1) } else { (s, u) }
    } else {
        (0, 0)
    };
    let mut created = false;
    if new.is_none() && !paused {
        new = Some(Rs {
            obj: new_replica_set(d, &template, &hash, max_old_rev + 1),
            replicas: 0,
            available: 0,
            revision: max_old_rev + 1,
        });
        created = true;
    }
    let before: Vec<(String, i64)> = new
        .iter()
        .chain(old.iter())
        .map(|r| (meta::name(&r.obj).to_string(), r.replicas))
        .collect();

    if let Some(n) = new.as_mut() {
        if paused {
            if old.iter().all(|r| r.replicas == 0) {
                n.replicas = replicas;
            }
        } else if rolling {
            rolling_update(n, &mut old, replicas, surge, unavailable);
        } else {
            let old_pods: i64 = old
                .iter()
                .map(|r| r.replicas + meta::int_at(&r.obj, "/status/replicas", 0))
                .sum();
            for r in &mut old {
                r.replicas = 0;
            }
            if old_pods == 0 {
                n.replicas = replicas;
            }
        }
        if n.revision <= max_old_rev {
            n.revision = max_old_rev + 1;
        }
    }

    // Write ReplicaSets whose spec or annotations changed, with ScalingReplicaSet events.
    let new_name = new.as_ref().map(|n| meta::name(&n.obj).to_string());
    for r in new.iter().chain(old.iter()) {
        let name = meta::name(&r.obj).to_string();
        let prev = before
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, v)| *v);
        let is_new = Some(&name) == new_name.as_ref();
        let mut obj = r.obj.clone();
        meta::set_at(&mut obj, &["spec"], "replicas", json!(r.replicas));
        if let Some(a) = meta::map_mut(&mut obj, &["metadata", "annotations"]) {
            a.insert(DESIRED.into(), json!(replicas.to_string()));
            a.insert(MAX.into(), json!((replicas + surge).to_string()));
            if is_new {
                a.insert(REVISION.into(), json!(r.revision.to_string()));
            }
        }
        if is_new && created {
            txn.create(obj);
        } else if obj != r.obj {
            txn.update(obj);
        }
        if r.replicas != prev || (is_new && created && r.replicas > 0) {
            let verb = if r.replicas > prev { "up" } else { "down" };
            let ev = Event {
                reason: "ScalingReplicaSet",
                message: format!("Scaled {verb} replica set {name} to {}", r.replicas),
                warning: false,
                source: Source {
                    component: "deployment-controller",
                    host: "",
                    field_path: None,
                },
            };
            events::record(txn, d, ev, &at);
        }
    }

    // Clean up history once the rollout is complete.
    let history = meta::int_at(d, "/spec/revisionHistoryLimit", 10).max(0);
    let complete_now = new.as_ref().is_some_and(|n| {
        meta::int_at(&n.obj, "/status/availableReplicas", 0) >= replicas && n.replicas == replicas
    }) && old.iter().all(|r| r.replicas == 0);
    if complete_now {
        let excess = old
            .len()
            .saturating_sub(usize::try_from(history).unwrap_or(usize::MAX));
        for r in old.iter().take(excess) {
            let idle = r.replicas == 0
                && meta::int_at(&r.obj, "/status/replicas", 0) == 0
                && meta::int_at(&r.obj, "/metadata/generation", 1)
                    <= meta::int_at(&r.obj, "/status/observedGeneration", 0);
            if idle {
                txn.delete(&r.obj);
            }
        }
    }

    write_status(
        sim,
        now,
        txn,
        d,
        new.as_ref(),
        &old,
        replicas,
        unavailable,
        created,
        paused,
    );
}

/// One pass of `reconcileNewReplicaSet` + `reconcileOldReplicaSets` (rolling.go).
fn rolling_update(new: &mut Rs, old: &mut [Rs], replicas: i64, surge: i64, max_unavailable: i64) {
    // Scale the new ReplicaSet up within the surge budget (or down to the target).
    if new.replicas > replicas {
        new.replicas = replicas;
    } else if new.replicas < replicas {
        let current: i64 = new.replicas + old.iter().map(|r| r.replicas).sum::<i64>();
        let max_total = replicas + surge;
        if current < max_total {
            new.replicas += (max_total - current).min(replicas - new.replicas);
        }
    }
    let old_pods: i64 = old.iter().map(|r| r.replicas).sum();
    if old_pods == 0 {
        return;
    }
    let all_pods = new.replicas + old_pods;
    let min_available = replicas - max_unavailable;
    let new_unavailable = (new.replicas - new.available).max(0);
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return;
    }
    // First remove old pods that are not available anyway (cleanupUnhealthyReplicas)...
    let mut budget = max_scaled_down;
    for r in old.iter_mut() {
        if budget <= 0 {
            break;
        }
        let unhealthy = (r.replicas - r.available).max(0);
        let cut = unhealthy.min(budget).min(r.replicas);
        r.replicas -= cut;
        budget -= cut;
    }
    let cleaned = max_scaled_down - budget;
    // ...then scale down available ones while keeping minAvailable (oldest first).
    let available: i64 =
        new.available + old.iter().map(|r| r.available.min(r.replicas)).sum::<i64>();
    if available <= min_available {
        return;
    }
    let mut total = (available - min_available).min(max_scaled_down - cleaned);
    for r in old.iter_mut() {
        if total <= 0 {
            break;
        }
        let cut = r.replicas.min(total);
        r.replicas -= cut;
        total -= cut;
    }
}

fn new_replica_set(d: &Value, template: &Value, hash: &str, revision: i64) -> Value {
    let mut template = template.clone();
    meta::set_at(&mut template, &["metadata", "labels"], HASH, json!(hash));
    let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    meta::set_at(&mut selector, &["matchLabels"], HASH, json!(hash));
    let labels = template
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or(json!({}));
    let mut spec = json!({"replicas": 0, "selector": selector, "template": template});
    if let Some(m) = d.pointer("/spec/minReadySeconds") {
        meta::set_at(&mut spec, &[], "minReadySeconds", m.clone());
    }
    let mut rs = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", meta::name(d)),
            "namespace": meta::namespace(d),
            "labels": labels,
            "annotations": {REVISION: revision.to_string()},
            "ownerReferences": meta::controller_ref(d),
        },
        "spec": spec,
    });
    apply_defaults(&mut rs);
    rs
}

#[allow(clippy::too_many_arguments)]
fn write_status(
    sim: &mut Simulator,
    now: Instant,
    txn: &mut Txn<'_>,
    d: &Value,
    new: Option<&Rs>,
    old: &[Rs],
    replicas: i64,
    max_unavailable: i64,
    created: bool,
    paused: bool,
) {
    let at = sim.clock.rfc3339(now);
    let sum = |p: &str| -> i64 {
        new.into_iter()
            .chain(old.iter())
            .map(|r| meta::int_at(&r.obj, p, 0))
            .sum()
    };
    let actual = sum("/status/replicas");
    let ready = sum("/status/readyReplicas");
    let available = sum("/status/availableReplicas");
    let updated = new.map_or(0, |n| meta::int_at(&n.obj, "/status/replicas", 0));
    let generation = meta::int_at(d, "/metadata/generation", 1);
    let mut status = json!({"observedGeneration": generation});
    for (k, v) in [
        ("replicas", actual),
        ("updatedReplicas", updated),
        ("readyReplicas", ready),
        ("availableReplicas", available),
        ("unavailableReplicas", (replicas - available).max(0)),
    ] {
        if v > 0 {
            meta::set_at(&mut status, &[], k, json!(v));
        }
    }
    let old_status = d.get("status").cloned().unwrap_or(json!({}));
    let conds: Vec<Value> = old_status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();

    let min_available = replicas - max_unavailable;
    let avail_cond = if available >= min_available {
        json!({"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
               "message": "Deployment has minimum availability."})
    } else {
        json!({"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
               "message": "Deployment does not have minimum availability."})
    };
    let conds = meta::upsert_condition(&conds, avail_cond, &at, true);

    let key = meta::key(d);
    let uid = meta::uid(d).to_string();
    let last_progress = match sim.progress.get(&key) {
        Some((u, t)) if *u == uid => *t,
        _ => now,
    };
    let rs_name = new.map_or_else(String::new, |n| meta::name(&n.obj).to_string());
    let current = conds
        .iter()
        .find(|c| meta::str_at(c, "/type") == "Progressing")
        .cloned();
    let current_reason = current
        .as_ref()
        .map_or("", |c| meta::str_at(c, "/reason"))
        .to_string();
    let old_num = |k: &str| meta::int_at(&old_status, &format!("/{k}"), 0);
    let progressing = updated > old_num("updatedReplicas")
        || actual < old_num("replicas")
        || ready > old_num("readyReplicas")
        || available > old_num("availableReplicas");
    let complete = updated == replicas && actual == replicas && available == replicas;
    let deadline = meta::int_at(d, "/spec/progressDeadlineSeconds", 600).max(0);
    let deadline = sim.real_after(last_progress, Duration::from_secs(deadline.unsigned_abs()));
    let progress_cond = |status: &str, reason: &str, message: String| json!({"type": "Progressing", "status": status, "reason": reason, "message": message});
    let mut made_progress = false;
    let progress = if paused {
        Some(progress_cond(
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused".into(),
        ))
    } else if created {
        made_progress = true;
        Some(progress_cond(
            "True",
            "NewReplicaSetCreated",
            format!("Created new replica set \"{rs_name}\""),
        ))
    } else if complete {
        made_progress = current_reason != "NewReplicaSetAvailable";
        Some(progress_cond(
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
        ))
    } else if progressing {
        made_progress = true;
        let mut c = progress_cond(
            "True",
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs_name}\" is progressing."),
        );
        // Progress refreshes lastUpdateTime even when nothing else about the condition changes.
        meta::set_at(&mut c, &[], "lastUpdateTime", json!(at));
        Some(c)
    } else if current_reason != "NewReplicaSetAvailable"
        && current_reason != "ProgressDeadlineExceeded"
        && now < deadline
        && current.is_some()
        && current_reason != "DeploymentPaused"
    {
        // Still within the deadline: make sure a step runs when it passes.
        sim.due(deadline);
        None
    } else if current_reason != "NewReplicaSetAvailable" && now >= deadline {
        Some(progress_cond(
            "False",
            "ProgressDeadlineExceeded",
            format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
        ))
    } else if current.is_none() || current_reason == "DeploymentPaused" {
        Some(progress_cond(
            "True",
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs_name}\" is progressing."),
        ))
    } else {
        None
    };
    let conds = match progress {
        Some(c) => meta::upsert_condition(&conds, c, &at, true),
        None => conds,
    };
    if made_progress || paused || !sim.progress.contains_key(&key) {
        sim.progress.insert(key, (uid, now));
    }
    meta::set_at(&mut status, &[], "conditions", json!(conds));

    let mut obj = d.clone();
    meta::set_at(&mut obj, &[], "status", status);
    if let Some(n) = new
        && let Some(a) = meta::map_mut(&mut obj, &["metadata", "annotations"])
    {
        a.insert(REVISION.into(), json!(n.revision.to_string()));
    }
    if obj != *d {
        txn.update(obj);
    }
}
