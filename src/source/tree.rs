//! [`Tree`]: the files of one commit, read straight from the object database. No checkout, no
//! working tree: what a revision says is exactly what the renderer sees.
//!
//! Imports nothing from the crate. Paths are `/`-separated and repo-relative; `""` and `"."` are
//! the root; `..` is resolved lexically and may never climb above the root (that is an error, not
//! a silent clamp, so a kustomization pointing outside the repo fails loudly). Symbolic links
//! inside the tree are followed (relative targets only, 40 hops at most), as a checkout would.

use git2::{ObjectType, Oid, Repository};

use super::Error;

/// What a path names in a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

const MODE_TREE: i32 = 0o040000;
const MODE_LINK: i32 = 0o120000;
const MODE_COMMIT: i32 = 0o160000;
const MAX_LINK_HOPS: usize = 40;

/// A commit's tree, borrowed from its [`super::Source`].
pub struct Tree<'r> {
    repo: &'r Repository,
    root: git2::Tree<'r>,
    /// Short sha, for messages.
    rev: String,
}

/// A path resolved to an object.
enum Found {
    File(Oid),
    Dir(Oid),
}

impl<'r> Tree<'r> {
    pub(crate) fn new(repo: &'r Repository, root: git2::Tree<'r>, sha: &str) -> Self {
        Self {
            repo,
            root,
            rev: model_short(sha).to_owned(),
        }
    }

    /// The bytes of the file at `path`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, Error> {
        match self.lookup(path)? {
            Some(Found::File(oid)) => {
                let blob = self.repo.find_blob(oid).map_err(|source| Error::Git {
                    what: format!("read {path} at {}", self.rev),
                    source,
                })?;
                Ok(blob.content().to_vec())
            }
            Some(Found::Dir(_)) => Err(Error::IsADirectory {
                path: path.to_owned(),
                rev: self.rev.clone(),
            }),
            None => Err(self.not_found(path)),
        }
    }

    /// Whether `path` is a file, a directory, or nothing (also nothing when the path is invalid).
    pub fn kind(&self, path: &str) -> Option<EntryKind> {
        match self.lookup(path) {
            Ok(Some(Found::File(_))) => Some(EntryKind::File),
            Ok(Some(Found::Dir(_))) => Some(EntryKind::Dir),
            Ok(None) | Err(_) => None,
        }
    }

    /// Entry names of the directory at `path`, sorted bytewise.
    pub fn list(&self, dir: &str) -> Result<Vec<String>, Error> {
        match self.lookup(dir)? {
            Some(Found::Dir(oid)) => {
                let tree = self.find_tree(oid, dir)?;
                let mut names: Vec<String> = tree
                    .iter()
                    .map(|e| String::from_utf8_lossy(e.name_bytes()).into_owned())
                    .collect();
                names.sort();
                Ok(names)
            }
            Some(Found::File(_)) => Err(Error::NotADirectory {
                path: dir.to_owned(),
                rev: self.rev.clone(),
            }),
            None => Err(self.not_found(dir)),
        }
    }

    /// The object id of the file or directory at `path`, `None` when absent.
    pub fn entry_id(&self, path: &str) -> Result<Option<String>, Error> {
        Ok(self.lookup(path)?.map(|found| match found {
            Found::File(oid) | Found::Dir(oid) => oid.to_string(),
        }))
    }

    fn not_found(&self, path: &str) -> Error {
        Error::NotFound {
            path: path.to_owned(),
            rev: self.rev.clone(),
        }
    }

    fn find_tree(&self, oid: Oid, path: &str) -> Result<git2::Tree<'r>, Error> {
        self.repo.find_tree(oid).map_err(|source| Error::Git {
            what: format!("read directory {path} at {}", self.rev),
            source,
        })
    }

    /// Walks `path` one component at a time so that links in the middle of a path resolve too.
    /// After a link the walk restarts from the root with the link's target spliced in.
    fn lookup(&self, path: &str) -> Result<Option<Found>, Error> {
        let mut parts = normalize(path)?;
        let mut hops = 0;
        'restart: loop {
            let mut dir = self.root.clone();
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                let (oid, mode) = match dir.get_name(part) {
                    Some(entry) => (entry.id(), entry.filemode()),
                    None => return Ok(None),
                };
                match mode {
                    MODE_TREE => {
                        let sub = self.find_tree(oid, path)?;
                        if last {
                            return Ok(Some(Found::Dir(sub.id())));
                        }
                        dir = sub;
                    }
                    MODE_LINK => {
                        hops += 1;
                        if hops > MAX_LINK_HOPS {
                            return Err(Error::SymlinkLoop {
                                path: path.to_owned(),
                                rev: self.rev.clone(),
                            });
                        }
                        let Some(target) = self.link_target(oid)? else {
                            return Ok(None);
                        };
                        let mut spliced = parts[..i].join("/");
                        spliced.push('/');
                        spliced.push_str(&target);
                        for rest in &parts[i + 1..] {
                            spliced.push('/');
                            spliced.push_str(rest);
                        }
                        parts = match normalize(&spliced) {
                            Ok(p) => p,
                            // A link pointing outside the repository names nothing we can read.
                            Err(_) => return Ok(None),
                        };
                        continue 'restart;
                    }
                    MODE_COMMIT => return Ok(None),
                    _ if last => return Ok(Some(Found::File(oid))),
                    _ => return Ok(None),
                }
            }
            return Ok(Some(Found::Dir(dir.id())));
        }
    }

    /// A link's target, `None` when absolute (it points outside the repository).
    fn link_target(&self, oid: Oid) -> Result<Option<String>, Error> {
        let object = self
            .repo
            .find_object(oid, Some(ObjectType::Blob))
            .map_err(Error::git(format!("read symbolic link at {}", self.rev)))?;
        let Some(blob) = object.as_blob() else {
            return Ok(None);
        };
        let target = String::from_utf8_lossy(blob.content()).into_owned();
        Ok((!target.starts_with('/')).then_some(target))
    }
}

fn model_short(sha: &str) -> &str {
    crate::model::short_sha(sha)
}

/// Splits a repo-relative path into components, resolving `.` and `..` lexically.
pub(crate) fn normalize(path: &str) -> Result<Vec<String>, Error> {
    let mut parts: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Error::OutsideRoot {
                        path: path.to_owned(),
                    });
                }
            }
            _ => parts.push(part.to_owned()),
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots_lexically() {
        assert_eq!(normalize("").unwrap(), Vec::<String>::new());
        assert_eq!(normalize(".").unwrap(), Vec::<String>::new());
        assert_eq!(
            normalize("overlays/dev/../../base/./x.yaml").unwrap(),
            vec!["base", "x.yaml"]
        );
        assert_eq!(normalize("a//b/").unwrap(), vec!["a", "b"]);
        assert!(matches!(
            normalize("a/../.."),
            Err(Error::OutsideRoot { .. })
        ));
    }
}
