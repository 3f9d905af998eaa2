//! The vocabulary of the console's inspection feed: what the logs and events views ask for
//! ([`InspectRequest`]) and what comes back ([`InspectChunk`]).
//!
//! Decision: inspection does not go through [`Command`](super::Command) and the controller's
//! per-env state machine. Reading a pod's log or an env's events changes nothing, needs no
//! Lease, no policy and no history, and would only queue behind a long sync. The console sends
//! requests on its own channel to a feeder (`controller::driver::inspect`) that talks to the
//! cluster directly; each request carries the id of the view it feeds so a late chunk for a
//! closed view is dropped by the UI.
//!
//! It also owns the one reading of "what version runs": a live workload's images
//! ([`workload_images`]) and the tag that tells versions apart ([`short_image`]), shared by the
//! observation (`EnvState::images`), `driftdeck versions` and the console's versions view.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which log the logs view shows (`kubectl logs` flags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRequest {
    pub context: String,
    pub namespace: String,
    pub pod: String,
    /// `None`: the pod's first container.
    pub container: Option<String>,
    /// The previous (crashed) instance of the container: `kubectl logs -p`.
    pub previous: bool,
    /// Only lines newer than this many seconds.
    pub since_seconds: Option<i64>,
    /// Only the last N lines before following.
    pub tail_lines: Option<i64>,
    /// Keep the stream open for new lines.
    pub follow: bool,
}

/// Which events the events view shows: an env's namespace, optionally narrowed to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsRequest {
    pub context: String,
    pub namespace: String,
    /// `(kind, name)` of the involved object; `None`: every event of the namespace.
    pub object: Option<(String, String)>,
}

/// Which object the object views (live YAML, desired YAML, describe) show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRequest {
    /// The env (its config entry names the path and renderer for the desired side).
    pub env: String,
    pub context: String,
    /// The revision whose render is the desired side (the env's `revision`); `None`: head.
    pub revision: Option<String>,
    pub key: super::ResourceKey,
}

/// One `status.conditions` entry, flattened for the describe view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionRow {
    pub kind: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition: String,
}

/// Everything the object views show about one object, Secret values already masked (the
/// feeder masks before anything leaves it, so no view or clipboard can see a value).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObjectDetail {
    /// Live YAML without `metadata.managedFields`; `None`: not in the cluster (or unreadable,
    /// see `live_error`).
    pub live: Option<String>,
    /// Live YAML with `metadata.managedFields` (the `m` toggle).
    pub live_full: Option<String>,
    pub live_error: Option<String>,
    /// The rendered (desired) YAML; `None`: Git does not have it (see `desired_error`).
    pub desired: Option<String>,
    pub desired_error: Option<String>,
    pub conditions: Vec<ConditionRow>,
    /// The owner chain, nearest first: `Kind/name` (`(not found)` when an owner is gone).
    pub owners: Vec<String>,
    /// Events of this object, newest first.
    pub events: Vec<EventRow>,
    /// Why the events could not be listed (then `events` is empty for that reason).
    #[serde(default)]
    pub events_error: Option<String>,
}

/// What the console asks the feeder for. Each new request replaces the previous one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InspectRequest {
    Logs {
        id: u64,
        request: LogRequest,
    },
    Events {
        id: u64,
        request: EventsRequest,
    },
    /// One object's live and desired YAML and its describe data (one answer, no stream).
    Object {
        id: u64,
        request: ObjectRequest,
    },
    /// The view closed: stop streaming.
    Stop,
}

/// One Kubernetes Event, flattened for the events view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    /// `lastTimestamp`, else `eventTime`, else `firstTimestamp`.
    pub last_seen: Option<Timestamp>,
    pub warning: bool,
    pub reason: String,
    /// `Kind/name` of the involved object.
    pub object: String,
    pub message: String,
    pub count: u32,
}

/// What the feeder sends back, tagged with the request id it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InspectChunk {
    /// The pod's containers (for the container picker), sent once per log request.
    Containers { id: u64, names: Vec<String> },
    /// New log lines, in order.
    LogLines { id: u64, lines: Vec<String> },
    /// The log stream ended (the container exited, or no follow).
    LogEnded { id: u64 },
    /// The full current set of events, newest first.
    Events { id: u64, rows: Vec<EventRow> },
    /// The object views' data.
    Object { id: u64, detail: Box<ObjectDetail> },
    /// The request failed; the message says what and where.
    Failed { id: u64, message: String },
}

impl InspectChunk {
    pub fn id(&self) -> u64 {
        match self {
            InspectChunk::Containers { id, .. }
            | InspectChunk::LogLines { id, .. }
            | InspectChunk::LogEnded { id }
            | InspectChunk::Events { id, .. }
            | InspectChunk::Object { id, .. }
            | InspectChunk::Failed { id, .. } => *id,
        }
    }
}

/// The workload kinds whose images say what version runs.
pub const WORKLOADS: [&str; 3] = ["Deployment", "StatefulSet", "DaemonSet"];

/// `("Kind/name", ["container=image", ...])` for a live Deployment, StatefulSet or DaemonSet
/// (containers in spec order); `None` for any other object.
pub fn workload_images(obj: &Value) -> Option<(String, Vec<String>)> {
    let kind = obj.get("kind").and_then(Value::as_str)?;
    if !WORKLOADS.contains(&kind) {
        return None;
    }
    let name = obj.pointer("/metadata/name").and_then(Value::as_str)?;
    let images = obj
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let field = |f| c.get(f).and_then(Value::as_str).unwrap_or_default();
                    format!("{}={}", field("name"), field("image"))
                })
                .collect()
        })
        .unwrap_or_default();
    Some((format!("{kind}/{name}"), images))
}

/// The image tag (or the digest's start) only, from `container=image` or `image`: what
/// differs between envs.
pub fn short_image(image: &str) -> &str {
    let (_, image) = image.split_once('=').unwrap_or(("", image));
    match super::split_image(image) {
        (_, _, Some(digest)) => digest.get(..19).unwrap_or(digest),
        (_, Some(tag), None) => tag,
        (_, None, None) => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_not_registries_tell_versions_apart() {
        assert_eq!(short_image("api=registry.local:5000/api:v1.4.2"), "v1.4.2");
        assert_eq!(
            short_image("api=registry.local:5000/api"),
            "registry.local:5000/api"
        );
        assert_eq!(short_image("nginx:1.25"), "1.25");
    }

    #[test]
    fn only_workloads_have_images() {
        let deploy = serde_json::json!({"kind": "Deployment", "metadata": {"name": "api"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "api", "image": "api:v2"}, {"name": "proxy", "image": "envoy:1.30"}]}}}});
        assert_eq!(
            workload_images(&deploy),
            Some((
                "Deployment/api".to_owned(),
                vec!["api=api:v2".to_owned(), "proxy=envoy:1.30".to_owned()]
            ))
        );
        let svc = serde_json::json!({"kind": "Service", "metadata": {"name": "api"}});
        assert_eq!(workload_images(&svc), None);
    }
}
