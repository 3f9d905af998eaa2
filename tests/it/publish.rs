//! `Source::publish` and `Source::revert_range` against real repositories in temp dirs: local
//! commits, pushes to a bare `file://` remote, a rejected push re-made once on the fetched head,
//! a remote that keeps moving (reported, nothing forced, nothing left in the mirror), and the
//! path-level three-way revert with its conflict and its "nothing to revert" second run.

use std::cell::Cell;
use std::path::Path;

use driftdeck::source::{Author, Edit, Error, RepoSpec, Source};
use git2::Repository;
use tempfile::TempDir;

fn me() -> Author {
    Author {
        name: "Ops Bot".into(),
        email: "ops@example.com".into(),
    }
}

/// `user.name` from the default git config (global, system), else `fallback`.
pub fn configured_user(fallback: &str) -> String {
    git2::Config::open_default()
        .and_then(|c| c.get_string("user.name"))
        .unwrap_or_else(|_| fallback.to_owned())
}

fn other() -> Author {
    Author {
        name: "Someone Else".into(),
        email: "else@example.com".into(),
    }
}

/// A bare repository on `main` with `files` as its first commit.
fn bare_origin(dir: &Path, files: &[(&str, &str)]) -> Source {
    let mut opts = git2::RepositoryInitOptions::new();
    opts.bare(true).initial_head("main");
    let repo = Repository::init_opts(dir, &opts).unwrap();
    seed(&repo, files, "initial");
    open(dir.to_str().unwrap(), dir)
}

/// The root commit of an empty repository (flat file names), made with git2 directly: a
/// `Source` opens only a repository that has its branch.
pub fn seed(repo: &Repository, files: &[(&str, &str)], message: &str) {
    let mut builder = repo.treebuilder(None).unwrap();
    for (name, content) in files {
        let blob = repo.blob(content.as_bytes()).unwrap();
        builder.insert(name, blob, 0o100644).unwrap();
    }
    let tree = repo.find_tree(builder.write().unwrap()).unwrap();
    let sig = git2::Signature::now("Someone Else", "else@example.com").unwrap();
    repo.commit(Some("refs/heads/main"), &sig, &sig, message, &tree, &[])
        .unwrap();
}

fn open(url: &str, cache: &Path) -> Source {
    let spec = RepoSpec {
        url: url.to_owned(),
        branch: "main".into(),
    };
    Source::open(&spec, cache).unwrap()
}

fn write(source: &Source, files: &[(&str, &str)], message: &str, author: &Author) -> String {
    let edits: Vec<Edit> = files
        .iter()
        .map(|(p, c)| ((*p).to_owned(), Some(c.as_bytes().to_vec())))
        .collect();
    source
        .commit_files("main", &edits, message, author)
        .unwrap()
}

fn head(source: &Source) -> String {
    source.resolve(None).unwrap().sha
}

fn read(source: &Source, rev: &str, path: &str) -> Option<String> {
    source
        .tree(rev)
        .unwrap()
        .read(path)
        .ok()
        .map(|b| String::from_utf8(b).unwrap())
}

/// `make` for publish: sets `path` to `content`.
fn set(path: &str, content: &str) -> (Vec<Edit>, String) {
    (
        vec![(path.to_owned(), Some(content.as_bytes().to_vec()))],
        format!("set {path}"),
    )
}

#[test]
fn local_publish_commits_on_the_branch_without_pushing() {
    let dir = TempDir::new().unwrap();
    let origin = bare_origin(dir.path(), &[("a.txt", "1\n")]);
    let before = head(&origin);
    let published = origin
        .publish(
            |tree| {
                assert_eq!(tree.read("a.txt").unwrap(), b"1\n");
                Ok(set("a.txt", "2\n"))
            },
            &me(),
        )
        .unwrap();
    assert!(!published.pushed && !published.rebased);
    assert_eq!(published.summary, "set a.txt");
    assert_eq!(head(&origin), published.sha);
    assert_eq!(origin.commit(&published.sha).unwrap().files, vec!["a.txt"]);
    assert_eq!(read(&origin, &before, "a.txt").as_deref(), Some("1\n"));
    assert_eq!(
        read(&origin, &published.sha, "a.txt").as_deref(),
        Some("2\n")
    );
}

