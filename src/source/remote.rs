//! Talking to remotes: the bare mirror clone in the cache, fetches, and credentials.
//!
//! Imports nothing from the crate. The cache clone is a bare repository whose
//! `refs/heads/<branch>` mirrors the remote branch (force-updated on every fetch, at any moment
//! another env task polls: so the writer never relies on it between committing and pushing; see
//! `publish`) and whose tags mirror the remote's. A clone is built in a `.partial-<pid>` sibling and renamed into place
//! only once the first fetch succeeded, so an interrupted clone never looks like a valid cache.
//!
//! One clone per remote per process and one fetch at a time per repository: every env task
//! of a console opens the same remote, and without [`repo_lock`] they all cloned into one
//! `.partial-<pid>` folder and their fetches collided on the branch's `.lock` file. The lock is
//! per path (other repositories are not held up); a clone that waited finds the finished
//! clone in place and opens it.
//!
//! Credentials are never stored: ssh URLs ask the ssh-agent, http(s) URLs ask git's credential
//! helpers (the user's git config). libgit2 calls the credential callback again after every
//! rejection, so attempts are bounded and the final error says what was tried.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use git2::{AutotagOption, Cred, CredentialType, FetchOptions, RemoteCallbacks, Repository};

use super::Error;
use super::location::Transport;

pub(crate) const REMOTE: &str = "origin";
/// Attempts per fetch before giving up on credentials.
const MAX_AUTH_ATTEMPTS: usize = 3;

/// The process-wide lock of the repository at `path` (created on first use).
fn repo_lock(path: &Path) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    let key = path.components().collect::<PathBuf>();
    let mut locks = LOCKS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    locks.entry(key).or_default().clone()
}

/// Holds `lock`; a panic of a previous holder leaves nothing half-done that matters here (git
/// itself keeps the repository consistent), so a poisoned lock is taken over.
fn hold(lock: &Mutex<()>) -> MutexGuard<'_, ()> {
    lock.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Clones `url` bare into `dest` and fetches `branch` and the tags; when another task of this
/// process cloned it meanwhile, opens that clone instead.
pub(crate) fn clone_bare(
    url: &str,
    transport: Transport,
    dest: &Path,
    branch: &str,
) -> Result<Repository, Error> {
    let lock = repo_lock(dest);
    let _clone = hold(&lock);
    if dest.exists() {
        return Repository::open_bare(dest).map_err(|source| Error::Open {
            path: dest.to_path_buf(),
            source,
        });
    }
    let partial = dest.with_file_name(format!(
        "{}.partial-{}",
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    if partial.exists() {
        remove_dir(&partial)?;
    }
    if let Some(parent) = partial.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let result = init_and_fetch(url, transport, &partial, branch);
    if let Err(e) = result {
        // Best effort: the fetch error is what the user needs to see.
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    if let Err(source) = std::fs::rename(&partial, dest) {
        // Another process may have finished the same clone first; its copy is as good as ours.
        let _ = std::fs::remove_dir_all(&partial);
        if !dest.exists() {
            return Err(Error::Io {
                path: dest.to_path_buf(),
                source,
            });
        }
    }
    Repository::open_bare(dest).map_err(|source| Error::Open {
        path: dest.to_path_buf(),
        source,
    })
}

fn init_and_fetch(url: &str, transport: Transport, dir: &Path, branch: &str) -> Result<(), Error> {
    let clone_err = |source: git2::Error| Error::Remote {
        action: "clone",
        url: url.to_owned(),
        message: source.message().to_owned(),
    };
    let repo = Repository::init_bare(dir).map_err(|source| Error::Open {
        path: dir.to_path_buf(),
        source,
    })?;
    repo.remote(REMOTE, url).map_err(clone_err)?;
    repo.reference_symbolic(
        "HEAD",
        &format!("refs/heads/{branch}"),
        true,
        "driftdeck clone",
    )
    .map_err(clone_err)?;
    fetch(&repo, url, transport, branch).map_err(|e| match e {
        Error::Remote { url, message, .. } => Error::Remote {
            action: "clone",
            url,
            message,
        },
        other => other,
    })
}

/// Fetches `branch` (forced into `refs/heads/<branch>`) and all tags from the `origin` remote.
pub(crate) fn fetch(
    repo: &Repository,
    url: &str,
    transport: Transport,
    branch: &str,
) -> Result<(), Error> {
    let fail = |message: String| Error::Remote {
        action: "fetch",
        url: url.to_owned(),
        message,
    };
    let lock = repo_lock(repo.path());
    let _fetch = hold(&lock);
    let config = repo.config().map_err(|e| fail(e.message().to_owned()))?;
    let refspecs = [
        format!("+refs/heads/{branch}:refs/heads/{branch}"),
        "+refs/tags/*:refs/tags/*".to_owned(),
    ];
    let mut attempt = 1;
    loop {
        let mut remote = connection(repo, url).map_err(|e| fail(e.message().to_owned()))?;
        let mut options = FetchOptions::new();
        options
            .remote_callbacks(callbacks(&config, transport))
            .download_tags(AutotagOption::None)
            .update_fetchhead(false);
        match remote.fetch(&refspecs, Some(&mut options), Some("driftdeck fetch")) {
            Ok(()) => break,
            // Another process on this cache is writing the same ref this instant: its fetch
            // is as good as ours, but ours must still finish to report the branch.
            Err(e) if e.code() == git2::ErrorCode::Locked && attempt < MAX_LOCK_ATTEMPTS => {
                std::thread::sleep(LOCK_BACKOFF * attempt as u32);
                attempt += 1;
            }
            Err(e) => return Err(fail(super::auth::explain(&e, url, transport))),
        }
    }
    if repo
        .find_reference(&format!("refs/heads/{branch}"))
        .is_err()
    {
        return Err(fail(format!("the remote has no branch \"{branch}\"")));
    }
    Ok(())
}

/// Fetches that meet a ref lock held by another process on the same cache, before giving up.
const MAX_LOCK_ATTEMPTS: usize = 4;
const LOCK_BACKOFF: std::time::Duration = std::time::Duration::from_millis(50);

/// A connection to `url` for one fetch or push: an anonymous remote, with no configured
/// refspecs. Through the named `origin` (whose default refspec is `refs/remotes/origin/*`)
/// libgit2 also updated those remote-tracking refs after every fetch and push — refs nothing
/// here reads, whose lock another process's poll could hold: a push the remote had accepted
/// then returned "failed to lock file …/refs/remotes/origin/main.lock".
pub(crate) fn connection<'r>(
    repo: &'r Repository,
    url: &str,
) -> Result<git2::Remote<'r>, git2::Error> {
    repo.remote_anonymous(url)
}

/// Credential callbacks: ssh-agent for ssh, git credential helpers for http(s), bounded.
pub(crate) fn callbacks<'a>(config: &'a git2::Config, transport: Transport) -> RemoteCallbacks<'a> {
    let mut auth = Auth::new(config, transport);
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |url, username, allowed| auth.next(url, username, allowed));
    callbacks
}

