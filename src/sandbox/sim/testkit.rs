//! A tiny in-memory cluster for the simulator's tests: a `Vec<Value>` store that applies
//! [`Action`]s the way the server core does (uid, creationTimestamp, resourceVersion, generation
//! bumped on spec change, defaults on create) and a fake clock advanced by hand.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Action, ObjectView, SimConfig, Simulator, meta};
use crate::sandbox::defaults::apply_defaults;

/// The objects, apart from the simulator so it can be stepped while they are borrowed.
pub(crate) struct Store {
    pub objects: BTreeMap<Key, Value>,
    /// Bumped on every write, like the core's resourceVersion counter.
    pub rev: u64,
}

/// `(apiVersion, kind, namespace, name)`.
pub(crate) type Key = (String, String, String, String);

fn key(obj: &Value) -> Key {
    (
        meta::str_at(obj, "/apiVersion").to_string(),
        meta::str_at(obj, "/kind").to_string(),
        meta::namespace(obj).to_string(),
        meta::name(obj).to_string(),
    )
}

pub(crate) struct World {
    pub store: Store,
    pub now: Instant,
    pub sim: Simulator,
    next_uid: u64,
}

impl ObjectView for Store {
    fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        self.objects
            .values()
            .filter(|o| {
                meta::str_at(o, "/apiVersion") == api_version
                    && meta::str_at(o, "/kind") == kind
                    && namespace.is_none_or(|ns| meta::namespace(o) == ns)
            })
            .cloned()
            .collect()
    }

    fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let k = (
            api_version.to_string(),
            kind.to_string(),
            namespace.unwrap_or_default().to_string(),
            name.to_string(),
        );
        self.objects.get(&k).cloned()
    }

    fn revision(&self) -> Option<u64> {
        Some(self.rev)
    }
}

impl World {
    pub fn new(cfg: SimConfig) -> Self {
        let now = Instant::now();
        let mut sim = Simulator::new(cfg);
        sim.set_wall_clock(now, super::clock::DEFAULT_EPOCH_MILLIS);
        Self {
            store: Store {
                objects: BTreeMap::new(),
                rev: 0,
            },
            now,
            sim,
            next_uid: 0,
        }
    }

    /// A world at 10× speed with a 2 s (simulated) pod start.
    pub fn fast() -> Self {
        Self::new(SimConfig {
            time_scale: 10.0,
            ..SimConfig::default()
        })
    }

    fn exists(&self, obj: &Value) -> bool {
        self.store.objects.contains_key(&key(obj))
    }

    fn rv(&mut self) -> String {
        self.store.rev += 1;
        self.store.rev.to_string()
    }

    /// Creates or replaces an object as a client would (`kubectl apply`).
    pub fn apply(&mut self, mut obj: Value) {
        apply_defaults(&mut obj);
        if self.exists(&obj) {
            self.update(obj);
        } else {
            self.create(obj);
        }
    }

    fn create(&mut self, mut obj: Value) {
        apply_defaults(&mut obj);
        self.next_uid += 1;
        let uid = format!("00000000-0000-0000-0000-{:012}", self.next_uid);
        let rv = self.rv();
        let md = meta::map_mut(&mut obj, &["metadata"]).unwrap();
        md.insert("uid".into(), json!(uid));
        md.insert("resourceVersion".into(), json!(rv));
        md.insert("generation".into(), json!(1));
        md.insert("creationTimestamp".into(), json!("2026-01-01T00:00:00Z"));
        self.store.objects.insert(key(&obj), obj);
    }

    fn update(&mut self, mut obj: Value) {
        let k = key(&obj);
        let Some(old) = self.store.objects.get(&k) else {
            return;
        };
        let mut generation = meta::int_at(old, "/metadata/generation", 1);
        if old.get("spec") != obj.get("spec") {
            generation += 1;
        }
        let uid = meta::uid(old).to_string();
        let created = meta::str_at(old, "/metadata/creationTimestamp").to_string();
        let rv = self.rv();
        let md = meta::map_mut(&mut obj, &["metadata"]).unwrap();
        md.insert("uid".into(), json!(uid));
        md.insert("resourceVersion".into(), json!(rv));
        md.insert("generation".into(), json!(generation));
        md.insert("creationTimestamp".into(), json!(created));
        self.store.objects.insert(k, obj);
    }