#[test]
fn remote_publish_pushes_to_the_bare_origin() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let origin = bare_origin(dir.path(), &[("a.txt", "1\n")]);
    let url = format!("file://{}", dir.path().display());
    let mirror = open(&url, cache.path());
    assert!(mirror.is_remote());
    let published = mirror.publish(|_| Ok(set("a.txt", "2\n")), &me()).unwrap();
    assert!(published.pushed && !published.rebased);
    assert_eq!(head(&origin), published.sha, "the origin has the commit");
    assert_eq!(head(&mirror), published.sha);
    let commit = origin.commit(&published.sha).unwrap();
    // The committer is the git config's user (the operator only when none is configured).
    assert_eq!(commit.author, configured_user("Ops Bot"));
}

#[test]
fn a_rejected_push_is_remade_on_the_fetched_head_once_and_keeps_both_commits() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let origin = bare_origin(dir.path(), &[("a.txt", "1\n"), ("b.txt", "1\n")]);
    let mirror = open(&format!("file://{}", dir.path().display()), cache.path());
    let calls = Cell::new(0);
    let theirs = std::cell::RefCell::new(String::new());
    let published = mirror
        .publish(
            |tree| {
                calls.set(calls.get() + 1);
                if calls.get() == 1 {
                    // Another clone pushes a non-conflicting change after our fetch.
                    *theirs.borrow_mut() = write(&origin, &[("b.txt", "2\n")], "theirs", &other());
                } else {
                    assert_eq!(tree.read("b.txt").unwrap(), b"2\n", "made on the new head");
                }
                Ok(set("a.txt", "2\n"))
            },
            &me(),
        )
        .unwrap();
    assert_eq!(calls.get(), 2);
    assert!(published.pushed && published.rebased);
    assert_eq!(head(&origin), published.sha);
    let history = origin.history(&[String::new()], None, 0, 10).unwrap();
    let summaries: Vec<&str> = history.iter().map(|c| c.summary.as_str()).collect();
    assert_eq!(summaries, vec!["set a.txt", "theirs", "initial"]);
    assert_eq!(history[1].sha, *theirs.borrow());
    assert_eq!(read(&origin, "HEAD", "a.txt").as_deref(), Some("2\n"));
    assert_eq!(read(&origin, "HEAD", "b.txt").as_deref(), Some("2\n"));
}

#[test]
fn a_remote_that_keeps_moving_is_reported_and_nothing_is_forced() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let origin = bare_origin(dir.path(), &[("a.txt", "1\n")]);
    let mirror = open(&format!("file://{}", dir.path().display()), cache.path());
    let calls = Cell::new(0);
    let err = mirror
        .publish(
            |_| {
                calls.set(calls.get() + 1);
                let n = calls.get().to_string();
                write(
                    &origin,
                    &[("a.txt", &format!("theirs {n}\n"))],
                    &n,
                    &other(),
                );
                Ok(set("a.txt", "ours\n"))
            },
            &me(),
        )
        .unwrap_err();
    assert_eq!(calls.get(), 4, "three retries, no more");
    let message = err.to_string();
    assert!(
        matches!(err, Error::Remote { action: "push", .. }),
        "{err:?}"
    );
    assert!(message.contains("rejected 4 times"), "{message}");
    assert!(message.contains("nothing was forced"), "{message}");
    // The other writer's commit is the origin's head: we forced nothing.
    let origin_head = origin.commit("HEAD").unwrap();
    assert_eq!(origin_head.summary, "4");
    assert_eq!(
        read(&origin, "HEAD", "a.txt").as_deref(),
        Some("theirs 4\n")
    );
    // The mirror holds no unpublished commit: its branch is a commit the origin has.
    let mirror_head = head(&mirror);
    assert_eq!(mirror.commit(&mirror_head).unwrap().author, "Someone Else");
    assert!(origin.commit(&mirror_head).is_ok());
    // A later publish starts from the remote's head and lands.
    let published = mirror
        .publish(|_| Ok(set("a.txt", "ours\n")), &me())
        .unwrap();
    assert!(published.pushed && !published.rebased);
    assert_eq!(head(&origin), published.sha);
}

#[test]
fn a_failed_push_leaves_no_commit_in_the_mirror() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    bare_origin(dir.path(), &[("a.txt", "1\n")]);
    let mirror = open(&format!("file://{}", dir.path().display()), cache.path());
    let before = head(&mirror);
    // The origin vanishes after the fetch: the push fails outright.
    let gone = dir.path().with_extension("gone");
    let err = mirror
        .publish(
            |_| {
                std::fs::rename(dir.path(), &gone).unwrap();
                Ok(set("a.txt", "2\n"))
            },
            &me(),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Remote { action: "push", .. }),
        "{err:?}"
    );
    assert_eq!(head(&mirror), before, "the unpushed commit was taken back");
    std::fs::rename(&gone, dir.path()).unwrap();
}

