//! The verbs on a resource: get, list (label/field selectors, limit/continue), create, update
//! (optimistic concurrency), patch (merge, JSON, strategic, server-side apply), delete (with
//! cascade) and deletecollection; `dryRun=All` on every write. Each handler returns the status
//! code and the JSON body, or an [`ApiError`]. Imports nothing of the crate.

use std::sync::Arc;

use base64::Engine;
use http::header;
use serde_json::{Value, json};

use super::apply::{record_update, server_side_apply};
use super::defaults::apply_defaults;
use super::error::ApiError;
use super::patch;
use super::router::{Req, Target};
use super::select::{FieldSelector, LabelSelector, selects};
use super::store::{Propagation, Stored, UpdateMode};
use super::{Cluster, table};

pub type Answer = Result<(u16, Vec<u8>), ApiError>;

fn to_bytes(code: u16, v: &Value) -> Answer {
    serde_json::to_vec(v).map(|b| (code, b)).map_err(|e| {
        ApiError::new(
            500,
            "InternalError",
            format!("cannot encode the response: {e}"),
        )
    })
}

/// Decodes a request body: JSON, or YAML for `application/apply-patch+yaml`.
pub fn decode(req: &Req) -> Result<Value, ApiError> {
    super::validate::request_size(req.body.len())?;
    let ct = req
        .header(header::CONTENT_TYPE)
        .unwrap_or("application/json");
    if ct.contains("protobuf") {
        return super::proto::decode(&req.body);
    }
    if let Ok(v) = serde_json::from_slice::<Value>(&req.body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(&req.body)
        .map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("cannot decode the request body: {e}")))
}

fn render(t: &Target, req: &Req, mut obj: Value) -> Answer {
    obj["apiVersion"] = json!(t.rt.api_version());
    if req.wants_table() {
        return to_bytes(200, &table::table(&t.rt, &[&obj], &req.query));
    }
    to_bytes(200, &obj)
}

pub fn get(cluster: &Arc<Cluster>, t: &Target, req: &Req) -> Answer {
    let name = t.name.as_deref().unwrap_or_default();
    let obj = cluster
        .lock()
        .get(&t.rt, t.namespace.as_deref().unwrap_or_default(), name)
        .ok_or_else(|| ApiError::not_found(&t.rt.group, &t.rt.plural, name))?;
    render(t, req, obj)
}

fn selectors(req: &Req) -> Result<(LabelSelector, FieldSelector), ApiError> {
    Ok((
        LabelSelector::parse(req.query.get("labelSelector").unwrap_or_default())?,
        FieldSelector::parse(req.query.get("fieldSelector").unwrap_or_default())?,
    ))
}

fn continue_key(obj: &Stored) -> String {
    let m = obj.index();
    format!("{}/{}", m.namespace, m.name)
}

pub fn list(cluster: &Arc<Cluster>, t: &Target, req: &Req) -> Answer {
    let (labels, fields) = selectors(req)?;
    let limit = req
        .query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let after = match req.query.get("continue") {
        Some(c) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::bad_request("invalid continue token"))?,
        ),
        None => None,
    };
    let store = cluster.lock();
    let rv = store.resource_version();
    let mut items: Vec<&Stored> = Vec::new();
    let mut next = None;
    let mut remaining = 0usize;
    for obj in store.list(&t.rt, t.namespace.as_deref()) {
        if after.as_ref().is_some_and(|a| continue_key(obj) <= *a) {
            continue;
        }
        if !selects(&labels, &fields, obj) {
            continue;
        }
        if limit.is_some_and(|l| items.len() >= l) {
            remaining += 1;
            continue;
        }
        items.push(obj);
    }
    if remaining > 0
        && let Some(last) = items.last()
    {
        next = Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(continue_key(last)));
    }
    if req.wants_table() {
        let parsed: Vec<Value> = items.iter().map(|s| s.value()).collect();
        let refs: Vec<&Value> = parsed.iter().collect();
        let mut tbl = table::table(&t.rt, &refs, &req.query);
        tbl["metadata"] = json!({"resourceVersion": rv.to_string()});
        if let Some(n) = &next {
            tbl["metadata"]["continue"] = json!(n);
        }
        return to_bytes(200, &tbl);
    }
    // Written by hand: the stored JSON texts are spliced in, nothing is re-encoded.
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(n) = &next {
        meta["continue"] = json!(n);
        meta["remainingItemCount"] = json!(remaining);
    }
    let mut out = Vec::with_capacity(items.len() * 2048 + 256);
    out.extend_from_slice(
        format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
            t.rt.kind,
            t.rt.api_version(),
            meta
        )
        .as_bytes(),
    );
    for (i, obj) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(obj.json().as_bytes());
    }
    out.extend_from_slice(b"]}");
    Ok((200, out))
}

