//! `source::Error`: every way reading or writing Git can fail, each message naming the
//! repository, URL, revision or path involved so one line on stderr is enough to act on.
//!
//! Imports nothing from the crate; `git2::Error`s are kept as sources but their message is
//! folded into ours (libgit2's own text is often the most precise part).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("open repository {path}: {source}", path = path.display(), source = source.message())]
    Open {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    /// Cloning, fetching or pushing `url` failed (network, auth, missing repository).
    #[error("{action} {url}: {message}")]
    Remote {
        action: &'static str,
        url: String,
        message: String,
    },
    #[error("{path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("branch \"{branch}\" not found in {repo}")]
    MissingBranch { branch: String, repo: String },
    #[error("unknown revision \"{rev}\" in {repo}")]
    UnknownRevision { rev: String, repo: String },
    #[error("ambiguous revision \"{rev}\" in {repo}: give more characters of the sha")]
    AmbiguousRevision { rev: String, repo: String },
    #[error("revision \"{rev}\" in {repo} is a {kind}, not a commit")]
    NotACommit {
        rev: String,
        repo: String,
        kind: String,
    },
    #[error("{path}: no such file or directory at {rev}")]
    NotFound { path: String, rev: String },
    #[error("{path}: is a directory at {rev}")]
    IsADirectory { path: String, rev: String },
    #[error("{path}: not a directory at {rev}")]
    NotADirectory { path: String, rev: String },
    #[error("{path}: path leaves the repository root")]
    OutsideRoot { path: String },
    #[error("{path}: too many levels of symbolic links at {rev}")]
    SymlinkLoop { path: String, rev: String },
    #[error("invalid path \"{path}\": {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error("nothing to commit on {branch}: the edits leave the tree unchanged")]
    NothingToCommit { branch: String },
    #[error("branch \"{branch}\" moved while committing (now {now}); retry")]
    BranchMoved { branch: String, now: String },
    /// `rollback --revert` would clobber a later change: `path` was changed again after the
    /// reverted range.
    #[error("cannot revert {path}: it changed again after {bad} (in {by}); revert it by hand")]
    RevertConflict {
        path: String,
        bad: String,
        by: String,
    },
    /// The checked-out worktree of a local repository has uncommitted changes in paths a
    /// commit would touch; nothing was committed.
    #[error(
        "{repo}: uncommitted changes in {paths} (the paths this commit changes); commit or \
         stash them first — nothing was committed"
    )]
    DirtyWorktree { repo: String, paths: String },
    #[error(
        "{good} is not a first-parent ancestor of {bad} on {branch}: nothing to revert between them"
    )]
    NotAncestor {
        good: String,
        bad: String,
        branch: String,
    },
    /// Any other libgit2 failure, with what we were doing.
    #[error("{what}: {source}", source = source.message())]
    Git {
        what: String,
        #[source]
        source: git2::Error,
    },
}

impl Error {
    /// Wraps a libgit2 error with what was being attempted ("read commit 1a2b3c4 in ./repo").
    pub(crate) fn git(what: impl Into<String>) -> impl FnOnce(git2::Error) -> Error {
        let what = what.into();
        move |source| Error::Git { what, source }
    }
}
