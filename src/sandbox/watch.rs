//! Watch streams: `?watch=1` from a resourceVersion (replayed from the change log), from "now"
//! with the current objects as ADDED events (no or `0` resourceVersion, or
//! `sendInitialEvents=true`, which ends the initial batch with the `k8s.io/initial-events-end`
//! bookmark), periodic BOOKMARK events with `allowWatchBookmarks`, an `ERROR` event with a
//! `410 Expired` Status when the version is older than the log, and an end after
//! `timeoutSeconds`. A watcher that falls behind the broadcast buffer is cut off (the client
//! re-watches), never silently skipped. Imports nothing of the crate.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::body::{self, Body};
use super::error::ApiError;
use super::router::{Req, Target};
use super::select::{FieldSelector, LabelSelector, selects};
use super::store::{Change, ChangeKind, Stored};
use super::{Cluster, table};

const BOOKMARK_EVERY: Duration = Duration::from_secs(2);

struct Filter {
    target: Target,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    /// The event type this watch sees for a change, if any: a modification that moves an
    /// object into the selection is ADDED, out of it DELETED (as the real watch cache does).
    fn event(&self, c: &Change) -> Option<&'static str> {
        let t = &self.target;
        if c.group != t.rt.group
            || c.plural != t.rt.plural
            || t.namespace.as_deref().is_some_and(|ns| ns != c.namespace)
        {
            return None;
        }
        let now = selects(&self.labels, &self.fields, &c.object);
        let before = c
            .previous
            .as_ref()
            .map(|p| selects(&self.labels, &self.fields, p));
        match (c.kind, before, now) {
            (ChangeKind::Modified, Some(false), true) => Some("ADDED"),
            (ChangeKind::Modified, Some(true), false) => Some("DELETED"),
            (_, _, true) => Some(c.kind.as_str()),
            _ => None,
        }
    }
}

struct Encoder {
    table: bool,
    sent_columns: bool,
    target: Target,
}

impl Encoder {
    fn line(&mut self, kind: &str, obj: &Value) -> Bytes {
        let object = if self.table && kind != "BOOKMARK" && kind != "ERROR" {
            let mut t = table::table(&self.target.rt, &[obj], &Default::default());
            if self.sent_columns {
                t["columnDefinitions"] = json!([]);
            }
            self.sent_columns = true;
            t
        } else {
            obj.clone()
        };
        let mut v =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        v.push(b'\n');
        Bytes::from(v)
    }

    /// An event for a stored object: its JSON text is spliced in without re-encoding.
    fn stored(&mut self, kind: &str, s: &Stored) -> Bytes {
        if self.table {
            return self.line(kind, &s.value());
        }
        let json = s.json();
        let mut v = String::with_capacity(json.len() + 32);
        v.push_str("{\"type\":\"");
        v.push_str(kind);
        v.push_str("\",\"object\":");
        v.push_str(json);
        v.push_str("}\n");
        Bytes::from(v)
    }
}

fn bookmark(t: &Target, rv: u64, initial_end: bool) -> Value {
    let mut b = json!({"kind": t.rt.kind, "apiVersion": t.rt.api_version(),
        "metadata": {"resourceVersion": rv.to_string()}});
    if initial_end {
        b["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    b
}

/// Serves one watch; `drop_after` is the faults' "cut every watch after" setting.
pub async fn watch(cluster: &Arc<Cluster>, t: &Target, req: &Req) -> Response<Body> {
    let parsed =
        LabelSelector::parse(req.query.get("labelSelector").unwrap_or_default()).and_then(|l| {
            Ok((
                l,
                FieldSelector::parse(req.query.get("fieldSelector").unwrap_or_default())?,
            ))
        });
    let (labels, fields) = match parsed {
        Ok(p) => p,
        Err(e) => return body::error(&e),
    };
    let filter = Filter {
        target: t.clone(),
        labels,
        fields,
    };
    let bookmarks = req.query.flag("allowWatchBookmarks");
    let send_initial = req.query.flag("sendInitialEvents");
    let timeout = req
        .query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let drop_after = req.drop_watch_after;
    let mut enc = Encoder {
        table: req.wants_table(),
        sent_columns: false,
        target: t.clone(),
    };

    let rv_param = req.query.get("resourceVersion").unwrap_or("0");
    let (initial, mut rx, mut last_rv, expired) = {
        let store = cluster.lock();
        let rx = store.subscribe();
        let now = store.resource_version();
        let mut lines = Vec::new();
        let mut expired = None;
        if req.expire_watch {
            expired = Some(ApiError::expired(format!(
                "too old resource version: {rv_param} (injected fault)"
            )));
        } else if rv_param == "0" || send_initial {
            for obj in store.list(&t.rt, t.namespace.as_deref()) {
                if selects(&filter.labels, &filter.fields, obj) {
                    lines.push(enc.stored("ADDED", obj));
                }
            }
            if send_initial {
                lines.push(enc.line("BOOKMARK", &bookmark(t, now, true)));
            }
        } else {
            match rv_param.parse::<u64>() {
                Err(_) => {
                    return body::error(&ApiError::bad_request(format!(
                        "invalid resourceVersion \"{rv_param}\""
                    )));
                }
                Ok(from) => match store.changes_since(from) {
                    Some(changes) => {
                        for c in &changes {
                            if let Some(kind) = filter.event(c) {
                                lines.push(enc.stored(kind, &c.object));
                            }
                        }
                    }
                    None => {
                        let oldest = store.oldest_watchable();
                        expired = Some(ApiError::expired(format!(
                            "too old resource version: {from} ({oldest})"
                        )));
                    }
                },
            }
        }
        (lines, rx, now, expired)
    };

    let (tx, out) = body::channel();
    if let Some(e) = expired {
        let line = enc.line("ERROR", &e.status());
        tokio::spawn(async move {
            let _ = tx.send(line).await;
        });
        return body::respond(200, "application/json", out);
    }
    let target = t.clone();
    tokio::spawn(async move {
        for line in initial {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + drop_after.map_or(timeout, |d| d.min(timeout));
        let mut tick = tokio::time::interval(BOOKMARK_EVERY);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tx.closed() => return,
                _ = tick.tick(), if bookmarks => {
                    if tx.send(enc.line("BOOKMARK", &bookmark(&target, last_rv, false))).await.is_err() {
                        return;
                    }
                }
                change = rx.recv() => match change {
                    Ok(c) => {
                        if c.rv <= last_rv {
                            continue;
                        }
                        last_rv = c.rv;
                        if let Some(kind) = filter.event(&c)
                            && tx.send(enc.stored(kind, &c.object)).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
                }
            }
        }
    });
    body::respond(200, "application/json", out)
}
