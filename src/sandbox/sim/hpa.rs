//! The horizontal pod autoscaler's status half: what the HPA controller of a real cluster
//! reports in `status` — current and desired replicas and the `AbleToScale` / `ScalingActive` /
//! `ScalingLimited` conditions — so an HPA is assessed Healthy (or Degraded when its target is
//! missing) instead of waiting to autoscale forever.
//!
//! Decision: the sandbox has no metrics, so the simulated autoscaler never changes the
//! target's `spec.replicas`; it reports the target's replicas clamped to min/max as desired.
//! A real HPA taking `replicas` over from Git is a drift case the diff's
//! `ignore_differences` handles, and tests create that fight explicitly with `kubectl scale`.
//! Status is rewritten only when it changes, so a settled HPA costs no writes. Imports only the
//! simulator's siblings.

use std::time::Instant;

use serde_json::{Value, json};

use super::txn::Txn;
use super::{Simulator, meta};

pub(crate) fn reconcile(sim: &mut Simulator, now: Instant, txn: &mut Txn<'_>) {
    for hpa in txn.list("autoscaling/v2", "HorizontalPodAutoscaler", None) {
        if hpa.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let status = status_for(txn, &hpa, &sim.clock.rfc3339(now));
        if hpa.get("status") != Some(&status) {
            let mut new = (*hpa).clone();
            if let Some(m) = new.as_object_mut() {
                m.insert("status".into(), status);
            }
            txn.update(new);
        }
    }
}

/// The status the HPA should show now, keeping condition times of unchanged conditions.
fn status_for(txn: &Txn<'_>, hpa: &Value, at: &str) -> Value {
    let old = hpa
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let target_kind = meta::str_at(hpa, "/spec/scaleTargetRef/kind");
    let target_name = meta::str_at(hpa, "/spec/scaleTargetRef/name");
    let api_version = match meta::str_at(hpa, "/spec/scaleTargetRef/apiVersion") {
        "" => "apps/v1",
        v => v,
    };
    let target = txn.get(api_version, target_kind, meta::namespace(hpa), target_name);
    let Some(target) = target else {
        let cond = json!({"type": "AbleToScale", "status": "False", "reason": "FailedGetScale",
            "message": format!("the HPA controller was unable to get the target's current scale: {} {target_name} not found",
                target_kind.to_lowercase())});
        let conds = meta::upsert_condition(&old, cond, at, false);
        return json!({"currentReplicas": 0, "desiredReplicas": 0, "conditions": conds});
    };
    let min = meta::int_at(hpa, "/spec/minReplicas", 1);
    let max = meta::int_at(hpa, "/spec/maxReplicas", min).max(min);
    let wanted = meta::int_at(&target, "/spec/replicas", 1);
    let current = meta::int_at(&target, "/status/replicas", 0);
    let desired = wanted.clamp(min, max);
    let mut conds = meta::upsert_condition(
        &old,
        json!({"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
            "message": "recommended size matches current size"}),
        at,
        false,
    );
    conds = meta::upsert_condition(
        &conds,
        json!({"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
            "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"}),
        at,
        false,
    );
    let limited = if wanted < min {
        json!({"type": "ScalingLimited", "status": "True", "reason": "TooFewReplicas",
            "message": "the desired replica count is less than the minimum replica count"})
    } else if wanted > max {
        json!({"type": "ScalingLimited", "status": "True", "reason": "TooManyReplicas",
            "message": "the desired replica count is more than the maximum replica count"})
    } else {
        json!({"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange",
            "message": "the desired count is within the acceptable range"})
    };
    conds = meta::upsert_condition(&conds, limited, at, false);
    json!({"currentReplicas": current, "desiredReplicas": desired, "conditions": conds})
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::sandbox::sim::testkit::World;

    fn hpa(target: &str) -> Value {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "log-api", "namespace": "log-platform"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "minReplicas": 3, "maxReplicas": 10}})
    }

    fn deployment(replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "log-api", "namespace": "log-platform"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "log-api"}},
                "template": {"metadata": {"labels": {"app": "log-api"}},
                    "spec": {"containers": [{"name": "api", "image": "log-api:1.0"}]}}}})
    }

    fn condition<'a>(obj: &'a Value, ty: &str) -> &'a Value {
        obj["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == ty))
            .unwrap_or(&Value::Null)
    }

    #[test]
    fn an_hpa_with_a_target_reports_able_to_scale_and_settles() {
        let mut w = World::fast();
        w.apply(deployment(2));
        w.apply(hpa("log-api"));
        w.settle();
        let got = w.get(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            "log-platform",
            "log-api",
        );
        assert_eq!(condition(&got, "AbleToScale")["status"], "True");
        assert_eq!(condition(&got, "ScalingActive")["status"], "True");
        assert_eq!(
            condition(&got, "ScalingLimited")["reason"],
            "TooFewReplicas"
        );
        assert_eq!(got["status"]["desiredReplicas"], 3);
        // Settled: another step writes nothing.
        assert!(w.step().is_empty(), "a settled HPA must not be rewritten");
    }

    #[test]
    fn a_missing_target_cannot_scale() {
        let mut w = World::fast();
        w.apply(hpa("nothing-here"));
        w.settle();
        let got = w.get(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            "log-platform",
            "log-api",
        );
        assert_eq!(condition(&got, "AbleToScale")["status"], "False");
        assert_eq!(condition(&got, "AbleToScale")["reason"], "FailedGetScale");
    }
}
