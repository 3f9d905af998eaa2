//! v1 Events as the kubelet and controllers write them (`kubectl get events`, `describe`).
//!
//! One Event object per (involved object, reason, message), named `<object>.<hash>`; a repeat
//! bumps its `count` and `lastTimestamp` instead of creating another, so a crash loop does not
//! grow the store without bound. Kubelet events are *ensured* at a count computed from the
//! pod's timeline (idempotent, hence convergent); controller events are *recorded* once per
//! action.

use serde_json::{Value, json};

use super::meta;
use super::txn::Txn;

/// Who reports the event and the involved container, if any.
pub(crate) struct Source<'a> {
    pub component: &'a str,
    /// The node, for kubelet events.
    pub host: &'a str,
    /// `spec.containers{name}` for container events.
    pub field_path: Option<String>,
}

/// One kind of event about one object.
pub(crate) struct Event<'a> {
    pub reason: &'a str,
    pub message: String,
    pub warning: bool,
    pub source: Source<'a>,
}

fn event_name(involved: &Value, ev: &Event<'_>) -> String {
    let seed = format!(
        "{}|{}|{}|{}",
        meta::uid(involved),
        meta::key(involved),
        ev.reason,
        ev.message
    );
    format!(
        "{}.{:016x}",
        meta::name(involved),
        meta::fnv64a(seed.as_bytes())
    )
}

fn new_event(involved: &Value, ev: &Event<'_>, count: u64, first: &str, last: &str) -> Value {
    let ns = match meta::namespace(involved) {
        "" => "default",
        ns => ns,
    };
    let mut involved_ref = json!({
        "apiVersion": meta::str_at(involved, "/apiVersion"),
        "kind": meta::str_at(involved, "/kind"),
        "name": meta::name(involved),
        "namespace": meta::namespace(involved),
        "uid": meta::uid(involved),
    });
    if let Some(fp) = &ev.source.field_path {
        meta::set_at(&mut involved_ref, &[], "fieldPath", json!(fp));
    }
    let mut source = json!({"component": ev.source.component});
    if !ev.source.host.is_empty() {
        meta::set_at(&mut source, &[], "host", json!(ev.source.host));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": event_name(involved, ev), "namespace": ns},
        "involvedObject": involved_ref,
        "reason": ev.reason,
        "message": ev.message,
        "type": if ev.warning { "Warning" } else { "Normal" },
        "count": count,
        "firstTimestamp": first,
        "lastTimestamp": last,
        "eventTime": null,
        "source": source,
        "reportingComponent": ev.source.component,
        "reportingInstance": ev.source.host,
    })
}

fn lookup(txn: &Txn<'_>, involved: &Value, ev: &Event<'_>) -> Option<Value> {
    let ns = match meta::namespace(involved) {
        "" => "default",
        ns => ns,
    };
    txn.get("v1", "Event", ns, &event_name(involved, ev))
}

/// Makes the event show `count` occurrences, the first at `first` and the latest at `last`
/// (wall-clock strings). Does nothing when it already shows at least that many.
pub(crate) fn ensure(
    txn: &mut Txn<'_>,
    involved: &Value,
    ev: Event<'_>,
    count: u64,
    first: &str,
    last: &str,
) {
    if count == 0 {
        return;
    }
    match lookup(txn, involved, &ev) {
        Some(mut existing) => {
            if existing.get("count").and_then(Value::as_u64).unwrap_or(0) < count {
                meta::set_at(&mut existing, &[], "count", json!(count));
                meta::set_at(&mut existing, &[], "lastTimestamp", json!(last));
                txn.update(existing);
            }
        }
        None => txn.create(new_event(involved, &ev, count, first, last)),
    }
}

/// Records one more occurrence at `at`.
pub(crate) fn record(txn: &mut Txn<'_>, involved: &Value, ev: Event<'_>, at: &str) {
    match lookup(txn, involved, &ev) {
        Some(mut existing) => {
            let count = existing.get("count").and_then(Value::as_u64).unwrap_or(0);
            meta::set_at(&mut existing, &[], "count", json!(count + 1));
            meta::set_at(&mut existing, &[], "lastTimestamp", json!(at));
            txn.update(existing);
        }
        None => txn.create(new_event(involved, &ev, 1, at, at)),
    }
}
