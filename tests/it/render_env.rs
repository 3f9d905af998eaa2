//! `driftdeck demo init D` then `driftdeck render --config D/driftdeck.yaml --env E` equals
//! `kubectl kustomize D/repo/<path of E>` semantically, for every demo env. kubectl is the
//! reference implementation; this test fails loudly when it is missing.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn driftdeck(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args(args)
        .output()
        .expect("run driftdeck")
}

fn kubectl_kustomize(dir: &Path) -> String {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "kubectl is required for this test (the reference renderer) but could not run: {e}"
            )
        });
    assert!(
        out.status.success(),
        "kubectl kustomize {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Documents keyed by (apiVersion, kind, namespace, name), Secret data with whitespace removed
/// (kustomize wraps long base64 values).
fn documents(yaml: &str) -> Vec<(String, Value)> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).expect("valid multi-document YAML");
    let mut keyed: Vec<(String, Value)> = docs
        .into_iter()
        .filter(|d| !d.is_null())
        .map(|mut d| {
            if d["kind"] == "Secret"
                && let Some(data) = d.get_mut("data").and_then(Value::as_object_mut)
            {
                for v in data.values_mut() {
                    if let Some(s) = v.as_str() {
                        *v = Value::String(s.split_whitespace().collect());
                    }
                }
            }
            let key = format!(
                "{} {} {} {}",
                d["apiVersion"].as_str().unwrap_or_default(),
                d["kind"].as_str().unwrap_or_default(),
                d["metadata"]["namespace"].as_str().unwrap_or_default(),
                d["metadata"]["name"].as_str().unwrap_or_default()
            );
            (key, d)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed
}

#[test]
fn demo_envs_render_exactly_like_kubectl_kustomize() {
    let dir = tempfile::tempdir().unwrap();
    let init = driftdeck(&["demo", "init", dir.path().to_str().unwrap()]);
    assert!(
        init.status.success(),
        "demo init failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let config = dir.path().join("driftdeck.yaml");
    for (env, path) in [
        ("dev", "overlays/dev"),
        ("staging", "overlays/staging"),
        ("production", "overlays/production"),
    ] {
        let ours = driftdeck(&["--config", config.to_str().unwrap(), "render", "--env", env]);
        assert!(
            ours.status.success(),
            "render --env {env} failed: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
        let ours = documents(&String::from_utf8(ours.stdout).unwrap());
        let theirs = documents(&kubectl_kustomize(&dir.path().join("repo").join(path)));
        assert!(!theirs.is_empty(), "{env}: kubectl rendered nothing");
        let our_keys: Vec<&String> = ours.iter().map(|(k, _)| k).collect();
        let their_keys: Vec<&String> = theirs.iter().map(|(k, _)| k).collect();
        assert_eq!(our_keys, their_keys, "{env}: different objects");
        for ((key, a), (_, b)) in ours.iter().zip(&theirs) {
            assert_eq!(a, b, "{env}: {key} differs");
        }
    }
}

#[test]
fn render_env_reads_the_committed_tree_not_the_working_tree() {
    let dir = tempfile::tempdir().unwrap();
    let init = driftdeck(&["demo", "init", dir.path().to_str().unwrap()]);
    assert!(init.status.success());
    let config = dir.path().join("driftdeck.yaml");
    let before = driftdeck(&[
        "--config",
        config.to_str().unwrap(),
        "render",
        "--env",
        "dev",
    ]);
    assert!(before.status.success());
    // Break the working tree without committing: the render must not notice.
    std::fs::write(
        dir.path().join("repo/overlays/dev/kustomization.yaml"),
        "this: [is not: valid",
    )
    .unwrap();
    let after = driftdeck(&[
        "--config",
        config.to_str().unwrap(),
        "render",
        "--env",
        "dev",
    ]);
    assert!(
        after.status.success(),
        "render read the working tree: {}",
        String::from_utf8_lossy(&after.stderr)
    );
    assert_eq!(before.stdout, after.stdout);
}

#[test]
fn render_env_at_an_unknown_revision_fails_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        driftdeck(&["demo", "init", dir.path().to_str().unwrap()])
            .status
            .success()
    );
    let config = dir.path().join("driftdeck.yaml");
    let out = driftdeck(&[
        "--config",
        config.to_str().unwrap(),
        "render",
        "--env",
        "dev",
        "--revision",
        "no-such-rev",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-rev"),
        "error should name the revision: {err}"
    );
}
