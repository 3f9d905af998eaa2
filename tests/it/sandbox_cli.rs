//! `driftdeck sandbox` as a process: one line once listening, a 0600 kubeconfig with one
//! context per cluster, a clean stop on SIGTERM, and a refusal to listen off loopback.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn serves_writes_kubeconfig_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--clusters",
            "dev,prod",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("sandbox listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("(clusters: dev, prod; kubeconfig "), "{line}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&kc).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let text = std::fs::read_to_string(&kc).unwrap();
    assert!(
        text.contains("- name: \"dev\"") && text.contains("- name: \"prod\""),
        "{text}"
    );
    assert!(text.contains("/clusters/prod\""), "{text}");

    let out = Command::new(crate::sandbox_kubectl::kubectl_path())
        .env("KUBECONFIG", &kc)
        .args(["--context", "prod", "get", "ns", "default", "-o", "name"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "namespace/default"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

#[test]
fn refuses_a_non_loopback_address_without_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args([
            "sandbox",
            "--listen",
            "0.0.0.0:0",
            "--kubeconfig",
            dir.path().join("kc").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("non-loopback"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
