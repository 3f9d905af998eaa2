//! Subresources with their own shape: `/scale` (an `autoscaling/v1 Scale` view of a
//! workload's replicas, for `kubectl scale` and autoscalers) and `/log` (text from the
//! simulator's deterministic pod logs; `follow=true` streams new lines as simulated time
//! passes, `tailLines` and `container` honoured). `/status` is handled by the plain verbs.
//! Imports nothing of the crate.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, header};
use serde_json::{Value, json};

use super::Cluster;
use super::apply::record_update;
use super::body::{self, Body};
use super::crud::{Answer, decode, patched};
use super::error::ApiError;
use super::logs::{lines_available_for, log_lines};
use super::router::{Req, Target};
use super::store::UpdateMode;

fn scale_of(obj: &Value) -> Value {
    let m = &obj["metadata"];
    let selector = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
            "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]},
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector}})
}

pub fn scale(cluster: &Arc<Cluster>, t: &Target, req: &Req) -> Answer {
    let name = t.name.as_deref().unwrap_or_default();
    let ns = t.namespace.as_deref().unwrap_or_default();
    let mut store = cluster.lock();
    let live = store
        .get(&t.rt, ns, name)
        .ok_or_else(|| ApiError::not_found(&t.rt.group, &t.rt.plural, name))?;
    let current = scale_of(&live);
    let wanted = match req.method {
        Method::GET => {
            return serde_json::to_vec(&current)
                .map(|b| (200, b))
                .map_err(|e| ApiError::bad_request(e.to_string()));
        }
        Method::PUT => decode(req)?,
        Method::PATCH => patched(
            &current,
            req.header(header::CONTENT_TYPE).unwrap_or_default(),
            &decode(req)?,
        )?,
        _ => {
            return Err(ApiError::method_not_allowed(
                "scale supports get, update and patch",
            ));
        }
    };
    let given_rv = wanted["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    if !given_rv.is_empty() && Some(given_rv) != live["metadata"]["resourceVersion"].as_str() {
        return Err(ApiError::conflict(
            &t.rt.group,
            &t.rt.plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let Some(replicas) = wanted["spec"]["replicas"].as_i64().filter(|r| *r >= 0) else {
        return Err(ApiError::invalid(
            "Scale",
            name,
            "spec.replicas",
            "must be greater than or equal to 0",
        ));
    };
    let mut next = live.clone();
    next["spec"]["replicas"] = json!(replicas);
    record_update(Some(&live), &mut next, &req.manager(), "scale");
    let updated = store.update(&t.rt, next, UpdateMode::Main, req.query.dry_run())?;
    serde_json::to_vec(&scale_of(&updated))
        .map(|b| (200, b))
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn text(lines: &[String]) -> Bytes {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    Bytes::from(s)
}

pub async fn log(cluster: &Arc<Cluster>, t: &Target, req: &Req) -> Response<Body> {
    let name = t.name.clone().unwrap_or_default();
    let ns = t.namespace.clone().unwrap_or_default();
    let pod = cluster.lock().get(&t.rt, &ns, &name);
    let Some(pod) = pod else {
        return body::error(&ApiError::not_found("", "pods", &name));
    };
    let names: Vec<String> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    let container = req.query.get("container").map(str::to_string);
    if let Some(c) = &container
        && !names.contains(c)
    {
        return body::error(&ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        )));
    }
    let available = lines_available_for(&pod, container.as_deref(), unix_now());
    let from = match req
        .query
        .get("tailLines")
        .and_then(|n| n.parse::<usize>().ok())
    {
        Some(n) => available.saturating_sub(n),
        None => 0,
    };
    let first = text(&log_lines(
        &pod,
        container.as_deref(),
        from,
        available - from,
    ));
    if !req.query.flag("follow") {
        return body::respond(200, "text/plain", body::full(first));
    }
    let (tx, out) = body::channel();
    let cluster = cluster.clone();
    let rt = t.rt.clone();
    tokio::spawn(async move {
        if tx.send(first).await.is_err() {
            return;
        }
        let mut sent = available;
        loop {
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            let Some(pod) = cluster.lock().get(&rt, &ns, &name) else {
                return;
            };
            let now = lines_available_for(&pod, container.as_deref(), unix_now());
            if now > sent {
                let lines = log_lines(&pod, container.as_deref(), sent, now - sent);
                sent = now;
                if tx.send(text(&lines)).await.is_err() {
                    return;
                }
            }
        }
    });
    body::respond(200, "text/plain", out)
}
