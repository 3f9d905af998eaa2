//! `source` against real repositories made with git2 in temporary directories: local reads of
//! committed trees, revision resolution, bare mirror clones of `file://` remotes, history per
//! path with paging, and commits written without a checkout.

use std::path::Path;

use driftdeck::source::{Author, EntryKind, Error, RepoSpec, Source};
use git2::{Repository, Signature, Time};
use tempfile::TempDir;

/// A non-bare repository on `main` with a working tree.
fn init(dir: &Path) -> Repository {
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    Repository::init_opts(dir, &opts).unwrap()
}

/// Writes `files` into the working tree (None deletes), stages everything and commits at
/// `time` (seconds) as `author`; returns the sha.
fn commit(repo: &Repository, files: &[(&str, Option<&str>)], msg: &str, time: i64) -> String {
    commit_as(repo, files, msg, time, "Ada")
}

fn commit_as(
    repo: &Repository,
    files: &[(&str, Option<&str>)],
    msg: &str,
    time: i64,
    author: &str,
) -> String {
    let root = repo.workdir().unwrap();
    for (path, content) in files {
        let full = root.join(path);
        match content {
            Some(text) => {
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                std::fs::write(&full, text).unwrap();
            }
            None => std::fs::remove_file(&full).unwrap(),
        }
    }
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.update_all(["*"].iter(), None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::new(
        author,
        &format!("{}@example.com", author.to_lowercase()),
        &Time::new(time, 0),
    )
    .unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, msg, &tree, &parents)
        .unwrap()
        .to_string()
}

fn local(dir: &Path) -> Source {
    let spec = RepoSpec {
        url: dir.to_str().unwrap().to_owned(),
        branch: "main".into(),
    };
    Source::open(&spec, &dir.join("unused-cache")).unwrap()
}

fn text(source: &Source, sha: &str, path: &str) -> String {
    String::from_utf8(source.tree(sha).unwrap().read(path).unwrap()).unwrap()
}

#[test]
fn local_repo_reads_the_committed_tree_not_the_working_tree() {
    let tmp = TempDir::new().unwrap();
    let repo = init(tmp.path());
    commit(
        &repo,
        &[
            ("base/deployment.yaml", Some("replicas: 1\n")),
            (
                "overlays/dev/kustomization.yaml",
                Some("resources: [../../base]\n"),
            ),
        ],
        "initial",
        1_700_000_000,
    );
    // Uncommitted edits and files must stay invisible.
    std::fs::write(tmp.path().join("base/deployment.yaml"), "replicas: 99\n").unwrap();
    std::fs::write(tmp.path().join("base/new.yaml"), "x: 1\n").unwrap();

    let source = local(tmp.path());
    assert!(!source.is_remote());
    let head = source.resolve(None).unwrap();
    assert_eq!(head.requested, "main");
    let tree = source.tree(&head.sha).unwrap();
    assert_eq!(tree.read("base/deployment.yaml").unwrap(), b"replicas: 1\n");
    assert_eq!(tree.kind("base/new.yaml"), None);
    assert_eq!(tree.list("base").unwrap(), vec!["deployment.yaml"]);
    assert_eq!(tree.list("").unwrap(), vec!["base", "overlays"]);
    assert_eq!(tree.list(".").unwrap(), vec!["base", "overlays"]);
    assert_eq!(tree.kind("overlays/dev"), Some(EntryKind::Dir));
    assert_eq!(
        tree.kind("overlays/dev/../../base/deployment.yaml"),
        Some(EntryKind::File)
    );
    assert!(matches!(
        tree.read("overlays/../../etc/passwd"),
        Err(Error::OutsideRoot { .. })
    ));
    let missing = tree.read("base/nope.yaml").unwrap_err().to_string();
    assert!(
        missing.starts_with("base/nope.yaml: no such file"),
        "{missing}"
    );
    assert!(matches!(tree.read("base"), Err(Error::IsADirectory { .. })));
    assert!(matches!(
        tree.list("base/deployment.yaml"),
        Err(Error::NotADirectory { .. })
    ));
    // A local repository has nothing to fetch and, untouched, has not changed.
    assert!(!source.fetch().unwrap());
}

