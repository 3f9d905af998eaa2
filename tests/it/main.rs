//! The one integration-test binary (ripgrep style). Modules:
//!
//! - `tui`: console snapshots (insta, TestBackend at 120×36 and 80×24), colour legibility

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tui;
