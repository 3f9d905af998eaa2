//! The cronjob controller, kept small: when a CronJob's schedule (five cron fields or `@hourly`
//! and friends, in UTC wall-clock time — the time scale does not apply) passes a minute, it
//! creates the Job `<cronjob>-<minutes since the epoch>` from `jobTemplate` (honouring
//! `suspend` and `concurrencyPolicy`), records `lastScheduleTime`, `lastSuccessfulTime` and the
//! active Jobs, and prunes finished Jobs beyond the history limits. Missed schedules are not
//! caught up one by one: only the latest is run, as the real controller does after downtime.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::events::{self, Event, Source};
use super::txn::Txn;
use super::{Simulator, meta};
use crate::sandbox::defaults::apply_defaults;

/// How far back a missed schedule is looked for.
const LOOKBACK_MINUTES: i64 = 7 * 24 * 60;

pub(crate) fn reconcile(sim: &mut Simulator, now: Instant, txn: &mut Txn<'_>) {
    let cronjobs = txn.list("batch/v1", "CronJob", None);
    if cronjobs.is_empty() {
        return;
    }
    let now_ms = sim.clock.unix_millis(now);
    let now_min = now_ms.div_euclid(60_000);
    // Wake up at the next minute boundary even if nothing else changes.
    let to_boundary = 60_000 - now_ms.rem_euclid(60_000);
    sim.due(now + Duration::from_millis(to_boundary.unsigned_abs()));
    let jobs = txn.list("batch/v1", "Job", None);
    let index = meta::by_controller(&jobs);
    let at = sim.clock.rfc3339(now);
    for cj in cronjobs {
        if meta::uid(&cj).is_empty() {
            continue;
        }
        let Some(schedule) = Schedule::parse(meta::str_at(&cj, "/spec/schedule")) else {
            continue;
        };
        let owned = meta::owned_by(&index, &cj);
        let finished = |j: &Value, ty: &str| {
            j.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == ty && c["status"] == "True"))
        };
        let mut active: Vec<&Value> = owned
            .iter()
            .copied()
            .filter(|j| !finished(j, "Complete") && !finished(j, "Failed"))
            .collect();
        let mut status = cj.get("status").cloned().unwrap_or(json!({}));
        let since_min = [
            meta::str_at(&cj, "/status/lastScheduleTime"),
            meta::str_at(&cj, "/metadata/creationTimestamp"),
        ]
        .iter()
        .find_map(|s| s.parse::<jiff::Timestamp>().ok())
        .map_or(now_min - 1, |t| t.as_second().div_euclid(60));
        let suspended = cj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
        let due = ((since_min + 1).max(now_min - LOOKBACK_MINUTES)..=now_min)
            .rev()
            .find(|m| schedule.matches(*m));
        if let (Some(minute), false) = (due, suspended) {
            let name = format!("{}-{minute}", meta::name(&cj));
            let exists = owned.iter().any(|j| meta::name(j) == name);
            let policy = meta::str_at(&cj, "/spec/concurrencyPolicy");
            let blocked = policy == "Forbid" && !active.is_empty();
            if !exists && !blocked {
                if policy == "Replace" {
                    for j in active.drain(..) {
                        txn.delete(j);
                    }
                }
                let scheduled = jiff::Timestamp::from_second(minute * 60)
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                let job = new_job(&cj, &name, &scheduled);
                txn.create(job);
                let ev = Event {
                    reason: "SuccessfulCreate",
                    message: format!("Created job {name}"),
                    warning: false,
                    source: Source {
                        component: "cronjob-controller",
                        host: "",
                        field_path: None,
                    },
                };
                events::record(txn, &cj, ev, &at);
                meta::set_at(&mut status, &[], "lastScheduleTime", json!(scheduled));
            }
        }
        let refs: Vec<Value> = active
            .iter()
            .map(|j| {
                json!({"apiVersion": "batch/v1", "kind": "Job", "name": meta::name(j),
                       "namespace": meta::namespace(j), "uid": meta::uid(j)})
            })
            .collect();
        if let Some(m) = status.as_object_mut() {
            if refs.is_empty() {
                m.remove("active");
            } else {
                m.insert("active".into(), json!(refs));
            }
            let last_ok = owned
                .iter()
                .filter(|j| finished(j, "Complete"))
                .map(|j| meta::str_at(j, "/status/completionTime"))
                .max();
            if let Some(t) = last_ok.filter(|t| !t.is_empty()) {
                m.insert("lastSuccessfulTime".into(), json!(t));
            }
        }
        prune(
            txn,
            &cj,
            &owned,
            "Complete",
            "/spec/successfulJobsHistoryLimit",
            3,
        );
        prune(
            txn,
            &cj,
            &owned,
            "Failed",
            "/spec/failedJobsHistoryLimit",
            1,
        );
        if cj.get("status") != Some(&status) {
            let mut new = (*cj).clone();
            meta::set_at(&mut new, &[], "status", status);
            txn.update(new);
        }
    }
}

fn new_job(cj: &Value, name: &str, scheduled: &str) -> Value {
    let template = cj
        .pointer("/spec/jobTemplate")
        .cloned()
        .unwrap_or(json!({}));
    let mut metadata = json!({
        "name": name,
        "namespace": meta::namespace(cj),
        "ownerReferences": meta::controller_ref(cj),
        "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": scheduled},
    });
    if let Some(l) = template
        .pointer("/metadata/labels")
        .filter(|l| l.is_object())
    {
        meta::set_at(&mut metadata, &[], "labels", l.clone());
    }
    let mut job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or(json!({})),
    });
    apply_defaults(&mut job);
    job
}

