//! The one integration-test binary (ripgrep style). Modules:
//!
//! - `config`: valid and invalid `driftdeck.yaml` fixtures

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod config;
