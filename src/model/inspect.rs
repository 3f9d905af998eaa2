//! The vocabulary of the console's inspection feed: what the logs and events views ask for
//! ([`InspectRequest`]) and what comes back ([`InspectChunk`]).
//!
//! Decision: inspection does not go through [`Command`](super::Command) and the controller's
//! per-env state machine. Reading a pod's log or an env's events changes nothing, needs no
//! Lease, no policy and no history, and would only queue behind a long sync. The console sends
//! requests on its own channel to a feeder (`controller::driver::inspect`) that talks to the
//! cluster directly; each request carries the id of the view it feeds so a late chunk for a
//! closed view is dropped by the UI.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

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
            | InspectChunk::Failed { id, .. } => *id,
        }
    }
}