/// One fetch's credential attempts. libgit2 calls back again after every rejection, forever if
/// we let it.
struct Auth<'a> {
    config: &'a git2::Config,
    transport: Transport,
    attempts: usize,
}

impl<'a> Auth<'a> {
    fn new(config: &'a git2::Config, transport: Transport) -> Self {
        Self {
            config,
            transport,
            attempts: 0,
        }
    }

    fn next(
        &mut self,
        url: &str,
        username: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        self.attempts += 1;
        if self.attempts > MAX_AUTH_ATTEMPTS {
            let tried = match self.transport {
                Transport::Ssh => "the ssh-agent",
                Transport::Http => "git credential helpers",
                Transport::Other => "no credentials",
            };
            return Err(git2::Error::from_str(&format!(
                "authentication failed after {MAX_AUTH_ATTEMPTS} attempts with {tried}"
            )));
        }
        credential(self.config, url, username, allowed)
    }
}

fn credential(
    config: &git2::Config,
    url: &str,
    username: Option<&str>,
    allowed: CredentialType,
) -> Result<Cred, git2::Error> {
    if allowed.contains(CredentialType::USERNAME) {
        return Cred::username(username.unwrap_or("git"));
    }
    if allowed.contains(CredentialType::SSH_KEY) {
        return Cred::ssh_key_from_agent(username.unwrap_or("git"));
    }
    if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
        return Cred::credential_helper(config, url, username).map_err(|_| {
            git2::Error::from_str(
                "no credentials: no git credential helper supplied a username and password",
            )
        });
    }
    if allowed.contains(CredentialType::DEFAULT) {
        return Cred::default();
    }
    Err(git2::Error::from_str(
        "the server asked for a kind of credentials driftdeck does not support",
    ))
}

fn remove_dir(path: &Path) -> Result<(), Error> {
    std::fs::remove_dir_all(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with one commit on `main`, and its `file://` URL.
    fn origin(dir: &Path) -> String {
        let repo = Repository::init(dir).unwrap();
        std::fs::write(dir.join("a.yaml"), "a: 1\n").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("a.yaml")).unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        repo.commit(Some("refs/heads/main"), &sig, &sig, "one", &tree, &[])
            .unwrap();
        format!("file://{}", dir.display())
    }

    #[test]
    fn concurrent_clones_and_fetches_of_one_remote_all_succeed() {
        let tmp = tempfile::tempdir().unwrap();
        let url = origin(&tmp.path().join("origin"));
        let dest = tmp.path().join("cache").join("mirror.git");
        let results: Vec<Result<(), String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let repo = clone_bare(&url, Transport::Other, &dest, "main")
                            .map_err(|e| e.to_string())?;
                        for _ in 0..5 {
                            fetch(&repo, &url, Transport::Other, "main")
                                .map_err(|e| e.to_string())?;
                        }
                        Ok(())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let leftovers: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("mirror.git")]);
    }

    #[test]
    fn credential_attempts_are_bounded() {
        let config = git2::Config::new().unwrap();
        let mut auth = Auth::new(&config, Transport::Ssh);
        for _ in 0..MAX_AUTH_ATTEMPTS {
            assert!(
                auth.next("ssh://git@host/r", None, CredentialType::USERNAME)
                    .is_ok()
            );
        }
        let err = auth
            .next("ssh://git@host/r", None, CredentialType::USERNAME)
            .err()
            .unwrap();
        assert_eq!(
            err.message(),
            "authentication failed after 3 attempts with the ssh-agent"
        );
    }
}
