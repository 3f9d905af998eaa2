//! Writing commits without a checkout: a new tree is built from the branch head's tree plus the
//! edits, committed, and the branch ref is advanced with compare-and-swap.
//!
//! Imports nothing from the crate. The working tree and index of a non-bare repository are left
//! alone (the console never reads them, and an operator's uncommitted work there must survive).
//! Promote and `rollback --revert` build on this through `publish`, which also pushes.

use std::collections::BTreeMap;

use git2::{Oid, Repository, Signature};

use super::Error;
use super::tree::normalize;

const MODE_BLOB: i32 = 0o100644;
const MODE_BLOB_EXEC: i32 = 0o100755;
const MODE_TREE: i32 = 0o040000;

/// Who a commit is by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

/// One file change: `Some(bytes)` writes the file (creating folders), `None` deletes it.
pub type Edit = (String, Option<Vec<u8>>);

/// Commits `edits` on top of `branch` and advances it; returns the new commit's sha. A branch
/// that does not exist yet is created with a root commit.
pub(crate) fn commit_files(
    repo: &Repository,
    branch: &str,
    edits: &[Edit],
    message: &str,
    author: &Author,
) -> Result<String, Error> {
    let refname = format!("refs/heads/{branch}");
    let head = match repo.find_reference(&refname) {
        Ok(r) => Some(
            r.peel_to_commit()
                .map_err(Error::git(format!("read {refname}")))?,
        ),
        Err(e) if e.code() == git2::ErrorCode::NotFound => None,
        Err(source) => {
            return Err(Error::Git {
                what: format!("read {refname}"),
                source,
            });
        }
    };
    commit_onto(repo, branch, head, edits, message, author)
}

/// Commits `edits` on top of `parent` (which the caller computed the edits from) and advances
/// `branch` only if it still points at `parent` ([`Error::BranchMoved`] otherwise), so edits
/// made from one tree never land on another.
pub(crate) fn commit_on(
    repo: &Repository,
    branch: &str,
    parent: Oid,
    edits: &[Edit],
    message: &str,
    author: &Author,
) -> Result<String, Error> {
    let head = repo
        .find_commit(parent)
        .map_err(Error::git(format!("read commit {parent}")))?;
    commit_onto(repo, branch, Some(head), edits, message, author)
}

fn commit_onto(
    repo: &Repository,
    branch: &str,
    head: Option<git2::Commit<'_>>,
    edits: &[Edit],
    message: &str,
    author: &Author,
) -> Result<String, Error> {
    let refname = format!("refs/heads/{branch}");
    let base = match &head {
        Some(c) => Some(
            c.tree()
                .map_err(Error::git(format!("read tree of {refname}")))?,
        ),
        None => None,
    };

    let mut root = Node::default();
    for (path, content) in edits {
        let parts = normalize(path)?;
        if parts.is_empty() {
            return Err(Error::InvalidPath {
                path: path.clone(),
                reason: "a file path is needed, not the root",
            });
        }
        if parts.iter().any(|p| p == ".git") {
            return Err(Error::InvalidPath {
                path: path.clone(),
                reason: "\".git\" cannot be written",
            });
        }
        let blob = match content {
            Some(bytes) => Some(
                repo.blob(bytes)
                    .map_err(Error::git(format!("write blob for {path}")))?,
            ),
            None => None,
        };
        root.insert(&parts, blob, path)?;
    }

    let tree_id = match build(repo, base.as_ref().map(|t| t.id()), &root)? {
        Some(id) => id,
        None => empty_tree(repo)?,
    };
    if base.as_ref().map(|t| t.id()) == Some(tree_id) {
        return Err(Error::NothingToCommit {
            branch: branch.to_owned(),
        });
    }
    let tree = repo
        .find_tree(tree_id)
        .map_err(Error::git("read the new tree"))?;
    let signature = Signature::now(&author.name, &author.email).map_err(Error::git(format!(
        "author {} <{}>",
        author.name, author.email
    )))?;
    let parents: Vec<&git2::Commit<'_>> = head.iter().collect();
    let oid = repo
        .commit(None, &signature, &signature, message, &tree, &parents)
        .map_err(Error::git(format!("commit on {branch}")))?;
    let log = format!("driftdeck: {}", message.lines().next().unwrap_or_default());
    let updated = match &head {
        Some(old) => repo.reference_matching(&refname, oid, true, old.id(), &log),
        None => repo.reference(&refname, oid, false, &log),
    };
    if let Err(source) = updated {
        let now = repo
            .refname_to_id(&refname)
            .map(|id| id.to_string())
            .unwrap_or_default();
        return Err(
            if now.is_empty() || head.as_ref().map(|h| h.id().to_string()) == Some(now.clone()) {
                Error::Git {
                    what: format!("advance {refname}"),
                    source,
                }
            } else {
                Error::BranchMoved {
                    branch: branch.to_owned(),
                    now,
                }
            },
        );
    }
    Ok(oid.to_string())
}