/// Deletes the oldest finished (`ty`) Jobs beyond the CronJob's history limit.
fn prune(txn: &mut Txn<'_>, cj: &Value, owned: &[&Value], ty: &str, limit_at: &str, default: i64) {
    let limit = usize::try_from(meta::int_at(cj, limit_at, default).max(0)).unwrap_or(0);
    let mut done: Vec<&Value> = owned
        .iter()
        .copied()
        .filter(|j| {
            j.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == ty && c["status"] == "True"))
        })
        .collect();
    // Names end in the scheduled minute, so they sort oldest first once lengths agree.
    done.sort_by_key(|j| (meta::name(j).len(), meta::name(j).to_string()));
    let excess = done.len().saturating_sub(limit);
    for j in done.into_iter().take(excess) {
        txn.delete(j);
    }
}

/// A parsed cron schedule: the allowed values of each field.
struct Schedule {
    minute: Vec<bool>,
    hour: Vec<bool>,
    dom: Vec<bool>,
    month: Vec<bool>,
    dow: Vec<bool>,
    dom_any: bool,
    dow_any: bool,
}

impl Schedule {
    fn parse(text: &str) -> Option<Self> {
        let text = match text.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [mi, h, dom, mo, dow] = fields.as_slice() else {
            return None;
        };
        let mut dow_set = field(dow, 0, 7)?;
        if dow_set[7] {
            dow_set[0] = true;
        }
        Some(Self {
            minute: field(mi, 0, 59)?,
            hour: field(h, 0, 23)?,
            dom: field(dom, 1, 31)?,
            month: field(mo, 1, 12)?,
            dow: dow_set,
            dom_any: dom.starts_with('*'),
            dow_any: dow.starts_with('*'),
        })
    }

    /// Whether the schedule fires at `minute` minutes since the epoch (UTC).
    fn matches(&self, minute: i64) -> bool {
        let Ok(t) = jiff::Timestamp::from_second(minute.saturating_mul(60)) else {
            return false;
        };
        let z = t.to_zoned(jiff::tz::TimeZone::UTC);
        let at = |set: &[bool], v: i64| {
            usize::try_from(v).ok().and_then(|i| set.get(i)).copied() == Some(true)
        };
        let dom = at(&self.dom, i64::from(z.day()));
        let dow = at(&self.dow, i64::from(z.weekday().to_sunday_zero_offset()));
        // Cron's rule: when both day fields are restricted, either may match.
        let day = match (self.dom_any, self.dow_any) {
            (false, false) => dom || dow,
            _ => dom && dow,
        };
        at(&self.minute, i64::from(z.minute()))
            && at(&self.hour, i64::from(z.hour()))
            && at(&self.month, i64::from(z.month()))
            && day
    }
}

/// One cron field (`*`, `*/n`, `a`, `a-b`, `a-b/n`, comma lists) as a set over `lo..=hi`.
fn field(text: &str, lo: i64, hi: i64) -> Option<Vec<bool>> {
    let mut set = vec![false; usize::try_from(hi + 1).ok()?];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<i64>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse().ok()?, b.parse().ok()?)
        } else {
            let a: i64 = range.parse().ok()?;
            (a, if part.contains('/') { hi } else { a })
        };
        if a < lo || b > hi || a > b {
            return None;
        }
        let mut v = a;
        while v <= b {
            set[usize::try_from(v).ok()?] = true;
            v += step;
        }
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::Schedule;
    use crate::sandbox::sim::testkit::World;

    #[test]
    fn cron_fields() {
        let every5 = Schedule::parse("*/5 * * * *").unwrap();
        assert!(every5.matches(0) && every5.matches(5) && !every5.matches(7));
        let nine = Schedule::parse("30 9 * * 1-5").unwrap();
        // 1970-01-05 was a Monday: 4 days + 9 h 30 min.
        assert!(nine.matches(4 * 1440 + 9 * 60 + 30));
        assert!(!nine.matches(3 * 1440 + 9 * 60 + 30), "a Sunday");
        assert!(Schedule::parse("@hourly").unwrap().matches(60));
        for bad in ["", "* * * *", "61 * * * *", "*/0 * * * *", "a b c d e"] {
            assert!(Schedule::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn creates_a_job_each_minute_and_keeps_history() {
        let mut w = World::fast();
        w.apply(json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "compact", "namespace": "log-platform"},
            "spec": {"schedule": "* * * * *", "successfulJobsHistoryLimit": 2,
                "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                    "containers": [{"name": "compact", "image": "log/compact:v1"}]}}}}}}));
        w.run_for(
            Duration::from_secs(5 * 60 + 30),
            Duration::from_secs(1),
            |_| {},
        );
        let jobs = w.all("batch/v1", "Job");
        assert_eq!(jobs.len(), 2, "history limit keeps two finished jobs");
        assert!(jobs.iter().all(|j| {
            j["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("compact-")
        }));
        let cj = w.get("batch/v1", "CronJob", "log-platform", "compact");
        assert!(cj["status"]["lastScheduleTime"].is_string());
        assert!(cj["status"]["lastSuccessfulTime"].is_string());
        assert_eq!(jobs[0]["spec"]["backoffLimit"], 6, "jobs are defaulted");
    }
}
