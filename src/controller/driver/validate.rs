//! `Effect::Validate`: poll the health of what an operation applied about once a second and
//! send `Validated` readings until the env task aborts the poll (`StopValidation`).
//!
//! Imports the controller's observation helpers, `health`, `cluster`. Decisions: each reading
//! lists rather than reading the env's watch stores: right after an apply a store can still
//! hold the previous Deployment (Healthy at its old generation) until its watch delivers the
//! new one, and a reading from it would pass validation before the new release rolled out.
//! Workloads
//! must be Healthy, other kinds only present and not Degraded (as the design says: "wait for
//! every workload"); besides each resource's own health, a Pod running only images of the applied render that is
//! Degraded (CrashLoopBackOff, ImagePullBackOff) makes the reading Degraded at once — a
//! Deployment alone stays Progressing until its progress deadline, which would make a bad
//! release fail by timeout minutes later. Pods of other images (the previous release still
//! terminating, a rolled-back bad one) do not count.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::cluster::Cluster;
use crate::config::EnvConfig;
use crate::health;
use crate::model::{Health, HealthCode, worst_health};

use super::super::engine::{Event, OpId};
use super::super::{Desired, LiveSet};
use super::env::Msg;

/// Time between two health readings.
const PERIOD: Duration = Duration::from_secs(1);

pub(super) async fn poll(
    cluster: Option<Arc<Cluster>>,
    env: EnvConfig,
    desired: Arc<Desired>,
    op: OpId,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let Some(cluster) = cluster else { return };
    loop {
        match crate::controller::list_live(&cluster, &env, &desired.rendered.manifests).await {
            Ok(live) => {
                let health = validation_health(&desired, &live);
                let at = Timestamp::now();
                if tx
                    .send(Msg::Event(Event::Validated { op, health, at }))
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => tracing::debug!(env = %env.name, "validation reading failed: {e}"),
        }
        tokio::time::sleep(PERIOD).await;
    }
}

/// Worst of the desired resources' health and the Degraded pods running the render's images.
pub(super) fn validation_health(desired: &Desired, live: &LiveSet) -> Health {
    let mut readings: Vec<(String, Health)> = desired
        .rendered
        .manifests
        .iter()
        .map(|m| {
            let health = match live.objects.get(m.key()) {
                Some(obj) => health::assess(obj),
                None => Health::new(HealthCode::Missing, "not in the cluster"),
            };
            // Validation waits for workloads; other kinds count only when missing or
            // Degraded (an HPA stays "waiting to autoscale" until it has metrics).
            let health = if is_workload(m.kind())
                || matches!(health.code, HealthCode::Missing | HealthCode::Degraded)
            {
                health
            } else {
                Health::new(HealthCode::Healthy, "")
            };
            (m.key().to_string(), health)
        })
        .collect();
    let mut images = BTreeSet::new();
    for m in &desired.rendered.manifests {
        collect_images(m.object(), &mut images);
    }
    for pod in &live.pods {
        let mut pod_images = BTreeSet::new();
        collect_images(&pod["spec"], &mut pod_images);
        if pod_images.is_empty() || !pod_images.is_subset(&images) {
            continue;
        }
        let row = health::pod_row(pod);
        if row.health == HealthCode::Degraded {
            let what = if row.reason.is_empty() {
                row.status.clone()
            } else {
                format!("{} {}", row.status, row.reason)
            };
            readings.push((
                format!("Pod/{}", row.name),
                Health::new(HealthCode::Degraded, what),
            ));
        }
    }
    let worst = worst_health(readings.iter().map(|(_, h)| h.code));
    let message = readings
        .iter()
        .find(|(_, h)| h.code == worst && worst != HealthCode::Healthy)
        .map(|(key, h)| format!("{key}: {}", h.message))
        .unwrap_or_default();
    Health::new(worst, message)
}

fn is_workload(kind: &str) -> bool {
    matches!(
        kind,
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "Pod"
    )
}

/// Every `image` of a container list anywhere under `v`.
fn collect_images(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if (k == "containers" || k == "initContainers")
                    && let Some(list) = child.as_array()
                {
                    for c in list {
                        if let Some(image) = c["image"].as_str() {
                            out.insert(image.to_owned());
                        }
                    }
                } else {
                    collect_images(child, out);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|c| collect_images(c, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn images_are_collected_from_pod_templates() {
        let mut images = BTreeSet::new();
        collect_images(
            &json!({"spec": {"template": {"spec": {
                "initContainers": [{"image": "init:1"}],
                "containers": [{"image": "api:2"}, {"name": "no-image"}]
            }}}}),
            &mut images,
        );
        assert_eq!(images.into_iter().collect::<Vec<_>>(), ["api:2", "init:1"]);
    }
}