#[test]
fn local_fetch_reports_a_moved_branch() {
    let tmp = TempDir::new().unwrap();
    let repo = init(tmp.path());
    commit(&repo, &[("a", Some("1"))], "one", 1_700_000_000);
    let source = local(tmp.path());
    let second = commit(&repo, &[("a", Some("2"))], "two", 1_700_000_100);
    assert!(source.fetch().unwrap());
    assert!(!source.fetch().unwrap());
    assert_eq!(source.resolve(None).unwrap().sha, second);
}

#[test]
fn symlinks_in_the_tree_are_followed() {
    let tmp = TempDir::new().unwrap();
    let repo = init(tmp.path());
    commit(&repo, &[("base/app.yaml", Some("kind: App\n"))], "base", 1);
    std::fs::create_dir_all(tmp.path().join("env")).unwrap();
    std::os::unix::fs::symlink("../base", tmp.path().join("env/base")).unwrap();
    std::os::unix::fs::symlink("loop", tmp.path().join("loop")).unwrap();
    let sha = commit(&repo, &[], "links", 2);
    let source = local(tmp.path());
    let tree = source.tree(&sha).unwrap();
    assert_eq!(tree.kind("env/base"), Some(EntryKind::Dir));
    assert_eq!(tree.read("env/base/app.yaml").unwrap(), b"kind: App\n");
    assert_eq!(tree.list("env/base").unwrap(), vec!["app.yaml"]);
    assert!(matches!(tree.read("loop"), Err(Error::SymlinkLoop { .. })));
}

#[test]
fn resolve_names_branches_tags_shas_and_head() {
    let tmp = TempDir::new().unwrap();
    let repo = init(tmp.path());
    let first = commit(&repo, &[("a", Some("1"))], "one", 1_700_000_000);
    let obj = repo.revparse_single(&first).unwrap();
    repo.tag_lightweight("v1", &obj, false).unwrap();
    let sig = Signature::now("Ada", "ada@example.com").unwrap();
    repo.tag("v1-annotated", &obj, &sig, "release", false)
        .unwrap();
    let second = commit(&repo, &[("a", Some("2"))], "two", 1_700_000_100);
    // A checkout of another branch must not change what HEAD means to driftdeck.
    let head = repo
        .find_commit(git2::Oid::from_str(&first).unwrap())
        .unwrap();
    repo.branch("other", &head, false).unwrap();
    repo.set_head("refs/heads/other").unwrap();

    let source = local(tmp.path());
    let sha = |rev: &str| source.resolve(Some(rev)).unwrap().sha;
    assert_eq!(source.resolve(None).unwrap().sha, second);
    assert_eq!(sha("main"), second);
    assert_eq!(sha("HEAD"), second);
    assert_eq!(sha("HEAD~1"), first);
    assert_eq!(sha("v1"), first);
    assert_eq!(sha("v1-annotated"), first);
    assert_eq!(sha(&first), first);
    assert_eq!(sha(&first[..7]), first);
    assert_eq!(sha("other"), first);
    let revision = source.resolve(Some("v1")).unwrap();
    assert_eq!(revision.requested, "v1");

    let err = source.resolve(Some("no-such-rev")).unwrap_err();
    assert!(matches!(err, Error::UnknownRevision { .. }));
    let message = err.to_string();
    assert!(
        message.contains("unknown revision \"no-such-rev\""),
        "{message}"
    );
    assert!(message.contains(tmp.path().to_str().unwrap()), "{message}");
    assert!(matches!(
        source.resolve(Some("deadbeefdeadbeef")),
        Err(Error::UnknownRevision { .. })
    ));
    assert!(matches!(
        source.resolve(Some("main:a")),
        Err(Error::NotACommit { .. })
    ));
}

