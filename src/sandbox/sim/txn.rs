//! One step's working set: reads go to the core's [`ObjectView`] with this step's own writes
//! laid over them, and writes are merged so each object gets at most one action per step
//! (a ReplicaSet scaled by the deployment controller and given status by the replicaset
//! controller is one Update; a created-then-bumped Event is one Create).

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;

use super::meta;
use super::{Action, ObjectView};

/// `(apiVersion, kind, namespace, name)`.
type Key = (String, String, String, String);

fn key_of(obj: &Value) -> Key {
    (
        meta::str_at(obj, "/apiVersion").to_string(),
        meta::str_at(obj, "/kind").to_string(),
        meta::namespace(obj).to_string(),
        meta::name(obj).to_string(),
    )
}

enum Write {
    Create(Value),
    Update(Value),
    Delete,
}

/// An object as read this step; shared so that handing out lists of thousands of pods to
/// several controllers does not deep-copy them.
pub(crate) type Obj = Rc<Value>;

pub(crate) struct Txn<'a> {
    view: &'a dyn ObjectView,
    /// Lists read from the view this step, per `(apiVersion, kind)`, all namespaces, sorted.
    lists: HashMap<(String, String), Vec<Obj>>,
    writes: HashMap<Key, Write>,
    /// Order of first write per key, so actions come out in a stable order.
    order: Vec<Key>,
}

impl<'a> Txn<'a> {
    pub(crate) fn new(view: &'a dyn ObjectView) -> Self {
        Self {
            view,
            lists: HashMap::new(),
            writes: HashMap::new(),
            order: Vec::new(),
        }
    }

    /// Objects of a kind as this step sees them, sorted by namespace and name.
    pub(crate) fn list(
        &mut self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Vec<Obj> {
        let lk = (api_version.to_string(), kind.to_string());
        let view = self.view;
        let base = self.lists.entry(lk).or_insert_with(|| {
            let mut all: Vec<Obj> = view
                .list(api_version, kind, None)
                .into_iter()
                .map(Rc::new)
                .collect();
            all.sort_by(|a, b| {
                (meta::namespace(a), meta::name(a)).cmp(&(meta::namespace(b), meta::name(b)))
            });
            all
        });
        let in_ns = |o: &Value| namespace.is_none_or(|ns| meta::namespace(o) == ns);
        let touched = self.order.iter().any(|k| k.0 == api_version && k.1 == kind);
        if !touched {
            // The common case: nothing of this kind written yet this step.
            return base.iter().filter(|o| in_ns(o)).cloned().collect();
        }
        let mut out: Vec<Obj> = Vec::with_capacity(base.len());
        for o in base.iter().filter(|o| in_ns(o)) {
            match self.writes.get(&key_of(o)) {
                Some(Write::Delete) => {}
                Some(Write::Update(n) | Write::Create(n)) => out.push(Rc::new(n.clone())),
                None => out.push(o.clone()),
            }
        }
        let mut added = false;
        for k in &self.order {
            if k.0 == api_version
                && k.1 == kind
                && namespace.is_none_or(|ns| k.2 == ns)
                && let Some(Write::Create(n)) = self.writes.get(k)
                && !base
                    .iter()
                    .any(|o| meta::name(o) == k.3 && meta::namespace(o) == k.2)
            {
                out.push(Rc::new(n.clone()));
                added = true;
            }
        }
        if added {
            out.sort_by(|a, b| {
                (meta::namespace(a), meta::name(a)).cmp(&(meta::namespace(b), meta::name(b)))
            });
        }
        out
    }

    pub(crate) fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        let k = (
            api_version.to_string(),
            kind.to_string(),
            namespace.to_string(),
            name.to_string(),
        );
        match self.writes.get(&k) {
            Some(Write::Delete) => None,
            Some(Write::Update(n) | Write::Create(n)) => Some(n.clone()),
            None => {
                let ns = (!namespace.is_empty()).then_some(namespace);
                self.view.get(api_version, kind, ns, name)
            }
        }
    }

    fn remember(&mut self, k: &Key) {
        if !self.writes.contains_key(k) {
            self.order.push(k.clone());
        }
    }

    pub(crate) fn create(&mut self, obj: Value) {
        let k = key_of(&obj);
        self.remember(&k);
        let w = match self.writes.remove(&k) {
            // Deleted and recreated in one step: the core sees an update of the old object.
            Some(Write::Delete | Write::Update(_)) => Write::Update(obj),
            _ => Write::Create(obj),
        };
        self.writes.insert(k, w);
    }

    pub(crate) fn update(&mut self, obj: Value) {
        let k = key_of(&obj);
        self.remember(&k);
        let w = match self.writes.remove(&k) {
            Some(Write::Create(_)) => Write::Create(obj),
            Some(Write::Delete) => Write::Delete,
            _ => Write::Update(obj),
        };
        self.writes.insert(k, w);
    }

    pub(crate) fn delete(&mut self, obj: &Value) {
        let k = key_of(obj);
        self.remember(&k);
        match self.writes.remove(&k) {
            // Never reached the store: nothing to delete.
            Some(Write::Create(_)) => {}
            _ => {
                self.writes.insert(k, Write::Delete);
            }
        }
    }

    /// `(namespace, name)` of the objects of a kind created this step, in order.
    pub(crate) fn created(&self, api_version: &str, kind: &str) -> Vec<(String, String)> {
        self.order
            .iter()
            .filter(|k| k.0 == api_version && k.1 == kind)
            .filter(|k| matches!(self.writes.get(*k), Some(Write::Create(_))))
            .map(|k| (k.2.clone(), k.3.clone()))
            .collect()
    }

    pub(crate) fn into_actions(mut self) -> Vec<Action> {
        let mut out = Vec::with_capacity(self.order.len());
        for k in self.order {
            match self.writes.remove(&k) {
                Some(Write::Create(o)) => out.push(Action::Create(o)),
                Some(Write::Update(o)) => out.push(Action::Update(o)),
                Some(Write::Delete) => out.push(Action::Delete {
                    api_version: k.0,
                    kind: k.1,
                    namespace: (!k.2.is_empty()).then_some(k.2),
                    name: k.3,
                }),
                None => {}
            }
        }
        out
    }
}
