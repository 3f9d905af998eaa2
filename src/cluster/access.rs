//! "May I?" before a mutation: one `SelfSubjectAccessReview` per (verb, resource, namespace),
//! answered by the API server's own authorizer for the user of the context.
//!
//! Why ask first instead of trying: a sync tried by a view-only user fails halfway through the
//! machinery (state write retries, a refused apply), printing several lines and leaving a
//! failed entry nobody could write. Asking first lets the CLI refuse in one line that names the
//! verb, the resource and the missing permission, with nothing changed. The review is allowed to
//! every authenticated user (built-in `system:basic-user`), so asking never needs a right of its
//! own. A server that cannot answer (old, or the review API disabled) is not a refusal: the
//! caller proceeds and the server's own 403, if any, is reported as usual.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::PostParams;

use super::{Cluster, Error};

/// One permission a mutation needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Permission {
    /// `patch`, `create`, `update`, `delete`, …
    pub verb: String,
    /// API group; empty for the core group.
    pub group: String,
    /// Plural resource name (`deployments`, `configmaps`).
    pub resource: String,
    /// Empty for cluster-scoped resources.
    pub namespace: String,
}

impl Permission {
    pub fn new(verb: &str, group: &str, resource: &str, namespace: &str) -> Self {
        Self {
            verb: verb.to_owned(),
            group: group.to_owned(),
            resource: resource.to_owned(),
            namespace: namespace.to_owned(),
        }
    }
}

impl std::fmt::Display for Permission {
    /// `patch deployments.apps in namespace shop`, as kubectl's RBAC messages name resources.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        if self.namespace.is_empty() {
            write!(f, " (cluster-wide)")
        } else {
            write!(f, " in namespace {}", self.namespace)
        }
    }
}

/// The answer for one permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// Denied, with the authorizer's reason when it gave one.
    Denied(String),
    /// The server could not answer (no review API): unknown, the caller goes ahead.
    Unknown,
}

impl Cluster {
    /// Asks the API server whether this context's user may do `p`.
    pub async fn may(&self, p: &Permission) -> Result<Access, Error> {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(p.verb.clone()),
                    group: Some(p.group.clone()),
                    resource: Some(p.resource.clone()),
                    namespace: (!p.namespace.is_empty()).then(|| p.namespace.clone()),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let api: Api<SelfSubjectAccessReview> = Api::all(self.client().clone());
        match api.create(&PostParams::default(), &review).await {
            Ok(answer) => Ok(match answer.status {
                Some(s) if s.allowed => Access::Allowed,
                Some(s) => Access::Denied(s.reason.unwrap_or_default()),
                None => Access::Unknown,
            }),
            Err(kube::Error::Api(status)) if (403..=405).contains(&status.code) => {
                Ok(Access::Unknown)
            }
            Err(e) => Err(self.api_error(format!("access review for {p}"), e)),
        }
    }

    /// The first of `needed` this user may not do, if any (asked in order).
    pub async fn first_denied(
        &self,
        needed: &[Permission],
    ) -> Result<Option<(Permission, String)>, Error> {
        for p in needed {
            if let Access::Denied(reason) = self.may(p).await? {
                return Ok(Some((p.clone(), reason)));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permission_reads_like_rbac_names_it() {
        let p = Permission::new("patch", "apps", "deployments", "shop");
        assert_eq!(p.to_string(), "patch deployments.apps in namespace shop");
        let core = Permission::new("update", "", "configmaps", "shop");
        assert_eq!(core.to_string(), "update configmaps in namespace shop");
        let cluster_wide = Permission::new("patch", "", "namespaces", "");
        assert_eq!(cluster_wide.to_string(), "patch namespaces (cluster-wide)");
    }
}