#[test]
fn a_missing_branch_is_a_clear_error() {
    let tmp = TempDir::new().unwrap();
    let repo = init(tmp.path());
    commit(&repo, &[("a", Some("1"))], "one", 1);
    let spec = RepoSpec {
        url: tmp.path().to_str().unwrap().to_owned(),
        branch: "release".into(),
    };
    let err = Source::open(&spec, tmp.path()).err().unwrap().to_string();
    assert!(err.contains("branch \"release\" not found"), "{err}");
}

#[test]
fn remote_is_cloned_bare_into_the_cache_and_fetch_sees_new_commits() {
    let origin_dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let origin = init(origin_dir.path());
    let first = commit(
        &origin,
        &[("app.yaml", Some("v: 1\n"))],
        "one",
        1_700_000_000,
    );
    let url = format!("file://{}", origin_dir.path().display());
    let spec = RepoSpec {
        url: url.clone(),
        branch: "main".into(),
    };

    let source = Source::open(&spec, cache.path()).unwrap();
    assert!(source.is_remote());
    assert!(source.git_dir().starts_with(cache.path()));
    assert!(Repository::open(source.git_dir()).unwrap().is_bare());
    assert_eq!(source.resolve(None).unwrap().sha, first);

    let second = commit(
        &origin,
        &[("app.yaml", Some("v: 2\n"))],
        "two",
        1_700_000_100,
    );
    let tag_target = origin.revparse_single(&second).unwrap();
    origin.tag_lightweight("v2", &tag_target, false).unwrap();
    assert_eq!(source.resolve(None).unwrap().sha, first, "no fetch yet");
    assert!(source.fetch().unwrap());
    assert_eq!(source.resolve(None).unwrap().sha, second);
    assert_eq!(source.resolve(Some("v2")).unwrap().sha, second);
    assert_eq!(text(&source, &second, "app.yaml"), "v: 2\n");
    assert!(!source.fetch().unwrap(), "nothing new the second time");

    // Reopening uses the existing clone (no second directory in the cache).
    drop(source);
    let again = Source::open(&spec, cache.path()).unwrap();
    assert_eq!(again.resolve(None).unwrap().sha, second);
    let entries = std::fs::read_dir(cache.path()).unwrap().count();
    assert_eq!(entries, 1);
}

