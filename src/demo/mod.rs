//! The demo: writes a believable GitOps repo for the seed's log-processing platform (from the
//! embedded `assets/demo/`) plus a `driftdeck.yaml` beside it, so `driftdeck demo` and the tests
//! run anywhere with no setup. Later it also starts the sandbox.
//!
//! May import `crate::model` (and, per ARCHITECTURE.md, `sandbox` and `source`); today it writes
//! Git with `git2` directly. Must not touch anything outside the folder it is given, and never
//! overwrites an existing repo.

mod assets;
mod history;
pub mod inject;
pub mod run;

use std::path::{Path, PathBuf};

use git2::{IndexAddOption, Repository, RepositoryInitOptions, Signature, Time};

pub use assets::{CONFIG, FILES};

/// What `init` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLayout {
    /// The folder given to `init`.
    pub root: PathBuf,
    /// `root/repo`: the git repo, branch `main`, checked out at HEAD.
    pub repo: PathBuf,
    /// `root/driftdeck.yaml`.
    pub config: PathBuf,
    /// `root/kubeconfig`: named by the config, written later by the sandbox (not by `init`).
    pub kubeconfig: PathBuf,
    /// The branch written.
    pub branch: String,
    /// Full sha of HEAD.
    pub head: String,
    /// Commits on `main`.
    pub commits: usize,
    /// Distinct author names, in order of first commit.
    pub authors: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{}: already exists and is not empty; demo init writes a fresh repo there (remove it or pick another folder)",
        .path.display()
    )]
    RepoNotEmpty { path: PathBuf },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: git: {what}: {}", .path.display(), .source.message())]
    Git {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: git2::Error,
    },
    /// The embedded story and the embedded files disagree (a bug in the demo, caught by tests).
    #[error("demo assets: {0}")]
    Assets(String),
}

/// The branch the demo repo is written on.
pub const BRANCH: &str = "main";

/// Writes `dir/repo` (a git repo with about a dozen commits of history ending at the assets)
/// and `dir/driftdeck.yaml`. Refuses when `dir/repo` exists and is not empty; an existing
/// `dir/driftdeck.yaml` (without a repo beside it) is replaced, as it describes no repo.
pub fn init(dir: &Path) -> Result<DemoLayout, Error> {
    let repo_dir = dir.join("repo");
    if is_non_empty_dir(&repo_dir)? {
        return Err(Error::RepoNotEmpty { path: repo_dir });
    }
    let steps = history::steps();
    let trees = history::trees(&steps)?;
    std::fs::create_dir_all(&repo_dir).map_err(|source| io(&repo_dir, source))?;

    let git = |what: &'static str| {
        let path = repo_dir.clone();
        move |source| Error::Git { path, what, source }
    };
    let mut opts = RepositoryInitOptions::new();
    opts.initial_head(BRANCH);
    let repo = Repository::init_opts(&repo_dir, &opts).map_err(git("init"))?;
    let now = now_secs();

    let mut previous: Option<&history::Tree> = None;
    let mut parent: Option<git2::Oid> = None;
    let mut authors: Vec<String> = Vec::new();
    for (step, tree) in steps.iter().zip(&trees) {
        write_tree(&repo_dir, previous, tree)?;
        let mut index = repo.index().map_err(git("open index"))?;
        index
            .add_all(["*"], IndexAddOption::DEFAULT, None)
            .map_err(git("stage files"))?;
        index
            .update_all(["*"], None)
            .map_err(git("stage removals"))?;
        index.write().map_err(git("write index"))?;
        let tree_id = index.write_tree().map_err(git("write tree"))?;
        let git_tree = repo.find_tree(tree_id).map_err(git("read tree"))?;
        let when = Time::new(now - step.ago_secs, step.author.utc_offset_min);
        let sig =
            Signature::new(step.author.name, step.author.email, &when).map_err(git("signature"))?;
        let parents = match parent {
            Some(id) => vec![repo.find_commit(id).map_err(git("read parent"))?],
            None => vec![],
        };
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let id = repo
            .commit(
                Some("HEAD"),
                &sig,
                &sig,
                step.message,
                &git_tree,
                &parent_refs,
            )
            .map_err(git("commit"))?;
        parent = Some(id);
        previous = Some(tree);
        if !authors.iter().any(|a| a == step.author.name) {
            authors.push(step.author.name.to_string());
        }
    }
    let head = parent
        .map(|id| id.to_string())
        .ok_or_else(|| Error::Assets("the story has no commits".into()))?;

    let config = dir.join("driftdeck.yaml");
    std::fs::write(&config, CONFIG).map_err(|source| io(&config, source))?;
    Ok(DemoLayout {
        root: dir.to_path_buf(),
        repo: repo_dir,
        config,
        kubeconfig: dir.join("kubeconfig"),
        branch: BRANCH.to_string(),
        head,
        commits: steps.len(),
        authors,
    })
}

fn is_non_empty_dir(path: &Path) -> Result<bool, Error> {
    match std::fs::read_dir(path) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        // A file (not a folder) named `repo` is "not empty" too: never clobber it.
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(true),
        Err(source) => Err(io(path, source)),
    }
}

/// Makes the work tree match `tree`: writes every file, removes those `previous` had and
/// `tree` does not.
fn write_tree(
    root: &Path,
    previous: Option<&history::Tree>,
    tree: &history::Tree,
) -> Result<(), Error> {
    if let Some(previous) = previous {
        for gone in previous.keys().filter(|p| !tree.contains_key(*p)) {
            let path = root.join(gone);
            std::fs::remove_file(&path).map_err(|source| io(&path, source))?;
        }
    }
    for (rel, content) in tree {
        if previous.and_then(|p| p.get(rel)) == Some(content) {
            continue;
        }
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| io(parent, source))?;
        }
        std::fs::write(&path, content).map_err(|source| io(&path, source))?;
    }
    Ok(())
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