/// Checks the body's namespace against the URL's and fills it in when absent.
fn place(t: &Target, obj: &mut Value) -> Result<(), ApiError> {
    super::validate::shape(obj)?;
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the request body is not a JSON object",
        ));
    }
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    if let Some(ns) = t.namespace.as_deref().filter(|_| t.rt.namespaced) {
        match obj["metadata"]["namespace"].as_str() {
            Some(b) if !b.is_empty() && b != ns => {
                return Err(ApiError::bad_request(format!(
                    "the namespace of the provided object ({b}) does not match the namespace sent on the request ({ns})"
                )));
            }
            _ => obj["metadata"]["namespace"] = json!(ns),
        }
    }
    if let Some(name) = &t.name {
        match obj["metadata"]["name"].as_str() {
            Some(b) if !b.is_empty() && b != name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({b}) does not match the name on the URL ({name})"
                )));
            }
            _ => obj["metadata"]["name"] = json!(name),
        }
    }
    if let Some(kind) = obj["kind"].as_str()
        && kind != t.rt.kind
        && t.sub.as_deref().is_none_or(|s| s != "scale")
    {
        return Err(ApiError::bad_request(format!(
            "the body's kind {kind} does not match the resource {}",
            t.rt.plural
        )));
    }
    Ok(())
}

pub fn create(cluster: &Arc<Cluster>, t: &Target, req: &Req) -> Answer {
    let mut obj = decode(req)?;
    place(t, &mut obj)?;
    obj["apiVersion"] = json!(t.rt.api_version());
    obj["kind"] = json!(t.rt.kind);
    apply_defaults(&mut obj);
    record_update(None, &mut obj, &req.manager(), "");
    let created = cluster.lock().create(&t.rt, obj, req.query.dry_run())?;
    to_bytes(201, &created)
}

fn mode(t: &Target) -> UpdateMode {
    if t.sub.as_deref() == Some("status") {
        UpdateMode::Status
    } else {
        UpdateMode::Main
    }
}

pub fn replace(cluster: &Arc<Cluster>, t: &Target, req: &Req) -> Answer {
    let mut obj = decode(req)?;
    place(t, &mut obj)?;
    obj["apiVersion"] = json!(t.rt.api_version());
    obj["kind"] = json!(t.rt.kind);
    apply_defaults(&mut obj);
    let mut store = cluster.lock();
    let name = t.name.as_deref().unwrap_or_default();
    let old = store.get(&t.rt, t.namespace.as_deref().unwrap_or_default(), name);
    let Some(old) = old else {
        return Err(ApiError::not_found(&t.rt.group, &t.rt.plural, name));
    };
    record_update(
        Some(&old),
        &mut obj,
        &req.manager(),
        t.sub.as_deref().unwrap_or_default(),
    );
    let updated = store.update(&t.rt, obj, mode(t), req.query.dry_run())?;
    to_bytes(200, &updated)
}

/// Applies a PATCH body of `content_type` to `live`, returning the new object.
pub fn patched(live: &Value, content_type: &str, p: &Value) -> Result<Value, ApiError> {
    let mut obj = live.clone();
    if content_type.starts_with("application/json-patch+json") {
        patch::json_patch(&mut obj, p)?;
    } else if content_type.starts_with("application/merge-patch+json") {
        patch::json_merge(&mut obj, p);
    } else if content_type.starts_with("application/strategic-merge-patch+json") {
        patch::strategic_merge(&mut obj, p)?;
    } else {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type})"
            ),
        ));
    }
    Ok(obj)
}

