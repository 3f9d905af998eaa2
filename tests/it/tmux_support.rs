//! A tmux server on its own socket for the console tests that drive the real binary in a real
//! terminal: run tmux commands, read one session's screen, wait (with a deadline) for a
//! screen condition. The server and its socket file are removed when the value is dropped,
//! however the test ends.

use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    session: &'static str,
}

impl Tmux {
    /// A server on socket `<prefix>-<pid>` whose screen reads come from `session`. Fails the
    /// test when tmux is missing (CI installs it).
    pub fn new(prefix: &str, session: &'static str) -> Self {
        let probe = Process::new("tmux").arg("-V").output();
        assert!(
            probe.as_ref().is_ok_and(|o| o.status.success()),
            "tmux is required for this test and was not found: {probe:?}"
        );
        Tmux {
            socket: format!("{prefix}-{}", std::process::id()),
            session,
        }
    }

    /// `tmux -L <socket> ARGS`; the command must succeed. Returns its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = Process::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts the session (detached, `width`×`height`) running `script` in the shell.
    pub fn start(&self, width: u16, height: u16, script: &str) {
        let (w, h) = (width.to_string(), height.to_string());
        self.run(&[
            "new-session",
            "-d",
            "-s",
            self.session,
            "-x",
            &w,
            "-y",
            &h,
            script,
        ]);
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", self.session])
    }

    /// The first screen satisfying `cond`, polled until `limit`; the test fails with the last
    /// screen otherwise.
    pub fn wait_for(&self, what: &str, limit: Duration, cond: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if cond(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {limit:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // kill-server leaves the socket file behind; remove it too.
        let path = Process::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "#{socket_path}",
            ])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|p| !p.is_empty());
        let _ = Process::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
        if let Some(path) = path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `env HOME=… XDG_…=… TERM=xterm-256color`: a console's environment with every directory it
/// reads or writes under `home`, so no test sees the real user's config, data or cache.
pub fn isolated_env(home: &Path) -> String {
    format!(
        "env HOME={h} XDG_CONFIG_HOME={h}/config XDG_DATA_HOME={h}/data XDG_CACHE_HOME={h}/cache \
         XDG_STATE_HOME={h}/state TERM=xterm-256color",
        h = shell_quote(home)
    )
}

/// The shell line that runs `driftdeck demo` with its folder at `state` in an isolated
/// environment under `home`, then prints `DRIFTDECK-EXITED=<code>` and keeps the pane open.
pub fn demo_script(home: &Path, state: &Path) -> String {
    format!(
        "{env} DRIFTDECK_DEMO_DIR={d} {bin} demo; echo DRIFTDECK-EXITED=$?; sleep 600",
        env = isolated_env(home),
        d = shell_quote(state),
        bin = shell_quote(Path::new(env!("CARGO_BIN_EXE_driftdeck"))),
    )
}

/// `p` single-quoted for `sh`.
pub fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}
