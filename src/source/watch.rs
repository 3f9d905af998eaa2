//! Local repositories are watched, not polled: [`RefWatcher`] calls back when the repository's
//! refs may have moved (a commit, a merge, a `git push` into it, `packed-refs` rewritten by
//! `git gc`), through the platform's file notification (inotify, kqueue, FSEvents) via the
//! `notify` crate.
//!
//! Decisions:
//! - Watched: the git dir itself, not recursively (`HEAD`, `packed-refs` and their lock-file
//!   renames), and `refs/` recursively (branch names with slashes). Objects are not watched: a
//!   ref moves after its objects are written, so the ref's event comes last.
//! - The git dir is the repository's common dir ([`refs_dir`]), where branches live: a
//!   linked worktree's own `.git/worktrees/NAME` holds only its `HEAD` and private refs.
//! - The callback only says "look again"; the caller resolves the branch and drops events that
//!   did not move it. Bursts (a commit writes several files) are the caller's to coalesce.
//! - When watching cannot start (no inotify instances left, a file system without
//!   notification), [`RefWatcher::start`] fails and the caller keeps polling: watching is an
//!   optimisation of latency and idle cost, never needed for correctness.
//! - Remote repositories are not watched: their mirror only changes when we fetch.

use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher};

/// Calls back while alive; dropping it stops the watch.
pub struct RefWatcher {
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for RefWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefWatcher")
    }
}

/// Why a repository could not be watched (the caller polls instead).
#[derive(Debug, thiserror::Error)]
#[error("watch {path}: {source}", path = path.display())]
pub struct WatchError {
    pub path: PathBuf,
    #[source]
    pub source: notify::Error,
}

impl RefWatcher {
    /// Watches the refs of the repository whose git dir is `git_dir` (`.git` of a work tree, or
    /// a bare repository's folder); `on_change` runs on the watcher's thread for every event
    /// that may have moved a ref.
    pub fn start(
        git_dir: &Path,
        on_change: impl Fn() + Send + 'static,
    ) -> Result<Self, WatchError> {
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let relevant = match &event {
                    Ok(e) => !matches!(e.kind, notify::EventKind::Access(_)),
                    // An overflowed queue may have lost a ref change: look again.
                    Err(_) => true,
                };
                if relevant {
                    on_change();
                }
            })
            .map_err(|source| WatchError {
                path: git_dir.to_owned(),
                source,
            })?;
        let watch = |watcher: &mut notify::RecommendedWatcher, path: &Path, mode| {
            watcher.watch(path, mode).map_err(|source| WatchError {
                path: path.to_owned(),
                source,
            })
        };
        watch(&mut watcher, git_dir, RecursiveMode::NonRecursive)?;
        watch(
            &mut watcher,
            &git_dir.join("refs"),
            RecursiveMode::Recursive,
        )?;
        Ok(Self { _watcher: watcher })
    }
}

/// The git dir whose `refs/` and `packed-refs` hold the branches of the repository at `path`
/// (a work tree, a bare repository, a linked worktree or a submodule): what [`RefWatcher`]
/// watches. For a linked worktree that is the main repository's `.git` (git's common dir),
/// not `.git/worktrees/NAME`, which only has the worktree's own `HEAD` and private refs.
pub fn refs_dir(path: &Path) -> Result<PathBuf, super::Error> {
    let repo = git2::Repository::open(path).map_err(|source| super::Error::Open {
        path: path.to_owned(),
        source,
    })?;
    Ok(repo.commondir().to_path_buf())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::source::{Author, RepoSpec, Source};

    #[test]
    fn a_commit_to_a_local_repository_calls_back() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let repo = git2::Repository::init(dir.path())?;
        let sig = git2::Signature::now("t", "t@example.invalid")?;
        let tree = repo.find_tree(repo.index()?.write_tree()?)?;
        repo.commit(Some("refs/heads/main"), &sig, &sig, "first", &tree, &[])?;
        let spec = RepoSpec {
            url: dir.path().display().to_string(),
            branch: "main".into(),
        };
        let source = Source::open(&spec, dir.path())?;
        let (tx, rx) = mpsc::channel();
        let _watcher = RefWatcher::start(&source.git_dir(), move || {
            let _ = tx.send(());
        })?;
        while rx.try_recv().is_ok() {}
        let author = Author {
            name: "t".into(),
            email: "t@example.invalid".into(),
        };
        let edits = vec![("a.txt".to_string(), Some(b"a".to_vec()))];
        source.commit_files("main", &edits, "second", &author)?;
        // A deadline for the event, not a sleep: it normally arrives within milliseconds.
        assert!(
            rx.recv_timeout(Duration::from_secs(30)).is_ok(),
            "no callback after a commit to refs/heads/main"
        );
        Ok(())
    }
}
