//! `ignore_differences`: differences the diff must not report for matching resources (Argo
//! CD's `ignoreDifferences`). One type for the validated config, the diff and the controller.

use super::ResourceKey;

/// Match by group?/kind/name?/namespace?, then drop the `json_pointers` (RFC 6901, each
/// starting with `/`, `name=<value>` segments allowed) and every field a listed manager owns
/// in the live `managedFields`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRule {
    /// API group; `None` matches any group, `""` is the core group.
    pub group: Option<String>,
    /// `*` matches any kind.
    pub kind: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub json_pointers: Vec<String>,
    /// Fields owned by these field managers are ignored.
    pub managers: Vec<String>,
}

impl IgnoreRule {
    pub fn matches(&self, key: &ResourceKey) -> bool {
        self.group.as_ref().is_none_or(|g| *g == key.group)
            && (self.kind == "*" || self.kind == key.kind)
            && self.name.as_ref().is_none_or(|n| *n == key.name)
            && self.namespace.as_ref().is_none_or(|n| *n == key.namespace)
    }
}
