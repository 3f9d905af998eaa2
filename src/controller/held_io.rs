//! The engine's [`HeldState`] in ConfigMap `driftdeck-<env>` and the Lease of the same name:
//! where they live, how the state is laid out in the ConfigMap's keys, reading and writing it.
//!
//! INTERFACE STUB: bodies are filled in by the cluster-held-state work; signatures are the
//! contract the driver, `status` and `history` code against.

use crate::cluster::{self, Cluster};
use crate::config::EnvConfig;

use super::engine::HeldState;

/// Name of the env's ConfigMap and Lease.
pub fn state_object_name(env: &str) -> String {
    format!("driftdeck-{env}")
}

/// Namespace holding the env's ConfigMap and Lease (config `state_namespace`, default the env's namespace).
pub fn state_namespace(env: &EnvConfig) -> &str {
    &env.state_namespace
}

/// The state as read, with the resourceVersion a write must match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadedState {
    pub state: HeldState,
    /// `None`: the ConfigMap does not exist yet (the first write creates it).
    pub resource_version: Option<String>,
}

/// Reads the env's cluster-held state; a missing ConfigMap is the empty state.
pub async fn load_held(cluster: &Cluster, env: &EnvConfig) -> Result<LoadedState, cluster::Error> {
    let _ = (cluster, env);
    Err(cluster::Error::BadObject {
        what: "load_held".into(),
        message: "not implemented yet".into(),
    })
}

/// Writes the whole state if the ConfigMap is still at `resource_version` (409 otherwise).
/// Returns the new resourceVersion.
pub async fn store_held(
    cluster: &Cluster,
    env: &EnvConfig,
    state: &HeldState,
    resource_version: Option<&str>,
) -> Result<String, cluster::Error> {
    let _ = (cluster, env, state, resource_version);
    Err(cluster::Error::BadObject {
        what: "store_held".into(),
        message: "not implemented yet".into(),
    })
}
