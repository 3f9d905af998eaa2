//! The live side of an Argo CD env: the workloads its `Application` lists in
//! `status.resources` and the pods beside them, read through the env's own context, so the
//! images (`Kind/name` → `container=image`), the pods pane, `l` logs and `e` events line up
//! with driftdeck's and Flux's envs.
//!
//! Decisions where the design is silent:
//! - **The env's kubeconfig context is where the workloads run.** An Application whose
//!   destination is the cluster Argo CD runs in (`https://kubernetes.default.svc`, name
//!   `in-cluster`) or whose `destination.server` is the context's own server is read through
//!   the context. Any other destination is another cluster driftdeck has no client for: nothing
//!   is read there, [`Destination::Elsewhere`] says so in the env's `unreadable` notes, and the
//!   images stay Argo CD's own `status.summary.images` (under `Application/<name>`, see `read`)
//!   rather than showing another cluster's pods as this app's.
//! - Workloads are the Deployments, StatefulSets and DaemonSets the Application lists (a
//!   namespace-less entry is in `destination.namespace`); the images are the live objects'
//!   containers, read with `model::workload_images` as for native envs. Pods are every pod of
//!   those namespaces (as a native env shows every pod of its namespace), mapped by
//!   `health::pod_row`, the native env's row.
//! - Cost per read: one list per (workload kind, namespace) the Application lists, plus one Pod
//!   list per such namespace — for the usual app with Deployments in one namespace, 2 lists.
//!   The task reads no more often than it reads the Application ([`super::POLL`], 2 s), and
//!   only when the app has workloads.
//! - A list this user may not read (403) becomes an `unreadable` note naming the kind and the
//!   namespace; any other failure becomes the env's error, and the last good pods and images
//!   stay.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::cluster::Cluster;
use crate::model::{EnvState, PodRow, WORKLOADS, workload_images};

use super::read::{list, text};

/// Argo CD's name for the cluster it runs in.
const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";
const IN_CLUSTER_NAME: &str = "in-cluster";

/// Where the Application deploys, relative to the env's context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The context's cluster: its workloads are read through the context.
    Here,
    /// Another cluster; the text names it.
    Elsewhere(String),
}

/// Where `app` deploys, given the context's API server URL (`None`: unknown, e.g. in-cluster
/// config, so only Argo CD's in-cluster names count as here).
pub fn destination(app: &Value, context_server: Option<&str>) -> Destination {
    let server = text(app, "/spec/destination/server");
    let name = text(app, "/spec/destination/name");
    let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    match (server, name) {
        (None, None) => Destination::Here,
        (Some(s), _) if same(s, IN_CLUSTER_SERVER) => Destination::Here,
        (Some(s), _) if context_server.is_some_and(|c| same(s, c)) => Destination::Here,
        (None, Some(IN_CLUSTER_NAME)) => Destination::Here,
        (Some(s), _) => Destination::Elsewhere(format!("server {s}")),
        (None, Some(n)) => Destination::Elsewhere(format!("cluster {n:?}")),
    }
}

/// The note shown when the Application deploys to another cluster than the context's.
pub fn elsewhere_note(app_ref: &str, context: &str, where_: &str) -> String {
    format!(
        "{app_ref} deploys to {where_}, not to context {context}'s cluster: its pods and \
         workload images are not read (driftdeck reads them through the env's context)"
    )
}

/// The workloads the Application lists: (kind, namespace) → names.
pub fn workloads(app: &Value) -> BTreeMap<(String, String), BTreeSet<String>> {
    let default_ns = text(app, "/spec/destination/namespace").unwrap_or("default");
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for r in list(app, "/status/resources") {
        let (Some(kind), Some(name)) = (text(r, "/kind"), text(r, "/name")) else {
            continue;
        };
        if text(r, "/group") != Some("apps") || !WORKLOADS.contains(&kind) {
            continue;
        }
        let ns = text(r, "/namespace").unwrap_or(default_ns);
        out.entry((kind.to_owned(), ns.to_owned()))
            .or_default()
            .insert(name.to_owned());
    }
    out
}

/// What one live read found.
#[derive(Debug, Default)]
pub struct Live {
    pub images: BTreeMap<String, Vec<String>>,
    pub pods: Vec<PodRow>,
    pub unreadable: Vec<String>,
}

/// Lists the Application's workloads and their namespaces' pods through `cluster`.
pub async fn read(cluster: &Cluster, app: &Value) -> Result<Live, String> {
    let wanted = workloads(app);
    let mut live = Live::default();
    let mut namespaces = BTreeSet::new();
    for ((kind, ns), names) in &wanted {
        namespaces.insert(ns.clone());
        match cluster.list_lean("apps/v1", kind, ns, "").await {
            Ok(items) => live.images.extend(
                items
                    .iter()
                    .filter(|o| text(o, "/metadata/name").is_some_and(|n| names.contains(n)))
                    .filter_map(workload_images),
            ),
            Err(e) if e.is_forbidden() => live.unreadable.push(format!("{kind} in {ns}: {e}")),
            Err(e) => return Err(format!("reading the app's {kind}s in {ns}: {e}")),
        }
    }
    for ns in &namespaces {
        match cluster.list_lean("v1", "Pod", ns, "").await {
            Ok(pods) => live.pods.extend(pods.iter().map(crate::health::pod_row)),
            Err(e) if e.is_forbidden() => live.unreadable.push(format!("Pod in {ns}: {e}")),
            Err(e) => return Err(format!("reading pods in {ns}: {e}")),
        }
    }
    Ok(live)
}

/// Puts a live read into the row (the summary's images give way to the live ones).
pub fn apply(state: &mut EnvState, live: Live) {
    state.images = live.images;
    state.pods = live.pods;
    state.unreadable.extend(live.unreadable);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(destination: Value) -> Value {
        json!({"spec": {"destination": destination}, "status": {"resources": [
            {"group": "apps", "kind": "Deployment", "namespace": "shop", "name": "api"},
            {"group": "apps", "kind": "StatefulSet", "name": "db"},
            {"kind": "Service", "namespace": "shop", "name": "api"},
            {"group": "argoproj.io", "kind": "Deployment", "namespace": "shop", "name": "odd"}
        ]}})
    }

    #[test]
    fn in_cluster_and_the_contexts_own_server_are_here_other_clusters_are_not() {
        let here = [
            json!({"server": "https://kubernetes.default.svc", "namespace": "shop"}),
            json!({"name": "in-cluster"}),
            json!({"server": "https://10.0.0.1:6443/"}),
            json!({}),
        ];
        for d in here {
            assert_eq!(
                destination(&app(d.clone()), Some("https://10.0.0.1:6443")),
                Destination::Here,
                "{d}"
            );
        }
        assert_eq!(
            destination(&app(json!({"server": "https://eu.example:6443"})), None),
            Destination::Elsewhere("server https://eu.example:6443".into())
        );
        assert_eq!(
            destination(&app(json!({"name": "prod-eu"})), None),
            Destination::Elsewhere("cluster \"prod-eu\"".into())
        );
    }

    #[test]
    fn workloads_are_the_apps_apps_group_workloads_with_the_destination_namespace_by_default() {
        let w = workloads(&app(json!({"namespace": "data"})));
        let keys: Vec<_> = w.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                ("Deployment".to_owned(), "shop".to_owned()),
                ("StatefulSet".to_owned(), "data".to_owned())
            ]
        );
        assert!(w[&("Deployment".to_owned(), "shop".to_owned())].contains("api"));
    }
}
