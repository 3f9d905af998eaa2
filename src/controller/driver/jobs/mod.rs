//! The driver's jobs: one function per slow thing an env task starts, each returning plain data
//! or the event the engine expects. Split by concern: [`git`] (the env's repository, polling the
//! head, rendering a revision, the revert commit), [`observe`] (live state against a render, and
//! for self-heal), [`apply`] (apply and prune) and [`lease`] (the Lease round and its release).
//! Connecting to a cluster is here, shared by the env tasks, promote and inspect.
//!
//! Imports the controller's modules, `cluster`, `source`. Blocking git2 work runs through
//! `spawn_blocking`; a job never panics, it reports errors as data. Callers name jobs through
//! this module (`jobs::apply`, `jobs::lease`); the child modules are private.

mod apply;
mod git;
mod lease;
mod observe;

use std::path::PathBuf;
use std::sync::Arc;

use crate::cluster::{self, Cluster};

pub(super) use apply::apply;
pub(super) use git::{GitChange, SourceSlot, author, poll_git, revert, summary};
pub(super) use lease::{lease, release_lease};
pub(super) use observe::{LiveObs, observe_heal, observe_live};

/// A client for `context` of the kubeconfig at `kubeconfig` (the default one when `None`).
pub(crate) async fn connect(
    kubeconfig: Option<PathBuf>,
    context: String,
) -> Result<Arc<Cluster>, String> {
    let kubeconfig = cluster::load_kubeconfig(kubeconfig.as_deref()).map_err(|e| e.to_string())?;
    Cluster::connect(kubeconfig.as_ref(), &context)
        .await
        .map(Arc::new)
        .map_err(|e| e.to_string())
}
