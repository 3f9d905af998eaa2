//! Triage end to end: the real `driftdeck demo` binary in a tmux pane of 120×36; production
//! gets a `crashloop` image behind the console's back (`kubectl set image` against the demo's
//! sandbox) → production turns Degraded, the failing pod is the first row of the pods pane,
//! `l` shows its log lines with the FATAL line, `e` the BackOff events. Screens are read only
//! through `capture-pane`; every wait polls with a deadline and the test prints how long the
//! console took to show Degraded (the figure for the 5 s goal), asserting nothing on time.

use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use crate::tmux_support::{Tmux, demo_script};

const SESSION: &str = "triage";

fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Process::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl must be installed");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The environments pane's row for `env`.
fn env_row<'s>(screen: &'s str, env: &str) -> Option<&'s str> {
    screen.lines().find(|line| {
        let rest: String = line.chars().skip(4).collect();
        line.starts_with('┃') && rest.starts_with(&format!("{env} "))
    })
}

/// The first row under the pods pane's column header.
fn first_pod_row(screen: &str) -> Option<&str> {
    screen
        .lines()
        .skip_while(|l| !(l.contains("NAME") && l.contains("RESTARTS")))
        .nth(1)
}

#[test]
fn a_crashloop_image_set_behind_the_consoles_back_is_triaged_from_the_keyboard() {
    let tmux = Tmux::new("driftdeck-triage", SESSION);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("demo");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    tmux.start(120, 36, &demo_script(&home, &state));
    tmux.wait_for(
        "production Synced and Healthy",
        Duration::from_secs(120),
        |s| {
            env_row(s, "production").is_some_and(|r| {
                r.contains("Synced") && r.contains("Healthy") && !r.contains("OutOfSync")
            })
        },
    );
    let kubeconfig = state.join("kubeconfig");
    let image = kubectl(
        &kubeconfig,
        &[
            "--context",
            "production",
            "-n",
            "log-platform",
            "get",
            "deployment",
            "log-api",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].name}={.spec.template.spec.containers[0].image}",
        ],
    );
    let (container, current) = image.split_once('=').unwrap();
    let repo = current.rsplit_once(':').map_or(current, |(r, _)| r);
    let broken = format!("{container}={repo}:crashloop");
    let set_at = Instant::now();
    kubectl(
        &kubeconfig,
        &[
            "--context",
            "production",
            "-n",
            "log-platform",
            "set",
            "image",
            "deployment/log-api",
            &broken,
        ],
    );
    tmux.wait_for("production Degraded", Duration::from_secs(60), |s| {
        env_row(s, "production").is_some_and(|r| r.contains("Degraded"))
    });
    println!(
        "FIGURE production Degraded on screen {} ms after kubectl set image",
        set_at.elapsed().as_millis()
    );

    // Production, then the pods pane: the crash-looping pod is the first row.
    tmux.run(&["send-keys", "-t", SESSION, "Home", "Down", "Down"]);
    tmux.wait_for("production selected", Duration::from_secs(5), |s| {
        env_row(s, "production").is_some_and(|r| r.starts_with("┃›"))
    });
    tmux.run(&["send-keys", "-t", SESSION, "BTab"]);
    let screen = tmux.wait_for("the failing pod first", Duration::from_secs(30), |s| {
        first_pod_row(s).is_some_and(|r| r.contains("CrashLoopBackOff") || r.contains("Error"))
    });
    let row = first_pod_row(&screen).unwrap_or_default().to_owned();
    assert!(row.contains("log-api"), "first pod row: {row}\n{screen}");

    tmux.run(&["send-keys", "-t", SESSION, "l"]);
    tmux.wait_for("the pod's FATAL log line", Duration::from_secs(30), |s| {
        s.contains("Logs ·") && s.contains("FATAL")
    });
    // Escape and `e` in separate sends: together a terminal reads them as Alt-e.
    tmux.run(&["send-keys", "-t", SESSION, "Escape"]);
    tmux.wait_for("the main screen again", Duration::from_secs(10), |s| {
        !s.contains("Logs ·")
    });
    tmux.run(&["send-keys", "-t", SESSION, "e"]);
    tmux.wait_for("the BackOff warning", Duration::from_secs(30), |s| {
        s.contains("Events ·") && s.contains("Warning") && s.contains("BackOff")
    });
    tmux.run(&["send-keys", "-t", SESSION, "Escape"]);
    tmux.wait_for("the main screen again", Duration::from_secs(10), |s| {
        !s.contains("Events ·")
    });
    tmux.run(&["send-keys", "-t", SESSION, "q"]);
    tmux.wait_for("a clean exit", Duration::from_secs(30), |s| {
        s.contains("DRIFTDECK-EXITED=0")
    });
}
