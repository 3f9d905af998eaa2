//! Publishing commits: commit edits computed from the branch head, push when the repository
//! has a remote, and `git revert` of a range — never a force-push.
//!
//! Imports nothing from the crate but `model`'s short sha. A local repository (the url is a
//! path, bare or not) gets the commit on its branch ref directly and nothing is pushed. A remote
//! is worked through its bare mirror in the cache: fetch (which force-mirrors
//! `refs/heads/<branch>` from the remote), run `make` on the fetched head, write the commit on
//! exactly that head as an object only, and push that commit by its sha
//! (`<sha>:refs/heads/<branch>`, never forced).
//!
//! The mirror's branch is not the thing pushed, and it moves only after the remote confirmed:
//! every env task of a console or controller polls the same mirror (every second at the
//! shortest poll), as does any other driftdeck process on the same cache, and each poll
//! force-resets the branch to the remote's head. When the writer committed onto the branch ref
//! and pushed the ref, a poll landing in between made the push send the remote's own head —
//! nothing — and libgit2 reported that as success: "committed" was printed, exit 0, and the
//! remote never had the commit (about one promotion in three over ssh with a 1 s poll).
//!
//! Landed means the remote said so: its per-ref status for `refs/heads/<branch>` through the
//! `push_update_reference` callback, with no error. libgit2 reports a refusal either as an
//! `Err` (the local `file://` transport) or only through that status (smart transports), so
//! both are read; a push that returns without any status for our ref is an error too, never a
//! success, and the remote's "ok" stands even when libgit2 then fails a local step. A
//! non-fast-forward is a rejection: `make` is re-run on the newly fetched head and
//! pushed again, at most [`MAX_RETRIES`] times; a rejection after that is an
//! [`Error::Remote`] (`action: "push"`) and nothing is forced. Any other failure (network,
//! auth, a hook) is an [`Error::Remote`] naming the url and the reason in one line. Once
//! confirmed, the mirror's branch is advanced compare-and-swap from the head the commit was
//! made on; if a fetch moved it meanwhile, that fetch mirrored the remote and stays. A commit
//! that was not pushed stays unreferenced in the mirror, for git's gc.
//!
//! A local repository's branch may move between reading the head and committing (an operator
//! committing by hand): the commit is compare-and-swap too, and a moved branch is handled like
//! a rejected push — `make` again on the new head, then [`Error::BranchMoved`]. A local
//! checkout of the branch gets the commit in its index and worktree, or, when the touched
//! paths are dirty, nothing is committed ([`Error::DirtyWorktree`]); see `writer`.
//!
//! Revert is path-level three-way: every path changed by the first-parent commits in
//! (good, bad] goes back to its content at `good` when the head still has it as `bad` left it;
//! when a later commit changed it again, that is an [`Error::RevertConflict`] naming the path and
//! the commit, never a silent clobber. A path already back at `good` is left alone, so a second
//! revert of the same range is [`Error::NothingToCommit`].

use std::cell::RefCell;
use std::collections::BTreeSet;

use git2::{Commit as GitCommit, ErrorCode, Oid, PushOptions, Repository};

use super::location::Transport;
use super::{Author, Edit, Error, Source, Tree, remote, writer};

/// A commit that landed on the branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub sha: String,
    /// First line of the message.
    pub summary: String,
    /// Pushed to the remote (false for a local repository).
    pub pushed: bool,
    /// The first push was rejected and the edits were re-made on the fetched head.
    pub rebased: bool,
}

/// Re-makes of a commit after a rejected push (or, locally, a moved branch): the first try
/// plus at most this many.
const MAX_RETRIES: usize = 3;

/// Who a published commit is by: the committer (git config) and the operator (trailer).
struct Who {
    committer: Author,
    operator: Author,
}

/// How one commit-and-push attempt ended when it did not fail outright.
enum Attempt {
    Landed(Published),
    /// The remote (or, locally, the branch ref) had moved; the reason as the remote said it.
    Rejected(String),
}

