//! The object store of one simulated cluster: objects as compact JSON ([`Stored`]) keyed by
//! (group, plural, namespace, name), one resourceVersion counter, a bounded change log that
//! watches replay from (older versions answer `410 Expired`), and a broadcast channel for live
//! watch events. It enforces the storage semantics of the real API server: uid,
//! creationTimestamp, generation (bumped on spec change), optimistic concurrency, namespaces
//! that must exist, ownerReference cascade on delete, clusterIP allocation. It does no IO and
//! imports nothing of the crate beyond the sandbox's own modules.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::change::random_suffix;
pub use super::change::{Change, ChangeKind, new_uid, now_rfc3339};
use super::defaults::apply_defaults;
use super::error::ApiError;
use super::resources::{self, ResourceType};
pub use super::stored::Stored;

/// (group, plural, namespace or "", name)
pub type ObjKey = (String, String, String, String);

/// How an update treats `status`: the main resource ignores status changes and the status
/// subresource ignores everything else, as the real API server does; the simulator writes both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMode {
    Main,
    Status,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

pub struct Store {
    types: Vec<ResourceType>,
    objects: BTreeMap<ObjKey, Stored>,
    rv: u64,
    log: VecDeque<Arc<Change>>,
    log_capacity: usize,
    tx: broadcast::Sender<Arc<Change>>,
    next_ip: u32,
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or_default()
}

/// Everything but metadata and status: what a generation bump is about.
fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    v
}

impl Store {
    pub fn new(log_capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(4096);
        let mut store = Store {
            types: resources::builtin(),
            objects: BTreeMap::new(),
            rv: 0,
            log: VecDeque::new(),
            log_capacity: log_capacity.max(1),
            tx,
            next_ip: 1,
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            // The namespace type is built in, so this cannot fail; ignoring keeps `new` total.
            if let Some(rt) = store.find_type("", "v1", "namespaces") {
                let _ = store.create(&rt, obj, false);
            }
        }
        store
    }