/// The edits, as a tree of folder names; leaves are blobs (`Some`) or deletions (`None`).
#[derive(Default)]
struct Node {
    files: BTreeMap<String, Option<Oid>>,
    dirs: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, parts: &[String], blob: Option<Oid>, path: &str) -> Result<(), Error> {
        let clash = || Error::InvalidPath {
            path: path.to_owned(),
            reason: "edited both as a file and as a folder",
        };
        match parts {
            [name] => {
                if self.dirs.contains_key(name) {
                    return Err(clash());
                }
                self.files.insert(name.clone(), blob);
            }
            [name, rest @ ..] => {
                if self.files.contains_key(name) {
                    return Err(clash());
                }
                self.dirs
                    .entry(name.clone())
                    .or_default()
                    .insert(rest, blob, path)?;
            }
            [] => {}
        }
        Ok(())
    }
}

/// Writes the tree `base` with `node`'s edits applied; `None` when the result is empty (git has
/// no empty folders, so an emptied folder disappears from its parent).
fn build(repo: &Repository, base: Option<Oid>, node: &Node) -> Result<Option<Oid>, Error> {
    let base_tree = match base {
        Some(id) => Some(
            repo.find_tree(id)
                .map_err(Error::git(format!("read tree {id}")))?,
        ),
        None => None,
    };
    let mut builder = repo
        .treebuilder(base_tree.as_ref())
        .map_err(Error::git("build tree"))?;
    for (name, blob) in &node.files {
        let existing = builder
            .get(name)
            .map_err(Error::git(format!("read entry {name}")))?
            .map(|e| e.filemode());
        match blob {
            Some(oid) => {
                // Keep the executable bit of a file being rewritten; anything else becomes a
                // plain file.
                let mode = if existing == Some(MODE_BLOB_EXEC) {
                    MODE_BLOB_EXEC
                } else {
                    MODE_BLOB
                };
                builder
                    .insert(name, *oid, mode)
                    .map_err(Error::git(format!("write entry {name}")))?;
            }
            None if existing.is_some() => {
                builder
                    .remove(name)
                    .map_err(Error::git(format!("remove entry {name}")))?;
            }
            // Deleting what is not there is already done.
            None => {}
        }
    }
    for (name, child) in &node.dirs {
        let existing = builder
            .get(name)
            .map_err(Error::git(format!("read entry {name}")))?
            .map(|e| (e.id(), e.filemode()));
        let sub_base = match existing {
            Some((id, MODE_TREE)) => Some(id),
            Some(_) => {
                return Err(Error::InvalidPath {
                    path: name.clone(),
                    reason: "a file is in the way of a folder",
                });
            }
            None => None,
        };
        match build(repo, sub_base, child)? {
            Some(id) => {
                builder
                    .insert(name, id, MODE_TREE)
                    .map_err(Error::git(format!("write folder {name}")))?;
            }
            None if existing.is_some() => {
                builder
                    .remove(name)
                    .map_err(Error::git(format!("remove folder {name}")))?;
            }
            None => {}
        }
    }
    if builder.is_empty() {
        return Ok(None);
    }
    builder.write().map(Some).map_err(Error::git("write tree"))
}

fn empty_tree(repo: &Repository) -> Result<Oid, Error> {
    repo.treebuilder(None)
        .and_then(|b| b.write())
        .map_err(Error::git("write the empty tree"))
}
