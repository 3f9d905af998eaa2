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

/// Points the deck's config at `url` instead of its local repo, fetched every `poll_interval`
/// (`"1s"` keeps the deck's own; the transport tests use `"60s"` so that only the verbs under
/// test talk to the server, and the promotion-under-polling tests keep 1 s).
pub fn use_remote(deck: &Deck, url: &str, poll_interval: &str) {
    let config = std::fs::read_to_string(deck.config()).unwrap();
    assert!(
        config.contains("poll_interval: 1s"),
        "no 1s poll in {config}"
    );
    let config = config.replace(
        "poll_interval: 1s",
        &format!("poll_interval: {poll_interval}"),
    );
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

/// `git` in the work clone `work` as another operator.
fn other_git(work: &Path, args: &[&str]) -> String {
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
}

/// Another operator sets dev's log-api to `tag` and pushes it to the bare repo (cloned into
/// `work` on first use); returns the commit's subject.
pub fn push_dev_image(bare: &Path, work: &Path, tag: &str) -> String {
    if !work.exists() {
        run_ok(
            Command::new("git")
                .args(["clone", "--quiet"])
                .arg(bare)
                .arg(work),
        );
    }
    other_git(work, &["pull", "--quiet", "--rebase", "origin", "main"]);
    let kustomization = work.join("overlays/dev/kustomization.yaml");
    let text = std::fs::read_to_string(&kustomization).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = lines
        .iter()
        .position(|l| l.ends_with("name: ghcr.io/driftdeck-demo/log-api"))
        .unwrap_or_else(|| panic!("no log-api image in dev's kustomization:\n{text}"));
    assert!(lines[at + 1].trim_start().starts_with("newTag:"), "{text}");
    lines[at + 1] = format!("    newTag: {tag}");
    std::fs::write(&kustomization, lines.join("\n") + "\n").unwrap();
    let subject = format!("log-api {tag} in dev");
    other_git(work, &["commit", "--quiet", "-am", &subject]);
    other_git(work, &["push", "--quiet", "origin", "HEAD:main"]);
    subject
}

/// Who the promotions are committed as: `user.name`/`user.email` in the deck's `~/.gitconfig`
/// (kept when a credential helper is added there).
pub const RELEASE_NAME: &str = "Release Bot";
pub const RELEASE_EMAIL: &str = "release@example.com";

/// Adds the release identity to the deck's `~/.gitconfig`.
pub fn release_identity(deck: &Deck) {
    let home = deck_home(deck);
    std::fs::create_dir_all(&home).unwrap();
    let gitconfig = home.join(".gitconfig");
    let mut text = std::fs::read_to_string(&gitconfig).unwrap_or_default();
    text.push_str(&format!(
        "[user]\n\tname = {RELEASE_NAME}\n\temail = {RELEASE_EMAIL}\n"
    ));
    std::fs::write(gitconfig, text).unwrap();
}

/// Promotions in a row while something polls the remote every second (the verb's own
/// controller, and whatever the caller runs beside it): each must land on the bare repo, as
/// the commit the verb printed, on top of the commit another operator pushed just before, with
/// the release identity and the operator trailer. A poll's forced fetch used to reset the
/// mirror's branch between the commit and the push, which then pushed nothing and still
/// printed "committed" (about one promotion in three on this machine).
pub async fn promotions_land_while_polled<F, Fut>(
    transport: &str,
    bare: &Path,
    other: &Path,
    rounds: usize,
    run: F,
    server_log: impl Fn() -> String,
) where
    F: Fn(&'static [&'static str]) -> Fut,
    Fut: std::future::Future<Output = std::process::Output>,
{
    for round in 1..=rounds {
        let tag = format!("1.6.{round}");
        let pushed_by_other = push_dev_image(bare, other, &tag);
        let out = run(&["promote", "dev", "staging", "--yes", "--force"]).await;
        let said = format!(
            "round {round} over {transport}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{said}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let printed = stdout
            .lines()
            .find_map(|l| l.strip_prefix("committed "))
            .unwrap_or_else(|| panic!("no \"committed\" line: {said}"));
        let (short, summary) = printed.split_once(' ').unwrap();
        assert!(
            summary.starts_with("promote(dev→staging): ") && summary.contains(&format!("→ {tag}")),
            "{said}"
        );
        let git = |args: &[&str]| {
            run_ok(Command::new("git").arg("--git-dir").arg(bare).args(args))
                .trim()
                .to_owned()
        };
        // The remote's head, its sha cut to the length the verb printed.
        let head = git(&["log", "-1", "--format=%H%n%s%n%an <%ae>", "main"]);
        let head = format!("{}{}", &head[..short.len()], &head[40..]);
        assert_eq!(
            head,
            format!("{short}\n{summary}\n{RELEASE_NAME} <{RELEASE_EMAIL}>"),
            "the remote's main is not the promotion the verb printed; {said}\nserver: {}",
            server_log()
        );
        assert_eq!(
            git(&["log", "-1", "--format=%s", "main~1"]),
            pushed_by_other,
            "the promotion was not made on the fetched head; {said}"
        );
        let trailers = git(&["log", "-1", "--format=%(trailers:only,unfold)", "main"]);
        assert!(
            trailers
                .lines()
                .any(|l| l.starts_with("Driftdeck-Operator: ")),
            "no operator trailer in {trailers:?}"
        );
    }
}
