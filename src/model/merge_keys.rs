//! The merge keys of Kubernetes lists (`patchMergeKey` in the API types): which field of an
//! element identifies it in a strategic merge. One table for the renderer's strategic merge
//! (`render::smp`) and the diff's element pairing (`diff::walk`), so a patch and a diff never
//! pair the same list differently. The sandbox keeps its own table: it stands in for the API
//! server and imports nothing of ours.

/// How the elements of a list are identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKey {
    /// By this field of each element.
    Field(&'static str),
    /// `ports`: `containerPort` in pod specs, `port` in Services (decided by the items).
    Port,
}

/// The merge key of the list held in `field`; `None` when the API types give it none.
pub fn list_merge_key(field: &str) -> Option<ListKey> {
    Some(ListKey::Field(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "webhooks" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "readinessGates" => "conditionType",
        "topologySpreadConstraints" => "topologyKey",
        "ports" => return Some(ListKey::Port),
        _ => return None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_lists_have_their_api_merge_keys() {
        assert_eq!(list_merge_key("containers"), Some(ListKey::Field("name")));
        assert_eq!(
            list_merge_key("readinessGates"),
            Some(ListKey::Field("conditionType"))
        );
        assert_eq!(
            list_merge_key("ownerReferences"),
            Some(ListKey::Field("uid"))
        );
        assert_eq!(list_merge_key("ports"), Some(ListKey::Port));
        assert_eq!(list_merge_key("tolerations"), None);
    }
}
