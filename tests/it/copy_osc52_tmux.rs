//! Copy over SSH, end to end: the real `driftdeck demo` in a tmux pane of 120×36 with tmux's
//! `set-clipboard on` (what a tmux user sets for OSC 52). `c` on the history pane's first commit
//! → tmux's paste buffer holds that commit's full sha (tmux read the OSC 52 sequence the
//! console wrote) and the toast says what was copied. Then `y` opens the live YAML of a drifted
//! or first resource and `c` copies it: the buffer holds YAML with the object's kind. Screens
//! are read only through `capture-pane`; every wait polls with a deadline.

use std::time::Duration;

use crate::tmux_support::{Tmux, demo_script};

const SESSION: &str = "copy";

#[test]
fn c_puts_the_commit_sha_and_the_yaml_shown_on_tmuxs_clipboard() {
    let tmux = Tmux::new("driftdeck-copy", SESSION);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("demo");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    tmux.start(120, 36, &demo_script(&home, &state));
    tmux.run(&["set-option", "-s", "set-clipboard", "on"]);
    tmux.wait_for("the history pane filled", Duration::from_secs(120), |s| {
        s.contains("History ·") && s.contains("Synced")
    });

    // Tab: from the environments to the history pane; `c` copies its selected commit.
    tmux.run(&["send-keys", "-t", SESSION, "Tab"]);
    tmux.run(&["send-keys", "-t", SESSION, "c"]);
    let screen = tmux.wait_for("the copy toast", Duration::from_secs(10), |s| {
        s.contains("copied commit ")
    });
    let buffer = tmux.run(&["show-buffer"]);
    assert_eq!(buffer.len(), 40, "a full sha: {buffer:?}");
    assert!(buffer.chars().all(|c| c.is_ascii_hexdigit()), "{buffer:?}");
    assert!(
        screen.contains(&format!("copied commit {}", &buffer[..7])),
        "the toast names the sha copied:\n{screen}"
    );
    let repo = git2::Repository::open(state.join("repo")).unwrap();
    let oid = git2::Oid::from_str(&buffer).unwrap();
    assert!(
        repo.find_commit(oid).is_ok(),
        "{buffer} is a commit of the demo repo"
    );

    // The object view's live YAML: wait until it arrived, then copy it.
    tmux.run(&["send-keys", "-t", SESSION, "y"]);
    tmux.wait_for("the live YAML", Duration::from_secs(30), |s| {
        s.contains("live YAML ·") && s.contains("apiVersion:")
    });
    tmux.run(&["send-keys", "-t", SESSION, "c"]);
    tmux.wait_for("the copy toast", Duration::from_secs(10), |s| {
        s.contains("copied the live YAML of ")
    });
    let yaml = tmux.run(&["show-buffer"]);
    assert!(
        yaml.contains("apiVersion:") && yaml.contains("kind:"),
        "{yaml}"
    );
    assert!(!yaml.contains("managedFields"), "hidden by default: {yaml}");
}
