//! The one integration-test binary (ripgrep style). Modules:
//!
//! - `config`: valid and invalid `driftdeck.yaml` fixtures
//! - `demo`: `driftdeck demo init` into a temp dir: history, HEAD tree, config, kustomize

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod config;
mod demo;
