//! The console gives the terminal back however it ends: `kill -INT`, `-QUIT`, `-TERM`, `-HUP`
//! and a panic (in the event loop, and in a spawned task) of `driftdeck demo` in tmux each leave
//! the pane out of the alternate screen with the line discipline back (`icanon`, `echo`), and
//! the process exits on its own terms rather than by the signal's default action. The panics are
//! injected with `DRIFTDECK_FAULT_PANIC` (see `tui::event_loop`). Needs tmux (fails loudly
//! without it); all waits poll with a deadline.

use std::path::Path;
use std::time::Duration;

use crate::tmux_support::{Tmux, shell_quote};

const SESSION: &str = "restore";

enum End {
    Signal(&'static str),
    Panic(&'static str),
}

/// Runs the demo in a fresh tmux server, ends it as `end` says, and checks the terminal.
fn console_restores_the_terminal(end: End) {
    // One tmux server per test: the tests run in parallel threads of one process, and a
    // shared socket (named after the pid) let one test's teardown kill another's session.
    let which = match &end {
        End::Signal(signal) => format!("sig{signal}"),
        End::Panic(place) => format!("panic-{place}"),
    };
    let tmux = Tmux::new(&format!("driftdeck-restore-{which}"), SESSION);
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let fault = match end {
        End::Panic(place) => format!("DRIFTDECK_FAULT_PANIC={place}"),
        End::Signal(_) => String::new(),
    };
    let script = format!(
        "HOME={home} XDG_DATA_HOME={home}/data XDG_CONFIG_HOME={home}/config TERM=xterm-256color \
         DRIFTDECK_DEMO_DIR={state} {fault} sh -c 'echo $$ > {pid}; exec {bin} demo' 2>{err}; \
         echo DRIFTDECK-EXITED=$?; stty -a | tr ';' '\\n' | tr ' ' '\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo STTY-DONE; sleep 600",
        home = shell_quote(&dir.path().join("home")),
        state = shell_quote(&dir.path().join("demo")),
        pid = shell_quote(&pid_file),
        bin = shell_quote(Path::new(env!("CARGO_BIN_EXE_driftdeck"))),
        err = shell_quote(&dir.path().join("stderr.txt")),
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "100",
        "-y",
        "30",
        &script,
    ]);
    if let End::Signal(signal) = end {
        tmux.wait_for("the console's first frame", Duration::from_secs(60), |s| {
            s.contains("Environments (6)")
        });
        let on = tmux.run(&["display-message", "-p", "-t", SESSION, "#{alternate_on}"]);
        assert_eq!(on.trim(), "1", "the console runs in the alternate screen");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let killed = std::process::Command::new("kill")
            .args([&format!("-{signal}"), pid.trim()])
            .status()
            .unwrap();
        assert!(killed.success());
    }
    let after = tmux.wait_for(
        "the shell after the console",
        Duration::from_secs(60),
        |s| s.contains("STTY-DONE"),
    );
    let alternate = tmux.run(&["display-message", "-p", "-t", SESSION, "#{alternate_on}"]);
    assert_eq!(
        alternate.trim(),
        "0",
        "out of the alternate screen:\n{after}"
    );
    let flags = after
        .lines()
        .find(|l| l.contains("STTY-DONE"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>();
    assert!(
        flags.contains(&"icanon") && flags.contains(&"echo"),
        "line discipline restored (icanon echo): {flags:?}\n{after}"
    );
    let code: i32 = after
        .split("DRIFTDECK-EXITED=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("exit status on screen:\n{after}"));
    assert!(
        code < 128,
        "the process handled the end itself, not killed by a signal's default action (exit {code})"
    );
    if let End::Panic(_) = end {
        let stderr = std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap();
        assert!(
            stderr.contains("DRIFTDECK_FAULT_PANIC"),
            "the panic is reported: {stderr}"
        );
        assert_ne!(code, 0, "a panic is not a clean exit");
    }
}

#[test]
fn sigint_restores_the_terminal() {
    console_restores_the_terminal(End::Signal("INT"));
}

#[test]
fn sigquit_restores_the_terminal() {
    console_restores_the_terminal(End::Signal("QUIT"));
}

#[test]
fn sigterm_restores_the_terminal() {
    console_restores_the_terminal(End::Signal("TERM"));
}

#[test]
fn sighup_restores_the_terminal() {
    console_restores_the_terminal(End::Signal("HUP"));
}

#[test]
fn a_panic_in_the_event_loop_restores_the_terminal() {
    console_restores_the_terminal(End::Panic("ui"));
}

#[test]
fn a_panic_in_a_controller_task_restores_the_terminal_and_ends_the_console() {
    console_restores_the_terminal(End::Panic("task"));
}
