//! The one integration-test binary (ripgrep style). Modules:
//!
//! - `config`: valid and invalid `driftdeck.yaml` fixtures
//! - `demo`: `driftdeck demo init` into a temp dir: history, HEAD tree, config, kustomize
//! - `render`: kustomize conformance corpus, external renderer, plain YAML, errors, no-panic property
//! - `source`: git2 against real temporary repositories (local, `file://` remotes, history, commits)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod config;
mod demo;
mod render;
mod source;
