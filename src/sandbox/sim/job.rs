//! The job controller: runs up to `parallelism` pods until `completions` have succeeded (the
//! kubelet completes good images after a short simulated run), counts failures (failed pods, and
//! container restarts under `restartPolicy: OnFailure`) against `backoffLimit`, and finishes
//! the Job with `Complete` or `Failed` (BackoffLimitExceeded) conditions, `startTime`,
//! `completionTime` and the active/ready/succeeded/failed counters. Suspended Jobs run nothing.
//! CronJobs are scheduled by `cronjob`.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::{Value, json};

use super::events::{self, Event, Source};
use super::replicaset::{fresh_name, is_ready, pod_from_template};
use super::txn::Txn;
use super::{Simulator, meta};

pub(crate) fn reconcile(sim: &mut Simulator, now: Instant, txn: &mut Txn<'_>) {
    let jobs = txn.list("batch/v1", "Job", None);
    if jobs.is_empty() {
        return;
    }
    let pods = txn.list("v1", "Pod", None);
    let index = meta::by_controller(&pods);
    let mut taken: HashSet<String> = pods.iter().map(|o| meta::key(o)).collect();
    let at = sim.clock.rfc3339(now);
    for job in jobs {
        if meta::uid(&job).is_empty() {
            continue;
        }
        sync(sim, txn, &job, &index, &mut taken, &at);
    }
}

fn finished(job: &Value) -> Option<&'static str> {
    let conds = job
        .pointer("/status/conditions")
        .and_then(Value::as_array)?;
    conds.iter().find_map(|c| {
        let done = meta::str_at(c, "/status") == "True";
        match meta::str_at(c, "/type") {
            "Complete" if done => Some("Complete"),
            "Failed" if done => Some("Failed"),
            _ => None,
        }
    })
}

