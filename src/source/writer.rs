//! Writing commits without a checkout: a new tree is built from the branch head's tree plus the
//! edits, committed, and the branch ref is advanced with compare-and-swap.
//!
//! Imports nothing from the crate. Promote and `rollback --revert` build on this through
//! `publish`, which also pushes, names the committer ([`identity`]) and keeps a checked-out
//! worktree in step ([`dirty_paths`], [`check_out`]):
//! - Who: the repository's git config (`user.name`, `user.email`, which includes the global
//!   config), overridden by `DRIFTDECK_AUTHOR="Name <email>"`; the operator who pressed the key
//!   (`user@host`) goes into a `Driftdeck-Operator:` trailer, so a shared service account
//!   still says which human acted.
//! - A local non-bare repository whose checked-out branch is the one committed to: moving only
//!   the ref would leave the index and worktree behind (`git status` then shows the commit
//!   reversed, and a later `git commit -a` undoes it). So the touched paths must be clean
//!   before the commit (else [`Error::DirtyWorktree`], nothing committed), and after it their
//!   new content is written to the worktree and the index. Other dirty paths are left alone:
//!   an operator's unrelated work survives. Any other branch or a bare repository: only the
//!   ref moves, as before.

use std::collections::BTreeMap;

use std::path::Path;

use git2::{Oid, Repository, Signature, Status, StatusOptions};

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

/// Environment variable overriding the commit identity: `Name <email>`.
pub const AUTHOR_ENV: &str = "DRIFTDECK_AUTHOR";

/// Who commits on behalf of `operator` (whose `email` is `user@host`): `DRIFTDECK_AUTHOR`, else
/// the repository's configured `user.name`/`user.email`, else `operator` itself.
pub(crate) fn identity(repo: &Repository, operator: &Author) -> Author {
    if let Ok(text) = std::env::var(AUTHOR_ENV)
        && let Some(author) = parse_identity(&text)
    {
        return author;
    }
    let config = repo.config().ok();
    let read = |key: &str| {
        config
            .as_ref()
            .and_then(|c| c.get_string(key).ok())
            .filter(|v| !v.trim().is_empty())
    };
    match (read("user.name"), read("user.email")) {
        (Some(name), Some(email)) => Author { name, email },
        _ => operator.clone(),
    }
}

/// `Name <email>` → an author; `None` when either part is missing.
fn parse_identity(text: &str) -> Option<Author> {
    let (name, rest) = text.split_once('<')?;
    let email = rest.strip_suffix('>').unwrap_or(rest).trim();
    let name = name.trim();
    (!name.is_empty() && !email.is_empty()).then(|| Author {
        name: name.to_owned(),
        email: email.to_owned(),
    })
}

/// `message` with the `Driftdeck-Operator: user@host` trailer (kept once).
pub(crate) fn with_operator(message: &str, operator: &Author) -> String {
    let trailer = format!("Driftdeck-Operator: {}", operator.email);
    if message.lines().any(|l| l == trailer) {
        return message.to_owned();
    }
    let body = message.trim_end();
    // Trailers form one paragraph: join an existing one (`Driftdeck-Forced:`), else open it.
    let last = body.rsplit("\n\n").next().unwrap_or_default();
    let in_trailers = body.contains("\n\n") && last.lines().all(|l| l.contains(": "));
    if in_trailers {
        format!("{body}\n{trailer}\n")
    } else {
        format!("{body}\n\n{trailer}\n")
    }
}

/// Whether `branch` is the checked-out branch of a non-bare repository.
pub(crate) fn checked_out(repo: &Repository, branch: &str) -> bool {
    if repo.is_bare() {
        return false;
    }
    let wanted = format!("refs/heads/{branch}");
    match repo.find_reference("HEAD") {
        Ok(head) => head.symbolic_target().ok().flatten() == Some(wanted.as_str()),
        Err(_) => false,
    }
}

/// The paths among `edits` that differ in the index or worktree from the checked-out commit
/// (modified, staged, deleted or untracked).
pub(crate) fn dirty_paths(repo: &Repository, edits: &[Edit]) -> Result<Vec<String>, Error> {
    if edits.is_empty() {
        return Ok(Vec::new());
    }
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .disable_pathspec_match(true);
    for (path, _) in edits {
        options.pathspec(path);
    }
    let statuses = repo
        .statuses(Some(&mut options))
        .map_err(Error::git("read the worktree status"))?;
    let mut dirty: Vec<String> = statuses
        .iter()
        .filter(|e| !e.status().is_empty() && !e.status().contains(Status::IGNORED))
        .filter_map(|e| e.path().ok().map(str::to_owned))
        .collect();
    dirty.sort();
    dirty.dedup();
    Ok(dirty)
}

