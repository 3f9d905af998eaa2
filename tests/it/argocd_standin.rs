//! A stand-in for Argo CD's application controller, which cannot run here (it needs Argo CD's
//! repo server, Redis and a Git source). It does only what the engine README
//! (`../shared/engines/README.md`, "Argo CD") documents the controller doing to an
//! `Application`, through the same Kubernetes API driftdeck uses:
//!
//! - [`ArgoController::seed`] writes a `status` as the controller reports a reconciled app:
//!   `sync` (status, revision, comparedTo), `health`, `resources[]`, `history[]` (ids 1, 2, …,
//!   oldest first, `initiatedBy`), `summary.images`, `reconciledAt`;
//! - [`ArgoController::run_operation`] reacts to an `operation` write: it waits for `operation`
//!   to be set, records `status.operationState` (`Running`, `startedAt`, the operation), then
//!   ends it — `Succeeded` (a new `history` entry with the operation's revision and initiator,
//!   `sync` Synced at that revision, `syncResult`) or `Failed` (a `SyncFailed` resource and
//!   Argo's message) — and clears `operation`, as the controller does when an operation ends.
//!
//! It does not render, compare or apply anything, evaluate sync windows, retry, or honour
//! `automated`: tests that need those say so. Every write is an update with the read
//! resourceVersion, re-read on 409, like any client of the API.

use std::time::{Duration, Instant};

use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};

pub const GROUP_VERSION: &str = "argoproj.io/v1alpha1";

pub fn resource() -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: GROUP_VERSION.into(),
        kind: "Application".into(),
        plural: "applications".into(),
    }
}

/// An Application as a platform team writes it: one source, one destination; `automated`
/// sync on or off.
pub fn application(name: &str, namespace: &str, automated: bool) -> Value {
    let mut app = json!({
        "apiVersion": GROUP_VERSION,
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://git.example.com/shop/deploy.git",
                "path": format!("overlays/{name}"),
                "targetRevision": "main"
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
            "syncPolicy": {"syncOptions": ["ServerSideApply=true"]}
        }
    });
    if automated {
        app["spec"]["syncPolicy"]["automated"] = json!({"prune": true, "selfHeal": true});
    }
    app
}

/// How the stand-in ends an operation.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Succeed,
    Fail,
}

pub struct ArgoController {
    api: Api<DynamicObject>,
    pub name: String,
}

/// A 40-hex revision from a short tag, so tests can tell revisions apart.
pub fn rev(tag: &str) -> String {
    format!("{tag:0<40}")
}

impl ArgoController {
    pub fn new(client: kube::Client, namespace: &str, name: &str) -> Self {
        Self {
            api: Api::namespaced_with(client, namespace, &resource()),
            name: name.to_owned(),
        }
    }