/// The full message of commit `sha`.
fn message_of(source: &Source, sha: &str) -> String {
    let repo = Repository::open_bare(source.git_dir()).unwrap();
    repo.find_commit(git2::Oid::from_str(sha).unwrap())
        .unwrap()
        .message()
        .unwrap()
        .to_owned()
}

/// A repo with history: initial (a=1, b=1, c=1), good; then bad1 (a=2), bad2 (b=2, new d).
fn revert_repo(dir: &Path) -> (Source, String, String) {
    let source = bare_origin(dir, &[("a.txt", "1\n"), ("b.txt", "1\n"), ("c.txt", "1\n")]);
    let good = head(&source);
    write(&source, &[("a.txt", "2\n")], "bump a", &other());
    let bad = write(
        &source,
        &[("b.txt", "2\n"), ("d.txt", "new\n")],
        "bump b, add d",
        &other(),
    );
    (source, good, bad)
}

#[test]
fn revert_range_restores_good_and_a_second_revert_finds_nothing() {
    let dir = TempDir::new().unwrap();
    let (source, good, bad) = revert_repo(dir.path());
    // A later, unrelated commit stays.
    write(&source, &[("c.txt", "3\n")], "bump c", &other());
    let published = source
        .revert_range(&good, &bad, None, &me(), &|_| true)
        .unwrap();
    assert!(!published.pushed);
    assert_eq!(published.summary, "Revert \"bump b, add d\"");
    let head_sha = head(&source);
    assert_eq!(published.sha, head_sha);
    assert_eq!(read(&source, &head_sha, "a.txt").as_deref(), Some("1\n"));
    assert_eq!(read(&source, &head_sha, "b.txt").as_deref(), Some("1\n"));
    assert_eq!(
        read(&source, &head_sha, "d.txt"),
        None,
        "added file removed"
    );
    assert_eq!(read(&source, &head_sha, "c.txt").as_deref(), Some("3\n"));
    let message = message_of(&source, &head_sha);
    assert!(message.contains(&bad), "{message}");
    let mut files = source.commit(&head_sha).unwrap().files;
    files.sort();
    assert_eq!(files, vec!["a.txt", "b.txt", "d.txt"]);

    let again = source
        .revert_range(&good, &bad, None, &me(), &|_| true)
        .unwrap_err();
    assert!(matches!(again, Error::NothingToCommit { .. }), "{again:?}");
    assert_eq!(head(&source), head_sha);
}

#[test]
fn revert_range_reverts_only_the_paths_in_scope_and_names_what_it_kept() {
    let dir = TempDir::new().unwrap();
    // bad1 changed a (the rolled-back env's file); bad2 changed b (its file) and added d
    // (another env's file, which must stay).
    let (source, good, bad) = revert_repo(dir.path());
    let scope = |path: &str| path != "d.txt";
    let published = source
        .revert_range(&good, &bad, None, &me(), &scope)
        .unwrap();
    let head_sha = head(&source);
    assert_eq!(published.sha, head_sha);
    assert_eq!(read(&source, &head_sha, "a.txt").as_deref(), Some("1\n"));
    assert_eq!(read(&source, &head_sha, "b.txt").as_deref(), Some("1\n"));
    assert_eq!(
        read(&source, &head_sha, "d.txt").as_deref(),
        Some("new\n"),
        "another env's change stays"
    );
    let mut files = source.commit(&head_sha).unwrap().files;
    files.sort();
    assert_eq!(files, vec!["a.txt", "b.txt"]);
    let message = message_of(&source, &head_sha);
    assert!(
        message.contains("Kept (outside the rolled-back environment):\n  d.txt"),
        "{message}"
    );
}

#[test]
fn revert_range_refuses_to_clobber_a_later_change_and_names_it() {
    let dir = TempDir::new().unwrap();
    let (source, good, bad) = revert_repo(dir.path());
    let later = write(&source, &[("b.txt", "3\n")], "hotfix b", &other());
    let before = head(&source);
    let err = source
        .revert_range(&good, &bad, Some("operator's message"), &me(), &|_| true)
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::RevertConflict { .. }), "{err:?}");
    assert!(message.contains("b.txt"), "{message}");
    assert!(message.contains(&later[..7]), "{message}");
    assert!(message.contains("hotfix b"), "{message}");
    assert_eq!(head(&source), before, "nothing committed");
}

#[test]
fn revert_range_takes_the_operators_message_and_pushes_when_remote() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let (origin, good, bad) = revert_repo(dir.path());
    let mirror = open(&format!("file://{}", dir.path().display()), cache.path());
    let published = mirror
        .revert_range(&good, &bad, Some("roll back the b bump"), &me(), &|_| true)
        .unwrap();
    assert!(published.pushed);
    assert_eq!(published.summary, "roll back the b bump");
    assert_eq!(head(&origin), published.sha);
    assert_eq!(read(&origin, "HEAD", "b.txt").as_deref(), Some("1\n"));
}

