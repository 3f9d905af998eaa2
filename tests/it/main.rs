//! The one integration-test binary (ripgrep style). Modules:
//!
//! (none yet)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
