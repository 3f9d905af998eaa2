//! The external renderer: copy the whole tree into a temporary folder, run the configured
//! command (no shell) in the rendered folder, read its stdout as multi-document YAML. For
//! what the native renderer does not cover (helm charts, remote bases, plugins).
//!
//! Imports nothing from the crate outside `render`.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::Error;
use super::fs::{EntryKind, FileSystem, join};
use super::yaml;

/// Writes every file of `fs` below `dest`; returns the files copied, root-relative.
pub fn materialize(
    fs: &dyn FileSystem,
    dir: &str,
    dest: &Path,
    copied: &mut Vec<String>,
) -> Result<(), Error> {
    let io = |path: &str, e: std::io::Error| Error::External {
        command: String::new(),
        message: format!("cannot write {path} into the temporary tree: {e}"),
    };
    for name in fs.list(dir)? {
        let path = join(dir, &name)?;
        let target = dest.join(&name);
        match fs.kind(&path) {
            Some(EntryKind::Dir) => {
                std::fs::create_dir_all(&target).map_err(|e| io(&path, e))?;
                materialize(fs, &path, &target, copied)?;
            }
            Some(EntryKind::File) => {
                std::fs::write(&target, fs.read(&path)?).map_err(|e| io(&path, e))?;
                copied.push(path);
            }
            None => {}
        }
    }
    Ok(())
}

/// Runs `command` in `path` of a copy of the tree; the objects it printed.
pub fn run(
    fs: &dyn FileSystem,
    path: &str,
    command: &[String],
) -> Result<(Vec<Value>, Vec<String>), Error> {
    let shown = command.join(" ");
    let fail = |message: String| Error::External {
        command: shown.clone(),
        message,
    };
    let Some((program, args)) = command.split_first() else {
        return Err(fail("the command is empty".into()));
    };
    let tmp =
        tempfile::tempdir().map_err(|e| fail(format!("cannot create a temporary folder: {e}")))?;
    let mut copied = Vec::new();
    materialize(fs, "", tmp.path(), &mut copied)?;
    let mut cwd = tmp.path().to_path_buf();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        cwd.push(seg);
    }
    if !cwd.is_dir() {
        return Err(fail(format!("{path}: not a folder of the tree")));
    }
    let out = Command::new(program)
        .args(args)
        .current_dir(&cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(format!("cannot start {program:?}: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(3)
            .collect();
        return Err(fail(format!(
            "exited with {}: {}",
            out.status,
            first.join(" | ")
        )));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| fail("stdout is not UTF-8".into()))?;
    let objects = yaml::parse_objects(&text).map_err(|e| fail(e.describe("stdout")))?;
    copied.sort();
    Ok((objects, copied))
}