pub fn patch(cluster: &Arc<Cluster>, t: &Target, req: &Req) -> Answer {
    let ct = req
        .header(header::CONTENT_TYPE)
        .unwrap_or_default()
        .to_string();
    let p = decode(req)?;
    let name = t.name.as_deref().unwrap_or_default();
    let ns = t.namespace.as_deref().unwrap_or_default();
    let dry_run = req.query.dry_run();
    let mut store = cluster.lock();
    let live = store.get(&t.rt, ns, name);
    if ct.starts_with("application/apply-patch") {
        let Some(manager) = req.query.get("fieldManager") else {
            return Err(ApiError::invalid(
                "PatchOptions.meta.k8s.io",
                "",
                "fieldManager",
                "Required value: is required for apply patch",
            ));
        };
        let mut config = p;
        place(t, &mut config)?;
        config["apiVersion"] = json!(t.rt.api_version());
        config["kind"] = json!(t.rt.kind);
        let force = req.query.flag("force");
        let mut merged = server_side_apply(live.as_ref(), &config, manager, force)?;
        return match live {
            None => {
                let created = store.create(&t.rt, merged, dry_run)?;
                to_bytes(201, &created)
            }
            Some(_) => {
                if let Some(m) = merged["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                let updated = store.update(&t.rt, merged, mode(t), dry_run)?;
                to_bytes(200, &updated)
            }
        };
    }
    let Some(live) = live else {
        return Err(ApiError::not_found(&t.rt.group, &t.rt.plural, name));
    };
    let mut obj = patched(&live, &ct, &p)?;
    place(t, &mut obj)?;
    apply_defaults(&mut obj);
    record_update(
        Some(&live),
        &mut obj,
        &req.manager(),
        t.sub.as_deref().unwrap_or_default(),
    );
    let updated = store.update(&t.rt, obj, mode(t), dry_run)?;
    to_bytes(200, &updated)
}

fn propagation(req: &Req) -> Result<(Propagation, bool), ApiError> {
    let opts: Value = if req.body.is_empty() {
        json!({})
    } else {
        decode(req)?
    };
    let policy = opts["propagationPolicy"]
        .as_str()
        .or_else(|| req.query.get("propagationPolicy"))
        .unwrap_or("Background");
    let orphan =
        opts["orphanDependents"].as_bool() == Some(true) || req.query.flag("orphanDependents");
    let p = match policy {
        _ if orphan => Propagation::Orphan,
        "Foreground" => Propagation::Foreground,
        "Orphan" => Propagation::Orphan,
        _ => Propagation::Background,
    };
    let dry_run = req.query.dry_run()
        || opts["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok((p, dry_run))
}

pub fn delete(cluster: &Arc<Cluster>, t: &Target, req: &Req) -> Answer {
    let (p, dry_run) = propagation(req)?;
    let name = t.name.as_deref().unwrap_or_default();
    let gone = cluster.lock().delete(
        &t.rt,
        t.namespace.as_deref().unwrap_or_default(),
        name,
        p,
        dry_run,
    )?;
    to_bytes(200, &gone)
}

pub fn delete_collection(cluster: &Arc<Cluster>, t: &Target, req: &Req) -> Answer {
    let (p, dry_run) = propagation(req)?;
    let (labels, fields) = selectors(req)?;
    let mut store = cluster.lock();
    let victims: Vec<(String, String)> = store
        .list(&t.rt, t.namespace.as_deref())
        .filter(|o| selects(&labels, &fields, o))
        .map(|o| {
            let m = o.index();
            (m.namespace.to_string(), m.name.to_string())
        })
        .collect();
    let mut items = Vec::new();
    for (ns, name) in victims {
        if let Ok(v) = store.delete(&t.rt, &ns, &name, p, dry_run) {
            items.push(v);
        }
    }
    to_bytes(
        200,
        &json!({"kind": format!("{}List", t.rt.kind), "apiVersion": t.rt.api_version(),
        "metadata": {"resourceVersion": store.resource_version().to_string()}, "items": items}),
    )
}
