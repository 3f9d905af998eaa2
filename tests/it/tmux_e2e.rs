//! The demo end to end: the real `driftdeck demo` binary in a tmux pane of a fixed
//! 120×36, driven only by keys (plus `kubectl` against the demo's sandbox), read back only
//! through `capture-pane -p`. Steps: three envs Synced → `kubectl scale` a dev Deployment, see
//! the drift appear and self-heal → promote dev→staging with a typed commit message, see the
//! commit in staging's history pane → break staging (`:demo break staging`), sync it, see it
//! fail, roll back through the picker, see the hold banner → pause and resume dev with `P` →
//! quit with `q`, terminal restored (alternate screen off, shell visible).
//!
//! Each step runs even when an earlier one failed (after closing any dialog it left), so a
//! failure report names every step that does not hold; the test fails if any step failed.
//! It fails, never skips, when tmux is missing (`.ci/run` installs it). All waits poll with a
//! deadline; nothing is timed.

use crate::tmux_support::demo_script;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

const SESSION: &str = "e2e";
/// The commit message typed into the promotion dialog (short: the history pane's summary
/// column is narrow at 120 columns).
const TYPED_MESSAGE: &str = "e2e typed msg";

struct Tmux {
    socket: String,
}

impl Tmux {
    /// Fails the test when tmux is missing (`.ci/run` installs it).
    fn new() -> Self {
        let probe = Process::new("tmux").arg("-V").output();
        assert!(
            probe.as_ref().is_ok_and(|o| o.status.success()),
            "tmux is required for this test and was not found: {probe:?}"
        );
        Tmux {
            socket: format!("driftdeck-e2e-{}", std::process::id()),
        }
    }

    fn try_run(&self, args: &[&str]) -> Result<String, String> {
        let out = Process::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .map_err(|e| format!("tmux {args:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "tmux {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn run(&self, args: &[&str]) -> String {
        self.try_run(args).unwrap()
    }

    fn screen(&self) -> String {
        self.try_run(&["capture-pane", "-p", "-t", SESSION])
            .unwrap_or_default()
    }

    /// Named keys (`Enter`, `Escape`, `Up`) or single characters.
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Literal text, each character a key press.
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", SESSION, "-l", text]);
    }

    fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        every: Duration,
        cond: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if cond(&screen) {
                return Ok(screen);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{what}: not within {limit:?}; the screen:\n{screen}"
                ));
            }
            std::thread::sleep(every);
        }
    }

    fn wait(&self, what: &str, secs: u64, cond: impl Fn(&str) -> bool) -> Result<String, String> {
        self.wait_for(
            what,
            Duration::from_secs(secs),
            Duration::from_millis(150),
            cond,
        )
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let path = self
            .try_run(&["display-message", "-p", "#{socket_path}"])
            .ok()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        let _ = self.try_run(&["kill-server"]);
        if let Some(path) = path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The environments pane's row for `env`: `┃`, a three-column marker, then the name.
fn env_row<'s>(screen: &'s str, env: &str) -> Option<&'s str> {
    screen.lines().find(|line| {
        let rest: String = line.chars().skip(4).collect();
        line.starts_with('┃') && rest.starts_with(&format!("{env} "))
    })
}

fn row_has(screen: &str, env: &str, text: &str) -> bool {
    env_row(screen, env).is_some_and(|row| row.contains(text))
}