    pub async fn create(&self, app: &Value) {
        let obj: DynamicObject = serde_json::from_value(app.clone()).unwrap();
        self.api
            .create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("create Application {}: {e}", self.name));
    }

    pub async fn get(&self) -> Value {
        serde_json::to_value(self.api.get(&self.name).await.unwrap()).unwrap()
    }

    /// Read, change, update with the read resourceVersion; again on 409.
    pub async fn update(&self, mut change: impl FnMut(&mut Value)) -> Value {
        for _ in 0..20 {
            let mut app = self.get().await;
            change(&mut app);
            let obj: DynamicObject = serde_json::from_value(app).unwrap();
            match self
                .api
                .replace(&self.name, &PostParams::default(), &obj)
                .await
            {
                Ok(o) => return serde_json::to_value(o).unwrap(),
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                Err(e) => panic!("update Application {}: {e}", self.name),
            }
        }
        panic!("Application {}: 20 conflicts in a row", self.name)
    }

    /// A reconciled app: deployed `history` (oldest first), Synced and Healthy at the newest.
    pub async fn seed(&self, history: &[&str]) -> Value {
        self.update(|app| {
            let source = app["spec"]["source"].clone();
            let entries: Vec<Value> = history
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "id": i + 1,
                        "revision": r,
                        "deployStartedAt": format!("2026-11-0{}T10:00:00Z", i + 1),
                        "deployedAt": format!("2026-11-0{}T10:00:05Z", i + 1),
                        "source": source,
                        "initiatedBy": {"username": "ana@example.com"}
                    })
                })
                .collect();
            let newest = history.last().copied().unwrap_or_default();
            app["status"] = json!({
                "sync": {"status": "Synced", "revision": newest,
                         "comparedTo": {"source": source, "destination": app["spec"]["destination"]}},
                "health": {"status": "Healthy"},
                "history": entries,
                "resources": [
                    {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop",
                     "name": "api", "status": "Synced", "health": {"status": "Healthy"}},
                    {"version": "v1", "kind": "Service", "namespace": "shop", "name": "api",
                     "status": "Synced", "health": {"status": "Healthy"}}
                ],
                "summary": {"images": ["registry.example.com/shop/api:1.4.2"]},
                "reconciledAt": "2026-11-02T10:00:06Z",
                "sourceType": "Kustomize"
            });
        })
        .await
    }

    /// Waits (bounded) until `operation` is set; returns it.
    pub async fn wait_operation(&self, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let app = self.get().await;
            if let Some(op) = app.get("operation").filter(|o| o.is_object()) {
                return op.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no operation written to Application {} within {limit:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Picks up the next operation, reports it Running, then ends it with `outcome`; returns
    /// the operation as the API server stored it.
    pub async fn run_operation(&self, outcome: Outcome) -> Value {
        let op = self.wait_operation(Duration::from_secs(60)).await;
        self.update(|app| {
            app["status"]["operationState"] = json!({
                "operation": op, "phase": "Running", "message": "syncing",
                "startedAt": "2026-12-03T12:00:00Z"
            });
        })
        .await;
        let revision = op
            .pointer("/sync/revision")
            .and_then(Value::as_str)
            .map(str::to_owned);
        self.update(|app| {
            let revision = revision
                .clone()
                .or_else(|| app.pointer("/status/sync/revision").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            let state = &mut app["status"]["operationState"];
            state["finishedAt"] = json!("2026-12-03T12:00:05Z");
            match outcome {
                Outcome::Succeed => {
                    state["phase"] = json!("Succeeded");
                    state["message"] = json!("successfully synced (all tasks run)");
                    state["syncResult"] = json!({"revision": revision, "resources": [
                        {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop",
                         "name": "api", "status": "Synced", "message": "deployment.apps/api serverside-applied",
                         "syncPhase": "Sync", "hookPhase": "Running"}
                    ]});
                    let history = app["status"]["history"].as_array_mut().unwrap();
                    let id = history.len() + 1;
                    let source = op
                        .pointer("/sync/source")
                        .cloned()
                        .unwrap_or_else(|| app["spec"]["source"].clone());
                    let initiated = op["initiatedBy"].clone();
                    let history = app["status"]["history"].as_array_mut().unwrap();
                    history.push(json!({
                        "id": id, "revision": revision,
                        "deployStartedAt": "2026-12-03T12:00:00Z", "deployedAt": "2026-12-03T12:00:05Z",
                        "source": source, "initiatedBy": initiated
                    }));
                    app["status"]["sync"]["status"] = json!("Synced");
                    app["status"]["sync"]["revision"] = json!(revision);
                }
                Outcome::Fail => {
                    state["phase"] = json!("Failed");
                    state["message"] = json!("one or more objects failed to apply");
                    state["syncResult"] = json!({"revision": revision, "resources": [
                        {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop",
                         "name": "api", "status": "SyncFailed",
                         "message": "admission webhook \"policy\" denied the request",
                         "syncPhase": "Sync", "hookPhase": "Failed"}
                    ]});
                }
            }
            if let Some(obj) = app.as_object_mut() {
                obj.remove("operation");
            }
        })
        .await;
        op
    }
}
