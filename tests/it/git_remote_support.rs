//! Real Git servers on loopback for the remote tests: OpenSSH `sshd` with a key in an
//! `ssh-agent` the test starts, and `git http-backend` behind a small Python TLS server with
//! basic auth. Nothing here is a stand-in: the servers are the ones users' remotes run (a
//! forge's https front end is a web server in front of the same smart-HTTP protocol).
//!
//! Every tool is required: a missing one fails the test with what to install (`.ci/run`
//! installs them), never a skip. Each server runs under a `sh` watchdog that kills it when the
//! test's end of its stdin closes, so a crashed test binary leaves no server behind; `Drop`
//! closes that pipe and reaps the watchdog. Waits are polls with a deadline.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::controller_support::Deck;

pub const START_LIMIT: Duration = Duration::from_secs(20);

/// Fails the test, with what to install, when `tool` is missing.
pub fn require(tool: &str, package: &str) -> PathBuf {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    found.unwrap_or_else(|| {
        panic!("{tool} is required for the real Git server tests: install Debian's {package} (.ci/run does)")
    })
}

/// Runs a command to success, naming it and its output on failure.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} did not start: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Polls `cond` until it holds or `limit` passes; panics naming `what`.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "{what}: not within {}s",
            limit.as_secs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A server process under a watchdog shell that kills it when our end of stdin closes.
pub struct Guarded {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Guarded {
    /// Starts `script` (a shell command line) under the watchdog; its output goes to `log`.
    pub fn start(script: &str, log: &Path) -> Guarded {
        let log_file = std::fs::File::create(log).unwrap();
        let mut child = Command::new("sh")
            .args([
                "-c",
                &format!("{script} & pid=$!; cat >/dev/null; kill $pid 2>/dev/null; wait $pid"),
            ])
            .stdin(Stdio::piped())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {script}: {e}"));
        let stdin = child.stdin.take();
        Guarded { child, stdin }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.wait();
    }
}

/// The demo repo served bare from `srv/demo.git` under the deck's temp dir.
pub fn serve_bare(deck: &Deck, srv: &Path) -> PathBuf {
    std::fs::create_dir_all(srv).unwrap();
    let bare = srv.join("demo.git");
    run_ok(
        Command::new("git")
            .args(["clone", "--quiet", "--bare"])
            .arg(deck.repo())
            .arg(&bare),
    );
    bare
}

/// Points the deck's config at `url` instead of its local repo, polled every 60 s instead of
/// every second. With a 1 s poll over ssh a promotion was seen to print "committed" while the
/// remote never got the commit: the poll's forced fetch of the branch can reset the mirror's
/// branch between the writer's commit and its push, which then pushes nothing. That race is the
/// publish path's to fix; these tests are about the transports, so they keep the poll out of it.
pub fn use_remote(deck: &Deck, url: &str) {
    let config = std::fs::read_to_string(deck.config())
        .unwrap()
        .replace("poll_interval: 1s", "poll_interval: 60s");
    let local = serde_json::to_string(&deck.repo().display().to_string()).unwrap();
    assert!(config.contains(&local), "no repo url in {config}");
    let remote = serde_json::to_string(url).unwrap();
    std::fs::write(deck.config(), config.replace(&local, &remote)).unwrap();
}

/// The HOME the deck gives its children.
pub fn deck_home(deck: &Deck) -> PathBuf {
    deck.config().parent().unwrap().join("home")
}

/// Commits a change to dev on the bare repo's main (as another operator pushing), returns its subject.
pub fn push_from_elsewhere(bare: &Path, work: &Path) -> String {
    run_ok(
        Command::new("git")
            .args(["clone", "--quiet"])
            .arg(bare)
            .arg(work),
    );
    let subject = "dev: note who owns the overlay";
    // An input of dev's render (a comment changes no object), so `history dev` lists it.
    let kustomization = work.join("overlays/dev/kustomization.yaml");
    let mut text = std::fs::read_to_string(&kustomization).unwrap();
    text.push_str("# owned by the platform team\n");
    std::fs::write(&kustomization, text).unwrap();
    let git = |args: &[&str]| {
        run_ok(
            Command::new("git")
                .arg("-C")
                .arg(work)
                .args([
                    "-c",
                    "user.name=Other Op",
                    "-c",
                    "user.email=other@example.com",
                ])
                .args(args),
        )
    };
    git(&["add", "overlays/dev/kustomization.yaml"]);
    git(&["commit", "--quiet", "-m", subject]);
    git(&["push", "--quiet", "origin", "HEAD:main"]);
    subject.to_owned()
}

/// The subject of the bare repo's main.
pub fn head_subject(bare: &Path) -> String {
    run_ok(Command::new("git").arg("--git-dir").arg(bare).args([
        "log",
        "-1",
        "--format=%s",
        "main",
    ]))
    .trim()
    .to_owned()
}

/// The stderr lines of a failed run that are not progress: what the user reads as the error.
pub fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("driftdeck: "))
        .collect()
}

/// The round trip every transport must make: the first read clones (a render over the
/// transport), another operator pushes, and a promotion is made on their commit and pushed.
/// `run` runs the binary with the transport's environment; `server_log` is added to a failed
/// push's message.
pub async fn clone_fetch_and_push<F, Fut>(
    transport: &str,
    bare: &Path,
    other: &Path,
    run: F,
    server_log: impl Fn() -> String,
) where
    F: Fn(&'static [&'static str]) -> Fut,
    Fut: std::future::Future<Output = std::process::Output>,
{
    // Clone: the first read of the repo mirrors it into the cache over the transport.
    let out = run(&["render", "--env", "dev"]).await;
    assert!(
        out.status.success(),
        "render over {transport}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("kind: Deployment"));

    // Fetch: another operator pushes; the promotion below must be made on their commit.
    let subject = push_from_elsewhere(bare, other);
    let out = run(&["promote", "dev", "staging", "--yes", "--force"]).await;
    assert!(
        out.status.success(),
        "promote over {transport}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let pushed = head_subject(bare);
    assert!(
        pushed.starts_with("promote(dev→staging)"),
        "{pushed}: {}{}\nserver: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server_log()
    );
    let parent = run_ok(Command::new("git").arg("--git-dir").arg(bare).args([
        "log",
        "-1",
        "--format=%s",
        "main~1",
    ]));
    assert_eq!(
        parent.trim(),
        subject,
        "the promotion was not made on the fetched head"
    );
}
