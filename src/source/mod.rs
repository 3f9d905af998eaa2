//! `source`: the only module that touches Git. It opens a local repository in place or mirrors a
//! remote one into a cache, resolves revisions, reads any revision's tree without a checkout,
//! lists the commits that touched a set of paths, and writes commits.
//!
//! Imports only `crate::model`. Every call blocks (libgit2 does IO): async callers go through
//! `tokio::task::spawn_blocking`. A [`Source`] is `Send` but not `Sync`; give each blocking task
//! its own, or guard one with a mutex.
//!
//! A local repository is read at the committed tip of the configured branch; its working tree,
//! index and checked-out HEAD are never consulted (an operator's uncommitted edit must not reach
//! a cluster). `HEAD` in a revision therefore means the configured branch's head.
//!
//! libgit2 keeps a process-wide object cache that grows to 256 MB on a long history walk (every
//! commit and tree visited stays cached). `source` is the only user of git2 in the process, so
//! [`Source::open`] turns that cache off: on a 100,000-commit repository a walk of the whole
//! history then peaks at ~80 MB instead of ~235 MB, and is no slower (each object is read once per
//! walk anyway); the first page of a frequently changed path costs ~250 ms instead of ~170 ms.
//!
//! Layout: `location` (path or URL, cache naming), `remote` (clone, fetch, credentials), `tree`
//! (reading files at a revision), `history` (commits per path), `writer` (commits without a
//! checkout), `publish` (commit + push without force, rejected-push retry, `git revert` of a
//! range), `error`.

mod auth;
mod error;
mod history;
mod location;
mod publish;
mod remote;
mod tree;
mod watch;
mod writer;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Once;

use git2::{ErrorCode, ObjectType, Oid, Repository};

pub use error::Error;
pub use location::{Location, Transport};
pub use publish::Published;
pub use tree::{EntryKind, Tree};
pub use watch::{RefWatcher, WatchError, refs_dir};
pub use writer::{Author, Edit};

use crate::model::{Commit, Revision};

/// Which repository and branch to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSpec {
    /// A local path, or `https://`, `ssh://`, `git@host:path`, `file://` URL.
    pub url: String,
    pub branch: String,
}

/// An open repository following one branch.
pub struct Source {
    repo: Repository,
    spec: RepoSpec,
    /// Set for remotes: how to reach them.
    transport: Option<Transport>,
    /// The branch head as of the last `open`/`fetch`, to report whether a fetch changed it.
    seen: Cell<Option<Oid>>,
    /// The last branch ref target and the commit it peels to: the controller reads the head
    /// several times a second, and an unchanged ref need not re-read its commit object.
    peeled: Cell<Option<(Oid, Oid)>>,
}

impl Source {
    /// A local path: open it in place (bare or not; no search in parent folders). A URL: open the
    /// existing mirror under `cache_dir`, or clone it bare there (the only network use of
    /// `open`; later updates come from [`Source::fetch`]).
    pub fn open(spec: &RepoSpec, cache_dir: &Path) -> Result<Self, Error> {
        static NO_OBJECT_CACHE: Once = Once::new();
        NO_OBJECT_CACHE.call_once(|| git2::opts::enable_caching(false));
        let (repo, transport) = match Location::parse(&spec.url) {
            Location::Local(path) => {
                let repo = Repository::open(&path).map_err(|source| Error::Open {
                    path: path.clone(),
                    source,
                })?;
                (repo, None)
            }
            Location::Remote { url, transport } => {
                let dest = location::cache_path(cache_dir, &url);
                let repo = if dest.exists() {
                    let repo = Repository::open_bare(&dest).map_err(|source| Error::Open {
                        path: dest.clone(),
                        source,
                    })?;
                    // The config may now follow another branch than the clone was made for.
                    let refname = format!("refs/heads/{}", spec.branch);
                    if repo.find_reference(&refname).is_err() {
                        remote::fetch(&repo, &url, transport, &spec.branch)?;
                    }
                    repo
                } else {
                    remote::clone_bare(&url, transport, &dest, &spec.branch)?
                };
                (repo, Some(transport))
            }
        };
        let source = Self {
            repo,
            spec: spec.clone(),
            transport,
            seen: Cell::new(None),
            peeled: Cell::new(None),
        };
        source.seen.set(Some(source.head_oid()?));
        Ok(source)
    }

    /// Brings the branch up to date: remotes fetch the branch and tags; a local repository needs
    /// no fetch. Either way, returns whether the branch head moved since the last `open`/`fetch`
    /// (so a caller can poll local and remote repositories alike).
    pub fn fetch(&self) -> Result<bool, Error> {
        if let Some(transport) = self.transport {
            remote::fetch(&self.repo, &self.spec.url, transport, &self.spec.branch)?;
        }
        let now = self.head_oid()?;
        Ok(self.seen.replace(Some(now)) != Some(now))
    }

    pub fn is_remote(&self) -> bool {
        self.transport.is_some()
    }

    pub fn spec(&self) -> &RepoSpec {
        &self.spec
    }

