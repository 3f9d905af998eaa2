//! Git hygiene of driftdeck's own commits (promote, `rollback --revert`) on real repositories:
//! the committer is the repository's configured user with a `Driftdeck-Operator:` trailer; a
//! clean local checkout of the branch is left clean (index and worktree carry the commit); a
//! checkout dirty in the touched paths gets nothing committed and a message saying why; a bare
//! remote that moves between our fetch and our push (twice) gets the promotion on top of the
//! other commits, nothing lost and nothing forced.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;

use driftdeck::config::Config;

use crate::promote::env;
use driftdeck::controller::promote::{PromoteError, PromotionPlan, commit_promotion};
use driftdeck::source::{Author, Edit, Error, Published, RepoSpec, Source};

use tempfile::TempDir;

fn operator() -> Author {
    Author {
        name: "driftdeck (ops)".into(),
        email: "ops@console-host".into(),
    }
}

/// `driftdeck demo init` into a temp dir with a repo-local user: (tempdir, config, repo dir).
fn demo() -> (TempDir, Config, PathBuf) {
    let (tmp, config) = crate::promote::demo();
    let repo = PathBuf::from(&config.repo.url);
    git(&repo, &["config", "user.name", "Release Manager"]);
    git(&repo, &["config", "user.email", "rm@example.com"]);
    (tmp, config, repo)
}

/// `commit_promotion` of dev's HEAD into staging by [`operator`].
fn promote_dev_to_staging(config: &Config) -> Result<(Published, PromotionPlan), PromoteError> {
    commit_promotion(
        &source(config),
        env(config, "dev"),
        "HEAD",
        env(config, "staging"),
        None,
        None,
        &operator(),
    )
}

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn source(config: &Config) -> Source {
    driftdeck::controller::open_source(config).unwrap()
}

#[test]
fn promote_in_a_clean_checkout_leaves_it_clean_and_names_the_configured_user() {
    let (_tmp, config, repo) = demo();
    assert_eq!(
        git(&repo, &["status", "--porcelain"]),
        "",
        "demo starts clean"
    );
    let (published, _) = promote_dev_to_staging(&config).unwrap();
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]).trim(), published.sha);
    assert_eq!(
        git(&repo, &["status", "--porcelain"]),
        "",
        "index and worktree carry it"
    );
    assert_eq!(
        git(&repo, &["log", "-1", "--format=%an <%ae>|%cn <%ce>"]).trim(),
        "Release Manager <rm@example.com>|Release Manager <rm@example.com>"
    );
    let trailers = git(
        &repo,
        &["log", "-1", "--format=%(trailers:key=Driftdeck-Operator)"],
    );
    assert_eq!(trailers.trim(), "Driftdeck-Operator: ops@console-host");
    // The worktree file is the committed one, so `git commit -a` has nothing to undo.
    let committed = git(&repo, &["show", "HEAD:overlays/staging/kustomization.yaml"]);
    let on_disk =
        std::fs::read_to_string(repo.join("overlays/staging/kustomization.yaml")).unwrap();
    assert_eq!(on_disk, committed);
}

#[test]
fn revert_in_a_clean_checkout_leaves_it_clean_and_reverts_only_the_range() {
    let (_tmp, config, repo) = demo();
    let good = git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();
    let file = repo.join("overlays/dev/kustomization.yaml");
    let before = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{before}# a bad change\n")).unwrap();
    git(&repo, &["commit", "-qam", "bad change to dev"]);
    let bad = git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();
    let source = source(&config);
    let published = source
        .revert_range(&good, &bad, None, &operator(), &|_| true)
        .unwrap();
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    assert_eq!(
        git(&repo, &["log", "-1", "--format=%an <%ae>"]).trim(),
        "Release Manager <rm@example.com>"
    );
    let changed = git(&repo, &["show", "--name-only", "--format=", &published.sha]);
    assert_eq!(changed.trim(), "overlays/dev/kustomization.yaml");
}

