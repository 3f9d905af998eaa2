//! The one integration-test binary (ripgrep style). Modules:
//!
//! - `source`: git2 against real temporary repositories (local, `file://` remotes, history, commits)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod source;