/// Commits past a range's start searched for its end, and commits past the head searched for a
/// conflicting change: a bound so a wrong `good` fails fast on a huge history.
const MAX_WALK: usize = 100_000;

impl Source {
    /// Commits what `make` computes from the branch head's tree (`(edits, message)`), then
    /// pushes when remote. `make` runs again on the new head after a rejected push.
    pub fn publish<F>(&self, make: F, author: &Author) -> Result<Published, Error>
    where
        F: Fn(&Tree<'_>) -> Result<(Vec<Edit>, String), Error>,
    {
        self.publish_on(
            |head| {
                let root = head
                    .tree()
                    .map_err(Error::git(format!("read the tree of {}", head.id())))?;
                make(&Tree::new(&self.repo, root, &head.id().to_string()))
            },
            author,
        )
    }

    /// One commit on the branch head that reverts the commits after `good` up to and including
    /// `bad` (first-parent), message `Revert …` naming them (or `message`); pushed when remote.
    ///
    /// `scope` limits the revert to the paths it accepts (an env's render inputs): the same
    /// commits may also have changed other environments, whose changes stay. Changes out of
    /// scope are listed in the message as kept.
    pub fn revert_range(
        &self,
        good: &str,
        bad: &str,
        message: Option<&str>,
        author: &Author,
        scope: &dyn Fn(&str) -> bool,
    ) -> Result<Published, Error> {
        let good = self.commit_oid(good)?;
        let bad = self.commit_oid(bad)?;
        self.publish_on(
            |head| self.revert_edits(good, bad, head, message, scope),
            author,
        )
    }

    /// [`Source::publish`] with `make` given the head commit itself. `author` is the operator
    /// (`user@host` as its email); the commit is made by [`writer::identity`] with the operator
    /// in a trailer.
    fn publish_on<F>(&self, make: F, author: &Author) -> Result<Published, Error>
    where
        F: Fn(&GitCommit<'_>) -> Result<(Vec<Edit>, String), Error>,
    {
        let who = Who {
            committer: writer::identity(&self.repo, author),
            operator: author.clone(),
        };
        let transport = self.transport;
        if let Some(transport) = transport {
            self.fetch_branch(transport)?;
        }
        let mut last = String::new();
        for attempt in 0..=MAX_RETRIES {
            if attempt > 0 {
                tracing::info!(url = %self.spec.url, reason = %last, attempt, "push rejected; fetching and re-making the commit");
                if let Some(transport) = transport {
                    self.fetch_branch(transport)?;
                }
            }
            match self.attempt(&make, &who, transport)? {
                Attempt::Landed(p) => {
                    return Ok(Published {
                        rebased: attempt > 0,
                        ..p
                    });
                }
                Attempt::Rejected(why) => last = why,
            }
        }
        match transport {
            None => Err(Error::BranchMoved {
                branch: self.spec.branch.clone(),
                now: last,
            }),
            Some(_) => Err(Error::Remote {
                action: "push",
                url: self.spec.url.clone(),
                message: format!(
                    "refs/heads/{} was rejected {} times (the remote kept moving while we \
                     re-made the commit: {last}); nothing was forced and nothing was \
                     published — fetch and try again",
                    self.spec.branch,
                    MAX_RETRIES + 1
                ),
            }),
        }
    }

    fn fetch_branch(&self, transport: Transport) -> Result<(), Error> {
        remote::fetch(&self.repo, &self.spec.url, transport, &self.spec.branch)
    }

    /// Reads the head, makes the edits, commits on that head and (remote) pushes.
    fn attempt<F>(
        &self,
        make: &F,
        who: &Who,
        transport: Option<Transport>,
    ) -> Result<Attempt, Error>
    where
        F: Fn(&GitCommit<'_>) -> Result<(Vec<Edit>, String), Error>,
    {
        let branch = &self.spec.branch;
        let base = self.head_oid()?;
        let head = self
            .repo
            .find_commit(base)
            .map_err(Error::git(format!("read commit {base}")))?;
        let (edits, message) = make(&head)?;
        // A local checkout of this branch is kept in step with the commit (see `writer`).
        let checkout = transport.is_none() && writer::checked_out(&self.repo, branch);
        if checkout {
            let dirty = writer::dirty_paths(&self.repo, &edits)?;
            if !dirty.is_empty() {
                return Err(Error::DirtyWorktree {
                    repo: self.spec.url.clone(),
                    paths: dirty.join(", "),
                });
            }
        }
        let message = writer::with_operator(&message, &who.operator);
        let summary = message.lines().next().unwrap_or_default().to_owned();
        let Some(transport) = transport else {
            let committed =
                writer::commit_on(&self.repo, branch, base, &edits, &message, &who.committer);
            let sha = match committed {
                Ok(sha) => sha,
                Err(Error::BranchMoved { now, .. }) => return Ok(Attempt::Rejected(now)),
                Err(e) => return Err(e),
            };
            if checkout {
                writer::check_out(&self.repo, &edits)?;
            }
            return Ok(Attempt::Landed(Published {
                sha,
                summary,
                pushed: false,
                rebased: false,
            }));
        };
        // The mirror's branch is not moved before the remote has the commit: a poll's forced
        // fetch (another env task, another process on the same cache) may reset it at any time,
        // and a push of the branch ref would then push the remote's own head — nothing.
        let ours =
            writer::commit_object(&self.repo, branch, base, &edits, &message, &who.committer)?;
        match push(&self.repo, &self.spec.url, transport, branch, ours)? {
            None => {
                self.advance_mirror(base, ours);
                Ok(Attempt::Landed(Published {
                    sha: ours.to_string(),
                    summary,
                    pushed: true,
                    rebased: false,
                }))
            }
            Some(why) => Ok(Attempt::Rejected(why)),
        }
    }

    /// Moves the mirror's branch from `base` to our pushed commit, so readers see it before the
    /// next fetch. Compare-and-swap: when a fetch already moved the ref, the fetch mirrors the
    /// remote, which is the truth, so it is left alone.
    fn advance_mirror(&self, base: Oid, ours: Oid) {
        let refname = format!("refs/heads/{}", self.spec.branch);
        if let Err(e) =
            self.repo
                .reference_matching(&refname, ours, true, base, "driftdeck: pushed")
            && e.code() != ErrorCode::Modified
        {
            tracing::warn!(%refname, error = %e.message(), "could not advance the mirror after a push; the next fetch will");
        }
    }

    /// The edits that undo (good, bad] on `head`, and the message.
    fn revert_edits(
        &self,
        good: Oid,
        bad: Oid,
        head: &GitCommit<'_>,
        message: Option<&str>,
        scope: &dyn Fn(&str) -> bool,
    ) -> Result<(Vec<Edit>, String), Error> {
        let repo = &self.repo;
        let range = first_parent_range(repo, good, bad).ok_or_else(|| Error::NotAncestor {
            good: crate::model::short_sha(&good.to_string()).to_owned(),
            bad: crate::model::short_sha(&bad.to_string()).to_owned(),
            branch: self.spec.branch.clone(),
        })?;
        let mut paths = BTreeSet::new();
        for commit in &range {
            paths.extend(changed_paths(repo, commit)?);
        }
        let (paths, kept): (BTreeSet<String>, BTreeSet<String>) =
            paths.into_iter().partition(|p| scope(p));
        let good_tree = tree_of(repo, good)?;
        let bad_tree = tree_of(repo, bad)?;
        let head_tree = head
            .tree()
            .map_err(Error::git(format!("read the tree of {}", head.id())))?;
        let mut edits = Vec::new();
        for path in &paths {
            let at_good = entry(&good_tree, path);
            let at_bad = entry(&bad_tree, path);
            let at_head = entry(&head_tree, path);
            if at_head == at_good {
                continue;
            }
            if at_head != at_bad {
                return Err(Error::RevertConflict {
                    path: path.clone(),
                    bad: crate::model::short_sha(&bad.to_string()).to_owned(),
                    by: later_change(head, bad, path),
                });
            }
            let content = match at_good {
                Some((oid, _)) => Some(
                    repo.find_blob(oid)
                        .map_err(Error::git(format!("read {path} at {good}")))?
                        .content()
                        .to_vec(),
                ),
                None => None,
            };
            edits.push((path.clone(), content));
        }
        let mut message = match message {
            Some(m) => m.to_owned(),
            None => revert_message(&range, good),
        };
        if !kept.is_empty() {
            message.push_str("\nKept (outside the rolled-back environment):\n");
            for path in &kept {
                message.push_str(&format!("  {path}\n"));
            }
        }
        Ok((edits, message))
    }
}

/// Pushes the commit `ours` to `refs/heads/<branch>` (never forced). `Ok(None)`: the remote
/// confirmed the update; `Ok(Some(why))`: the remote refused it because the branch moved (not a
/// fast-forward); `Err`: anything else (network, auth, a hook), including a push the remote did
/// not confirm — only the remote's per-ref "ok" counts as landed.
fn push(
    repo: &Repository,
    url: &str,
    transport: Transport,
    branch: &str,
    ours: Oid,
) -> Result<Option<String>, Error> {
    let fail = |message: String| Error::Remote {
        action: "push",
        url: url.to_owned(),
        message,
    };
    let target = format!("refs/heads/{branch}");
    let mut origin = remote::connection(repo, url).map_err(|e| fail(e.message().to_owned()))?;
    let config = repo.config().map_err(|e| fail(e.message().to_owned()))?;
    // What the remote said about our ref: `None` until it reports; `Some(None)` is "ok".
    let reported: RefCell<Option<Option<String>>> = RefCell::new(None);
    let mut callbacks = remote::callbacks(&config, transport);
    callbacks.push_update_reference(|refname, status| {
        if refname == target {
            *reported.borrow_mut() = Some(status.map(|s| format!("{refname}: {s}")));
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    // The exact commit, not the mirror's branch ref, which a concurrent fetch may have reset.
    let refspec = format!("{ours}:{target}");
    let result = origin.push(&[refspec.as_str()], Some(&mut options));
    drop(options);
    let reported = reported.into_inner();
    match result {
        Ok(()) => match reported {
            Some(None) => Ok(None),
            Some(Some(status)) if is_moved(&status) => Ok(Some(status)),
            // A hook or a protected branch: retrying on a fresh head would not help.
            Some(Some(status)) => Err(fail(format!("the remote refused {status}"))),
            None => Err(fail(format!(
                "the remote did not confirm the update of {target} to {}; nothing is \
                 known to be published — check the remote's branch before trying again",
                crate::model::short_sha(&ours.to_string())
            ))),
        },
        // The remote took it; what failed is local bookkeeping after the upload.
        Err(e) if reported == Some(None) => {
            tracing::warn!(%url, error = %e.message(), "the remote accepted the push; a local step after it failed");
            Ok(None)
        }
        Err(e) if is_rejection(&e) => Ok(Some(e.message().to_owned())),
        Err(e) => Err(fail(match reported {
            Some(Some(status)) => status,
            _ => super::auth::explain(&e, url, transport),
        })),
    }
}

/// A per-ref status from the server that means "the branch moved under you" (worth one fetch
/// and retry), as opposed to a hook's or a branch protection's refusal.
fn is_moved(status: &str) -> bool {
    let s = status.to_ascii_lowercase();
    [
        "non-fast-forward",
        "fast forward",
        "fastforward",
        "fetch first",
        "stale",
        "failed to lock",
    ]
    .iter()
    .any(|m| s.contains(m))
}

/// libgit2's local transport says "cannot push non-fastforwardable reference" with
/// `NotFastForward`; some versions only carry it in the message.
fn is_rejection(e: &git2::Error) -> bool {
    let message = e.message().to_ascii_lowercase();
    e.code() == ErrorCode::NotFastForward
        || message.contains("non-fastforward")
        || message.contains("non-fast-forward")
        || message.contains("fastforwardable")
}

/// The first-parent commits in (good, bad], newest first; `None` when `good` is not a
/// first-parent ancestor of `bad`.
fn first_parent_range(repo: &Repository, good: Oid, bad: Oid) -> Option<Vec<GitCommit<'_>>> {
    let mut range = Vec::new();
    let mut at = repo.find_commit(bad).ok()?;
    for _ in 0..MAX_WALK {
        if at.id() == good {
            return Some(range);
        }
        let parent = at.parent(0).ok()?;
        range.push(at);
        at = parent;
    }
    None
}

/// Files `commit` changed against its first parent (against nothing for a root commit).
fn changed_paths(repo: &Repository, commit: &GitCommit<'_>) -> Result<Vec<String>, Error> {
    let what = || format!("diff commit {}", commit.id());
    let new = commit.tree().map_err(Error::git(what()))?;
    let old = match commit.parent(0) {
        Ok(p) => Some(p.tree().map_err(Error::git(what()))?),
        Err(_) => None,
    };
    let diff = repo
        .diff_tree_to_tree(old.as_ref(), Some(&new), None)
        .map_err(Error::git(what()))?;
    let mut paths = Vec::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(path) = file.path() {
                // git paths are '/'-separated on every platform.
                paths.push(path.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    Ok(paths)
}

fn tree_of(repo: &Repository, oid: Oid) -> Result<git2::Tree<'_>, Error> {
    repo.find_commit(oid)
        .and_then(|c| c.tree())
        .map_err(Error::git(format!("read the tree of {oid}")))
}

/// A file's blob and mode in a tree; `None` when absent (or a folder: git has no empty ones,
/// and a folder where a file was is a change too).
fn entry(tree: &git2::Tree<'_>, path: &str) -> Option<(Oid, i32)> {
    let e = tree.get_path(std::path::Path::new(path)).ok()?;
    (e.kind() == Some(git2::ObjectType::Blob)).then(|| (e.id(), e.filemode()))
}

/// Which commit after `bad` changed `path` last, for the conflict message: the newest
/// first-parent commit from the head down to `bad` whose change touches it.
fn later_change(head: &GitCommit<'_>, bad: Oid, path: &str) -> String {
    let mut at = head.clone();
    for _ in 0..MAX_WALK {
        if at.id() == bad {
            break;
        }
        let Ok(parent) = at.parent(0) else { break };
        let mine = at.tree().ok().and_then(|t| entry(&t, path));
        let before = parent.tree().ok().and_then(|t| entry(&t, path));
        if mine != before {
            return format!(
                "{} \"{}\"",
                crate::model::short_sha(&at.id().to_string()),
                summary(&at)
            );
        }
        at = parent;
    }
    "the branch head".to_owned()
}

/// `Revert "<bad's summary>"` and a body naming every reverted commit, as `git revert` would.
fn revert_message(range: &[GitCommit<'_>], good: Oid) -> String {
    let newest = range.first().map(summary).unwrap_or_default();
    let mut message = format!("Revert \"{newest}\"\n\n");
    if let [only] = range {
        message.push_str(&format!("This reverts commit {}.\n", only.id()));
    } else {
        message.push_str(&format!(
            "This reverts the {} commits after {}:\n\n",
            range.len(),
            good
        ));
        for c in range {
            message.push_str(&format!("{} {}\n", c.id(), summary(c)));
        }
    }
    message
}

fn summary(commit: &GitCommit<'_>) -> String {
    String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_told_from_other_push_errors() {
        let nff = git2::Error::new(
            ErrorCode::NotFastForward,
            git2::ErrorClass::Reference,
            "cannot push because a reference that you are trying to update on the remote contains commits that are not present locally.",
        );
        assert!(is_rejection(&nff));
        let local = git2::Error::from_str("cannot push non-fastforwardable reference");
        assert!(is_rejection(&local));
        let auth = git2::Error::from_str("authentication required");
        assert!(!is_rejection(&auth));
        assert!(is_moved("refs/heads/main: non-fast-forward"));
        assert!(is_moved("refs/heads/main: failed to lock"));
        assert!(!is_moved("refs/heads/main: pre-receive hook declined"));
        assert!(!is_moved("refs/heads/main: protected branch hook declined"));
    }
}