#[test]
fn revert_range_needs_good_before_bad() {
    let dir = TempDir::new().unwrap();
    let (source, good, bad) = revert_repo(dir.path());
    let err = source
        .revert_range(&bad, &good, None, &me(), &|_| true)
        .unwrap_err();
    assert!(matches!(err, Error::NotAncestor { .. }), "{err:?}");
    assert!(
        err.to_string().contains("not a first-parent ancestor"),
        "{err}"
    );
}

#[test]
fn a_conflicting_concurrent_push_is_reported_and_the_other_writer_keeps_the_branch() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let origin = bare_origin(dir.path(), &[("a.txt", "1\n")]);
    let mirror = open(&format!("file://{}", dir.path().display()), cache.path());
    let calls = Cell::new(0);
    let theirs = std::cell::RefCell::new(String::new());
    // Our change is "a: 1 → 2"; the other writer changes a.txt too, after our fetch.
    let err = mirror
        .publish(
            |tree| {
                calls.set(calls.get() + 1);
                if calls.get() == 1 {
                    *theirs.borrow_mut() = write(&origin, &[("a.txt", "5\n")], "theirs", &other());
                }
                if tree.read("a.txt").unwrap() != b"1\n" {
                    return Err(Error::InvalidPath {
                        path: "a.txt".into(),
                        reason: "changed by someone else meanwhile",
                    });
                }
                Ok(set("a.txt", "2\n"))
            },
            &me(),
        )
        .unwrap_err();
    assert_eq!(calls.get(), 2, "re-made once on the fetched head");
    assert!(err.to_string().contains("a.txt"), "{err}");
    assert_eq!(
        head(&origin),
        *theirs.borrow(),
        "nothing forced over theirs"
    );
    assert_eq!(read(&origin, "HEAD", "a.txt").as_deref(), Some("5\n"));
    assert_eq!(
        head(&mirror),
        *theirs.borrow(),
        "the mirror holds nothing of ours"
    );
}

/// `git daemon` serving `base` over `git://` on loopback with push enabled; killed on drop.
struct Daemon {
    child: std::process::Child,
    port: u16,
}

impl Daemon {
    fn start(base: &Path) -> Daemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // `git daemon` would run git-daemon as its child, which outlives a kill of `git`.
        let exec_path = std::process::Command::new("git")
            .arg("--exec-path")
            .output()
            .expect("git (needed for the git:// push tests)");
        let exec_path = String::from_utf8(exec_path.stdout).unwrap();
        let child = std::process::Command::new(Path::new(exec_path.trim()).join("git-daemon"))
            .arg("--reuseaddr")
            .arg("--export-all")
            .arg("--enable=receive-pack")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "git daemon did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Daemon { child, port }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn over_git_protocol_pushes_land_and_a_declined_push_is_not_taken_for_success() {
    let base = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let origin_dir = base.path().join("origin.git");
    let origin = bare_origin(&origin_dir, &[("a.txt", "1\n")]);
    let daemon = Daemon::start(base.path());
    let url = format!("git://127.0.0.1:{}/origin.git", daemon.port);
    let mirror = open(&url, cache.path());

    // A concurrent writer: rejected, re-made once on the fetched head, lands over the wire.
    let calls = Cell::new(0);
    let published = mirror
        .publish(
            |_| {
                calls.set(calls.get() + 1);
                if calls.get() == 1 {
                    write(&origin, &[("b.txt", "theirs\n")], "theirs", &other());
                }
                Ok(set("a.txt", "2\n"))
            },
            &me(),
        )
        .unwrap();
    assert!(published.pushed && published.rebased);
    assert_eq!(head(&origin), published.sha);
    assert_eq!(read(&origin, "HEAD", "b.txt").as_deref(), Some("theirs\n"));

    // A server-side hook declines: libgit2 returns Ok and says so only per ref.
    let hook = origin_dir.join("hooks/pre-receive");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'frozen for the release' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = head(&origin);
    let err = mirror
        .publish(|_| Ok(set("a.txt", "3\n")), &me())
        .unwrap_err();
    assert!(
        matches!(err, Error::Remote { action: "push", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("declined"), "{err}");
    assert_eq!(head(&origin), before, "the origin did not move");
    assert_eq!(
        head(&mirror),
        before,
        "the mirror holds nothing unpublished"
    );
}
