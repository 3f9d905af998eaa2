//! Server-side printing: `meta.k8s.io/v1 Table` answers for clients that ask for them
//! (`Accept: application/json;as=Table;…`, which kubectl sends for human-readable output).
//! Columns follow the real server's printers for the common kinds (pods, deployments,
//! replicasets, services, namespaces, configmaps, events); other kinds get NAME and AGE.
//! Columns with priority 1 show only with `-o wide`. Pure; imports nothing of the crate.

use serde_json::{Value, json};

use super::body::Query;
use super::resources::ResourceType;

fn age(obj: &Value, field: &str) -> String {
    let Some(ts) = obj["metadata"][field]
        .as_str()
        .or_else(|| obj[field].as_str())
    else {
        return "<unknown>".into();
    };
    let Ok(then) = ts.parse::<jiff::Timestamp>() else {
        return "<unknown>".into();
    };
    let secs = jiff::Timestamp::now()
        .as_second()
        .saturating_sub(then.as_second())
        .max(0);
    human(secs)
}

pub fn human(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3600 * 2 => format!("{}m", s / 60),
        s if s < 86400 * 2 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

type Column = (&'static str, &'static str, u8);

fn columns(kind: &str) -> Vec<Column> {
    let name = ("Name", "string", 0);
    let age = ("Age", "string", 0);
    match kind {
        "Pod" => vec![
            name,
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            age,
            ("IP", "string", 1),
            ("Node", "string", 1),
        ],
        "Deployment" => vec![
            name,
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            age,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "ReplicaSet" => vec![
            name,
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            age,
            ("Containers", "string", 1),
            ("Images", "string", 1),
        ],
        "Service" => vec![
            name,
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            age,
            ("Selector", "string", 1),
        ],
        "Namespace" => vec![name, ("Status", "string", 0), age],
        "Node" => vec![
            name,
            ("Status", "string", 0),
            ("Roles", "string", 0),
            age,
            ("Version", "string", 0),
        ],
        "ConfigMap" | "Secret" => vec![name, ("Data", "integer", 0), age],
        "Event" => vec![
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Message", "string", 0),
        ],
        _ => vec![name, age],
    }
}

fn containers(obj: &Value, path: &[&str]) -> (String, String) {
    let mut cur = obj;
    for p in path {
        cur = &cur[*p];
    }
    let cs = cur["containers"].as_array().cloned().unwrap_or_default();
    let names: Vec<String> = cs.iter().map(|c| s(&c["name"])).collect();
    let images: Vec<String> = cs.iter().map(|c| s(&c["image"])).collect();
    (names.join(","), images.join(","))
}

fn pod_status(pod: &Value) -> String {
    if pod["metadata"]["deletionTimestamp"].is_string() {
        return "Terminating".into();
    }
    for cs in pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(r) = cs["state"]["waiting"]["reason"].as_str()
            && (r != "ContainerCreating" || pod["status"]["phase"] != "Pending")
        {
            return r.to_string();
        }
        if let Some(r) = cs["state"]["terminated"]["reason"].as_str() {
            return r.to_string();
        }
    }
    pod["status"]["phase"]
        .as_str()
        .unwrap_or("Pending")
        .to_string()
}

fn cells(kind: &str, o: &Value) -> Vec<Value> {
    let name = json!(s(&o["metadata"]["name"]));
    let st = &o["status"];
    match kind {
        "Pod" => {
            let statuses = st["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
            let ready = statuses
                .iter()
                .filter(|c| c["ready"].as_bool() == Some(true))
                .count();
            let restarts: i64 = statuses.iter().map(|c| int(&c["restartCount"])).sum();
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(pod_status(o)),
                json!(restarts.to_string()),
                json!(age(o, "creationTimestamp")),
                json!(st["podIP"].as_str().unwrap_or("<none>")),
                json!(o["spec"]["nodeName"].as_str().unwrap_or("<none>")),
            ]
        }
        "Deployment" => {
            let (c, i) = containers(o, &["spec", "template", "spec"]);
            let sel = o["spec"]["selector"]["matchLabels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", s(v)))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(&st["readyReplicas"]),
                    int(&o["spec"]["replicas"])
                )),
                json!(int(&st["updatedReplicas"])),
                json!(int(&st["availableReplicas"])),
                json!(age(o, "creationTimestamp")),
                json!(c),
                json!(i),
                json!(sel),
            ]
        }
        "ReplicaSet" => {
            let (c, i) = containers(o, &["spec", "template", "spec"]);
            vec![
                name,
                json!(int(&o["spec"]["replicas"])),
                json!(int(&st["replicas"])),
                json!(int(&st["readyReplicas"])),
                json!(age(o, "creationTimestamp")),
                json!(c),
                json!(i),
            ]
        }
        "Service" => {
            let ports: Vec<String> = o["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    format!(
                        "{}/{}",
                        s(&p["port"]),
                        p["protocol"].as_str().unwrap_or("TCP")
                    )
                })
                .collect();
            let sel = o["spec"]["selector"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", s(v)))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_else(|| "<none>".into());
            vec![
                name,
                json!(o["spec"]["type"].as_str().unwrap_or("ClusterIP")),
                json!(o["spec"]["clusterIP"].as_str().unwrap_or("<none>")),
                json!("<none>"),
                json!(if ports.is_empty() {
                    "<none>".into()
                } else {
                    ports.join(",")
                }),
                json!(age(o, "creationTimestamp")),
                json!(sel),
            ]
        }
        "Node" => {
            let ready = o["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            vec![
                name,
                json!(if ready { "Ready" } else { "NotReady" }),
                json!("<none>"),
                json!(age(o, "creationTimestamp")),
                json!(s(&st["nodeInfo"]["kubeletVersion"])),
            ]
        }
        "Namespace" => vec![
            name,
            json!(st["phase"].as_str().unwrap_or("Active")),
            json!(age(o, "creationTimestamp")),
        ],
        "ConfigMap" | "Secret" => {
            let n = o["data"].as_object().map_or(0, |m| m.len())
                + o["binaryData"].as_object().map_or(0, |m| m.len());
            vec![name, json!(n), json!(age(o, "creationTimestamp"))]
        }
        "Event" => {
            let io = if o["involvedObject"].is_object() {
                &o["involvedObject"]
            } else {
                &o["regarding"]
            };
            let seen = if o["lastTimestamp"].is_string() {
                age(o, "lastTimestamp")
            } else {
                age(o, "eventTime")
            };
            vec![
                json!(seen),
                json!(s(&o["type"])),
                json!(s(&o["reason"])),
                json!(format!(
                    "{}/{}",
                    s(&io["kind"]).to_lowercase(),
                    s(&io["name"])
                )),
                json!(s(if o["message"].is_string() {
                    &o["message"]
                } else {
                    &o["note"]
                })),
            ]
        }
        _ => vec![name, json!(age(o, "creationTimestamp"))],
    }
}

/// A `Table` of `objects`; rows carry the whole object so clients can add namespace and
/// label columns themselves.
pub fn table(rt: &ResourceType, objects: &[&Value], _query: &Query) -> Value {
    let cols: Vec<Value> = columns(&rt.kind)
        .into_iter()
        .map(|(n, t, p)| {
            json!({"name": n, "type": t, "format": if n == "Name" { "name" } else { "" },
            "description": "", "priority": p})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| json!({"cells": cells(&rt.kind, o), "object": o}))
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": cols, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_row_shows_waiting_reason_and_restarts() {
        let rt = super::super::resources::builtin()
            .into_iter()
            .find(|t| t.kind == "Pod")
            .unwrap();
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Running", "containerStatuses": [{"ready": false, "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let t = table(&rt, &[&pod], &Query::default());
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[1], "0/1");
        assert_eq!(cells[2], "CrashLoopBackOff");
        assert_eq!(cells[3], "3");
    }
}
