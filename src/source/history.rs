//! Commit history per path: which commits on a branch touched an environment's inputs.
//!
//! Imports `crate::model` only. Built for repositories with hundreds of thousands of commits:
//! the walk streams commits newest-first along first parents (the branch's own story: a merge
//! counts as one change, compared with the branch it landed on) and decides "touched" by
//! comparing the object ids at the given paths with the first parent's — no diff, no blob reads.
//! Only the commits returned get a tree-to-tree diff (names only) for their file list. Nothing is
//! collected beyond the page asked for.

use git2::{Commit as GitCommit, Oid, Repository, Sort};
use jiff::Timestamp;

use super::Error;
use super::tree::normalize;
use crate::model::Commit;

/// The pages of [`super::Source::history`]: commits from `start` touching any of `paths`.
pub(crate) fn walk(
    repo: &Repository,
    start: Oid,
    paths: &[String],
    skip: usize,
    limit: usize,
) -> Result<Vec<Commit>, Error> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    let paths = paths
        .iter()
        .map(|p| normalize(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut walk = repo.revwalk().map_err(Error::git("start history walk"))?;
    walk.set_sorting(Sort::NONE)
        .and_then(|()| walk.simplify_first_parent())
        .and_then(|()| walk.push(start))
        .map_err(Error::git(format!("start history walk at {start}")))?;

    // The walk follows first parents, so a commit's parent is usually the next commit walked:
    // keep the parent's ids to reuse them and touch every tree once.
    let mut cached: Option<(Oid, Vec<Option<Oid>>)> = None;
    let mut skipped = 0;
    for oid in walk {
        let oid = oid.map_err(Error::git("walk history"))?;
        let commit = find_commit(repo, oid)?;
        let mine = match cached.take() {
            Some((id, ids)) if id == oid => ids,
            _ => ids_at(repo, commit.tree_id(), &paths)?,
        };
        let parent = match commit.parent_id(0) {
            Ok(parent_id) => {
                let parent = find_commit(repo, parent_id)?;
                Some((parent_id, ids_at(repo, parent.tree_id(), &paths)?))
            }
            Err(_) => None,
        };
        let touched = match &parent {
            Some((_, theirs)) => *theirs != mine,
            None => mine.iter().any(Option::is_some),
        };
        cached = parent;
        if !touched {
            continue;
        }
        if skipped < skip {
            skipped += 1;
            continue;
        }
        out.push(to_model(repo, &commit)?);
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// The ids of the entries at `paths` in a tree (`None` where absent). The root path (empty
/// component list) is the tree itself, so `history(&[""], ..)` lists every non-empty commit.
fn ids_at(repo: &Repository, tree: Oid, paths: &[Vec<String>]) -> Result<Vec<Option<Oid>>, Error> {
    let root = repo.find_tree(tree).map_err(|source| Error::Git {
        what: format!("read tree {tree}"),
        source,
    })?;
    let mut ids = Vec::with_capacity(paths.len());
    for parts in paths {
        if parts.is_empty() {
            ids.push(Some(tree));
            continue;
        }
        let path = std::path::Path::new(parts.join("/").as_str()).to_path_buf();
        ids.push(match root.get_path(&path) {
            Ok(entry) => Some(entry.id()),
            Err(e) if e.code() == git2::ErrorCode::NotFound => None,
            Err(source) => {
                return Err(Error::Git {
                    what: format!("read {} in tree {tree}", path.display()),
                    source,
                });
            }
        });
    }
    Ok(ids)
}

pub(crate) fn find_commit(repo: &Repository, oid: Oid) -> Result<GitCommit<'_>, Error> {
    repo.find_commit(oid).map_err(|source| Error::Git {
        what: format!("read commit {oid}"),
        source,
    })
}

/// A `model::Commit`, with the files changed against the first parent (all files for a root
/// commit), sorted.
pub(crate) fn to_model(repo: &Repository, commit: &GitCommit<'_>) -> Result<Commit, Error> {
    let sha = commit.id().to_string();
    let what = || format!("list files changed by {}", crate::model::short_sha(&sha));
    let tree = commit.tree().map_err(|source| Error::Git {
        what: what(),
        source,
    })?;
    let parent_tree = match commit.parent(0) {
        Ok(parent) => Some(parent.tree().map_err(|source| Error::Git {
            what: what(),
            source,
        })?),
        Err(_) => None,
    };
    let diff = repo
        .diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None)
        .map_err(|source| Error::Git {
            what: what(),
            source,
        })?;
    let mut files: Vec<String> = diff
        .deltas()
        .filter_map(|delta| {
            delta
                .new_file()
                .path_bytes()
                .or(delta.old_file().path_bytes())
        })
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    files.sort();
    files.dedup();
    let author = commit.author();
    let time = Timestamp::from_second(author.when().seconds()).unwrap_or(Timestamp::UNIX_EPOCH);
    Ok(Commit {
        sha,
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        time,
        summary: commit
            .summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
        files,
    })
}
