//! The OpenAPI the sandbox publishes: just enough v3 for kubectl. kubectl validates by
//! default (`--validate=strict`) and first asks `/openapi/v3` whether the server validates
//! fields itself — it looks for the `fieldValidation` query parameter on each kind's PATCH
//! operation (tagged with `x-kubernetes-group-version-kind`). Answering yes makes kubectl send
//! `fieldValidation=Strict` instead of downloading schemas to validate client-side. Object
//! schemas are not published (so `kubectl explain` has nothing to show, and client-side apply
//! uses kubectl's compiled-in patch metadata for built-in kinds). `/openapi/v2` answers 404.
//! Pure; imports nothing of the crate.

use serde_json::{Value, json};

use super::resources::ResourceType;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The `/openapi/v3` discovery document: one entry per group/version.
pub fn root(types: &[ResourceType]) -> Value {
    let mut paths = serde_json::Map::new();
    for t in types {
        let p = gv_path(&t.group, &t.version);
        let url = format!("/openapi/v3/{p}?hash={}", hash(types, &t.group, &t.version));
        paths.insert(p, json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

fn hash(types: &[ResourceType], group: &str, version: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for t in types
        .iter()
        .filter(|t| t.group == group && t.version == version)
    {
        h.update(t.plural.as_bytes());
        h.update(t.kind.as_bytes());
    }
    hex::encode(&h.finalize()[..8]).to_uppercase()
}

/// The v3 document of one group/version (`gv` as in the URL: `api/v1`, `apis/apps/v1`).
pub fn group_version(types: &[ResourceType], gv: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    let param = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
    for t in types.iter().filter(|t| gv_path(&t.group, &t.version) == gv) {
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let base = if t.namespaced {
            format!("/{gv}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("/{gv}/{}/{{name}}", t.plural)
        };
        let ok = json!({"200": {"description": "OK"}});
        paths.insert(
            base,
            json!({
                "get": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "get", "responses": ok},
                "put": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "put", "responses": ok,
                    "parameters": [param("dryRun"), param("fieldManager"), param("fieldValidation")]},
                "patch": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "patch", "responses": ok,
                    "parameters": [param("dryRun"), param("fieldManager"), param("fieldValidation"), param("force")]},
            }),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes (driftdeck sandbox)", "version": "v1.33.0"},
        "paths": paths, "components": {"schemas": {}}}),
    )
}