/// The rows of the history pane (left pane below the env table), as shown.
fn history_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|l| !l.starts_with("┌History"))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .map(|l| l.chars().take(60).collect())
        .collect()
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> Result<String, String> {
    let out = Process::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .map_err(|e| format!("kubectl {args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn dev_replicas(kubeconfig: &Path) -> Result<String, String> {
    kubectl(
        kubeconfig,
        &[
            "--context",
            "dev",
            "-n",
            "log-platform",
            "get",
            "deployment",
            "log-api",
            "-o",
            "jsonpath={.spec.replicas}",
        ],
    )
}

/// Closes whatever dialog or input line a failed step left, and puts the env cursor on dev.
fn reset(tmux: &Tmux) {
    tmux.keys(&["Escape"]);
    tmux.keys(&["Escape"]);
    tmux.keys(&["Home"]);
}

fn select_env(tmux: &Tmux, env: &str) -> Result<(), String> {
    tmux.keys(&["Home"]);
    let downs = match env {
        "dev" => 0,
        "staging" => 1,
        _ => 2,
    };
    for _ in 0..downs {
        tmux.keys(&["Down"]);
    }
    tmux.wait(&format!("{env} selected"), 5, |s| {
        env_row(s, env).is_some_and(|r| r.starts_with("┃›"))
    })
    .map(|_| ())
}

fn step_drift_heals(tmux: &Tmux, kubeconfig: &Path) -> Result<(), String> {
    select_env(tmux, "dev")?;
    let before = dev_replicas(kubeconfig)?;
    let scaled = before
        .parse::<u32>()
        .map_err(|e| format!("{before:?}: {e}"))?
        + 3;
    kubectl(
        kubeconfig,
        &[
            "--context",
            "dev",
            "-n",
            "log-platform",
            "scale",
            "deployment",
            "log-api",
            &format!("--replicas={scaled}"),
        ],
    )?;
    // Self-heal is quick: the OutOfSync row may show for one frame only, the self-heal
    // toast for seconds. Either proves the console saw the drift.
    tmux.wait_for(
        "the drift to appear (dev OutOfSync or a self-heal started)",
        Duration::from_secs(60),
        Duration::from_millis(40),
        |s| row_has(s, "dev", "OutOfSync") || s.contains("self-heal dev @"),
    )?;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let now = dev_replicas(kubeconfig)?;
        let screen = tmux.screen();
        if now == before && dev_settled(&screen) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the drift did not heal: replicas {now} (Git wants {before}); the screen:\n{screen}"
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Dev Synced and Healthy: what a promotion from dev needs (the controller refuses otherwise).
fn dev_settled(screen: &str) -> bool {
    row_has(screen, "dev", "Synced")
        && !row_has(screen, "dev", "OutOfSync")
        && row_has(screen, "dev", "Healthy")
}

fn step_promote_with_typed_message(tmux: &Tmux) -> Result<(), String> {
    select_env(tmux, "dev")?;
    tmux.wait("dev Synced and Healthy", 120, dev_settled)?;
    tmux.keys(&["p"]);
    tmux.wait("the promotion preview dev → staging", 90, |s| {
        s.contains("commit message") || s.contains("Refused")
    })
    .and_then(|s| {
        if s.contains("commit message") {
            Ok(s)
        } else {
            Err(format!("the promotion was refused:\n{s}"))
        }
    })?;
    // Replace the generated message with a typed one.
    tmux.run(&["send-keys", "-t", SESSION, "-N", "300", "BSpace"]);
    tmux.type_text(TYPED_MESSAGE);
    tmux.wait("the typed message in the editor", 5, |s| {
        s.contains(TYPED_MESSAGE)
    })?;
    tmux.keys(&["Enter"]);
    tmux.wait("the commit toast", 60, |s| {
        (s.contains(TYPED_MESSAGE) && s.contains("committed")) || s.contains("Refused")
    })
    .and_then(|s| {
        if s.contains("committed") {
            Ok(s)
        } else {
            Err(format!("the promotion commit was refused:\n{s}"))
        }
    })?;
    select_env(tmux, "staging")?;
    tmux.wait("the commit in staging's history pane", 60, |s| {
        history_rows(s).iter().any(|r| r.contains(TYPED_MESSAGE))
    })
    .map(|_| ())
}

/// The sha of a `release(staging)` row of the history pane that `before` did not have.
fn bad_release_row(screen: &str, before: &[String]) -> Option<String> {
    history_rows(screen)
        .into_iter()
        .filter(|r| r.contains("release(staging)") && !before.contains(r))
        .find_map(|r| {
            let sha: String = r.trim_start_matches('│').chars().take(7).collect();
            (sha.len() == 7 && sha.chars().all(|c| c.is_ascii_hexdigit())).then_some(sha)
        })
}

/// The short sha of a "committed <sha7> …" toast whose line also contains `marker`.
fn committed_sha(screen: &str, marker: &str) -> Option<String> {
    screen
        .lines()
        .filter(|l| l.contains(marker))
        .find_map(|line| {
            let at = line.find("committed ")?;
            let sha: String = line[at + "committed ".len()..].chars().take(7).collect();
            (sha.len() == 7 && sha.chars().all(|c| c.is_ascii_hexdigit())).then_some(sha)
        })
}

fn step_break_and_roll_back(tmux: &Tmux) -> Result<(), String> {
    select_env(tmux, "staging")?;
    // The "committed <sha> …crashloop" toast can be replaced within a frame by the toasts of
    // dev's auto-sync of the new head (a watched repo is seen at once), so the staging history
    // pane's new `release(staging)` row names the commit as well.
    let before = history_rows(&tmux.screen());
    let bad_of = |s: &str| committed_sha(s, "crashloop").or_else(|| bad_release_row(s, &before));
    tmux.keys(&[":"]);
    tmux.type_text("demo break staging");
    tmux.keys(&["Enter"]);
    let toast = tmux.wait("the bad release committed", 30, |s| bad_of(s).is_some())?;
    let bad = bad_of(&toast).unwrap_or_default();
    // The new desired revision must reach the env before syncing it.
    tmux.wait("staging wanting the bad release", 60, |s| {
        row_has(s, "staging", &bad) && row_has(s, "staging", "OutOfSync")
    })?;
    tmux.keys(&["s"]);
    tmux.wait("the sync confirmation", 10, |s| {
        s.contains(&format!("Sync staging @ {bad}"))
    })?;
    tmux.keys(&["y"]);
    // The failure arrives as a dialog (the controller's OperationFinished); a key pressed
    // before it shows would land in it, so wait for the dialog itself and for it to close.
    let failed = format!("sync staging @ {bad} failed");
    tmux.wait("the sync to fail validation", 180, |s| s.contains(&failed))?;
    tmux.keys(&["Escape"]);
    tmux.wait("the failure dialog closed", 10, |s| !s.contains(&failed))?;
    tmux.keys(&["r"]);
    tmux.wait("the rollback picker", 10, |s| {
        s.contains("Roll back staging to") && s.contains("Failed")
    })?;
    // The picker preselects the newest revision older than the running (bad) one.
    tmux.keys(&["Enter"]);
    tmux.wait("the rollback confirmation", 10, |s| {
        s.contains("Rollback staging →")
    })?;
    tmux.keys(&["y"]);
    tmux.wait("the hold banner", 180, |s| {
        s.lines()
            .nth(1)
            .is_some_and(|l| l.contains("HOLD staging at "))
            && row_has(s, "staging", "HOLD")
    })
    .map(|_| ())
}

fn step_pause_and_resume(tmux: &Tmux) -> Result<(), String> {
    select_env(tmux, "dev")?;
    tmux.keys(&["P"]);
    tmux.wait("dev PAUSED", 30, |s| row_has(s, "dev", "PAUSED"))?;
    tmux.keys(&["P"]);
    tmux.wait("the resume confirmation", 10, |s| s.contains("Resume dev"))?;
    tmux.keys(&["y"]);
    tmux.wait("dev resumed", 30, |s| {
        env_row(s, "dev").is_some_and(|r| !r.contains("PAUSED")) && !s.contains("Resume dev")
    })
    .map(|_| ())
}

#[test]
fn demo_end_to_end_in_tmux() {
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let state: PathBuf = dir.path().join("demo");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "120",
        "-y",
        "36",
        &demo_script(&home, &state),
    ]);
    tmux.wait("three envs Synced", 120, |s| {
        ["dev", "staging", "production"]
            .iter()
            .all(|env| row_has(s, env, "Synced") && !row_has(s, env, "OutOfSync"))
    })
    .unwrap();
    let kubeconfig = state.join("kubeconfig");
    let have_kubectl = Process::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success());

    let mut results: Vec<(&str, Result<(), String>)> = Vec::new();
    let mut step = |name, f: &dyn Fn() -> Result<(), String>| {
        let result = f();
        if result.is_err() {
            reset(&tmux);
        }
        println!(
            "step {name}: {}",
            if result.is_ok() { "PASS" } else { "FAIL" }
        );
        results.push((name, result));
    };
    step("kubectl scale dev → drift appears and heals", &|| {
        if !have_kubectl {
            return Err("kubectl is not installed".to_owned());
        }
        step_drift_heals(&tmux, &kubeconfig)
    });
    step(
        "promote dev→staging with a typed message → commit in history",
        &|| step_promote_with_typed_message(&tmux),
    );
    step(
        "break staging, sync fails, roll back with keys → hold banner",
        &|| step_break_and_roll_back(&tmux),
    );
    step("pause and resume dev with P", &|| {
        step_pause_and_resume(&tmux)
    });
    step("quit → terminal restored", &|| {
        reset(&tmux);
        tmux.keys(&["q"]);
        let after = tmux.wait("the process to end", 30, |s| {
            s.contains("DRIFTDECK-EXITED=")
        })?;
        if !after.contains("DRIFTDECK-EXITED=0") {
            return Err(format!("exit status not 0:\n{after}"));
        }
        let alternate = tmux.run(&["display-message", "-p", "-t", SESSION, "#{alternate_on}"]);
        if alternate.trim() != "0" {
            return Err(format!("alternate screen still on: {alternate:?}"));
        }
        if after.contains("Environments (") {
            return Err(format!("the console is still on screen:\n{after}"));
        }
        Ok(())
    });

    let failed: Vec<String> = results
        .iter()
        .filter_map(|(name, r)| r.as_ref().err().map(|e| format!("── {name}:\n{e}")))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} steps failed:\n{}",
        failed.len(),
        results.len(),
        failed.join("\n")
    );
}
