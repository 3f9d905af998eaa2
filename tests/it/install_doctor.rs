//! `driftdeck doctor`: passes against the demo (sandbox), fails the sync RBAC check on the real
//! API server tier's view-only user naming the missing verb (and passes it for the admin user),
//! and fails a dead context naming the address it tried.

use std::path::Path;
use std::process::{Command, Output};

use crate::controller_support::Deck;
use crate::realk8s_support::{realk8s, unique};

/// Runs `doctor` with `config`, HOME and the cache under `root`.
fn doctor(config: &Path, root: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .arg("--config")
        .arg(config)
        .arg("doctor")
        .env("HOME", root.join("home"))
        .env("XDG_CACHE_HOME", root.join("cache"))
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .output()
        .unwrap()
}

/// A demo repo under `root` and a config whose envs are (name, context, namespace).
fn demo_config(root: &Path, kubeconfig: &Path, envs: &[(&str, &str, &str)]) -> std::path::PathBuf {
    driftdeck::demo::init(root).unwrap();
    let q = |p: &Path| serde_json::to_string(&p.display().to_string()).unwrap();
    let mut yaml = format!(
        "repo: {{url: {}, branch: main}}\nkubeconfig: {}\nenvironments:\n",
        q(&root.join("repo")),
        q(kubeconfig)
    );
    for (name, context, ns) in envs {
        yaml.push_str(&format!(
            "  - {{name: {name}, path: overlays/{name}, context: {context}, namespace: {ns}}}\n"
        ));
    }
    let config = root.join("doctor.yaml");
    std::fs::write(&config, yaml).unwrap();
    config
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn doctor_passes_against_the_demo() {
    let deck = Deck::start(&[]).await;
    let root = deck.config().parent().unwrap().to_path_buf();
    let out = tokio::task::spawn_blocking(move || doctor(&root.join("driftdeck.yaml"), &root))
        .await
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "ok   config: ",
        "ok   repo: ",
        "ok   render dev: overlays/dev: ",
        "ok   render production: ",
        "ok   kubeconfig: ",
        "ok   context dev: http",
        "ok   engines staging: ",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(line)),
            "no {line:?} line:\n{all}"
        );
    }
    assert!(!stdout.contains("FAIL"), "{all}");
}

#[test]
fn doctor_names_the_verb_a_view_only_user_lacks_for_sync() {
    let k = realk8s();
    let tmp = tempfile::tempdir().unwrap();
    let (viewer_ns, admin_ns) = (unique("doctor-view"), unique("doctor-admin"));
    let config = demo_config(
        tmp.path(),
        &k.kubeconfig,
        &[
            ("dev", "dev-viewer", &viewer_ns),
            ("staging", "staging", &admin_ns),
        ],
    );
    let out = doctor(&config, tmp.path());
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rbac = stdout
        .lines()
        .find(|l| l.starts_with("FAIL rbac dev (sync): "))
        .unwrap_or_else(|| panic!("no failed sync RBAC line for dev:\n{all}"));
    assert!(rbac.contains("context dev-viewer may not "), "{rbac}");
    assert!(
        rbac.contains("patch deployments.apps in log-platform"),
        "{rbac}"
    );
    assert!(rbac.contains("create configmaps in "), "{rbac}");
    assert!(rbac.contains("fix: "), "{rbac}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ok   rbac staging (sync): context staging may do all")),
        "the admin context should pass:\n{all}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ok   context dev-viewer: https://")
                && l.contains("Kubernetes v1.20")),
        "{all}"
    );
}

#[test]
fn doctor_fails_a_dead_context_with_its_address() {
    let tmp = tempfile::tempdir().unwrap();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("https://127.0.0.1:{port}");
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {{server: \"{address}\", insecure-skip-tls-verify: true}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: u}}\ncurrent-context: gone\n"
        ),
    )
    .unwrap();
    let config = demo_config(tmp.path(), &kubeconfig, &[("dev", "gone", "log-platform")]);
    let out = doctor(&config, tmp.path());
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("FAIL context gone: "))
        .unwrap_or_else(|| panic!("no failed context line:\n{all}"));
    assert!(line.contains(&format!("{address}: unreachable")), "{line}");
    assert!(line.contains("fix: "), "{line}");
    // The repo and render checks still ran and passed.
    assert!(
        stdout.lines().any(|l| l.starts_with("ok   render dev: ")),
        "{all}"
    );
}
