//! Watch mode on a wall when the clusters die: the real `driftdeck watch` in a tmux pane of
//! 120×36 against a `driftdeck sandbox` *process* serving the demo's clusters. Once the
//! tiles are fresh the sandbox is killed (SIGKILL, as a crashed API server or a cut network
//! would look) → every tile must carry the STALE badge within 30 s and the header must say
//! since when (`STALE since HH:MM:SS`, a time no later than the kill); a sandbox restarted on
//! the same address → STALE goes away. Screens are read only through `capture-pane`; every wait
//! polls with a deadline; the test prints how long STALE took (figure, not an assertion).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use crate::tmux_support::{Tmux, isolated_env, shell_quote};

const SESSION: &str = "wall";
const TILES: [&str; 3] = ["DEV", "STAGING", "PRODUCTION"];

/// A `driftdeck sandbox` child, killed when dropped however the test ends.
struct SandboxProcess {
    child: Child,
    /// `127.0.0.1:PORT` it listens on.
    address: String,
}

impl SandboxProcess {
    fn start(listen: &str, kubeconfig: &Path) -> SandboxProcess {
        let mut child = Process::new(env!("CARGO_BIN_EXE_driftdeck"))
            .args(["sandbox", "--listen", listen, "--kubeconfig"])
            .arg(kubeconfig)
            .args(["--clusters", &driftdeck::demo::run::CLUSTERS.join(",")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .strip_prefix("sandbox listening on http://")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected sandbox startup line: {line:?}"))
            .to_owned();
        SandboxProcess { child, address }
    }

    /// SIGKILL: no goodbye to the clients.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tile title row of `tile` (its name in capitals, then its badges), if on screen.
fn tile_title(screen: &str, tile: &str) -> Option<String> {
    screen.lines().find_map(|line| {
        line.split(['┃', '║'])
            .map(str::trim)
            .find(|cell| cell.split_whitespace().next() == Some(tile))
            .map(str::to_owned)
    })
}

fn every_tile_stale(screen: &str) -> bool {
    TILES.iter().all(|t| {
        tile_title(screen, t).is_some_and(|title| title.split("  ").any(|b| b.trim() == "STALE"))
    })
}

fn every_tile_fresh(screen: &str) -> bool {
    TILES.iter().all(|t| tile_title(screen, t).is_some()) && !screen.contains("STALE")
}

/// `HH:MM:SS` after "STALE since " in the header line, as seconds of the day.
fn stale_since(header: &str) -> Option<i64> {
    let time = header.split("STALE since ").nth(1)?.get(..8)?;
    let mut parts = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    Some(h * 3600 + m * 60 + s)
}

fn utc_seconds_of_day() -> i64 {
    jiff::Timestamp::now().as_second().rem_euclid(86_400)
}

#[test]
fn every_tile_goes_stale_when_the_clusters_die_and_fresh_when_they_return() {
    let tmux = Tmux::new("driftdeck-wall", SESSION);
    let dir = tempfile::tempdir().unwrap();
    let demo: PathBuf = dir.path().join("demo");
    let out = Process::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args(["demo", "init"])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kubeconfig = demo.join("kubeconfig");
    let sandbox = SandboxProcess::start("127.0.0.1:0", &kubeconfig);
    let address = sandbox.address.clone();

    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let script = format!(
        "cd {d} && {env} {bin} watch --config driftdeck.yaml; echo DRIFTDECK-EXITED=$?; sleep 600",
        d = shell_quote(&demo),
        env = isolated_env(&home),
        bin = shell_quote(Path::new(env!("CARGO_BIN_EXE_driftdeck"))),
    );
    tmux.start(120, 36, &script);
    let fresh = tmux.wait_for(
        "every tile fresh",
        Duration::from_secs(60),
        every_tile_fresh,
    );
    assert!(
        fresh.lines().next().unwrap_or("").contains("updated "),
        "{fresh}"
    );

    let killed_at = utc_seconds_of_day();
    let killed = Instant::now();
    sandbox.kill();
    let stale = tmux.wait_for(
        "every tile STALE and the header saying since when",
        Duration::from_secs(30),
        |s| every_tile_stale(s) && stale_since(s.lines().next().unwrap_or("")).is_some(),
    );
    eprintln!(
        "every tile STALE {:.1} s after the sandbox was killed",
        killed.elapsed().as_secs_f64()
    );
    let header = stale.lines().next().unwrap_or("");
    let since = stale_since(header).unwrap();
    // The last good observation happened before the kill (within the poll, not minutes).
    let before_kill = (killed_at - since).rem_euclid(86_400);
    assert!(
        before_kill <= 60,
        "since {since} vs killed {killed_at}: {header}"
    );
    assert!(
        header.contains("dev, staging, production"),
        "the header names every stale env: {header}"
    );
    assert!(
        !stale.contains("DRIFTDECK-EXITED"),
        "watch must survive: {stale}"
    );

    let restarted = SandboxProcess::start(&address, &kubeconfig);
    assert_eq!(restarted.address, address);
    let back = tmux.wait_for(
        "STALE gone after the sandbox returned",
        Duration::from_secs(60),
        every_tile_fresh,
    );
    assert!(
        back.lines().next().unwrap_or("").contains("updated "),
        "{back}"
    );
}