#[test]
fn an_unreachable_remote_names_the_url_and_leaves_no_cache() {
    let cache = TempDir::new().unwrap();
    let spec = RepoSpec {
        url: "file:///nonexistent".into(),
        branch: "main".into(),
    };
    let err = Source::open(&spec, cache.path()).err().unwrap();
    assert!(matches!(err, Error::Remote { .. }));
    let message = err.to_string();
    eprintln!("{message}");
    assert!(
        message.starts_with("clone file:///nonexistent: "),
        "{message}"
    );
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn a_remote_without_the_branch_is_refused() {
    let origin_dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let origin = init(origin_dir.path());
    commit(&origin, &[("a", Some("1"))], "one", 1);
    let spec = RepoSpec {
        url: format!("file://{}", origin_dir.path().display()),
        branch: "release".into(),
    };
    let message = Source::open(&spec, cache.path()).err().unwrap().to_string();
    assert!(message.contains("no branch \"release\""), "{message}");
}

/// A history: commits touching dev, staging, base and unrelated paths, in time order.
fn history_repo(dir: &Path) -> (Repository, Vec<String>) {
    let repo = init(dir);
    let mut shas = Vec::new();
    let steps: &[(&str, &str)] = &[
        ("base/deployment.yaml", "r: 1"),                // 0 base
        ("overlays/dev/kustomization.yaml", "t: 1"),     // 1 dev
        ("docs/readme.md", "hello"),                     // 2 unrelated
        ("overlays/staging/kustomization.yaml", "t: 1"), // 3 staging
        ("overlays/dev/kustomization.yaml", "t: 2"),     // 4 dev
        ("docs/readme.md", "hello again"),               // 5 unrelated
        ("overlays/dev/patch.yaml", "p: 1"),             // 6 dev (new file in folder)
        ("base/deployment.yaml", "r: 2"),                // 7 base
        ("overlays/dev/kustomization.yaml", "t: 3"),     // 8 dev
    ];
    for (i, (path, content)) in steps.iter().enumerate() {
        let author = if i % 2 == 0 { "Ada" } else { "Grace" };
        shas.push(commit_as(
            &repo,
            &[(path, Some(content))],
            &format!("step {i}"),
            1_700_000_000 + i as i64 * 60,
            author,
        ));
    }
    (repo, shas)
}

#[test]
fn history_filters_by_folder_and_file_newest_first() {
    let tmp = TempDir::new().unwrap();
    let (_repo, shas) = history_repo(tmp.path());
    let source = local(tmp.path());
    let paths = |ps: &[&str]| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    let summaries = |commits: &[driftdeck::model::Commit]| {
        commits
            .iter()
            .map(|c| c.summary.clone())
            .collect::<Vec<_>>()
    };

    let dev = source
        .history(&paths(&["overlays/dev", "base"]), None, 0, 50)
        .unwrap();
    assert_eq!(
        summaries(&dev),
        ["step 8", "step 7", "step 6", "step 4", "step 1", "step 0"]
    );
    assert_eq!(dev[0].sha, shas[8]);
    assert_eq!(dev[0].files, vec!["overlays/dev/kustomization.yaml"]);
    assert_eq!(dev[0].author, "Ada");
    assert_eq!(dev[0].email, "ada@example.com");
    assert_eq!(dev[0].time.as_second(), 1_700_000_000 + 8 * 60);
    assert_eq!(dev[1].author, "Grace");
    assert_eq!(dev[2].files, vec!["overlays/dev/patch.yaml"]);
    assert!(dev.windows(2).all(|w| w[0].time > w[1].time));

    // One file only; a trailing slash and `./` are tolerated.
    let file = source
        .history(&paths(&["./overlays/dev/kustomization.yaml"]), None, 0, 50)
        .unwrap();
    assert_eq!(summaries(&file), ["step 8", "step 4", "step 1"]);
    let staging = source
        .history(&paths(&["overlays/staging/"]), None, 0, 50)
        .unwrap();
    assert_eq!(summaries(&staging), ["step 3"]);
    let nothing = source.history(&paths(&["nowhere"]), None, 0, 50).unwrap();
    assert!(nothing.is_empty());
    let everything = source.history(&paths(&[""]), None, 0, 50).unwrap();
    assert_eq!(everything.len(), shas.len());
}

#[test]
fn history_pages_with_skip_and_limit_and_starts_where_asked() {
    let tmp = TempDir::new().unwrap();
    let (_repo, shas) = history_repo(tmp.path());
    let source = local(tmp.path());
    let env = vec!["overlays/dev".to_string(), "base".to_string()];
    let page = |skip, limit| {
        source
            .history(&env, None, skip, limit)
            .unwrap()
            .into_iter()
            .map(|c| c.summary)
            .collect::<Vec<_>>()
    };
    assert_eq!(page(0, 2), ["step 8", "step 7"]);
    assert_eq!(page(2, 2), ["step 6", "step 4"]);
    assert_eq!(page(4, 2), ["step 1", "step 0"]);
    assert!(page(6, 2).is_empty());
    assert!(page(0, 0).is_empty());
    let older = source.history(&env, Some(&shas[5]), 0, 50).unwrap();
    let older: Vec<_> = older.iter().map(|c| c.summary.as_str()).collect();
    assert_eq!(older, ["step 4", "step 1", "step 0"]);
}

#[test]
fn commit_lists_files_changed_against_the_first_parent() {
    let tmp = TempDir::new().unwrap();
    let repo = init(tmp.path());
    let root = commit(&repo, &[("a", Some("1")), ("d/b", Some("2"))], "root", 1);
    let second = commit(
        &repo,
        &[("a", Some("3")), ("d/b", None), ("d/c", Some("4"))],
        "two",
        2,
    );
    let source = local(tmp.path());
    assert_eq!(source.commit(&root).unwrap().files, vec!["a", "d/b"]);
    let two = source.commit(&second[..8]).unwrap();
    assert_eq!(two.sha, second);
    assert_eq!(two.short_sha(), &second[..7]);
    assert_eq!(two.summary, "two");
    assert_eq!(two.files, vec!["a", "d/b", "d/c"]);
}

#[test]
fn commit_files_writes_a_commit_and_keeps_a_clean_checkout_in_step() {
    let tmp = TempDir::new().unwrap();
    let repo = init(tmp.path());
    let before = commit(
        &repo,
        &[
            ("overlays/dev/kustomization.yaml", Some("tag: 1\n")),
            ("overlays/dev/old.yaml", Some("old\n")),
            ("base/app.yaml", Some("app\n")),
        ],
        "initial",
        1,
    );
    let source = local(tmp.path());
    let author = Author {
        name: "Promoter".into(),
        email: "promoter@example.com".into(),
    };
    let edits = vec![
        (
            "overlays/dev/kustomization.yaml".to_string(),
            Some(b"tag: 2\n".to_vec()),
        ),
        ("overlays/dev/old.yaml".to_string(), None),
        (
            "overlays/prod/new/kustomization.yaml".to_string(),
            Some(b"new\n".to_vec()),
        ),
    ];
    let sha = source
        .commit_files("main", &edits, "promote(dev→prod): app 1 → 2", &author)
        .unwrap();

    assert_eq!(source.resolve(None).unwrap().sha, sha);
    let commit = source.commit(&sha).unwrap();
    assert_eq!(commit.summary, "promote(dev→prod): app 1 → 2");
    assert_eq!(commit.author, "Promoter");
    assert_eq!(
        commit.files,
        vec![
            "overlays/dev/kustomization.yaml",
            "overlays/dev/old.yaml",
            "overlays/prod/new/kustomization.yaml"
        ]
    );
    let parent = repo
        .find_commit(git2::Oid::from_str(&sha).unwrap())
        .unwrap();
    assert_eq!(parent.parent_id(0).unwrap().to_string(), before);
    assert_eq!(
        text(&source, &sha, "overlays/dev/kustomization.yaml"),
        "tag: 2\n"
    );
    assert_eq!(text(&source, &sha, "base/app.yaml"), "app\n");
    let tree = source.tree(&sha).unwrap();
    assert_eq!(
        tree.list("overlays/dev").unwrap(),
        vec!["kustomization.yaml"]
    );
    // The checked-out branch's clean worktree and index follow the commit: nothing shows as a
    // staged reversal, and a later `git commit -a` cannot undo it.
    let on_disk =
        std::fs::read_to_string(tmp.path().join("overlays/dev/kustomization.yaml")).unwrap();
    assert_eq!(on_disk, "tag: 2\n");
    assert!(!tmp.path().join("overlays/dev/old.yaml").exists());
    let statuses = repo.statuses(None).unwrap();
    let dirty: Vec<_> = statuses
        .iter()
        .filter_map(|e| e.path().ok().map(str::to_owned))
        .collect();
    assert!(dirty.is_empty(), "git status after the commit: {dirty:?}");

    // Deleting the last file of a folder removes the folder.
    let gone = source
        .commit_files(
            "main",
            &[("overlays/prod/new/kustomization.yaml".into(), None)],
            "drop prod",
            &author,
        )
        .unwrap();
    assert_eq!(source.tree(&gone).unwrap().kind("overlays/prod"), None);

    // Edits that change nothing are refused, as are paths outside the tree.
    let same = source.commit_files(
        "main",
        &[("base/app.yaml".into(), Some(b"app\n".to_vec()))],
        "noop",
        &author,
    );
    assert!(matches!(same, Err(Error::NothingToCommit { .. })));
    let outside = source.commit_files(
        "main",
        &[("../x".into(), Some(b"x".to_vec()))],
        "bad",
        &author,
    );
    assert!(matches!(outside, Err(Error::OutsideRoot { .. })));
    let through_file = source.commit_files(
        "main",
        &[("base/app.yaml/inner".into(), Some(b"x".to_vec()))],
        "bad",
        &author,
    );
    assert!(matches!(through_file, Err(Error::InvalidPath { .. })));
    assert_eq!(
        source.resolve(None).unwrap().sha,
        gone,
        "failed edits leave the branch"
    );
}

#[test]
fn commit_files_creates_a_missing_branch_with_a_root_commit() {
    let tmp = TempDir::new().unwrap();
    let repo = init(tmp.path());
    commit(&repo, &[("a", Some("1"))], "one", 1);
    let source = local(tmp.path());
    let author = Author {
        name: "Bot".into(),
        email: "bot@example.com".into(),
    };
    let sha = source
        .commit_files(
            "fresh",
            &[("x/y".into(), Some(b"z".to_vec()))],
            "start",
            &author,
        )
        .unwrap();
    let fresh = repo
        .find_commit(git2::Oid::from_str(&sha).unwrap())
        .unwrap();
    assert_eq!(fresh.parent_count(), 0);
    assert_eq!(source.resolve(Some("fresh")).unwrap().sha, sha);
    assert_eq!(text(&source, &sha, "x/y"), "z");
}

#[test]
fn an_existing_clone_fetches_a_branch_it_does_not_have_yet() {
    let origin_dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let origin = init(origin_dir.path());
    let first = commit(&origin, &[("a", Some("1"))], "one", 1);
    let head = origin.head().unwrap().peel_to_commit().unwrap();
    origin.branch("release", &head, false).unwrap();
    let url = format!("file://{}", origin_dir.path().display());
    let main = RepoSpec {
        url: url.clone(),
        branch: "main".into(),
    };
    drop(Source::open(&main, cache.path()).unwrap());
    let release = RepoSpec {
        url,
        branch: "release".into(),
    };
    let source = Source::open(&release, cache.path()).unwrap();
    assert_eq!(source.resolve(None).unwrap().sha, first);
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1);
}

