//! The Kubernetes API calls of the Argo CD engine: the `Application` resource, GET, UPDATE
//! with the read resourceVersion (409 told apart), merge patch with driftdeck's field manager,
//! and the rollback's Event. Errors are one line naming the context and the Application.

use jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::config::{EngineSpec, EnvConfig};

/// The field manager of driftdeck's writes.
const MANAGER: &str = "driftdeck";

/// The Application this env drives.
#[derive(Debug, Clone)]
pub(super) struct AppRef {
    pub name: String,
    pub namespace: String,
}

impl AppRef {
    pub fn of(env: &EnvConfig) -> Option<Self> {
        match &env.engine {
            EngineSpec::ArgoCd {
                application,
                namespace,
            } => Some(Self {
                name: application.clone(),
                namespace: namespace.clone(),
            }),
            _ => None,
        }
    }

    pub fn text(&self) -> String {
        format!("Application {}/{}", self.namespace, self.name)
    }
}

/// Argo CD's `Application` resource (`argoproj.io/v1alpha1`).
pub(crate) fn resource() -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        plural: "applications".into(),
    }
}

fn api(cluster: &Cluster, app: &AppRef) -> Api<DynamicObject> {
    Api::namespaced_with(cluster.client().clone(), &app.namespace, &resource())
}

/// A failed write: a 409 (re-read and retry) or anything else.
pub(super) enum WriteError {
    Conflict,
    Other(String),
}

pub(super) async fn get(cluster: &Cluster, app: &AppRef) -> Result<Value, String> {
    match api(cluster, app).get(&app.name).await {
        Ok(obj) => serde_json::to_value(obj).map_err(|e| format!("{}: {e}", app.text())),
        Err(e) => {
            let e = cluster.api_error(format!("read {}", app.text()), e);
            Err(match e.status_code() {
                Some(404) => format!(
                    "{e} (is the Application created, and Argo CD's Application CRD installed \
                     in context {}?)",
                    cluster.context()
                ),
                _ => e.to_string(),
            })
        }
    }
}

pub(super) async fn replace(
    cluster: &Cluster,
    app: &AppRef,
    obj: &Value,
) -> Result<Value, WriteError> {
    let obj: DynamicObject = serde_json::from_value(obj.clone())
        .map_err(|e| WriteError::Other(format!("{}: {e}", app.text())))?;
    let params = PostParams {
        field_manager: Some(MANAGER.into()),
        ..PostParams::default()
    };
    match api(cluster, app).replace(&app.name, &params, &obj).await {
        Ok(obj) => serde_json::to_value(obj).map_err(|e| WriteError::Other(e.to_string())),
        Err(e) => {
            let e = cluster.api_error(format!("update {}", app.text()), e);
            Err(match e.status_code() {
                Some(409) => WriteError::Conflict,
                _ => WriteError::Other(e.to_string()),
            })
        }
    }
}

pub(super) async fn merge_patch(
    cluster: &Cluster,
    app: &AppRef,
    patch: &Value,
) -> Result<Value, String> {
    let params = PatchParams {
        field_manager: Some(MANAGER.into()),
        ..PatchParams::default()
    };
    match api(cluster, app)
        .patch(&app.name, &params, &Patch::Merge(patch))
        .await
    {
        Ok(obj) => serde_json::to_value(obj).map_err(|e| e.to_string()),
        Err(e) => Err(cluster
            .api_error(format!("patch {}", app.text()), e)
            .to_string()),
    }
}

/// Records the Event Argo CD's server records for a rollback (`OperationStarted`,
/// "initiated rollback to ID") on the Application `app` as read.
pub(super) async fn rollback_event(
    cluster: &Cluster,
    app_ref: &AppRef,
    app: &Value,
    id: &str,
) -> Result<(), String> {
    let now = Timestamp::now().to_string();
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": format!("{}.", app_ref.name), "namespace": app_ref.namespace},
        "involvedObject": {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "name": app_ref.name,
            "namespace": app_ref.namespace,
            "uid": app.pointer("/metadata/uid").cloned().unwrap_or(Value::Null),
            "resourceVersion": app.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null),
        },
        "reason": "OperationStarted",
        "message": format!("initiated rollback to {id}"),
        "type": "Normal",
        "source": {"component": "driftdeck"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    });
    let events: Api<DynamicObject> = Api::namespaced_with(
        cluster.client().clone(),
        &app_ref.namespace,
        &ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: "Event".into(),
            plural: "events".into(),
        },
    );
    match serde_json::from_value::<DynamicObject>(event) {
        Ok(obj) => events
            .create(&PostParams::default(), &obj)
            .await
            .map(|_| ())
            .map_err(|e| cluster.api_error("create Event", e).to_string()),
        Err(e) => Err(e.to_string()),
    }
}
