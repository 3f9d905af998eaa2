//! `driftdeck demo`'s start: the console is drawn before the demo is prepared, and a
//! preparation error is never swallowed. A state folder that is a file fails before the
//! terminal is taken (exit 2, the path on stderr); a state folder whose `repo` is a file fails
//! while the console is up: the console shows the error on every env, and after `q` the
//! terminal is restored and the error is on stderr with exit 2. Needs tmux (fails loudly
//! without it, as `console` does). All waits poll with a deadline; nothing is timed.

use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use crate::tmux_support::{Tmux, shell_quote};

const SESSION: &str = "start";

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_driftdeck"))
}

#[test]
fn demo_dir_that_is_a_file_exits_2_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo-state");
    std::fs::write(&file, "not a folder").unwrap();
    let out = Process::new(bin())
        .arg("demo")
        .env("DRIFTDECK_DEMO_DIR", &file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(&file.display().to_string()),
        "the message names the path: {stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing drawn: {:?}", out.stdout);
}

#[test]
fn demo_setup_error_is_shown_in_the_console_then_on_stderr() {
    let tmux = Tmux::new("driftdeck-start", SESSION);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("demo");
    std::fs::create_dir_all(&state).unwrap();
    // `demo init` refuses to write its repo over an existing file.
    let repo = state.join("repo");
    std::fs::write(&repo, "in the way").unwrap();
    let stderr = dir.path().join("stderr.txt");
    let script = format!(
        "HOME={home} XDG_DATA_HOME={home}/data XDG_CONFIG_HOME={home}/config TERM=xterm-256color \
         DRIFTDECK_DEMO_DIR={state} {bin} demo 2>{err}; echo DRIFTDECK-EXITED=$?; sleep 600",
        home = shell_quote(&dir.path().join("home")),
        state = shell_quote(&state),
        bin = shell_quote(bin()),
        err = shell_quote(&stderr),
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "160",
        "-y",
        "36",
        &script,
    ]);
    let screen = tmux.wait_for(
        "the console showing the setup error",
        Duration::from_secs(60),
        |s| s.contains("demo setup failed"),
    );
    // The real console: the header and every env of the demo config, each with the error.
    assert!(screen.contains("Environments (6)"), "{screen}");
    for env in driftdeck::demo::run::CLUSTERS {
        let row = screen
            .lines()
            .find(|l| l.contains(&format!(" {env} ")) && l.contains("demo setup failed"));
        assert!(row.is_some(), "{env} shows the error:\n{screen}");
    }
    assert!(
        !screen.contains("DRIFTDECK-EXITED"),
        "still running:\n{screen}"
    );

    tmux.run(&["send-keys", "-t", SESSION, "q"]);
    let after = tmux.wait_for("the process to end", Duration::from_secs(30), |s| {
        s.contains("DRIFTDECK-EXITED=")
    });
    assert!(after.contains("DRIFTDECK-EXITED=2"), "{after}");
    let alternate = tmux.run(&["display-message", "-p", "-t", SESSION, "#{alternate_on}"]);
    assert_eq!(alternate.trim(), "0", "the terminal is restored");
    let message = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        message.contains(&repo.display().to_string()) && message.contains("already exists"),
        "stderr names the path and the cause: {message}"
    );
    assert_eq!(
        std::fs::read_to_string(&repo).unwrap(),
        "in the way",
        "nothing was written over the file"
    );
    assert!(
        state.join("driftdeck.log").exists(),
        "logs go to the state folder"
    );
}
