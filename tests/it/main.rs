//! The one integration-test binary (ripgrep style). Modules:
//!
//! - `sandbox_support`: start a sandbox on 127.0.0.1:0 with a kubeconfig; kube clients
//! - `sandbox_kube`: the sandbox through kube-rs (CRUD, SSA, dry-run, watch, reflector, 410)
//! - `sandbox_cli`: `driftdeck sandbox` as a process (startup line, kubeconfig, SIGTERM)
//! - `sandbox_faults`: each fault mode as a kube client observes it
//! - `sandbox_kubectl`: the real kubectl against the sandbox (fails loudly without kubectl)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sandbox_cli;
mod sandbox_faults;
mod sandbox_kube;
mod sandbox_kubectl;
mod sandbox_support;
