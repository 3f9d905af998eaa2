//! Drift end to end. A real sandbox on 127.0.0.1:0, the real kubectl (the
//! tests fail loudly without it), the real `driftdeck` binary, and the demo repo from `driftdeck
//! demo init`. Each test applies Git's content with `kubectl apply --server-side -k`, waits for
//! the rollouts with `kubectl rollout status`, changes the live state the way an SRE would, and
//! checks what `driftdeck diff` / `status -o json` say.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::drift_support::{Demo, ENVS, env_of, text};

const API: &str = "Deployment/log-platform/log-api";

/// Applies dev, checks it starts in sync, makes one live change, and returns `diff dev`'s stdout
/// after asserting exit 1 and that it names `resource`.
async fn drift_after(change: &[&str], resource: &str) -> String {
    let demo = Demo::start().await;
    demo.apply_env("dev").await;
    let (code, out, err) = demo.diff("dev").await;
    assert_eq!(code, 0, "drift before the change:\n{out}\n{err}");
    demo.kubectl("dev", change).await;
    let (code, out, err) = demo.diff("dev").await;
    assert_eq!(
        code, 1,
        "diff after {change:?} should exit 1:\n{out}\n{err}"
    );
    assert!(out.contains(resource), "{resource} not named:\n{out}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_envs_show_no_drift_and_are_synced_and_healthy() {
    let demo = Demo::start().await;
    for env in ENVS {
        demo.apply_env(env).await;
    }
    for env in ENVS {
        let (code, out, err) = demo.diff(env).await;
        assert_eq!(code, 0, "{env}: false drift:\n{out}\n{err}");
        assert_eq!(out, "", "{env}: diff printed something");
    }
    let (code, status, err) = demo.status_json().await;
    assert_eq!(code, 0, "{status}\n{err}");
    for env in ENVS {
        let e = env_of(&status, env);
        assert_eq!(e["sync"], "Synced", "{e}");
        assert_eq!(
            e["drift"],
            serde_json::json!({"missing": 0, "modified": 0, "extra": 0})
        );
        assert!(e["error"].is_null(), "{e}");
    }
    // The sandbox's load-balancer controller publishes Ingress addresses, so the demo's
    // Ingress does not hold envs at Progressing.
    assert_eq!(env_of(&status, "dev")["health"], "Healthy", "{status}");
    assert_eq!(env_of(&status, "staging")["health"], "Healthy", "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaled_deployment_is_drift_on_replicas() {
    let out = drift_after(&["scale", "deployment/log-api", "--replicas=3"], API).await;
    assert!(out.contains("/spec/replicas"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_image_is_drift_on_the_container_image() {
    let out = drift_after(
        &[
            "set",
            "image",
            "deployment/log-api",
            "api=ghcr.io/driftdeck-demo/log-api:9.9.9",
        ],
        API,
    )
    .await;
    assert!(
        out.contains("/spec/template/spec/containers/name=api/image"),
        "{out}"
    );
    assert!(out.contains("9.9.9"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_var_added_by_hand_is_drift() {
    let out = drift_after(&["set", "env", "deployment/log-api", "FOO=bar"], API).await;
    assert!(
        out.contains("/spec/template/spec/containers/name=api/env"),
        "{out}"
    );
    assert!(out.contains("- name: FOO"), "FOO shown as removed:\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_config_map_value_is_drift() {
    let demo = Demo::start().await;
    demo.apply_env("dev").await;
    let names = demo
        .kubectl("dev", &["get", "configmap", "-o", "name"])
        .await;
    let names = text(&names.stdout);
    let cm = names
        .lines()
        .find(|l| l.starts_with("configmap/log-platform-config-"))
        .unwrap_or_else(|| panic!("no generated ConfigMap in {names}"))
        .to_owned();
    demo.kubectl(
        "dev",
        &[
            "patch",
            &cm,
            "--type",
            "merge",
            "-p",
            r#"{"data":{"LOG_LEVEL":"trace"}}"#,
        ],
    )
    .await;
    let (code, out, err) = demo.diff("dev").await;
    assert_eq!(code, 1, "{out}\n{err}");
    let key = format!(
        "ConfigMap/log-platform/{}",
        cm.trim_start_matches("configmap/")
    );
    assert!(out.contains(&key), "{key} not named:\n{out}");
    assert!(out.contains("/data/LOG_LEVEL"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_service_is_missing() {
    let out = drift_after(
        &["delete", "service", "log-api"],
        "Service/log-platform/log-api",
    )
    .await;
    assert!(
        out.contains("Service/log-platform/log-api missing"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_object_not_in_git_is_extra() {
    let demo = Demo::start().await;
    demo.apply_env("dev").await;
    demo.kubectl(
        "dev",
        &["create", "configmap", "stray", "--from-literal=a=b"],
    )
    .await;
    demo.kubectl(
        "dev",
        &[
            "label",
            "configmap",
            "stray",
            "app.kubernetes.io/managed-by=driftdeck",
        ],
    )
    .await;
    demo.kubectl(
        "dev",
        &["annotate", "configmap", "stray", "driftdeck.io/env=dev"],
    )
    .await;
    // Tracking label for another env: not this env's prune candidate.
    demo.kubectl(
        "dev",
        &["create", "configmap", "other-env", "--from-literal=a=b"],
    )
    .await;
    demo.kubectl(
        "dev",
        &[
            "label",
            "configmap",
            "other-env",
            "app.kubernetes.io/managed-by=driftdeck",
        ],
    )
    .await;
    demo.kubectl(
        "dev",
        &[
            "annotate",
            "configmap",
            "other-env",
            "driftdeck.io/env=staging",
        ],
    )
    .await;
    let (code, out, err) = demo.diff("dev").await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("ConfigMap/log-platform/stray extra"), "{out}");
    assert!(!out.contains("other-env"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_pod_template_label_is_drift() {
    let out = drift_after(
        &[
            "patch",
            "deployment",
            "log-api",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"template":{"metadata":{"labels":{"app.kubernetes.io/component":"hotfix"}}}}}"#,
        ],
        API,
    )
    .await;
    assert!(out.contains("/spec/template/metadata/labels/"), "{out}");
    assert!(out.contains("hotfix"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_change_names_the_key_and_never_the_value() {
    const OLD: &str = "old-pa55word-7f3a";
    const NEW: &str = "new-pa55word-91c2";
    let demo = Demo::start().await;
    let overlay = demo.repo().join("overlays/dev");
    std::fs::write(
        overlay.join("db-secret.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\ntype: Opaque\n\
             data:\n  username: {}\n  password: {}\n",
            STANDARD.encode("logs"),
            STANDARD.encode(OLD)
        ),
    )
    .unwrap();
    let kustomization = overlay.join("kustomization.yaml");
    let k = std::fs::read_to_string(&kustomization).unwrap();
    assert!(k.contains("  - ../../base\n"), "{k}");
    std::fs::write(
        &kustomization,
        k.replace("  - ../../base\n", "  - ../../base\n  - db-secret.yaml\n"),
    )
    .unwrap();
    demo.commit_all("dev: database credentials").await;
    demo.apply_env("dev").await;
    let (code, out, err) = demo.diff("dev").await;
    assert_eq!(code, 0, "{out}\n{err}");

    let patch = format!(r#"{{"data":{{"password":"{}"}}}}"#, STANDARD.encode(NEW));
    demo.kubectl("dev", &["patch", "secret", "db-credentials", "-p", &patch])
        .await;
    let (code, out, err) = demo.diff("dev").await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("Secret/log-platform/db-credentials modified"),
        "{out}"
    );
    assert!(out.contains("/data/password"), "{out}");

    let secrets = [
        OLD.to_owned(),
        NEW.to_owned(),
        STANDARD.encode(OLD),
        STANDARD.encode(NEW),
    ];
    for rust_log in [None, Some("trace")] {
        let vars: Vec<(&str, &str)> = rust_log.iter().map(|l| ("RUST_LOG", *l)).collect();
        for args in [&["diff", "dev"][..], &["status", "-o", "json"][..]] {
            let run = demo.driftdeck(args, &vars).await;
            let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
            if args[0] == "diff" {
                assert!(
                    stdout.contains("Secret/log-platform/db-credentials modified"),
                    "RUST_LOG={rust_log:?}: the Secret should be reported:\n{stdout}"
                );
            } else {
                let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                assert_eq!(env_of(&status, "dev")["drift"]["modified"], 1, "{stdout}");
            }
            for s in &secrets {
                assert!(
                    !stdout.contains(s.as_str()),
                    "{args:?} RUST_LOG={rust_log:?} leaked {s} on stdout"
                );
                assert!(
                    !stderr.contains(s.as_str()),
                    "{args:?} RUST_LOG={rust_log:?} leaked {s} on stderr"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_cluster_is_reported_per_env() {
    let demo = Demo::start().await;
    demo.apply_env("dev").await;
    let out = tokio::process::Command::new(crate::sandbox_kubectl::kubectl_path())
        .args([
            "config",
            "set-cluster",
            "staging",
            "--server=http://127.0.0.1:1",
        ])
        .arg("--kubeconfig")
        .arg(demo.kubeconfig())
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    let (code, status, err) = demo.status_json().await;
    assert_eq!(code, 2, "{status}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    let staging = env_of(&status, "staging");
    assert_eq!(staging["sync"], "Unknown", "{staging}");
    assert_eq!(staging["health"], "Unknown", "{staging}");
    let error = staging["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("staging"),
        "error should name the context: {staging}"
    );
    let dev = env_of(&status, "dev");
    assert_eq!(dev["sync"], "Synced", "{dev}");
    assert!(dev["error"].is_null(), "{dev}");
    let production = env_of(&status, "production");
    assert!(production["error"].is_null(), "{production}");
    assert_ne!(production["sync"], "Unknown", "{production}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_template_label_added_by_hand_is_drift() {
    // A NEW field another manager (kubectl-patch) owns: visible only through the foreign rule.
    let out = drift_after(
        &[
            "patch",
            "deployment",
            "log-api",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"template":{"metadata":{"labels":{"hotfix":"yes"}}}}}"#,
        ],
        API,
    )
    .await;
    assert!(
        out.contains("/spec/template/metadata/labels/hotfix"),
        "{out}"
    );
}
