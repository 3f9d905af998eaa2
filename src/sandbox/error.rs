//! API errors as the real API server reports them: a `Status` object with `code`, `reason`
//! and `details`, so that kubectl and kube-rs print and classify them the usual way
//! (`Error from server (NotFound): deployments.apps "api" not found`). Also the crate-facing
//! `sandbox::Error` for serving and kubeconfig IO. Imports nothing of the crate.

use serde_json::{Value, json};

/// A failed API call, rendered as a `metav1.Status` body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: Value::Null,
        }
    }

    /// `<plural>.<group> "<name>" not found`, the exact wording clients show.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, plural)),
        );
        e.details = json!({"name": name, "group": group, "kind": plural});
        e
    }

    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(group, plural)),
        );
        e.details = json!({"name": name, "group": group, "kind": plural});
        e
    }

    pub fn conflict(group: &str, plural: &str, name: &str, why: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                qualified(group, plural)
            ),
        );
        e.details = json!({"name": name, "group": group, "kind": plural});
        e
    }

    pub fn invalid(kind: &str, name: &str, field: &str, why: &str) -> Self {
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: {field}: {why}"),
        );
        e.details = json!({"name": name, "kind": kind,
            "causes": [{"reason": "FieldValueInvalid", "message": why, "field": field}]});
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.message, "reason": self.reason, "code": self.code,
        });
        if !self.details.is_null() {
            s["details"] = self.details.clone();
        }
        s
    }
}

fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

/// Errors of the sandbox as a library: serving and writing the kubeconfig.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot write kubeconfig: {source}")]
    Kubeconfig {
        path: String,
        source: std::io::Error,
    },
    #[error("{addr}: refusing to listen on a non-loopback address without --allow-remote")]
    NotLoopback { addr: String },
    #[error("{addr}: cannot listen: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("unknown cluster \"{0}\"")]
    UnknownCluster(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_reads_like_the_real_server() {
        let s = ApiError::not_found("apps", "deployments", "api").status();
        assert_eq!(s["message"], "deployments.apps \"api\" not found");
        assert_eq!(s["code"], 404);
        assert_eq!(s["reason"], "NotFound");
    }
}
