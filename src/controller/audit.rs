//! This console's local, append-only audit log: one JSON object per line for every action an
//! operator fired (and every refusal), in the `directories` data dir (`audit.jsonl`), or
//! `DRIFTDECK_AUDIT_LOG` when set.
//!
//! May import model only (plus std and serde); it must never read the log back into decisions:
//! it is a record for people, not state.
//!
//! Decisions: each record is serialized first and written with a single `write_all` on a file
//! opened in append mode (`O_APPEND`), so lines from two consoles appending at once never
//! interleave (POSIX makes each such write land atomically at the end for regular files on local
//! disks). The file is opened per append: a log rotated or deleted under a running console is
//! recreated rather than written into a dangling inode. A failed append is returned to the
//! caller, which reports it but does not undo the action.

use std::io::Write;
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
        let with_path = |e: std::io::Error| {
            std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display()))
        };
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(with_path)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(with_path)?;
        file.write_all(&line).map_err(with_path)?;
        file.flush().map_err(with_path)
    }

    /// Every record in the log, oldest first; lines that do not parse are skipped.
    pub fn read_all(&self) -> std::io::Result<Vec<AuditRecord>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize, detail: &str) -> AuditRecord {
        AuditRecord {
            at: Timestamp::from_second(1_700_000_000).unwrap(),
            operator: format!("op{i}@host/1"),
            env: Some("dev".into()),
            action: "sync".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn append_creates_folder_and_file_and_adds_one_line_each() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::at(dir.path().join("a/b/audit.jsonl"));
        log.append(&record(1, "first")).unwrap();
        log.append(&record(2, "second\nwith newline")).unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.ends_with('\n'));
        let back = log.read_all().unwrap();
        assert_eq!(
            back,
            vec![record(1, "first"), record(2, "second\nwith newline")]
        );
    }

    #[test]
    fn concurrent_appends_never_interleave_within_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let big = "x".repeat(3000);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = AuditLog::at(&path);
                let big = big.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        log.append(&record(t, &big)).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 400);
        for line in lines {
            let r: AuditRecord = serde_json::from_str(line).unwrap();
            assert_eq!(r.detail.len(), 3000);
        }
    }

    #[test]
    fn append_to_an_unwritable_place_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let log = AuditLog::at(blocker.join("audit.jsonl"));
        let err = log.append(&record(1, "x")).unwrap_err().to_string();
        assert!(err.contains("audit.jsonl"), "{err}");
    }
}