fn sync(
    sim: &mut Simulator,
    txn: &mut Txn<'_>,
    job: &Value,
    index: &std::collections::HashMap<&str, Vec<&Value>>,
    taken: &mut HashSet<String>,
    at: &str,
) {
    // A finished Job is history: its counters stay as they were when it finished.
    if finished(job).is_some() {
        return;
    }
    let name = meta::name(job);
    let owned: Vec<&Value> = meta::owned_by(index, job);
    let phase = |p: &&Value| meta::str_at(p, "/status/phase").to_string();
    let succeeded = owned.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    let failed_pods = owned.iter().filter(|p| phase(p) == "Failed").count() as i64;
    let active: Vec<&Value> = owned
        .iter()
        .copied()
        .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
        .collect();
    let restarts: i64 = if meta::str_at(job, "/spec/template/spec/restartPolicy") == "OnFailure" {
        active
            .iter()
            .filter_map(|p| {
                p.pointer("/status/containerStatuses")
                    .and_then(Value::as_array)
            })
            .flatten()
            .map(|c| meta::int_at(c, "/restartCount", 0))
            .sum()
    } else {
        0
    };
    let failed = failed_pods + restarts;
    let parallelism = meta::int_at(job, "/spec/parallelism", 1).max(0);
    let completions = meta::int_at(job, "/spec/completions", 1).max(0);
    let backoff_limit = meta::int_at(job, "/spec/backoffLimit", 6).max(0);
    let suspended = job.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
    let note = |txn: &mut Txn<'_>, reason: &'static str, message: String, warning: bool| {
        let ev = Event {
            reason,
            message,
            warning,
            source: Source {
                component: "job-controller",
                host: "",
                field_path: None,
            },
        };
        events::record(txn, job, ev, at);
    };

    let mut status = job.get("status").cloned().unwrap_or(json!({}));
    let mut conds: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut still_active = active.len() as i64;
    if failed > backoff_limit {
        let msg = "Job has reached the specified backoff limit";
        for ty in ["FailureTarget", "Failed"] {
            let c = json!({"type": ty, "status": "True", "reason": "BackoffLimitExceeded", "message": msg,
                           "lastProbeTime": at, "lastTransitionTime": at});
            conds = meta::upsert_condition(&conds, c, at, false);
        }
        for p in &active {
            txn.delete(p);
        }
        still_active = 0;
        note(txn, "BackoffLimitExceeded", msg.into(), true);
    } else if succeeded >= completions {
        let msg = "Reached expected number of succeeded pods";
        for ty in ["SuccessCriteriaMet", "Complete"] {
            let c = json!({"type": ty, "status": "True", "reason": "CompletionsReached", "message": msg,
                           "lastProbeTime": at, "lastTransitionTime": at});
            conds = meta::upsert_condition(&conds, c, at, false);
        }
        meta::set_at(&mut status, &[], "completionTime", json!(at));
        note(txn, "Completed", "Job completed".into(), false);
    } else if !suspended {
        let want = parallelism.min(completions - succeeded).max(0);
        let template = job.pointer("/spec/template").cloned().unwrap_or(json!({}));
        for _ in still_active..want {
            let pod_name = fresh_name(sim, job, taken);
            let uid = meta::uid(job).to_string();
            let pod = pod_from_template(
                job,
                &template,
                &pod_name,
                &[
                    ("batch.kubernetes.io/controller-uid", uid.clone()),
                    ("batch.kubernetes.io/job-name", name.to_string()),
                    ("controller-uid", uid),
                    ("job-name", name.to_string()),
                ],
            );
            txn.create(pod);
            note(
                txn,
                "SuccessfulCreate",
                format!("Created pod: {pod_name}"),
                false,
            );
        }
    }
    if let Some(m) = status.as_object_mut() {
        if !m.contains_key("startTime") && !suspended {
            m.insert("startTime".into(), json!(at));
        }
        let ready = active.iter().filter(|p| is_ready(p)).count();
        for (k, v) in [
            ("active", still_active),
            ("succeeded", succeeded),
            ("failed", failed),
        ] {
            if v > 0 {
                m.insert(k.into(), json!(v));
            } else {
                m.remove(k);
            }
        }
        m.insert(
            "ready".into(),
            json!(if still_active > 0 { ready } else { 0 }),
        );
        m.insert("terminating".into(), json!(0));
        m.insert("uncountedTerminatedPods".into(), json!({}));
        if !conds.is_empty() {
            m.insert("conditions".into(), json!(conds));
        }
    }
    if job.get("status") != Some(&status) {
        let mut new = job.clone();
        meta::set_at(&mut new, &[], "status", status);
        txn.update(new);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use crate::sandbox::sim::testkit::{World, condition};

    fn job(image: &str, restart: &str, completions: i64) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "log-platform"},
            "spec": {"completions": completions, "backoffLimit": 2,
                "template": {"spec": {"restartPolicy": restart,
                    "containers": [{"name": "migrate", "image": image}]}}}})
    }

    fn get(w: &World) -> Value {
        w.get("batch/v1", "Job", "log-platform", "migrate")
    }

    #[test]
    fn good_jobs_complete() {
        let mut w = World::fast();
        w.apply(job("log/migrate:v1", "Never", 2));
        w.run_until(Duration::from_secs(30), Duration::from_millis(100), |w| {
            condition(&get(w), "Complete").is_some()
        });
        let j = get(&w);
        assert_eq!(j["status"]["succeeded"], 2);
        assert!(j["status"].get("active").is_none());
        assert!(j["status"]["completionTime"].is_string());
        assert!(j["status"]["startTime"].is_string());
        let pods = w.pods_of("job-name", "migrate");
        assert_eq!(pods.len(), 2);
        assert!(pods.iter().all(|p| p["status"]["phase"] == "Succeeded"));
        assert!(pods.iter().all(
            |p| p["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
        ));
        w.run_for(Duration::from_secs(5), Duration::from_millis(100), |w| {
            assert_eq!(
                w.pods_of("job-name", "migrate").len(),
                2,
                "no pods after completion"
            );
        });
    }

    #[test]
    fn crashing_jobs_fail_after_the_backoff_limit() {
        for restart in ["Never", "OnFailure"] {
            let mut w = World::fast();
            w.apply(job("log/migrate:crashloop", restart, 1));
            w.run_until(Duration::from_secs(120), Duration::from_millis(100), |w| {
                condition(&get(w), "Failed").is_some()
            });
            let j = get(&w);
            assert_eq!(
                condition(&j, "Failed").unwrap()["reason"],
                "BackoffLimitExceeded"
            );
            assert!(
                j["status"]["failed"].as_i64().unwrap() > 2,
                "{restart}: {}",
                j["status"]
            );
            assert!(condition(&j, "Complete").is_none());
            let running = w
                .pods_of("job-name", "migrate")
                .iter()
                .filter(|p| p["status"]["phase"] == "Running" || p["status"]["phase"] == "Pending")
                .count();
            assert_eq!(running, 0, "{restart}: active pods are removed on failure");
        }
    }
}
