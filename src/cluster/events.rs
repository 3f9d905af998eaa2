//! Kubernetes Events (core `v1`) of a namespace, optionally narrowed to one involved object,
//! as flat [`EventRow`]s, newest first; and a watch that says when they changed.
//!
//! Decisions: core `v1` Events (what `kubectl describe` shows and what both the kubelet and the
//! sandbox write) rather than `events.k8s.io/v1`, which every server serves as the same objects.
//! The narrowing is a server-side field selector on `involvedObject.kind`/`.name`, so an env with
//! thousands of events sends only the ones asked for. The watch ([`Cluster::events_watch`])
//! keeps a set keyed by uid, so a repeat that bumps `count` replaces its row.

use std::collections::BTreeMap;

use futures::{Stream, StreamExt};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::ListParams;
use kube::runtime::watcher;

use super::{Cluster, Error};
use crate::model::{EventRow, EventsRequest};

fn field_selector(request: &EventsRequest) -> Option<String> {
    request
        .object
        .as_ref()
        .map(|(kind, name)| format!("involvedObject.kind={kind},involvedObject.name={name}"))
}

/// Flattens one Event for the events view.
pub fn event_row(event: &Event) -> EventRow {
    let ts = |t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| {
        t.and_then(|t| Timestamp::from_second(t.0.as_second()).ok())
    };
    let last_seen = ts(event.last_timestamp.as_ref())
        .or_else(|| {
            event
                .event_time
                .as_ref()
                .and_then(|t| Timestamp::from_second(t.0.as_second()).ok())
        })
        .or_else(|| ts(event.first_timestamp.as_ref()));
    let involved = &event.involved_object;
    EventRow {
        last_seen,
        warning: event.type_.as_deref() == Some("Warning"),
        reason: event.reason.clone().unwrap_or_default(),
        object: format!(
            "{}/{}",
            involved.kind.as_deref().unwrap_or(""),
            involved.name.as_deref().unwrap_or("")
        ),
        message: event.message.clone().unwrap_or_default(),
        count: event.count.and_then(|c| u32::try_from(c).ok()).unwrap_or(1),
    }
}

/// Newest first; ties by object, then reason, so the order is stable between refreshes.
pub fn sort_newest_first(rows: &mut [EventRow]) {
    rows.sort_by(|a, b| {
        b.last_seen
            .cmp(&a.last_seen)
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.reason.cmp(&b.reason))
    });
}

impl Cluster {
    /// The events `request` selects, newest first.
    pub async fn events(&self, request: &EventsRequest) -> Result<Vec<EventRow>, Error> {
        let api: Api<Event> = Api::namespaced(self.client().clone(), &request.namespace);
        let mut params = ListParams::default();
        if let Some(fields) = field_selector(request) {
            params = params.fields(&fields);
        }
        let list = api.list(&params).await.map_err(|source| Error::Api {
            context: self.context().to_owned(),
            what: format!("list events in namespace {}", request.namespace),
            source,
        })?;
        let mut rows: Vec<EventRow> = list.items.iter().map(event_row).collect();
        sort_newest_first(&mut rows);
        Ok(rows)
    }

    /// The events `request` selects, as a stream of full sets (newest first): one after the
    /// initial list and one after every change. Watch errors come out as items; the watcher
    /// re-lists by itself, so the stream goes on after one.
    pub fn events_watch(
        &self,
        request: &EventsRequest,
    ) -> impl Stream<Item = Result<Vec<EventRow>, Error>> + use<> {
        let api: Api<Event> = Api::namespaced(self.client().clone(), &request.namespace);
        let mut config = watcher::Config::default();
        if let Some(fields) = field_selector(request) {
            config = config.fields(&fields);
        }
        let context = self.context().to_owned();
        let namespace = request.namespace.clone();
        let mut known: BTreeMap<String, EventRow> = BTreeMap::new();
        let mut pending: BTreeMap<String, EventRow> = BTreeMap::new();
        watcher(api, config).filter_map(move |event| {
            let out = match event {
                Ok(watcher::Event::Init) => {
                    pending.clear();
                    None
                }
                Ok(watcher::Event::InitApply(e)) => {
                    pending.insert(uid(&e), event_row(&e));
                    None
                }
                Ok(watcher::Event::InitDone) => {
                    known = std::mem::take(&mut pending);
                    Some(Ok(sorted(&known)))
                }
                Ok(watcher::Event::Apply(e)) => {
                    known.insert(uid(&e), event_row(&e));
                    Some(Ok(sorted(&known)))
                }
                Ok(watcher::Event::Delete(e)) => {
                    known.remove(&uid(&e));
                    Some(Ok(sorted(&known)))
                }
                Err(e) => Some(Err(Error::Connect {
                    context: context.clone(),
                    message: format!("watch events in namespace {namespace}: {e}"),
                })),
            };
            std::future::ready(out)
        })
    }
}

fn uid(event: &Event) -> String {
    let meta = &event.metadata;
    meta.uid
        .clone()
        .or_else(|| meta.name.clone())
        .unwrap_or_default()
}

fn sorted(known: &BTreeMap<String, EventRow>) -> Vec<EventRow> {
    let mut rows: Vec<EventRow> = known.values().cloned().collect();
    sort_newest_first(&mut rows);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seconds: i64, object: &str) -> EventRow {
        EventRow {
            last_seen: Timestamp::from_second(seconds).ok(),
            warning: false,
            reason: "Pulled".into(),
            object: object.into(),
            message: String::new(),
            count: 1,
        }
    }

    #[test]
    fn events_sort_newest_first_then_by_object() {
        let mut rows = vec![row(10, "Pod/b"), row(30, "Pod/a"), row(10, "Pod/a")];
        sort_newest_first(&mut rows);
        let order: Vec<_> = rows
            .iter()
            .map(|r| (r.last_seen.map(|t| t.as_second()), r.object.as_str()))
            .collect();
        assert_eq!(
            order,
            vec![
                (Some(30), "Pod/a"),
                (Some(10), "Pod/a"),
                (Some(10), "Pod/b")
            ]
        );
    }

    #[test]
    fn an_object_narrows_by_field_selector() {
        let request = EventsRequest {
            context: "dev".into(),
            namespace: "shop".into(),
            object: Some(("Pod".into(), "api-1".into())),
        };
        assert_eq!(
            field_selector(&request).as_deref(),
            Some("involvedObject.kind=Pod,involvedObject.name=api-1")
        );
    }
}