    /// Where the repository's git data is (the cache clone for remotes).
    pub fn git_dir(&self) -> PathBuf {
        self.repo.path().to_path_buf()
    }

    /// Names a commit. `None` is the branch head; otherwise a branch, tag, full or short sha,
    /// `HEAD` (the configured branch, not the checkout) or any git revision expression such as
    /// `HEAD~2` or `v1.2^`.
    pub fn resolve(&self, rev: Option<&str>) -> Result<Revision, Error> {
        let Some(requested) = rev else {
            return Ok(Revision {
                requested: self.spec.branch.clone(),
                sha: self.head_oid()?.to_string(),
            });
        };
        let spec = match requested.strip_prefix("HEAD") {
            Some(rest) if rest.is_empty() || rest.starts_with(['~', '^', '@']) => {
                format!("refs/heads/{}{rest}", self.spec.branch)
            }
            _ => requested.to_owned(),
        };
        let object = self
            .repo
            .revparse_single(&spec)
            .map_err(|e| match e.code() {
                ErrorCode::Ambiguous => Error::AmbiguousRevision {
                    rev: requested.to_owned(),
                    repo: self.spec.url.clone(),
                },
                ErrorCode::NotFound | ErrorCode::InvalidSpec => Error::UnknownRevision {
                    rev: requested.to_owned(),
                    repo: self.spec.url.clone(),
                },
                _ => Error::Git {
                    what: format!("resolve \"{requested}\" in {}", self.spec.url),
                    source: e,
                },
            })?;
        let kind = object.kind();
        let commit = object
            .peel(ObjectType::Commit)
            .map_err(|_| Error::NotACommit {
                rev: requested.to_owned(),
                repo: self.spec.url.clone(),
                kind: kind.map(|k| k.str()).unwrap_or("object").to_owned(),
            })?;
        Ok(Revision {
            requested: requested.to_owned(),
            sha: commit.id().to_string(),
        })
    }

    /// The files of a revision (usually a full sha from [`Source::resolve`]), read without any
    /// checkout.
    pub fn tree(&self, sha: &str) -> Result<Tree<'_>, Error> {
        let oid = self.commit_oid(sha)?;
        let commit = history::find_commit(&self.repo, oid)?;
        let root = commit
            .tree()
            .map_err(Error::git(format!("read the tree of {sha}")))?;
        Ok(Tree::new(&self.repo, root, &oid.to_string()))
    }

    /// One commit, with the files it changed against its first parent.
    pub fn commit(&self, sha: &str) -> Result<Commit, Error> {
        let oid = self.commit_oid(sha)?;
        let commit = history::find_commit(&self.repo, oid)?;
        history::to_model(&self.repo, &commit)
    }

    /// Commits on the branch (walking first parents from `from`, default the head) that touched
    /// any of `paths` (files or folders, repo-relative; `""` is everything), newest first,
    /// skipping the first `skip` such commits and returning at most `limit`.
    ///
    /// Each call walks from `from`, so `skip` costs a walk over the skipped commits; to page
    /// cheaply through a long history pass the last commit returned as `from` with `skip = 1`.
    pub fn history(
        &self,
        paths: &[String],
        from: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<Commit>, Error> {
        let start = match from {
            Some(rev) => self.commit_oid(rev)?,
            None => self.head_oid()?,
        };
        history::walk(&self.repo, start, paths, skip, limit)
    }

    /// Commits `edits` on top of `branch` without a checkout and advances the branch (only the
    /// ref: a non-bare repository's working tree is left as it is). Returns the new sha. Fails
    /// with [`Error::NothingToCommit`] when the edits change nothing, and with
    /// [`Error::BranchMoved`] when someone else advanced the branch meanwhile.
    pub fn commit_files(
        &self,
        branch: &str,
        edits: &[Edit],
        message: &str,
        author: &Author,
    ) -> Result<String, Error> {
        writer::commit_files(&self.repo, branch, edits, message, author)
    }

    fn head_oid(&self) -> Result<Oid, Error> {
        let refname = format!("refs/heads/{}", self.spec.branch);
        let reference = self.repo.find_reference(&refname).map_err(|e| {
            if e.code() == ErrorCode::NotFound {
                Error::MissingBranch {
                    branch: self.spec.branch.clone(),
                    repo: self.spec.url.clone(),
                }
            } else {
                Error::Git {
                    what: format!("read {refname} in {}", self.spec.url),
                    source: e,
                }
            }
        })?;
        let target = reference.target();
        if let (Some(target), Some((seen, commit))) = (target, self.peeled.get())
            && target == seen
        {
            return Ok(commit);
        }
        let commit = reference.peel_to_commit().map_err(|source| Error::Git {
            what: format!("read {refname} in {}", self.spec.url),
            source,
        })?;
        if let Some(target) = target {
            self.peeled.set(Some((target, commit.id())));
        }
        Ok(commit.id())
    }

    fn commit_oid(&self, rev: &str) -> Result<Oid, Error> {
        let revision = self.resolve(Some(rev))?;
        Oid::from_str(&revision.sha).map_err(|source| Error::Git {
            what: format!("parse sha {}", revision.sha),
            source,
        })
    }
}
