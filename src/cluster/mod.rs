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
//!
//! Error text is for people and scripts: one line, `context C: WHAT: REASON: MESSAGE` with the
//! API server's reason (`Forbidden`, `NotFound`, `Conflict`, …) and its own message, never the
//! debug dump of kube's `Status`; a transport failure says "cluster unreachable" with the cause.
//! [`Error::is_forbidden`] lets callers treat an RBAC refusal as "not readable by this user"
//! rather than as an unreachable cluster.

mod access;
mod connect;
mod discovery;
mod events;
mod live;
mod logs;
mod ops;
mod requests;
mod retry;
mod state;

pub use access::{Access, Permission};
pub use connect::{Cluster, ResolvedKind, context_server, load_kubeconfig};
pub use discovery::{SERVED_TTL, choose_version};
pub use events::{event_row, sort_newest_first};
pub use live::{KindRead, LiveCache, LiveStatus, WatchSpec};
pub use ops::{ApplyMode, FIELD_MANAGER};
pub use requests::api_requests;
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
    #[error("context {context}: {what}: {}", api_text(source))]
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

    /// The API server refused this user (HTTP 403): a permission, not a connection problem.
    pub fn is_forbidden(&self) -> bool {
        self.status_code() == Some(403)
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

/// The plain text of a kube error: the API server's reason and message for an API answer,
/// "cluster unreachable" plus the cause for a transport failure, else kube's own text.
pub fn api_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                format!("HTTP {}", status.code)
            } else {
                status.reason.clone()
            };
            if status.message.is_empty() {
                reason
            } else {
                format!("{reason}: {}", status.message)
            }
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            format!("cluster unreachable: {}", root_cause(e))
        }
        other => root_cause(other),
    }
}

/// The innermost cause's text, which is the one that says what went wrong (the outer layers
/// of hyper/tower errors only say "client error").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(next) = last.source() {
        last = next;
    }
    if std::ptr::addr_eq(last, e) {
        e.to_string()
    } else {
        format!("{e}: {last}")
    }
}

pub(super) fn is_transient_kube(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => matches!(status.code, 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn forbidden() -> Error {
        let status = Status::failure(
            r#"secrets is forbidden: User "viewer" cannot list resource "secrets""#,
            "Forbidden",
        )
        .with_code(403);
        Error::Api {
            context: "dev-viewer".into(),
            what: "list Secret".into(),
            source: kube::Error::Api(status.boxed()),
        }
    }

    #[test]
    fn an_api_error_is_one_line_with_reason_and_message_not_a_status_dump() {
        let text = forbidden().to_string();
        assert_eq!(
            text,
            r#"context dev-viewer: list Secret: Forbidden: secrets is forbidden: User "viewer" cannot list resource "secrets""#
        );
        assert!(!text.contains("Status {") && !text.contains('\n'));
        assert!(forbidden().is_forbidden());
        assert!(!forbidden().is_transient());
    }

    #[test]
    fn an_answer_without_reason_or_message_names_the_http_status() {
        let bare = kube::Error::Api(Status::failure("", "").with_code(500).boxed());
        assert_eq!(api_text(&bare), "HTTP 500");
    }
}