#[test]
fn dirty_touched_paths_commit_nothing_and_say_why() {
    let (_tmp, config, repo) = demo();
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let file = repo.join("overlays/staging/kustomization.yaml");
    let mine = format!(
        "{}# my uncommitted work\n",
        std::fs::read_to_string(&file).unwrap()
    );
    std::fs::write(&file, &mine).unwrap();
    let err = promote_dev_to_staging(&config).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, PromoteError::Source(Error::DirtyWorktree { .. })),
        "{err:?}"
    );
    assert!(
        message.contains("overlays/staging/kustomization.yaml"),
        "{message}"
    );
    assert!(message.contains("nothing was committed"), "{message}");
    assert_eq!(
        git(&repo, &["rev-parse", "HEAD"]),
        head,
        "nothing committed"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        mine,
        "the work survives"
    );
}

#[test]
fn dirty_paths_elsewhere_do_not_block_and_survive() {
    let (_tmp, config, repo) = demo();
    let other = repo.join("overlays/dev/kustomization.yaml");
    let mine = format!(
        "{}# my uncommitted work\n",
        std::fs::read_to_string(&other).unwrap()
    );
    std::fs::write(&other, &mine).unwrap();
    promote_dev_to_staging(&config).unwrap();
    assert_eq!(
        git(&repo, &["status", "--porcelain"]),
        " M overlays/dev/kustomization.yaml\n"
    );
    assert_eq!(std::fs::read_to_string(&other).unwrap(), mine);
}

/// A bare clone of the demo repo as `origin`, and a driftdeck Source on its `file://` URL.
fn remote_demo() -> (TempDir, Config, PathBuf, Source) {
    let (tmp, mut config, repo) = demo();
    let origin = tmp.path().join("origin.git");
    let out = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(&repo)
        .arg(&origin)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    config.repo.url = format!("file://{}", origin.display());
    let cache = tmp.path().join("cache");
    let source = Source::open(
        &RepoSpec {
            url: config.repo.url.clone(),
            branch: "main".into(),
        },
        &cache,
    )
    .unwrap();
    (tmp, config, origin, source)
}

/// Another writer's commit pushed to `origin` from a throwaway clone.
fn push_theirs(tmp: &Path, origin: &Path, n: usize) {
    let work = tmp.join(format!("theirs-{n}"));
    let out = Command::new("git")
        .args(["clone", "-q"])
        .arg(origin)
        .arg(&work)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(work.join(format!("NOTES-{n}.md")), format!("theirs {n}\n")).unwrap();
    // The second writer also edits the very file the promotion changes.
    if n == 2 {
        let file = work.join("overlays/staging/kustomization.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("# theirs {n}\n{text}")).unwrap();
    }
    git(&work, &["add", "."]);
    git(
        &work,
        &[
            "-c",
            "user.name=Them",
            "-c",
            "user.email=them@example.com",
            "commit",
            "-qm",
            &format!("theirs {n}"),
        ],
    );
    git(&work, &["push", "-q", "origin", "HEAD:main"]);
}

#[test]
fn two_push_races_land_the_commit_on_top_and_lose_nothing() {
    let (tmp, _config, origin, source) = remote_demo();
    let races = Cell::new(0);
    let published = source
        .publish(
            |tree| {
                // Between our fetch and our push, someone else pushes: twice.
                if races.get() < 2 {
                    races.set(races.get() + 1);
                    push_theirs(tmp.path(), &origin, races.get());
                }
                let current = tree.read("overlays/staging/kustomization.yaml")?;
                let mut next = current.clone();
                next.extend_from_slice(b"# promoted\n");
                let edits: Vec<Edit> =
                    vec![("overlays/staging/kustomization.yaml".into(), Some(next))];
                Ok((edits, "promote(dev→staging): race test".into()))
            },
            &operator(),
        )
        .unwrap();
    assert_eq!(races.get(), 2);
    assert!(published.pushed && published.rebased);
    let log = git(&origin, &["log", "--format=%s", "-3", "main"]);
    assert_eq!(log, "promote(dev→staging): race test\ntheirs 2\ntheirs 1\n");
    for n in [1, 2] {
        assert_eq!(
            git(&origin, &["show", &format!("main:NOTES-{n}.md")]),
            format!("theirs {n}\n")
        );
    }
    let staging = git(
        &origin,
        &["show", "main:overlays/staging/kustomization.yaml"],
    );
    assert!(
        staging.starts_with("# theirs 2\n"),
        "their edit is kept: {staging}"
    );
    assert!(
        staging.ends_with("# promoted\n"),
        "ours is on top: {staging}"
    );
}
