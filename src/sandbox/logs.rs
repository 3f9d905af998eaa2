//! Placeholder until the sim helper's `logs.rs` is merged (that file replaces this one).

use serde_json::Value;

pub fn log_lines(_pod: &Value, _container: Option<&str>, from: usize, count: usize) -> Vec<String> {
    (from..from + count).map(|i| format!("line {i}")).collect()
}

pub fn lines_available_for(_pod: &Value, _container: Option<&str>, now_unix_secs: i64) -> usize {
    usize::try_from(now_unix_secs % 10).unwrap_or(0)
}