    /// Deletes an object (and, as the core's garbage collector would, what it controls).
    pub fn delete(&mut self, api_version: &str, kind: &str, namespace: &str, name: &str) {
        let k = (
            api_version.to_string(),
            kind.to_string(),
            namespace.to_string(),
            name.to_string(),
        );
        let Some(gone) = self.store.objects.remove(&k) else {
            return;
        };
        self.store.rev += 1;
        let owned: Vec<Value> = self
            .store
            .objects
            .values()
            .filter(|o| meta::controlled_by(o, &gone))
            .cloned()
            .collect();
        for o in owned {
            let (av, k) = (meta::str_at(&o, "/apiVersion"), meta::str_at(&o, "/kind"));
            self.delete(av, k, meta::namespace(&o), meta::name(&o));
        }
    }

    pub fn apply_actions(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Create(o) => {
                    assert!(!self.exists(&o), "create of an existing object: {o}");
                    self.create(o);
                }
                Action::Update(o) => {
                    assert!(self.exists(&o), "update of a missing object: {o}");
                    self.update(o);
                }
                Action::Delete {
                    api_version,
                    kind,
                    namespace,
                    name,
                } => self.delete(
                    &api_version,
                    &kind,
                    namespace.as_deref().unwrap_or(""),
                    &name,
                ),
            }
        }
    }

    /// One simulator step at the current time.
    pub fn step(&mut self) -> Vec<Action> {
        self.sim.step(self.now, &self.store)
    }

    /// Steps at the current time until the simulator has nothing more to do; returns how many
    /// steps that took. Fails the test if it does not settle.
    pub fn settle(&mut self) -> usize {
        for i in 0..50 {
            let actions = self.step();
            if actions.is_empty() {
                return i;
            }
            self.apply_actions(actions);
        }
        panic!("the simulator did not converge in 50 steps without time passing");
    }

    /// Advances real time by `total` in `tick` increments, settling after each, and calls
    /// `check` on the world after every tick.
    pub fn run_for(&mut self, total: Duration, tick: Duration, mut check: impl FnMut(&World)) {
        let end = self.now + total;
        while self.now < end {
            self.now += tick;
            self.settle();
            check(self);
        }
    }

    /// Advances until `cond` holds, failing after `limit` of real (fake) time.
    pub fn run_until(
        &mut self,
        limit: Duration,
        tick: Duration,
        cond: impl Fn(&World) -> bool,
    ) -> Duration {
        let start = self.now;
        self.settle();
        while !cond(self) {
            assert!(
                self.now - start < limit,
                "condition not reached within {limit:?}"
            );
            self.now += tick;
            self.settle();
        }
        self.now - start
    }

    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Value {
        ObjectView::get(&self.store, api_version, kind, Some(namespace), name)
            .unwrap_or_else(|| panic!("{kind} {namespace}/{name} not found"))
    }

    pub fn all(&self, api_version: &str, kind: &str) -> Vec<Value> {
        ObjectView::list(&self.store, api_version, kind, None)
    }

    pub fn pods_of(&self, label: &str, value: &str) -> Vec<Value> {
        self.all("v1", "Pod")
            .into_iter()
            .filter(|p| meta::str_at(p, &format!("/metadata/labels/{label}")) == value)
            .collect()
    }
}

/// A Deployment of `replicas` pods running `image`, labelled `app: name`.
pub(crate) fn deployment(name: &str, replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "log-platform"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image,
                                         "ports": [{"containerPort": 8080, "name": "http"}]}]}
            }
        }
    })
}

pub(crate) fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                meta::str_at(c, "/type") == "Ready" && meta::str_at(c, "/status") == "True"
            })
        })
}

pub(crate) fn condition<'a>(obj: &'a Value, ty: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| meta::str_at(c, "/type") == ty))
}
