//! This console's local, append-only audit log: one JSON object per line for every action an
//! operator fired (and every refusal), in the `directories` data dir (`audit.jsonl`), or
//! `DRIFTDECK_AUDIT_LOG` when set.
//!
//! INTERFACE STUB: bodies are filled in by the cluster-held-state work.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: Timestamp,
    /// `user@host/pid`.
    pub operator: String,
    pub env: Option<String>,
    /// `sync`, `promote`, `rollback`, `pause`, `resume`, `refused`, …
    pub action: String,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// `DRIFTDECK_AUDIT_LOG`, else `<data dir>/audit.jsonl`.
    pub fn default_path() -> PathBuf {
        std::env::var_os("DRIFTDECK_AUDIT_LOG")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                directories::ProjectDirs::from("io", "driftdeck", "driftdeck")
                    .map(|d| d.data_dir().join("audit.jsonl"))
                    .unwrap_or_else(|| std::env::temp_dir().join("driftdeck-audit.jsonl"))
            })
    }

    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (creating the file and its folder), flushed before returning.
    pub fn append(&self, record: &AuditRecord) -> std::io::Result<()> {
        let _ = record;
        Err(std::io::Error::other("audit log not implemented yet"))
    }
}
