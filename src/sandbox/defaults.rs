//! Placeholder until the sim helper's `defaults.rs` is merged (that file replaces this one).

use serde_json::Value;

pub fn apply_defaults(_obj: &mut Value) {}
