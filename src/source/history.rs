//! Commit history per path: which commits on a branch touched an environment's inputs.
//!
//! Imports `crate::model` only. Built for repositories with hundreds of thousands of commits:
//! the walk streams commits newest-first along first parents (the branch's own story: a merge
//! counts as one change, compared with the branch it landed on) and decides "touched" by
//! comparing the object ids at the given paths with the first parent's — no diff, no blob reads.
//! Only the commits returned get a tree-to-tree diff (names only) for their file list. Nothing is
//! collected beyond the page asked for.

use git2::{Commit as GitCommit, Oid, Repository};
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
    let mut paths = paths
        .iter()
        .map(|p| normalize(p).map(Probe::new))
        .collect::<Result<Vec<_>, _>>()?;
    // Follow first parents by hand rather than with a `Revwalk`: a revwalk keeps a node for
    // every commit it has visited and parses each commit a second time; the chain needs only the
    // current commit and its parent, whose ids are carried over to the next step.
    let mut commit = find_commit(repo, start)?;
    let mut mine = ids_at(repo, commit.tree_id(), &mut paths)?;
    let mut skipped = 0;
    loop {
        let parent = match commit.parent_id(0) {
            Ok(id) => Some(find_commit(repo, id)?),
            Err(_) => None,
        };
        let theirs = match &parent {
            // Same tree, same ids: no need to look inside.
            Some(p) if p.tree_id() == commit.tree_id() => mine.clone(),
            Some(p) => ids_at(repo, p.tree_id(), &mut paths)?,
            None => vec![None; paths.len()],
        };
        if theirs != mine {
            if skipped < skip {
                skipped += 1;
            } else {
                out.push(to_model(repo, &commit)?);
                if out.len() == limit {
                    break;
                }
            }
        }
        match parent {
            Some(p) => {
                commit = p;
                mine = theirs;
            }
            None => break,
        }
    }
    Ok(out)
}

/// One path being watched, with the last lookup below its top-level entry remembered: most
/// commits leave `overlays/` alone, and then `overlays/production` needs no tree reads at all.
struct Probe {
    parts: Vec<String>,
    /// Path joined with `/`, for `get_path`.
    path: std::path::PathBuf,
    /// (id of the top-level entry, id found at the full path under it).
    memo: Option<(Oid, Option<Oid>)>,
}

impl Probe {
    fn new(parts: Vec<String>) -> Self {
        let path = std::path::PathBuf::from(parts.join("/"));
        Self {
            parts,
            path,
            memo: None,
        }
    }
}

/// The ids of the entries at the probes' paths in a tree (`None` where absent). The root path
/// (no components) is the tree itself, so `history(&[""], ..)` lists every commit that changed
/// anything.
fn ids_at(repo: &Repository, tree: Oid, probes: &mut [Probe]) -> Result<Vec<Option<Oid>>, Error> {
    let root = repo.find_tree(tree).map_err(|source| Error::Git {
        what: format!("read tree {tree}"),
        source,
    })?;
    let mut ids = Vec::with_capacity(probes.len());
    for probe in probes.iter_mut() {
        let Some(first) = probe.parts.first() else {
            ids.push(Some(tree));
            continue;
        };
        let Some(top) = root.get_name(first).map(|e| e.id()) else {
            ids.push(None);
            continue;
        };
        if probe.parts.len() == 1 {
            ids.push(Some(top));
            continue;
        }
        if let Some((memo_top, found)) = probe.memo
            && memo_top == top
        {
            ids.push(found);
            continue;
        }
        let found = match root.get_path(&probe.path) {
            Ok(entry) => Some(entry.id()),
            Err(e) if e.code() == git2::ErrorCode::NotFound => None,
            Err(source) => {
                return Err(Error::Git {
                    what: format!("read {} in tree {tree}", probe.path.display()),
                    source,
                });
            }
        };
        probe.memo = Some((top, found));
        ids.push(found);
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