/// Writes the committed content of every edited path into the worktree and the index, so the
/// checkout shows the new commit with nothing to commit.
pub(crate) fn check_out(repo: &Repository, edits: &[Edit]) -> Result<(), Error> {
    let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
        return Ok(());
    };
    let mut index = repo.index().map_err(Error::git("open the index"))?;
    for (path, content) in edits {
        let parts = normalize(path)?;
        let relative: std::path::PathBuf = parts.iter().collect();
        let file = workdir.join(&relative);
        let io = |source| Error::Io {
            path: file.clone(),
            source,
        };
        match content {
            Some(bytes) => {
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                std::fs::write(&file, bytes).map_err(io)?;
                index
                    .add_path(&relative)
                    .map_err(Error::git(format!("stage {path}")))?;
            }
            None => {
                match std::fs::remove_file(&file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(e)),
                }
                index
                    .remove_path(&relative)
                    .map_err(Error::git(format!("unstage {path}")))?;
            }
        }
    }
    index.write().map_err(Error::git("write the index"))
}

/// One file change: `Some(bytes)` writes the file (creating folders), `None` deletes it.
pub type Edit = (String, Option<Vec<u8>>);

/// Commits `edits` on top of `branch` and advances it; returns the new commit's sha. A branch
/// that does not exist yet is created with a root commit. The author is taken as given (no
/// trailer): this is the plumbing under the demo's effects, not an operator's action.
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
    // Plumbing for the demo's effects and tests: keep a checked-out branch in step when the
    // touched paths are clean, else (someone's work there) only the ref moves, as it always did.
    let follow = checked_out(repo, branch) && dirty_paths(repo, edits)?.is_empty();
    let sha = commit_onto(repo, branch, head, edits, message, author)?;
    if follow {
        check_out(repo, edits)?;
    }
    Ok(sha)
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

/// Writes the commit of `edits` on top of `parent` into the object database and moves no ref:
/// a remote's publish pushes exactly this commit and advances the mirror's branch only once the
/// remote confirmed it. `branch` names the branch in errors.
pub(crate) fn commit_object(
    repo: &Repository,
    branch: &str,
    parent: Oid,
    edits: &[Edit],
    message: &str,
    author: &Author,
) -> Result<Oid, Error> {
    let head = repo
        .find_commit(parent)
        .map_err(Error::git(format!("read commit {parent}")))?;
    write_commit(repo, branch, Some(&head), edits, message, author)
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
    let oid = write_commit(repo, branch, head.as_ref(), edits, message, author)?;
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

/// The commit object of `edits` on `head` (a root commit without one); no ref moves.
fn write_commit(
    repo: &Repository,
    branch: &str,
    head: Option<&git2::Commit<'_>>,
    edits: &[Edit],
    message: &str,
    author: &Author,
) -> Result<Oid, Error> {
    let refname = format!("refs/heads/{branch}");
    let base = match head {
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
    let parents: Vec<&git2::Commit<'_>> = head.into_iter().collect();
    repo.commit(None, &signature, &signature, message, &tree, &parents)
        .map_err(Error::git(format!("commit on {branch}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn operator() -> Author {
        Author {
            name: "driftdeck (ops)".into(),
            email: "ops@host".into(),
        }
    }

    #[test]
    fn identity_override_needs_a_name_and_an_email() {
        assert_eq!(
            parse_identity("Release Manager <rm@example.com>"),
            Some(Author {
                name: "Release Manager".into(),
                email: "rm@example.com".into()
            })
        );
        assert_eq!(parse_identity("rm@example.com"), None);
        assert_eq!(parse_identity(" <rm@example.com>"), None);
    }

    #[test]
    fn operator_trailer_joins_existing_trailers_once() {
        let plain = with_operator("promote(dev→staging): api 1 → 2", &operator());
        assert_eq!(
            plain,
            "promote(dev→staging): api 1 → 2\n\nDriftdeck-Operator: ops@host\n"
        );
        assert_eq!(with_operator(&plain, &operator()), plain);
        let forced = with_operator("promote(a→b): x\n\nDriftdeck-Forced: skipped", &operator());
        assert_eq!(
            forced,
            "promote(a→b): x\n\nDriftdeck-Forced: skipped\nDriftdeck-Operator: ops@host\n"
        );
    }
}
