//! The one integration-test binary (ripgrep style). Modules:
//!
//! - `diff`: desired vs live in both strategies, phantom and true drift, Secret masking
//! - `health`: one fixture file per case under `tests/fixtures/health/`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod diff;
mod health;
