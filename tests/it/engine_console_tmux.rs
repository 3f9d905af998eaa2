//! The console (the real binary in tmux, 120×36) over one env per engine on a sandbox with the
//! Argo CD and Flux CRDs installed: a driftdeck env (the demo's dev overlay), an Argo CD
//! Application (status seeded by [`crate::argocd_standin`]) and a Flux Kustomization (a Ready
//! status written once, as `crate::flux_standin::write_status` writes it; no Flux stand-in
//! runs, the row only has to show). Every row names its engine; `s` on the Argo CD env and
//! `y` in its dialog write the sync `operation`, which the stand-in then completes; `r` lists
//! Argo CD's deployments and rolls back to the one picked (history entry 1). The Argo CD
//! env's pods pane lists the pods of the Deployment its Application lists (`shop/api`, made
//! by kubectl here and run by the sandbox's simulator), read through the env's context, and
//! `l` on the pods pane shows that pod's log.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::argocd_standin::{ArgoController, Outcome, application, rev};
use crate::flux_standin::{kustomization_resource, write_status};
use crate::sandbox_support::start;
use crate::tmux_support::{Tmux, isolated_env, shell_quote};

const SESSION: &str = "engines";
const NS: &str = "engines";

fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(["--context", "dev"])
        .args(args)
        .output()
        .expect("kubectl must be installed");
    assert!(
        out.status.success(),
        "kubectl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The rows under the pods pane's column header.
fn pod_rows(screen: &str) -> impl Iterator<Item = &str> {
    screen
        .lines()
        .skip_while(|l| !(l.contains("NAME") && l.contains("RESTARTS")))
        .skip(1)
}

/// The env table's row of `env` on `screen`.
fn row<'a>(screen: &'a str, env: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == env) && l.contains('┃'))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_names_each_envs_engine_and_drives_an_argo_env_with_s_and_r() {
    let tmux = Tmux::new("driftdeck-engines", SESSION);
    let sandbox = start(&["dev"], driftdeck::sandbox::SandboxOptions::default()).await;
    let kc = sandbox.kubeconfig.clone();
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args(["demo", "init"])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(out.status.success(), "demo init: {out:?}");

    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/engines/crds");
    for file in [
        "argocd-application.yaml",
        "flux-gitrepository.yaml",
        "flux-kustomization.yaml",
    ] {
        let path = crds.join(file).display().to_string();
        kubectl(&kc, &["apply", "--validate=false", "-f", &path]);
    }
    kubectl(&kc, &["create", "namespace", NS]);
    let client = sandbox.client("dev").await;
    let argo = ArgoController::new(client.clone(), NS, "eu");
    argo.create(&application("eu", NS, false)).await;
    argo.seed(&[&rev("a1"), &rev("b2")]).await;
    // The workload the seeded status lists (Deployment shop/api), live in the context.
    kubectl(&kc, &["create", "namespace", "shop"]);
    kubectl(
        &kc,
        &[
            "create",
            "deployment",
            "api",
            "-n",
            "shop",
            "--image=registry.example.com/shop/api:1.4.2",
        ],
    );

    let flux = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {{name: repo, namespace: {NS}}}\n\
         spec: {{interval: 5m, url: \"https://example.com/repo.git\", ref: {{branch: main}}}}\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: apps, namespace: {NS}}}\n\
         spec: {{interval: 10m, path: ./overlays/dev, prune: true, targetNamespace: {NS}, sourceRef: {{kind: GitRepository, name: repo}}}}\n"
    );
    let flux_file = dir.path().join("flux.yaml");
    std::fs::write(&flux_file, flux).unwrap();
    kubectl(&kc, &["apply", "-f", &flux_file.display().to_string()]);
    let ks = kube::Api::namespaced_with(client.clone(), NS, &kustomization_resource());
    let applied = format!("main@sha1:{}", rev("f1"));
    write_status(
        &ks,
        "apps",
        json!({
            "observedGeneration": 1,
            "lastAppliedRevision": applied,
            "lastAttemptedRevision": applied,
            "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                            "message": format!("Applied revision: {applied}"),
                            "lastTransitionTime": "2026-12-03T12:00:00Z"}]
        }),
    )
    .await
    .unwrap();

    let config = format!(
        "repo: {{url: ./repo, branch: main}}\nkubeconfig: {kc}\nenvironments:\n  \
         - {{name: dev, path: overlays/dev, context: dev, namespace: log-platform}}\n  \
         - {{name: eu, context: dev, engine: {{argocd: {{application: eu, namespace: {NS}}}}}}}\n  \
         - {{name: apps, path: overlays/dev, context: dev, namespace: {NS}, engine: {{flux: {{kustomization: apps, namespace: {NS}}}}}}}\n",
        kc = kc.display()
    );
    std::fs::write(demo.join("driftdeck.yaml"), config).unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let script = format!(
        "cd {d} && {env} DRIFTDECK_AUDIT_LOG={audit} {bin} --config driftdeck.yaml; echo DRIFTDECK-EXITED=$?; sleep 600",
        d = shell_quote(&demo),
        env = isolated_env(&home),
        audit = shell_quote(&dir.path().join("audit.jsonl")),
        bin = shell_quote(Path::new(env!("CARGO_BIN_EXE_driftdeck"))),
    );
    tmux.start(120, 36, &script);

    // tmux waits block; the sandbox serves from this runtime's other worker meanwhile.
    let screen = tokio::task::block_in_place(|| {
        tmux.wait_for(
            "every env row with its engine",
            Duration::from_secs(60),
            |s| {
                row(s, "dev").contains("driftdeck")
                    && row(s, "eu").contains("argocd")
                    && row(s, "eu").contains("b200000")
                    && row(s, "apps").contains("flux")
            },
        )
    });
    assert!(screen.contains("ENGINE"), "{screen}");
    assert!(
        !row(&screen, "eu").contains("not reconciling"),
        "Argo CD reconciles it: {screen}"
    );

    tokio::task::block_in_place(|| {
        tmux.run(&["send-keys", "-t", SESSION, "j"]);
        tmux.wait_for("the Argo CD env selected", Duration::from_secs(10), |s| {
            s.contains("engine argocd")
        });
        tmux.wait_for(
            "the Argo CD env's pods in the pods pane",
            Duration::from_secs(30),
            |s| pod_rows(s).any(|r| r.contains("api-") && r.contains("Running")),
        );
        // The pods pane, then `l`: the Argo CD env's pod log, read through the env's context.
        tmux.run(&["send-keys", "-t", SESSION, "BTab"]);
        tmux.wait_for("the pods pane focused", Duration::from_secs(10), |s| {
            s.contains("▶ Pods · eu")
        });
        tmux.run(&["send-keys", "-t", SESSION, "l"]);
        tmux.wait_for("the Argo CD pod's log", Duration::from_secs(30), |s| {
            s.contains("Logs ·") && s.contains("starting")
        });
        tmux.run(&["send-keys", "-t", SESSION, "Escape"]);
        tmux.wait_for("the main screen again", Duration::from_secs(10), |s| {
            !s.contains("Logs ·")
        });
        tmux.run(&["send-keys", "-t", SESSION, "Tab"]);
        tmux.wait_for("the env table focused", Duration::from_secs(10), |s| {
            !s.contains("▶ Pods")
        });
        tmux.run(&["send-keys", "-t", SESSION, "s"]);
        tmux.wait_for("the sync dialog", Duration::from_secs(10), |s| {
            s.contains("Sync eu")
        });
        tmux.run(&["send-keys", "-t", SESSION, "y"]);
    });
    let op = argo.run_operation(Outcome::Succeed).await;
    assert!(
        op["initiatedBy"]["username"]
            .as_str()
            .is_some_and(|u| u.contains('@')),
        "{op:#}"
    );
    assert_eq!(op["info"][0]["value"], "driftdeck sync");
    assert_eq!(
        op["sync"]["revision"],
        json!(rev("b2")),
        "the revision the dialog named"
    );
    // The console follows the operation to its end: the stand-in's new history entry (id 2)
    // makes the env's history two deployments long; nothing is left running on the row.
    tokio::task::block_in_place(|| {
        tmux.wait_for("the operation finished", Duration::from_secs(30), |s| {
            !row(s, "eu").contains('⟳') && row(s, "eu").contains("Synced")
        });
    });
    // `r` lists Argo CD's deployments; the oldest (history id 1, revision a1) is picked.
    tokio::task::block_in_place(|| {
        tmux.run(&["send-keys", "-t", SESSION, "r"]);
        tmux.wait_for("the rollback picker", Duration::from_secs(10), |s| {
            s.contains("Argo CD deployment 1") && s.contains("Argo CD deployment 3")
        });
        tmux.run(&["send-keys", "-t", SESSION, "j"]);
        tmux.run(&["send-keys", "-t", SESSION, "Enter"]);
        tmux.wait_for("the rollback dialog", Duration::from_secs(10), |s| {
            s.contains("Rollback eu") && s.contains("a100000")
        });
        tmux.run(&["send-keys", "-t", SESSION, "y"]);
    });
    let op = argo.run_operation(Outcome::Succeed).await;
    assert_eq!(op["sync"]["revision"], json!(rev("a1")), "{op:#}");
    assert_eq!(op["info"][0]["value"], "driftdeck rollback to 1", "{op:#}");
    tokio::task::block_in_place(|| {
        tmux.run(&["send-keys", "-t", SESSION, "q"]);
        tmux.wait_for("the console quit", Duration::from_secs(15), |s| {
            s.contains("DRIFTDECK-EXITED=0")
        });
    });
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap_or_default();
    assert!(
        audit.contains("wrote a sync operation to Application engines/eu"),
        "{audit}"
    );
}