    pub fn types(&self) -> &[ResourceType] {
        &self.types
    }

    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// The oldest resourceVersion a watch can still start from.
    pub fn oldest_watchable(&self) -> u64 {
        self.log.front().map_or(self.rv, |c| c.rv.saturating_sub(1))
    }

    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    pub fn type_for_kind(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    /// Changes after `rv` still in the log, or `None` when `rv` is too old (410 Gone).
    pub fn changes_since(&self, rv: u64) -> Option<Vec<Arc<Change>>> {
        if rv < self.oldest_watchable() {
            return None;
        }
        Some(self.log.iter().filter(|c| c.rv > rv).cloned().collect())
    }

    /// The stored version of an object.
    pub fn get_stored(&self, rt: &ResourceType, namespace: &str, name: &str) -> Option<&Stored> {
        let ns = if rt.namespaced { namespace } else { "" };
        self.objects.get(&(
            rt.group.clone(),
            rt.plural.clone(),
            ns.to_string(),
            name.to_string(),
        ))
    }

    /// An object, parsed.
    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Option<Value> {
        self.get_stored(rt, namespace, name).map(Stored::value)
    }

    /// Objects of a type, in key order, optionally in one namespace.
    pub fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
    ) -> impl Iterator<Item = &Stored> {
        let g = rt.group.clone();
        let p = rt.plural.clone();
        let start = (
            g.clone(),
            p.clone(),
            namespace.unwrap_or_default().to_string(),
            String::new(),
        );
        let ns = namespace.map(str::to_string);
        self.objects
            .range(start..)
            .take_while(move |(k, _)| k.0 == g && k.1 == p && ns.as_ref().is_none_or(|n| *n == k.2))
            .map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    fn commit(
        &mut self,
        kind: ChangeKind,
        rt: &ResourceType,
        object: Stored,
        previous: Option<Stored>,
    ) {
        let change = Arc::new(Change {
            rv: self.rv,
            kind,
            group: rt.group.clone(),
            plural: rt.plural.clone(),
            namespace: object.index().namespace.to_string(),
            object,
            previous,
        });
        if self.log.len() >= self.log_capacity {
            self.log.pop_front();
        }
        self.log.push_back(change.clone());
        // No receivers is normal (nobody watching).
        let _ = self.tx.send(change);
    }

    fn key_of(rt: &ResourceType, obj: &Value) -> ObjKey {
        let ns = if rt.namespaced {
            meta_str(obj, "namespace")
        } else {
            ""
        };
        (
            rt.group.clone(),
            rt.plural.clone(),
            ns.to_string(),
            meta_str(obj, "name").to_string(),
        )
    }

    fn namespace_exists(&self, ns: &str) -> bool {
        self.objects.contains_key(&(
            String::new(),
            "namespaces".into(),
            String::new(),
            ns.to_string(),
        ))
    }

    fn allocate_cluster_ip(&mut self, obj: &mut Value) {
        let spec = &mut obj["spec"];
        if !spec.is_object() {
            return;
        }
        if spec["clusterIP"].as_str() == Some("None") {
            spec["clusterIPs"] = json!(["None"]);
            return;
        }
        if spec["clusterIP"].as_str().is_none_or(str::is_empty) {
            let n = self.next_ip;
            self.next_ip += 1;
            let ip = format!("10.96.{}.{}", (n / 250) % 256, n % 250 + 1);
            spec["clusterIP"] = json!(ip);
            spec["clusterIPs"] = json!([ip]);
        }
    }

    /// Stores a new object (or, with `dry_run`, only returns what would be stored).
    pub fn create(
        &mut self,
        rt: &ResourceType,
        mut obj: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        super::validate::admit(&mut obj)?;
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        if meta_str(&obj, "name").is_empty() {
            let prefix = meta_str(&obj, "generateName").to_string();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    &rt.kind,
                    "",
                    "metadata.name",
                    "Required value: name or generateName is required",
                ));
            }
            obj["metadata"]["name"] = json!(format!("{prefix}{}", random_suffix(5)));
        }
        let name = meta_str(&obj, "name").to_string();
        if rt.namespaced {
            let ns = meta_str(&obj, "namespace");
            if ns.is_empty() {
                obj["metadata"]["namespace"] = json!("default");
            }
            let ns = meta_str(&obj, "namespace").to_string();
            if !self.namespace_exists(&ns) {
                let mut e =
                    ApiError::new(404, "NotFound", format!("namespaces \"{ns}\" not found"));
                e.details = json!({"name": ns, "kind": "namespaces"});
                return Err(e);
            }
        } else if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        let key = Self::key_of(rt, &obj);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
        }
        apply_defaults(&mut obj);
        if rt.kind == "Service" && rt.group.is_empty() {
            self.allocate_cluster_ip(&mut obj);
        }
        if rt.kind == "Namespace" {
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
        let meta = &mut obj["metadata"];
        meta["uid"] = json!(new_uid());
        meta["creationTimestamp"] = json!(now_rfc3339());
        if let Some(m) = meta.as_object_mut() {
            m.remove("resourceVersion");
            m.remove("deletionTimestamp");
        }
        if obj.get("spec").is_some() {
            obj["metadata"]["generation"] = json!(1);
        }
        if dry_run {
            return Ok(obj);
        }
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        if rt.kind == "CustomResourceDefinition" {
            self.register_crd(&obj);
        }
        let stored = Stored::new(&obj);
        self.objects.insert(key, stored.clone());
        self.commit(ChangeKind::Added, rt, stored, None);
        if rt.kind == "Namespace" && rt.group.is_empty() {
            self.create_default_service_account(&name);
        }
        Ok(obj)
    }

    fn create_default_service_account(&mut self, ns: &str) {
        if let Some(sa) = self.find_type("", "v1", "serviceaccounts") {
            let obj = json!({"metadata": {"name": "default", "namespace": ns}});
            let _ = self.create(&sa, obj, false);
        }
    }

    fn register_crd(&mut self, crd: &Value) {
        for t in resources::from_crd(crd) {
            if !self
                .types
                .iter()
                .any(|x| x.group == t.group && x.version == t.version && x.plural == t.plural)
            {
                self.types.push(t);
            }
        }
    }

    /// Replaces an object. A non-empty `metadata.resourceVersion` must match the stored one.
    pub fn update(
        &mut self,
        rt: &ResourceType,
        mut obj: Value,
        mode: UpdateMode,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        super::validate::admit(&mut obj)?;
        if !obj.is_object() || !obj["metadata"].is_object() {
            return Err(ApiError::bad_request(
                "the request body is not an object with metadata",
            ));
        }
        if rt.namespaced && meta_str(&obj, "namespace").is_empty() {
            return Err(ApiError::bad_request(
                "the object has no metadata.namespace",
            ));
        }
        let key = Self::key_of(rt, &obj);
        let name = key.3.clone();
        let Some(old) = self.objects.get(&key).map(Stored::value) else {
            return Err(ApiError::not_found(&rt.group, &rt.plural, &name));
        };
        let old = &old;
        let given_rv = meta_str(&obj, "resourceVersion");
        let old_rv = meta_str(old, "resourceVersion");
        if !given_rv.is_empty() && given_rv != old_rv {
            return Err(ApiError::conflict(
                &rt.group,
                &rt.plural,
                &name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        match mode {
            UpdateMode::Main => {
                if let Some(status) = old.get("status")
                    && rt.subresources.iter().any(|s| s == "status")
                {
                    obj["status"] = status.clone();
                }
            }
            UpdateMode::Status => {
                let status = obj.get("status").cloned();
                let mut base = old.clone();
                match status {
                    Some(s) => base["status"] = s,
                    None => {
                        if let Some(m) = base.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
                obj = base;
            }
            UpdateMode::Internal => {}
        }
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        apply_defaults(&mut obj);
        if rt.kind == "Service" && rt.group.is_empty() {
            let ip = old["spec"]["clusterIP"].clone();
            if obj["spec"]["clusterIP"].as_str().is_none_or(str::is_empty) && ip.is_string() {
                obj["spec"]["clusterIP"] = ip;
                obj["spec"]["clusterIPs"] = old["spec"]["clusterIPs"].clone();
            }
        }
        for field in ["uid", "creationTimestamp", "deletionTimestamp"] {
            match old["metadata"].get(field) {
                Some(v) => obj["metadata"][field] = v.clone(),
                None => {
                    if let Some(m) = obj["metadata"].as_object_mut() {
                        m.remove(field);
                    }
                }
            }
        }
        let old_gen = old["metadata"]["generation"].as_i64();
        match old_gen {
            Some(g) => {
                let bumped = if spec_part(old) != spec_part(&obj) {
                    g + 1
                } else {
                    g
                };
                obj["metadata"]["generation"] = json!(bumped);
            }
            None => {
                if let Some(m) = obj["metadata"].as_object_mut() {
                    m.remove("generation");
                }
            }
        }
        obj["metadata"]["resourceVersion"] = json!(old_rv);
        if *old == obj {
            // A no-op write does not bump the resourceVersion nor wake watchers (real behaviour).
            return Ok(obj);
        }
        if dry_run {
            return Ok(obj);
        }
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        if rt.kind == "CustomResourceDefinition" {
            self.register_crd(&obj);
        }
        let stored = Stored::new(&obj);
        let previous = self.objects.insert(key, stored.clone());
        self.commit(ChangeKind::Modified, rt, stored, previous);
        Ok(obj)
    }

    /// Deletes an object, then its dependents (ownerReferences), or orphans them.
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        propagation: Propagation,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let ns = if rt.namespaced { namespace } else { "" };
        let key = (
            rt.group.clone(),
            rt.plural.clone(),
            ns.to_string(),
            name.to_string(),
        );
        let Some(old) = self.objects.get(&key).map(Stored::value) else {
            return Err(ApiError::not_found(&rt.group, &rt.plural, name));
        };
        if dry_run {
            return Ok(old);
        }
        self.objects.remove(&key);
        self.rv += 1;
        let mut gone = old.clone();
        gone["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.commit(ChangeKind::Deleted, rt, Stored::new(&gone), None);
        let uid = meta_str(&old, "uid").to_string();
        self.cascade(&uid, propagation);
        if rt.kind == "Namespace" && rt.group.is_empty() {
            let inside: Vec<ObjKey> = self
                .objects
                .keys()
                .filter(|k| k.2 == name)
                .cloned()
                .collect();
            for k in inside {
                if let Some(t) = self
                    .types
                    .iter()
                    .find(|t| t.group == k.0 && t.plural == k.1)
                    .cloned()
                {
                    let _ = self.delete(&t, &k.2, &k.3, Propagation::Background, false);
                }
            }
        }
        if rt.kind == "CustomResourceDefinition" {
            let removed = resources::from_crd(&old);
            self.types.retain(|t| {
                !removed
                    .iter()
                    .any(|r| r.group == t.group && r.plural == t.plural)
            });
        }
        Ok(old)
    }

    fn cascade(&mut self, owner_uid: &str, propagation: Propagation) {
        if owner_uid.is_empty() {
            return;
        }
        let dependents: Vec<ObjKey> = self
            .objects
            .iter()
            .filter(|(_, v)| v.has_owner(owner_uid))
            .map(|(k, _)| k.clone())
            .collect();
        for k in dependents {
            let Some(t) = self
                .types
                .iter()
                .find(|t| t.group == k.0 && t.plural == k.1)
                .cloned()
            else {
                continue;
            };
            match propagation {
                Propagation::Orphan => {
                    if let Some(mut obj) = self.objects.get(&k).map(Stored::value) {
                        if let Some(refs) = obj["metadata"]["ownerReferences"].as_array_mut() {
                            refs.retain(|r| r["uid"].as_str() != Some(owner_uid));
                        }
                        let _ = self.update(&t, obj, UpdateMode::Internal, false);
                    }
                }
                _ => {
                    let _ = self.delete(&t, &k.2, &k.3, propagation, false);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(rt: &str) -> (Store, ResourceType) {
        let s = Store::new(100);
        let t = s.types().iter().find(|t| t.plural == rt).cloned().unwrap();
        (s, t)
    }

    #[test]
    fn create_sets_identity_and_rejects_duplicates() {
        let (mut s, cm) = store_with("configmaps");
        let obj = json!({"metadata": {"name": "a", "namespace": "default"}, "data": {"k": "v"}});
        let created = s.create(&cm, obj.clone(), false).unwrap();
        assert!(created["metadata"]["uid"].is_string());
        assert_eq!(created["kind"], "ConfigMap");
        assert_eq!(
            s.create(&cm, obj, false).unwrap_err().reason,
            "AlreadyExists"
        );
    }

    #[test]
    fn create_requires_the_namespace() {
        let (mut s, cm) = store_with("configmaps");
        let obj = json!({"metadata": {"name": "a", "namespace": "nope"}});
        assert_eq!(s.create(&cm, obj, false).unwrap_err().code, 404);
    }

    #[test]
    fn stale_update_conflicts() {
        let (mut s, cm) = store_with("configmaps");
        let obj = json!({"metadata": {"name": "a", "namespace": "default"}, "data": {"k": "1"}});
        let created = s.create(&cm, obj, false).unwrap();
        let mut next = created.clone();
        next["data"]["k"] = json!("2");
        s.update(&cm, next.clone(), UpdateMode::Main, false)
            .unwrap();
        next["data"]["k"] = json!("3");
        assert_eq!(
            s.update(&cm, next, UpdateMode::Main, false)
                .unwrap_err()
                .code,
            409
        );
    }

    #[test]
    fn delete_cascades_to_dependents() {
        let s0 = Store::new(100);
        let dep = s0
            .types()
            .iter()
            .find(|t| t.plural == "deployments")
            .cloned()
            .unwrap();
        let rs = s0
            .types()
            .iter()
            .find(|t| t.plural == "replicasets")
            .cloned()
            .unwrap();
        let mut s = s0;
        let d = s
            .create(
                &dep,
                json!({"metadata": {"name": "d", "namespace": "default"}, "spec": {}}),
                false,
            )
            .unwrap();
        let uid = d["metadata"]["uid"].clone();
        s.create(
            &rs,
            json!({"metadata": {"name": "d-1", "namespace": "default",
                "ownerReferences": [{"uid": uid, "kind": "Deployment", "name": "d", "apiVersion": "apps/v1"}]}, "spec": {}}),
            false,
        )
        .unwrap();
        s.delete(&dep, "default", "d", Propagation::Background, false)
            .unwrap();
        assert!(s.get(&rs, "default", "d-1").is_none());
    }
}
