//! The kube-rs boundary: one [`Cluster`] per kubeconfig context, a discovery cache, server-side
//! apply (real and dry-run), deletes, and [`LiveCache`] — watcher/reflector stores per env.
//!
//! Imports only `crate::model`. Returns plain `serde_json::Value` objects so that `diff` and
//! `health` never see kube types. Everything cluster-specific that can fail returns [`Error`],
//! which says which context and which object; [`Error::is_transient`] tells which failures are
//! worth a retry, and [`retry_transient`] (the one retry helper) retries every request method
//! here on them, so a caller sees only persistent failures.
//!
//! Decisions: objects are handled as `DynamicObject` (the desired set holds arbitrary kinds,
//! CRDs included) and resolved through discovery once per kind per context. `managedFields` are
//! stripped from watched objects to keep the caches' memory flat; the few callers that need field
//! ownership (the ignore-by-manager rule) read it from a server-side dry-run result instead.

mod connect;
mod events;
mod live;
mod logs;
mod ops;
mod retry;
mod state;

pub use connect::{Cluster, ResolvedKind, load_kubeconfig};
pub use events::{event_row, sort_newest_first};
pub use live::{LiveCache, LiveStatus, WatchSpec};
pub use ops::{ApplyMode, FIELD_MANAGER};
pub use retry::{REQUEST_ATTEMPTS, retry_transient};
pub use state::{LeaseOutcome, LeaseRecord, OPERATION_ANNOTATION, STATE_LABEL, StateMap};

/// Errors of the cluster boundary. Each says which context it concerns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig { path: String, message: String },
    #[error("context {context}: {message}")]
    Connect { context: String, message: String },
    #[error("context {context}: kind {api_version} {kind} is not served by the cluster: {message}")]
    UnknownKind {
        context: String,
        api_version: String,
        kind: String,
        message: String,
    },
    #[error("context {context}: {what}: {source}")]
    Api {
        context: String,
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("{what}: {message}")]
    BadObject { what: String, message: String },
}

impl Error {
    /// Worth retrying with backoff: the server was unreachable, overloaded or timed out.
    /// Conflicts, invalid objects and refusals are not: retrying cannot fix them.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api { source, .. } => is_transient_kube(source),
            Error::Connect { .. } => true,
            Error::UnknownKind { .. } | Error::Kubeconfig { .. } | Error::BadObject { .. } => false,
        }
    }

    /// The HTTP status the API server answered with, if it answered.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Api {
                source: kube::Error::Api(status),
                ..
            } => Some(status.code),
            _ => None,
        }
    }
}

pub(super) fn is_transient_kube(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => matches!(status.code, 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}
