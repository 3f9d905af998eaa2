//! The file-system view `render` works over: a trait with three calls (read, kind, list) over
//! '/'-separated, root-relative paths, plus two implementations — [`DiskFs`] (a folder on disk)
//! and [`MemFs`] (an in-memory map, for tests and fuzzing). The git-tree adapter lives with the
//! composition root, not here.
//!
//! May import only std. Paths never escape the root: `..` is resolved lexically and an attempt
//! to climb above the root is an error, so a hostile kustomization cannot read `/etc/passwd`.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    #[error("{0}: no such file or directory")]
    NotFound(String),
    #[error("{0}: path escapes the root of the tree")]
    Escapes(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// Read-only access to a tree of files. Object-safe so a git tree, a disk folder and a map can
/// stand behind one `&dyn FileSystem`.
pub trait FileSystem {
    fn read(&self, path: &str) -> Result<Vec<u8>, FsError>;
    fn kind(&self, path: &str) -> Option<EntryKind>;
    /// Entry names (not paths) of a folder, sorted.
    fn list(&self, dir: &str) -> Result<Vec<String>, FsError>;
}

/// Normalizes a root-relative path: drops `.` and empty segments, resolves `..` lexically.
/// The root itself is the empty string.
pub fn normalize(path: &str) -> Result<String, FsError> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(FsError::Escapes(path.to_owned()));
                }
            }
            s => parts.push(s),
        }
    }
    Ok(parts.join("/"))
}

/// Joins a relative path onto a folder, normalized.
pub fn join(dir: &str, rel: &str) -> Result<String, FsError> {
    if dir.is_empty() {
        normalize(rel)
    } else {
        normalize(&format!("{dir}/{rel}"))
    }
}

/// A folder on disk acting as the root.
#[derive(Debug, Clone)]
pub struct DiskFs {
    root: PathBuf,
}

impl DiskFs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn full(&self, path: &str) -> Result<PathBuf, FsError> {
        let norm = normalize(path)?;
        let mut full = self.root.clone();
        for seg in norm.split('/').filter(|s| !s.is_empty()) {
            full.push(seg);
        }
        Ok(full)
    }
}

impl FileSystem for DiskFs {
    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let full = self.full(path)?;
        std::fs::read(&full).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FsError::NotFound(path.to_owned()),
            _ => FsError::Io {
                path: path.to_owned(),
                message: e.to_string(),
            },
        })
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        let meta = std::fs::metadata(self.full(path).ok()?).ok()?;
        if meta.is_dir() {
            Some(EntryKind::Dir)
        } else if meta.is_file() {
            Some(EntryKind::File)
        } else {
            None
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, FsError> {
        let full = self.full(dir)?;
        let io = |e: std::io::Error| FsError::Io {
            path: dir.to_owned(),
            message: e.to_string(),
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&full).map_err(io)? {
            let entry = entry.map_err(io)?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }
}

/// An in-memory tree: file path → bytes. Folders exist implicitly when a file lies below them.
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemFs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file; the path is normalized, a path escaping the root is ignored.
    pub fn insert(&mut self, path: &str, bytes: impl Into<Vec<u8>>) {
        if let Ok(p) = normalize(path)
            && !p.is_empty()
        {
            self.files.insert(p, bytes.into());
        }
    }

    /// Builder form of [`MemFs::insert`].
    pub fn with(mut self, path: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.insert(path, bytes);
        self
    }

    pub fn files(&self) -> impl Iterator<Item = (&String, &Vec<u8>)> {
        self.files.iter()
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let p = normalize(path)?;
        self.files
            .get(&p)
            .cloned()
            .ok_or_else(|| FsError::NotFound(path.to_owned()))
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        let p = normalize(path).ok()?;
        if p.is_empty() {
            return Some(EntryKind::Dir);
        }
        if self.files.contains_key(&p) {
            return Some(EntryKind::File);
        }
        let prefix = format!("{p}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|_| EntryKind::Dir)
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, FsError> {
        let p = normalize(dir)?;
        if self.kind(&p) != Some(EntryKind::Dir) {
            return Err(FsError::NotFound(dir.to_owned()));
        }
        let prefix = if p.is_empty() {
            String::new()
        } else {
            format!("{p}/")
        };
        let mut names: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, _)| k[prefix.len()..].split('/').next().map(str::to_owned))
            .collect();
        names.dedup();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots_and_refuses_escape() {
        assert_eq!(normalize("a/./b/../c").unwrap(), "c".replace('c', "a/c"));
        assert_eq!(normalize("./").unwrap(), "");
        assert!(matches!(normalize("a/../../x"), Err(FsError::Escapes(_))));
    }

    #[test]
    fn memfs_lists_and_kinds() {
        let fs = MemFs::new()
            .with("base/a.yaml", "x")
            .with("base/sub/b.yaml", "y")
            .with("top.yaml", "z");
        assert_eq!(fs.kind("base"), Some(EntryKind::Dir));
        assert_eq!(fs.kind("base/a.yaml"), Some(EntryKind::File));
        assert_eq!(fs.kind("nope"), None);
        assert_eq!(fs.list("base").unwrap(), vec!["a.yaml", "sub"]);
        assert_eq!(fs.list("").unwrap(), vec!["base", "top.yaml"]);
        assert_eq!(fs.read("base/../top.yaml").unwrap(), b"z");
    }
}
