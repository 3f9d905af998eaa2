//! The one integration-test binary (ripgrep style). Modules:
//!
//! - `render`: kustomize conformance corpus, external renderer, plain YAML, errors, no-panic property
//! - `source`: git2 against real temporary repositories (local, `file://` remotes, history, commits)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod render;
mod source;