#[test]
fn history_pages_cheaply_from_the_last_commit_returned() {
    let tmp = TempDir::new().unwrap();
    let (_repo, _shas) = history_repo(tmp.path());
    let source = local(tmp.path());
    let env = vec!["overlays/dev".to_string(), "base".to_string()];
    let first = source.history(&env, None, 0, 3).unwrap();
    let last = &first.last().unwrap().sha;
    let next = source.history(&env, Some(last), 1, 3).unwrap();
    let by_skip = source.history(&env, None, 3, 3).unwrap();
    assert_eq!(next, by_skip);
    assert_eq!(next[0].summary, "step 4");
}

#[test]
fn a_source_can_move_into_a_blocking_task() {
    fn assert_send<T: Send>() {}
    assert_send::<Source>();
    assert_send::<Error>();
}

#[test]
fn a_failed_fetch_names_the_url_and_keeps_the_last_good_state() {
    let origin_dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let origin = init(origin_dir.path());
    let first = commit(&origin, &[("a", Some("1"))], "one", 1);
    let url = format!("file://{}", origin_dir.path().display());
    let spec = RepoSpec {
        url: url.clone(),
        branch: "main".into(),
    };
    let source = Source::open(&spec, cache.path()).unwrap();
    drop(origin);
    std::fs::remove_dir_all(origin_dir.path()).unwrap();
    let message = source.fetch().unwrap_err().to_string();
    assert!(message.starts_with(&format!("fetch {url}: ")), "{message}");
    // The mirror still answers with what it had.
    assert_eq!(source.resolve(None).unwrap().sha, first);
    assert_eq!(text(&source, &first, "a"), "1");
}
