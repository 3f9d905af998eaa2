//! Request routing for one cluster: `/version`, discovery (`/api`, `/api/v1`, `/apis`,
//! `/apis/G`, `/apis/G/V`), OpenAPI (answered 404 so clients fall back to their built-in
//! schemas) and resource paths (`/api/v1/namespaces/NS/pods/NAME/log`,
//! `/apis/apps/v1/deployments`, ...) resolved against the cluster's catalog and handed to
//! [`crud`](super::crud), [`watch`](super::watch) or the subresource handlers. Imports nothing
//! of the crate.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Response, header};
use serde_json::json;

use super::body::{self, Body, Query};
use super::error::ApiError;
use super::resources::{self, ResourceType};
use super::{Cluster, crud, openapi, subresources, watch};

/// A resolved resource path.
#[derive(Debug, Clone)]
pub struct Target {
    pub rt: ResourceType,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

/// Everything a handler needs from the request.
pub struct Req {
    pub method: Method,
    pub query: Query,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Faults: end a watch after this long.
    pub drop_watch_after: Option<std::time::Duration>,
    /// Faults: answer a watch with 410 Expired.
    pub expire_watch: bool,
}

impl Req {
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn wants_table(&self) -> bool {
        body::wants_table(self.header(header::ACCEPT))
    }

    /// The field manager: the `fieldManager` parameter, else the client's name from its
    /// User-Agent (`kubectl/v1.32 …` → `kubectl`), as the real server derives it.
    pub fn manager(&self) -> String {
        if let Some(m) = self.query.get("fieldManager") {
            return m.to_string();
        }
        self.header(header::USER_AGENT)
            .and_then(|ua| ua.split('/').next())
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string()
    }
}

pub async fn route(cluster: &Arc<Cluster>, path: &str, req: Req) -> Response<Body> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let types = cluster.lock().types().to_vec();
    match segs.as_slice() {
        ["version"] => body::json(
            200,
            &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-driftdeck-sandbox",
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc",
                "platform": "linux/amd64"}),
        ),
        ["healthz"] | ["readyz"] | ["livez"] => body::respond(200, "text/plain", body::full("ok")),
        ["api"] => body::json(
            200,
            &json!({"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        ),
        ["api", "v1"] => discovery(resources::resource_list(&types, "", "v1")),
        ["apis"] => body::json(200, &resources::group_list(&types)),
        ["apis", group] => {
            let list = resources::group_list(&types);
            let found = list["groups"]
                .as_array()
                .and_then(|gs| gs.iter().find(|g| g["name"] == *group).cloned());
            match found {
                Some(mut g) => {
                    g["kind"] = json!("APIGroup");
                    g["apiVersion"] = json!("v1");
                    body::json(200, &g)
                }
                None => not_found(path),
            }
        }
        ["apis", group, version] => discovery(resources::resource_list(&types, group, version)),
        ["openapi", "v3"] => body::json(200, &openapi::root(&types)),
        ["openapi", "v3", gv @ ..] => discovery(openapi::group_version(&types, &gv.join("/"))),
        ["api", "v1", rest @ ..] => resource(cluster, &types, "", "v1", rest, req).await,
        ["apis", group, version, rest @ ..] => {
            resource(cluster, &types, group, version, rest, req).await
        }
        _ => not_found(path),
    }
}

fn discovery(list: Option<serde_json::Value>) -> Response<Body> {
    match list {
        Some(l) => body::json(200, &l),
        None => body::error(&ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )),
    }
}

fn not_found(path: &str) -> Response<Body> {
    let mut e = ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    );
    e.details = json!({"causes": [{"reason": "UnexpectedServerResponse", "message": format!("404 page not found: {path}")}]});
    body::error(&e)
}

fn resolve(types: &[ResourceType], group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let find = |plural: &str| {
        types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
    };
    let owned = |s: Option<&&str>| s.map(|s| (*s).to_string());
    if let ["namespaces", ns, plural, tail @ ..] = rest
        && let Some(rt) = find(plural).filter(|t| t.namespaced)
    {
        return Some(Target {
            rt: rt.clone(),
            namespace: Some((*ns).to_string()),
            name: owned(tail.first()),
            sub: owned(tail.get(1)),
        });
    }
    let (plural, tail) = rest.split_first()?;
    let rt = find(plural)?;
    Some(Target {
        rt: rt.clone(),
        namespace: None,
        name: owned(tail.first()),
        sub: owned(tail.get(1)),
    })
}

async fn resource(
    cluster: &Arc<Cluster>,
    types: &[ResourceType],
    group: &str,
    version: &str,
    rest: &[&str],
    req: Req,
) -> Response<Body> {
    let Some(t) = resolve(types, group, version, rest) else {
        return not_found(&rest.join("/"));
    };
    if let Some(sub) = t.sub.as_deref()
        && !t.rt.subresources.iter().any(|s| s == sub)
    {
        return not_found(&rest.join("/"));
    }
    let result = match (&req.method, t.name.is_some(), t.sub.as_deref()) {
        (&Method::GET, false, _) if req.query.flag("watch") => {
            return watch::watch(cluster, &t, &req).await;
        }
        (&Method::GET, false, _) => {
            cluster.count_list();
            crud::list(cluster, &t, &req)
        }
        (&Method::GET, true, Some("log")) => return subresources::log(cluster, &t, &req).await,
        (_, true, Some("scale")) => subresources::scale(cluster, &t, &req),
        (&Method::GET, true, _) => crud::get(cluster, &t, &req),
        (&Method::POST, false, _) => crud::create(cluster, &t, &req),
        (&Method::PUT, true, _) => crud::replace(cluster, &t, &req),
        (&Method::PATCH, true, _) => crud::patch(cluster, &t, &req),
        (&Method::DELETE, true, _) => crud::delete(cluster, &t, &req),
        (&Method::DELETE, false, _) => crud::delete_collection(cluster, &t, &req),
        (m, _, _) => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource: {m}"
        ))),
    };
    match result {
        Ok((code, bytes)) => body::json_bytes(code, bytes),
        Err(e) => body::error(&e),
    }
}
